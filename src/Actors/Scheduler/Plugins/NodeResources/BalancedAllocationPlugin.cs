using AkkaKube.Actors.Scheduler.Framework;

namespace AkkaKube.Actors.Scheduler.Plugins.NodeResources;

/// <summary>
/// Score: prefers nodes whose cpu and memory utilisation stay balanced after placing the pod:
/// (1 − standard deviation of the two fractions) × 100, as kube-scheduler's NodeResourcesBalancedAllocation.
/// </summary>
public sealed class BalancedAllocationPlugin : IScorePlugin
{
    public const string PluginName = "NodeResourcesBalancedAllocation";

    public string Name => PluginName;

    public long Score(CycleState state, PodInfo pod, NodeInfo node)
    {
        var cpu = Fraction(node.NonZeroRequested.MilliCpu + pod.NonZeroRequests.MilliCpu, node.Allocatable.MilliCpu);
        var mem = Fraction(node.NonZeroRequested.Memory + pod.NonZeroRequests.Memory, node.Allocatable.Memory);
        // Two resources: the standard deviation is half the distance.
        var std = Math.Abs(cpu - mem) / 2;
        return (long)((1 - std) * Scoring.MaxNodeScore);
    }

    private static double Fraction(long requested, long capacity) =>
        capacity <= 0 ? 1 : Math.Min(1.0, (double)requested / capacity);
}
