using AkkaKube.Actors.Scheduler.Framework;

namespace AkkaKube.Actors.Scheduler.Plugins.NodeResources;

/// <summary>
/// Filter: the node's allocatable cpu, memory and pod count must cover what its pods (bound + assumed) request
/// plus this pod. Score: LeastAllocated (the emptier the node, the higher), kube-scheduler's default strategy.
/// </summary>
public sealed class NodeResourcesFitPlugin : IFilterPlugin, IScorePlugin
{
    public const string PluginName = "NodeResourcesFit";
    public const string InsufficientCpu = "Insufficient cpu";
    public const string InsufficientMemory = "Insufficient memory";
    public const string TooManyPods = "Too many pods";

    public string Name => PluginName;

    public Status Filter(CycleState state, PodInfo pod, NodeInfo node)
    {
        var req = pod.Requests;
        var tooManyPods = node.Requested.Pods + 1 > node.Allocatable.Pods;
        var cpu = req.MilliCpu > 0 && node.Requested.MilliCpu + req.MilliCpu > node.Allocatable.MilliCpu;
        var memory = req.Memory > 0 && node.Requested.Memory + req.Memory > node.Allocatable.Memory;
        if (!tooManyPods && !cpu && !memory) return Status.SuccessStatus; // the common case allocates nothing
        var reasons = new List<string>(3);
        if (tooManyPods) reasons.Add(TooManyPods);
        if (cpu) reasons.Add(InsufficientCpu);
        if (memory) reasons.Add(InsufficientMemory);
        return new Status(StatusCode.Unschedulable, reasons);
    }

    /// <summary>LeastAllocated: mean over cpu and memory of (allocatable − requested) × 100 / allocatable.</summary>
    public long Score(CycleState state, PodInfo pod, NodeInfo node)
    {
        var cpu = LeastAllocated(node.NonZeroRequested.MilliCpu + pod.NonZeroRequests.MilliCpu, node.Allocatable.MilliCpu);
        var mem = LeastAllocated(node.NonZeroRequested.Memory + pod.NonZeroRequests.Memory, node.Allocatable.Memory);
        return (cpu + mem) / 2;
    }

    private static long LeastAllocated(long requested, long capacity)
    {
        if (capacity <= 0 || requested > capacity) return 0;
        return (capacity - requested) * Scoring.MaxNodeScore / capacity;
    }
}
