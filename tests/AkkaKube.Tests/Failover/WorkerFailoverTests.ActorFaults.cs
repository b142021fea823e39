using System.Text.Json.Nodes;
using AkkaKube.Cli.Chaos;
using static AkkaKube.Tests.Failover.FailoverSupport;

namespace AkkaKube.Tests.Failover;

/// <summary>
/// Supervision faults through the real chaos runner (`akkakube chaos crash-actor|stop-actor`) on the worker-failover
/// cluster (1 control-plane + 3 workers, real processes): a store partition and a PodWorker crash and are restarted in
/// place, a PodWorker is stopped and re-created; the Deployment stays Ready and no data or process is lost that should not be.
/// </summary>
public sealed partial class WorkerFailoverTests
{
    private const string ActorsApp = "actors";

    /// <summary>PIDs of live processes whose environment names <paramref name="pod"/> (the container and its children).</summary>
    private static SortedSet<int> PodProcesses(string pod)
    {
        var entry = "AKKAKUBE_POD_NAME=" + pod;
        var pids = new SortedSet<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            try
            {
                if (File.ReadAllText(Path.Combine(dir, "environ")).Split('\0').Contains(entry) && !File.ReadAllText(Path.Combine(dir, "stat")).Contains(") Z "))
                    pids.Add(pid);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
        return pids;
    }

    /// <summary>All nodes up, the 2-replica "actors" Deployment ready; returns one of its Ready pods.</summary>
    private async Task<JsonObject> ActorsPodAsync(HttpClient http)
    {
        await EnsureAllUpAsync(Cluster);
        await ReadyNodeZonesAsync(http, 3, TimeSpan.FromSeconds(120));
        await CreateAsync(http, "/apis/apps/v1/namespaces/default/deployments", Deployment(ActorsApp, 2));
        JsonObject? pod = null;
        await EventuallyAsync(async () =>
        {
            var ready = (await PodsAsync(http, ActorsApp)).Where(IsReadyRunning).ToList();
            pod = ready.OrderBy(p => (string?)p["metadata"]?["name"], StringComparer.Ordinal).FirstOrDefault();
            return ready.Count == 2 && PodProcesses((string)pod!["metadata"]!["name"]!).Count > 0;
        }, TimeSpan.FromSeconds(120), "2 ready pods of the actors Deployment with their processes");
        return pod!;
    }

    private static int RestartCount(JsonObject pod) => (int?)pod["status"]?["containerStatuses"]?[0]?["restartCount"] ?? -1;

    [Fact]
    public async Task Crash_actor_on_a_store_partition_restarts_it_in_place_and_it_serves_what_was_written_before()
    {
        using var http = Http(Cluster);
        await ActorsPodAsync(http);
        await CreateAsync(http, "/api/v1/namespaces/default/configmaps",
            JsonNode.Parse("""{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"before-crash"},"data":{"k":"v"}}""")!.AsObject());
        var before = await SendAsync(http, HttpMethod.Get, "/api/v1/namespaces/default/configmaps/before-crash");

        var report = await Runner(Cluster, 60).CrashActorAsync("cp-1", "store/configmaps", CancellationToken.None);
        Output.WriteLine(report.ToText());

        Assert.True(report.Recovered, report.ToText());
        var actor = report.Actor!;
        Assert.StartsWith("/system/sharding/store/", actor.Path);
        Assert.Equal("StoreActor", actor.Type);
        Assert.Equal(actor.FailuresBefore + 1, actor.FailuresAfter);
        Assert.Equal(actor.UidBefore, actor.UidAfter); // restarted in place, not re-created
        Assert.StartsWith("recovered partition configmaps from the journal: revision ", actor.Resynced);
        var after = await SendAsync(http, HttpMethod.Get, "/api/v1/namespaces/default/configmaps/before-crash");
        Assert.Equal(before!.ToJsonString(), after!.ToJsonString());
        // It keeps serving writes.
        await SendAsync(http, HttpMethod.Post, "/api/v1/namespaces/default/configmaps",
            JsonNode.Parse("""{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"after-crash"}}""")!.AsObject());
        Assert.Equal(2, (await PodsAsync(http, ActorsApp)).Count(IsReadyRunning));
    }

    [Fact]
    public async Task Crash_actor_on_a_pod_worker_restarts_it_in_place_and_it_re_adopts_the_same_container_processes()
    {
        using var http = Http(Cluster);
        var pod = await ActorsPodAsync(http);
        var name = (string)pod["metadata"]!["name"]!;
        var node = (string)pod["spec"]!["nodeName"]!;
        var pids = PodProcesses(name);

        var report = await Runner(Cluster, 60).CrashActorAsync(node, $"pod/default/{name}", CancellationToken.None);
        Output.WriteLine(report.ToText());

        Assert.True(report.Recovered, report.ToText());
        var actor = report.Actor!;
        Assert.Equal($"/user/kubelet/pods/pod-{(string)pod["metadata"]!["uid"]!}", actor.Path);
        Assert.Equal(actor.FailuresBefore + 1, actor.FailuresAfter);
        Assert.Equal(actor.UidBefore, actor.UidAfter);
        Assert.Matches(@"^re-adopted 1 running container\(s\): echo pid \d+;", actor.Resynced);
        var adoptedPid = int.Parse(System.Text.RegularExpressions.Regex.Match(actor.Resynced!, @"pid (\d+)").Groups[1].Value);
        Assert.Contains(adoptedPid, pids);
        Assert.Equal(pids, PodProcesses(name));
        var now = await SendAsync(http, HttpMethod.Get, $"/api/v1/namespaces/default/pods/{name}");
        Assert.True(IsReadyRunning(now!));
        Assert.Equal(RestartCount(pod), RestartCount(now!));
        Assert.Equal(2, (await PodsAsync(http, ActorsApp)).Count(IsReadyRunning));
    }

    [Fact]
    public async Task Stop_actor_on_a_pod_worker_has_the_kubelet_re_create_it_and_the_same_pod_runs_again()
    {
        using var http = Http(Cluster);
        var pod = await ActorsPodAsync(http);
        var name = (string)pod["metadata"]!["name"]!;
        var node = (string)pod["spec"]!["nodeName"]!;
        var pids = PodProcesses(name);

        var report = await Runner(Cluster, 60).StopActorAsync(node, $"pod/default/{name}", CancellationToken.None);
        Output.WriteLine(report.ToText());

        Assert.True(report.Recovered, report.ToText());
        var actor = report.Actor!;
        Assert.NotEqual(actor.UidBefore, actor.UidAfter); // a new incarnation
        Assert.Equal(actor.FailuresBefore, actor.FailuresAfter); // a stop is no failure
        Assert.Contains(report.Timeline, t => t.Event == "stopped");
        Assert.Matches(@"^re-created by the kubelet from its pod cache; containers started again and ready: echo pid \d+ \(restart count \d+\)$", actor.Resynced);
        // The same pod (not a replacement) runs again, its container restarted: new processes, restart count + 1.
        var newPid = int.Parse(System.Text.RegularExpressions.Regex.Match(actor.Resynced!, @"pid (\d+)").Groups[1].Value);
        Assert.Contains(newPid, PodProcesses(name));
        var now = await SendAsync(http, HttpMethod.Get, $"/api/v1/namespaces/default/pods/{name}");
        Assert.Equal((string)pod["metadata"]!["uid"]!, (string)now!["metadata"]!["uid"]!);
        Assert.True(IsReadyRunning(now));
        Assert.Equal(RestartCount(pod) + 1, RestartCount(now));
        Assert.Empty(PodProcesses(name).Intersect(pids));
        Assert.Equal(2, (await PodsAsync(http, ActorsApp)).Count(IsReadyRunning));
    }

    [Fact]
    public async Task Stop_actor_on_a_store_partition_has_its_shard_re_create_it_from_the_journal()
    {
        using var http = Http(Cluster);
        await ActorsPodAsync(http);
        await CreateAsync(http, "/api/v1/namespaces/default/configmaps",
            JsonNode.Parse("""{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"before-stop"},"data":{"k":"v"}}""")!.AsObject());
        var before = await SendAsync(http, HttpMethod.Get, "/api/v1/namespaces/default/configmaps/before-stop");

        var report = await Runner(Cluster, 60).StopActorAsync("cp-1", "store/configmaps", CancellationToken.None);
        Output.WriteLine(report.ToText());

        Assert.True(report.Recovered, report.ToText());
        var actor = report.Actor!;
        Assert.NotEqual(actor.UidBefore, actor.UidAfter);
        Assert.Equal(actor.FailuresBefore, actor.FailuresAfter);
        Assert.StartsWith("its Shard", actor.RecreatedBy);
        Assert.StartsWith("recovered partition configmaps from the journal: revision ", actor.Resynced);
        var after = await SendAsync(http, HttpMethod.Get, "/api/v1/namespaces/default/configmaps/before-stop");
        Assert.Equal(before!.ToJsonString(), after!.ToJsonString());
    }

    [Fact]
    public async Task Crash_actor_on_the_scheduler_and_on_a_controller_restarts_each_which_re_lists_and_scheduling_goes_on()
    {
        using var http = Http(Cluster);
        await ActorsPodAsync(http);

        var scheduler = await Runner(Cluster, 60).CrashActorAsync("cp-1", "scheduler", CancellationToken.None);
        Output.WriteLine(scheduler.ToText());
        Assert.True(scheduler.Recovered, scheduler.ToText());
        Assert.Equal(scheduler.Actor!.FailuresBefore + 1, scheduler.Actor.FailuresAfter);
        Assert.StartsWith("re-listed nodes and pods", scheduler.Actor.Resynced);

        var controller = await Runner(Cluster, 60).CrashActorAsync("worker-a1", "replicaset", CancellationToken.None);
        Output.WriteLine(controller.ToText());
        Assert.True(controller.Recovered, controller.ToText());
        Assert.Equal(controller.StartsBefore!["replicaset"] + 1, controller.StartsAfter!["replicaset"]);

        // Both work after their restart: a new Deployment's pod is created, scheduled and run.
        await CreateAsync(http, "/apis/apps/v1/namespaces/default/deployments", Deployment("after-restarts", 1));
        await EventuallyAsync(async () => (await PodsAsync(http, "after-restarts")).Count(IsReadyRunning) == 1,
            TimeSpan.FromSeconds(60), "the new Deployment's pod ready after the scheduler and the replicaset controller restarted");
        await SendAsync(http, HttpMethod.Delete, "/apis/apps/v1/namespaces/default/deployments/after-restarts");
        // Gone before the next test of this cluster: a pod deleted during its chaos run would count as collateral.
        await EventuallyAsync(async () => (await PodsAsync(http, "after-restarts")).Count == 0,
            TimeSpan.FromSeconds(60), "the Deployment's pod deleted");
    }

    [Fact]
    public async Task Crash_actor_and_stop_actor_refuse_actors_that_do_not_take_the_fault_and_unknown_paths_with_one_line()
    {
        var runner = Runner(Cluster, 10);
        var notCrashable = await Assert.ThrowsAsync<AkkaKube.Cli.CliException>(() => runner.CrashActorAsync("cp-1", "/user/apiserver", CancellationToken.None));
        Assert.Contains("does not take injected crashes; crashable: controllers", notCrashable.Message);
        var unknown = await Assert.ThrowsAsync<AkkaKube.Cli.CliException>(() => runner.CrashActorAsync("cp-1", "/user/kubelett", CancellationToken.None));
        Assert.Contains("no actor at '/user/kubelett'", unknown.Message);
        var controller = await Assert.ThrowsAsync<AkkaKube.Cli.CliException>(() => runner.StopActorAsync("cp-1", "replicaset", CancellationToken.None));
        Assert.Contains("controllers are not re-created after a stop", controller.Message);
        var partition = await Assert.ThrowsAsync<AkkaKube.Cli.CliException>(() => runner.CrashActorAsync("cp-1", "store/no-such-partition", CancellationToken.None));
        Assert.Contains("store partition 'no-such-partition' is not hosted on cp-1", partition.Message);
    }
}
