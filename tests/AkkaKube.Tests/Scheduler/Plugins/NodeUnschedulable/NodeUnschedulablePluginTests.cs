using AkkaKube.Actors.Scheduler.Framework;
using AkkaKube.Actors.Scheduler.Plugins.NodeUnschedulable;

namespace AkkaKube.Tests.Scheduler.Plugins.NodeUnschedulable;

public class NodeUnschedulablePluginTests
{
    public static TheoryData<string, PodBuilder, NodeBuilder, StatusCode> Cases => new()
    {
        { "a schedulable node takes any pod", Make.Pod(), Make.Node().Name("n"), StatusCode.Success },
        { "a cordoned node refuses a pod without toleration", Make.Pod(), Make.Node().Name("n").Unschedulable(), StatusCode.UnschedulableAndUnresolvable },
        { "a cordoned node takes a pod tolerating node.kubernetes.io/unschedulable",
            Make.Pod().Toleration("node.kubernetes.io/unschedulable", effect: "NoSchedule", op: "Exists"), Make.Node().Name("n").Unschedulable(), StatusCode.Success },
    };

    [Theory, MemberData(nameof(Cases))]
    public void Filter(string name, PodBuilder pod, NodeBuilder node, StatusCode expected)
    {
        var status = PluginHarness.Filter(new NodeUnschedulablePlugin(), pod.Info(), node.Info());
        Assert.True(expected == status.Code, name);
        if (!status.IsSuccess) Assert.Equal([NodeUnschedulablePlugin.ErrReason], status.Reasons);
    }
}
