using System.Net.Sockets;
using AkkaKube.Actors.Runtime;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using k8s.Models;

namespace AkkaKube.Actors.Kubelet;

public enum ProbeKind { Startup, Liveness, Readiness }

/// <summary>A probe's timing and thresholds, defaulted as Kubernetes does.</summary>
public sealed record ProbeTiming(TimeSpan InitialDelay, TimeSpan Period, TimeSpan Timeout, int SuccessThreshold, int FailureThreshold)
{
    public static ProbeTiming From(V1Probe p, ProbeKind kind) => new(
        TimeSpan.FromSeconds(Math.Max(0, p.InitialDelaySeconds ?? 0)),
        TimeSpan.FromSeconds(Math.Max(1, p.PeriodSeconds ?? 10)),
        TimeSpan.FromSeconds(Math.Max(1, p.TimeoutSeconds ?? 1)),
        // Liveness and startup probes must have successThreshold 1.
        kind == ProbeKind.Readiness ? Math.Max(1, p.SuccessThreshold ?? 1) : 1,
        Math.Max(1, p.FailureThreshold ?? 3));
}

/// <summary>Consecutive success/failure counting of one probe (pure).</summary>
public sealed class ProbeState(ProbeTiming timing, bool initial)
{
    private int _successes;
    private int _failures;

    public bool Result { get; private set; } = initial;

    /// <summary>Records one outcome; true when <see cref="Result"/> changed.</summary>
    public bool Record(bool success)
    {
        if (success) { _successes++; _failures = 0; }
        else { _failures++; _successes = 0; }
        var before = Result;
        if (success && _successes >= timing.SuccessThreshold) Result = true;
        if (!success && _failures >= timing.FailureThreshold) Result = false;
        return before != Result;
    }

    public int ConsecutiveFailures => _failures;
}

/// <summary>Runs one probe (httpGet, tcpSocket, exec) against the pod's IP.</summary>
public static class ProbeRunner
{
    private static readonly HttpClient Http = new(new SocketsHttpHandler
    {
        UseProxy = false,
        AllowAutoRedirect = false,
        PooledConnectionLifetime = TimeSpan.FromSeconds(30),
        ConnectTimeout = TimeSpan.FromSeconds(5),
    })
    { Timeout = Timeout.InfiniteTimeSpan };

