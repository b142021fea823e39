using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using AkkaKube.Cli.Chaos;
using Xunit.Abstractions;
using static AkkaKube.Tests.Failover.FailoverSupport;

namespace AkkaKube.Tests.Failover;

/// <summary>Process-level: the loss of a whole zone (2 workers) in a 1 control-plane + 6 worker (3 zones) cluster.</summary>
[Trait("Category", "Failover")]
public sealed class ZoneFailoverTests(ZoneFailoverCluster cluster, ITestOutputHelper output) : IClassFixture<ZoneFailoverCluster>
{
    private const string LostZone = "zone-c";

    [Fact]
    public async Task Killing_both_workers_of_a_zone_evicts_their_pods_and_re_spreads_six_replicas_three_and_three_over_the_surviving_zones()
    {
        await EnsureAllUpAsync(cluster);
        using var http = Http(cluster);
        var zoneOf = await ReadyNodeZonesAsync(http, 6, TimeSpan.FromSeconds(180));
        var lostNodes = zoneOf.Where(z => z.Value == LostZone).Select(z => z.Key).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(["worker-c1", "worker-c2"], lostNodes);

        // Zone spread with ScheduleAnyway, as a user who wants the workload to survive a zone's loss writes it:
        // DoNotSchedule (maxSkew 1) would leave the replacements Pending while a zone is gone.
        await CreateAsync(http, "/apis/apps/v1/namespaces/default/deployments", Deployment("zonal", 6));
        await EventuallyAsync(async () => (await PodsAsync(http, "zonal")).Count(IsReadyRunning) == 6,
            TimeSpan.FromSeconds(180), "6 ready pods before the fault");
        var before = (await PodsAsync(http, "zonal")).Where(IsReadyRunning).Select(Identity).ToList();
        Assert.Equal(new[] { ("zone-a", 2), ("zone-b", 2), ("zone-c", 2) }, PerZone(before, zoneOf));

        // Watch the Nodes while the fault runs: which taints and Ready states each one went through.
        var seen = new ConcurrentDictionary<string, ConcurrentDictionary<string, bool>>();
        using var stopWatching = new CancellationTokenSource();
        var watcher = Task.Run(async () =>
        {
            while (!stopWatching.IsCancellationRequested)
            {
                try
                {
                    foreach (var node in ((await SendAsync(http, HttpMethod.Get, "/api/v1/nodes"))!["items"] as JsonArray)!.OfType<JsonObject>())
                    {
                        var states = seen.GetOrAdd((string)node["metadata"]!["name"]!, _ => new());
                        if (!IsNodeReady(node)) states.TryAdd("NotReady", true);
                        foreach (var t in (node["spec"]?["taints"] as JsonArray ?? []).OfType<JsonObject>())
                            states.TryAdd($"{(string?)t["key"]}:{(string?)t["effect"]}", true);
                    }
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { }
                try { await Task.Delay(250, stopWatching.Token); } catch (OperationCanceledException) { }
            }
        });
        ChaosReport report;
        try
        {
            report = await Runner(cluster, 150).RunAsync(FaultKind.KillZone, LostZone, CancellationToken.None);
        }
        finally
        {
            await stopWatching.CancelAsync();
            await watcher;
        }
        output.WriteLine(report.ToText());

        Assert.True(report.Recovered, report.ToText());
        Assert.Equal(lostNodes, report.Targets.Order(StringComparer.Ordinal));
        foreach (var n in lostNodes)
        {
            Assert.Contains(report.Timeline, t => t.Event == $"removed {n}");
            Assert.Contains(report.Timeline, t => t.Event == $"tainted NoExecute {n}");
            // Kubernetes' zone-disruption rule: a wholly disrupted zone while the others are healthy is evacuated at the
            // normal eviction rate (not held as a partial disruption would be): both Nodes got the NoExecute taint.
            Assert.True(seen.TryGetValue(n, out var states) && states.ContainsKey("node.kubernetes.io/unreachable:NoExecute"),
                $"{n} never got the unreachable NoExecute taint (seen: {string.Join(", ", states?.Keys ?? [])})\n{report.ToText()}");
        }
        Assert.Contains(report.Timeline, t => t.Event == "pods evicted");
        Assert.Equal(0, report.CollateralPodDeletions);
        foreach (var (n, states) in seen.Where(s => !lostNodes.Contains(s.Key)))
            Assert.True(states.IsEmpty, $"{n} (not in the lost zone) went through {string.Join(", ", states.Keys)}\n{report.ToText()}");

        // The lost zone's pods are evicted, not stuck (its members were removed: deleted at once, nothing Terminating
        // left), and the Deployment is back at 6 ready pods, 3 and 3 over the surviving zones.
        List<PodIdentity> running = [];
        await EventuallyAsync(async () =>
        {
            var pods = await PodsAsync(http, "zonal");
            running = pods.Where(IsReadyRunning).Select(Identity).ToList();
            return pods.Count == 6 && running.Count == 6;
        }, TimeSpan.FromSeconds(60), "6 ready pods and no other after the fault");
        Assert.Equal(new[] { ("zone-a", 3), ("zone-b", 3) }, PerZone(running, zoneOf));
        var deployment = await SendAsync(http, HttpMethod.Get, "/apis/apps/v1/namespaces/default/deployments/zonal");
        Assert.Equal(6, (int?)deployment!["status"]?["readyReplicas"]);
        await AssertNoPodAliveTwiceAsync(running, before.Where(p => lostNodes.Contains(p.Node)));
        Assert.Equal(lostNodes.Count, report.Leftovers.Count(l => l.Contains("akkakube chaos restart worker-c", StringComparison.Ordinal)));
    }

    private static (string Zone, int Pods)[] PerZone(IEnumerable<PodIdentity> pods, IReadOnlyDictionary<string, string> zoneOf) =>
        pods.GroupBy(p => zoneOf[p.Node]).Select(g => (g.Key, g.Count())).OrderBy(z => z.Key, StringComparer.Ordinal).ToArray();
}
