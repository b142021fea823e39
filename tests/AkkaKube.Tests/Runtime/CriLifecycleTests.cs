using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using AkkaKube.Cli;
using AkkaKube.Tests.Failover;
using AkkaKube.Tests.Infrastructure;

namespace AkkaKube.Tests.Runtime;

/// <summary>
/// One containerd and one all-in-one akkakube-node on the cri runtime, shared by <see cref="CriLifecycleTests"/>: images
/// from Debian's busybox-static (scripts/build-test-images.sh) imported as `akkakube image load` does. The node can be
/// killed with SIGKILL and started again with the same ports and data (a kubelet restart); containerd stays.
/// </summary>
public sealed class CriNodeFixture : IAsyncLifetime
{
    public const string NodeName = "cri-life";
    private readonly TempDir _dir = new();
    private int _containerdPid;
    private CriNodeTests.NodePorts? _ports;
    private string _nodeData = "";

    /// <summary>Why the cri tests cannot run here (null: they can).</summary>
    public string? Missing { get; private set; }
    public ContainerdNode Containerd { get; private set; } = null!;
    public Process? Node { get; private set; }
    public ProcessOutput Log { get; private set; } = new();
    public HttpClient Http { get; private set; } = null!;
    /// <summary>akkakube/echo was built (from src/Host's build) and loaded.</summary>
    public bool EchoImage { get; private set; }

    public async Task InitializeAsync()
    {
        Missing = ContainerdNode.Missing() is { } m ? $"the cri lifecycle tests {m}"
            : !File.Exists("/bin/busybox") ? "the cri lifecycle tests need busybox-static (apt-get install busybox-static)"
            : CriNodeTests.RepoFile("scripts/build-test-images.sh") is null ? "scripts/build-test-images.sh not found above the test binaries" : null;
        if (Missing is not null) return;
        var octet = 150 + Random.Shared.Next(50);
        Containerd = new ContainerdNode(Path.Combine(_dir.Path, "ctd"), NodeName, $"10.244.{octet}.0/24", $"akl{octet}x{Random.Shared.Next(1000)}");
        var images = Path.Combine(_dir.Path, "images");
        // akkakube/echo from the node build of the same configuration as these tests (src/Host/bin/<config>/net10.0)
        var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
        var nodeBuild = CriNodeTests.RepoFile($"src/Host/bin/{configuration}/net10.0/akkakube-node.dll") is { } dll ? Path.GetDirectoryName(dll)! : null;
        string[] script = nodeBuild is null ? [CriNodeTests.RepoFile("scripts/build-test-images.sh")!, images] : [CriNodeTests.RepoFile("scripts/build-test-images.sh")!, images, "--echo", nodeBuild];
        var built = await CriNodeTests.Run("bash", script);
        Assert.True(built.Code == 0, built.Output);
        _containerdPid = Containerd.Start();
        await Containerd.WaitReadyAsync(TimeSpan.FromSeconds(60));
        foreach (var archive in new[] { "pause.tar", "busybox.tar", "echo.tar" }.Where(a => File.Exists(Path.Combine(images, a))))
            await Containerd.ImportAsync(Path.Combine(images, archive));
        EchoImage = File.Exists(Path.Combine(images, "echo.tar"));
        _nodeData = Path.Combine(_dir.Path, "node");
        _ports = new CriNodeTests.NodePorts(FreePort.Next(), FreePort.Next(), FreePort.Next());
        StartNode();
        Http = Actors.Security.KubeconfigCredentials.Load(LocalClusterLauncher.WriteKubeconfig(_nodeData, _ports.Api))
            .CreateClient(TimeSpan.FromSeconds(20), h => h.UseProxy = false);
    }

    private void StartNode()
    {
        Log = new ProcessOutput();
        (Node, _) = CriNodeTests.StartNode(NodeName, Containerd, _nodeData, Log, _ports!);
    }

    /// <summary>kill -9 of the node process only (its containerd and containers stay), then the same command again.</summary>
    public async Task RestartNodeAsync()
    {
        Node!.Kill(entireProcessTree: false);
        await Node.WaitForExitAsync();
        Node.Dispose();
        StartNode();
    }