    public static async Task<(bool Success, string Message)> RunAsync(
        V1Probe probe, V1Container container, string podIp, TimeSpan timeout, IContainerRuntime runtime, IRunningContainer running)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            if (probe.HttpGet is { } http) return await HttpGetAsync(http, container, podIp, "kube-probe/1.32", "HTTP probe", cts.Token);
            if (probe.TcpSocket is { } tcp)
            {
                var port = ResolvePort(tcp.Port, container);
                if (port is null) return (false, $"port {tcp.Port?.Value} not found in the container's ports");
                using var client = new TcpClient();
                await client.ConnectAsync(string.IsNullOrEmpty(tcp.Host) ? podIp : tcp.Host, port.Value, cts.Token);
                return (true, "");
            }
            if (probe.Exec is { } exec) return await ExecAsync(exec, timeout, runtime, running, cts.Token);
            if (probe.Grpc is { } grpc) return await GrpcAsync(grpc, podIp, timeout, cts.Token);
            return (false, "probe has no handler (httpGet, tcpSocket, exec or grpc)");
        }
        catch (OperationCanceledException)
        {
            return (false, $"probe timed out after {timeout.TotalSeconds:0.###}s");
        }
        catch (Exception e) when (e is HttpRequestException or SocketException or IOException)
        {
            return (false, e.Message);
        }
    }

    /// <summary>GET scheme://host:port/path (host: the pod IP unless set); 2xx and 3xx succeed. Shared by probes and hooks.</summary>
    public static async Task<(bool Success, string Message)> HttpGetAsync(V1HTTPGetAction http, V1Container container, string podIp, string userAgent, string what, CancellationToken ct)
    {
        var port = ResolvePort(http.Port, container);
        if (port is null) return (false, $"port {http.Port?.Value} not found in the container's ports");
        var host = string.IsNullOrEmpty(http.Host) ? podIp : http.Host;
        var scheme = (http.Scheme ?? "HTTP").ToLowerInvariant();
        var path = string.IsNullOrEmpty(http.Path) ? "/" : http.Path.StartsWith('/') ? http.Path : "/" + http.Path;
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{scheme}://{host}:{port}{path}");
        request.Headers.TryAddWithoutValidation("User-Agent", userAgent);
        foreach (var h in http.HttpHeaders ?? [])
            request.Headers.TryAddWithoutValidation(h.Name, h.Value);
        using var response = await Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
        var code = (int)response.StatusCode;
        return code is >= 200 and < 400 ? (true, "") : (false, $"{what} failed with statuscode: {code}");
    }

    /// <summary>
    /// The gRPC health checking protocol (grpc.health.v1.Health/Check) over plaintext HTTP/2 to the pod IP and port, with
    /// the probe's service name ("" = the server as a whole): SERVING succeeds; the kubelet's messages otherwise.
    /// </summary>
    public static async Task<(bool Success, string Message)> GrpcAsync(V1GRPCAction grpc, string podIp, TimeSpan timeout, CancellationToken ct)
    {
        var service = grpc.Service ?? "";
        using var channel = GrpcChannel.ForAddress($"http://{podIp}:{grpc.Port}", new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler { UseProxy = false, ConnectTimeout = timeout },
            DisposeHttpClient = true,
        });
        var metadata = new Metadata { { "user-agent", "kube-probe/1.32" } };
        try
        {
            var reply = await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest { Service = service }, metadata, cancellationToken: ct);
            return reply.Status == HealthCheckResponse.Types.ServingStatus.Serving
                ? (true, "")
                : (false, $"service unhealthy (responded with \"{Kubernetes(reply.Status)}\")");
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Unimplemented)
        {
            return (false, $"error: this server does not implement the grpc health protocol (grpc.health.v1.Health): {e.Status.Detail}");
        }
        catch (RpcException e) when (e.StatusCode is StatusCode.Unavailable && e.Status.DebugException is HttpRequestException or SocketException)
        {
            return (false, $"timeout: failed to connect service \"{podIp}:{grpc.Port}\" within {timeout.TotalSeconds:0.###}s: {e.Status.DebugException.Message}");
        }
        catch (RpcException e) when (e.StatusCode is StatusCode.DeadlineExceeded or StatusCode.Cancelled)
        {
            return (false, $"timeout: health rpc did not complete within {timeout.TotalSeconds:0.###}s");
        }
        catch (RpcException e)
        {
            return (false, $"error: health rpc probe failed: {e.Status}");
        }

        static string Kubernetes(HealthCheckResponse.Types.ServingStatus status) => status switch
        {
            HealthCheckResponse.Types.ServingStatus.NotServing => "NOT_SERVING",
            HealthCheckResponse.Types.ServingStatus.ServiceUnknown => "SERVICE_UNKNOWN",
            _ => "UNKNOWN",
        };
    }

    /// <summary>The command in the container (through the runtime); exit code 0 succeeds.</summary>
    public static async Task<(bool Success, string Message)> ExecAsync(V1ExecAction exec, TimeSpan timeout, IContainerRuntime runtime, IRunningContainer running, CancellationToken ct)
    {
        var result = await runtime.ExecAsync(running, exec.Command?.ToList() ?? [], timeout, ct);
        return result.ExitCode == 0 ? (true, "") : (false, $"command {string.Join(" ", exec.Command ?? [])} exited with {result.ExitCode}: {result.Output.Trim()}");
    }

    public static int? ResolvePort(IntOrString? port, V1Container container)
    {
        if (port?.Value is null) return null;
        if (int.TryParse(port.Value, out var n)) return n;
        return container.Ports?.FirstOrDefault(p => p.Name == port.Value)?.ContainerPort;
    }
}
