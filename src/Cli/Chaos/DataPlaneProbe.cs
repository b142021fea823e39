using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using ARSoft.Tools.Net;
using ARSoft.Tools.Net.Dns;
using AkkaKube.Actors.Dns;

namespace AkkaKube.Cli.Chaos;

/// <summary>
/// What a fault does to the data plane, watched beside the control-plane timeline:
/// <list type="bullet">
/// <item>every Service whose ready endpoints included pods on the targets: when the last of them left the ready set of
/// its EndpointSlices (from then on no kube-proxy sends new connections there; before, the user-space proxy skips a
/// refusing endpoint and the nftables mode does not);</item>
/// <item>traffic to those Services' ClusterIPs (one request per Service per interval): requests, failures, the last
/// failure;</item>
/// <item>the cluster DNS of every surviving node (Nodes' <c>akkakube.io/dns-endpoint</c>): queries for
/// <c>kubernetes.default.svc.&lt;domain&gt;</c>, failures.</item>
/// </list>
/// </summary>
public sealed class DataPlaneProbe
{
    private const int MaxTrafficServices = 5;
    private readonly ClusterView _view;
    private readonly IReadOnlySet<string> _targets;
    private readonly IReadOnlyDictionary<string, int> _affected;
    private readonly IReadOnlyList<(string Service, IPEndPoint Frontend, bool Http)> _frontends;
    private readonly IReadOnlyList<IPEndPoint> _dnsServers;
    private readonly string _dnsName;

    private DataPlaneProbe(ClusterView view, IReadOnlySet<string> targets, IReadOnlyDictionary<string, int> affected,
        IReadOnlyList<(string, IPEndPoint, bool)> frontends, IReadOnlyList<IPEndPoint> dnsServers, string dnsName)
    {
        _view = view;
        _targets = targets;
        _affected = affected;
        _frontends = frontends;
        _dnsServers = dnsServers;
        _dnsName = dnsName;
    }

    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Looks before the fault: which Services have ready endpoints on the targets, their ClusterIPs, the surviving DNS servers.</summary>
    public static async Task<DataPlaneProbe> PrepareAsync(ClusterView view, ClusterState state, IReadOnlySet<string> targets, CancellationToken ct)
    {
        var slices = await view.ListAsync("/apis/discovery.k8s.io/v1/endpointslices", ct) ?? [];
        var services = await view.ListAsync("/api/v1/services", ct) ?? [];
        var nodes = await view.ListAsync("/api/v1/nodes", ct) ?? [];
        var affected = ReadyOnTargets(slices, targets);
        var frontends = new List<(string, IPEndPoint, bool)>();
        foreach (var svc in services)
        {
            var key = $"{(string?)svc["metadata"]?["namespace"]}/{(string?)svc["metadata"]?["name"]}";
            if (!affected.ContainsKey(key) || frontends.Count >= MaxTrafficServices) continue;
            if (!IPAddress.TryParse((string?)svc["spec"]?["clusterIP"], out var ip)) continue; // headless: no frontend
            var port = (svc["spec"]?["ports"] as JsonArray)?.OfType<JsonObject>()
                .FirstOrDefault(p => ((string?)p["protocol"] ?? "TCP") == "TCP");
            // DNS (53) is asked by the DNS probe, with queries; a TCP connection there would only wait out the timeout.
            if (port?["port"]?.GetValue<int>() is not { } number || number == 53) continue;
            var http = (string?)port["appProtocol"] is "http" or "kubernetes.io/h2c" || ((string?)port["name"])?.StartsWith("http", StringComparison.Ordinal) == true
                       || number is 80 or 8080;
            frontends.Add((key, new IPEndPoint(ip, number), http));
        }
        var dns = new List<IPEndPoint>();
        foreach (var node in nodes)
        {
            if (targets.Contains((string?)node["metadata"]?["name"] ?? "")) continue;
            if ((string?)node["metadata"]?["annotations"]?[KubeDnsServiceReconciler.EndpointAnnotation] is { } text && IPEndPoint.TryParse(text, out var ep))
                dns.Add(ep);
        }
        return new DataPlaneProbe(view, targets, affected, frontends, dns, $"kubernetes.default.svc.{ClusterDomain(state)}");
    }

    /// <summary>The nodes' --cluster-domain (every node must agree), cluster.local when none sets it.</summary>
    internal static string ClusterDomain(ClusterState state)
    {
        foreach (var node in state.Nodes)
            for (var i = 0; i + 1 < node.Command.Count; i++)
                if (node.Command[i] == "--cluster-domain") return ClusterZone.Normalize(node.Command[i + 1]);
        return "cluster.local";
    }

