using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using AkkaKube.Tests.Infrastructure;
using AkkaKube.Tests.Kubectl;

namespace AkkaKube.Tests.Controllers;

/// <summary>A process cluster (one control plane, two workers running pods as processes) and a kubectl for it.</summary>
public sealed class SetsCluster : IAsyncLifetime
{
    private readonly TempDir _kubectlDir = new();
    public LocalCluster Cluster { get; } = new();
    public KubectlRunner Kubectl { get; }

    public SetsCluster() => Kubectl = new KubectlRunner(_kubectlDir.Path);

    public async Task InitializeAsync()
    {
        if (KubectlRunner.KubectlPath is null) return;
        await Cluster.InitializeAsync();
        // Every worker's Node registered and Ready before a test counts daemon pods per worker.
        await AkkaKube.Cli.LocalClusterLauncher.WaitUntilNodesReadyAsync(Cluster.State, TimeSpan.FromSeconds(180));
        Kubectl.UseKubeconfig(Cluster.KubeconfigPath);
    }

    public async Task DisposeAsync()
    {
        try { if (KubectlRunner.KubectlPath is not null) await Cluster.DisposeAsync(); }
        finally { _kubectlDir.Dispose(); }
    }
}

/// <summary>
/// DaemonSets and StatefulSets on a real process cluster through the real kubectl: one Ready daemon pod per eligible
/// worker placed by the scheduler, a StatefulSet coming up 0→1→2 with its claims, scale-down keeping the claim, and
/// `kubectl rollout status|history|undo|restart` for both kinds.
/// </summary>
public sealed class SetsKubectlTests(SetsCluster cluster) : IClassFixture<SetsCluster>
{
    private static void SkipWithoutKubectl() => Skip.If(KubectlRunner.KubectlPath is null, "kubectl is not on PATH");

    private async Task<KubectlRunner.Result> Ok(string args, string? stdin = null, int timeoutSeconds = 60)
    {
        var r = await cluster.Kubectl.Run(args, stdin, timeoutSeconds);
        Assert.True(r.Exit == 0, $"kubectl {args} exited {r.Exit}: {r.Err}{r.Out}");
        return r;
    }

    private async Task<JsonObject> Json(string args) => JsonNode.Parse((await Ok(args + " -o json")).Out)!.AsObject();

    private async Task<List<JsonObject>> Items(string args) =>
        (await Json(args))["items"]!.AsArray().OfType<JsonObject>().ToList();

    private static string S(JsonNode? n) => n?.GetValue<string>() ?? "";

    private static string Name(JsonObject o) => S(o["metadata"]!["name"]);

    private static bool Deleting(JsonObject o) => o["metadata"]?["deletionTimestamp"] is not null;

    private static DateTime Time(JsonNode? n) => DateTime.Parse(S(n), CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal);

    private static JsonObject? ReadyCondition(JsonObject pod) => (pod["status"]?["conditions"] as JsonArray)?.OfType<JsonObject>()
        .FirstOrDefault(c => S(c["type"]) == "Ready" && S(c["status"]) == "True");

