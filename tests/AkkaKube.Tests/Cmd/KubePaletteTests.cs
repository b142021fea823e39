using System.Text.Json.Nodes;
using AkkaKube.Actors.Cmd;
using AkkaKube.Cli;

namespace AkkaKube.Tests.Cmd;

/// <summary>The `kube` palette through a real node's command host (in-process all-in-one node with a running pod).</summary>
public sealed class KubePaletteTests(KubeNodeFixture fixture) : IClassFixture<KubeNodeFixture>
{
    private Task<IReadOnlyList<CmdReply>> Run(string command, params string[] args) =>
        CmdClient.RunAsync("127.0.0.1", fixture.Node.Options.CmdPort, new CmdRequest("kube", command, args), TimeSpan.FromSeconds(30), token: fixture.Node.CmdToken);

    private static CmdReply Table(IEnumerable<CmdReply> replies, int index = 0) =>
        replies.Where(r => r.Type == CmdReply.Kinds.Table).ElementAt(index);

    private static string Texts(IEnumerable<CmdReply> replies) =>
        string.Join("\n", replies.Where(r => r.Type == CmdReply.Kinds.Text).Select(r => r.Text));

    [Fact]
    public async Task Kube_nodes_lists_the_node_in_its_zone_ready_with_its_pods_and_requests_against_allocatable()
    {
        // Ready may read Unknown for a moment after start (node lifecycle before the first lease): poll.
        await CmdHandlerTests.AwaitAssert(async () =>
        {
            var replies = await Run("nodes");
            var table = Table(replies);
            Assert.Equal(["zone", "node", "ready", "pods", "cpu requested/allocatable", "memory requested/allocatable"], table.Columns);
            var row = Assert.Single(table.Rows!);
            Assert.Equal("zone-a", row[0]);
            Assert.Equal(fixture.NodeName, row[1]);
            Assert.Equal("True", row[2]);
            Assert.True(int.Parse(row[3]) >= 1, row[3]);
            Assert.StartsWith("100m/", row[4]);
            Assert.StartsWith("16Mi/", row[5]);
            Assert.Contains("zone-a: 1 nodes, 1 ready", Texts(replies));
        }, seconds: 60);
    }

    [Fact]
    public async Task Kube_pods_lists_the_running_pod_with_node_ip_and_restarts_and_filters_by_node_and_zone()
    {
        var pod = await fixture.GetPod(KubeNodeFixture.PodName);
        var ip = pod!["status"]!["podIP"]!.GetValue<string>();
        foreach (var args in new[] { Array.Empty<string>(), ["--node", fixture.NodeName], ["--zone", "zone-a"], ["-n", "default"] })
        {
            var table = Table(await Run("pods", args));
            Assert.Equal(["namespace", "name", "phase", "node", "pod-ip", "restarts"], table.Columns);
            Assert.Contains(table.Rows!, r => r.SequenceEqual(["default", KubeNodeFixture.PodName, "Running", fixture.NodeName, ip, "0"]));
        }
        Assert.Contains("no pods", Texts(await Run("pods", "-n", "no-such-namespace")));
    }

    [Fact]
    public async Task Kube_pods_with_an_unknown_node_or_zone_names_the_closest_and_refuses_both_filters()
    {
        var node = await Assert.ThrowsAsync<CliException>(() => Run("pods", "--node", "node-2"));
        Assert.Contains("no node 'node-2'", node.Message);
        Assert.Contains($"did you mean '{fixture.NodeName}'", node.Message);
        var zone = await Assert.ThrowsAsync<CliException>(() => Run("pods", "--zone", "zone-b"));
        Assert.Contains("did you mean 'zone-a'", zone.Message);
        var both = await Assert.ThrowsAsync<CliException>(() => Run("pods", "--node", fixture.NodeName, "--zone", "zone-a"));
        Assert.Contains("not both", both.Message);
    }

