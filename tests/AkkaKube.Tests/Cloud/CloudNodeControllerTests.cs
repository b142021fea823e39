using System.Text.Json.Nodes;
using Akka.TestKit.Xunit2;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Cloud;
using AkkaKube.Tests.Infrastructure;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Tests.Cloud;

/// <summary>The cloud-controller-manager's node part over the local provider (DATA/cluster.json and its PIDs).</summary>
public sealed class CloudNodeControllerTests : TestKit
{
    private readonly TempDir _dir = new();
    private readonly HashSet<int> _alive = [];

    protected override void Dispose(bool disposing)
    {
        if (disposing) _dir.Dispose();
        base.Dispose(disposing);
    }

    private void WriteClusterJson(params (string Name, string Zone, string Ip, int Pid)[] nodes)
    {
        var array = new JsonArray(nodes.Select(n => (JsonNode)new JsonObject { ["name"] = n.Name, ["zone"] = n.Zone, ["ip"] = n.Ip, ["pid"] = n.Pid }).ToArray());
        File.WriteAllText(Path.Combine(_dir.Path, "cluster.json"), new JsonObject { ["nodes"] = array }.ToJsonString());
    }

    private LocalInstances Instances() => new(_dir.Path, "local", (pid, _) => { lock (_alive) return _alive.Contains(pid); });

    private static JsonObject Node(string name, string ready, params string[] taintKeys) => new()
    {
        ["apiVersion"] = "v1", ["kind"] = "Node",
        ["metadata"] = new JsonObject { ["name"] = name, ["labels"] = new JsonObject { ["kubernetes.io/hostname"] = name } },
        ["spec"] = new JsonObject { ["taints"] = new JsonArray(taintKeys.Select(k => (JsonNode)new JsonObject { ["key"] = k, ["effect"] = "NoSchedule" }).ToArray()) },
        ["status"] = new JsonObject { ["conditions"] = new JsonArray(new JsonObject { ["type"] = "Ready", ["status"] = ready }) },
    };

    [Fact]
    public void The_initialisation_patch_sets_the_provider_id_and_instance_labels_and_drops_the_uninitialized_taint()
    {
        var node = Node("worker-a1", "True", CloudNodeRules.UninitializedTaint, "keep-me");
        var patch = CloudNodeRules.InitializationPatch(node, new InstanceMetadata("akkakube://worker-a1", "local-process", [], "zone-a", "local"))!;
        Assert.Equal("akkakube://worker-a1", (string?)patch["spec"]!["providerID"]);
        Assert.Equal(["keep-me"], ((JsonArray)patch["spec"]!["taints"]!).Select(t => (string?)t!["key"]));
        Assert.Equal("zone-a", (string?)patch["metadata"]!["labels"]!["topology.kubernetes.io/zone"]);
        Assert.Equal("local", (string?)patch["metadata"]!["labels"]!["topology.kubernetes.io/region"]);
        Assert.Equal("local-process", (string?)patch["metadata"]!["labels"]![CloudNodeRules.InstanceTypeLabel]);
    }

    [Fact]
    public void An_initialised_node_needs_no_patch_and_its_provider_id_is_never_changed()
    {
        var node = Node("worker-a1", "True");
        node["spec"]!["providerID"] = "somewhere://else";
        node["metadata"]!["labels"]!["topology.kubernetes.io/zone"] = "zone-a";
        node["metadata"]!["labels"]!["topology.kubernetes.io/region"] = "local";
        node["metadata"]!["labels"]![CloudNodeRules.InstanceTypeLabel] = "local-process";
        Assert.Null(CloudNodeRules.InitializationPatch(node, new InstanceMetadata("akkakube://worker-a1", "local-process", [], "zone-a", "local")));
    }

    [Fact]
    public void A_node_is_deleted_only_when_not_ready_and_its_instance_stayed_gone_for_the_grace_period()
    {
        var tracker = new NodeDeletionTracker(TimeSpan.FromSeconds(10));
        var t0 = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        Assert.False(tracker.Observe("n", ready: false, instanceExists: false, t0));
        Assert.False(tracker.Observe("n", ready: false, instanceExists: false, t0.AddSeconds(5)));
        Assert.False(tracker.Observe("n", ready: false, instanceExists: true, t0.AddSeconds(6)));  // restarted: the clock starts over
        Assert.False(tracker.Observe("n", ready: false, instanceExists: false, t0.AddSeconds(7)));
        Assert.False(tracker.Observe("n", ready: false, instanceExists: false, t0.AddSeconds(16)));
        Assert.True(tracker.Observe("n", ready: false, instanceExists: false, t0.AddSeconds(17)));
        Assert.False(tracker.Observe("m", ready: true, instanceExists: false, t0.AddSeconds(100))); // Ready: never deleted
    }

