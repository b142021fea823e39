using AkkaKube.Actors.Scheduler.Framework;
using AkkaKube.Actors.Scheduler.Plugins.NodeResources;

namespace AkkaKube.Tests.Scheduler.Plugins.NodeResources;

public class NodeResourcesFitPluginTests
{
    public static TheoryData<string, PodBuilder, NodeBuilder, PodBuilder[], string[]> FilterCases => new()
    {
        { "a small pod fits an empty node", Make.Pod().Req(cpu: "500m", memory: "1Gi"), Make.Node().Name("n").Capacity(cpu: "1", memory: "2Gi"), [], [] },
        { "a pod asking more cpu than the node has is Insufficient cpu", Make.Pod().Req(cpu: "1500m"), Make.Node().Name("n").Capacity(cpu: "1"), [], [NodeResourcesFitPlugin.InsufficientCpu] },
        { "pods already on the node count against its cpu", Make.Pod().Name("new").Req(cpu: "600m"), Make.Node().Name("n").Capacity(cpu: "1"),
            [Make.Pod().Name("old").Req(cpu: "500m")], [NodeResourcesFitPlugin.InsufficientCpu] },
        { "exactly filling the node still fits", Make.Pod().Name("new").Req(cpu: "500m"), Make.Node().Name("n").Capacity(cpu: "1"),
            [Make.Pod().Name("old").Req(cpu: "500m")], [] },
        { "too little memory and cpu report both reasons", Make.Pod().Req(cpu: "2", memory: "3Gi"), Make.Node().Name("n").Capacity(cpu: "1", memory: "2Gi"), [],
            [NodeResourcesFitPlugin.InsufficientCpu, NodeResourcesFitPlugin.InsufficientMemory] },
        { "a full node by pod count is Too many pods", Make.Pod().Name("new"), Make.Node().Name("n").Capacity(pods: "1"), [Make.Pod().Name("old")], [NodeResourcesFitPlugin.TooManyPods] },
        { "a pod without requests fits a node with no cpu left", Make.Pod().Name("new"), Make.Node().Name("n").Capacity(cpu: "1"), [Make.Pod().Name("old").Req(cpu: "1")], [] },
    };

    [Theory, MemberData(nameof(FilterCases))]
    public void Filter(string name, PodBuilder pod, NodeBuilder node, PodBuilder[] existing, string[] reasons)
    {
        var status = PluginHarness.Filter(new NodeResourcesFitPlugin(), pod.Info(), node.Info(existing));
        Assert.True(reasons.Length == 0 ? status.IsSuccess : status.Code == StatusCode.Unschedulable, name);
        Assert.Equal(reasons.Order(), status.Reasons.Order());
    }

    [Fact]
    public void Least_allocated_scoring_prefers_the_emptier_node()
    {
        var pod = Make.Pod().Name("new").Req(cpu: "1", memory: "1Gi").Info();
        var busy = Make.Node().Name("busy").Capacity(cpu: "4", memory: "8Gi").Info(Make.Pod().Name("x").Req(cpu: "3", memory: "6Gi"));
        var idle = Make.Node().Name("idle").Capacity(cpu: "4", memory: "8Gi").Info();
        var scores = PluginHarness.Score(new NodeResourcesFitPlugin(), pod, busy, idle);
        Assert.True(scores["idle"] > scores["busy"]);
        Assert.Equal(81, scores["idle"]); // cpu (4-1)/4 = 75, memory (8-1)/8 = 87 → (75 + 87) / 2
    }

    [Fact]
    public void Balanced_allocation_prefers_the_node_whose_cpu_and_memory_stay_even()
    {
        var pod = Make.Pod().Name("new").Req(cpu: "1", memory: "1Gi").Info();
        var skewed = Make.Node().Name("skewed").Capacity(cpu: "4", memory: "8Gi").Info(Make.Pod().Name("x").Req(cpu: "3", memory: "1Gi"));
        var even = Make.Node().Name("even").Capacity(cpu: "4", memory: "8Gi").Info(Make.Pod().Name("y").Req(cpu: "1", memory: "2Gi"));
        var scores = PluginHarness.Score(new BalancedAllocationPlugin(), pod, skewed, even);
        Assert.True(scores["even"] > scores["skewed"]);
    }
}
