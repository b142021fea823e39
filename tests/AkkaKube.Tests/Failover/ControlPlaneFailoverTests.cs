using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using AkkaKube.Cli.Chaos;
using AkkaKube.Cli.History;
using Xunit.Abstractions;

namespace AkkaKube.Tests.Failover;

/// <summary>
/// Process-level: SIGKILL of the singleton host in a 3 control-plane + 1 worker cluster. The test lives here so that the
/// SQLite (<see cref="ControlPlaneFailoverTests"/>) and PostgreSQL (<see cref="PostgresControlPlaneFailoverTests"/>)
/// clusters run the same code.
/// </summary>
public abstract class ControlPlaneKillSpecs<TCluster>(TCluster cluster, ITestOutputHelper output) where TCluster : ControlPlaneFailoverCluster
{
    protected TCluster Cluster => cluster;
    protected ITestOutputHelper Output => output;

    [SkippableFact]
    public async Task Killing_the_singleton_host_keeps_the_api_answering_loses_no_acknowledged_write_scheduling_resumes_and_new_pods_run()
    {
        Skip.If(cluster.SkipReason is not null, cluster.SkipReason);
        await FailoverSupport.EnsureAllUpAsync(cluster);
        using var http = FailoverSupport.Http(cluster);
        // Pods on the healthy worker: the hand-over of the controllers must not touch them.
        await FailoverSupport.CreateAsync(http, "/apis/apps/v1/namespaces/default/deployments", FailoverSupport.Deployment("steady", 2));
        await FailoverSupport.EventuallyAsync(async () => (await FailoverSupport.PodsAsync(http, "steady")).Count(FailoverSupport.IsReadyRunning) == 2,
            TimeSpan.FromSeconds(90), "2 steady pods Ready");
        var steadyBefore = (await FailoverSupport.PodsAsync(http, "steady")).Select(FailoverSupport.Identity).OrderBy(p => p.Uid).ToList();
        var acknowledged = new ConcurrentBag<string>();
        using var stop = new CancellationTokenSource();
        var writer = Task.Run(async () =>
        {
            var attempts = 0;
            while (!stop.IsCancellationRequested)
            {
                var name = $"ack-{attempts++}";
                try
                {
                    await FailoverSupport.SendAsync(http, HttpMethod.Post, "/api/v1/namespaces/default/configmaps", new JsonObject
                    {
                        ["apiVersion"] = "v1", ["kind"] = "ConfigMap", ["metadata"] = new JsonObject { ["name"] = name },
                        ["data"] = new JsonObject { ["n"] = name },
                    });
                    acknowledged.Add(name);
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    // not acknowledged: may or may not exist afterwards
                }
                await Task.Delay(50);
            }
        });

        ChaosReport report;
        try
        {
            report = await FailoverSupport.Runner(cluster, 120).RunAsync(FaultKind.KillLeader, null, CancellationToken.None);
        }
        finally
        {
            stop.Cancel();
            await writer;
        }

        output.WriteLine(report.ToText());
        Assert.True(report.Recovered, report.ToText());
        Assert.Contains(report.Timeline, t => t.Event == "new pod bound");
        Assert.Contains(report.Timeline, t => t.Event == "singletons moved");
        Assert.True(report.ApiProbes > 0 && report.ApiFailures * 4 <= report.ApiProbes, $"the API should keep answering through the surviving apiservers:\n{report.ToText()}");
        Assert.Equal(0, report.CollateralPodDeletions);
        // Every store partition the killed node hosted answers on a survivor again.
        Assert.DoesNotContain(report.Notes, n => n.StartsWith("store partitions not answering", StringComparison.Ordinal));
        Assert.All(report.PartitionMoves ?? [], m => Assert.DoesNotContain(m.Value, report.Targets));
        var steadyAfter = (await FailoverSupport.PodsAsync(http, "steady")).Where(FailoverSupport.IsReadyRunning).Select(FailoverSupport.Identity).OrderBy(p => p.Uid).ToList();
        Assert.Equal(steadyBefore, steadyAfter); // same pods (uid, name, IP, node), still Ready: nothing evicted or restarted
        Assert.NotEmpty(acknowledged);
        foreach (var name in acknowledged)
        {
            var cm = await FailoverSupport.SendAsync(http, HttpMethod.Get, $"/api/v1/namespaces/default/configmaps/{name}");
            Assert.Equal(name, (string?)cm!["data"]?["n"]);
        }
        output.WriteLine($"{acknowledged.Count} acknowledged writes, every one read back");

        // The worker's kubelet still sees pods bound to it: its pods watch survived (or re-listed after) the death of
        // the node that may have hosted the pods partition.
        var pod = $"after-kill-{Guid.NewGuid():N}"[..20];
        await FailoverSupport.CreateAsync(http, "/api/v1/namespaces/default/pods", new JsonObject
        {
            ["apiVersion"] = "v1", ["kind"] = "Pod", ["metadata"] = new JsonObject { ["name"] = pod },
            ["spec"] = new JsonObject
            {
                ["terminationGracePeriodSeconds"] = 0,
                ["containers"] = new JsonArray(new JsonObject { ["name"] = "echo", ["image"] = "akkakube/echo" }),
            },
        });
        try
        {
            await FailoverSupport.EventuallyAsync(async () =>
                (string?)(await FailoverSupport.SendAsync(http, HttpMethod.Get, $"/api/v1/namespaces/default/pods/{pod}"))!["status"]?["phase"] == "Running",
                TimeSpan.FromSeconds(60), $"pod {pod} Running after the kill");
        }
        finally
        {
            try { await FailoverSupport.SendAsync(http, HttpMethod.Delete, $"/api/v1/namespaces/default/pods/{pod}"); }
            catch (HttpRequestException) { }
        }
    }

}

