using System.Diagnostics;
using Prometheus;

namespace AkkaKube.Actors.Scheduler;

/// <summary>kube-scheduler's metrics with its names and labels; reported by the node hosting the scheduler singleton.</summary>
public static class SchedulerMetrics
{
    public static readonly Counter Attempts = Metrics.CreateCounter("scheduler_schedule_attempts_total",
        "Number of attempts to schedule pods, by the result. 'unschedulable' means a pod could not be scheduled, while 'error' means an internal scheduler problem.",
        "result", "profile");

    public static readonly Histogram AttemptDuration = Metrics.CreateHistogram("scheduler_scheduling_attempt_duration_seconds",
        "Scheduling attempt latency in seconds (scheduling algorithm + binding)",
        new HistogramConfiguration { LabelNames = ["result", "profile"], Buckets = Observability.NodeMetrics.ShortBuckets });

    public static readonly Gauge PendingPods = Metrics.CreateGauge("scheduler_pending_pods",
        "Number of pending pods, by the queue type. 'active' means number of pods in activeQ; 'backoff' means number of pods in backoffQ; 'unschedulable' means number of pods in unschedulablePods.",
        "queue");

    public static long Start() => Stopwatch.GetTimestamp();

    public static void Attempted(long started, string result, string profile)
    {
        Attempts.WithLabels(result, profile).Inc();
        AttemptDuration.WithLabels(result, profile).Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
    }

    public static void Pending(int active, int backoff, int unschedulable)
    {
        PendingPods.WithLabels("active").Set(active);
        PendingPods.WithLabels("backoff").Set(backoff);
        PendingPods.WithLabels("unschedulable").Set(unschedulable);
    }
}
