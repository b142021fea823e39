using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json.Nodes;
using Prometheus;

namespace AkkaKube.Actors.Kubelet;

/// <summary>
/// The kubelet's metrics (kubelet_* names as Kubernetes') and the facts the node's `kubelet` readiness check reads:
/// every kubelet of this process registered its Node and renewed its Lease recently. A hollow worker process runs many
/// kubelets: the gauges sum over them.
/// </summary>
public static class KubeletMetrics
{
    public static readonly Histogram PodStartDuration = Metrics.CreateHistogram("kubelet_pod_start_duration_seconds",
        "Duration in seconds from kubelet seeing a pod for the first time to the pod starting to run",
        new HistogramConfiguration { Buckets = Observability.NodeMetrics.LongBuckets });

    public static readonly Gauge RunningPods = Metrics.CreateGauge("kubelet_running_pods", "Number of pods that have a running pod sandbox");
    public static readonly Gauge RunningContainers = Metrics.CreateGauge("kubelet_running_containers", "Number of containers currently running", "container_state");
    public static readonly Counter LeaseRenewals = Metrics.CreateCounter("akkakube_kubelet_lease_renewals_total", "Node Lease renewals by result.", "result");

    private sealed record KubeletState(ContainerRegistry Registry, TimeSpan LeaseInterval, DateTime? RegisteredAt, DateTime? LeaseRenewedAt);

    private static readonly ConcurrentDictionary<string, KubeletState> s_kubelets = new(StringComparer.Ordinal);

    static KubeletMetrics() => Metrics.DefaultRegistry.AddBeforeCollectCallback(() =>
    {
        var entries = s_kubelets.Values.SelectMany(k => k.Registry.Snapshot()).ToList();
        RunningPods.Set(entries.Select(e => e.Uid).Distinct().Count());
        RunningContainers.WithLabels("running").Set(entries.Count);
    });

    public static void Started(string node, ContainerRegistry registry, TimeSpan leaseInterval) =>
        s_kubelets[node] = new KubeletState(registry, leaseInterval, null, null);

    public static void Registered(string node) => Update(node, s => s with { RegisteredAt = DateTime.UtcNow });

    public static void LeaseRenewed(string node, bool ok)
    {
        LeaseRenewals.WithLabels(ok ? "success" : "failure").Inc();
        if (ok) Update(node, s => s with { LeaseRenewedAt = DateTime.UtcNow });
    }

    public static void Stopped(string node) => s_kubelets.TryRemove(node, out _);

    private static void Update(string node, Func<KubeletState, KubeletState> change)
    {
        if (s_kubelets.TryGetValue(node, out var s)) s_kubelets[node] = change(s);
    }

    /// <summary>
    /// The `kubelet` readiness check: null when every kubelet of this process is registered and renewed its Lease
    /// within three renew intervals (the NodeLifecycle controller's grace is longer); else why not.
    /// </summary>
    public static string? NotReadyReason(DateTime now)
    {
        var kubelets = s_kubelets.ToList();
        if (kubelets.Count == 0) return "no kubelet started yet";
        var unregistered = kubelets.Where(k => k.Value.RegisteredAt is null).Select(k => k.Key).ToList();
        if (unregistered.Count > 0) return $"{unregistered.Count} kubelet(s) not registered yet (e.g. {unregistered[0]})";
        var stale = kubelets.Where(k => k.Value.LeaseRenewedAt is not { } at || now - at > 3 * k.Value.LeaseInterval).Select(k => k.Key).ToList();
        if (stale.Count > 0) return $"{stale.Count} kubelet(s) have no fresh Lease (e.g. {stale[0]})";
        return null;
    }

    /// <summary>Observes one pod's start once: from the worker's creation to the first status with phase Running.</summary>
    public sealed class PodStart
    {
        private readonly long _seen = Stopwatch.GetTimestamp();
        private bool _observed;

        public void StatusWritten(JsonObject status)
        {
            if (_observed || status["phase"]?.GetValue<string>() != "Running") return;
            _observed = true;
            PodStartDuration.Observe(Stopwatch.GetElapsedTime(_seen).TotalSeconds);
        }
    }
}
