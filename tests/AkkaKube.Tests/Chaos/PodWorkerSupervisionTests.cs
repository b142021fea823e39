using AkkaKube.Tests.Infrastructure;
using System.Text.Json.Nodes;
using Akka.Actor;
using AkkaKube.Actors.Chaos;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Kubelet;
using AkkaKube.Tests.Kubelet;
using static AkkaKube.Tests.Kubelet.PodBuilder;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Tests.Chaos;

/// <summary>
/// `chaos crash-actor|stop-actor … pod/&lt;ns&gt;/&lt;name&gt;` at the actor level (fake runtime, fake API): a crashed PodWorker
/// is restarted in place and re-adopts its running containers (no relaunch, no signal, restart counts kept); a stopped
/// one is re-created by the kubelet, its containers started again with the restart count continuing.
/// </summary>
public sealed class PodWorkerSupervisionTests : Akka.TestKit.Xunit2.TestKit
{
    private static readonly TimeSpan Max = TimeSpan.FromSeconds(15);
    private readonly InMemoryKubeApi _api = new() { GracefulPodDeletion = true };
    private readonly FakeRuntime _runtime = new();
    private readonly TempDir _data = new();

    public PodWorkerSupervisionTests() : base("akka.loglevel = WARNING") { }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing) _data.Dispose();
    }

    private void StartKubelet() =>
        Sys.ActorOf(KubeletActor.Props(KubeletTestSupport.Node(), KubeletTestSupport.FastSettings with { WorkerRecreateDelay = TimeSpan.FromMilliseconds(100) },
            _api, _runtime, _data.Path), "kubelet");

    private IActorRef Worker(string pod)
    {
        var uid = _api.Pod(pod)!["metadata"]!["uid"]!.GetValue<string>();
        return Sys.ActorSelection($"/user/kubelet/pods/pod-{uid}").ResolveOne(Max).GetAwaiter().GetResult();
    }

    private string Resync(IActorRef worker) => worker.Ask<ChaosProtocol.Resynced>(ChaosProtocol.GetResync.Instance, Max).GetAwaiter().GetResult().Summary;

    private void AwaitReady(string pod, int restartCount) => AwaitAssert(() =>
    {
        var p = _api.Pod(pod);
        Assert.Equal("Running", p.Phase());
        Assert.Equal("True", p.Condition("Ready"));
        Assert.Equal(restartCount, p.ContainerStatus("c").RestartCount());
    }, Max);

    /// <summary>A Running, Ready pod whose container exited once (restartCount 1, lastState terminated exit 1).</summary>
    private FakeRuntime.FakeContainer RunningPodWithOneRestart(string pod)
    {
        StartKubelet();
        _api.CreateNow(ApiResource.Pods, MakePod(pod).Container("c", "test/run").Build());
        AwaitReady(pod, 0);
        _runtime.Running.Values.Single(c => c.Launch.PodName == pod).Exit(1);
        AwaitReady(pod, 1);
        return _runtime.Running.Values.Single(c => c.Launch.PodName == pod);
    }

    [Fact]
    public void A_crashed_pod_worker_is_restarted_in_place_and_re_adopts_its_running_container_without_relaunching_it()
    {
        var running = RunningPodWithOneRestart("web");
        var worker = Worker("web");
        var launches = _runtime.Launches.Count;
        var signals = _runtime.Signals.Count;
        var podIp = _api.Pod("web")!["status"]!["podIP"]!.GetValue<string>();
        var startedAt = _api.Pod("web").ContainerStatus("c")!["state"]!["running"]!["startedAt"]!.GetValue<string>();

        worker.Tell(ChaosProtocol.InjectCrash.Instance);

        AwaitAssert(() => Assert.Equal("re-adopted 1 running container(s): c; restart counts restored from the pod status", Resync(worker)), Max);
        Assert.Equal(worker, Worker("web")); // the same incarnation: restarted, not re-created
        Assert.False(running.HasExited);
        Assert.Equal(launches, _runtime.Launches.Count);
        Assert.Equal(signals, _runtime.Signals.Count);
        var pod = _api.Pod("web")!;
        var status = pod.ContainerStatus("c")!;
        Assert.Equal(1, status.RestartCount());
        Assert.Equal(1, status["lastState"]!["terminated"]!["exitCode"]!.GetValue<int>());
        Assert.Equal(startedAt, status["state"]!["running"]!["startedAt"]!.GetValue<string>());
        Assert.Equal(podIp, pod["status"]!["podIP"]!.GetValue<string>());
        Assert.Equal("True", pod.Condition("Ready"));

        // The re-adopted container is still managed: its next exit is a restart with the next attempt number.
        running.Exit(2);
        AwaitReady("web", 2);
        Assert.Equal(2, _runtime.LaunchesOf("c").Last().Attempt);
        Assert.Equal(2, _api.Pod("web").ContainerStatus("c")!["lastState"]!["terminated"]!["exitCode"]!.GetValue<int>());
    }

    [Fact]
    public void A_crashed_pod_worker_does_not_run_a_completed_init_container_again()
    {
        StartKubelet();
        _api.CreateNow(ApiResource.Pods, MakePod("inits").Init("setup", "test/ok").Container("c", "test/run").Build());
        AwaitReady("inits", 0);
        var worker = Worker("inits");
        worker.Tell(ChaosProtocol.InjectCrash.Instance);
        AwaitAssert(() => Assert.Equal("re-adopted 1 running container(s): c; restart counts restored from the pod status", Resync(worker)), Max);
        AwaitReady("inits", 0);
        Assert.Single(_runtime.LaunchesOf("setup"));
        Assert.Single(_runtime.LaunchesOf("c"));
        Assert.Equal("Completed", _api.Pod("inits").ContainerStatus("setup", init: true)!["state"]!["terminated"]!["reason"]!.GetValue<string>());
    }

    [Fact]
    public void A_crashed_pod_worker_still_terminates_its_pod_gracefully_on_deletion()
    {
        var running = RunningPodWithOneRestart("gone");
        var worker = Worker("gone");
        worker.Tell(ChaosProtocol.InjectCrash.Instance);
        AwaitAssert(() => Assert.StartsWith("re-adopted 1", Resync(worker)), Max);

        _api.DeleteNow(ApiResource.Pods, "gone", new DeleteOptions(GracePeriodSeconds: 5));
        AwaitAssert(() => Assert.Null(_api.Pod("gone")), Max);
        Assert.True(running.HasExited);
        Assert.Contains("TERM c", _runtime.Signals);
    }

    [Fact]
    public void A_stopped_pod_worker_is_re_created_by_the_kubelet_and_its_container_restarts_with_the_count_continuing()
    {
        var running = RunningPodWithOneRestart("api");
        var worker = Worker("api");
        var podIp = _api.Pod("api")!["status"]!["podIP"]!.GetValue<string>();
        var watcher = CreateTestProbe();
        watcher.Watch(worker);

        worker.Tell(PoisonPill.Instance);

        watcher.ExpectTerminated(worker, Max);
        Assert.True(running.HasExited); // the container stops with its worker (its actor kills the process)
        IActorRef again = ActorRefs.Nobody;
        AwaitAssert(() =>
        {
            again = Worker("api");
            Assert.NotEqual(worker, again);
        }, Max);
        AwaitReady("api", 2);
        AwaitAssert(() => Assert.Equal("re-created by the kubelet from its pod cache; containers started again and ready: c (restart count 2)", Resync(again)), Max);
        Assert.Equal(podIp, _api.Pod("api")!["status"]!["podIP"]!.GetValue<string>());
        Assert.Single(_runtime.Running.Values, c => c.Launch.PodName == "api");
    }

    [Fact]
    public void A_pod_worker_stopped_by_the_kubelet_for_a_deleted_pod_is_not_re_created()
    {
        StartKubelet();
        _api.CreateNow(ApiResource.Pods, MakePod("bye").Container("c", "test/run").Build());
        AwaitReady("bye", 0);
        var worker = Worker("bye");
        var path = worker.Path.ToStringWithoutAddress();
        var watcher = CreateTestProbe();
        watcher.Watch(worker);
        _api.DeleteNow(ApiResource.Pods, "bye", new DeleteOptions(GracePeriodSeconds: 0));
        watcher.ExpectTerminated(worker, Max);
        // Longer than the re-create delay: no worker comes back for it.
        AwaitCondition(() => _runtime.Running.Values.All(c => c.Launch.PodName != "bye"), Max);
        watcher.ExpectNoMsg(TimeSpan.FromMilliseconds(500));
        Sys.ActorSelection(path).Tell(new Identify(1), watcher.Ref);
        Assert.Null(watcher.ExpectMsg<ActorIdentity>(Max).Subject);
    }
}
