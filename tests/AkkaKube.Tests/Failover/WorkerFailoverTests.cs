using System.Text.Json.Nodes;
using AkkaKube.Cli.Chaos;
using Xunit.Abstractions;
using static AkkaKube.Tests.Failover.FailoverSupport;

namespace AkkaKube.Tests.Failover;

/// <summary>
/// Process-level: SIGKILL of a worker process in a 1 control-plane + 3 worker (3 zones) cluster. The test lives here so
/// that the SQLite (<see cref="WorkerFailoverTests"/>) and PostgreSQL (<see cref="PostgresWorkerFailoverTests"/>)
/// clusters run the same code.
/// </summary>
public abstract class WorkerKillSpecs<TCluster>(TCluster cluster, ITestOutputHelper output) where TCluster : WorkerFailoverCluster
{
    protected TCluster Cluster => cluster;
    protected ITestOutputHelper Output => output;

    [SkippableFact]
    public async Task A_six_replica_deployment_over_three_zones_returns_to_six_ready_on_the_surviving_workers_after_one_is_killed()
    {
        Skip.If(cluster.SkipReason is not null, cluster.SkipReason);
        await EnsureAllUpAsync(cluster);
        using var http = Http(cluster);
        await ReadyNodeZonesAsync(http, 3, TimeSpan.FromSeconds(120));
        await CreateAsync(http, "/apis/apps/v1/namespaces/default/deployments", Deployment("spread", 6));
        await CreateAsync(http, "/api/v1/namespaces/default/services", JsonNode.Parse("""
            {"apiVersion":"v1","kind":"Service","metadata":{"name":"spread"},
             "spec":{"selector":{"app":"spread"},"ports":[{"name":"http","port":80,"targetPort":8080}]}}
            """)!.AsObject());
        await EventuallyAsync(async () => (await PodsAsync(http, "spread")).Count(IsReadyRunning) == 6,
            TimeSpan.FromSeconds(120), "6 ready pods before the fault");
        var before = (await PodsAsync(http, "spread")).Where(IsReadyRunning).Select(Identity).ToList();
        Assert.True(before.Select(p => p.Node).Distinct().Count() >= 2, $"the pods should spread over the workers, got {string.Join(", ", before.Select(p => p.Node))}");
        Assert.Contains(before, p => p.Node == "worker-b1");
        await EventuallyAsync(async () =>
        {
            var slices = (await SendAsync(http, HttpMethod.Get, "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3Dspread"))!;
            return DataPlaneProbe.ReadyOnTargets(((JsonArray)slices["items"]!).OfType<JsonObject>(), new HashSet<string> { "worker-b1" }).ContainsKey("default/spread");
        }, TimeSpan.FromSeconds(60), "the spread Service lists the pods on worker-b1");

        var report = await Runner(cluster, 120).RunAsync(FaultKind.Kill, "worker-b1", CancellationToken.None);
        output.WriteLine(report.ToText());

        Assert.True(report.Recovered, report.ToText());
        Assert.Contains(report.Timeline, t => t.Event == "removed worker-b1");
        Assert.Equal(0, report.CollateralPodDeletions);
        var pods = await PodsAsync(http, "spread");
        var running = pods.Where(IsReadyRunning).Select(Identity).ToList();
        Assert.Equal(6, running.Count);
        Assert.All(running, p => Assert.Contains(p.Node, new[] { "worker-a1", "worker-c1" }));
        Assert.DoesNotContain(pods, p => (string?)p["spec"]?["nodeName"] == "worker-b1" && p["metadata"]?["deletionTimestamp"] is null);
        await AssertNoPodAliveTwiceAsync(running, before.Where(p => p.Node == "worker-b1"));
        Assert.Contains("akkakube chaos restart worker-b1", string.Join("\n", report.Leftovers));

        // The data plane: the Service dropped worker-b1's endpoints, and traffic to its ClusterIP (through the user-space
        // proxies, which skip a refusing endpoint) and the surviving nodes' DNS kept answering.
        var data = report.DataPlane!;
        Assert.NotNull(data);
        Assert.Contains(report.Timeline, t => t.Event == "service endpoints off worker-b1");
        Assert.True(data.EndpointsOffTargetsAfterSeconds.TryGetValue("default/spread", out var off), data.ToText());
        // The node lifecycle controller marks a NotReady node's pods not ready: the endpoints go before the pods are evicted.
        Assert.True(off < report.Timeline.First(t => t.Event == "pods evicted").Seconds, report.ToText());
        Assert.True(data.ServiceRequests > 0, data.ToText());
        Assert.True(data.LastServiceFailureSeconds is null || data.LastServiceFailureSeconds <= off + 5, "Service traffic failed after the endpoints moved: " + data.ToText());
        Assert.Equal(2, data.DnsServers.Count);
        Assert.True(data.DnsQueries > 0 && data.DnsFailures == 0, data.ToText());
        await SendAsync(http, HttpMethod.Delete, "/api/v1/namespaces/default/services/spread");
    }
}

