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
        // … and the report splits each hand-over: started on the survivor after the fault, recovered no earlier than it started.
        Assert.Equal((report.PartitionMoves ?? []).Keys.Order(), (report.PartitionHandovers ?? []).Keys.Order());
        Assert.All(report.PartitionHandovers ?? [], h =>
        {
            Assert.True(h.Value.StartedAfterSeconds > 0, $"{h.Key}: {h.Value}");
            Assert.True(h.Value.RecoveredAfterSeconds >= h.Value.StartedAfterSeconds, $"{h.Key}: {h.Value}");
        });
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
    /// <summary>
    /// Rollouts of every workload kind in flight while the node hosting the controller-manager singleton is killed:
    /// each finishes after the hand-over, with exactly the pods it should have (no extra pod from a controller that
    /// forgot what its predecessor created, no completion counted twice).
    /// </summary>
    [Fact]
    public async Task Rollouts_of_every_workload_kind_finish_after_the_controller_manager_host_is_killed_with_no_extra_pods()
    {
        await FailoverSupport.EnsureAllUpAsync(Cluster);
        using var http = FailoverSupport.Http(Cluster);
        const string ns = "/namespaces/default";
        await FailoverSupport.CreateAsync(http, $"/apis/apps/v1{ns}/deployments", FailoverSupport.Deployment("roll", 4));
        await FailoverSupport.EventuallyAsync(async () => (await FailoverSupport.PodsAsync(http, "roll")).Count(FailoverSupport.IsReadyRunning) == 4,
            TimeSpan.FromSeconds(90), "4 roll pods Ready");

        // Start every rollout, then kill at once.
        using (var patch = new HttpRequestMessage(HttpMethod.Patch, $"/apis/apps/v1{ns}/deployments/roll")
               {
                   Content = new StringContent("""{"spec":{"template":{"metadata":{"annotations":{"rollout":"2"}}}}}""", System.Text.Encoding.UTF8, "application/merge-patch+json"),
               })
        using (var r = await http.SendAsync(patch))
            Assert.True(r.IsSuccessStatusCode, await r.Content.ReadAsStringAsync());
        await FailoverSupport.CreateAsync(http, $"/apis/batch/v1{ns}/jobs", JsonNode.Parse("""
            {"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"batch"},
             "spec":{"completions":6,"parallelism":2,"backoffLimit":0,"template":{"metadata":{"labels":{"app":"batch"}},"spec":{
               "restartPolicy":"Never","terminationGracePeriodSeconds":1,
               "containers":[{"name":"work","image":"busybox","command":["sh","-c","sleep 1"]}]}}}}
            """)!.AsObject());
        await FailoverSupport.CreateAsync(http, $"/apis/apps/v1{ns}/statefulsets", JsonNode.Parse("""
            {"apiVersion":"apps/v1","kind":"StatefulSet","metadata":{"name":"web"},
             "spec":{"replicas":3,"serviceName":"web","selector":{"matchLabels":{"app":"web"}},
               "template":{"metadata":{"labels":{"app":"web"}},"spec":{"terminationGracePeriodSeconds":1,
                 "containers":[{"name":"echo","image":"akkakube/echo"}]}}}}
            """)!.AsObject());
        await FailoverSupport.CreateAsync(http, $"/apis/apps/v1{ns}/daemonsets", JsonNode.Parse("""
            {"apiVersion":"apps/v1","kind":"DaemonSet","metadata":{"name":"agent"},
             "spec":{"selector":{"matchLabels":{"app":"agent"}},
               "template":{"metadata":{"labels":{"app":"agent"}},"spec":{"terminationGracePeriodSeconds":1,
                 "containers":[{"name":"pause","image":"akkakube/pause"}]}}}}
            """)!.AsObject());

        // Every pod uid seen while the rollouts run (a poll may miss a short-lived pod, never invent one): more than the
        // kind allows means a controller created a pod its predecessor had already created.
        var seen = new ConcurrentDictionary<string, string>();
        using var stop = new CancellationTokenSource();
        var observer = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    var list = await FailoverSupport.SendAsync(http, HttpMethod.Get, $"/api/v1{ns}/pods");
                    foreach (var pod in (list!["items"] as JsonArray ?? []).OfType<JsonObject>())
                        seen.TryAdd((string)pod["metadata"]!["uid"]!, (string?)pod["metadata"]!["labels"]?["app"] ?? "");
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { }
                await Task.Delay(200);
            }
        });
        ChaosReport report;
        try
        {
            report = await FailoverSupport.Runner(Cluster, 120).RunAsync(FaultKind.KillLeader, null, CancellationToken.None);
            Output.WriteLine(report.ToText());
            Assert.True(report.Recovered, report.ToText());
            Assert.Contains(report.Timeline, t => t.Event == "singletons moved");

            async Task<JsonObject> Get(string path) => (await FailoverSupport.SendAsync(http, HttpMethod.Get, path))!;
            await FailoverSupport.EventuallyAsync(async () =>
            {
                var d = await Get($"/apis/apps/v1{ns}/deployments/roll");
                return (int?)d["status"]?["updatedReplicas"] == 4 && (int?)d["status"]?["readyReplicas"] == 4 && (int?)d["status"]?["replicas"] == 4;
            }, TimeSpan.FromSeconds(120), "the Deployment rollout finished");
            await FailoverSupport.EventuallyAsync(async () =>
                (await Get($"/apis/batch/v1{ns}/jobs/batch"))["status"]?["conditions"]?.AsArray()
                    .Any(c => (string?)c!["type"] == "Complete" && (string?)c["status"] == "True") == true,
                TimeSpan.FromSeconds(120), "the Job completed");
            await FailoverSupport.EventuallyAsync(async () => (int?)(await Get($"/apis/apps/v1{ns}/statefulsets/web"))["status"]?["readyReplicas"] == 3,
                TimeSpan.FromSeconds(120), "the StatefulSet has 3 ready replicas");
            await FailoverSupport.EventuallyAsync(async () =>
            {
                var ds = (await Get($"/apis/apps/v1{ns}/daemonsets/agent"))["status"];
                return (int?)ds?["desiredNumberScheduled"] is > 0 and var want && (int?)ds?["numberReady"] == want && (int?)ds?["updatedNumberScheduled"] == want;
            }, TimeSpan.FromSeconds(120), "the DaemonSet is ready on every eligible node");
        }
        finally
        {
            stop.Cancel();
            await observer;
        }

        var pods = (await FailoverSupport.SendAsync(http, HttpMethod.Get, $"/api/v1{ns}/pods"))!["items"]!.AsArray().OfType<JsonObject>()
            .Where(p => p["metadata"]!["deletionTimestamp"] is null).ToList();
        List<JsonObject> Of(string app) => pods.Where(p => (string?)p["metadata"]!["labels"]?["app"] == app).ToList();

        // Deployment: exactly 4 pods, all of the new template; at most the 4 old + 4 new ever existed.
        var roll = Of("roll");
        Assert.Equal(4, roll.Count);
        Assert.Single(roll.Select(p => (string?)p["metadata"]!["labels"]!["pod-template-hash"]).Distinct());
        Assert.True(seen.Count(kv => kv.Value == "roll") <= 8, $"{seen.Count(kv => kv.Value == "roll")} roll pods existed (at most 4 old + 4 new)");
        // Job: 6 completions from exactly 6 succeeded pods, none failed (backoffLimit 0 would fail the Job).
        var job = (await FailoverSupport.SendAsync(http, HttpMethod.Get, $"/apis/batch/v1{ns}/jobs/batch"))!;
        Assert.Equal(6, (int)job["status"]!["succeeded"]!);
        // The Job keeps its finished pods: exactly 6 exist, all Succeeded, and no other was seen meanwhile.
        Assert.Equal(6, Of("batch").Count);
        Assert.Equal(6, Of("batch").Count(p => (string?)p["status"]?["phase"] == "Succeeded"));
        Assert.True(seen.Count(kv => kv.Value == "batch") <= 6, $"{seen.Count(kv => kv.Value == "batch")} Job pods existed for 6 completions");
        // StatefulSet: web-0..2, each once.
        Assert.Equal(["web-0", "web-1", "web-2"], Of("web").Select(p => (string)p["metadata"]!["name"]!).Order());
        Assert.True(seen.Count(kv => kv.Value == "web") <= 3, $"{seen.Count(kv => kv.Value == "web")} StatefulSet pods existed for 3 replicas");
        // DaemonSet: one pod per node it chose.
        var agents = Of("agent");
        Assert.Equal(agents.Count, agents.Select(p => (string?)p["spec"]?["nodeName"]).Distinct().Count());

        foreach (var path in new[] { $"/apis/apps/v1{ns}/deployments/roll", $"/apis/batch/v1{ns}/jobs/batch", $"/apis/apps/v1{ns}/statefulsets/web", $"/apis/apps/v1{ns}/daemonsets/agent" })
        {
            try { await FailoverSupport.SendAsync(http, HttpMethod.Delete, path + "?propagationPolicy=Background"); }
            catch (HttpRequestException) { }
        }
    }

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
