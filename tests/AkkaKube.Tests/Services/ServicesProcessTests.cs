using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using AkkaKube.Cli;
using AkkaKube.Tests.Failover;
using AkkaKube.Tests.Infrastructure;

namespace AkkaKube.Tests.Services;

/// <summary>
/// The services cluster: 1 control-plane node and 2 workers (real akkakube-node processes, each worker with its
/// kubelet and kube-proxy), plus an `akkakube/echo` Deployment of 3 (readiness probe on /ready) behind a ClusterIP
/// service `echo` and a LoadBalancer service `echo-lb`, applied once with the real kubectl.
/// </summary>
public sealed class ServicesCluster : LocalCluster
{
    public const int ServicePort = 8080;

    public override int ControlPlanes => 1;
    public override int Workers => 2;

    private readonly SemaphoreSlim _setup = new(1, 1);
    private bool _applied;

    public const string Manifests = """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: echo}
        spec:
          replicas: 3
          selector: {matchLabels: {app: echo}}
          template:
            metadata: {labels: {app: echo}}
            spec:
              terminationGracePeriodSeconds: 5
              containers:
              - name: echo
                image: akkakube/echo
                ports: [{name: http, containerPort: 8080}]
                readinessProbe:
                  httpGet: {path: /ready, port: http}
                  periodSeconds: 1
                  failureThreshold: 1
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: echo}
        spec:
          selector: {app: echo}
          ports: [{name: http, port: 8080, targetPort: http}]
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: echo-lb}
        spec:
          type: LoadBalancer
          selector: {app: echo}
          ports: [{name: http, port: 8080, targetPort: http}]
        """;

    /// <summary>Runs the real kubectl against this cluster (kill by PID on timeout).</summary>
    public Task<ProcessResult> KubectlAsync(params string[] args) =>
        ProcessRunner.RunAsync("kubectl", ["--cache-dir", Path.Combine(DataDirectory, "kubectl-cache"), .. args], TimeSpan.FromSeconds(90),
            env: new Dictionary<string, string> { ["KUBECONFIG"] = KubeconfigPath, ["HOME"] = DataDirectory });

    /// <summary>Applies <see cref="Manifests"/> once (the first test that needs them).</summary>
    public async Task EnsureAppliedAsync()
    {
        await _setup.WaitAsync();
        try
        {
            if (_applied) return;
            var file = Path.Combine(DataDirectory, "echo.yaml");
            await File.WriteAllTextAsync(file, Manifests);
            ProcessResult? last = null;
            await FailoverSupport.EventuallyAsync(async () => (last = await KubectlAsync("apply", "-f", file)).ExitCode == 0,
                TimeSpan.FromSeconds(60), "kubectl apply of the echo deployment and services");
            Assert.Contains("service/echo-lb", last!.Stdout);
            _applied = true;
        }
        finally
        {
            _setup.Release();
        }
    }
}

