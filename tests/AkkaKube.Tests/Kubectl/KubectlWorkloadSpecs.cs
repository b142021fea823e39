using System.Text.Json.Nodes;
using AkkaKube.Actors.Client;
using AkkaKube.Tests.Controllers;
using AkkaKube.Tests.Infrastructure;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Tests.Kubectl;

/// <summary>The control plane of <see cref="ControlPlaneFixture"/> (real scheduler and controllers, three zoned nodes) driven by the real kubectl.</summary>
public sealed class KubectlWorkloadFixture : IAsyncLifetime
{
    private readonly TempDir _dir = new();
    public ControlPlaneFixture Cluster { get; } = new();
    public KubectlRunner Kubectl { get; }

    public KubectlWorkloadFixture() => Kubectl = new KubectlRunner(_dir.Path);

    public async Task InitializeAsync()
    {
        if (KubectlRunner.KubectlPath is null) return;
        await Cluster.InitializeAsync();
        Kubectl.UseKubeconfig(Cluster.Node.KubeconfigPath);
    }

    public async Task DisposeAsync()
    {
        if (KubectlRunner.KubectlPath is not null) await Cluster.DisposeAsync();
        _dir.Dispose();
    }
}

/// <summary>
/// What a kubectl user does with workloads: rollout status/history/undo/restart/pause/resume, set image, scale,
/// delete with and without cascade, and an unschedulable pod explained by describe.
/// </summary>
public sealed class KubectlWorkloadSpecs(KubectlWorkloadFixture f) : IClassFixture<KubectlWorkloadFixture>
{
    private IKubeApi Api => f.Cluster.Api;

    private static void SkipWithoutKubectl() => Skip.If(KubectlRunner.KubectlPath is null, "kubectl is not on PATH");

    private static string Deployment(string name, int replicas, string image, string strategy = "{type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: 1}}", string podExtra = "") => $$"""
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: {{name}}
        spec:
          replicas: {{replicas}}
          strategy: {{strategy}}
          selector:
            matchLabels: {app: {{name}}}
          template:
            metadata:
              labels: {app: {{name}}}
            spec:
              containers:
              - name: c
                image: {{image}}
        {{podExtra}}
        """;

    private async Task<KubectlRunner.Result> Ok(string args, string? stdin = null, int timeoutSeconds = 90)
    {
        var r = await f.Kubectl.Run(args, stdin, timeoutSeconds);
        Assert.True(r.Exit == 0, $"kubectl {args} exited {r.Exit}: {r.Err}{r.Out}");
        return r;
    }

    private async Task<List<JsonObject>> ActivePods(string app) =>
        (await Api.ListAsync(ApiResource.Pods, "default", new ListOptions($"app={app}"))).Items
        .Where(p => p["metadata"]?["deletionTimestamp"] is null).ToList();

    private static string Image(JsonObject pod) => pod["spec"]!["containers"]![0]!["image"]!.GetValue<string>();

    private static bool Ready(JsonObject p) => (p["status"]?["conditions"] as JsonArray)?.Any(c =>
        c?["type"]?.GetValue<string>() == "Ready" && c["status"]?.GetValue<string>() == "True") == true;