    /// <summary>Service (namespace/name) → its ready endpoints on the targets' nodes, from EndpointSlices.</summary>
    internal static Dictionary<string, int> ReadyOnTargets(IEnumerable<JsonObject> slices, IReadOnlySet<string> targets)
    {
        var result = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var slice in slices)
        {
            var service = (string?)slice["metadata"]?["labels"]?["kubernetes.io/service-name"];
            if (service is null) continue;
            var key = $"{(string?)slice["metadata"]?["namespace"]}/{service}";
            var count = (slice["endpoints"] as JsonArray)?.OfType<JsonObject>().Count(e =>
                targets.Contains((string?)e["nodeName"] ?? "") && (e["conditions"]?["ready"]?.GetValue<bool>() ?? true)) ?? 0;
            if (count > 0) result[key] = result.GetValueOrDefault(key) + count;
        }
        return result;
    }

    public bool HasWork => _affected.Count > 0 || _dnsServers.Count > 0;

    /// <summary>No Service lists a ready endpoint on the targets any more (true when none did).</summary>
    public bool EndpointsSettled => _affected.Count == 0 || Volatile.Read(ref _settled);
    private bool _settled;

    /// <summary>Probes until <paramref name="stop"/>; events go on the report's timeline through <paramref name="once"/>.</summary>
    public Task RunAsync(ChaosReport report, Stopwatch clock, TimeSpan interval, Action<string, string> once, CancellationToken stop)
    {
        var result = new DataPlaneReport { Services = _affected.Keys.Order(StringComparer.Ordinal).ToList(), DnsServers = _dnsServers.Select(s => s.ToString()).ToList() };
        report.DataPlane = result;
        return Task.WhenAll(
            Task.Run(() => WatchEndpointsAsync(result, clock, interval, once, stop), CancellationToken.None),
            Task.Run(() => ProbeTrafficAsync(result, clock, interval, stop), CancellationToken.None),
            Task.Run(() => ProbeDnsAsync(result, clock, interval, stop), CancellationToken.None));
    }

    private async Task WatchEndpointsAsync(DataPlaneReport result, Stopwatch clock, TimeSpan interval, Action<string, string> once, CancellationToken stop)
    {
        if (_affected.Count == 0) return;
        while (!stop.IsCancellationRequested)
        {
            if (await _view.ListAsync("/apis/discovery.k8s.io/v1/endpointslices", stop).ConfigureAwait(false) is { } slices)
            {
                var still = ReadyOnTargets(slices, _targets);
                var now = Math.Round(clock.Elapsed.TotalSeconds, 2);
                lock (result)
                    foreach (var service in _affected.Keys.Where(s => !still.ContainsKey(s)))
                        result.EndpointsOffTargetsAfterSeconds.TryAdd(service, now);
                int done;
                lock (result) done = result.EndpointsOffTargetsAfterSeconds.Count;
                if (done == _affected.Count)
                {
                    Volatile.Write(ref _settled, true);
                    once($"service endpoints off {string.Join(",", _targets.Order(StringComparer.Ordinal))}",
                        $"{done} Services no longer list a ready endpoint there; kube-proxies stop sending new connections to them");
                    return;
                }
            }
            try { await Task.Delay(interval, stop).ConfigureAwait(false); } catch (OperationCanceledException) { }
        }
    }

    private async Task ProbeTrafficAsync(DataPlaneReport result, Stopwatch clock, TimeSpan interval, CancellationToken stop)
    {
        if (_frontends.Count == 0) return;
        while (!stop.IsCancellationRequested)
        {
            var outcomes = await Task.WhenAll(_frontends.Select(f => RequestAsync(f.Frontend, f.Http, stop))).ConfigureAwait(false);
            if (stop.IsCancellationRequested) break;
            var now = Math.Round(clock.Elapsed.TotalSeconds, 2);
            lock (result)
                for (var i = 0; i < outcomes.Length; i++)
                {
                    result.ServiceRequests++;
                    if (outcomes[i] is not { } error) continue;
                    result.ServiceFailures++;
                    result.LastServiceFailureSeconds = now;
                    result.LastServiceFailure = $"{_frontends[i].Service} ({_frontends[i].Frontend}): {error}";
                }
            try { await Task.Delay(interval, stop).ConfigureAwait(false); } catch (OperationCanceledException) { }
        }
    }

    /// <summary>
    /// One request through a Service frontend; null when it was carried. HTTP ports must answer with a status line; other
    /// ports count as carried when the connection is neither refused nor reset within the timeout (a user-space proxy
    /// accepts first and resets the client when no endpoint takes the connection).
    /// </summary>
    private async Task<string?> RequestAsync(IPEndPoint frontend, bool http, CancellationToken stop)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stop);
        timeout.CancelAfter(RequestTimeout);
        using var socket = new Socket(frontend.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(frontend, timeout.Token).ConfigureAwait(false);
            if (http)
                await socket.SendAsync(Encoding.ASCII.GetBytes($"GET / HTTP/1.1\r\nHost: {frontend}\r\nConnection: close\r\n\r\n"), timeout.Token).ConfigureAwait(false);
            var buffer = new byte[5];
            var read = await socket.ReceiveAsync(buffer, timeout.Token).ConfigureAwait(false);
            if (read == 0) return "closed without an answer";
            return !http || "HTTP/".StartsWith(Encoding.ASCII.GetString(buffer, 0, read), StringComparison.Ordinal) ? null : "not an HTTP answer";
        }
        catch (OperationCanceledException) when (!stop.IsCancellationRequested)
        {
            return http || !socket.Connected ? $"no answer within {RequestTimeout.TotalSeconds:0.#} s" : null;
        }
        catch (SocketException e)
        {
            return e.SocketErrorCode.ToString();
        }
        catch (OperationCanceledException)
        {
            return null; // the probe stopped
        }
    }

    private async Task ProbeDnsAsync(DataPlaneReport result, Stopwatch clock, TimeSpan interval, CancellationToken stop)
    {
        if (_dnsServers.Count == 0) return;
        var name = DomainName.Parse(_dnsName);
        var clients = _dnsServers.Select(s => (Server: s, Client: new DnsClient([s.Address], [new UdpClientTransport(s.Port)], true, (int)RequestTimeout.TotalMilliseconds))).ToList();
        while (!stop.IsCancellationRequested)
        {
            var answers = await Task.WhenAll(clients.Select(async c =>
            {
                try
                {
                    var answer = await c.Client.ResolveAsync(name, RecordType.A, token: stop).ConfigureAwait(false);
                    return answer is { ReturnCode: ReturnCode.NoError, AnswerRecords.Count: > 0 } ? null : $"{c.Server}: {answer?.ReturnCode.ToString() ?? "no answer"}";
                }
                catch (Exception e) when (e is SocketException or IOException or TimeoutException or OperationCanceledException)
                {
                    return stop.IsCancellationRequested ? null : $"{c.Server}: {e.GetType().Name}";
                }
            })).ConfigureAwait(false);
            if (stop.IsCancellationRequested) break;
            var now = Math.Round(clock.Elapsed.TotalSeconds, 2);
            lock (result)
                foreach (var error in answers)
                {
                    result.DnsQueries++;
                    if (error is null) continue;
                    result.DnsFailures++;
                    result.LastDnsFailureSeconds = now;
                    result.LastDnsFailure = error;
                }
            try { await Task.Delay(interval, stop).ConfigureAwait(false); } catch (OperationCanceledException) { }
        }
    }
}

