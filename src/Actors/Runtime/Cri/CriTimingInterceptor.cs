using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.RegularExpressions;
using AkkaKube.Actors.Kubelet;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace AkkaKube.Actors.Runtime.Cri;

/// <summary>
/// Times every CRI call into kubelet_runtime_operations_duration_seconds by operation ("run_podsandbox",
/// "create_container", "image_status", … as the kubelet names them), from the call to its answer: what a pod start
/// spends in the runtime, including any queueing in the one HTTP/2 connection to it.
/// </summary>
internal sealed partial class CriTimingInterceptor : Interceptor
{
    private static readonly ConcurrentDictionary<string, string> s_names = new(StringComparer.Ordinal);

    [GeneratedRegex("(?<=[a-z])(?=[A-Z])")]
    private static partial Regex WordStart();

    /// <summary>"RunPodSandbox" → "run_podsandbox", "ImageStatus" → "image_status".</summary>
    internal static string OperationName(string method) =>
        s_names.GetOrAdd(method, m => WordStart().Replace(m.Replace("PodSandbox", "Podsandbox", StringComparison.Ordinal), "_").ToLowerInvariant());

    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(TRequest request, ClientInterceptorContext<TRequest, TResponse> context,
        AsyncUnaryCallContinuation<TRequest, TResponse> continuation)
    {
        var started = Stopwatch.GetTimestamp();
        var call = continuation(request, context);
        var name = OperationName(context.Method.Name);
        return new AsyncUnaryCall<TResponse>(Timed(call.ResponseAsync, name, started), call.ResponseHeadersAsync, call.GetStatus, call.GetTrailers, call.Dispose);
    }

    public override TResponse BlockingUnaryCall<TRequest, TResponse>(TRequest request, ClientInterceptorContext<TRequest, TResponse> context,
        BlockingUnaryCallContinuation<TRequest, TResponse> continuation)
    {
        var started = Stopwatch.GetTimestamp();
        try { return continuation(request, context); }
        finally { Observe(OperationName(context.Method.Name), started); }
    }

    private static async Task<TResponse> Timed<TResponse>(Task<TResponse> response, string name, long started)
    {
        try { return await response.ConfigureAwait(false); }
        finally { Observe(name, started); }
    }

    private static void Observe(string name, long started) =>
        KubeletMetrics.RuntimeOperations.WithLabels(name).Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
}