    /// <summary>Creates a pod on the node, retried while the apiserver is not up yet.</summary>
    public async Task CreatePodAsync(JsonObject pod)
    {
        pod["apiVersion"] = "v1";
        pod["kind"] = "Pod";
        pod["spec"]!["nodeName"] = NodeName;
        pod["spec"]!["terminationGracePeriodSeconds"] = 1;
        var deadline = DateTime.UtcNow.AddSeconds(120);
        while (true)
        {
            try
            {
                using var r = await Http.PostAsync("/api/v1/namespaces/default/pods", new StringContent(pod.ToJsonString(), Encoding.UTF8, "application/json"));
                if (r.IsSuccessStatusCode || r.StatusCode == HttpStatusCode.Conflict) return;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { }
            Assert.False(DateTime.UtcNow > deadline || Node!.HasExited, "the node's apiserver did not accept the pod:\n" + Log);
            await Task.Delay(300);
        }
    }

    /// <summary>The pod once <paramref name="until"/> holds for it (polled; fails with the node's log after 120 s).</summary>
    public async Task<JsonNode> WaitPodAsync(string name, Func<JsonNode, bool> until, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(120);
        JsonNode? last = null;
        while (true)
        {
            try
            {
                last = JsonNode.Parse(await Http.GetStringAsync($"/api/v1/namespaces/default/pods/{name}"))!;
                if (until(last)) return last;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { }
            Assert.False(DateTime.UtcNow > deadline, $"pod {name}: {what} did not happen; last status {last?["status"]?.ToJsonString()}\n{Log}");
            await Task.Delay(300);
        }
    }

    /// <summary>The container's log through the API once it contains <paramref name="expected"/>.</summary>
    public async Task<string> WaitLogAsync(string pod, string container, string expected)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        var log = "";
        while (!log.Contains(expected, StringComparison.Ordinal))
        {
            try { log = await Http.GetStringAsync($"/api/v1/namespaces/default/pods/{pod}/log?container={container}"); }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { }
            Assert.False(DateTime.UtcNow > deadline, $"the log of {pod}/{container} never showed '{expected}': '{log}'");
            if (!log.Contains(expected, StringComparison.Ordinal)) await Task.Delay(300);
        }
        return log;
    }

    /// <summary>containerd's tasks of this node: container ID → PID (`ctr tasks ls`).</summary>
    public async Task<Dictionary<string, string>> TasksAsync()
    {
        var (_, output) = await CriNodeTests.Run("ctr", "--address", Containerd.Socket, "--namespace", "k8s.io", "tasks", "ls");
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1)
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Where(f => f.Length >= 3 && f[2] == "RUNNING")
            .ToDictionary(f => f[0], f => f[1]);
    }

    public async Task DisposeAsync()
    {
        if (Missing is null)
        {
            await CriNodeTests.CleanUpAsync(Node, Containerd, _containerdPid, Actors.Proxy.NftRules.TableFor(NodeName), Containerd.PodCidr[..^"0/24".Length]);
            Http?.Dispose();
        }
        _dir.Dispose();
    }
}

/// <summary>
/// Container fidelity and kubelet restarts under the cri runtime (real containerd, runc, cgroups): securityContext
/// (runAsUser/runAsGroup/supplementalGroups from the pod, readOnlyRootFilesystem, capabilities) as the container sees
/// it, a memory limit enforced by the kernel (OOMKilled from the CRI status, then restarted), and a kill -9 of the node
/// process after which the new kubelet re-adopts the running containers (same containerd IDs and PIDs, restart counts).
/// Skips naming what is missing (root, containerd, runc, ctr, CNI plugins, busybox-static).
/// </summary>
[TestCaseOrderer(DeclarationOrderer.TypeName, DeclarationOrderer.AssemblyName)]
public sealed class CriLifecycleTests(CriNodeFixture node) : IClassFixture<CriNodeFixture>
{
    private const string Forever = "trap 'exit 0' TERM; while :; do sleep 1; done";

    private static JsonObject Container(string name, string script, JsonObject? securityContext = null, JsonObject? resources = null)
    {
        var c = new JsonObject { ["name"] = name, ["image"] = "akkakube/busybox", ["command"] = new JsonArray("sh", "-c", script) };
        if (securityContext is not null) c["securityContext"] = securityContext;
        if (resources is not null) c["resources"] = resources;
        return c;
    }

    private static bool Running(JsonNode pod) =>
        (string?)pod["status"]?["phase"] == "Running" && (pod["status"]?["containerStatuses"] as JsonArray)?.All(c => c?["state"]?["running"] is not null) == true;

