using System.Text.Json.Nodes;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Scheduler;
using k8s;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Tests.Scheduler;

public class SchedulerActorTests : TestKit
{
    private readonly InMemoryKubeApi _api = new();

    private static JsonObject Json(object o) => JsonNode.Parse(KubernetesJson.Serialize(o))!.AsObject();

    private async Task AddNode(NodeBuilder n) => await _api.CreateAsync(ApiResource.Nodes, null, Json(n.Obj()));
    private async Task AddPod(PodBuilder p) => await _api.CreateAsync(ApiResource.Pods, "default", Json(p.Obj()));

    private async Task<string?> NodeOf(string pod) =>
        (await _api.GetAsync(ApiResource.Pods, "default", pod))["spec"]?["nodeName"]?.GetValue<string>();

    private async Task Eventually(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (DateTime.UtcNow < deadline)
        {
            if (await condition()) return;
            await Task.Delay(50);
        }
        Assert.Fail("timed out waiting for " + what);
    }

    [Fact]
    public async Task A_pending_pod_is_bound_to_a_node_and_a_Scheduled_event_is_recorded()
    {
        await AddNode(Make.Node().Name("n1"));
        Sys.ActorOf(SchedulerActor.Props(_api, new SchedulerSettings()));
        await AddPod(Make.Pod().Name("web"));
        await Eventually(async () => await NodeOf("web") == "n1", "web bound to n1");
        await Eventually(async () => (await _api.ListAsync(ApiResource.Events, "default")).Items
            .Any(e => e["reason"]?.GetValue<string>() == "Scheduled" && e["message"]!.GetValue<string>() == "Successfully assigned default/web to n1"), "Scheduled event");
    }

    [Fact]
    public async Task A_burst_of_pods_fills_nodes_without_overcommitting_them()
    {
        await AddNode(Make.Node().Name("n1").Capacity(cpu: "2"));
        await AddNode(Make.Node().Name("n2").Capacity(cpu: "2"));
        Sys.ActorOf(SchedulerActor.Props(_api, new SchedulerSettings()));
        for (var i = 0; i < 6; i++) await AddPod(Make.Pod().Name($"p{i}").Req(cpu: "1"));
        await Eventually(async () => (await _api.ListAsync(ApiResource.Pods, "default")).Items.Count(p => p["spec"]?["nodeName"] is not null) == 4, "4 pods bound");
        var pods = (await _api.ListAsync(ApiResource.Pods, "default")).Items;
        Assert.Equal(2, pods.Count(p => p["spec"]?["nodeName"]?.GetValue<string>() == "n1"));
        Assert.Equal(2, pods.Count(p => p["spec"]?["nodeName"]?.GetValue<string>() == "n2"));
    }

    [Fact]
    public async Task An_unschedulable_pod_gets_PodScheduled_False_and_runs_once_a_fitting_node_is_added()
    {
        await AddNode(Make.Node().Name("small").Capacity(cpu: "1"));
        Sys.ActorOf(SchedulerActor.Props(_api, new SchedulerSettings()));
        await AddPod(Make.Pod().Name("big").Req(cpu: "3"));
        await Eventually(async () =>
        {
            var pod = await _api.GetAsync(ApiResource.Pods, "default", "big");
            var c = (pod["status"]?["conditions"] as JsonArray)?.FirstOrDefault(c => c?["type"]?.GetValue<string>() == "PodScheduled");
            return c?["status"]?.GetValue<string>() == "False" && c["reason"]?.GetValue<string>() == "Unschedulable"
                && c["message"]!.GetValue<string>().StartsWith("0/1 nodes are available: 1 Insufficient cpu.", StringComparison.Ordinal);
        }, "PodScheduled=False with the fit error");
        await Eventually(async () => (await _api.ListAsync(ApiResource.Events, "default")).Items
            .Any(e => e["reason"]?.GetValue<string>() == "FailedScheduling" && e["type"]?.GetValue<string>() == "Warning"), "FailedScheduling event");
        await AddNode(Make.Node().Name("large").Capacity(cpu: "4"));
        await Eventually(async () => await NodeOf("big") == "large", "big bound to the new node");
    }

    [Fact]
    public async Task Pods_for_another_scheduler_are_left_alone()
    {
        await AddNode(Make.Node().Name("n1"));
        var scheduler = Sys.ActorOf(SchedulerActor.Props(_api, new SchedulerSettings()));
        await AddPod(Make.Pod().Name("theirs").SchedulerName("my-scheduler"));
        await AddPod(Make.Pod().Name("ours"));
        await Eventually(async () => await NodeOf("ours") == "n1", "ours bound");
        var stats = await scheduler.Ask<SchedulerProtocol.Stats>(SchedulerProtocol.GetStats.Instance, TimeSpan.FromSeconds(5));
        Assert.Equal(1, stats.Bound);
        Assert.Null(await NodeOf("theirs"));
    }

    [Fact]
    public async Task Six_replicas_with_a_zone_spread_constraint_land_two_per_zone()
    {
        foreach (var z in new[] { "zone-a", "zone-b", "zone-c" })
            for (var i = 0; i < 2; i++) await AddNode(Make.Node().Name($"{z}-{i}").Zone(z));
        Sys.ActorOf(SchedulerActor.Props(_api, new SchedulerSettings()));
        for (var i = 0; i < 6; i++)
            await AddPod(Make.Pod().Name($"web-{i}").Label("app", "web").Spread(1, "topology.kubernetes.io/zone", "DoNotSchedule", "app", "web"));
        await Eventually(async () => (await _api.ListAsync(ApiResource.Pods, "default")).Items.All(p => p["spec"]?["nodeName"] is not null), "all bound");
        var pods = (await _api.ListAsync(ApiResource.Pods, "default")).Items;
        var perZone = pods.GroupBy(p => p["spec"]!["nodeName"]!.GetValue<string>()[..6]).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(new Dictionary<string, int> { ["zone-a"] = 2, ["zone-b"] = 2, ["zone-c"] = 2 }, perZone);
    }

    [Fact]
    public async Task A_failed_binding_is_retried_after_back_off()
    {
        await AddNode(Make.Node().Name("n1"));
        var failures = 1;
        _api.Inject = (verb, _) => verb == "create/binding" && Interlocked.Decrement(ref failures) >= 0
            ? new KubeApiException(500, "InternalError", "injected") : null;
        Sys.ActorOf(SchedulerActor.Props(_api, new SchedulerSettings()));
        await AddPod(Make.Pod().Name("retry"));
        await Eventually(async () => await NodeOf("retry") == "n1", "bound after retry");
        Assert.True(failures < 0, "the first binding failed");
    }
}
