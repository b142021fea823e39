using AkkaKube.Actors.Client;
using AkkaKube.Actors.Scheduler.Framework;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.Scheduler.Plugins.NodeAffinity;

/// <summary>
/// Filter: spec.nodeSelector and requiredDuringSchedulingIgnoredDuringExecution must both match the node.
/// Score: the sum of the weights of the matching preferred terms, normalized to [0, 100].
/// </summary>
public sealed class NodeAffinityPlugin : IFilterPlugin, IPreScorePlugin, IScorePlugin
{
    public const string PluginName = "NodeAffinity";
    public const string ErrReason = "node(s) didn't match Pod's node affinity/selector";

    public string Name => PluginName;

    public Status Filter(CycleState state, PodInfo pod, NodeInfo node) =>
        Matches(pod, node) ? Status.SuccessStatus : Status.Unresolvable(ErrReason);

    /// <summary>Required part only (nodeSelector + required affinity); also used by PodTopologySpread.</summary>
    public static bool Matches(PodInfo pod, NodeInfo node)
    {
        var spec = pod.Pod.Spec;
        if (spec?.NodeSelector is { Count: > 0 } selector)
            foreach (var (k, v) in selector)
                if (!node.Labels.TryGetValue(k, out var actual) || actual != v) return false;
        var required = spec?.Affinity?.NodeAffinity?.RequiredDuringSchedulingIgnoredDuringExecution;
        return required is null || LabelSelectors.Matches(required, node.Node);
    }

    public Status PreScore(CycleState state, PodInfo pod, IReadOnlyList<NodeInfo> feasibleNodes, IReadOnlyList<NodeInfo> allNodes) =>
        pod.Pod.Spec?.Affinity?.NodeAffinity?.PreferredDuringSchedulingIgnoredDuringExecution is { Count: > 0 }
            ? Status.SuccessStatus : Status.SkipStatus;

    public long Score(CycleState state, PodInfo pod, NodeInfo node)
    {
        long total = 0;
        foreach (var term in pod.Pod.Spec?.Affinity?.NodeAffinity?.PreferredDuringSchedulingIgnoredDuringExecution ?? [])
            if (term.Weight != 0 && term.Preference is not null && LabelSelectors.Matches(term.Preference, node.Node))
                total += term.Weight;
        return total;
    }

    public void NormalizeScore(CycleState state, PodInfo pod, long[] scores) => Scoring.DefaultNormalize(scores, reverse: false);
}