    /// <summary>Running containers of the node's pods: pod/container → "containerID restarts=N".</summary>
    private async Task<Dictionary<string, string>> RunningContainersAsync()
    {
        var pods = JsonNode.Parse(await node.Http.GetStringAsync("/api/v1/namespaces/default/pods"))!["items"]!.AsArray();
        return pods.Where(p => p!["metadata"]?["deletionTimestamp"] is null).SelectMany(p => (p!["status"]?["containerStatuses"] as JsonArray ?? []).Where(c => c?["state"]?["running"] is not null)
                .Select(c => ($"{p["metadata"]!["name"]}/{c!["name"]}", $"{c["containerID"]} restarts={c["restartCount"]}")))
            .ToDictionary(x => x.Item1, x => x.Item2);
    }

    [SkippableFact]
    public async Task SecurityContext_runs_as_the_pods_user_and_groups_with_a_read_only_root_and_only_the_added_capability()
    {
        Skip.If(node.Missing is not null, node.Missing);
        await node.CreatePodAsync(new JsonObject
        {
            ["metadata"] = new JsonObject { ["name"] = "secure" },
            ["spec"] = new JsonObject
            {
                ["securityContext"] = new JsonObject { ["runAsUser"] = 1234, ["runAsGroup"] = 2345, ["supplementalGroups"] = new JsonArray(3456) },
                ["containers"] = new JsonArray(
                    Container("user", "echo \"uid=$(id -u) gid=$(id -g) groups=$(id -G)\"; " + Forever),
                    Container("root", "grep CapEff /proc/self/status; touch /probe 2>&1 || echo write-refused; " + Forever, new JsonObject
                    {
                        ["runAsUser"] = 0, ["readOnlyRootFilesystem"] = true,
                        ["capabilities"] = new JsonObject { ["drop"] = new JsonArray("ALL"), ["add"] = new JsonArray("NET_ADMIN") },
                    })),
            },
        });
        await node.WaitPodAsync("secure", Running, "Running");

        var user = await node.WaitLogAsync("secure", "user", "uid=");
        Assert.Contains("uid=1234 gid=2345", user);
        Assert.Contains("3456", user.Split("groups=")[1]);
        // CAP_NET_ADMIN is bit 12: the only effective capability left after drop ALL + add NET_ADMIN.
        var root = await node.WaitLogAsync("secure", "root", "write-refused");
        Assert.Contains("CapEff:\t0000000000001000", root);
        Assert.Contains("Read-only file system", root);
    }

    [SkippableFact]
    public async Task A_container_over_its_memory_limit_is_OOMKilled_and_restarted_by_its_restart_policy()
    {
        Skip.If(node.Missing is not null, node.Missing);
        await node.CreatePodAsync(new JsonObject
        {
            ["metadata"] = new JsonObject { ["name"] = "hog" },
            ["spec"] = new JsonObject
            {
                ["restartPolicy"] = "Always",
                // The shell's string doubles until the cgroup's 16Mi are gone and the kernel's OOM killer ends it.
                ["containers"] = new JsonArray(Container("hog", "x=a; while :; do x=$x$x; done", resources: new JsonObject
                {
                    ["limits"] = new JsonObject { ["memory"] = "16Mi" },
                })),
            },
        });
        var pod = await node.WaitPodAsync("hog", p => p["status"]?["containerStatuses"]?[0]?["lastState"]?["terminated"] is not null, "a terminated last state");
        var status = pod["status"]!["containerStatuses"]![0]!;
        Assert.Equal("OOMKilled", (string?)status["lastState"]!["terminated"]!["reason"]);
        Assert.Equal(137, (int)status["lastState"]!["terminated"]!["exitCode"]!);
        // restartPolicy Always: waiting to start again (back-off), not terminated for good.
        Assert.NotNull(status["state"]!["waiting"] ?? status["state"]!["running"]);
        using var deleted = await node.Http.DeleteAsync("/api/v1/namespaces/default/pods/hog");
    }

