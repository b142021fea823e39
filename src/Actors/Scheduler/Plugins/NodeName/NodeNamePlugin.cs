using AkkaKube.Actors.Scheduler.Framework;

namespace AkkaKube.Actors.Scheduler.Plugins.NodeName;

/// <summary>A pod that names a node in spec.nodeName fits only that node.</summary>
public sealed class NodeNamePlugin : IFilterPlugin
{
    public const string PluginName = "NodeName";
    public const string ErrReason = "node(s) didn't match the requested node name";

    public string Name => PluginName;

    public Status Filter(CycleState state, PodInfo pod, NodeInfo node) =>
        string.IsNullOrEmpty(pod.NodeName) || pod.NodeName == node.Name ? Status.SuccessStatus : Status.Unresolvable(ErrReason);
}
