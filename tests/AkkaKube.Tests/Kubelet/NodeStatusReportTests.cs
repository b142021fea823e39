using AkkaKube.Tests.Infrastructure;
using System.Text.Json.Nodes;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Kubelet;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Tests.Kubelet;

public sealed class NodeStatusReportTests : Akka.TestKit.Xunit2.TestKit
{
    private static readonly TimeSpan Max = TimeSpan.FromSeconds(15);
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly TempDir _data = new();

    public NodeStatusReportTests() : base("akka.loglevel = WARNING") { }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing) _data.Dispose();
    }

    [Fact]
    public void A_status_that_differs_only_in_heartbeat_times_is_not_a_change()
    {
        var node = KubeletTestSupport.Node();
        var stored = NodeObjects.Status(node, T0, T0);
        Assert.False(NodeStatusReport.Differs(stored, NodeObjects.Status(node, T0.AddMinutes(3), T0)));
    }

    [Fact]
    public void A_changed_condition_a_missing_status_or_changed_capacity_is_a_change()
    {
        var node = KubeletTestSupport.Node();
        var stored = NodeObjects.Status(node, T0, T0);
        var unknown = (JsonObject)stored.DeepClone();
        ((JsonArray)unknown["conditions"]!).OfType<JsonObject>().Single(c => c["type"]!.GetValue<string>() == "Ready")["status"] = "Unknown";
        Assert.True(NodeStatusReport.Differs(unknown, NodeObjects.Status(node, T0.AddSeconds(10), T0)));
        Assert.True(NodeStatusReport.Differs(null, stored));
        var bigger = NodeObjects.Status(node with { Pods = 250 }, T0, T0);
        Assert.True(NodeStatusReport.Differs(stored, bigger));
    }

    [Fact]
    public void Fields_other_writers_added_to_the_status_are_not_a_change()
    {
        var node = KubeletTestSupport.Node();
        var stored = NodeObjects.Status(node, T0, T0);
        stored["images"] = new JsonArray(new JsonObject { ["names"] = new JsonArray("x") });
        Assert.False(NodeStatusReport.Differs(stored, NodeObjects.Status(node, T0.AddSeconds(10), T0)));
    }

    [Fact]
    public void The_report_period_is_due_when_never_posted_or_after_the_frequency()
    {
        var every = TimeSpan.FromMinutes(5);
        Assert.True(NodeStatusReport.PeriodElapsed(null, T0, every));
        Assert.False(NodeStatusReport.PeriodElapsed(T0, T0.AddMinutes(4), every));
        Assert.True(NodeStatusReport.PeriodElapsed(T0, T0.AddMinutes(5), every));
    }

    [Fact]
    public async Task The_kubelet_posts_an_unchanged_node_status_only_once_and_again_when_someone_else_changed_it()
    {
        var api = new InMemoryKubeApi { GracefulPodDeletion = true };
        var settings = KubeletTestSupport.FastSettings with { NodeStatusInterval = TimeSpan.FromMilliseconds(100), NodeStatusReportFrequency = TimeSpan.FromHours(1) };
        Sys.ActorOf(KubeletActor.Props(KubeletTestSupport.Node(), settings, api, new FakeRuntime(), _data.Path), "kubelet");
        AwaitAssert(() => Assert.NotNull(api.Peek(ApiResource.Nodes, null, "node-a")?["status"]), Max);
        // Several status intervals pass (each reads the Node); the status was posted once, at registration.
        var reads = api.Calls.Count(c => c == "get nodes");
        AwaitCondition(() => api.Calls.Count(c => c == "get nodes") >= reads + 5, Max);
        Assert.Equal(1, api.Calls.Count(c => c == "patch nodes/status"));

        // The node lifecycle controller marks the node Unknown: the kubelet posts Ready=True again at its next interval.
        var status = api.Peek(ApiResource.Nodes, null, "node-a")!["status"]!.AsObject();
        ((JsonArray)status["conditions"]!).OfType<JsonObject>().Single(c => c["type"]!.GetValue<string>() == "Ready")["status"] = "Unknown";
        await api.PatchAsync(ApiResource.Nodes, null, "node-a", PatchType.Merge, new JsonObject { ["status"] = status.DeepClone() }.ToJsonString(), "status");
        AwaitAssert(() =>
        {
            var ready = ((JsonArray)api.Peek(ApiResource.Nodes, null, "node-a")!["status"]!["conditions"]!).OfType<JsonObject>()
                .Single(c => c["type"]!.GetValue<string>() == "Ready");
            Assert.Equal("True", ready["status"]!.GetValue<string>());
        }, Max);
    }
}
