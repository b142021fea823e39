using AkkaKube.Tests.Infrastructure;
using System.Text.Json.Nodes;
using Akka.Actor;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Kubelet;
using static AkkaKube.Tests.Kubelet.PodBuilder;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Tests.Kubelet;

public sealed class KubeletActorTests : Akka.TestKit.Xunit2.TestKit
{
    private static readonly TimeSpan Max = TimeSpan.FromSeconds(15);
    private readonly InMemoryKubeApi _api = new() { GracefulPodDeletion = true };
    private readonly FakeRuntime _runtime = new();
    private readonly TempDir _data = new();

    public KubeletActorTests() : base("akka.loglevel = WARNING") { }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing) _data.Dispose();
    }

    private IActorRef StartKubelet(KubeletSettings? settings = null, NodeIdentity? node = null, string? dataDir = null) =>
        Sys.ActorOf(KubeletActor.Props(node ?? KubeletTestSupport.Node(), settings ?? KubeletTestSupport.FastSettings, _api, _runtime, dataDir ?? _data.Path), "kubelet");

    private void Create(JsonObject pod) => _api.CreateNow(ApiResource.Pods, pod);

    [Fact]
    public void The_kubelet_registers_its_node_with_labels_capacity_addresses_and_pod_cidr_and_renews_its_lease()
    {
        StartKubelet();
        AwaitAssert(() =>
        {
            var node = _api.Peek(ApiResource.Nodes, null, "node-a");
            Assert.NotNull(node);
            var labels = node!["metadata"]!["labels"]!;
            Assert.Equal("node-a", labels["kubernetes.io/hostname"]!.GetValue<string>());
            Assert.Equal("zone-a", labels["topology.kubernetes.io/zone"]!.GetValue<string>());
            Assert.Equal("local", labels["topology.kubernetes.io/region"]!.GetValue<string>());
            Assert.Equal("akka.tcp://akkakube@127.1.0.7:4053", node["metadata"]!["annotations"]!["akkakube.io/akka-address"]!.GetValue<string>());
            Assert.Equal("127.64.7.0/24", node["spec"]!["podCIDR"]!.GetValue<string>());
            Assert.Equal("4", node["status"]!["capacity"]!["cpu"]!.GetValue<string>());
            Assert.Equal("110", node["status"]!["allocatable"]!["pods"]!.GetValue<string>());
            Assert.Equal("v1.32.0-akkakube", node["status"]!["nodeInfo"]!["kubeletVersion"]!.GetValue<string>());
            var conditions = ((JsonArray)node["status"]!["conditions"]!).Select(c => c!["type"]!.GetValue<string>()).ToList();
            Assert.Equal(["MemoryPressure", "DiskPressure", "PIDPressure", "Ready"], conditions);
            var addresses = ((JsonArray)node["status"]!["addresses"]!).Select(a => $"{a!["type"]}={a["address"]}").ToList();
            Assert.Contains("InternalIP=127.1.0.7", addresses);
        }, Max);
        // The lease is renewed: its renewTime moves.
        string? first = null;
        AwaitAssert(() =>
        {
            var lease = _api.Peek(ApiResource.Leases, "kube-node-lease", "node-a");
            Assert.NotNull(lease);
            first ??= lease!["spec"]!["renewTime"]!.GetValue<string>();
            Assert.Equal("node-a", lease!["spec"]!["holderIdentity"]!.GetValue<string>());
        }, Max);
        AwaitAssert(() => Assert.NotEqual(first, _api.Peek(ApiResource.Leases, "kube-node-lease", "node-a")!["spec"]!["renewTime"]!.GetValue<string>()), Max);
    }

    [Fact]
    public async Task A_ready_pod_marked_not_ready_by_someone_else_is_written_back_ready_by_its_kubelet()
    {
        // The node lifecycle controller marks the pods of a NotReady node not ready; when the node is back (or was only
        // slow), its kubelet's own view wins again, as the kubelet's status manager reconciles with the apiserver.
        StartKubelet();
        Create(MakePod("p").Container("c", "test/run").Build());
        AwaitAssert(() => Assert.Equal("True", _api.Pod("p").Condition("Ready")), Max);
        var conditions = (JsonArray)_api.Pod("p")!["status"]!["conditions"]!.DeepClone();
        foreach (var c in conditions.OfType<JsonObject>().Where(c => (string?)c["type"] == "Ready")) c["status"] = "False";
        await _api.PatchAsync(ApiResource.Pods, "default", "p", PatchType.Merge,
            new JsonObject { ["status"] = new JsonObject { ["conditions"] = conditions } }.ToJsonString(), "status");
        AwaitAssert(() => Assert.Equal("True", _api.Pod("p").Condition("Ready")), Max);
    }

    [SkippableFact]
    public void A_memory_backed_empty_dir_lives_in_ram_and_goes_with_the_pod()
    {
        Skip.If(VolumeManager.MemoryRoot is null, "no /dev/shm on this machine");
        StartKubelet();
        var pod = MakePod("ram").Container("c", "test/run").Build();
        pod["spec"]!["volumes"] = JsonNode.Parse("""[{"name":"cache","emptyDir":{"medium":"Memory"}},{"name":"disk","emptyDir":{}}]""");
        pod["spec"]!["containers"]![0]!["volumeMounts"] = JsonNode.Parse("""[{"name":"cache","mountPath":"/cache"},{"name":"disk","mountPath":"/disk"}]""");
        Create(pod);
        AwaitAssert(() => Assert.Equal("True", _api.Pod("ram").Condition("Ready")), Max);
        var uid = _api.Pod("ram")!["metadata"]!["uid"]!.GetValue<string>();
        var env = _runtime.Launches.Single(l => l.PodName == "ram").Env;
        var cache = env.Single(e => e.Key == "AKKAKUBE_VOLUME_CACHE").Value;
        Assert.Equal(Path.Combine(VolumeManager.MemoryRoot!, uid, "cache"), cache);
        Assert.True(Directory.Exists(cache));
        Assert.StartsWith(_data.Path, env.Single(e => e.Key == "AKKAKUBE_VOLUME_DISK").Value);

        _api.DeleteNow(ApiResource.Pods, "ram");
        AwaitAssert(() => Assert.False(Directory.Exists(Path.Combine(VolumeManager.MemoryRoot!, uid))), Max);
    }

    [Fact]
    public async Task A_config_map_volume_follows_edits_of_its_config_map_swapping_every_file_at_once()
    {
        StartKubelet();
        _api.CreateNow(ApiResource.ConfigMaps, JsonNode.Parse("""{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"app"},"data":{"a.conf":"one","b.conf":"bee"}}""")!.AsObject());
        var pod = MakePod("p").Container("c", "test/run").Build();
        pod["spec"]!["volumes"] = JsonNode.Parse("""[{"name":"conf","configMap":{"name":"app"}},{"name":"info","downwardAPI":{"items":[{"path":"name","fieldRef":{"fieldPath":"metadata.name"}}]}}]""");
        pod["spec"]!["containers"]![0]!["volumeMounts"] = JsonNode.Parse("""[{"name":"conf","mountPath":"/etc/app"},{"name":"info","mountPath":"/etc/info"}]""");
        Create(pod);
        AwaitAssert(() => Assert.Equal("True", _api.Pod("p").Condition("Ready")), Max);
        var uid = _api.Pod("p")!["metadata"]!["uid"]!.GetValue<string>();
        var dir = Path.Combine(_data.Path, "pods", uid, "volumes", "kubernetes.io~configmap", "conf");
        Assert.Equal("one", File.ReadAllText(Path.Combine(dir, "a.conf")));
        Assert.Equal("bee", File.ReadAllText(Path.Combine(dir, "b.conf")));
        Assert.Equal("p", File.ReadAllText(Path.Combine(_data.Path, "pods", uid, "volumes", "kubernetes.io~downward-api", "info", "name")));
        // The container is told where: AKKAKUBE_VOLUME_CONF (process runtime); cri bind-mounts the same directory.
        Assert.Contains(_runtime.Launches, l => l.Env.Any(e => e.Key == "AKKAKUBE_VOLUME_CONF" && e.Value == dir));

        var edited = _api.Peek(ApiResource.ConfigMaps, "default", "app")!.DeepClone().AsObject();
        edited["data"] = new JsonObject { ["a.conf"] = "two", ["c.conf"] = "sea" };
        await _api.UpdateAsync(ApiResource.ConfigMaps, "default", edited);
        AwaitAssert(() =>
        {
            Assert.Equal("two", File.ReadAllText(Path.Combine(dir, "a.conf")));
            Assert.Equal("sea", File.ReadAllText(Path.Combine(dir, "c.conf")));
            Assert.False(File.Exists(Path.Combine(dir, "b.conf")), "a key removed from the ConfigMap leaves the volume");
        }, TimeSpan.FromSeconds(40), TimeSpan.FromMilliseconds(250));
        // One timestamped directory behind ..data: the previous set is gone.
        Assert.Single(Directory.GetDirectories(dir, "..2*"));
    }

    [Fact]
    public void The_kubelet_keeps_retrying_registration_while_the_api_is_unavailable()
    {
        _api.Unavailable["nodes"] = true;
        StartKubelet();
        AwaitCondition(() => _api.Calls.Count(c => c == "create nodes") >= 3, Max);
        _api.Unavailable.TryRemove("nodes", out _);
        AwaitAssert(() => Assert.NotNull(_api.Peek(ApiResource.Nodes, null, "node-a")), Max);
    }

    [Fact]
    public void Pods_bound_to_the_node_reach_Running_with_distinct_ips_from_the_pod_cidr()
    {
        StartKubelet();
        for (var i = 0; i < 5; i++) Create(MakePod($"p{i}").Container("c", "test/run").Build());
        Create(MakePod("elsewhere").Node("node-b").Container("c", "test/run").Build());
        AwaitAssert(() =>
        {
            var ips = Enumerable.Range(0, 5).Select(i => _api.Pod($"p{i}")).Select(p =>
            {
                Assert.Equal("Running", p.Phase());
                Assert.Equal("True", p.Condition("Ready"));
                Assert.Equal("127.1.0.7", p!["status"]!["hostIP"]!.GetValue<string>());
                return p["status"]!["podIP"]!.GetValue<string>();
            }).ToList();
            Assert.Equal(5, ips.Distinct().Count());
            Assert.All(ips, ip =>
            {
                Assert.StartsWith("127.64.7.", ip);
                Assert.DoesNotContain(ip.Split('.')[3], new[] { "0", "1", "255" });
            });
        }, Max);
        // another node's pod is left as the apiserver created it: no kubelet here reports on it
        Assert.Equal("Pending", _api.Pod("elsewhere").Phase());
        Assert.Null(_api.Pod("elsewhere")!["status"]!["podIP"]);
        var status = _api.Pod("p0").ContainerStatus("c")!;
        Assert.Matches("^akkakube://node-a/[0-9a-f-]+/c/0$", status["containerID"]!.GetValue<string>());
        Assert.True(status["started"]!.GetValue<bool>());
    }

    [Fact]
    public void A_crashing_container_under_restartPolicy_Always_shows_CrashLoopBackOff_with_growing_restarts_and_doubling_back_off()
    {
        StartKubelet();
        Create(MakePod("crash").Container("c", "test/crash").Build());
        var messages = new HashSet<string>();
        AwaitAssert(() =>
        {
            var s = _api.Pod("crash").ContainerStatus("c");
            if (s.Waiting() == "CrashLoopBackOff") messages.Add(s!["state"]!["waiting"]!["message"]!.GetValue<string>().Split(' ')[1]);
            Assert.True(s.RestartCount() >= 4);
        }, Max, TimeSpan.FromMilliseconds(5));
        var pod = _api.Pod("crash");
        var last = pod.ContainerStatus("c")!["lastState"]!["terminated"]!;
        Assert.Equal(1, last["exitCode"]!.GetValue<int>());
        Assert.Equal("Error", last["reason"]!.GetValue<string>());
        Assert.NotNull(last["startedAt"]);
        Assert.NotNull(last["finishedAt"]);
        Assert.Equal("Running", pod.Phase());
        // Back-off min 100 ms doubling to the 400 ms cap.
        Assert.Contains("100ms", messages);
        Assert.Contains("400ms", messages);
        Assert.DoesNotContain("800ms", messages);
        // A restart is a new instance with the next attempt number.
        Assert.Equal([0, 1, 2, 3, 4], _runtime.LaunchesOf("c").Select(l => l.Attempt).Take(5));
    }

    [Fact]
    public void A_failed_container_under_restartPolicy_Never_is_not_restarted_and_the_pod_fails()
    {
        StartKubelet();
        Create(MakePod("never").RestartPolicy("Never").Container("c", "test/crash").Build());
        AwaitAssert(() => Assert.Equal("Failed", _api.Pod("never").Phase()), Max);
        var s = _api.Pod("never").ContainerStatus("c")!;
        Assert.Equal(0, s.RestartCount());
        Assert.Equal(1, s["state"]!["terminated"]!["exitCode"]!.GetValue<int>());
        Assert.Single(_runtime.LaunchesOf("c"));
    }

    [Fact]
    public void A_container_that_succeeds_under_restartPolicy_OnFailure_is_not_restarted_and_the_pod_succeeds()
    {
        StartKubelet();
        Create(MakePod("once").RestartPolicy("OnFailure").Container("c", "test/ok").Build());
        AwaitAssert(() => Assert.Equal("Succeeded", _api.Pod("once").Phase()), Max);
        Assert.Equal("Completed", _api.Pod("once").ContainerStatus("c")!["state"]!["terminated"]!["reason"]!.GetValue<string>());
        Assert.Single(_runtime.LaunchesOf("c"));
    }

    [Fact]
    public void A_failing_container_under_restartPolicy_OnFailure_is_restarted()
    {
        StartKubelet();
        Create(MakePod("retry").RestartPolicy("OnFailure").Container("c", "test/crash").Build());
        AwaitAssert(() => Assert.True(_api.Pod("retry").ContainerStatus("c").RestartCount() >= 2), Max);
    }

    [Fact]
    public void Init_containers_run_one_after_another_and_must_succeed_before_the_containers_start()
    {
        StartKubelet();
        Create(MakePod("inits").Init("first", "test/ok").Init("second", "test/ok").Container("app", "test/run").Build());
        AwaitAssert(() => Assert.Equal("Running", _api.Pod("inits").Phase()), Max);
        var order = _runtime.Launches.Select(l => l.ContainerName).ToList();
        Assert.Equal(["first", "second", "app"], order);
        Assert.Equal("True", _api.Pod("inits").Condition("Initialized"));
        Assert.Equal("Completed", _api.Pod("inits").ContainerStatus("second", init: true)!["state"]!["terminated"]!["reason"]!.GetValue<string>());
    }

    [Fact]
    public void A_native_sidecar_starts_before_the_next_init_container_runs_beside_the_containers_restarts_always_and_goes_when_they_complete()
    {
        StartKubelet();
        // restartPolicy Never: the sidecar is restarted anyway; the pod's phase comes from "app" alone.
        Create(MakePod("side").RestartPolicy("Never")
            .Init("sidecar", "test/run", c => c["restartPolicy"] = "Always")
            .Init("flaky-sidecar", "test/crash", c => c["restartPolicy"] = "Always")
            .Init("setup", "test/ok")
            .Container("app", "test/run").Build());
        AwaitAssert(() => Assert.Equal("Running", _api.Pod("side").Phase()), Max);
        var order = _runtime.Launches.Select(l => l.ContainerName).Distinct().ToList();
        Assert.Equal(["sidecar", "flaky-sidecar", "setup", "app"], order);
        Assert.Equal("True", _api.Pod("side").Condition("Initialized"));
        var sidecar = _api.Pod("side").ContainerStatus("sidecar", init: true)!;
        Assert.NotNull(sidecar["state"]!["running"]);
        Assert.True(sidecar["started"]!.GetValue<bool>());
        // a sidecar that keeps ending is restarted under the pod's Never, and does not fail the pod
        AwaitAssert(() => Assert.True(_api.Pod("side").ContainerStatus("flaky-sidecar", init: true).RestartCount() >= 1), Max);
        Assert.Equal("Running", _api.Pod("side").Phase());

        // the containers complete: the pod succeeds and its sidecars are stopped
        foreach (var app in _runtime.List().Where(r => r.Launch.PodName == "side" && r.Launch.ContainerName == "app")) app.Terminate();
        AwaitAssert(() => Assert.Equal("Succeeded", _api.Pod("side").Phase()), Max);
        AwaitAssert(() => Assert.DoesNotContain(_runtime.List(), r => r.Launch.PodName == "side"), Max);
        Assert.NotNull(_api.Pod("side").ContainerStatus("sidecar", init: true)!["state"]!["terminated"]);
    }

    [Fact]
    public void A_failing_init_container_under_restartPolicy_Never_fails_the_pod_and_no_container_starts()
    {
        StartKubelet();
        Create(MakePod("badinit").RestartPolicy("Never").Init("setup", "test/crash").Container("app", "test/run").Build());
        AwaitAssert(() => Assert.Equal("Failed", _api.Pod("badinit").Phase()), Max);
        Assert.Empty(_runtime.LaunchesOf("app"));
    }

    [Fact]
    public void A_failing_init_container_under_restartPolicy_Always_is_retried_and_blocks_the_containers()
    {
        StartKubelet();
        Create(MakePod("retryinit").Init("setup", "test/crash").Container("app", "test/run").Build());
        AwaitAssert(() => Assert.True(_api.Pod("retryinit").ContainerStatus("setup", init: true).RestartCount() >= 2), Max);
        Assert.Equal("Pending", _api.Pod("retryinit").Phase());
        Assert.Empty(_runtime.LaunchesOf("app"));
    }

    [Fact]
    public void An_image_that_cannot_be_pulled_waits_with_ErrImagePull_then_ImagePullBackOff()
    {
        StartKubelet();
        Create(MakePod("nopull").Container("c", "test/missing").Build());
        var seen = new HashSet<string?>();
        AwaitAssert(() =>
        {
            seen.Add(_api.Pod("nopull").ContainerStatus("c").Waiting());
            Assert.Contains("ImagePullBackOff", seen);
        }, Max, TimeSpan.FromMilliseconds(5));
        Assert.Equal("Pending", _api.Pod("nopull").Phase());
    }

    [Fact]
    public void A_missing_config_map_key_makes_the_container_wait_with_CreateContainerConfigError_until_it_appears()
    {
        StartKubelet();
        Create(MakePod("cfg").Container("c", "test/run", c => c["env"] = new JsonArray(new JsonObject
        {
            ["name"] = "GREETING",
            ["valueFrom"] = new JsonObject { ["configMapKeyRef"] = new JsonObject { ["name"] = "settings", ["key"] = "greeting" } },
        })).Build());
        AwaitAssert(() => Assert.Equal("CreateContainerConfigError", _api.Pod("cfg").ContainerStatus("c").Waiting()), Max);
        _api.CreateNow(ApiResource.ConfigMaps, new JsonObject
        {
            ["apiVersion"] = "v1", ["kind"] = "ConfigMap",
            ["metadata"] = new JsonObject { ["name"] = "settings" },
            ["data"] = new JsonObject { ["greeting"] = "hello" },
        });
        AwaitAssert(() => Assert.Equal("Running", _api.Pod("cfg").Phase()), Max);
        Assert.Contains(new KeyValuePair<string, string>("GREETING", "hello"), _runtime.LaunchesOf("c")[0].Env);
    }

    [Fact]
    public void Deleting_a_pod_sends_SIGTERM_and_then_removes_the_pod_object()
    {
        StartKubelet();
        Create(MakePod("bye").Container("c", "test/run").Build());
        AwaitAssert(() => Assert.Equal("Running", _api.Pod("bye").Phase()), Max);
        _api.DeleteNow(ApiResource.Pods, "bye");
        AwaitAssert(() => Assert.Null(_api.Pod("bye")), Max);
        Assert.Contains("TERM c", _runtime.Signals);
        Assert.DoesNotContain("KILL c", _runtime.Signals);
        Assert.Empty(_runtime.Running);
    }

    [Fact]
    public void A_container_that_ignores_SIGTERM_is_killed_after_the_grace_period()
    {
        StartKubelet();
        Create(MakePod("stubborn").Grace(1).Container("c", "test/stubborn").Build());
        AwaitAssert(() => Assert.Equal("Running", _api.Pod("stubborn").Phase()), Max);
        _api.DeleteNow(ApiResource.Pods, "stubborn");
        AwaitAssert(() => Assert.Null(_api.Pod("stubborn")), Max);
        Assert.Equal(["TERM c", "KILL c"], _runtime.Signals.ToList());
    }

    private static Action<JsonObject> Hooks(string? postStart = null, string? preStop = null) => c =>
    {
        var lifecycle = new JsonObject();
        if (postStart is not null) lifecycle["postStart"] = new JsonObject { ["exec"] = new JsonObject { ["command"] = new JsonArray(postStart) } };
        if (preStop is not null) lifecycle["preStop"] = new JsonObject { ["exec"] = new JsonObject { ["command"] = new JsonArray(preStop) } };
        c["lifecycle"] = lifecycle;
    };

    [Fact]
    public async Task A_container_counts_as_started_only_once_its_postStart_hook_returned()
    {
        StartKubelet();
        Create(MakePod("hooked").Container("c", "test/run", Hooks(postStart: "hang")).Build());
        AwaitAssert(() => Assert.Contains("exec c hang", _runtime.Signals), Max);
        // the container runs in the runtime, its hook has not returned: the kubelet does not report it running
        for (var until = DateTime.UtcNow.AddSeconds(1); DateTime.UtcNow < until; await Task.Delay(50))
            Assert.NotEqual("Running", _api.Pod("hooked").Phase());
        _runtime.ReleaseExecs();
        AwaitAssert(() => Assert.Equal("True", _api.Pod("hooked").Condition("Ready")), Max);
        Assert.Equal(0, _api.Pod("hooked").ContainerStatus("c").RestartCount());
    }

    [Fact]
    public void A_failing_postStart_hook_kills_the_container_which_restarts_by_its_policy()
    {
        StartKubelet();
        Create(MakePod("badhook").Container("c", "test/run", Hooks(postStart: "false")).Build());
        AwaitAssert(() => Assert.True(_api.Pod("badhook").ContainerStatus("c").RestartCount() >= 1), Max);
        Assert.Contains("TERM c", _runtime.Signals);
        var hookEvent = _api.All(ApiResource.Events).First(e => e["reason"]!.GetValue<string>() == "FailedPostStartHook");
        Assert.Contains("Exec lifecycle hook (false) for Container \"c\" in Pod \"badhook\" failed", hookEvent["message"]!.GetValue<string>());
        Assert.Contains("postStart", _api.Pod("badhook").ContainerStatus("c")!["lastState"]!["terminated"]!["message"]!.GetValue<string>());
    }

    [Fact]
    public void Deleting_a_pod_runs_its_preStop_hook_before_SIGTERM()
    {
        StartKubelet();
        Create(MakePod("prestop").Container("c", "test/run", Hooks(preStop: "true")).Build());
        AwaitAssert(() => Assert.Equal("Running", _api.Pod("prestop").Phase()), Max);
        _api.DeleteNow(ApiResource.Pods, "prestop");
        AwaitAssert(() => Assert.Null(_api.Pod("prestop")), Max);
        Assert.Equal(["exec c true", "TERM c"], _runtime.Signals.ToList());
    }

    [Fact]
    public void A_preStop_hook_that_outlasts_the_grace_period_is_cut_short_then_SIGTERM_and_SIGKILL_follow()
    {
        StartKubelet();
        Create(MakePod("slowstop").Grace(1).Container("c", "test/stubborn", Hooks(preStop: "hang")).Build());
        AwaitAssert(() => Assert.Equal("Running", _api.Pod("slowstop").Phase()), Max);
        _api.DeleteNow(ApiResource.Pods, "slowstop");
        AwaitAssert(() => Assert.Null(_api.Pod("slowstop")), Max);
        Assert.Equal(["exec c hang", "TERM c", "KILL c"], _runtime.Signals.ToList());
        Assert.Contains(_api.All(ApiResource.Events), e => e["reason"]!.GetValue<string>() == "FailedPreStopHook");
    }

    [Fact]
    public void A_pod_that_disappears_from_the_api_is_stopped_and_its_ip_is_reused_only_after()
    {
        var cidr = "127.64.9.0/24";
        StartKubelet(node: KubeletTestSupport.Node(cidr: cidr));
        Create(MakePod("gone").Container("c", "test/run").Build());
        AwaitAssert(() => Assert.Equal("Running", _api.Pod("gone").Phase()), Max);
        _api.DeleteNow(ApiResource.Pods, "gone", new DeleteOptions(GracePeriodSeconds: 0));
        AwaitAssert(() => Assert.Empty(_runtime.Running), Max);
        Assert.Contains("TERM c", _runtime.Signals);
    }

    [Fact]
    public void A_failing_liveness_probe_restarts_the_container_and_says_why()
    {
        StartKubelet();
        Create(MakePod("live").Container("c", "test/run", c => c["livenessProbe"] = new JsonObject
        {
            ["exec"] = new JsonObject { ["command"] = new JsonArray("false") },
            ["periodSeconds"] = 1,
            ["failureThreshold"] = 1,
        }).Build());
        AwaitAssert(() => Assert.True(_api.Pod("live").ContainerStatus("c").RestartCount() >= 1), Max);
        var last = _api.Pod("live").ContainerStatus("c")!["lastState"]!["terminated"]!;
        Assert.Contains("liveness", last["message"]!.GetValue<string>());
        AwaitAssert(() => Assert.Contains(_api.All(ApiResource.Events), e => e["reason"]!.GetValue<string>() == "Unhealthy"), Max);
    }

    [Fact]
    public void A_failing_readiness_probe_keeps_the_pod_running_but_not_ready()
    {
        StartKubelet();
        Create(MakePod("unready").Container("c", "test/run", c => c["readinessProbe"] = new JsonObject
        {
            ["exec"] = new JsonObject { ["command"] = new JsonArray("false") },
            ["periodSeconds"] = 1,
        }).Container("ok", "test/run", c => c["readinessProbe"] = new JsonObject
        {
            ["exec"] = new JsonObject { ["command"] = new JsonArray("true") },
            ["periodSeconds"] = 1,
        }).Build());
        AwaitAssert(() =>
        {
            var pod = _api.Pod("unready");
            Assert.Equal("Running", pod.Phase());
            Assert.True(pod.ContainerStatus("ok")!["ready"]!.GetValue<bool>());
        }, Max);
        var p = _api.Pod("unready");
        Assert.Equal("False", p.Condition("Ready"));
        Assert.Equal("False", p.Condition("ContainersReady"));
        Assert.Equal(0, p.ContainerStatus("c").RestartCount());
    }

    [Fact]
    public void Env_comes_from_field_refs_secrets_and_env_from_with_prefix()
    {
        StartKubelet();
        _api.CreateNow(ApiResource.Secrets, new JsonObject
        {
            ["apiVersion"] = "v1", ["kind"] = "Secret",
            ["metadata"] = new JsonObject { ["name"] = "creds" },
            ["data"] = new JsonObject { ["password"] = Convert.ToBase64String("s3cret"u8.ToArray()) },
        });
        _api.CreateNow(ApiResource.ConfigMaps, new JsonObject
        {
            ["apiVersion"] = "v1", ["kind"] = "ConfigMap",
            ["metadata"] = new JsonObject { ["name"] = "cm" },
            ["data"] = new JsonObject { ["A"] = "1", ["B"] = "2" },
        });
        Create(MakePod("envy").Container("c", "test/run", c =>
        {
            c["env"] = new JsonArray(
                new JsonObject { ["name"] = "PLAIN", ["value"] = "x-$(CFG_A)" },
                new JsonObject { ["name"] = "MY_POD", ["valueFrom"] = new JsonObject { ["fieldRef"] = new JsonObject { ["fieldPath"] = "metadata.name" } } },
                new JsonObject { ["name"] = "MY_IP", ["valueFrom"] = new JsonObject { ["fieldRef"] = new JsonObject { ["fieldPath"] = "status.podIP" } } },
                new JsonObject { ["name"] = "MY_NODE", ["valueFrom"] = new JsonObject { ["fieldRef"] = new JsonObject { ["fieldPath"] = "spec.nodeName" } } },
                new JsonObject { ["name"] = "PW", ["valueFrom"] = new JsonObject { ["secretKeyRef"] = new JsonObject { ["name"] = "creds", ["key"] = "password" } } });
            c["envFrom"] = new JsonArray(new JsonObject { ["prefix"] = "CFG_", ["configMapRef"] = new JsonObject { ["name"] = "cm" } });
        }).Build());
        AwaitAssert(() => Assert.Equal("Running", _api.Pod("envy").Phase()), Max);
        var env = _runtime.LaunchesOf("c")[0].Env.ToDictionary(e => e.Key, e => e.Value);
        Assert.Equal("x-1", env["PLAIN"]);
        Assert.Equal("envy", env["MY_POD"]);
        Assert.Equal(_api.Pod("envy")!["status"]!["podIP"]!.GetValue<string>(), env["MY_IP"]);
        Assert.Equal("node-a", env["MY_NODE"]);
        Assert.Equal("s3cret", env["PW"]);
        Assert.Equal("2", env["CFG_B"]);
    }

    [Fact]
    public void Repeated_events_are_aggregated_into_one_event_with_a_count()
    {
        StartKubelet();
        Create(MakePod("noisy").Container("c", "test/crash").Build());
        AwaitAssert(() =>
        {
            var backoffs = _api.All(ApiResource.Events).Where(e => e["reason"]!.GetValue<string>() == "BackOff").ToList();
            Assert.Single(backoffs);
            Assert.True(backoffs[0]["count"]!.GetValue<int>() >= 3);
        }, Max);
        var reasons = _api.All(ApiResource.Events).Select(e => e["reason"]!.GetValue<string>()).ToHashSet();
        Assert.Superset(new HashSet<string> { "Pulled", "Created", "Started", "BackOff" }, reasons);
    }

    [Fact]
    public void After_a_watch_gap_the_kubelet_re_lists_and_picks_up_new_pods()
    {
        StartKubelet();
        Create(MakePod("before").Container("c", "test/run").Build());
        AwaitAssert(() => Assert.Equal("Running", _api.Pod("before").Phase()), Max);
        _api.EndAllWatches();
        Create(MakePod("after").Container("c", "test/run").Build());
        AwaitAssert(() => Assert.Equal("Running", _api.Pod("after").Phase()), Max);
        Assert.Single(_runtime.LaunchesOf("c"), l => l.PodName == "before");
    }
}

