using AkkaKube.Actors.Scheduler;

namespace AkkaKube.Tests.Scheduler;

public class SchedulerCacheTests
{
    [Fact]
    public void An_assumed_pod_counts_against_the_node_until_it_is_forgotten()
    {
        var cache = new SchedulerCache();
        cache.AddOrUpdateNode(Make.Node().Name("n").Capacity(cpu: "1").Obj());
        var pod = Make.Pod().Name("a").Req(cpu: "600m").Info();
        Assert.True(cache.Assume(pod, "n"));
        Assert.Equal(600, cache.GetNode("n")!.Requested.MilliCpu);
        cache.FinishBinding(pod.Key);
        cache.Forget(pod.Key);
        Assert.Equal(0, cache.GetNode("n")!.Requested.MilliCpu);
        Assert.Null(cache.StateOf(pod.Key));
    }

    [Fact]
    public void Confirmation_by_the_informer_turns_an_assumed_pod_into_a_bound_one_without_double_counting()
    {
        var cache = new SchedulerCache();
        cache.AddOrUpdateNode(Make.Node().Name("n").Obj());
        var pod = Make.Pod().Name("a").Req(cpu: "500m");
        cache.Assume(pod.Info(), "n");
        cache.AddOrUpdateBoundPod(pod.Node("n").Info());
        Assert.Equal(SchedulerCache.PodState.Bound, cache.StateOf("default/a"));
        Assert.Equal(500, cache.GetNode("n")!.Requested.MilliCpu);
        Assert.Single(cache.GetNode("n")!.Pods);
        cache.Forget("default/a"); // a late failure report must not drop a confirmed pod
        Assert.Equal(500, cache.GetNode("n")!.Requested.MilliCpu);
    }

    [Fact]
    public void A_pod_seen_before_its_node_is_counted_when_the_node_arrives()
    {
        var cache = new SchedulerCache();
        cache.AddOrUpdateBoundPod(Make.Pod().Name("a").Req(cpu: "1").Node("late").Info());
        cache.AddOrUpdateNode(Make.Node().Name("late").Obj());
        Assert.Equal(1000, cache.GetNode("late")!.Requested.MilliCpu);
    }

    [Fact]
    public void A_burst_of_pods_never_overcommits_a_node()
    {
        var cache = new SchedulerCache();
        cache.AddOrUpdateNode(Make.Node().Name("n1").Capacity(cpu: "2").Obj());
        cache.AddOrUpdateNode(Make.Node().Name("n2").Capacity(cpu: "2").Obj());
        var algorithm = AkkaKube.Actors.Scheduler.Framework.SchedulingAlgorithm.CreateDefault(new SchedulerSettings());
        var placed = new List<string?>();
        for (var i = 0; i < 6; i++)
        {
            var pod = Make.Pod().Name($"p{i}").Req(cpu: "1").Info();
            var r = algorithm.Schedule(pod, cache.Nodes);
            placed.Add(r.NodeName);
            if (r.NodeName is { } n) cache.Assume(pod, n);
        }
        Assert.Equal(4, placed.Count(p => p is not null));
        Assert.All(cache.Nodes, n => Assert.True(n.Requested.MilliCpu <= n.Allocatable.MilliCpu));
    }
}
