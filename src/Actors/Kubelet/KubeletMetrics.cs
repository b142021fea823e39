using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json.Nodes;
using AkkaKube.Actors.Runtime;
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

    /// <summary>Each CRI call's duration by its method (RunPodSandbox, CreateContainer, ImageStatus, …), as the kubelet's.</summary>
    public static readonly Histogram RuntimeOperations = Metrics.CreateHistogram("kubelet_runtime_operations_duration_seconds",
        "Duration in seconds of runtime operations. Broken down by operation type.",
        new HistogramConfiguration { LabelNames = ["operation_type"], Buckets = Observability.NodeMetrics.LongBuckets });

    public static readonly Gauge RunningPods = Metrics.CreateGauge("kubelet_running_pods", "Number of pods that have a running pod sandbox");
    public static readonly Gauge RunningContainers = Metrics.CreateGauge("kubelet_running_containers", "Number of containers currently running", "container_state");
    public static readonly Counter LeaseRenewals = Metrics.CreateCounter("akkakube_kubelet_lease_renewals_total", "Node Lease renewals by result.", "result");

    private sealed record KubeletState(IContainerRuntime Runtime, TimeSpan FreshFor, DateTime? RegisteredAt, DateTime? LeaseRenewedAt);

    private static readonly ConcurrentDictionary<string, KubeletState> s_kubelets = new(StringComparer.Ordinal);

    static KubeletMetrics() => Metrics.DefaultRegistry.AddBeforeCollectCallback(() =>
    {
        // What each kubelet's runtime lists for its node (hollow kubelets share one simulated runtime).
        var entries = s_kubelets.SelectMany(k => k.Value.Runtime.List().Where(c => c.Launch.NodeName == k.Key)).ToList();
        RunningPods.Set(entries.Select(e => e.Launch.PodUid).Distinct().Count());
        RunningContainers.WithLabels("running").Set(entries.Count);
    });

    /// <summary>A kubelet started; its Lease counts as fresh for <paramref name="freshFor"/> after a renewal.</summary>
    public static void Started(string node, IContainerRuntime runtime, TimeSpan freshFor) =>
        s_kubelets[node] = new KubeletState(runtime, freshFor, null, null);

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
    /// within the Lease's duration (at least three renew intervals); else why not.
    /// </summary>
    public static string? NotReadyReason(DateTime now)
    {
        var kubelets = s_kubelets.ToList();
        if (kubelets.Count == 0) return "no kubelet started yet";
        var unregistered = kubelets.Where(k => k.Value.RegisteredAt is null).Select(k => k.Key).ToList();
        if (unregistered.Count > 0) return $"{unregistered.Count} kubelet(s) not registered yet (e.g. {unregistered[0]})";
        var stale = kubelets.Where(k => k.Value.LeaseRenewedAt is not { } at || now - at > k.Value.FreshFor).Select(k => k.Key).ToList();
        if (stale.Count > 0) return $"{stale.Count} kubelet(s) have no fresh Lease (e.g. {stale[0]})";
        return null;
    }

    /// <summary>One pod's start, phase by phase: when each phase ended, counted from the worker's creation (the pod seen).</summary>
    public sealed record PodStartBreakdown(string Namespace, string Name, long SeenTimestamp, IReadOnlyList<(string Phase, TimeSpan At)> Phases)
    {
        public override string ToString()
        {
            var last = TimeSpan.Zero;
            var parts = new List<string>();
            foreach (var (phase, at) in Phases)
            {
                parts.Add($"{phase} {(at - last).TotalMilliseconds:0}ms");
                last = at;
            }
            return string.Join(", ", parts);
        }
    }

    /// <summary>
    /// Observes one pod's start once: from the worker's creation to the first status with phase Running (the
    /// kubelet_pod_start_duration_seconds histogram), with the end of each phase on the way (<see cref="Mark"/>) until
    /// that status is stored, reported once by <see cref="Observed"/> like the kubelet's "Observed pod startup duration".
    /// </summary>
    public sealed class PodStart(string ns, string name)
    {
        private readonly long _seen = Stopwatch.GetTimestamp();
        private readonly List<(string Phase, TimeSpan At)> _phases = [];
        private bool _observed;
        private bool _reported;

        /// <summary>In-process observers of every pod's breakdown (the podstartup bench).</summary>
        public static event Action<PodStartBreakdown>? Observed;

        /// <summary>The end of a phase of the start (the first time only; a restart's phases are not the start's).</summary>
        public void Mark(string phase)
        {
            if (_reported || _phases.Any(p => p.Phase == phase)) return;
            _phases.Add((phase, Stopwatch.GetElapsedTime(_seen)));
        }

        public void StatusWritten(JsonObject status)
        {
            if (_observed || status["phase"]?.GetValue<string>() != "Running") return;
            _observed = true;
            Mark("status-sent");
            PodStartDuration.Observe(Stopwatch.GetElapsedTime(_seen).TotalSeconds);
        }

        /// <summary>A status is stored: the first one after Running was sent ends the breakdown. Returns it then.</summary>
        public PodStartBreakdown? Stored()
        {
            if (!_observed || _reported) return null;
            Mark("status-stored");
            _reported = true;
            var breakdown = new PodStartBreakdown(ns, name, _seen, _phases.ToList());
            Observed?.Invoke(breakdown);
            return breakdown;
        }
    }
}
