using System.Diagnostics;
using Prometheus;

namespace AkkaKube.Actors.Controllers;

/// <summary>
/// client-go's workqueue metrics (workqueue_*{name}) for every <see cref="ControllerBase"/> queue; reported by the
/// node hosting the controller-manager singleton. One instance per controller actor, driven from the actor thread.
/// </summary>
public sealed class WorkqueueMetrics
{
    public static readonly Gauge Depth = Metrics.CreateGauge("workqueue_depth", "Current depth of workqueue", "name");
    public static readonly Counter Adds = Metrics.CreateCounter("workqueue_adds_total", "Total number of adds handled by workqueue", "name");
    public static readonly Counter Retries = Metrics.CreateCounter("workqueue_retries_total", "Total number of retries handled by workqueue", "name");

    public static readonly Histogram QueueDuration = Metrics.CreateHistogram("workqueue_queue_duration_seconds",
        "How long in seconds an item stays in workqueue before being requested.",
        new HistogramConfiguration { LabelNames = ["name"], Buckets = Histogram.ExponentialBuckets(1e-8, 10, 11) });

    public static readonly Histogram WorkDuration = Metrics.CreateHistogram("workqueue_work_duration_seconds",
        "How long in seconds processing an item from workqueue takes.",
        new HistogramConfiguration { LabelNames = ["name"], Buckets = Histogram.ExponentialBuckets(1e-8, 10, 11) });

    private readonly Dictionary<string, long> _addedAt = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _startedAt = new(StringComparer.Ordinal);
    private readonly Func<string> _name;

    public WorkqueueMetrics(Func<string> name) => _name = name;

    public void Added(string key, int depth)
    {
        var name = _name();
        Adds.WithLabels(name).Inc();
        Depth.WithLabels(name).Set(depth);
        _addedAt.TryAdd(key, Stopwatch.GetTimestamp());
    }

    public void Started(string key, int depth)
    {
        var name = _name();
        Depth.WithLabels(name).Set(depth);
        if (_addedAt.Remove(key, out var added)) QueueDuration.WithLabels(name).Observe(Stopwatch.GetElapsedTime(added).TotalSeconds);
        _startedAt[key] = Stopwatch.GetTimestamp();
    }

    public void Finished(string key, bool failed)
    {
        var name = _name();
        if (_startedAt.Remove(key, out var started)) WorkDuration.WithLabels(name).Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
        if (failed) Retries.WithLabels(name).Inc();
    }
}