[Trait("Category", "Failover")]
public sealed partial class WorkerFailoverTests(WorkerFailoverCluster cluster, ITestOutputHelper output)
    : WorkerKillSpecs<WorkerFailoverCluster>(cluster, output), IClassFixture<WorkerFailoverCluster>
{
    /// <summary>
    /// `chaos restart` (a reboot: SIGKILL, then the same command line) of a worker that runs pods of the spread
    /// Deployment. Order-independent with the kill test: EnsureAllUpAsync first brings back a worker that test killed.
    /// </summary>
    [Fact]
    public async Task Rebooting_a_worker_brings_its_node_back_ready_and_changes_nothing_on_the_other_nodes()
    {
        const string target = "worker-c1";
        await EnsureAllUpAsync(Cluster);
        using var http = Http(Cluster);
        await ReadyNodeZonesAsync(http, 3, TimeSpan.FromSeconds(120));
        await CreateAsync(http, "/apis/apps/v1/namespaces/default/deployments", Deployment("spread", 6));
        await EventuallyAsync(async () => (await PodsAsync(http, "spread")).Count(IsReadyRunning) == 6,
            TimeSpan.FromSeconds(120), "6 ready pods before the reboot");
        var deploymentBefore = await SendAsync(http, HttpMethod.Get, "/apis/apps/v1/namespaces/default/deployments/spread");
        var before = (await PodsAsync(http, "spread")).Where(IsReadyRunning).Select(Identity).ToList();
        var elsewhere = before.Where(p => p.Node != target).ToList();
        Assert.Contains(before, p => p.Node == target); // the reboot hits running pods (the spread puts 2 or 3 on each worker)

        var report = await Runner(Cluster, 120).RunAsync(FaultKind.Restart, target, CancellationToken.None);
        Output.WriteLine(report.ToText());

        Assert.True(report.Recovered, report.ToText());
        Assert.Contains(report.Timeline, t => t.Event == $"Up again {target}");
        Assert.Equal(0, report.CollateralPodDeletions);
        // Its Node is Ready again without the unreachable taints, and the Deployment is back at 6 ready pods.
        await EventuallyAsync(async () =>
        {
            var node = (await SendAsync(http, HttpMethod.Get, $"/api/v1/nodes/{target}"))!;
            var taints = (node["spec"]?["taints"] as JsonArray)?.OfType<JsonObject>().Select(t => (string?)t["key"]) ?? [];
            return IsNodeReady(node) && !taints.Any(k => k is "node.kubernetes.io/unreachable" or "node.kubernetes.io/not-ready");
        }, TimeSpan.FromSeconds(120), $"Node {target} Ready and untainted");
        List<PodIdentity> running = [];
        await EventuallyAsync(async () =>
        {
            var pods = await PodsAsync(http, "spread");
            running = pods.Where(IsReadyRunning).Select(Identity).ToList();
            return running.Count == 6 && pods.Count == 6;
        }, TimeSpan.FromSeconds(120), "6 ready pods (and no other) after the reboot");

        // Nothing else changed: the pods on the other workers are the same pods (name, uid, IP, node), the Deployment
        // was not touched (same generation, same replicas), and no pod is alive twice.
        foreach (var p in elsewhere)
            Assert.Contains(p, running);
        var deploymentAfter = await SendAsync(http, HttpMethod.Get, "/apis/apps/v1/namespaces/default/deployments/spread");
        Assert.Equal((long?)deploymentBefore!["metadata"]?["generation"], (long?)deploymentAfter!["metadata"]?["generation"]);
        Assert.Equal(6, (int?)deploymentAfter["spec"]?["replicas"]);
        // The reboot's own pods were evicted and replaced, or restarted in place: an evicted one must not answer any more.
        await AssertNoPodAliveTwiceAsync(running, before.Where(p => p.Node == target && running.All(r => r.Name != p.Name)));
    }
}

/// <summary>The worker-kill test against a cluster whose journal is in PostgreSQL (skipped without AKKAKUBE_TEST_POSTGRES).</summary>
[Trait("Category", "Failover")]
public sealed class PostgresWorkerFailoverTests(PostgresWorkerFailoverCluster cluster, ITestOutputHelper output)
    : WorkerKillSpecs<PostgresWorkerFailoverCluster>(cluster, output), IClassFixture<PostgresWorkerFailoverCluster>;
