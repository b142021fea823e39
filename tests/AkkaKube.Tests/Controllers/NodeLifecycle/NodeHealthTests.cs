using AkkaKube.Actors.Controllers.NodeLifecycle;
using static AkkaKube.Actors.Controllers.NodeLifecycle.NodeHealthEvaluator;

namespace AkkaKube.Tests.Controllers.NodeLifecycle;

public class NodeHealthTests
{
    private static readonly DateTime Now = new(2026, 11, 24, 12, 0, 0, DateTimeKind.Utc);
    private static readonly NodeLifecycleSettings Settings = new() { GracePeriod = TimeSpan.FromSeconds(5) };

    private static NodeView Node(string name, string zone = "zone-a", string? ready = "True", double leaseAgeSeconds = 1,
        bool unreachable = false, bool removed = false, params Taint[] taints) =>
        new(name, zone, ready, Now.AddSeconds(-leaseAgeSeconds), unreachable, removed, taints);

    public static TheoryData<string, NodeView, Health> HealthCases => new()
    {
        { "a node renewing its lease and reporting Ready is healthy", Node("n"), Health.Healthy },
        { "a lease older than the grace period makes the node Unknown", Node("n", leaseAgeSeconds: 6), Health.Unknown },
        { "an unreachable member is Unknown before its lease expires", Node("n", unreachable: true), Health.Unknown },
        { "a removed member is Unknown", Node("n", removed: true), Health.Unknown },
        { "a kubelet reporting Ready=False is NotReady", Node("n", ready: "False"), Health.NotReady },
        { "a node that never renewed a lease is Unknown", Node("n") with { LeaseRenewed = null }, Health.Unknown },
    };

    [Theory]
    [MemberData(nameof(HealthCases))]
    public void Node_health(string because, NodeView node, Health expected)
    {
        Assert.True(expected == HealthOf(node, Now, Settings.GracePeriod), because);
    }

    [Fact]
    public void An_unreachable_node_is_marked_Unknown_and_tainted_unreachable_for_scheduling_and_execution()
    {
        var evaluator = new NodeHealthEvaluator(Settings);
        var (decisions, _) = evaluator.Evaluate([Node("a1", unreachable: true), Node("b1", "zone-b"), Node("c1", "zone-c")], Now);
        var d = Assert.Single(decisions);
        Assert.Equal("a1", d.Node);
        Assert.True(d.MarkUnknown);
        Assert.Contains(d.Add, t => t.Key == UnreachableTaint && t.Effect == NoExecute && t.TimeAdded == Now);
        Assert.Contains(d.Add, t => t.Key == UnreachableTaint && t.Effect == NoSchedule);
    }

    [Fact]
    public void A_node_that_comes_back_loses_its_taints()
    {
        var evaluator = new NodeHealthEvaluator(Settings);
        var back = Node("a1", ready: "True", taints: [new Taint(UnreachableTaint, NoExecute, Now), new Taint(UnreachableTaint, NoSchedule), new Taint("team", "NoSchedule")]);
        var d = Assert.Single(evaluator.Evaluate([back], Now).Decisions);
        Assert.False(d.MarkUnknown);
        Assert.Empty(d.Add);
        Assert.Equal(2, d.Remove.Count);
        Assert.DoesNotContain(d.Remove, t => t.Key == "team");
    }

    [Fact]
    public void A_kubelet_reporting_NotReady_gets_the_not_ready_taints_and_is_not_marked_Unknown()
    {
        var d = Assert.Single(new NodeHealthEvaluator(Settings).Evaluate([Node("a1", ready: "False"), Node("a2")], Now).Decisions);
        Assert.False(d.MarkUnknown);
        Assert.All(d.Add, t => Assert.Equal(NotReadyTaint, t.Key));
    }

    [Fact]
    public void A_wholly_lost_zone_is_evacuated_while_other_zones_are_healthy()
    {
        var nodes = new[] { Node("a1", unreachable: true), Node("a2", unreachable: true), Node("b1", "zone-b"), Node("c1", "zone-c") };
        var (decisions, zones) = new NodeHealthEvaluator(Settings).Evaluate(nodes, Now);
        Assert.Equal(ZoneState.FullDisruption, zones["zone-a"]);
        Assert.Equal(2, decisions.Count(d => d.Add.Any(t => t.Effect == NoExecute)));
    }