/// <summary>Process-level: control-plane faults in a 3 control-plane + 1 worker cluster (SQLite journal).</summary>
[Trait("Category", "Failover")]
public sealed class ControlPlaneFailoverTests(ControlPlaneFailoverCluster cluster, ITestOutputHelper output)
    : ControlPlaneKillSpecs<ControlPlaneFailoverCluster>(cluster, output), IClassFixture<ControlPlaneFailoverCluster>
{
    [Fact]
    public async Task A_history_recorded_while_a_control_plane_node_is_killed_and_restarted_is_linearizable()
    {
        await FailoverSupport.EnsureAllUpAsync(Cluster);
        var history = new HistoryClient(Cluster.Credentials, keyPrefix: "lin-cp")
        {
            // The checker handles at most 63 calls per key in a window, and a call with an unknown outcome (expected
            // while a node dies) keeps its window open to the end: so ~30 calls per key, spread over the fault.
            Clients = 4,
            Keys = 40,
            UnknownBackoff = TimeSpan.FromSeconds(1),
            ThinkTime = TimeSpan.FromMilliseconds(40),
            MaxOperations = 1_200,
            MaxDuration = TimeSpan.FromSeconds(60),
        };
        using var stop = new CancellationTokenSource();
        var recording = history.RunAsync(stop.Token);
        ChaosReport report;
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(1)); // some operations before the fault
            report = await FailoverSupport.Runner(Cluster, 90).RunAsync(FaultKind.Restart, "cp-2", CancellationToken.None);
        }
        finally
        {
            stop.CancelAfter(TimeSpan.FromSeconds(3)); // a few operations after the node is back
        }
        var ops = await recording;
        Output.WriteLine(report.ToText());

        Assert.True(report.Recovered, report.ToText());
        Assert.True(ops.Count > 100, $"only {ops.Count} operations recorded");
        // A read without an answer constrains nothing (it has no effect): leave it out of the history.
        var result = LinearizabilityChecker.Check(ops.Where(o => !(o.Kind == OpKind.Get && o.Outcome == OpOutcome.Unknown)));
        Assert.True(result.Linearizable, $"key {result.Key}: {result.Explanation} (outcomes: {string.Join(", ", ops.GroupBy(o => o.Outcome).Select(g => $"{g.Key}={g.Count()}"))})");
    }
}

/// <summary>The kill-leader test against a cluster whose journal is in PostgreSQL (skipped without AKKAKUBE_TEST_POSTGRES).</summary>
[Trait("Category", "Failover")]
public sealed class PostgresControlPlaneFailoverTests(PostgresControlPlaneFailoverCluster cluster, ITestOutputHelper output)
    : ControlPlaneKillSpecs<PostgresControlPlaneFailoverCluster>(cluster, output), IClassFixture<PostgresControlPlaneFailoverCluster>;
