using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using AkkaKube.Actors.ApiServer;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Cluster;
using AkkaKube.Host;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Bench;

/// <summary>
/// One all-in-one node (control-plane + worker: store on SQLite, apiserver on HTTP, scheduler, controllers, kubelet)
/// inside the bench process — the same NodeHost as the akkakube-node binary. <c>hollowNodes</c> &gt; 0 replaces
/// its kubelet by that many hollow kubelets (simulated runtime), as `akkakube-node --hollow-nodes N` does.
/// </summary>
public sealed class BenchNode : IAsyncDisposable
{
    private readonly IHost _host;
    private readonly string _dir;

    public NodeOptions Options { get; }
    public ActorSystem System { get; }
    public IKubeApi Api { get; }
    public Uri ApiUri => new($"http://127.0.0.1:{Options.ApiPort}");

    private BenchNode(IHost host, string dir, NodeOptions options)
    {
        _host = host;
        _dir = dir;
        Options = options;
        System = host.Services.GetRequiredService<ActorSystem>();
        Api = KubeApi.Get(System).Api;
    }

    /// <summary>An all-in-one node; <paramref name="worker"/> false starts a control-plane-only node (no kubelet).</summary>
    public static async Task<BenchNode> StartAsync(string name, int hollowNodes, string extraHocon, CancellationToken ct, bool worker = true)
    {
        var dir = Directory.CreateTempSubdirectory("akkakube-bench-").FullName;
        var conf = Path.Combine(dir, "bench.conf");
        await File.WriteAllTextAsync(conf, $"akkakube.kubelet.hollow-nodes = {hollowNodes}\n{extraHocon}\n", ct);
        var port = FreePort();
        var options = new NodeOptions
        {
            NodeName = name,
            RemotingPort = port,
            SeedNodes = [$"akka.tcp://akkakube@127.0.0.1:{port}"],
            ApiPort = FreePort(),
            CmdPort = FreePort(),
            PodCidr = "127.64.251.0/24",
            DataDirectory = dir,
            ConfigFiles = [conf],
            Worker = worker,
            // Plain HTTP on purpose: the API figures are compared with etcd through its plain gateway, and wrk
            // drives the write bench without client certificates (docs/performance.md).
            InsecureHttp = true,
        };
        var host = NodeHost.Build(options);
        await host.StartAsync(ct);
        return new BenchNode(host, dir, options);
    }

    /// <summary>Polls the Node list until <paramref name="count"/> Nodes report Ready; returns when they do.</summary>
    public async Task WaitForReadyNodesAsync(int count, TimeSpan timeout, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + timeout;
        var ready = 0;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                var list = await Api.ListAsync(ApiResource.Nodes, null, ct: ct);
                ready = list.Items.Count(n => (n["status"]?["conditions"] as System.Text.Json.Nodes.JsonArray ?? [])
                    .Any(c => c?["type"]?.GetValue<string>() == "Ready" && c["status"]?.GetValue<string>() == "True"));
                if (ready >= count) return;
            }
            catch (Exception e) when (e is KubeApiException or TimeoutException or AskTimeoutException) { }
            await Task.Delay(250, ct);
        }
        throw new TimeoutException($"only {ready} of {count} Nodes Ready within {timeout.TotalSeconds:0} s");
    }

    public static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _host.StopAsync(CancellationToken.None);
        }
        finally
        {
            _host.Dispose();
            try { Directory.Delete(_dir, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}

/// <summary>Process memory from /proc (Linux): resident now and peak resident (VmHWM), in bytes.</summary>
public static class ProcMemory
{
    public static long Rss(int pid) => Field(pid, "VmRSS:");
    public static long PeakRss(int pid) => Field(pid, "VmHWM:");

    private static long Field(int pid, string name)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
                if (line.StartsWith(name, StringComparison.Ordinal))
                    return long.Parse(line[name.Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) * 1024;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException) { }
        return 0;
    }

    public static string Load()
    {
        try { return "load average " + string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)); }
        catch (IOException) { return "load average unknown"; }
    }
}

internal static class BenchArgs
{
    public static int Int(string[] args, string name, int d)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], out var v) ? v : d;
    }
}
