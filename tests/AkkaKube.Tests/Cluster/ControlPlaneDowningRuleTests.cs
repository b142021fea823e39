using AkkaKube.Actors.Cluster;

namespace AkkaKube.Tests.ClusterSpecs;

/// <summary>
/// The downing rule over who observes whom as unreachable (docs/failover.md, "Partitions"), on the 3 + 2 topology of the
/// netns tests: the cases where Akka's SBR took DownIndirectlyConnected and downed the control plane.
/// </summary>
public sealed class ControlPlaneDowningRuleTests
{
    private static readonly DowningMember[] Members =
        [new("cp-1", true), new("cp-2", true), new("cp-3", true), new("w-a", false), new("w-b", false)];

    private static Dictionary<string, IReadOnlySet<string>> Sees(params (string Observer, string[] Unreachable)[] views) =>
        views.ToDictionary(v => v.Observer, v => (IReadOnlySet<string>)v.Unreachable.ToHashSet());

    private static DowningDecision As(string self, Dictionary<string, IReadOnlySet<string>> views) => ControlPlaneDowningRule.Decide(self, Members, views);

    [Fact]
    public void A_partial_partition_of_one_control_plane_that_the_workers_bridge_downs_only_that_control_plane()
    {
        // cp-2 / cp-1,cp-3; the workers reach everyone.
        var views = Sees(("cp-1", ["cp-2"]), ("cp-3", ["cp-2"]), ("cp-2", ["cp-1", "cp-3"]), ("w-a", []), ("w-b", []));
        var decider = As("cp-1", views);
        Assert.Equal(["cp-1", "cp-3"], decider.Keep);
        Assert.Equal(["cp-2"], decider.ToDown);
        Assert.Empty(As("cp-3", views).ToDown); // one decider
        // The cut-off one sees only its own view and the workers': it downs itself and nobody else.
        var cut = As("cp-2", Sees(("cp-2", ["cp-1", "cp-3"]), ("w-a", []), ("w-b", [])));
        Assert.Equal(["cp-2"], cut.ToDown);
        Assert.Empty(As("w-a", views).ToDown);
    }

    [Fact]
    public void A_lossy_worker_is_downed_and_never_a_control_plane_whatever_it_reports()
    {
        // w-a drops half its packets: it finds cp-1 and w-b unreachable, cp-1 and w-b find it unreachable.
        var views = Sees(("cp-1", ["w-a"]), ("cp-2", []), ("cp-3", []), ("w-a", ["cp-1", "w-b"]), ("w-b", ["w-a"]));
        var d = As("cp-1", views);
        Assert.Equal(["cp-1", "cp-2", "cp-3"], d.Keep);
        Assert.Equal(["w-a"], d.ToDown);
        // Even when only the worker reports a control plane unreachable, the worker is the one to go.
        Assert.Equal(["w-a"], As("cp-1", Sees(("w-a", ["cp-1", "cp-2"]))).ToDown);
    }

    [Fact]
    public void A_clean_isolation_of_the_oldest_control_plane_keeps_the_other_two()
    {
        var majority = Sees(("cp-2", ["cp-1"]), ("cp-3", ["cp-1"]), ("w-a", ["cp-1"]), ("w-b", ["cp-1"]));
        var d = As("cp-2", majority);
        Assert.Equal(["cp-2", "cp-3"], d.Keep);
        Assert.Equal(["cp-1"], d.ToDown);
        Assert.Equal(["cp-1"], As("cp-1", Sees(("cp-1", ["cp-2", "cp-3", "w-a", "w-b"]))).ToDown);
    }

    [Fact]
    public void A_worker_on_the_minority_side_is_downed_by_the_majority_but_not_by_the_minority()
    {
        // cp-1,w-a / cp-2,cp-3,w-b
        var d = As("cp-2", Sees(("cp-2", ["cp-1", "w-a"]), ("cp-3", ["cp-1", "w-a"]), ("w-b", ["cp-1", "w-a"])));
        Assert.Equal(["cp-1", "w-a"], d.ToDown);
        Assert.Equal(["cp-1"], As("cp-1", Sees(("cp-1", ["cp-2", "cp-3", "w-b"]), ("w-a", ["cp-2", "cp-3", "w-b"]))).ToDown);
    }

    [Fact]
    public void Two_control_planes_that_lost_each_other_but_not_the_third_keep_the_pair_with_the_lowest_addresses()
    {
        // cp-2 / cp-3 only: cp-1 reaches both. {cp-1, cp-2} and {cp-1, cp-3} are both majorities; every node picks the first.
        var all = Sees(("cp-2", ["cp-3"]), ("cp-3", ["cp-2"]));
        Assert.Equal(["cp-1", "cp-2"], As("cp-1", all).Keep);
        Assert.Equal(["cp-3"], As("cp-1", all).ToDown);
        Assert.Equal(["cp-3"], As("cp-3", Sees(("cp-3", ["cp-2"]))).ToDown);
        Assert.Empty(As("cp-2", Sees(("cp-2", ["cp-3"]))).ToDown);
    }

    [Fact]
    public void Without_a_majority_every_control_plane_downs_itself_and_a_broken_worker_link_downs_one_worker()
    {
        Assert.Equal(["cp-1"], As("cp-1", Sees(("cp-1", ["cp-2", "cp-3"]), ("cp-2", ["cp-3"]))).ToDown);
        // Between two workers that both reach the control plane: one goes (the one with more broken links, else the subject).
        Assert.Equal(["w-b"], As("cp-1", Sees(("w-a", ["w-b"]))).ToDown);
        Assert.Single(As("cp-1", Sees(("w-a", ["w-b"]), ("w-b", ["w-a"]))).ToDown);
    }

    [Fact]
    public void Four_control_planes_split_in_half_keep_the_half_with_the_lowest_address()
    {
        var cps = new[] { "cp-1", "cp-2", "cp-3", "cp-4" };
        bool Linked(string a, string b) => (a is "cp-1" or "cp-2") == (b is "cp-1" or "cp-2");
        Assert.Equal(["cp-1", "cp-2"], ControlPlaneDowningRule.LargestMajorityClique(cps, Linked));
        Assert.Empty(ControlPlaneDowningRule.LargestMajorityClique(cps, (_, _) => false));
    }
}