    private static async Task<T> Eventually<T>(Func<Task<T>> probe, Func<T, bool> done, string what, int seconds = 120)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(seconds);
        while (true)
        {
            var last = await probe();
            if (done(last)) return last;
            if (DateTime.UtcNow > deadline) throw new Xunit.Sdk.XunitException($"timed out after {seconds} s waiting for {what}");
            await Task.Delay(250);
        }
    }

    private IReadOnlyList<string> Workers => cluster.Cluster.State.Nodes.Where(n => n.Worker).Select(n => n.Name).Order(StringComparer.Ordinal).ToList();

    private static string DaemonSet(string name, string nodeSelector = "", int minReadySeconds = 0) => $$"""
        apiVersion: apps/v1
        kind: DaemonSet
        metadata:
          name: {{name}}
        spec:
          minReadySeconds: {{minReadySeconds}}
          selector:
            matchLabels: {app: {{name}}}
          updateStrategy:
            type: RollingUpdate
            rollingUpdate: {maxUnavailable: 1}
          template:
            metadata:
              labels: {app: {{name}}}
            spec:
              {{nodeSelector}}
              containers:
              - name: agent
                image: akkakube/pause
        """;

    [SkippableFact]
    public async Task A_daemonset_runs_one_ready_pod_per_worker_and_rolls_out_restarts_and_undoes()
    {
        SkipWithoutKubectl();
        await Ok("apply -f -", DaemonSet("agent"));
        Assert.Contains("successfully rolled out", (await Ok("rollout status ds/agent --timeout=150s", timeoutSeconds: 160)).Out);

        var pods = (await Items("get pods -l app=agent")).Where(p => !Deleting(p)).ToList();
        Assert.Equal(Workers, pods.Select(p => S(p["spec"]!["nodeName"])).Order(StringComparer.Ordinal).ToList());
        foreach (var pod in pods)
        {
            Assert.NotNull(ReadyCondition(pod));
            // Placed by the scheduler through required node affinity on metadata.name, as Kubernetes does.
            var field = pod["spec"]!["affinity"]!["nodeAffinity"]!["requiredDuringSchedulingIgnoredDuringExecution"]!["nodeSelectorTerms"]![0]!["matchFields"]![0]!;
            Assert.Equal("metadata.name", S(field["key"]));
            Assert.Equal(S(pod["spec"]!["nodeName"]), S(field["values"]![0]));
            var tolerations = pod["spec"]!["tolerations"]!.AsArray().Select(t => $"{S(t!["key"])}:{S(t["effect"])}").ToList();
            Assert.Contains("node.kubernetes.io/not-ready:NoExecute", tolerations);
            Assert.Contains("node.kubernetes.io/unschedulable:NoSchedule", tolerations);
        }
        var status = (await Json("get ds agent"))["status"]!;
        Assert.Equal(Workers.Count, status["desiredNumberScheduled"]!.GetValue<int>());
        Assert.Equal(Workers.Count, status["numberReady"]!.GetValue<int>());
        Assert.Equal(0, status["numberMisscheduled"]!.GetValue<int>());

        // rollout restart changes the template: every daemon pod is replaced, one node at a time.
        var before = pods.Select(Name).ToHashSet();
        Assert.Contains("restarted", (await Ok("rollout restart ds/agent")).Out);
        Assert.Contains("successfully rolled out", (await Ok("rollout status ds/agent --timeout=150s", timeoutSeconds: 160)).Out);
        var restarted = await Eventually(async () => (await Items("get pods -l app=agent")).Where(p => !Deleting(p)).ToList(),
            ps => ps.Count == Workers.Count && ps.All(p => !before.Contains(Name(p)) && ReadyCondition(p) is not null), "a new Ready pod on every worker");
        Assert.Equal(Workers, restarted.Select(p => S(p["spec"]!["nodeName"])).Order(StringComparer.Ordinal).ToList());

        var history = (await Ok("rollout history ds/agent")).Out;
        Assert.Matches(@"(?m)^1\s", history);
        Assert.Matches(@"(?m)^2\s", history);
        Assert.Contains("rolled back", (await Ok("rollout undo ds/agent")).Out);
        Assert.Contains("successfully rolled out", (await Ok("rollout status ds/agent --timeout=150s", timeoutSeconds: 160)).Out);
        await Eventually(async () => (await Items("get pods -l app=agent")).Where(p => !Deleting(p)).ToList(),
            ps => ps.Count == Workers.Count && ps.All(p => p["metadata"]?["annotations"]?["kubectl.kubernetes.io/restartedAt"] is null),
            "the pre-restart template back on every worker");
        // The undo renumbered revision 1 as 3 (the same template), as Kubernetes does.
        history = (await Ok("rollout history ds/agent")).Out;
        Assert.DoesNotMatch(@"(?m)^1\s", history);
        Assert.Matches(@"(?m)^3\s", history);
        await Ok("delete ds agent --wait=false");
    }

    [SkippableFact]
    public async Task A_daemonset_follows_its_node_selector_as_workers_become_eligible_and_stop_being_so()
    {
        SkipWithoutKubectl();
        var (first, second) = (Workers[0], Workers[1]);
        await Ok($"label node {first} sets-test/role=edge --overwrite");
        await Ok("apply -f -", DaemonSet("edge", "nodeSelector: {sets-test/role: edge}"));
        Assert.Contains("successfully rolled out", (await Ok("rollout status ds/edge --timeout=150s", timeoutSeconds: 160)).Out);
        var pods = await Eventually(async () => (await Items("get pods -l app=edge")).Where(p => !Deleting(p)).ToList(),
            ps => ps.Count == 1 && ReadyCondition(ps[0]) is not null, "one Ready pod");
        Assert.Equal(first, S(pods[0]["spec"]!["nodeName"]));

        // A worker that becomes eligible gets a pod; one that stops being eligible loses it.
        await Ok($"label node {second} sets-test/role=edge --overwrite");
        await Eventually(async () => (await Items("get pods -l app=edge")).Where(p => !Deleting(p)).ToList(),
            ps => ps.Count == 2 && ps.All(p => ReadyCondition(p) is not null) && ps.Any(p => S(p["spec"]!["nodeName"]) == second),
            $"a Ready pod on {second} too");
        await Ok($"label node {first} sets-test/role-");
        var left = await Eventually(async () => await Items("get pods -l app=edge"),
            ps => ps.Count == 1, $"the pod on {first} gone");
        Assert.Equal(second, S(left[0]["spec"]!["nodeName"]));
        Assert.Equal(1, (await Json("get ds edge"))["status"]!["desiredNumberScheduled"]!.GetValue<int>());
        await Ok($"label node {second} sets-test/role-");
        await Ok("delete ds edge --wait=false");
    }

    private const string StatefulSet = """
        apiVersion: apps/v1
        kind: StatefulSet
        metadata:
          name: web
        spec:
          serviceName: web
          replicas: 3
          selector:
            matchLabels: {app: web}
          template:
            metadata:
              labels: {app: web}
            spec:
              containers:
              - name: web
                image: akkakube/pause
                volumeMounts:
                - {name: www, mountPath: /data}
          volumeClaimTemplates:
          - metadata:
              name: www
            spec:
              accessModes: [ReadWriteOnce]
              resources:
                requests: {storage: 1Mi}
        """;

    private static readonly Regex RolledOut = new("roll out complete|rolling update complete", RegexOptions.Compiled);

    [SkippableFact]
    public async Task A_statefulset_comes_up_in_order_with_claims_scales_down_from_the_top_and_rolls_out()
    {
        SkipWithoutKubectl();
        await Ok("apply -f -", StatefulSet);
        Assert.Matches(RolledOut, (await Ok("rollout status sts/web --timeout=180s", timeoutSeconds: 190)).Out);

        var pods = (await Items("get pods -l app=web")).ToDictionary(Name);
        Assert.Equal(["web-0", "web-1", "web-2"], pods.Keys.Order(StringComparer.Ordinal));
        for (var i = 0; i < 3; i++)
        {
            var pod = pods[$"web-{i}"];
            Assert.Equal($"web-{i}", S(pod["spec"]!["hostname"]));
            Assert.Equal("web", S(pod["spec"]!["subdomain"]));
            Assert.Equal($"web-{i}", S(pod["metadata"]!["labels"]!["statefulset.kubernetes.io/pod-name"]));
            Assert.Equal($"{i}", S(pod["metadata"]!["labels"]!["apps.kubernetes.io/pod-index"]));
            Assert.StartsWith("web-", S(pod["metadata"]!["labels"]!["controller-revision-hash"]));
            Assert.Contains(pod["spec"]!["volumes"]!.AsArray(), v => S(v!["persistentVolumeClaim"]?["claimName"]) == $"www-web-{i}");
        }
        // OrderedReady: each pod was created only once the one before it was Ready.
        for (var i = 1; i < 3; i++)
        {
            var created = Time(pods[$"web-{i}"]["metadata"]!["creationTimestamp"]);
            var previousReady = Time(ReadyCondition(pods[$"web-{i - 1}"])!["lastTransitionTime"]);
            Assert.True(created >= previousReady, $"web-{i} created at {created:O} before web-{i - 1} was Ready at {previousReady:O}");
        }
        var creations = (await Items("get events --field-selector involvedObject.kind=StatefulSet,involvedObject.name=web,reason=SuccessfulCreate"))
            .OrderBy(e => long.Parse(S(e["metadata"]!["resourceVersion"]), CultureInfo.InvariantCulture))
            .Select(e => S(e["message"])).Where(m => m.StartsWith("create Pod", StringComparison.Ordinal)).ToList();
        Assert.Equal(["create Pod web-0 in StatefulSet web successful", "create Pod web-1 in StatefulSet web successful",
            "create Pod web-2 in StatefulSet web successful"], creations);
        var claims = (await Items("get pvc")).Select(Name).ToHashSet();
        Assert.Superset(new HashSet<string> { "www-web-0", "www-web-1", "www-web-2" }, claims);

        // Scale down removes the highest ordinal and keeps its claim (whenScaled: Retain).
        var uids = pods.ToDictionary(kv => kv.Key, kv => S(kv.Value["metadata"]!["uid"]));
        await Ok("scale sts web --replicas=2");
        var remaining = await Eventually(async () => await Items("get pods -l app=web"), ps => ps.Count == 2, "web-2 gone");
        Assert.Equal(["web-0", "web-1"], remaining.Select(Name).Order(StringComparer.Ordinal));
        Assert.All(remaining, p => Assert.Equal(uids[Name(p)], S(p["metadata"]!["uid"])));
        Assert.Contains("www-web-2", (await Items("get pvc")).Select(Name));
        Assert.Matches(RolledOut, (await Ok("rollout status sts/web --timeout=120s", timeoutSeconds: 130)).Out);

        // rollout restart: web-1 is replaced before web-0 (highest ordinal first), each waiting for Ready.
        Assert.Contains("restarted", (await Ok("rollout restart sts/web")).Out);
        Assert.Matches(RolledOut, (await Ok("rollout status sts/web --timeout=180s", timeoutSeconds: 190)).Out);
        var status = (await Json("get sts web"))["status"]!;
        Assert.Equal(S(status["currentRevision"]), S(status["updateRevision"]));
        var rolled = (await Items("get pods -l app=web")).ToDictionary(Name);
        Assert.All(rolled.Values, p => Assert.Equal(S(status["updateRevision"]), S(p["metadata"]!["labels"]!["controller-revision-hash"])));
        Assert.True(Time(rolled["web-0"]["metadata"]!["creationTimestamp"]) >= Time(ReadyCondition(rolled["web-1"])!["lastTransitionTime"]),
            "web-0 was replaced before the new web-1 was Ready");

        var history = (await Ok("rollout history sts/web")).Out;
        Assert.Matches(@"(?m)^1\s", history);
        Assert.Matches(@"(?m)^2\s", history);
        Assert.Contains("rolled back", (await Ok("rollout undo sts/web")).Out);
        Assert.Matches(RolledOut, (await Ok("rollout status sts/web --timeout=180s", timeoutSeconds: 190)).Out);
        await Eventually(async () => await Items("get pods -l app=web"),
            ps => ps.Count == 2 && ps.All(p => !Deleting(p) && p["metadata"]?["annotations"]?["kubectl.kubernetes.io/restartedAt"] is null && ReadyCondition(p) is not null),
            "the pre-restart template on both pods");
        Assert.Null((await Json("get sts web"))["spec"]!["template"]!["metadata"]?["annotations"]?["kubectl.kubernetes.io/restartedAt"]);
        await Ok("delete sts web --wait=false");
    }

    /// <summary>Per message, how many times an event of this reason was recorded for the object (aggregated counts summed).</summary>
    private async Task<Dictionary<string, int>> EventCounts(string kind, string name, string reason) =>
        (await Items($"get events --field-selector involvedObject.kind={kind},involvedObject.name={name},reason={reason}"))
            .GroupBy(e => S(e["message"])).ToDictionary(g => g.Key, g => g.Sum(e => e["count"]?.GetValue<int>() ?? 1));

    private async Task CrashController(string controller)
    {
        var cp = cluster.Cluster.State.Nodes.First(n => n.ControlPlane).Name;
        var report = await new AkkaKube.Cli.Chaos.ChaosRunner
        {
            DataDirectory = cluster.Cluster.DataDirectory,
            Timeout = TimeSpan.FromSeconds(60),
            SteadyTimeout = TimeSpan.FromSeconds(90),
        }.CrashActorAsync(cp, controller, CancellationToken.None);
        Assert.True(report.Recovered, report.ToText());
    }

    [SkippableFact]
    public async Task A_controller_crash_mid_rollout_creates_no_extra_pod_and_deletes_none_twice()
    {
        SkipWithoutKubectl();
        await Ok("apply -f -", StatefulSet.Replace("name: web", "name: db").Replace("app: web", "app: db").Replace("serviceName: web", "serviceName: db"));
        var first = (await Eventually(async () => await Items("get pods -l app=db"), ps => ps.Count >= 1, "db-0 created")).Single(p => Name(p) == "db-0");
        await CrashController("statefulset");
        Assert.Matches(RolledOut, (await Ok("rollout status sts/db --timeout=180s", timeoutSeconds: 190)).Out);
        var dbPods = await Items("get pods -l app=db");
        Assert.Equal(["db-0", "db-1", "db-2"], dbPods.Select(Name).Order(StringComparer.Ordinal));
        // The pod made before the crash is the same one (never deleted and made again).
        Assert.Equal(S(first["metadata"]!["uid"]), S(dbPods.Single(p => Name(p) == "db-0")["metadata"]!["uid"]));
        // Events of the crashed controller's recorder may be lost with it, never repeated: at most one per pod.
        var creates = await EventCounts("StatefulSet", "db", "SuccessfulCreate");
        Assert.All(creates, kv => Assert.True(kv.Value == 1, $"{kv.Key} recorded {kv.Value} times"));

        // minReadySeconds keeps each node's replacement going for seconds: the crash lands mid-rollout.
        await Ok("apply -f -", DaemonSet("probe", minReadySeconds: 4));
        await Eventually(async () => await Items("get pods -l app=probe"), ps => ps.Count >= 1, "a first probe pod");
        await CrashController("daemonset");
        Assert.Contains("successfully rolled out", (await Ok("rollout status ds/probe --timeout=150s", timeoutSeconds: 160)).Out);
        var pods = (await Items("get pods -l app=probe")).Where(p => !Deleting(p)).ToList();
        Assert.Equal(Workers, pods.Select(p => S(p["spec"]!["nodeName"])).Order(StringComparer.Ordinal).ToList());
        // An extra pod would show as a third create (and a delete of the surplus).
        Assert.True((await EventCounts("DaemonSet", "probe", "SuccessfulCreate")).Values.Sum() <= Workers.Count);
        Assert.Empty(await EventCounts("DaemonSet", "probe", "SuccessfulDelete"));

        // Mid-rollout: a crash while old pods are being replaced deletes none of them twice.
        var before = pods.Select(Name).ToHashSet();
        await Ok("rollout restart ds/probe");
        await Eventually(async () => await Items("get pods -l app=probe"),
            ps => ps.Any(p => !before.Contains(Name(p))) || ps.Count(p => before.Contains(Name(p)) && !Deleting(p)) < Workers.Count, "the rollout under way");
        Assert.Contains("Waiting", (await Ok("rollout status ds/probe --watch=false")).Out);
        await CrashController("daemonset");
        Assert.Contains("successfully rolled out", (await Ok("rollout status ds/probe --timeout=150s", timeoutSeconds: 160)).Out);
        var deletes = await EventCounts("DaemonSet", "probe", "SuccessfulDelete");
        Assert.True(deletes.Count <= Workers.Count, "deleted: " + string.Join(", ", deletes.Keys));
        Assert.All(deletes, kv => Assert.True(kv.Value == 1, $"{kv.Key} recorded {kv.Value} times"));
        Assert.True((await EventCounts("DaemonSet", "probe", "SuccessfulCreate")).Values.Sum() <= 2 * Workers.Count);
        var after = (await Items("get pods -l app=probe")).Where(p => !Deleting(p)).ToList();
        Assert.Equal(Workers, after.Select(p => S(p["spec"]!["nodeName"])).Order(StringComparer.Ordinal).ToList());
        Assert.DoesNotContain(after, p => before.Contains(Name(p)));
        await Ok("delete ds probe --wait=false");
        await Ok("delete sts db --wait=false");
    }
}