    [Fact]
    public async Task Local_instances_come_from_cluster_json_and_exist_while_their_process_lives()
    {
        WriteClusterJson(("worker-a1", "zone-a", "127.1.0.4", 4242));
        var instances = Instances();
        var node = new k8s.Models.V1Node { Metadata = new k8s.Models.V1ObjectMeta { Name = "worker-a1" } };
        var meta = (await instances.InstanceMetadataAsync(node))!;
        Assert.Equal("akkakube://worker-a1", meta.ProviderId);
        Assert.Equal("zone-a", meta.Zone);
        Assert.Contains(meta.Addresses, a => a.Type == "InternalIP" && a.Address == "127.1.0.4");
        Assert.False(await instances.InstanceExistsAsync(node));
        lock (_alive) _alive.Add(4242);
        Assert.True(await instances.InstanceExistsAsync(node));
        // Not this cloud's node (an in-process node): no metadata, and never reported gone.
        var stranger = new k8s.Models.V1Node { Metadata = new k8s.Models.V1ObjectMeta { Name = "elsewhere" } };
        Assert.Null(await instances.InstanceMetadataAsync(stranger));
        Assert.True(await instances.InstanceExistsAsync(stranger));
        Assert.False(LocalInstances.IsNodeProcessAlive(Environment.ProcessId, "worker-a1")); // a live PID of another program
    }

    [Fact]
    public async Task The_controller_initialises_known_nodes_and_deletes_a_not_ready_node_whose_process_is_gone_but_not_an_unreachable_live_one()
    {
        WriteClusterJson(("worker-a1", "zone-a", "127.1.0.4", 100), ("worker-b1", "zone-b", "127.1.0.5", 101), ("worker-c1", "zone-c", "127.1.0.6", 102));
        lock (_alive) { _alive.Add(100); _alive.Add(102); } // worker-b1's process is gone; worker-c1 lives but is NotReady (unreachable)
        var api = new InMemoryKubeApi();
        await api.CreateAsync(ApiResource.Nodes, null, Node("worker-a1", "True", CloudNodeRules.UninitializedTaint));
        await api.CreateAsync(ApiResource.Nodes, null, Node("worker-b1", "Unknown"));
        await api.CreateAsync(ApiResource.Nodes, null, Node("worker-c1", "Unknown"));
        await api.CreateAsync(ApiResource.Nodes, null, Node("in-process", "Unknown"));
        var settings = CloudSettings.Default with { NodeMonitorPeriod = TimeSpan.FromMilliseconds(100), NodeDeletionGrace = TimeSpan.FromMilliseconds(300) };
        Sys.ActorOf(CloudNodeController.Props(api, Instances(), settings));

        await AwaitAssertAsync(async () =>
        {
            var a1 = await api.GetAsync(ApiResource.Nodes, null, "worker-a1");
            Assert.Equal("akkakube://worker-a1", (string?)a1["spec"]!["providerID"]);
            Assert.Equal("zone-a", (string?)a1["metadata"]!["labels"]!["topology.kubernetes.io/zone"]);
            Assert.DoesNotContain((a1["spec"]!["taints"] as JsonArray ?? []).OfType<JsonObject>(), t => (string?)t["key"] == CloudNodeRules.UninitializedTaint);
            var names = (await api.ListAsync(ApiResource.Nodes, null)).Items.Select(n => (string?)n["metadata"]!["name"]).ToList();
            Assert.DoesNotContain("worker-b1", names);
        }, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(100));

        await Task.Delay(1000); // ten more checks (a bounded wait for something that must not happen): the live one and the stranger stay
        var left = (await api.ListAsync(ApiResource.Nodes, null)).Items.Select(n => (string?)n["metadata"]!["name"]).ToList();
        Assert.Contains("worker-c1", left);
        Assert.Contains("in-process", left);
        Assert.Null((await api.GetAsync(ApiResource.Nodes, null, "in-process"))["spec"]!["providerID"]);
    }
}
