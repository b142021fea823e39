using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using AkkaKube.Tests.Infrastructure;

namespace AkkaKube.Tests.Kubelet;

/// <summary>An all-in-one node whose kubelet uses tiny back-off values, shared by the tests of a class.</summary>
public sealed class KubeletNodeFixture : IAsyncLifetime
{
    private readonly TempDir _conf = new();
    public InProcessNode Node { get; private set; } = null!;
    public HttpClient Http { get; private set; } = null!;
    public string Scratch => _conf.Path;

    public async Task InitializeAsync()
    {
        var file = Path.Combine(_conf.Path, "kubelet-test.conf");
        await File.WriteAllTextAsync(file, """
            akkakube.kubelet {
              backoff { min = 200ms, max = 1s }
              lease-interval = 500ms
              metrics-interval = 500ms
            }
            """);
        Node = new InProcessNode { Configure = o => o with { ConfigFiles = [file] } };
        await Node.InitializeAsync();
        Http = Node.NewHttpClient(configure: h => h.UseProxy = false);
        // The apiserver creates the default namespace, the kubelet its Node and the serviceaccount controller the
        // default ServiceAccount (without which the ServiceAccount admission refuses pods) shortly after start.
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            using (var ns = await Http.GetAsync("/api/v1/namespaces/default"))
            using (var node = await Http.GetAsync($"/api/v1/nodes/{Node.Options.NodeName}"))
            using (var account = await Http.GetAsync("/api/v1/namespaces/default/serviceaccounts/default"))
                if (ns.IsSuccessStatusCode && node.IsSuccessStatusCode && account.IsSuccessStatusCode) break;
            if (DateTime.UtcNow > deadline) throw new TimeoutException("namespace default / the Node / the default ServiceAccount did not appear within 60 s");
            await Task.Delay(100);
        }
    }

    public async Task DisposeAsync()
    {
        await Node.DisposeAsync();
        Http.Dispose();
        _conf.Dispose();
    }
}

public sealed class KubeletNodeTests(KubeletNodeFixture fixture) : IClassFixture<KubeletNodeFixture>
{
    private static readonly TimeSpan Max = TimeSpan.FromSeconds(60);
    private HttpClient Http => fixture.Http;
    private string NodeName => fixture.Node.Options.NodeName;