    [Fact]
    public void When_every_zone_is_down_no_node_is_tainted_for_eviction()
    {
        var nodes = new[] { Node("a1", unreachable: true), Node("b1", "zone-b", unreachable: true) };
        var (decisions, _) = new NodeHealthEvaluator(Settings).Evaluate(nodes, Now);
        Assert.All(decisions, d => Assert.DoesNotContain(d.Add, t => t.Effect == NoExecute));
        Assert.All(decisions, d => Assert.True(d.MarkUnknown));
    }

    [Fact]
    public void A_small_zone_that_is_mostly_down_stops_evictions_there()
    {
        var nodes = Enumerable.Range(1, 5).Select(i => Node($"a{i}", unreachable: i <= 4)).Append(Node("b1", "zone-b")).ToArray();
        var (decisions, zones) = new NodeHealthEvaluator(Settings).Evaluate(nodes, Now);
        Assert.Equal(ZoneState.PartialDisruption, zones["zone-a"]);
        Assert.All(decisions, d => Assert.DoesNotContain(d.Add, t => t.Effect == NoExecute));
    }

    [Fact]
    public void Evictions_in_a_healthy_zone_are_rate_limited_by_the_token_bucket()
    {
        var settings = Settings with { EvictionRate = 1, EvictionBurst = 1 };
        var evaluator = new NodeHealthEvaluator(settings);
        // 2 of 10 nodes down: the zone stays Normal, one NoExecute taint per second.
        var nodes = Enumerable.Range(1, 10).Select(i => Node($"a{i}", unreachable: i <= 2)).ToArray();
        var first = evaluator.Evaluate(nodes, Now).Decisions;
        Assert.Single(first, d => d.Add.Any(t => t.Effect == NoExecute));
        var tainted = first.Single(d => d.Add.Any(t => t.Effect == NoExecute)).Node;
        var afterOne = nodes.Select(n => n.Name == tainted ? n with { Taints = [new Taint(UnreachableTaint, NoExecute, Now), new Taint(UnreachableTaint, NoSchedule)], ReadyStatus = "Unknown" } : n).ToArray();
        Assert.DoesNotContain(evaluator.Evaluate(afterOne, Now.AddMilliseconds(200)).Decisions, d => d.Add.Any(t => t.Effect == NoExecute));
        Assert.Single(evaluator.Evaluate(afterOne, Now.AddSeconds(1.2)).Decisions, d => d.Add.Any(t => t.Effect == NoExecute));
    }
}

public class TaintEvictionTests
{
    private static readonly DateTime Added = new(2026, 11, 24, 12, 0, 0, DateTimeKind.Utc);
    private static readonly Taint Unreachable = new(NodeHealthEvaluator.UnreachableTaint, NodeHealthEvaluator.NoExecute, Added);

    public static TheoryData<string, Toleration[], DateTime?> Cases => new()
    {
        { "a pod without tolerations is evicted at once", [], Added.AddSeconds(3) },
        { "a pod tolerating for 5 s is evicted 5 s after the taint", [new(NodeHealthEvaluator.UnreachableTaint, "Exists", null, "NoExecute", 5)], Added.AddSeconds(5) },
        { "a pod tolerating forever is never evicted", [new(NodeHealthEvaluator.UnreachableTaint, "Exists", null, "NoExecute", null)], null },
        { "an empty key with Exists tolerates every taint", [new(null, "Exists", null, null, null)], null },
        { "a toleration for another effect does not count", [new(NodeHealthEvaluator.UnreachableTaint, "Exists", null, "NoSchedule", null)], Added.AddSeconds(3) },
        { "the smallest tolerationSeconds wins", [new(NodeHealthEvaluator.UnreachableTaint, "Exists", null, "NoExecute", 30), new(NodeHealthEvaluator.UnreachableTaint, "Exists", null, null, 10)], Added.AddSeconds(10) },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Eviction_time(string because, Toleration[] tolerations, DateTime? expected)
    {
        var now = Added.AddSeconds(3);
        Assert.True(expected == TaintEviction.EvictionTime([Unreachable], tolerations, now), because);
    }
}
