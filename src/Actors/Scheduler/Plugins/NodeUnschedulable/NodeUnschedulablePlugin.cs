using AkkaKube.Actors.Scheduler.Framework;

namespace AkkaKube.Actors.Scheduler.Plugins.NodeUnschedulable;

/// <summary>A cordoned node (spec.unschedulable) takes only pods tolerating node.kubernetes.io/unschedulable:NoSchedule.</summary>
public sealed class NodeUnschedulablePlugin : IFilterPlugin
{
    public const string PluginName = "NodeUnschedulable";
    public const string ErrReason = "node(s) were unschedulable";
    public const string TaintKey = "node.kubernetes.io/unschedulable";

    public string Name => PluginName;

    public Status Filter(CycleState state, PodInfo pod, NodeInfo node)
    {
        if (node.Node.Spec?.Unschedulable != true) return Status.SuccessStatus;
        var tolerated = pod.Pod.Spec?.Tolerations?.Any(t =>
            TaintToleration.TaintTolerationPlugin.Tolerates(t, new k8s.Models.V1Taint { Key = TaintKey, Effect = "NoSchedule" })) ?? false;
        return tolerated ? Status.SuccessStatus : Status.Unresolvable(ErrReason);
    }
}