    private static async Task Eventually(Func<Task<bool>> condition, string what, int seconds = 60)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(seconds);
        while (DateTime.UtcNow < deadline)
        {
            try { if (await condition()) return; } catch (KubeApiException) { }
            await Task.Delay(100);
        }
        Assert.Fail("timed out waiting for " + what);
    }

    [SkippableFact]
    public async Task Set_image_rolls_out_within_max_unavailable_and_rollout_undo_returns_to_the_first_revision()
    {
        SkipWithoutKubectl();
        await Ok("apply -f -", Deployment("web", 4, "nginx:1", "{type: RollingUpdate, rollingUpdate: {maxSurge: 0, maxUnavailable: 1}}"));
        Assert.Contains("successfully rolled out", (await Ok("rollout status deployment/web --timeout=80s")).Out);

        // Watch readiness through the whole rollout: with maxSurge 0 / maxUnavailable 1 of 4, never fewer than 3 ready.
        using var stop = new CancellationTokenSource();
        var minReady = int.MaxValue;
        var monitor = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try { minReady = Math.Min(minReady, (await ActivePods("web")).Count(Ready)); } catch (KubeApiException) { }
                await Task.Delay(50);
            }
        });
        Assert.Contains("image updated", (await Ok("set image deployment/web c=nginx:2")).Out);
        var status = await Ok("rollout status deployment/web --timeout=80s");
        await stop.CancelAsync();
        await monitor;
        Assert.Contains("successfully rolled out", status.Out);
        Assert.True(minReady >= 3, $"ready pods dropped to {minReady} during the rollout (maxUnavailable 1 of 4)");
        Assert.All(await ActivePods("web"), p => Assert.Equal("nginx:2", Image(p)));

        var history = await Ok("rollout history deployment/web");
        Assert.Matches(@"(?m)^1\s", history.Out);
        Assert.Matches(@"(?m)^2\s", history.Out);

        Assert.Contains("rolled back", (await Ok("rollout undo deployment/web")).Out);
        Assert.Contains("successfully rolled out", (await Ok("rollout status deployment/web --timeout=80s")).Out);
        await Eventually(async () => (await ActivePods("web")) is { Count: 4 } pods && pods.All(p => Image(p) == "nginx:1"), "four nginx:1 pods after undo");
        Assert.Contains("nginx:1", (await Ok("get deployment web -o jsonpath={.spec.template.spec.containers[0].image}")).Out);
    }

    [SkippableFact]
    public async Task Rollout_restart_replaces_every_pod_and_pause_holds_a_change_until_resume()
    {
        SkipWithoutKubectl();
        await Ok("apply -f -", Deployment("api", 2, "nginx:1"));
        await Ok("rollout status deployment/api --timeout=80s");
        var before = (await ActivePods("api")).Select(p => p["metadata"]!["name"]!.GetValue<string>()).ToHashSet();

        Assert.Contains("restarted", (await Ok("rollout restart deployment/api")).Out);
        await Ok("rollout status deployment/api --timeout=80s");
        await Eventually(async () => (await ActivePods("api")) is { Count: 2 } pods && pods.All(p => !before.Contains(p["metadata"]!["name"]!.GetValue<string>())),
            "two new pods after the restart");

        Assert.Contains("paused", (await Ok("rollout pause deployment/api")).Out);
        await Ok("set image deployment/api c=nginx:3");
        // A paused deployment reports it, and its pods keep the old template.
        await Eventually(async () =>
        {
            var d = await Api.GetAsync(ApiResource.Deployments, "default", "api");
            return (d["status"]?["conditions"] as JsonArray)?.Any(c => c?["reason"]?.GetValue<string>() == "DeploymentPaused") == true
                   && d["status"]?["observedGeneration"]?.GetValue<long>() == d["metadata"]!["generation"]!.GetValue<long>();
        }, "Progressing=Unknown DeploymentPaused");
        Assert.All(await ActivePods("api"), p => Assert.Equal("nginx:1", Image(p)));

        Assert.Contains("resumed", (await Ok("rollout resume deployment/api")).Out);
        await Ok("rollout status deployment/api --timeout=80s");
        await Eventually(async () => (await ActivePods("api")) is { Count: 2 } pods && pods.All(p => Image(p) == "nginx:3"), "two nginx:3 pods after resume");
    }

    [SkippableFact]
    public async Task Scale_then_delete_leaves_no_pod_and_cascade_orphan_leaves_the_replica_set()
    {
        SkipWithoutKubectl();
        await Ok("apply -f -", Deployment("jobs", 1, "nginx:1"));
        Assert.Contains("scaled", (await Ok("scale deployment/jobs --replicas=3")).Out);
        await Ok("rollout status deployment/jobs --timeout=80s");
        Assert.Equal(3, (await ActivePods("jobs")).Count);
        await Ok("delete deployment jobs");
        await Eventually(async () => (await Api.ListAsync(ApiResource.Pods, "default", new ListOptions("app=jobs"))).Items.Count == 0
                                     && (await Api.ListAsync(ApiResource.ReplicaSets, "default", new ListOptions("app=jobs"))).Items.Count == 0,
            "no pod and no replica set of the deleted deployment");

        await Ok("apply -f -", Deployment("kept", 2, "nginx:1"));
        await Ok("rollout status deployment/kept --timeout=80s");
        await Ok("delete deployment kept --cascade=orphan");
        await Eventually(async () =>
        {
            var rs = (await Api.ListAsync(ApiResource.ReplicaSets, "default", new ListOptions("app=kept"))).Items;
            return rs.Count == 1 && rs[0]["metadata"]?["ownerReferences"] is null or JsonArray { Count: 0 };
        }, "the orphaned replica set without owner references");
        Assert.Equal(2, (await ActivePods("kept")).Count);
        var get = await f.Kubectl.Run("get deployment kept");
        Assert.NotEqual(0, get.Exit);
        Assert.Contains("NotFound", get.Err);
    }

    [SkippableFact]
    public async Task Six_replicas_with_a_zone_spread_land_two_per_zone_as_kubectl_shows()
    {
        SkipWithoutKubectl();
        await Ok("apply -f -", Deployment("spread-k", 6, "nginx:1", podExtra: """
                  topologySpreadConstraints:
                  - maxSkew: 1
                    topologyKey: topology.kubernetes.io/zone
                    whenUnsatisfiable: DoNotSchedule
                    labelSelector: {matchLabels: {app: spread-k}}
            """));
        await Ok("rollout status deployment/spread-k --timeout=80s");
        var nodes = (await Ok("get pods -l app=spread-k -o jsonpath={.items[*].spec.nodeName}")).Out
            .Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(new Dictionary<string, int> { ["zone-a-node"] = 2, ["zone-b-node"] = 2, ["zone-c-node"] = 2 },
            nodes.GroupBy(n => n).ToDictionary(g => g.Key, g => g.Count()));
    }

    [SkippableFact]
    public async Task Drain_is_held_by_a_disruption_budget_then_completes_once_the_budget_allows()
    {
        SkipWithoutKubectl();
        await Ok("apply -f -", Deployment("guarded", 2, "nginx:1"));
        await Ok("rollout status deployment/guarded --timeout=80s");
        await Ok("apply -f -", """
            apiVersion: policy/v1
            kind: PodDisruptionBudget
            metadata: {name: guarded}
            spec:
              minAvailable: 2
              selector: {matchLabels: {app: guarded}}
            """);
        var victim = (await ActivePods("guarded"))[0];
        var node = victim["spec"]!["nodeName"]!.GetValue<string>();
        var victimName = victim["metadata"]!["name"]!.GetValue<string>();
        try
        {
            // kubectl retries a refused eviction every 5 s until its timeout: the budget holds the pod in place.
            var held = await f.Kubectl.Run($"drain {node} --timeout=12s", timeoutSeconds: 90);
            Assert.NotEqual(0, held.Exit);
            Assert.Contains("disruption budget", held.Err + held.Out);
            Assert.Equal("true", (await Ok($"get node {node} -o jsonpath={{.spec.unschedulable}}")).Out.Trim());
            Assert.Contains(await ActivePods("guarded"), p => p["metadata"]!["name"]!.GetValue<string>() == victimName);

            await Ok("""patch pdb guarded --type=merge -p '{"spec":{"minAvailable":1}}'""");
            var drained = await Ok($"drain {node} --timeout=60s", timeoutSeconds: 90);
            Assert.Contains($"pod/{victimName} evicted", drained.Out + drained.Err);
            Assert.Contains("drained", drained.Out);
            // The replacement lands elsewhere: the drained node is cordoned.
            await Eventually(async () => (await ActivePods("guarded")) is { Count: 2 } pods
                                         && pods.All(p => p["spec"]?["nodeName"]?.GetValue<string>() is { } n && n != node && Ready(p)),
                "two ready pods off the drained node");
        }
        finally
        {
            await f.Kubectl.Run($"uncordon {node}");
        }
    }

    [SkippableFact]
    public async Task Expose_creates_a_service_and_get_svc_endpointslices_prints_both_tables()
    {
        SkipWithoutKubectl();
        await Ok("apply -f -", Deployment("exposed", 1, "nginx:1"));
        Assert.Contains("service/exposed exposed", (await Ok("expose deployment exposed --port=80 --target-port=8080")).Out);
        var svc = await Api.GetAsync(ApiResource.Services, "default", "exposed");
        Assert.Equal("exposed", svc["spec"]!["selector"]!["app"]!.GetValue<string>());
        Assert.Equal((80, 8080), (svc["spec"]!["ports"]![0]!["port"]!.GetValue<int>(), svc["spec"]!["ports"]![0]!["targetPort"]!.GetValue<int>()));
        await Eventually(async () => (await Api.ListAsync(ApiResource.EndpointSlices, "default", new ListOptions("kubernetes.io/service-name=exposed"))).Items.Count > 0,
            "the service's EndpointSlice");
        var tables = (await Ok("get svc,endpointslices")).Out;
        Assert.Matches(@"service/exposed\s+ClusterIP\s+127\.128\.\d+\.\d+\s+<none>\s+80/TCP", tables);
        Assert.Matches(@"NAME\s+ADDRESSTYPE\s+PORTS\s+ENDPOINTS\s+AGE", tables);
        Assert.Matches(@"endpointslice\.discovery\.k8s\.io/exposed-\S+\s+IPv4", tables);
    }

    [SkippableFact]
    public async Task A_pod_asking_more_cpu_than_any_node_is_Pending_and_describe_says_why()
    {
        SkipWithoutKubectl();
        await Ok("apply -f -", """
            apiVersion: v1
            kind: Pod
            metadata: {name: greedy}
            spec:
              containers:
              - name: c
                image: nginx:1
                resources: {requests: {cpu: "64"}}
            """);
        await Eventually(async () => (await f.Kubectl.Run("describe pod greedy")).Out.Contains("FailedScheduling", StringComparison.Ordinal), "a FailedScheduling event");
        var describe = (await Ok("describe pod greedy")).Out;
        Assert.Matches(@"Status:\s+Pending", describe);
        Assert.Contains("0/3 nodes are available: 3 Insufficient cpu.", describe);
        Assert.Contains("Pending", (await Ok("get pod greedy")).Out);
    }
}
