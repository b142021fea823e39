using System.Net.Sockets;
using AkkaKube.Actors.Runtime;
using k8s.Models;

namespace AkkaKube.Actors.Kubelet;

/// <summary>
/// A container's postStart and preStop handlers, run as the kubelet's lifecycle handler runner does: exec in the
/// container (through the runtime), httpGet against the pod IP, or sleep. tcpSocket is accepted by the API for old
/// manifests but, as in Kubernetes, is not a handler the kubelet runs: it fails.
/// </summary>
public static class LifecycleHooks
{
    public const string PostStart = "PostStart", PreStop = "PreStop";

    public static async Task<(bool Success, string Message)> RunAsync(
        string hook, V1LifecycleHandler handler, V1Container container, string podName, string podIp, TimeSpan timeout,
        IContainerRuntime runtime, IRunningContainer running, CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        if (timeout != Timeout.InfiniteTimeSpan) cts.CancelAfter(timeout);
        string What(string kind, string detail) => $"{kind} lifecycle hook ({detail}) for Container \"{container.Name}\" in Pod \"{podName}\" failed";
        try
        {
            if (handler.Exec is { } exec)
            {
                var (ok, message) = await ProbeRunner.ExecAsync(exec, timeout == Timeout.InfiniteTimeSpan ? TimeSpan.FromDays(1) : timeout, runtime, running, cts.Token);
                return ok ? (true, "") : (false, $"{What("Exec", string.Join(" ", exec.Command ?? []))} - error: {message}");
            }
            if (handler.HttpGet is { } http)
            {
                var (ok, message) = await ProbeRunner.HttpGetAsync(http, container, podIp, "kube-lifecycle/1.32", "HTTP lifecycle hook", cts.Token);
                return ok ? (true, "") : (false, $"{What("HTTP", http.Path ?? "/")} - error: {message}");
            }
            if (handler.Sleep is { } sleep)
            {
                // a sleep cut short by the grace period is not a failure
                try { await Task.Delay(TimeSpan.FromSeconds(Math.Clamp(sleep.Seconds, 0, int.MaxValue / 1000)), cts.Token); }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested) { }
                return (true, "");
            }
            return (false, $"{hook} hook of container \"{container.Name}\": invalid handler (tcpSocket is not run as a lifecycle hook; use exec, httpGet or sleep)");
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return (false, $"{hook} hook of container \"{container.Name}\" did not finish within {timeout.TotalSeconds:0.###}s");
        }
        catch (Exception e) when (e is HttpRequestException or SocketException or IOException)
        {
            return (false, $"{hook} hook of container \"{container.Name}\" failed - error: {e.Message}");
        }
    }
}
