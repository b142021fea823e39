using System.Text.Json.Nodes;
using AkkaKube.Actors.Chaos;
using AkkaKube.Actors.Kubelet;
using AkkaKube.Cli.Chaos;

namespace AkkaKube.Tests.Chaos;

/// <summary>Pure parts of crash-actor/stop-actor: target paths, the pod-status restore of a restarted PodWorker, the report.</summary>
public class ActorFaultLogicTests
{
    [Theory]
    [InlineData("akka.tcp://akkakube@127.1.0.1:4053/user/kubelet/pod-x#123", "/user/kubelet/pod-x")]
    [InlineData("/system/sharding/store/12/pods/", "/system/sharding/store/12/pods")]
    [InlineData("/user", "/user")]
    [InlineData("store/pods", null)]
    [InlineData("pod/default/web", null)]
    [InlineData("scheduler", null)]
    public void Targets_with_a_slash_or_an_address_are_paths_and_the_rest_are_friendly_names(string input, string? path) =>
        Assert.Equal(path, ChaosPalette.PathOf(input));

    private static JsonArray Statuses(string json) => JsonNode.Parse(json)!.AsArray();

    [Fact]
    public void A_restarted_pod_worker_restores_restart_counts_last_states_and_ended_containers_from_the_status_it_wrote()
    {
        var running = new ContainerState("run", "img", isInit: false);
        var backoff = new ContainerState("loop", "img", isInit: false);
        var fresh = new ContainerState("new", "img", isInit: false);
        var ended = new ContainerState("init", "img", isInit: true);
        var unknown = new ContainerState("other", "img", isInit: false) { Starts = 7 };
        PodStatusRestore.Apply([running, backoff, fresh, unknown], Statuses("""
            [{"name":"run","restartCount":2,"ready":true,"started":true,"containerID":"akkakube://n/u/run/2","imageID":"sha",
              "state":{"running":{"startedAt":"2026-01-01T00:00:05Z"}},
              "lastState":{"terminated":{"exitCode":1,"reason":"Error","startedAt":"2026-01-01T00:00:00Z","finishedAt":"2026-01-01T00:00:04Z","containerID":"akkakube://n/u/run/1"}}},
             {"name":"loop","restartCount":0,"state":{"waiting":{"reason":"CrashLoopBackOff","message":"back-off 10s"}},
              "lastState":{"terminated":{"exitCode":2,"reason":"Error","startedAt":"2026-01-01T00:00:00Z","finishedAt":"2026-01-01T00:00:01Z","containerID":"c"}}},
             {"name":"new","restartCount":0,"state":{"waiting":{"reason":"ContainerCreating"}},"lastState":{}}]
            """));
        PodStatusRestore.Apply([ended], Statuses("""
            [{"name":"init","restartCount":0,"state":{"terminated":{"exitCode":0,"reason":"Completed","startedAt":"2026-01-01T00:00:00Z","finishedAt":"2026-01-01T00:00:01Z","containerID":"i"}}}]
            """));

        Assert.Equal((ContainerPhase.Running, 3, 2, true, true), (running.Phase, running.Starts, running.RestartCount, running.Ready, running.Started));
        Assert.Equal(1, running.LastTerminated!.ExitCode);
        Assert.Equal(DateTimeOffset.Parse("2026-01-01T00:00:05Z"), running.StartedAt);
        Assert.Equal(("CrashLoopBackOff", 1, 0), (backoff.WaitingReason, backoff.Starts, backoff.RestartCount)); // one instance ran and exited
        Assert.Equal((0, "ContainerCreating"), (fresh.Starts, fresh.WaitingReason)); // never started
        Assert.True(ended.Done && ended.Succeeded);
        Assert.Equal(7, unknown.Starts); // not in the status: left as it was
    }

    [Fact]
    public void The_actor_fault_report_shows_failures_incarnations_and_what_was_re_synced()
    {
        var report = new ChaosReport
        {
            Fault = "crash-actor",
            Targets = ["cp-1:/system/sharding/store/12/configmaps"],
            Actor = new ActorFaultReport { Node = "cp-1", Path = "/system/sharding/store/12/configmaps", Type = "StoreActor", UidBefore = "42", FailuresBefore = 0 },
        };
        report.Actor.FailuresAfter = 1;
        report.Actor.UidAfter = "42";
        report.Actor.Resynced = "recovered partition configmaps from the journal: revision 3, 2 objects (no snapshot, 3 events replayed)";
        report.Recovered = true;
        var text = report.ToText();
        Assert.Contains("supervised failures (`actor restarts`): 0 → 1", text);
        Assert.Contains("incarnation uid: 42 → 42", text);
        Assert.Contains("re-synced: recovered partition configmaps from the journal", text);
        var json = JsonNode.Parse(report.ToJson())!;
        Assert.Equal(1, (int)json["actor"]!["failuresAfter"]!);
        Assert.Equal("StoreActor", (string?)json["actor"]!["type"]);
    }
}
