using AkkaKube.Actors.Scheduler.Framework;
using AkkaKube.Actors.Scheduler.Plugins.NodeAffinity;

namespace AkkaKube.Tests.Scheduler.Plugins.NodeAffinity;

public class NodeAffinityPluginTests
{
    public static TheoryData<string, PodBuilder, NodeBuilder, StatusCode> Cases => new()
    {
        { "a pod without selector or affinity fits any node", Make.Pod(), Make.Node().Name("n"), StatusCode.Success },
        { "a nodeSelector matching the node's label fits", Make.Pod().NodeSelector("disk", "ssd"), Make.Node().Name("n").Label("disk", "ssd"), StatusCode.Success },
        { "a nodeSelector with another value does not fit", Make.Pod().NodeSelector("disk", "ssd"), Make.Node().Name("n").Label("disk", "hdd"), StatusCode.UnschedulableAndUnresolvable },
        { "a nodeSelector on a missing label does not fit", Make.Pod().NodeSelector("disk", "ssd"), Make.Node().Name("n"), StatusCode.UnschedulableAndUnresolvable },
        { "required affinity In a listed zone fits", Make.Pod().RequiredNodeAffinity("topology.kubernetes.io/zone", "In", "zone-a", "zone-b"), Make.Node().Name("n").Zone("zone-b"), StatusCode.Success },
        { "required affinity In other zones does not fit", Make.Pod().RequiredNodeAffinity("topology.kubernetes.io/zone", "In", "zone-a"), Make.Node().Name("n").Zone("zone-c"), StatusCode.UnschedulableAndUnresolvable },
        { "required affinity NotIn excludes the node's zone", Make.Pod().RequiredNodeAffinity("topology.kubernetes.io/zone", "NotIn", "zone-c"), Make.Node().Name("n").Zone("zone-c"), StatusCode.UnschedulableAndUnresolvable },
        { "required affinity Exists needs the label", Make.Pod().RequiredNodeAffinity("gpu", "Exists"), Make.Node().Name("n").Label("gpu", "1"), StatusCode.Success },
        { "required affinity DoesNotExist refuses labelled nodes", Make.Pod().RequiredNodeAffinity("gpu", "DoesNotExist"), Make.Node().Name("n").Label("gpu", "1"), StatusCode.UnschedulableAndUnresolvable },
        { "required affinity Gt compares numbers", Make.Pod().RequiredNodeAffinity("cores", "Gt", "8"), Make.Node().Name("n").Label("cores", "16"), StatusCode.Success },
        { "two required terms are ORed", Make.Pod().RequiredNodeAffinity("a", "Exists").RequiredNodeAffinity("b", "Exists"), Make.Node().Name("n").Label("b", "x"), StatusCode.Success },
        { "nodeSelector and required affinity must both match", Make.Pod().NodeSelector("disk", "ssd").RequiredNodeAffinity("gpu", "Exists"), Make.Node().Name("n").Label("gpu", "1"), StatusCode.UnschedulableAndUnresolvable },
    };

    [Theory, MemberData(nameof(Cases))]
    public void Filter(string name, PodBuilder pod, NodeBuilder node, StatusCode expected)
    {
        var status = PluginHarness.Filter(new NodeAffinityPlugin(), pod.Info(), node.Info());
        Assert.True(expected == status.Code, name);
        if (!status.IsSuccess) Assert.Equal([NodeAffinityPlugin.ErrReason], status.Reasons);
    }

    [Fact]
    public void Preferred_terms_score_the_matching_node_highest()
    {
        var pod = Make.Pod().PreferredNodeAffinity(10, "topology.kubernetes.io/zone", "zone-a").PreferredNodeAffinity(5, "disk", "ssd").Info();
        var scores = PluginHarness.Score(new NodeAffinityPlugin(), pod,
            Make.Node().Name("both").Zone("zone-a").Label("disk", "ssd").Info(),
            Make.Node().Name("zone").Zone("zone-a").Info(),
            Make.Node().Name("none").Zone("zone-b").Info());
        Assert.Equal(100, scores["both"]);
        Assert.Equal(66, scores["zone"]);
        Assert.Equal(0, scores["none"]);
    }
}
