using Akka.Configuration;
using AkkaKube.Actors.Scheduler.Framework;

namespace AkkaKube.Actors.Scheduler;

/// <summary>Settings of the scheduler, from the <c>akkakube.scheduler</c> HOCON block (hocon/control-plane.conf).</summary>
public sealed record SchedulerSettings
{
    public const string SectionPath = "akkakube.scheduler";
    public const string DefaultSchedulerName = "default-scheduler";

    /// <summary>Pods whose spec.schedulerName equals this are ours; others are left alone.</summary>
    public string SchedulerName { get; init; } = DefaultSchedulerName;

    /// <summary>0 = adaptive (50 % − nodes/125, at least 5 %), as kube-scheduler; 1–100 = fixed.</summary>
    public int PercentageOfNodesToScore { get; init; }

    /// <summary>Below this many nodes every node is evaluated; above, at least this many feasible nodes are found.</summary>
    public int MinFeasibleNodesToFind { get; init; } = 50;

    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromSeconds(1);
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Unschedulable pods are retried at the latest after this long even without a cluster event.</summary>
    public TimeSpan MaxInUnschedulable { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Pods scheduled per actor message before the actor lets other messages in.</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>Binding calls in flight at once.</summary>
    public int MaxInFlightBindings { get; init; } = 256;

    /// <summary>Plugins in the order Filter runs them.</summary>
    public IReadOnlyList<string> EnabledPlugins { get; init; } =
    [
        "NodeUnschedulable", "NodeName", "TaintToleration", "NodeAffinity", "NodeResourcesFit", "VolumeBinding",
        "PodTopologySpread", "InterPodAffinity", "NodeResourcesBalancedAllocation",
    ];

    public IReadOnlyDictionary<string, int> Weights { get; init; } = PluginRegistry.DefaultWeights;

    public static SchedulerSettings Create(Config config)
    {
        var c = config.GetConfig(SectionPath) ?? Config.Empty;
        var d = new SchedulerSettings();
        var weights = new Dictionary<string, int>(PluginRegistry.DefaultWeights, StringComparer.Ordinal);
        var weightsConfig = c.GetConfig("weights");
        if (weightsConfig is not null && !weightsConfig.IsEmpty)
            foreach (var (key, _) in weightsConfig.AsEnumerable())
                weights[key.Trim('"')] = weightsConfig.GetInt(key);
        IEnumerable<string> plugins = c.HasPath("plugins") ? c.GetStringList("plugins") : d.EnabledPlugins;
        var s = new SchedulerSettings
        {
            SchedulerName = c.GetString("scheduler-name", d.SchedulerName),
            PercentageOfNodesToScore = c.GetInt("percentage-of-nodes-to-score", d.PercentageOfNodesToScore),
            MinFeasibleNodesToFind = c.GetInt("min-feasible-nodes-to-find", d.MinFeasibleNodesToFind),
            InitialBackoff = c.GetTimeSpan("pod-initial-backoff", d.InitialBackoff),
            MaxBackoff = c.GetTimeSpan("pod-max-backoff", d.MaxBackoff),
            MaxInUnschedulable = c.GetTimeSpan("pod-max-in-unschedulable", d.MaxInUnschedulable),
            BatchSize = c.GetInt("batch-size", d.BatchSize),
            MaxInFlightBindings = c.GetInt("max-in-flight-bindings", d.MaxInFlightBindings),
            EnabledPlugins = plugins.ToList(),
            Weights = weights,
        };
        s.Validate();
        return s;
    }

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(SchedulerName)) throw new ArgumentException("akkakube.scheduler.scheduler-name must not be empty");
        if (PercentageOfNodesToScore is < 0 or > 100) throw new ArgumentException("akkakube.scheduler.percentage-of-nodes-to-score must be 0 (adaptive) to 100");
        if (MinFeasibleNodesToFind < 1) throw new ArgumentException("akkakube.scheduler.min-feasible-nodes-to-find must be at least 1");
        if (InitialBackoff <= TimeSpan.Zero) throw new ArgumentException("akkakube.scheduler.pod-initial-backoff must be positive");
        if (MaxBackoff < InitialBackoff) throw new ArgumentException("akkakube.scheduler.pod-max-backoff must be at least pod-initial-backoff");
        if (BatchSize < 1) throw new ArgumentException("akkakube.scheduler.batch-size must be at least 1");
        if (MaxInFlightBindings < 1) throw new ArgumentException("akkakube.scheduler.max-in-flight-bindings must be at least 1");
        foreach (var p in EnabledPlugins)
            if (!PluginRegistry.InTree.ContainsKey(p)) throw new ArgumentException($"akkakube.scheduler.plugins: unknown plugin '{p}'");
        foreach (var (name, w) in Weights)
            if (w < 0) throw new ArgumentException($"akkakube.scheduler.weights.{name} must not be negative");
    }
}
