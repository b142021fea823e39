using AkkaKube.Actors;
using AkkaKube.Actors.Scheduler;
using AkkaKube.Actors.Scheduler.Framework;
using AkkaKube.Actors.Scheduler.Plugins.PodTopologySpread;

namespace AkkaKube.Tests.Scheduler;

/// <summary>The cache's per-zone counts (<see cref="ZoneCounts"/>) against a recount over its nodes after every step.</summary>
public class ZoneCountsTests
{
    private const string Owner = "rs-1";
    private const string OtherOwner = "rs-2";

    /// <summary>What the counts must equal: a walk over every node the cache holds, as the plugin did before the counts.</summary>
    private static void AssertExact(SchedulerCache cache)
    {
        var nodesPerZone = new Dictionary<string, int>(StringComparer.Ordinal);
        var owned = new Dictionary<(string, string, string), int>();
        var anti = 0;
        foreach (var node in cache.Nodes)
        {
            anti += node.Pods.Count(p => p.Pod.Spec?.Affinity?.PodAntiAffinity?.RequiredDuringSchedulingIgnoredDuringExecution is { Count: > 0 });
            if (!node.Labels.TryGetValue(AkkaKubeNames.Labels.Zone, out var zone)) continue;
            nodesPerZone[zone] = nodesPerZone.GetValueOrDefault(zone) + 1;
            foreach (var p in node.Pods)
                if (p.ControllerUid is { } o && p.Pod.Metadata?.DeletionTimestamp is null)
                    owned[(p.Namespace, o, zone)] = owned.GetValueOrDefault((p.Namespace, o, zone)) + 1;
        }
        Assert.Equal(nodesPerZone.OrderBy(kv => kv.Key), cache.Zones.NodesPerZone.OrderBy(kv => kv.Key));
        foreach (var ns in new[] { "default", "other" })
            foreach (var o in new[] { Owner, OtherOwner })
                foreach (var zone in new[] { "a", "b", "c" })
                    Assert.Equal(owned.GetValueOrDefault((ns, o, zone)), cache.Zones.OwnedBy(ns, o, zone));
        Assert.Equal(anti, cache.Zones.PodsWithRequiredAntiAffinity);
        var hostnames = cache.Nodes.Where(n => n.Labels.ContainsKey(AkkaKubeNames.Labels.Hostname)).Select(n => n.Labels[AkkaKubeNames.Labels.Hostname]).ToList();
        Assert.Equal(hostnames.Distinct().Count() == hostnames.Count, cache.Zones.HostnamesUnique);
    }

    private static SchedulerCache ThreeZones()
    {
        var cache = new SchedulerCache();
        cache.AddOrUpdateNode(Make.Node().Name("a1").Zone("a").Obj());
        cache.AddOrUpdateNode(Make.Node().Name("a2").Zone("a").Obj());
        cache.AddOrUpdateNode(Make.Node().Name("b1").Zone("b").Obj());
        cache.AddOrUpdateNode(Make.Node().Name("c1").Zone("c").Obj());
        cache.AddOrUpdateNode(Make.Node().Name("nozone").Obj());
        return cache;
    }

