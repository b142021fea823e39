using k8s.Models;

namespace AkkaKube.Actors.Scheduler.Framework;

/// <summary>Every plugin has a name; it implements only the extension points it needs.</summary>
public interface IPlugin
{
    string Name { get; }
}

/// <summary>Runs once per pod and cycle before Filter; precomputes state into <see cref="CycleState"/>.
/// Skip means this plugin's Filter is not run for this pod.</summary>
public interface IPreFilterPlugin : IPlugin
{
    Status PreFilter(CycleState state, PodInfo pod, IReadOnlyList<NodeInfo> allNodes);
}

/// <summary>Decides whether the pod fits one node. Pure over the snapshot; called for many nodes.</summary>
public interface IFilterPlugin : IPlugin
{
    Status Filter(CycleState state, PodInfo pod, NodeInfo node);
}

/// <summary>Runs once per pod before Score with the feasible nodes; Skip means its Score is not run.</summary>
public interface IPreScorePlugin : IPlugin
{
    Status PreScore(CycleState state, PodInfo pod, IReadOnlyList<NodeInfo> feasibleNodes, IReadOnlyList<NodeInfo> allNodes);
}

/// <summary>Scores a feasible node; scores are normalized to [0, <see cref="Scoring.MaxNodeScore"/>] and weighted.</summary>
public interface IScorePlugin : IPlugin
{
    long Score(CycleState state, PodInfo pod, NodeInfo node);

    /// <summary>Maps the raw scores (node order as given) into [0, MaxNodeScore]. Default: unchanged.</summary>
    void NormalizeScore(CycleState state, PodInfo pod, long[] scores) { }
}

public static class Scoring
{
    public const long MaxNodeScore = 100;
    public const long MinNodeScore = 0;

    /// <summary>kube-scheduler's DefaultNormalizeScore: scale to [0, max] by the highest score, optionally reversed.</summary>
    public static void DefaultNormalize(long[] scores, bool reverse)
    {
        long max = 0;
        foreach (var s in scores) max = Math.Max(max, s);
        if (max == 0)
        {
            if (reverse) Array.Fill(scores, MaxNodeScore);
            return;
        }
        for (var i = 0; i < scores.Length; i++)
        {
            var s = MaxNodeScore * scores[i] / max;
            scores[i] = reverse ? MaxNodeScore - s : s;
        }
    }
}

/// <summary>Per-pod, per-cycle scratch space: PreFilter/PreScore write under a key, Filter/Score read it back.</summary>
public sealed class CycleState
{
    private readonly Dictionary<string, object> _data = new(StringComparer.Ordinal);

    public void Write(string key, object value) => _data[key] = value;

    public T? Read<T>(string key) where T : class => _data.TryGetValue(key, out var v) ? v as T : null;

    /// <summary>Plugins whose Filter/Score are skipped in this cycle (PreFilter/PreScore returned Skip).</summary>
    public HashSet<string> SkipFilter { get; } = new(StringComparer.Ordinal);
    public HashSet<string> SkipScore { get; } = new(StringComparer.Ordinal);
}

/// <summary>Creates a plugin from its HOCON arguments block (may be empty).</summary>
public delegate IPlugin PluginFactory(Akka.Configuration.Config args);

/// <summary>The registry: plugin name → factory (kube-scheduler's in-tree registry).</summary>
public static class PluginRegistry
{
    public static readonly IReadOnlyDictionary<string, PluginFactory> InTree = new Dictionary<string, PluginFactory>(StringComparer.Ordinal)
    {
        [Plugins.NodeName.NodeNamePlugin.PluginName] = _ => new Plugins.NodeName.NodeNamePlugin(),
        [Plugins.NodeUnschedulable.NodeUnschedulablePlugin.PluginName] = _ => new Plugins.NodeUnschedulable.NodeUnschedulablePlugin(),
        [Plugins.NodeResources.NodeResourcesFitPlugin.PluginName] = _ => new Plugins.NodeResources.NodeResourcesFitPlugin(),
        [Plugins.NodeResources.BalancedAllocationPlugin.PluginName] = _ => new Plugins.NodeResources.BalancedAllocationPlugin(),
        [Plugins.NodeAffinity.NodeAffinityPlugin.PluginName] = _ => new Plugins.NodeAffinity.NodeAffinityPlugin(),
        [Plugins.TaintToleration.TaintTolerationPlugin.PluginName] = _ => new Plugins.TaintToleration.TaintTolerationPlugin(),
        [Plugins.PodTopologySpread.PodTopologySpreadPlugin.PluginName] = _ => new Plugins.PodTopologySpread.PodTopologySpreadPlugin(),
        [Plugins.InterPodAffinity.InterPodAffinityPlugin.PluginName] = _ => new Plugins.InterPodAffinity.InterPodAffinityPlugin(),
        // reads the scheduler's volume snapshot: SchedulingAlgorithm.CreateDefault hands the scheduler's own one over
        [Plugins.VolumeBinding.VolumeBindingPlugin.PluginName] = _ => new Plugins.VolumeBinding.VolumeBindingPlugin(new()),
    };

    /// <summary>The default profile: every in-tree plugin with kube-scheduler's default score weights.</summary>
    public static readonly IReadOnlyDictionary<string, int> DefaultWeights = new Dictionary<string, int>(StringComparer.Ordinal)
    {
        [Plugins.TaintToleration.TaintTolerationPlugin.PluginName] = 3,
        [Plugins.NodeAffinity.NodeAffinityPlugin.PluginName] = 2,
        [Plugins.PodTopologySpread.PodTopologySpreadPlugin.PluginName] = 2,
        [Plugins.InterPodAffinity.InterPodAffinityPlugin.PluginName] = 2,
        [Plugins.NodeResources.NodeResourcesFitPlugin.PluginName] = 1,
        [Plugins.NodeResources.BalancedAllocationPlugin.PluginName] = 1,
    };
}
