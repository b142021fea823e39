using AkkaKube.Actors.Scheduler.Framework;
using AkkaKube.Actors.Scheduler.Plugins.TaintToleration;

namespace AkkaKube.Tests.Scheduler.Plugins.TaintToleration;

public class TaintTolerationPluginTests
{
    public static TheoryData<string, PodBuilder, NodeBuilder, string?> Cases => new()
    {
        { "an untainted node takes a pod without tolerations", Make.Pod(), Make.Node().Name("n"), null },
        { "a pod without tolerations can't land on a NoSchedule-tainted node", Make.Pod(), Make.Node().Name("n").Taint("dedicated", "gpu", "NoSchedule"),
            "node(s) had untolerated taint {dedicated: gpu}" },
        { "an unreachable node is refused with an empty taint value", Make.Pod(), Make.Node().Name("n").Taint("node.kubernetes.io/unreachable", null, "NoExecute"),
            "node(s) had untolerated taint {node.kubernetes.io/unreachable: }" },
        { "a matching Equal toleration lets the pod in", Make.Pod().Toleration("dedicated", "gpu", "NoSchedule"), Make.Node().Name("n").Taint("dedicated", "gpu", "NoSchedule"), null },
        { "an Equal toleration with another value does not", Make.Pod().Toleration("dedicated", "cpu", "NoSchedule"), Make.Node().Name("n").Taint("dedicated", "gpu", "NoSchedule"),
            "node(s) had untolerated taint {dedicated: gpu}" },
        { "an Exists toleration without effect tolerates every effect of the key", Make.Pod().Toleration("dedicated", op: "Exists"), Make.Node().Name("n").Taint("dedicated", "x", "NoExecute"), null },
        { "an empty-key Exists toleration tolerates everything", Make.Pod().Toleration("", op: "Exists"), Make.Node().Name("n").Taint("a", "b", "NoSchedule"), null },
        { "a toleration for another effect does not help", Make.Pod().Toleration("dedicated", "gpu", "NoExecute"), Make.Node().Name("n").Taint("dedicated", "gpu", "NoSchedule"),
            "node(s) had untolerated taint {dedicated: gpu}" },
        { "PreferNoSchedule taints never filter", Make.Pod(), Make.Node().Name("n").Taint("soft", "x", "PreferNoSchedule"), null },
    };

    [Theory, MemberData(nameof(Cases))]
    public void Filter(string name, PodBuilder pod, NodeBuilder node, string? reason)
    {
        var status = PluginHarness.Filter(new TaintTolerationPlugin(), pod.Info(), node.Info());
        if (reason is null) Assert.True(status.IsSuccess, name);
        else
        {
            Assert.True(status.Code == StatusCode.UnschedulableAndUnresolvable, name);
            Assert.Equal([reason], status.Reasons);
        }
    }

    [Fact]
    public void A_node_with_fewer_untolerated_PreferNoSchedule_taints_scores_higher()
    {
        var scores = PluginHarness.Score(new TaintTolerationPlugin(), Make.Pod().Info(),
            Make.Node().Name("clean").Info(),
            Make.Node().Name("one").Taint("a", "1", "PreferNoSchedule").Info(),
            Make.Node().Name("two").Taint("a", "1", "PreferNoSchedule").Taint("b", "2", "PreferNoSchedule").Info());
        Assert.Equal(100, scores["clean"]);
        Assert.Equal(50, scores["one"]);
        Assert.Equal(0, scores["two"]);
    }
}