    /// <summary>
    /// imagePullPolicy on containerd: Never refuses an image the node lacks (ErrImageNeverPull), Always pulls even an image
    /// the node has (a registry that refuses: ErrImagePull) while IfNotPresent runs that copy; a postStart exec hook runs
    /// inside the container (its file is there for the container's command).
    /// </summary>
    [SkippableFact]
    public async Task Pull_policies_decide_whether_the_registry_is_asked_and_a_postStart_hook_runs_in_the_container()
    {
        Skip.If(node.Missing is not null, node.Missing);
        // the loaded busybox under the name of a registry that refuses connections
        var (code, output) = await CriNodeTests.Run("ctr", "--address", node.Containerd.Socket, "--namespace", "k8s.io", "images", "tag", "--force",
            "docker.io/akkakube/busybox:latest", "127.0.0.1:9/mirror/busybox:1");
        Assert.True(code == 0, output);
        JsonObject Pulling(string name, string image, string policy, string script = Forever)
        {
            var c = Container(name, script);
            c["image"] = image;
            c["imagePullPolicy"] = policy;
            return c;
        }
        var hooked = Pulling("hooked", "akkakube/busybox", "IfNotPresent", "while [ ! -f /tmp/hook ]; do sleep 0.1; done; cat /tmp/hook; " + Forever);
        hooked["lifecycle"] = new JsonObject { ["postStart"] = new JsonObject { ["exec"] = new JsonObject { ["command"] = new JsonArray("sh", "-c", "echo hook-ran-in-$(hostname) > /tmp/hook") } } };
        await node.CreatePodAsync(new JsonObject
        {
            ["metadata"] = new JsonObject { ["name"] = "pulls" },
            ["spec"] = new JsonObject
            {
                ["containers"] = new JsonArray(
                    Pulling("never", "127.0.0.1:9/mirror/absent:1", "Never"),
                    Pulling("always", "127.0.0.1:9/mirror/busybox:1", "Always"),
                    Pulling("present", "127.0.0.1:9/mirror/busybox:1", "IfNotPresent"),
                    hooked),
            },
        });
        string? Waiting(JsonNode pod, string container) =>
            (string?)(pod["status"]?["containerStatuses"] as JsonArray)?.FirstOrDefault(c => (string?)c?["name"] == container)?["state"]?["waiting"]?["reason"];
        var pod = await node.WaitPodAsync("pulls", p => Waiting(p, "never") == "ErrImageNeverPull" && Waiting(p, "always") is "ErrImagePull" or "ImagePullBackOff", "the pull refusals");
        var never = (pod["status"]!["containerStatuses"] as JsonArray)!.First(c => (string?)c!["name"] == "never")!;
        Assert.Contains("is not present with pull policy of Never", (string?)never["state"]!["waiting"]!["message"]);
        await node.WaitPodAsync("pulls", p => (p["status"]?["containerStatuses"] as JsonArray)?.Any(c => (string?)c?["name"] == "present" && c?["state"]?["running"] is not null) == true,
            "the present copy running");
        Assert.Contains("hook-ran-in-pulls", await node.WaitLogAsync("pulls", "hooked", "hook-ran"));
        // The image manager's events, as `kubectl describe pod` lists them: per container, in the kubelet's words.
        var events = new List<string>();
        await FailoverSupport.EventuallyAsync(async () =>
        {
            var list = JsonNode.Parse(await node.Http.GetStringAsync("/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3Dpulls"))!;
            events = [.. ((JsonArray)list["items"]!).Select(e => $"{e!["involvedObject"]!["fieldPath"]} {e["type"]} {e["reason"]}: {e["message"]}")];
            return events.Any(e => e.Contains("{always} Warning Failed: Failed to pull image", StringComparison.Ordinal));
        }, TimeSpan.FromSeconds(60), "the failed pull's event");
        Assert.Contains("spec.containers{never} Warning ErrImageNeverPull: Container image \"127.0.0.1:9/mirror/absent:1\" is not present with pull policy of Never", events);
        Assert.Contains("spec.containers{always} Normal Pulling: Pulling image \"127.0.0.1:9/mirror/busybox:1\"", events);
        Assert.Contains("spec.containers{present} Normal Pulled: Container image \"127.0.0.1:9/mirror/busybox:1\" already present on machine", events);
        Assert.DoesNotContain(events, e => e.StartsWith("spec.containers{present} Normal Pulling", StringComparison.Ordinal));
        using var deleted = await node.Http.DeleteAsync("/api/v1/namespaces/default/pods/pulls?gracePeriodSeconds=0");
    }

