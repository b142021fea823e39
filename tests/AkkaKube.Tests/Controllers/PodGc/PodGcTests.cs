using System.Text.Json.Nodes;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Controllers;
using AkkaKube.Actors.Controllers.PodGc;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Tests.Controllers.PodGc;

/// <summary>The pod garbage collector: its decisions (table-driven) and the actor against an in-memory API.</summary>
public sealed class PodGcTests : Akka.TestKit.Xunit2.TestKit
{
    public PodGcTests() : base("akka.loglevel = WARNING") { }

    private static JsonObject Pod(string name, string? node = null, string? phase = null, bool deleting = false, string created = "2026-01-01T00:00:00Z")
    {
        var pod = new JsonObject
        {
            ["apiVersion"] = "v1", ["kind"] = "Pod",
            ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = "default", ["creationTimestamp"] = created },
            ["spec"] = new JsonObject { ["containers"] = new JsonArray(new JsonObject { ["name"] = "c", ["image"] = "x" }) },
        };
        if (node is not null) pod["spec"]!["nodeName"] = node;
        if (phase is not null) pod["status"] = new JsonObject { ["phase"] = phase };
        if (deleting) pod["metadata"]!["deletionTimestamp"] = "2026-01-01T00:01:00Z";
        return pod;
    }

    private static bool Known(string node) => node == "alive";

    public static TheoryData<string, JsonObject, PodGcAction> Cases => new()
    {
        { "a pending unscheduled pod", Pod("p"), PodGcAction.Keep },
        { "a terminating unscheduled pod", Pod("p", deleting: true), PodGcAction.ForceDeleteUnscheduled },
        { "a pod on a live node", Pod("p", "alive", "Running"), PodGcAction.Keep },
        { "a terminating pod on a live node (its kubelet finishes it)", Pod("p", "alive", "Running", deleting: true), PodGcAction.Keep },
        { "a pod on a node that is gone", Pod("p", "gone", "Running"), PodGcAction.Quarantine },
        { "a terminating pod on a node that is gone", Pod("p", "gone", "Running", deleting: true), PodGcAction.Quarantine },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Decides_as_kubernetes_pod_gc(string name, JsonObject pod, PodGcAction expected) =>
        Assert.True(PodGcLogic.Decide(pod, Known) == expected, $"{name}: {PodGcLogic.Decide(pod, Known)}");

    [Fact]
    public void Finished_pods_beyond_the_threshold_go_oldest_first_and_running_ones_never()
    {
        var pods = new[]
        {
            Pod("new", "alive", "Succeeded", created: "2026-01-03T00:00:00Z"), Pod("old", "alive", "Failed", created: "2026-01-01T00:00:00Z"),
            Pod("mid", "alive", "Succeeded", created: "2026-01-02T00:00:00Z"), Pod("run", "alive", "Running", created: "2025-01-01T00:00:00Z"),
        };
        Assert.Equal(["old", "mid"], PodGcLogic.TerminatedBeyond(pods, 1).Select(ControllerBase.NameOf));
        Assert.Empty(PodGcLogic.TerminatedBeyond(pods, 3));
        Assert.Empty(PodGcLogic.TerminatedBeyond(pods, 0)); // 0 keeps every finished pod
    }

    [Fact]
    public void An_orphan_that_had_not_finished_is_failed_with_the_disruption_target_condition()
    {
        var status = PodGcLogic.OrphanStatus(Pod("p", "gone", "Running"), new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc))!;
        Assert.Equal("Failed", status["phase"]!.GetValue<string>());
        var condition = status["conditions"]!.AsArray().Single()!;
        Assert.Equal(("DisruptionTarget", "True", "DeletionByPodGC"),
            (condition["type"]!.GetValue<string>(), condition["status"]!.GetValue<string>(), condition["reason"]!.GetValue<string>()));
        var succeeded = PodGcLogic.OrphanStatus(Pod("p", "gone", "Succeeded"), DateTime.UtcNow)!;
        Assert.Equal("Succeeded", succeeded["phase"]!.GetValue<string>()); // a finished pod keeps its phase
    }

    [Fact]
    public async Task The_collector_force_deletes_orphans_after_the_quarantine_and_keeps_pods_of_live_nodes()
    {
        var api = new InMemoryKubeApi();
        await api.CreateAsync(ApiResource.Nodes, null, new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Node", ["metadata"] = new JsonObject { ["name"] = "alive" } });
        await api.CreateAsync(ApiResource.Nodes, null, new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Node", ["metadata"] = new JsonObject { ["name"] = "doomed" } });
        foreach (var (name, node) in new[] { ("on-alive", "alive"), ("on-doomed", "doomed"), ("on-never", "never-existed") })
            await api.CreateAsync(ApiResource.Pods, "default", Pod(name, node, "Running"));
        Sys.ActorOf(PodGcController.Props(api, new ControllerSettings(), new PodGcSettings { OrphanQuarantine = TimeSpan.FromSeconds(1) }), "podgc");

        async Task<HashSet<string>> Names() => (await api.ListAsync(ApiResource.Pods, "default")).Items.Select(ControllerBase.NameOf).ToHashSet();
        await AwaitAssertAsync(async () => Assert.Equal(["on-alive", "on-doomed"], (await Names()).Order()), TimeSpan.FromSeconds(10));

        await api.DeleteAsync(ApiResource.Nodes, null, "doomed");
        await AwaitAssertAsync(async () => Assert.Equal(["on-alive"], (await Names()).Order()), TimeSpan.FromSeconds(10));
    }
}
