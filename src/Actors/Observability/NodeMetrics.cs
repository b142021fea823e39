using Prometheus;

namespace AkkaKube.Actors.Observability;

/// <summary>
/// The process's Prometheus registry (prometheus-net's default registry): every component declares its metrics in a
/// static class beside it (ApiServerMetrics, StoreMetrics, …) and the node's metrics port serves them all.
/// </summary>
public static class NodeMetrics
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    private static int s_configured;

    /// <summary>
    /// Once per process: keep prometheus-net's process_* and dotnet_* collectors, drop its EventCounter and Meter
    /// adapters (they would re-export every .NET meter under generated names and cost a listener thread).
    /// </summary>
    public static void Configure()
    {
        if (Interlocked.Exchange(ref s_configured, 1) == 1) return;
        Metrics.SuppressDefaultMetrics(new SuppressDefaultMetricOptions { SuppressEventCounters = true, SuppressMeters = true });
    }

    public static Task WriteAsync(Stream output, CancellationToken ct) => Metrics.DefaultRegistry.CollectAndExportAsTextAsync(output, ct);

    /// <summary>Latency buckets of Kubernetes' apiserver_request_duration_seconds (5 ms … 60 s).</summary>
    public static readonly double[] RequestBuckets =
        [0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60];

    /// <summary>Short operations (store writes, scheduling attempts): 0.5 ms … 16 s, doubling.</summary>
    public static readonly double[] ShortBuckets = Histogram.ExponentialBuckets(0.0005, 2, 16);

    /// <summary>Long operations (pod start, recovery): 50 ms … ~7 min, doubling.</summary>
    public static readonly double[] LongBuckets = Histogram.ExponentialBuckets(0.05, 2, 14);
}
