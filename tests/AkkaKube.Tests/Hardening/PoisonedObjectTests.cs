using System.Text.Json.Nodes;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Machinery;
using AkkaKube.Actors.Controllers;
using AkkaKube.Actors.Controllers.ReplicaSet;
using AkkaKube.Actors.Scheduler;
using AkkaKube.Tests.Scheduler;
using k8s;

namespace AkkaKube.Tests.Hardening;

/// <summary>
/// No retry storm: an object that makes the scheduler or a controller throw is logged, evented on the object and
/// skipped with back-off; the singleton never crashes on it (a crash would re-list, meet it again and loop) and
/// the other objects are still handled.
/// </summary>
public sealed class PoisonedObjectTests : Akka.TestKit.Xunit2.TestKit
{
    private readonly InMemoryKubeApi _api = new();

    public PoisonedObjectTests() : base("akka.loglevel = WARNING") { }

    private static JsonObject Json(object o) => JsonNode.Parse(KubernetesJson.Serialize(o))!.AsObject();

    private async Task<IReadOnlyList<JsonObject>> WarningsFor(string name) =>
        (await _api.ListAsync(ApiResource.Events, "default")).Items
        .Where(e => e["involvedObject"]?["name"]?.GetValue<string>() == name && e["type"]?.GetValue<string>() == "Warning").ToList();

    [Fact]
    public async Task A_pod_the_scheduler_cannot_evaluate_is_evented_and_skipped_while_other_pods_are_bound()
    {
        await _api.CreateAsync(ApiResource.Nodes, null, Json(Make.Node().Name("n1").Obj()));
        var poison = Json(Make.Pod().Name("poison").Req(cpu: "1").Obj());
        poison["spec"]!["containers"]![0]!["resources"]!["requests"]!["cpu"] = "a-lot";
        await _api.CreateAsync(ApiResource.Pods, "default", poison);
        await _api.CreateAsync(ApiResource.Pods, "default", Json(Make.Pod().Name("good").Obj()));

        // No ERROR at all: an exception escaping the scheduler would be logged as one when it restarts.
        await EventFilter.Error().ExpectAsync(0, async () =>
        {
            Sys.ActorOf(SchedulerActor.Props(_api, new SchedulerSettings()));
            await AwaitAssertAsync(async () =>
                Assert.Equal("n1", (await _api.GetAsync(ApiResource.Pods, "default", "good"))["spec"]?["nodeName"]?.GetValue<string>()),
                TimeSpan.FromSeconds(15));
            await AwaitAssertAsync(async () =>
                Assert.Contains(await WarningsFor("poison"), e => e["reason"]!.GetValue<string>() == "FailedScheduling"
                    && e["message"]!.GetValue<string>().Contains("cannot handle", StringComparison.Ordinal)),
                TimeSpan.FromSeconds(15));
            // A pod created after the poisoned one is still scheduled.
            await _api.CreateAsync(ApiResource.Pods, "default", Json(Make.Pod().Name("later").Obj()));
            await AwaitAssertAsync(async () =>
                Assert.Equal("n1", (await _api.GetAsync(ApiResource.Pods, "default", "later"))["spec"]?["nodeName"]?.GetValue<string>()),
                TimeSpan.FromSeconds(15));
        });
        Assert.Null((await _api.GetAsync(ApiResource.Pods, "default", "poison"))["spec"]?["nodeName"]);
    }

    [Fact]
    public async Task A_replica_set_the_controller_cannot_handle_is_evented_and_retried_with_back_off_while_others_reconcile()
    {
        // A spec that is a list, not an object: reading spec.replicas from it throws.
        var poison = ReplicaSet("poison");
        poison["spec"] = new JsonArray(1, 2);
        await _api.CreateAsync(ApiResource.ReplicaSets, "default", poison);
        await _api.CreateAsync(ApiResource.ReplicaSets, "default", ReplicaSet("good"));

        await EventFilter.Error().ExpectAsync(0, async () =>
        {
            Sys.ActorOf(ReplicaSetController.Props(_api, new ControllerSettings()), "replicaset");
            await AwaitAssertAsync(async () =>
                Assert.Equal(2, (await _api.ListAsync(ApiResource.Pods, "default")).Items.Count(p => p["metadata"]!["name"]!.GetValue<string>().StartsWith("good-", StringComparison.Ordinal))),
                TimeSpan.FromSeconds(15));
            await AwaitAssertAsync(async () =>
                Assert.Contains(await WarningsFor("poison"), e => e["reason"]!.GetValue<string>() == "ReconcileError"),
                TimeSpan.FromSeconds(15));
        });
        Assert.DoesNotContain((await _api.ListAsync(ApiResource.Pods, "default")).Items,
            p => p["metadata"]!["name"]!.GetValue<string>().StartsWith("poison-", StringComparison.Ordinal));
    }

    private static JsonObject ReplicaSet(string name) => JsonNode.Parse("""
        {"apiVersion":"apps/v1","kind":"ReplicaSet","metadata":{"name":"NAME","namespace":"default","uid":"uid-NAME"},
         "spec":{"replicas":2,"selector":{"matchLabels":{"app":"NAME"}},
          "template":{"metadata":{"labels":{"app":"NAME"}},"spec":{"containers":[{"name":"c","image":"x"}]}}}}
        """.Replace("NAME", name))!.AsObject();
}