    /// <summary>
    /// akkakube/echo as a real image (the node binary's echo server on the .NET runtime, scripts/build-test-images.sh
    /// --echo) runs by its own entrypoint with no command, in the pod's network namespace: it answers on the pod IP
    /// with the pod's name and that IP.
    /// </summary>
    [SkippableFact]
    public async Task The_echo_image_runs_by_its_own_entrypoint_and_answers_on_the_pod_ip()
    {
        Skip.If(node.Missing is not null, node.Missing);
        Skip.IfNot(node.EchoImage, "akkakube/echo needs a build of src/Host beside the tests' configuration");
        await node.CreatePodAsync(new JsonObject
        {
            ["metadata"] = new JsonObject { ["name"] = "echo" },
            ["spec"] = new JsonObject
            {
                ["terminationGracePeriodSeconds"] = 10,
                ["containers"] = new JsonArray(new JsonObject { ["name"] = "echo", ["image"] = "akkakube/echo", ["ports"] = new JsonArray(new JsonObject { ["containerPort"] = 8080 }) }),
            },
        });
        var pod = await node.WaitPodAsync("echo", Running, "Running");
        var ip = (string)pod["status"]!["podIP"]!;
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(5) };
        string? answer = null;
        for (var deadline = DateTime.UtcNow.AddSeconds(60); answer is null; await Task.Delay(200))
        {
            try { answer = await http.GetStringAsync($"http://{ip}:8080/from-the-host"); }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && DateTime.UtcNow < deadline) { }
        }
        Assert.Contains("pod=echo ", answer);
        Assert.Contains($"ip={ip} ", answer);
        Assert.Contains("path=/from-the-host", answer);
        Assert.Contains("echo: GET /from-the-host", await node.WaitLogAsync("echo", "echo", "GET /from-the-host"));
        using var deleted = await node.Http.DeleteAsync("/api/v1/namespaces/default/pods/echo");
    }

    /// <summary>
    /// What the kubelet does for any runtime, on cri: an init container prepares an emptyDir the main container reads, a
    /// native sidecar (an init container with restartPolicy Always) runs beside it, the main container's first run fails
    /// and is restarted (its previous log stays readable, timestamps on request), an exec readiness probe runs through CRI
    /// ExecSync, and the metrics API serves the containers' usage from CRI's ContainerStats (what `kubectl top` reads).
    /// </summary>
    [SkippableFact]
    public async Task Init_containers_a_native_sidecar_restarts_with_previous_logs_exec_probes_and_metrics_on_cri()
    {
        Skip.If(node.Missing is not null, node.Missing);
        var sidecar = Container("sidecar", "echo sidecar-up; " + Forever);
        sidecar["restartPolicy"] = "Always";
        var main = Container("main",
            "cat /shared/from-init; n=$(cat /shared/count 2>/dev/null || echo 0); n=$((n+1)); echo $n > /shared/count; echo run-$n; " +
            "if [ $n -lt 2 ]; then exit 3; fi; touch /tmp/healthy; " + Forever);
        main["readinessProbe"] = new JsonObject { ["exec"] = new JsonObject { ["command"] = new JsonArray("cat", "/tmp/healthy") }, ["periodSeconds"] = 1 };
        foreach (var c in new[] { main, sidecar })
            c["volumeMounts"] = new JsonArray(new JsonObject { ["name"] = "shared", ["mountPath"] = "/shared" });
        var init = Container("init", "echo prepared-by-init > /shared/from-init");
        init["volumeMounts"] = new JsonArray(new JsonObject { ["name"] = "shared", ["mountPath"] = "/shared" });
        await node.CreatePodAsync(new JsonObject
        {
            ["metadata"] = new JsonObject { ["name"] = "kit" },
            ["spec"] = new JsonObject
            {
                ["volumes"] = new JsonArray(new JsonObject { ["name"] = "shared", ["emptyDir"] = new JsonObject() }),
                ["initContainers"] = new JsonArray(init, sidecar),
                ["containers"] = new JsonArray(main),
            },
        });
        var pod = await node.WaitPodAsync("kit", p => (p["status"]?["conditions"] as JsonArray)?.Any(c => (string?)c?["type"] == "Ready" && (string?)c["status"] == "True") == true,
            "Ready after the exec probe passed on the second run");
        var mainStatus = pod["status"]!["containerStatuses"]![0]!;
        Assert.True((int)mainStatus["restartCount"]! >= 1, mainStatus.ToJsonString());
        Assert.Equal(3, (int)mainStatus["lastState"]!["terminated"]!["exitCode"]!);
        var inits = (JsonArray)pod["status"]!["initContainerStatuses"]!;
        Assert.Equal("Completed", (string?)inits.First(c => (string?)c!["name"] == "init")!["state"]!["terminated"]!["reason"]);
        var side = inits.First(c => (string?)c!["name"] == "sidecar")!;
        Assert.NotNull(side["state"]!["running"]);
        Assert.True((bool)side["started"]!);

        var current = await node.WaitLogAsync("kit", "main", "run-2");
        Assert.Contains("prepared-by-init", current);
        var previous = await node.Http.GetStringAsync("/api/v1/namespaces/default/pods/kit/log?container=main&previous=true");
        Assert.Contains("run-1", previous);
        Assert.DoesNotContain("run-2", previous);
        var stamped = await node.Http.GetStringAsync("/api/v1/namespaces/default/pods/kit/log?container=sidecar&timestamps=true");
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z sidecar-up", stamped);

        JsonNode? metrics = null;
        await FailoverSupport.EventuallyAsync(async () =>
        {
            using var r = await node.Http.GetAsync("/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/kit");
            if (!r.IsSuccessStatusCode) return false;
            metrics = JsonNode.Parse(await r.Content.ReadAsStringAsync());
            return (metrics?["containers"] as JsonArray)?.Any(c => (string?)c?["name"] == "main") == true;
        }, TimeSpan.FromSeconds(90), "the pod's metrics from CRI stats");
        var usage = ((JsonArray)metrics!["containers"]!).First(c => (string?)c!["name"] == "main")!["usage"]!;
        Assert.EndsWith("Ki", (string?)usage["memory"]); // a working set the kernel measured for the container's cgroup
        Assert.NotEqual("0Ki", (string?)usage["memory"]);
        using var deleted = await node.Http.DeleteAsync("/api/v1/namespaces/default/pods/kit");
    }

    /// <summary>Declared last: it restarts the shared node.</summary>
    [SkippableFact]
    public async Task A_restarted_node_process_re_adopts_its_running_containers_with_the_same_ids_pids_and_restart_counts()
    {
        Skip.If(node.Missing is not null, node.Missing);
        await node.CreatePodAsync(new JsonObject
        {
            ["metadata"] = new JsonObject { ["name"] = "steady" },
            ["spec"] = new JsonObject { ["containers"] = new JsonArray(Container("main", "echo started-once; " + Forever)) },
        });
        var before = await node.WaitPodAsync("steady", Running, "Running");
        await node.WaitLogAsync("steady", "main", "started-once");
        var statusBefore = before["status"]!["containerStatuses"]![0]!;
        var id = ((string)statusBefore["containerID"]!)["containerd://".Length..];
        var pidBefore = (await node.TasksAsync())[id];
        var runningBefore = await RunningContainersAsync();

        await node.RestartNodeAsync();

        // The new kubelet re-adopted the container: its log says so, the status keeps ID, restart count and start time.
        var deadline = DateTime.UtcNow.AddSeconds(120);
        while (!node.Log.ToString().Contains("re-adopted container main (containerd://" + id, StringComparison.Ordinal))
        {
            Assert.False(DateTime.UtcNow > deadline || node.Node!.HasExited, "the restarted node did not re-adopt the container:\n" + node.Log);
            await Task.Delay(300);
        }
        var after = await node.WaitPodAsync("steady", p => Running(p) && p["status"]?["conditions"] is JsonArray c
            && c.Any(x => (string?)x?["type"] == "Ready" && (string?)x?["status"] == "True"), "Running and Ready after the restart");
        var statusAfter = after["status"]!["containerStatuses"]![0]!;
        Assert.Equal((string)statusBefore["containerID"]!, (string)statusAfter["containerID"]!);
        Assert.Equal((int)statusBefore["restartCount"]!, (int)statusAfter["restartCount"]!);
        Assert.Equal((string)statusBefore["state"]!["running"]!["startedAt"]!, (string)statusAfter["state"]!["running"]!["startedAt"]!);
        // The same process in containerd, and the pod's other containers still run too.
        Assert.Equal(pidBefore, (await node.TasksAsync())[id]);
        // Every container that ran before the restart (of this test's pod and of the others on the node) runs on unchanged.
        var runningAfter = await RunningContainersAsync();
        foreach (var (container, was) in runningBefore) Assert.Equal((container, was), (container, runningAfter.GetValueOrDefault(container)));
        Assert.DoesNotContain("started-once\nstarted-once", await node.WaitLogAsync("steady", "main", "started-once"));
    }
}