    [Fact]
    public void Per_zone_owner_counts_stay_exact_across_assume_bind_confirm_forget_and_remove()
    {
        var cache = ThreeZones();
        AssertExact(cache);
        Assert.Equal(2, cache.Zones.NodesPerZone["a"]);

        var p1 = Make.Pod().Name("p1").Owner(Owner);
        var p2 = Make.Pod().Name("p2").Owner(Owner);
        var p3 = Make.Pod().Name("p3").Owner(Owner);
        Assert.True(cache.Assume(p1.Info(), "a1"));
        Assert.True(cache.Assume(p2.Info(), "a2"));
        Assert.True(cache.Assume(p3.Info(), "nozone"));
        AssertExact(cache);
        Assert.Equal(2, cache.Zones.OwnedBy("default", Owner, "a"));

        cache.FinishBinding("default/p1");
        cache.AddOrUpdateBoundPod(p1.Node("a1").Info()); // confirm: no double count
        AssertExact(cache);
        Assert.Equal(2, cache.Zones.OwnedBy("default", Owner, "a"));

        cache.Forget("default/p2"); // a failed binding
        AssertExact(cache);
        Assert.Equal(1, cache.Zones.OwnedBy("default", Owner, "a"));

        cache.AddOrUpdateBoundPod(Make.Pod().Name("p4").Owner(Owner).Node("b1").Info()); // bound by someone else
        cache.AddOrUpdateBoundPod(Make.Pod().Name("p1").Owner(Owner).Node("c1").Info()); // seen on another node: moves
        AssertExact(cache);
        Assert.Equal(0, cache.Zones.OwnedBy("default", Owner, "a"));
        Assert.Equal(1, cache.Zones.OwnedBy("default", Owner, "b"));
        Assert.Equal(1, cache.Zones.OwnedBy("default", Owner, "c"));

        var p5 = Make.Pod().Name("p5").Owner(Owner).Info();
        Assert.True(cache.Assume(p5, "b1"));
        cache.FinishBinding("default/p5");
        Assert.Same(p5, cache.AssumedPod("default/p5"));
        cache.Confirm("default/p5"); // the binding seen and nothing else changed: kept as assumed, now Bound
        Assert.Equal(SchedulerCache.PodState.Bound, cache.StateOf("default/p5"));
        Assert.Null(cache.AssumedPod("default/p5"));
        cache.Forget("default/p5"); // a late failure report must not drop a confirmed pod
        AssertExact(cache);
        Assert.Equal(2, cache.Zones.OwnedBy("default", Owner, "b"));
        cache.RemovePod("default/p5");

        cache.RemovePod("default/p1");
        cache.RemovePod("default/p4");
        cache.Forget("default/p3");
        AssertExact(cache);
        Assert.Null(cache.Zones.ZonesOf("default", Owner));
    }

    [Fact]
    public void A_pod_being_deleted_or_of_another_namespace_is_not_counted_for_the_owner()
    {
        var cache = ThreeZones();
        var deleting = Make.Pod().Name("d").Owner(Owner).Node("a1").Obj();
        deleting.Metadata.DeletionTimestamp = DateTime.UtcNow;
        cache.AddOrUpdateBoundPod(new PodInfo(deleting));
        cache.AddOrUpdateBoundPod(Make.Pod().Name("o").Namespace("other").Owner(Owner).Node("a1").Info());
        AssertExact(cache);
        Assert.Equal(0, cache.Zones.OwnedBy("default", Owner, "a"));
        Assert.Equal(1, cache.Zones.OwnedBy("other", Owner, "a"));
    }

    [Fact]
    public void Relabelling_removing_and_re_adding_a_node_moves_its_pods_between_zones()
    {
        var cache = ThreeZones();
        cache.AddOrUpdateBoundPod(Make.Pod().Name("p1").Owner(Owner).Node("a1").Info());
        cache.AddOrUpdateBoundPod(Make.Pod().Name("p2").Owner(Owner).Node("a1").AntiAffinity(AkkaKubeNames.Labels.Hostname, "app", "x").Info());

        cache.AddOrUpdateNode(Make.Node().Name("a1").Zone("b").Obj()); // relabelled a → b
        AssertExact(cache);
        Assert.Equal(0, cache.Zones.OwnedBy("default", Owner, "a"));
        Assert.Equal(2, cache.Zones.OwnedBy("default", Owner, "b"));
        Assert.Equal(1, cache.Zones.NodesPerZone["a"]);

        cache.AddOrUpdateNode(Make.Node().Name("a1").Obj()); // zone label dropped
        AssertExact(cache);
        Assert.Null(cache.Zones.ZonesOf("default", Owner));
        Assert.Equal(1, cache.Zones.PodsWithRequiredAntiAffinity);

        cache.AddOrUpdateNode(Make.Node().Name("a1").Zone("c").Obj());
        cache.RemoveNode("a1"); // its pods wait for it, uncounted
        AssertExact(cache);
        Assert.Null(cache.Zones.ZonesOf("default", Owner));
        Assert.Equal(0, cache.Zones.PodsWithRequiredAntiAffinity);

        cache.AddOrUpdateNode(Make.Node().Name("a1").Zone("c").Obj()); // back, with its pods
        AssertExact(cache);
        Assert.Equal(2, cache.Zones.OwnedBy("default", Owner, "c"));
        Assert.Equal(1, cache.Zones.PodsWithRequiredAntiAffinity);

        cache.RemoveNode("c1");
        cache.RemoveNode("b1");
        AssertExact(cache);
        Assert.False(cache.Zones.NodesPerZone.ContainsKey("b"));
    }

