using AkkaKube.Actors.Scheduler.Framework;
using AkkaKube.Actors.Scheduler.Plugins.NodeName;

namespace AkkaKube.Tests.Scheduler.Plugins.NodeName;

public class NodeNamePluginTests
{
    public static TheoryData<string, PodBuilder, NodeBuilder, StatusCode> Cases => new()
    {
        { "a pod without spec.nodeName fits any node", Make.Pod(), Make.Node().Name("n1"), StatusCode.Success },
        { "a pod naming this node fits it", Make.Pod().Node("n1"), Make.Node().Name("n1"), StatusCode.Success },
        { "a pod naming another node does not fit", Make.Pod().Node("n2"), Make.Node().Name("n1"), StatusCode.UnschedulableAndUnresolvable },
    };

    [Theory, MemberData(nameof(Cases))]
    public void Filter(string name, PodBuilder pod, NodeBuilder node, StatusCode expected)
    {
        var status = PluginHarness.Filter(new NodeNamePlugin(), pod.Info(), node.Info());
        Assert.True(expected == status.Code, name);
        if (!status.IsSuccess) Assert.Equal([NodeNamePlugin.ErrReason], status.Reasons);
    }
}