/// <summary>The data-plane side of a chaos report (<see cref="DataPlaneProbe"/>).</summary>
public sealed class DataPlaneReport
{
    /// <summary>Services (namespace/name) that had ready endpoints on the targets before the fault.</summary>
    public List<string> Services { get; init; } = [];
    /// <summary>Seconds from the fault until each of them listed no ready endpoint on the targets any more.</summary>
    public SortedDictionary<string, double> EndpointsOffTargetsAfterSeconds { get; } = new(StringComparer.Ordinal);
    public int ServiceRequests { get; set; }
    public int ServiceFailures { get; set; }
    public double? LastServiceFailureSeconds { get; set; }
    public string? LastServiceFailure { get; set; }
    /// <summary>The surviving nodes' DNS servers asked (IP:port).</summary>
    public List<string> DnsServers { get; init; } = [];
    public int DnsQueries { get; set; }
    public int DnsFailures { get; set; }
    public double? LastDnsFailureSeconds { get; set; }
    public string? LastDnsFailure { get; set; }

    public string ToText()
    {
        var w = new StringBuilder();
        if (Services.Count > 0)
        {
            var off = EndpointsOffTargetsAfterSeconds;
            w.Append($"Services with endpoints on the targets: {Services.Count}; endpoints off the targets ")
             .Append(off.Count == Services.Count ? $"by +{off.Values.Max():0.00} s" : $"for {off.Count} of them")
             .Append(off.Count == 0 ? "" : $" ({string.Join(", ", off.Select(o => $"{o.Key} +{o.Value:0.00} s"))})");
            w.AppendLine();
            w.Append($"Service traffic: {ServiceRequests} requests, {ServiceFailures} failed");
            if (LastServiceFailureSeconds is { } last) w.Append($", the last at +{last:0.00} s ({LastServiceFailure})");
            w.AppendLine();
        }
        if (DnsServers.Count > 0)
        {
            w.Append($"DNS: {DnsQueries} queries to {DnsServers.Count} surviving servers, {DnsFailures} failed");
            if (LastDnsFailureSeconds is { } last) w.Append($", the last at +{last:0.00} s ({LastDnsFailure})");
            w.AppendLine();
        }
        return w.ToString();
    }
}