    private async Task CreatePod(JsonObject pod)
    {
        using var response = await Http.PostAsync("/api/v1/namespaces/default/pods", new StringContent(pod.ToJsonString(), Encoding.UTF8, "application/json"));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    private async Task<JsonObject?> GetPod(string name)
    {
        using var response = await Http.GetAsync($"/api/v1/namespaces/default/pods/{name}");
        if (response.StatusCode == HttpStatusCode.NotFound) return null;
        return JsonNode.Parse(await response.Content.ReadAsStringAsync()) as JsonObject;
    }

    private static async Task Eventually(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + Max;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"not within {Max.TotalSeconds}s: {what}");
            await Task.Delay(100);
        }
    }

    /// <summary>Running means the process exists, not that its shell installed its TERM trap: the test pods echo "started" after it.</summary>
    private Task TrapInstalled(string pod) => Eventually(async () =>
    {
        using var log = await Http.GetAsync($"/api/v1/namespaces/default/pods/{pod}/log");
        return log.IsSuccessStatusCode && (await log.Content.ReadAsStringAsync()).Contains("started");
    }, $"the trap of {pod} is installed");

    private async Task<string> Answer(string url)
    {
        string? body = null;
        await Eventually(async () =>
        {
            try { body = await Http.GetStringAsync(url); return true; }
            catch (HttpRequestException) { return false; }
        }, $"{url} answers");
        return body!;
    }

    private JsonObject Pod(string name, string image, Action<JsonObject>? container = null, string? restartPolicy = null)
    {
        var c = new JsonObject { ["name"] = "main", ["image"] = image, ["ports"] = new JsonArray(new JsonObject { ["containerPort"] = 8080 }) };
        container?.Invoke(c);
        var spec = new JsonObject { ["nodeName"] = NodeName, ["terminationGracePeriodSeconds"] = 5, ["containers"] = new JsonArray(c) };
        if (restartPolicy is not null) spec["restartPolicy"] = restartPolicy;
        return new JsonObject
        {
            ["apiVersion"] = "v1", ["kind"] = "Pod",
            ["metadata"] = new JsonObject { ["name"] = name, ["labels"] = new JsonObject { ["app"] = "kubelet-test" } },
            ["spec"] = spec,
        };
    }

    [Fact]
    public async Task The_node_registers_itself_ready_and_bare_echo_pods_run_with_distinct_ips_that_answer_http()
    {
        await Eventually(async () =>
        {
            using var r = await Http.GetAsync($"/api/v1/nodes/{NodeName}");
            if (!r.IsSuccessStatusCode) return false;
            var node = JsonNode.Parse(await r.Content.ReadAsStringAsync())!;
            return (node["status"]?["conditions"] as JsonArray)?.Any(c => c!["type"]!.GetValue<string>() == "Ready" && c["status"]!.GetValue<string>() == "True") == true;
        }, "node Ready");

        await Eventually(async () =>
        {
            using var r = await Http.GetAsync($"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{NodeName}");
            return r.IsSuccessStatusCode && (await r.Content.ReadAsStringAsync()).Contains("renewTime");
        }, "node lease");

        var names = new[] { "echo-a", "echo-b", "echo-c" };
        foreach (var n in names) await CreatePod(Pod(n, "akkakube/echo"));
        var ips = new Dictionary<string, string>();
        await Eventually(async () =>
        {
            foreach (var n in names)
            {
                var p = await GetPod(n);
                if (p.Phase() != "Running" || p.Condition("Ready") != "True") return false;
                ips[n] = p!["status"]!["podIP"]!.GetValue<string>();
            }
            return true;
        }, "three echo pods Running and Ready");
        Assert.Equal(3, ips.Values.Distinct().Count());
        foreach (var (n, ip) in ips)
        {
            // Running means the process started; without a readiness probe it may still be binding its socket.
            var body = await Answer($"http://{ip}:8080/where");
            Assert.Contains($"pod={n}", body);
            Assert.Contains($"ip={ip}", body);
            Assert.Contains($"node={NodeName}", body);
        }

        // Logs through the API, as kubectl asks for them.
        var log = await Http.GetStringAsync("/api/v1/namespaces/default/pods/echo-a/log?container=main");
        Assert.Contains("echo: listening on", log);
        Assert.Contains("GET /where", log);
        var tail = await Http.GetStringAsync("/api/v1/namespaces/default/pods/echo-a/log?tailLines=1&timestamps=true");
        Assert.Single(tail.TrimEnd('\n').Split('\n'));
        Assert.Matches(@"^\d{4}-\d\d-\d\dT", tail);
        using var missing = await Http.GetAsync("/api/v1/namespaces/default/pods/echo-a/log?container=nope");
        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
        using var bad = await Http.GetAsync("/api/v1/namespaces/default/pods/echo-a/log?tailLines=x");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        using var noPod = await Http.GetAsync("/api/v1/namespaces/default/pods/nobody/log");
        Assert.Equal(HttpStatusCode.NotFound, noPod.StatusCode);

        // Follow streams new lines as they come.
        using (var follow = await Http.GetAsync("/api/v1/namespaces/default/pods/echo-b/log?follow=true", HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(HttpStatusCode.OK, follow.StatusCode);
            await using var stream = await follow.Content.ReadAsStreamAsync();
            using var reader = new StreamReader(stream);
            await Answer($"http://{ips["echo-b"]}:8080/followed");
            using var cts = new CancellationTokenSource(Max);
            string? line;
            do line = await reader.ReadLineAsync(cts.Token);
            while (line is not null && !line.Contains("GET /followed"));
            Assert.NotNull(line);
        }

        if (File.Exists("/usr/bin/kubectl"))
        {
            var output = Kubectl("logs", "echo-c", "--tail=5");
            Assert.Contains("echo: listening on", output);
        }
    }

    private string Kubectl(params string[] args)
    {
        var psi = new ProcessStartInfo("kubectl") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add($"--cache-dir={Path.Combine(fixture.Scratch, "kubectl-cache")}");
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["KUBECONFIG"] = fixture.Node.KubeconfigPath;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(60_000)) { p.Kill(true); throw new TimeoutException("kubectl hung"); }
        Assert.True(p.ExitCode == 0, $"kubectl {string.Join(" ", args)} failed: {stderr.Result}");
        return stdout.Result;
    }

    [Fact]
    public async Task A_crashing_container_shows_CrashLoopBackOff_with_a_growing_restart_count_and_its_last_exit()
    {
        await CreatePod(Pod("crasher", "busybox", c => c["command"] = new JsonArray("sh", "-c", "echo about to fail; exit 2")));
        var sawBackOff = false;
        await Eventually(async () =>
        {
            var s = (await GetPod("crasher")).ContainerStatus("main");
            sawBackOff |= s.Waiting() == "CrashLoopBackOff";
            return sawBackOff && s.RestartCount() >= 3;
        }, "CrashLoopBackOff with restartCount >= 3");
        var last = (await GetPod("crasher")).ContainerStatus("main")!["lastState"]!["terminated"]!;
        Assert.Equal(2, last["exitCode"]!.GetValue<int>());
        Assert.Equal("Error", last["reason"]!.GetValue<string>());
        var previous = await Http.GetStringAsync("/api/v1/namespaces/default/pods/crasher/log?previous=true");
        Assert.Contains("about to fail", previous);
    }

    [Fact]
    public async Task A_failing_liveness_probe_restarts_the_container()
    {
        await CreatePod(Pod("unlively", "akkakube/echo", c =>
        {
            // The startup probe holds the liveness probe back until the echo listens.
            c["startupProbe"] = new JsonObject
            {
                ["httpGet"] = new JsonObject { ["path"] = "/healthz", ["port"] = 8080 },
                ["periodSeconds"] = 1,
                ["failureThreshold"] = 60,
            };
            c["livenessProbe"] = new JsonObject
            {
                ["httpGet"] = new JsonObject { ["path"] = "/healthz", ["port"] = 8080 },
                ["periodSeconds"] = 1,
                ["failureThreshold"] = 1,
            };
        }));
        await Eventually(async () => (await GetPod("unlively")).ContainerStatus("main")?["started"]?.GetValue<bool>() == true, "started (startup probe passed)");
        var ip = (await GetPod("unlively"))!["status"]!["podIP"]!.GetValue<string>();
        await Eventually(async () =>
        {
            try { await Http.GetStringAsync($"http://{ip}:8080/healthz/off"); return true; }
            catch (HttpRequestException) { return false; }
        }, "echo turned unhealthy");
        await Eventually(async () => (await GetPod("unlively")).ContainerStatus("main").RestartCount() >= 1, "restarted by liveness");
        var last = (await GetPod("unlively")).ContainerStatus("main")!["lastState"]!["terminated"]!;
        Assert.Contains("liveness", last["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task Readiness_follows_the_probe_and_flips_back()
    {
        await CreatePod(Pod("flippy", "akkakube/echo", c => c["readinessProbe"] = new JsonObject
        {
            ["httpGet"] = new JsonObject { ["path"] = "/ready", ["port"] = 8080 },
            ["periodSeconds"] = 1,
            ["failureThreshold"] = 1,
        }));
        await Eventually(async () => (await GetPod("flippy")).Condition("Ready") == "True", "Ready");
        var ip = (await GetPod("flippy"))!["status"]!["podIP"]!.GetValue<string>();
        await Answer($"http://{ip}:8080/ready/off");
        await Eventually(async () => (await GetPod("flippy")).Condition("Ready") == "False", "not Ready");
        Assert.Equal("Running", (await GetPod("flippy")).Phase());
        await Answer($"http://{ip}:8080/ready/on");
        await Eventually(async () => (await GetPod("flippy")).Condition("Ready") == "True", "Ready again");
    }

    [Fact]
    public async Task Deleting_a_pod_delivers_sigterm_to_its_process_and_the_pod_object_disappears()
    {
        var marker = Path.Combine(fixture.Scratch, "terminated-" + Guid.NewGuid().ToString("N"));
        await CreatePod(Pod("graceful", "busybox", c => c["command"] = new JsonArray("sh", "-c",
            $"trap 'echo term > {marker}; exit 0' TERM; echo started; while true; do sleep 0.1; done")));
        await Eventually(async () => (await GetPod("graceful")).Phase() == "Running", "Running");
        // Running means the process exists, not that the shell has installed its trap yet: a SIGTERM before the
        // trap ends sh by the default action and writes no marker. "started" is echoed after the trap.
        await TrapInstalled("graceful");
        using (var response = await Http.DeleteAsync("/api/v1/namespaces/default/pods/graceful"))
            Assert.True(response.IsSuccessStatusCode);
        await Eventually(() => Task.FromResult(File.Exists(marker)), "the process got SIGTERM");
        await Eventually(async () => await GetPod("graceful") is null, "pod object gone");
    }

    /// <summary>
    /// Real processes: the postStart hook (exec, with the container's env) has run when the pod is Running; deleting the
    /// pod runs the preStop exec hook, then an httpGet preStop reaches a server, then the container gets its SIGTERM.
    /// </summary>
    [Fact]
    public async Task Lifecycle_hooks_run_postStart_before_Running_and_preStop_before_the_SIGTERM()
    {
        var marker = Path.Combine(fixture.Scratch, "hooks-" + Guid.NewGuid().ToString("N"));
        using var server = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        server.Start();
        var port = ((IPEndPoint)server.LocalEndpoint).Port;
        var request = Task.Run(async () =>
        {
            using var client = await server.AcceptTcpClientAsync();
            var stream = client.GetStream();
            var head = await new StreamReader(stream).ReadLineAsync();
            await File.AppendAllTextAsync(marker, "http " + head + "\n");
            await stream.WriteAsync("HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n"u8.ToArray());
        });
        await CreatePod(Pod("hooks", "busybox", c =>
        {
            c["command"] = new JsonArray("sh", "-c", $"trap 'echo term >> {marker}; exit 0' TERM; echo started; while true; do sleep 0.1; done");
            c["env"] = new JsonArray(new JsonObject { ["name"] = "GREETING", ["value"] = "from-the-container-env" });
            c["lifecycle"] = new JsonObject
            {
                ["postStart"] = new JsonObject { ["exec"] = new JsonObject { ["command"] = new JsonArray("sh", "-c", $"echo poststart $GREETING >> {marker}") } },
                ["preStop"] = new JsonObject { ["exec"] = new JsonObject { ["command"] = new JsonArray("sh", "-c", $"echo prestop >> {marker}") } },
            };
        }));
        await Eventually(async () => (await GetPod("hooks")).Phase() == "Running", "Running");
        Assert.Equal("poststart from-the-container-env\n", await File.ReadAllTextAsync(marker));
        await TrapInstalled("hooks");
        using (var response = await Http.DeleteAsync("/api/v1/namespaces/default/pods/hooks"))
            Assert.True(response.IsSuccessStatusCode);
        await Eventually(async () => await GetPod("hooks") is null, "pod object gone");
        Assert.Equal("poststart from-the-container-env\nprestop\nterm\n", await File.ReadAllTextAsync(marker));

        // httpGet: to the host and port it names (the pod IP when no host is given)
        await CreatePod(Pod("httphook", "busybox", c =>
        {
            c["command"] = new JsonArray("sh", "-c", $"trap 'echo term2 >> {marker}; exit 0' TERM; echo started; while true; do sleep 0.1; done");
            c["lifecycle"] = new JsonObject
            {
                ["preStop"] = new JsonObject { ["httpGet"] = new JsonObject { ["host"] = "127.0.0.1", ["port"] = port, ["path"] = "/drain" } },
            };
        }));
        await TrapInstalled("httphook");
        using (var response = await Http.DeleteAsync("/api/v1/namespaces/default/pods/httphook"))
            Assert.True(response.IsSuccessStatusCode);
        await Eventually(async () => await GetPod("httphook") is null, "pod object gone");
        await request.WaitAsync(Max);
        Assert.EndsWith("http GET /drain HTTP/1.1\nterm2\n", await File.ReadAllTextAsync(marker));
    }

    [Fact]
    public async Task The_qos_class_follows_the_containers_requests_and_limits()
    {
        JsonObject Resources(string? requests, string? limits)
        {
            var r = new JsonObject();
            if (requests is not null) r["requests"] = new JsonObject { ["cpu"] = requests, ["memory"] = "64Mi" };
            if (limits is not null) r["limits"] = new JsonObject { ["cpu"] = limits, ["memory"] = "64Mi" };
            return r;
        }
        await CreatePod(Pod("qos-guaranteed", "busybox", c => { c["command"] = new JsonArray("sleep", "3600"); c["resources"] = Resources(null, "100m"); }));
        await CreatePod(Pod("qos-burstable", "busybox", c => { c["command"] = new JsonArray("sleep", "3600"); c["resources"] = Resources("50m", "100m"); }));
        await CreatePod(Pod("qos-besteffort", "busybox", c => c["command"] = new JsonArray("sleep", "3600")));
        foreach (var (pod, qos) in new[] { ("qos-guaranteed", "Guaranteed"), ("qos-burstable", "Burstable"), ("qos-besteffort", "BestEffort") })
        {
            Assert.Equal(qos, (await GetPod(pod))!["status"]!["qosClass"]!.GetValue<string>()); // set by the apiserver on create
            await Eventually(async () => (await GetPod(pod)).Phase() == "Running", pod + " Running");
            Assert.Equal(qos, (await GetPod(pod))!["status"]!["qosClass"]!.GetValue<string>()); // kept by the kubelet's status
            using var _ = await Http.DeleteAsync($"/api/v1/namespaces/default/pods/{pod}?gracePeriodSeconds=0");
        }
    }

    [Fact]
    public async Task An_unknown_image_waits_with_ErrImagePull_or_ImagePullBackOff_and_never_crashes_the_node()
    {
        await CreatePod(Pod("nosuchimage", "example.com/does-not-exist:1"));
        await Eventually(async () => (await GetPod("nosuchimage")).ContainerStatus("main").Waiting() is "ErrImagePull" or "ImagePullBackOff", "ErrImagePull");
        await Eventually(async () => (await GetPod("nosuchimage")).ContainerStatus("main").Waiting() == "ImagePullBackOff", "ImagePullBackOff");
        Assert.Equal("Pending", (await GetPod("nosuchimage")).Phase());
    }
}
