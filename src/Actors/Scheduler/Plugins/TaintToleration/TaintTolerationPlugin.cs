using AkkaKube.Actors.Scheduler.Framework;
using k8s.Models;

namespace AkkaKube.Actors.Scheduler.Plugins.TaintToleration;

/// <summary>
/// Filter: every NoSchedule/NoExecute taint of the node must be tolerated.
/// Score: fewer untolerated PreferNoSchedule taints is better (normalized, reversed).
/// </summary>
public sealed class TaintTolerationPlugin : IFilterPlugin, IScorePlugin
{
    public const string PluginName = "TaintToleration";

    public string Name => PluginName;

    /// <summary>kube-scheduler's wording: <c>node(s) had untolerated taint {key: value}</c>.</summary>
    public static string ErrReason(V1Taint taint) => $"node(s) had untolerated taint {{{taint.Key}: {taint.Value}}}";

    public Status Filter(CycleState state, PodInfo pod, NodeInfo node)
    {
        var taints = node.Node.Spec?.Taints;
        if (taints is null || taints.Count == 0) return Status.SuccessStatus;
        var tolerations = pod.Pod.Spec?.Tolerations;
        foreach (var taint in taints)
        {
            if (taint.Effect is not ("NoSchedule" or "NoExecute")) continue;
            if (tolerations is null || !tolerations.Any(t => Tolerates(t, taint)))
                return Status.Unresolvable(ErrReason(taint));
        }
        return Status.SuccessStatus;
    }

    public long Score(CycleState state, PodInfo pod, NodeInfo node)
    {
        var taints = node.Node.Spec?.Taints;
        if (taints is null || taints.Count == 0) return 0;
        long count = 0;
        var tolerations = pod.Pod.Spec?.Tolerations;
        foreach (var taint in taints)
            if (taint.Effect == "PreferNoSchedule" && (tolerations is null || !tolerations.Any(t => Tolerates(t, taint))))
                count++;
        return count;
    }

    public void NormalizeScore(CycleState state, PodInfo pod, long[] scores) => Scoring.DefaultNormalize(scores, reverse: true);

    /// <summary>core/v1 Toleration.ToleratesTaint: effect (empty = all), key (empty + Exists = all), operator Equal/Exists.</summary>
    public static bool Tolerates(V1Toleration t, V1Taint taint)
    {
        if (!string.IsNullOrEmpty(t.Effect) && t.Effect != taint.Effect) return false;
        if (!string.IsNullOrEmpty(t.Key) && t.Key != taint.Key) return false;
        return t.OperatorProperty switch
        {
            "Exists" => true,
            null or "" or "Equal" => !string.IsNullOrEmpty(t.Key) && (t.Value ?? "") == (taint.Value ?? ""),
            _ => false,
        };
    }
}