/// <summary>
/// Process-level services tests: traffic through the kube-proxies of a real multi-process cluster to real echo pods
/// (HTTP/1.1, one request per connection; echo answers "pod=… ip=…"). Declared order matters: the last test kills a
/// worker.
/// </summary>
[Trait("Category", "Process")]
[TestCaseOrderer(DeclarationOrderer.TypeName, DeclarationOrderer.AssemblyName)]
public sealed partial class ServicesProcessTests(ServicesCluster cluster) : IClassFixture<ServicesCluster>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    private sealed record Answer(string Pod, string Ip);

    /// <summary>One GET / on a fresh connection; throws on refusal, reset, timeout or a non-200 answer.</summary>
    private static async Task<Answer> AskAsync(IPEndPoint at, string path = "/")
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        using var socket = new Socket(at.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(at, cts.Token);
        await socket.SendAsync(Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: {at}\r\nConnection: close\r\n\r\n"), SocketFlags.None, cts.Token);
        var received = new MemoryStream();
        var buffer = new byte[4096];
        int n;
        while ((n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token)) > 0) received.Write(buffer, 0, n);
        var text = Encoding.UTF8.GetString(received.ToArray());
        if (!text.StartsWith("HTTP/1.1 200", StringComparison.Ordinal)) throw new IOException($"{at}{path} answered '{text.Split('\n')[0].Trim()}'");
        var body = text[(text.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..];
        string Field(string key) => body.Split(' ', '\n').FirstOrDefault(w => w.StartsWith(key + "=", StringComparison.Ordinal))?[(key.Length + 1)..]
                                    ?? throw new IOException($"{at} answered without {key}=: '{body.Trim()}'");
        return new Answer(Field("pod"), Field("ip"));
    }

    /// <summary>One GET on a fresh connection to a pod's own address (the echo switches /ready/off, /ready/on); throws unless 200.</summary>
    private static async Task SwitchAsync(IPEndPoint pod, string path)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        using var socket = new Socket(pod.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(pod, cts.Token);
        await socket.SendAsync(Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: {pod}\r\nConnection: close\r\n\r\n"), SocketFlags.None, cts.Token);
        var buffer = new byte[4096];
        var n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
        var line = Encoding.ASCII.GetString(buffer, 0, n).Split('\n')[0].Trim();
        if (!line.StartsWith("HTTP/1.1 200", StringComparison.Ordinal)) throw new IOException($"{pod}{path} answered '{line}'");
    }

    /// <summary>A client that retries once: null only when both attempts failed.</summary>
    private static async Task<Answer?> AskRetryingOnceAsync(IPEndPoint at, List<string>? errors = null)
    {
        for (var attempt = 0; attempt < 2; attempt++)
        {
            try { return await AskAsync(at); }
            catch (Exception e) when (IsTransient(e)) { errors?.Add($"{e.GetType().Name}: {e.Message}"); }
        }
        return null;
    }

    private static bool IsTransient(Exception e) => e is SocketException or IOException or OperationCanceledException;

    private HttpClient Http() => FailoverSupport.Http(cluster);

    private async Task<JsonObject> ServiceAsync(HttpClient http, string name) =>
        (await FailoverSupport.SendAsync(http, HttpMethod.Get, $"/api/v1/namespaces/default/services/{name}"))!;

    private static async Task<List<JsonObject>> SliceEndpointsAsync(HttpClient http, string service) =>
        ((await FailoverSupport.SendAsync(http, HttpMethod.Get,
            $"/apis/discovery.k8s.io/v1/namespaces/default/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3D{service}"))!["items"] as JsonArray)!
        .OfType<JsonObject>().SelectMany(s => (s["endpoints"] as JsonArray ?? []).OfType<JsonObject>()).ToList();

    private static bool EndpointReady(JsonObject e) => e["conditions"]?["ready"]?.GetValue<bool>() == true;
    private static string EndpointPod(JsonObject e) => (string)e["targetRef"]!["name"]!;

    /// <summary>
    /// Every node up (an earlier run's fault repaired), the echo objects applied, 3 ready echo pods, and the slice of
    /// `echo` listing exactly those 3 as ready. Returns pod name → pod IP.
    /// </summary>
    private async Task<Dictionary<string, string>> ThreeReadyEchoPodsAsync(HttpClient http)
    {
        await FailoverSupport.EnsureAllUpAsync(cluster);
        await cluster.EnsureAppliedAsync();
        Dictionary<string, string> pods = [];
        await FailoverSupport.EventuallyAsync(async () =>
        {
            pods = (await FailoverSupport.PodsAsync(http, "echo")).Where(FailoverSupport.IsReadyRunning)
                .ToDictionary(p => (string)p["metadata"]!["name"]!, p => (string)p["status"]!["podIP"]!);
            if (pods.Count != 3) return false;
            var ready = (await SliceEndpointsAsync(http, "echo")).Where(EndpointReady).Select(EndpointPod).ToHashSet();
            return ready.SetEquals(pods.Keys);
        }, Patience, "3 ready echo pods, all ready in the EndpointSlice of service echo");
        return pods;
    }

    private async Task<IPEndPoint> ClusterIpAsync(HttpClient http) =>
        new(IPAddress.Parse((string)(await ServiceAsync(http, "echo"))["spec"]!["clusterIP"]!), ServicesCluster.ServicePort);

    /// <summary>Polls until <paramref name="count"/> consecutive fresh connections to <paramref name="at"/> all answer and satisfy <paramref name="good"/>.</summary>
    private static async Task<List<Answer>> EventuallyAnswersAsync(IPEndPoint at, int count, Func<List<Answer>, bool> good, string what)
    {
        List<Answer> answers = [];
        string last = "";
        var deadline = DateTime.UtcNow + Patience;
        while (DateTime.UtcNow < deadline)
        {
            answers = [];
            try
            {
                for (var i = 0; i < count; i++) answers.Add(await AskAsync(at));
                if (good(answers)) return answers;
                last = "answers from " + string.Join(", ", answers.Select(a => a.Pod));
            }
            catch (Exception e) when (IsTransient(e))
            {
                last = $"after {answers.Count} answers: {e.GetType().Name}: {e.Message}";
            }
            await Task.Delay(250);
        }
        throw new TimeoutException($"not within {Patience.TotalSeconds:0} s: {what} at {at} ({last})");
    }

    [Fact]
    public async Task An_echo_deployment_of_three_answers_at_its_cluster_ip_from_all_three_pods_over_repeated_connections()
    {
        using var http = Http();
        var pods = await ThreeReadyEchoPodsAsync(http);
        var svc = await ServiceAsync(http, "echo");
        var clusterIp = await ClusterIpAsync(http);
        Assert.Equal(128, clusterIp.Address.GetAddressBytes()[1]);
        Assert.Equal("ClusterIP", (string)svc["spec"]!["type"]!);

        var answers = await EventuallyAnswersAsync(clusterIp, 12, a => pods.Keys.All(p => a.Any(x => x.Pod == p)), "answers from all 3 pods");

        Assert.All(answers, a => Assert.Equal(pods[a.Pod], a.Ip));
        var sliceEndpoints = await SliceEndpointsAsync(http, "echo");
        Assert.Equal(pods.Values.Order(), sliceEndpoints.Select(e => (string)e["addresses"]![0]!).Order());
        Assert.All(sliceEndpoints, e => Assert.StartsWith("worker-", (string)e["nodeName"]!));
    }

    [Fact]
    public async Task A_pod_that_turns_unready_drops_out_of_the_endpoint_slice_and_out_of_rotation_and_comes_back_when_ready()
    {
        using var http = Http();
        var pods = await ThreeReadyEchoPodsAsync(http);
        var clusterIp = await ClusterIpAsync(http);
        var (victim, victimIp) = pods.OrderBy(p => p.Key, StringComparer.Ordinal).First();
        var victimEndpoint = new IPEndPoint(IPAddress.Parse(victimIp), 8080);
        try
        {
            await SwitchAsync(victimEndpoint, "/ready/off");
            await FailoverSupport.EventuallyAsync(async () =>
                    (await SliceEndpointsAsync(http, "echo")).Any(e => EndpointPod(e) == victim && !EndpointReady(e)),
                Patience, $"{victim} not ready in the slice after its readiness probe fails");

            var others = pods.Keys.Where(p => p != victim).ToList();
            await EventuallyAnswersAsync(clusterIp, 12, a => a.All(x => x.Pod != victim) && others.All(o => a.Any(x => x.Pod == o)),
                $"answers from {string.Join(" and ", others)} only");
            // and it stays out: another round of fresh connections never reaches it
            for (var i = 0; i < 12; i++) Assert.NotEqual(victim, (await AskAsync(clusterIp)).Pod);
            // the pod itself still answers directly: only the proxy's rotation left it out
            Assert.Equal(victim, (await AskAsync(victimEndpoint)).Pod);
        }
        finally
        {
            try { await SwitchAsync(victimEndpoint, "/ready/on"); }
            catch (Exception e) when (IsTransient(e)) { }
        }
        await FailoverSupport.EventuallyAsync(async () =>
                (await SliceEndpointsAsync(http, "echo")).Any(e => EndpointPod(e) == victim && EndpointReady(e)),
            Patience, $"{victim} ready again in the slice");
        await EventuallyAnswersAsync(clusterIp, 12, a => a.Any(x => x.Pod == victim), $"answers from {victim} again");
    }

    [Fact]
    public async Task Deleting_a_pod_with_kubectl_never_fails_a_request_of_a_client_that_retries_once()
    {
        using var http = Http();
        var pods = await ThreeReadyEchoPodsAsync(http);
        var clusterIp = await ClusterIpAsync(http);
        var victim = pods.Keys.OrderBy(p => p, StringComparer.Ordinal).Last();

        using var stop = new CancellationTokenSource();
        var served = new Dictionary<string, int>();
        var failed = 0;
        var client = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var answer = await AskRetryingOnceAsync(clusterIp);
                lock (served)
                {
                    if (answer is null) failed++;
                    else served[answer.Pod] = served.GetValueOrDefault(answer.Pod) + 1;
                }
            }
        });
        try
        {
            await FailoverSupport.EventuallyAsync(() => { lock (served) return Task.FromResult(served.Values.Sum() >= 5); }, Patience, "the client loop answered");
            var deleted = await cluster.KubectlAsync("delete", "pod", victim);
            Assert.True(deleted.ExitCode == 0, deleted.Output);
            Assert.Contains($"pod \"{victim}\" deleted", deleted.Stdout);
            // the replica set replaces it; keep the client going until the replacement serves too
            await FailoverSupport.EventuallyAsync(async () =>
            {
                var now = (await FailoverSupport.PodsAsync(http, "echo")).Where(FailoverSupport.IsReadyRunning).Select(p => (string)p["metadata"]!["name"]!).ToList();
                var replacement = now.Except(pods.Keys).ToList();
                lock (served) return now.Count == 3 && replacement.Count == 1 && served.ContainsKey(replacement[0]);
            }, Patience, "a replacement pod ready and serving");
        }
        finally
        {
            await stop.CancelAsync();
            await client;
        }
        lock (served)
        {
            Assert.True(failed == 0, $"{failed} request(s) failed twice; served: {string.Join(", ", served.Select(s => $"{s.Key}={s.Value}"))}");
            Assert.True(served.Values.Sum() >= 10, $"only {served.Values.Sum()} requests were served");
        }
    }

    [Fact]
    public async Task Node_port_and_load_balancer_addresses_answer_on_every_worker()
    {
        using var http = Http();
        var pods = await ThreeReadyEchoPodsAsync(http);
        JsonObject svc = null!;
        await FailoverSupport.EventuallyAsync(async () => (svc = await ServiceAsync(http, "echo-lb"))["status"]?["loadBalancer"]?["ingress"]?[0]?["ip"] is not null,
            Patience, "a load-balancer ingress address for echo-lb");
        var nodePort = (int)svc["spec"]!["ports"]![0]!["nodePort"]!;
        Assert.InRange(nodePort, 30000, 32767);
        var lbIp = IPAddress.Parse((string)svc["status"]!["loadBalancer"]!["ingress"]![0]!["ip"]!);
        Assert.Equal(200, lbIp.GetAddressBytes()[1]);
        await FailoverSupport.EventuallyAsync(async () => (await SliceEndpointsAsync(http, "echo-lb")).Count(EndpointReady) == 3, Patience, "3 ready endpoints for echo-lb");

        var frontends = cluster.State.Nodes.Where(n => !n.ControlPlane).Select(n => new IPEndPoint(IPAddress.Parse(n.Ip), nodePort))
            .Append(new IPEndPoint(lbIp, ServicesCluster.ServicePort)).ToList();
        foreach (var frontend in frontends)
            await EventuallyAnswersAsync(frontend, 9, a => a.All(x => pods.ContainsKey(x.Pod)) && a.Select(x => x.Pod).Distinct().Count() >= 2,
                "answers from the echo pods");
    }

    [Fact]
    public async Task Bad_services_are_refused_with_422_naming_the_field_and_kubectl_shows_it()
    {
        using var http = Http();
        await cluster.EnsureAppliedAsync();
        JsonObject lb = null!;
        await FailoverSupport.EventuallyAsync(async () => (lb = await ServiceAsync(http, "echo-lb"))["spec"]?["ports"]?[0]?["nodePort"] is not null,
            Patience, "echo-lb with its node port");
        var taken = (int)lb["spec"]!["ports"]![0]!["nodePort"]!;
        var cases = new (string Name, string Spec, string Field, string Message)[]
        {
            ("bad-np", $$"""{"type":"NodePort","selector":{"app":"echo"},"ports":[{"port":80,"nodePort":{{taken}}}]}""",
                "spec.ports[0].nodePort", $"spec.ports[0].nodePort: Invalid value: {taken}: provided port is already allocated"),
            ("bad-selector", """{"selector":{"app":"no spaces"},"ports":[{"port":80}]}""", "spec.selector", "spec.selector: Invalid value: \"no spaces\""),
            ("bad-target", """{"selector":{"app":"echo"},"ports":[{"port":80,"targetPort":"Not_Valid"}]}""", "spec.ports[0].targetPort",
                "spec.ports[0].targetPort: Invalid value: \"Not_Valid\""),
        };
        foreach (var (name, spec, field, message) in cases)
        {
            using var content = new StringContent($$"""{"apiVersion":"v1","kind":"Service","metadata":{"name":"{{name}}"},"spec":{{spec}}}""", Encoding.UTF8, "application/json");
            using var response = await http.PostAsync("/api/v1/namespaces/default/services", content);
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.UnprocessableEntity, $"{name}: {(int)response.StatusCode} {body}");
            var status = JsonNode.Parse(body)!;
            Assert.Equal("Invalid", (string)status["reason"]!);
            Assert.Contains(message, (string)status["message"]!);
            Assert.Contains((status["details"]!["causes"] as JsonArray)!, c => (string?)c!["field"] == field);

            var file = Path.Combine(cluster.DataDirectory, name + ".json");
            await File.WriteAllTextAsync(file, $$"""{"apiVersion":"v1","kind":"Service","metadata":{"name":"{{name}}"},"spec":{{spec}}}""");
            var applied = await cluster.KubectlAsync("apply", "-f", file);
            Assert.True(applied.ExitCode != 0, applied.Output);
            Assert.Contains($"The Service \"{name}\" is invalid: ", applied.Stderr);
            Assert.Contains(message, applied.Stderr);
            Assert.DoesNotContain("   at ", applied.Output);
        }
        // nothing was stored
        var names = ((await FailoverSupport.SendAsync(http, HttpMethod.Get, "/api/v1/namespaces/default/services"))!["items"] as JsonArray)!
            .Select(s => (string)s!["metadata"]!["name"]!).ToList();
        Assert.DoesNotContain(names, n => n.StartsWith("bad-", StringComparison.Ordinal));
    }

    /// <summary>
    /// The process runtime cannot enforce NetworkPolicy (pods share the host's network): kubectl apply of a policy works, and
    /// each worker reports it with a Warning event NotEnforced that says why (docs/network-policy.md).
    /// </summary>
    [Fact]
    public async Task A_network_policy_is_accepted_and_each_worker_reports_it_not_enforced()
    {
        var file = Path.Combine(cluster.DataDirectory, "deny.yaml");
        await File.WriteAllTextAsync(file, """
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: deny-echo}
            spec:
              podSelector: {matchLabels: {app: echo}}
              policyTypes: [Ingress]
            """);
        ProcessResult applied = null!;
        await FailoverSupport.EventuallyAsync(async () => (applied = await cluster.KubectlAsync("apply", "-f", file)).ExitCode == 0, Patience, "kubectl apply of a NetworkPolicy");
        Assert.Contains("networkpolicy.networking.k8s.io/deny-echo created", applied.Stdout);
        ProcessResult events = null!;
        await FailoverSupport.EventuallyAsync(async () =>
        {
            events = await cluster.KubectlAsync("get", "events", "--field-selector", "involvedObject.kind=NetworkPolicy,involvedObject.name=deny-echo,reason=NotEnforced",
                "-o", "jsonpath={range .items[*]}{.type} {.source.host}: {.message}{\"\\n\"}{end}");
            return events.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length == cluster.Workers;
        }, Patience, "a NotEnforced event from each worker");
        Assert.All(events.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries), line =>
        {
            Assert.StartsWith("Warning ", line);
            Assert.Contains("NetworkPolicy is not enforced on node ", line);
            Assert.Contains("the process runtime runs pods as host processes", line);
        });
        Assert.Equal(0, (await cluster.KubectlAsync("delete", "-f", file)).ExitCode);
    }

    /// <summary>Declared last: it leaves worker-b1 dead (a later run's first test restarts it).</summary>
    [Fact]
    public async Task Killing_a_worker_process_does_not_stop_the_service_because_the_other_proxy_shares_the_cluster_ip_port()
    {
        using var http = Http();
        var pods = await ThreeReadyEchoPodsAsync(http);
        var clusterIp = await ClusterIpAsync(http);
        await EventuallyAnswersAsync(clusterIp, 9, a => a.Select(x => x.Pod).Distinct().Count() == 3, "answers from all 3 pods before the kill");
        const string victim = "worker-b1";
        var pid = ClusterState.Load(cluster.DataDirectory)!.Nodes.Single(n => n.Name == victim).Pid;
        var doomed = (await FailoverSupport.PodsAsync(http, "echo")).Where(p => (string?)p["spec"]?["nodeName"] == victim)
            .Select(p => new IPEndPoint(IPAddress.Parse((string)p["status"]!["podIP"]!), 8080)).ToList();

        using (var process = System.Diagnostics.Process.GetProcessById(pid)) process.Kill();
        await FailoverSupport.EventuallyAsync(() => Task.FromResult(!NodeProcesses.IsNodeAlive(pid, victim)), TimeSpan.FromSeconds(30), $"{victim} (pid {pid}) gone");
        // its pods die with it (the runtime's watcher kills their process groups): wait until their addresses refuse
        foreach (var pod in doomed)
            await FailoverSupport.EventuallyAsync(async () =>
            {
                using var probe = new Socket(pod.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                try { await probe.ConnectAsync(pod); return false; }
                catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused) { return true; }
            }, TimeSpan.FromSeconds(30), $"the pod at {pod} on {victim} gone");

        // The dead worker's proxy sockets went with it; the surviving worker's proxy, bound to the same ClusterIP:port
        // (SO_REUSEPORT), serves every request, skipping the dead pods' endpoints (still listed until the node
        // lifecycle controller notices) because they refuse.
        var answers = new List<Answer>();
        var errors = new List<string>();
        for (var i = 0; i < 30; i++)
        {
            var answer = await AskRetryingOnceAsync(clusterIp, errors);
            Assert.True(answer is not null, $"request {i + 1} after the kill failed twice ({string.Join("; ", errors)}; answers so far: {string.Join(", ", answers.Select(a => a.Pod))})");
            answers.Add(answer);
        }
        Assert.All(answers, a => Assert.Contains(a.Pod, pods.Keys));
        Assert.True(errors.Count == 0, $"first attempts failed: {string.Join("; ", errors)}");
    }
}
