using AkkaKube.Actors.Scheduler.Framework;
using AkkaKube.Actors.Scheduler.Plugins.InterPodAffinity;

namespace AkkaKube.Tests.Scheduler.Plugins.InterPodAffinity;

public class InterPodAffinityPluginTests
{
    private const string Zone = "topology.kubernetes.io/zone";
    private const string Host = "kubernetes.io/hostname";

    /// <summary>(case, incoming pod, pods on the candidate node n1 (zone-a), pods on n2 (zone-a), expected reason or null)</summary>
    public static TheoryData<string, PodBuilder, PodBuilder[], PodBuilder[], string?> Cases => new()
    {
        { "a pod without (anti-)affinity fits next to anything", Make.Pod().Name("new"), [Make.Pod().Name("x").Label("app", "web")], [], null },
        { "anti-affinity per hostname refuses a node running a matching pod",
            Make.Pod().Name("new").Label("app", "web").AntiAffinity(Host, "app", "web"), [Make.Pod().Name("x").Label("app", "web")], [],
            InterPodAffinityPlugin.ErrReasonAntiAffinityRulesNotMatch },
        { "anti-affinity per hostname ignores matching pods on other nodes",
            Make.Pod().Name("new").Label("app", "web").AntiAffinity(Host, "app", "web"), [], [Make.Pod().Name("x").Label("app", "web")], null },
        { "anti-affinity per zone refuses a node whose zone runs a matching pod elsewhere",
            Make.Pod().Name("new").AntiAffinity(Zone, "app", "web"), [], [Make.Pod().Name("x").Label("app", "web")],
            InterPodAffinityPlugin.ErrReasonAntiAffinityRulesNotMatch },
        { "an existing pod's anti-affinity keeps a matching newcomer away",
            Make.Pod().Name("new").Label("app", "web"), [Make.Pod().Name("x").AntiAffinity(Host, "app", "web")], [],
            InterPodAffinityPlugin.ErrReasonExistingAntiAffinityRulesNotMatch },
        { "affinity is satisfied by a matching pod in the zone",
            Make.Pod().Name("new").PodAffinity(Zone, "app", "cache"), [], [Make.Pod().Name("x").Label("app", "cache")], null },
        { "affinity fails when matching pods exist only in other domains",
            Make.Pod().Name("new").PodAffinity(Host, "app", "cache"), [], [Make.Pod().Name("x").Label("app", "cache")],
            InterPodAffinityPlugin.ErrReasonAffinityRulesNotMatch },
        { "the first pod of a group matching its own affinity may go anywhere",
            Make.Pod().Name("new").Label("app", "cache").PodAffinity(Host, "app", "cache"), [], [], null },
        { "anti-affinity only looks at pods in the same namespace",
            Make.Pod().Name("new").AntiAffinity(Host, "app", "web"), [Make.Pod().Name("x").Namespace("other").Label("app", "web")], [], null },
    };

    [Theory, MemberData(nameof(Cases))]
    public void Filter(string name, PodBuilder pod, PodBuilder[] onN1, PodBuilder[] onN2, string? reason)
    {
        var n1 = Make.Node().Name("n1").Zone("zone-a").Info(onN1);
        var n2 = Make.Node().Name("n2").Zone("zone-a").Info(onN2);
        var n3 = Make.Node().Name("n3").Zone("zone-b").Info();
        var status = PluginHarness.Filter(new InterPodAffinityPlugin(), pod.Info(), n1, n2, n3);
        if (reason is null) Assert.True(status.IsSuccess, $"{name}: {status}");
        else Assert.Equal([reason], status.Reasons);
    }
}