public sealed class HollowKubeletTests : Akka.TestKit.Xunit2.TestKit
{
    private readonly TempDir _data = new();

    public HollowKubeletTests() : base("akka.loglevel = WARNING") { }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing) _data.Dispose();
    }

    [Fact]
    public void Hollow_kubelets_register_one_node_each_and_run_their_pods_with_the_simulated_runtime()
    {
        var api = new InMemoryKubeApi { GracefulPodDeletion = true };
        var settings = KubeletTestSupport.FastSettings with { HollowNodes = 3, Runtime = "simulated" };
        var node = new AkkaKube.Actors.Cluster.NodeOptions { NodeName = "w1", DataDirectory = _data.Path, NodeIp = System.Net.IPAddress.Parse("127.1.0.5") };
        var kubelets = KubeletHostingExtensions.KubeletProps(Sys, node, settings, api).ToList();
        Assert.Equal(["kubelet-hollow-0", "kubelet-hollow-1", "kubelet-hollow-2"], kubelets.Select(k => k.Name));
        foreach (var (name, props) in kubelets) Sys.ActorOf(props, name);
        AwaitAssert(() => Assert.Equal(3, api.All(ApiResource.Nodes).Count), TimeSpan.FromSeconds(60));
        var nodes = api.All(ApiResource.Nodes);
        Assert.All(nodes, n =>
        {
            Assert.Equal("true", n["metadata"]!["labels"]!["akkakube.io/hollow"]!.GetValue<string>());
            Assert.StartsWith("/user/kubelet-hollow-", n["metadata"]!["annotations"]!["akkakube.io/kubelet-path"]!.GetValue<string>());
        });
        Assert.Equal(3, nodes.Select(n => n["spec"]!["podCIDR"]!.GetValue<string>()).Distinct().Count());
        for (var i = 0; i < 3; i++)
            for (var j = 0; j < 10; j++)
                api.CreateNow(ApiResource.Pods, PodBuilder.MakePod($"h{i}-{j}").Node($"w1-hollow-{i}").Container("c", "anything/at-all:1").Build());
        AwaitAssert(() => Assert.All(api.All(ApiResource.Pods), p => Assert.Equal("Running", p.Phase())), TimeSpan.FromSeconds(60));
    }
}
