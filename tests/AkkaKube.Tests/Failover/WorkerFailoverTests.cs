using System.Text.Json.Nodes;
using AkkaKube.Cli.Chaos;

namespace AkkaKube.Tests.Failover;

/// <summary>Process-level: SIGKILL of a worker process in a 1 control-plane + 3 worker (3 zones) cluster.</summary>
[Trait("Category", "Failover")]
public sealed class WorkerFailoverTests(WorkerFailoverCluster cluster) : IClassFixture<WorkerFailoverCluster>
{
    [Fact]
    public async Task A_six_replica_deployment_over_three_zones_returns_to_six_ready_on_the_surviving_workers_after_one_is_killed()
    {
        await FailoverSupport.EnsureAllUpAsync(cluster);
        using var http = FailoverSupport.Http(cluster);
        await FailoverSupport.EventuallyAsync(async () =>
                ((await FailoverSupport.SendAsync(http, HttpMethod.Get, "/api/v1/nodes"))!["items"] as JsonArray)!.OfType<JsonObject>()
                .Count(n => (n["status"]?["conditions"] as JsonArray)?.OfType<JsonObject>().Any(c => (string?)c["type"] == "Ready" && (string?)c["status"] == "True") ?? false) == 3,
            TimeSpan.FromSeconds(90), "3 Ready worker Nodes");
        await FailoverSupport.CreateAsync(http, "/apis/apps/v1/namespaces/default/deployments", FailoverSupport.Deployment("spread", 6));
        await FailoverSupport.EventuallyAsync(async () => (await FailoverSupport.PodsAsync(http, "spread")).Count(FailoverSupport.IsReadyRunning) == 6,
            TimeSpan.FromSeconds(90), "6 ready pods before the fault");
        var zonesBefore = (await FailoverSupport.PodsAsync(http, "spread")).Select(p => (string?)p["spec"]?["nodeName"]).Distinct().Count();
        Assert.True(zonesBefore >= 2, $"the pods should spread over the workers, got {zonesBefore} node(s)");

        var report = await FailoverSupport.Runner(cluster, 90).RunAsync(FaultKind.Kill, "worker-b1", CancellationToken.None);

        Assert.True(report.Recovered, report.ToText());
        Assert.Contains(report.Timeline, t => t.Event == "removed worker-b1");
        var pods = await FailoverSupport.PodsAsync(http, "spread");
        var running = pods.Where(FailoverSupport.IsReadyRunning).ToList();
        Assert.Equal(6, running.Count);
        Assert.All(running, p => Assert.Contains((string)p["spec"]!["nodeName"]!, new[] { "worker-a1", "worker-c1" }));
        Assert.Equal(running.Count, running.Select(p => (string)p["metadata"]!["name"]!).Distinct().Count());
        Assert.Equal(running.Count, running.Select(p => (string?)p["status"]?["podIP"]).Distinct().Count());
        Assert.DoesNotContain(pods, p => (string?)p["spec"]?["nodeName"] == "worker-b1" && p["metadata"]?["deletionTimestamp"] is null);
        Assert.Contains("akkakube chaos restart worker-b1", string.Join("\n", report.Leftovers));
    }
}
