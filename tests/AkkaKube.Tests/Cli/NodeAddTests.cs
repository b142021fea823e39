using System.Text.Json.Nodes;
using AkkaKube.Cli;
using AkkaKube.Tests.Infrastructure;
using AkkaKube.Tests.Kubectl;

namespace AkkaKube.Tests.Cli;

/// <summary>One control plane and one worker in zone-a; the tests add a worker with the real `akkakube node add`.</summary>
public sealed class OneWorkerCluster : LocalCluster
{
    public override int Workers => 1;
    public override IReadOnlyList<string> Zones => ["zone-a", "zone-b"];
}

/// <summary>
/// `akkakube node add` on a running cluster, the way a user grows a cluster to watch Kubernetes react: the new worker
/// joins, its Node registers Ready in the zone asked for, a DaemonSet places a Ready pod on it; when the worker's
/// process is killed its instance is gone, the cloud controller deletes the Node and the DaemonSet's pod goes with it.
/// </summary>
public sealed class NodeAddTests(OneWorkerCluster cluster) : IClassFixture<OneWorkerCluster>, IDisposable
{
    private readonly TempDir _kubectlDir = new();

    public void Dispose() => _kubectlDir.Dispose();

    private static string S(JsonNode? n) => n?.GetValue<string>() ?? "";

    private async Task<JsonObject> Json(KubectlRunner kubectl, string args)
    {
        var r = await kubectl.Run(args + " -o json");
        Assert.True(r.Exit == 0, $"kubectl {args} exited {r.Exit}: {r.Err}");
        return JsonNode.Parse(r.Out)!.AsObject();
    }

    private const string Agent = """
        apiVersion: apps/v1
        kind: DaemonSet
        metadata: {name: agent}
        spec:
          selector:
            matchLabels: {app: agent}
          template:
            metadata:
              labels: {app: agent}
            spec:
              terminationGracePeriodSeconds: 1
              containers:
              - name: agent
                image: akkakube/pause
        """;

    private static bool Ready(JsonObject pod) => (pod["status"]?["conditions"] as JsonArray)?.OfType<JsonObject>()
        .Any(c => S(c["type"]) == "Ready" && S(c["status"]) == "True") == true;

    [SkippableFact]
    public async Task A_worker_added_to_the_running_cluster_gets_the_daemon_pod_and_loses_it_when_its_instance_is_gone()
    {
        Skip.If(KubectlRunner.KubectlPath is null, "kubectl is not on PATH");
        var kubectl = new KubectlRunner(_kubectlDir.Path);
        kubectl.UseKubeconfig(cluster.KubeconfigPath);
        await LocalClusterLauncher.WaitUntilNodesReadyAsync(cluster.State, TimeSpan.FromSeconds(180));
        var applied = await kubectl.Run("apply -f -", Agent, 90);
        Assert.True(applied.Exit == 0, applied.Err);
        await Failover.FailoverSupport.EventuallyAsync(async () =>
            (await Json(kubectl, "get daemonset agent"))["status"]?["numberReady"]?.GetValue<int>() == 1, TimeSpan.FromSeconds(120), "the daemon pod Ready on worker-a1");

        var add = await ProcessRunner.RunAsync(ProcessRunner.Akkakube, ["node", "add", "--data-dir", cluster.DataDirectory, "--zone", "zone-b", "--timeout", "150"],
            TimeSpan.FromMinutes(4));
        // (the fixture stops every node cluster.json lists, the added one included, whatever happens here)
        Assert.True(add.ExitCode == 0, add.Output);
        var added = ClusterState.Load(cluster.DataDirectory)!.Nodes.Single(n => n.Name == "worker-b1");
        try
        {
            Assert.Contains("node worker-b1 is Ready", add.Stdout);
            Assert.True(NodeProcesses.IsNodeAlive(added.Pid, added.Name));
            var node = await Json(kubectl, "get node worker-b1");
            Assert.Equal("zone-b", S(node["metadata"]!["labels"]!["topology.kubernetes.io/zone"]));

            // The DaemonSet sees the new Node and places its pod there through the scheduler.
            await Failover.FailoverSupport.EventuallyAsync(async () =>
            {
                var status = (await Json(kubectl, "get daemonset agent"))["status"];
                return status?["desiredNumberScheduled"]?.GetValue<int>() == 2 && status["numberReady"]?.GetValue<int>() == 2;
            }, TimeSpan.FromSeconds(120), "the daemon set Ready on both workers");
            var pods = (await Json(kubectl, "get pods -l app=agent"))["items"]!.AsArray().OfType<JsonObject>().ToList();
            Assert.Equal(["worker-a1", "worker-b1"], pods.Select(p => S(p["spec"]!["nodeName"])).Order(StringComparer.Ordinal));
            Assert.All(pods, p => Assert.True(Ready(p), $"{S(p["metadata"]!["name"])} not Ready"));

            var status = await ProcessRunner.RunAsync(ProcessRunner.Akkakube, ["status", "--data-dir", cluster.DataDirectory]);
            Assert.Contains(status.Stdout.Split('\n'), l => l.Contains(" worker-b1 ") && l.Contains(" Up ") && l.Contains(" zone-b "));

            // Its machine goes away: the Node is deleted once NotReady with its instance gone, and the daemon pod with it.
            NodeProcesses.Signal(added.Pid, NodeProcesses.SigKill);
            await Failover.FailoverSupport.EventuallyAsync(async () => (await kubectl.Run("get node worker-b1")).Exit != 0,
                TimeSpan.FromSeconds(150), "Node worker-b1 deleted by the cloud controller");
            await Failover.FailoverSupport.EventuallyAsync(async () =>
            {
                var ds = await Json(kubectl, "get daemonset agent");
                var left = (await Json(kubectl, "get pods -l app=agent"))["items"]!.AsArray().OfType<JsonObject>().ToList();
                return ds["status"]?["desiredNumberScheduled"]?.GetValue<int>() == 1 && left.Count == 1 && S(left[0]["spec"]!["nodeName"]) == "worker-a1";
            }, TimeSpan.FromSeconds(120), "only worker-a1's daemon pod left");
        }
        finally
        {
            if (NodeProcesses.IsNodeAlive(added.Pid, added.Name)) NodeProcesses.Signal(added.Pid, NodeProcesses.SigKill);
        }
    }

    [Fact]
    public async Task Node_add_without_a_cluster_or_with_a_bad_zone_is_one_line()
    {
        using var empty = new TempDir();
        ProcessRunner.AssertOneLineError(await ProcessRunner.RunAsync(ProcessRunner.Akkakube, ["node", "add", "--data-dir", empty.Path]), "no cluster in");
        ProcessRunner.AssertOneLineError(await ProcessRunner.RunAsync(ProcessRunner.Akkakube, ["node", "add", "--data-dir", cluster.DataDirectory, "--zone", "Zone_B"]), "DNS-1123");
    }
}