    [Fact]
    public void Random_operations_never_let_the_counts_drift_from_a_recount()
    {
        var random = new Random(7);
        var cache = new SchedulerCache();
        var zones = new[] { "a", "b", "c", null };
        string[] owners = [Owner, OtherOwner];
        for (var step = 0; step < 2000; step++)
        {
            var node = $"n{random.Next(8)}";
            var pod = $"p{random.Next(40)}";
            var ns = random.Next(4) == 0 ? "other" : "default";
            switch (random.Next(7))
            {
                case 0:
                    var builder = Make.Node().Name(node);
                    if (zones[random.Next(zones.Length)] is { } zone) builder.Zone(zone);
                    if (random.Next(5) == 0) builder.Label(AkkaKubeNames.Labels.Hostname, "shared");
                    cache.AddOrUpdateNode(builder.Obj());
                    break;
                case 1:
                    if (random.Next(4) == 0) cache.RemoveNode(node);
                    break;
                case 2:
                    if (cache.Assume(Make.Pod().Name(pod).Namespace(ns).Owner(owners[random.Next(2)]).Info(), node))
                        cache.FinishBinding($"{ns}/{pod}");
                    break;
                case 3:
                    cache.Forget($"{ns}/{pod}");
                    break;
                case 4:
                    var bound = Make.Pod().Name(pod).Namespace(ns).Owner(owners[random.Next(2)]).Node(node);
                    if (random.Next(3) == 0) bound.AntiAffinity(AkkaKubeNames.Labels.Hostname, "app", "x");
                    cache.AddOrUpdateBoundPod(bound.Info());
                    break;
                case 5:
                    cache.RemovePod($"{ns}/{pod}");
                    break;
                default:
                    cache.AddOrUpdateBoundPod(Make.Pod().Name(pod).Namespace(ns).Node(node).Info()); // no owner
                    break;
            }
            AssertExact(cache);
        }
    }

    [Theory]
    [InlineData("every hostname its own node", false)]
    [InlineData("two nodes share a hostname", true)]
    public void The_default_spread_scores_the_same_from_the_cache_counts_as_from_a_walk_over_every_node(string name, bool sharedHostname)
    {
        Assert.NotEmpty(name);
        var cache = new SchedulerCache();
        for (var i = 0; i < 12; i++)
            cache.AddOrUpdateNode(Make.Node().Name($"n{i}").Zone(((char)('a' + i % 3)).ToString()).Obj());
        cache.AddOrUpdateNode(Make.Node().Name("nozone").Obj());
        if (sharedHostname) cache.AddOrUpdateNode(Make.Node().Name("n1").Zone("b").Label(AkkaKubeNames.Labels.Hostname, "n0").Obj());
        Assert.Equal(!sharedHostname, cache.Zones.HostnamesUnique);
        var placements = new[] { "n0", "n0", "n3", "n1", "n6", "nozone", "n2" };
        for (var i = 0; i < placements.Length; i++)
            cache.AddOrUpdateBoundPod(Make.Pod().Name($"old{i}").Owner(Owner).Node(placements[i]).Info());

        var plugin = new PodTopologySpreadPlugin();
        var pod = Make.Pod().Name("new").Owner(Owner).Info();
        long[] Scores(IReadOnlyList<NodeInfo> all)
        {
            var state = new CycleState();
            Assert.True(plugin.PreScore(state, pod, all, all).IsSuccess);
            var scores = all.Select(n => plugin.Score(state, pod, n)).ToArray();
            plugin.NormalizeScore(state, pod, scores);
            return scores;
        }
        var fromCounts = Scores(cache.Nodes);
        var fromWalk = Scores(cache.Nodes.ToList());
        Assert.Equal(fromWalk, fromCounts);
        Assert.NotEqual(fromCounts.Min(), fromCounts.Max());
    }
}