    [Fact]
    public async Task Kube_store_lists_the_partitions_with_revision_journal_snapshot_and_live_watchers()
    {
        var self = Akka.Cluster.Cluster.Get(fixture.Node.System).SelfAddress.ToString();
        var replies = await Run("store");
        var table = Table(replies);
        Assert.Equal(["partition", "node", "shard", "revision", "objects", "seq-nr", "journal", "since-start", "snapshot", "snapshot-time", "watchers", "started", "recovery"], table.Columns);
        var pods = table.Rows!.Single(r => r[0] == "pods");
        Assert.Equal(self, pods[1]);
        Assert.True(long.Parse(pods[3]) > 0, "revision");
        Assert.True(int.Parse(pods[4]) >= 1, "objects");
        Assert.True(long.Parse(pods[5]) >= long.Parse(pods[6]), "the journal after the snapshot is at most every event");
        Assert.True(long.Parse(pods[7]) > 0, "events persisted since start");
        Assert.True(int.Parse(pods[10]) >= 2, "the kubelet's and the scheduler's pod watches");
        var started = DateTime.Parse(pods[11], System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AdjustToUniversal);
        Assert.True(started <= DateTime.UtcNow && started > DateTime.UtcNow.AddHours(-1), $"started {pods[11]}");
        Assert.Matches(@"^\d+\.\d{3}s \(\d+ events\)$", pods[12]);
        Assert.Contains(table.Rows!, r => r[0] == "nodes");
        Assert.Contains("partitions on 1 control-plane members", Texts(replies));
    }

    [Fact]
    public async Task Kube_scheduler_shows_the_queues_and_the_last_decisions_bound_and_unschedulable()
    {
        await fixture.CreatePod("kube-nowhere", nodeSelector: new JsonObject { ["disktype"] = "none-has-this" });
        await CmdHandlerTests.AwaitAssert(async () =>
        {
            var replies = await Run("scheduler", "-n", "50");
            var queues = Table(replies);
            Assert.Equal(["active", "backoff", "unschedulable"], queues.Columns!.Take(3));
            Assert.True(int.Parse(queues.Rows![0][2]) >= 1, "the pod that fits no node waits as unschedulable");
            var decisions = Table(replies, 1);
            Assert.Contains(decisions.Rows!, r => r[1] == $"default/{KubeNodeFixture.PodName}" && r[2] == "bound" && r[3] == fixture.NodeName);
            Assert.Contains(decisions.Rows!, r => r[1] == "default/kube-nowhere" && r[2] == "unschedulable" && r[3].Contains("node(s)"));
        }, seconds: 60);
    }

    [Fact]
    public async Task Kube_controllers_lists_every_controller_running_and_a_crashed_one_shows_its_restart()
    {
        var before = Table(await Run("controllers"));
        Assert.Equal(["controller", "state", "restarts", "synced", "last-sync", "queued", "failing"], before.Columns);
        foreach (var name in AkkaKube.Actors.Controllers.ControllerNames.All)
            Assert.Contains(before.Rows!, r => r[0] == name);
        await CmdHandlerTests.AwaitAssert(async () =>
            Assert.All(Table(await Run("controllers")).Rows!, r => Assert.Equal("running", r[1])), seconds: 60);
        var restartsBefore = int.Parse(Table(await Run("controllers")).Rows!.Single(r => r[0] == "namespace")[2]);

        await CmdClient.RunAsync("127.0.0.1", fixture.Node.Options.CmdPort, new CmdRequest("chaos", "crash", ["namespace"]), TimeSpan.FromSeconds(30), token: fixture.Node.CmdToken);

        await CmdHandlerTests.AwaitAssert(async () =>
        {
            var row = Table(await Run("controllers")).Rows!.Single(r => r[0] == "namespace");
            Assert.Equal((restartsBefore + 1).ToString(), row[2]);
            Assert.Equal("running", row[1]);
            Assert.NotEqual("-", row[3]);
        }, seconds: 60);
    }

    [Fact]
    public async Task Unknown_kube_command_or_flag_names_the_closest()
    {
        var c = await Assert.ThrowsAsync<CliException>(() => Run("nods"));
        Assert.Contains("did you mean 'nodes'", c.Message);
        var f = await Assert.ThrowsAsync<CliException>(() => Run("pods", "--nod", "x"));
        Assert.Contains("did you mean '--node'", f.Message);
        var n = await Assert.ThrowsAsync<CliException>(() => Run("scheduler", "-n", "many"));
        Assert.Contains("--last 'many'", n.Message);
    }
}
