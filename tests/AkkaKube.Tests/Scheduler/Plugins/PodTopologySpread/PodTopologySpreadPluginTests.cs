using AkkaKube.Actors.Scheduler.Framework;
using AkkaKube.Actors.Scheduler.Plugins.PodTopologySpread;

namespace AkkaKube.Tests.Scheduler.Plugins.PodTopologySpread;

public class PodTopologySpreadPluginTests
{
    private const string Zone = "topology.kubernetes.io/zone";
    private const string Host = "kubernetes.io/hostname";

    private static PodBuilder Web(string name) => Make.Pod().Name(name).Label("app", "web");

    /// <summary>(case, pod, candidate node, pods per zone a/b/c already placed, expected reason or null)</summary>
    public static TheoryData<string, PodBuilder, string, int[], string?> ZoneCases => new()
    {
        { "with zones 1-0-0 and maxSkew 1 the empty zone b is fine", Web("new").Spread(1, Zone, "DoNotSchedule", "app", "web"), "zone-b", [1, 0, 0], null },
        { "with zones 1-0-0 and maxSkew 1 a second pod in zone a is refused", Web("new").Spread(1, Zone, "DoNotSchedule", "app", "web"), "zone-a",
            [1, 0, 0], PodTopologySpreadPlugin.ErrReasonConstraintsNotMatch },
        { "with zones 2-2-1 the third zone takes the next pod", Web("new").Spread(1, Zone, "DoNotSchedule", "app", "web"), "zone-c", [2, 2, 1], null },
        { "with zones 2-2-1 zone a must wait", Web("new").Spread(1, Zone, "DoNotSchedule", "app", "web"), "zone-a", [2, 2, 1], PodTopologySpreadPlugin.ErrReasonConstraintsNotMatch },
        { "maxSkew 2 allows zone a at 1-0-0", Web("new").Spread(2, Zone, "DoNotSchedule", "app", "web"), "zone-a", [1, 0, 0], null },
        { "pods with other labels do not count", Make.Pod().Name("new").Label("app", "db").Spread(1, Zone, "DoNotSchedule", "app", "db"), "zone-a", [3, 0, 0], null },
        { "ScheduleAnyway constraints never filter", Web("new").Spread(1, Zone, "ScheduleAnyway", "app", "web"), "zone-a", [5, 0, 0], null },
    };

    private static NodeInfo[] ThreeZones(int[] perZone)
    {
        var zones = new[] { "zone-a", "zone-b", "zone-c" };
        return zones.Select((z, i) => Make.Node().Name("node-" + z).Zone(z)
            .Info(Enumerable.Range(0, perZone[i]).Select(k => Web($"{z}-{k}")).ToArray())).ToArray();
    }

    [Theory, MemberData(nameof(ZoneCases))]
    public void Filter_over_zones(string name, PodBuilder pod, string zone, int[] perZone, string? reason)
    {
        var nodes = ThreeZones(perZone);
        var node = nodes.Single(n => n.Labels[Zone] == zone);
        var status = PluginHarness.Filter(new PodTopologySpreadPlugin(), pod.Info(), node, nodes.Where(n => n != node).ToArray());
        if (reason is null) Assert.True(status.IsSuccess, $"{name}: {status}");
        else Assert.Equal([reason], status.Reasons);
    }

    [Fact]
    public void A_node_without_the_topology_label_is_refused_as_missing_required_label()
    {
        var pod = Web("new").Spread(1, Zone, "DoNotSchedule", "app", "web").Info();
        var status = PluginHarness.Filter(new PodTopologySpreadPlugin(), pod, Make.Node().Name("bare").Info(), Make.Node().Name("z").Zone("zone-a").Info());
        Assert.Equal(StatusCode.UnschedulableAndUnresolvable, status.Code);
        Assert.Equal([PodTopologySpreadPlugin.ErrReasonNodeLabelNotMatch], status.Reasons);
    }

    [Fact]
    public void Hostname_spread_refuses_the_node_that_already_has_a_replica()
    {
        var pod = Web("new").Spread(1, Host, "DoNotSchedule", "app", "web").Info();
        var busy = Make.Node().Name("n1").Info(Web("old"));
        var empty = Make.Node().Name("n2").Info();
        Assert.False(PluginHarness.Filter(new PodTopologySpreadPlugin(), pod, busy, empty).IsSuccess);
        Assert.True(PluginHarness.Filter(new PodTopologySpreadPlugin(), pod, empty, busy).IsSuccess);
    }

    [Fact]
    public void ScheduleAnyway_scores_the_emptier_zone_highest()
    {
        var pod = Web("new").Spread(1, Zone, "ScheduleAnyway", "app", "web").Info();
        var nodes = ThreeZones([3, 1, 0]);
        var scores = PluginHarness.Score(new PodTopologySpreadPlugin(), pod, nodes);
        Assert.True(scores["node-zone-c"] > scores["node-zone-b"]);
        Assert.True(scores["node-zone-b"] > scores["node-zone-a"]);
    }

    [Fact]
    public void A_pod_of_a_controller_without_constraints_gets_the_default_zone_and_hostname_spread()
    {
        var owner = Guid.NewGuid().ToString();
        var soft = PodTopologySpreadPlugin.ConstraintsOf(Make.Pod().Owner(owner).Info(), hard: false);
        Assert.Equal([(Zone, 5), (Host, 3)], soft.Select(c => (c.TopologyKey, c.MaxSkew)));
        Assert.Empty(PodTopologySpreadPlugin.ConstraintsOf(Make.Pod().Owner(owner).Info(), hard: true));
        Assert.Empty(PodTopologySpreadPlugin.ConstraintsOf(Make.Pod().Info(), hard: false));

        // Pods of the same owner crowd zone-a: the default spread prefers the other zones.
        var sibling = (string n) => Make.Pod().Name(n).Owner(owner);
        var a = Make.Node().Name("a").Zone("zone-a").Info(sibling("s1"), sibling("s2"), sibling("s3"));
        var b = Make.Node().Name("b").Zone("zone-b").Info();
        var scores = PluginHarness.Score(new PodTopologySpreadPlugin(), Make.Pod().Name("new").Owner(owner).Info(), a, b);
        Assert.True(scores["b"] > scores["a"]);
    }
}
