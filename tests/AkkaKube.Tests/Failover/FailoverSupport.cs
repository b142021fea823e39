using System.Text;
using System.Text.Json.Nodes;
using AkkaKube.Cli;
using AkkaKube.Cli.Chaos;
using AkkaKube.Tests.Infrastructure;

namespace AkkaKube.Tests.Failover;

/// <summary>1 control-plane node and 3 workers, one per zone: for worker faults.</summary>
public class WorkerFailoverCluster : LocalCluster
{
    public override int ControlPlanes => 1;
    public override int Workers => 3;
}

/// <summary>The worker-fault cluster with its journal in a fresh PostgreSQL database (`akkakube up --postgres`).</summary>
public sealed class PostgresWorkerFailoverCluster : WorkerFailoverCluster
{
    public override bool UsePostgres => true;
}

/// <summary>3 control-plane nodes (one per zone) and 1 worker: for control-plane faults.</summary>
public class ControlPlaneFailoverCluster : LocalCluster
{
    public override int ControlPlanes => 3;
    public override int Workers => 1;
}

/// <summary>The control-plane-fault cluster with its journal in a fresh PostgreSQL database (`akkakube up --postgres`).</summary>
public sealed class PostgresControlPlaneFailoverCluster : ControlPlaneFailoverCluster
{
    public override bool UsePostgres => true;
}

/// <summary>
/// 1 control-plane node and 6 workers, 2 per zone (cp-1 and worker-a1/a2 in zone-a, worker-b1/b2 in zone-b,
/// worker-c1/c2 in zone-c): for a whole zone's loss. The zone to kill is zone-c, which holds no control-plane node,
/// so the simulated outage takes everything in that zone (a zone whose control-plane node survived would not be an
/// honest zone loss, and a single control-plane node lost is the whole control plane).
/// </summary>
public sealed class ZoneFailoverCluster : LocalCluster
{
    public override int ControlPlanes => 1;
    public override int Workers => 6;
    public override TimeSpan StartTimeout => TimeSpan.FromSeconds(180);
}

/// <summary>API calls and waits the failover tests share (through the kubeconfig `up` wrote).</summary>
public static class FailoverSupport
{
    public static HttpClient Http(LocalCluster cluster) =>
        cluster.NewHttpClient(TimeSpan.FromSeconds(10), h => h.PooledConnectionLifetime = TimeSpan.FromSeconds(2));

    public static ChaosRunner Runner(LocalCluster cluster, int timeoutSeconds = 60) => new()
    {
        DataDirectory = cluster.DataDirectory,
        Timeout = TimeSpan.FromSeconds(timeoutSeconds),
        SteadyTimeout = TimeSpan.FromSeconds(90),
    };

    /// <summary>Starts again every node of the cluster whose process is not running (a previous test's fault), waiting until it is Up.</summary>
    public static async Task EnsureAllUpAsync(LocalCluster cluster)
    {
        var state = ClusterState.Load(cluster.DataDirectory)!;
        foreach (var n in state.Nodes.Where(n => !NodeProcesses.IsNodeAlive(n.Pid, n.Name)))
        {
            var report = await Runner(cluster, 90).RunAsync(FaultKind.Restart, n.Name, CancellationToken.None);
            Assert.True(report.Recovered, $"could not bring {n.Name} back:\n{report.ToText()}");
        }
    }

    public static async Task<JsonObject?> SendAsync(HttpClient http, HttpMethod method, string path, JsonObject? body = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null) request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode) throw new HttpRequestException($"{method} {path}: {(int)response.StatusCode} {text}", null, response.StatusCode);
        return JsonNode.Parse(text)?.AsObject();
    }

    /// <summary>Creates an object, retrying while a freshly started cluster does not answer yet; AlreadyExists (a retried create that landed) counts as created.</summary>
    public static Task CreateAsync(HttpClient http, string collectionPath, JsonObject body) =>
        EventuallyAsync(async () =>
        {
            try
            {
                await SendAsync(http, HttpMethod.Post, collectionPath, body);
                return true;
            }
            catch (HttpRequestException e) when (e.StatusCode == System.Net.HttpStatusCode.Conflict)
            {
                return true;
            }
        }, TimeSpan.FromSeconds(60), $"create in {collectionPath}");

    /// <summary>Polls <paramref name="condition"/> every 250 ms (exceptions count as false) until it holds or <paramref name="within"/> passes.</summary>
    public static async Task EventuallyAsync(Func<Task<bool>> condition, TimeSpan within, string what)
    {
        var deadline = DateTime.UtcNow + within;
        Exception? last = null;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                if (await condition()) return;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or InvalidOperationException)
            {
                last = e;
            }
            await Task.Delay(250);
        }
        throw new TimeoutException($"not within {within.TotalSeconds:0} s: {what}{(last is null ? "" : $" (last error: {last.Message})")}");
    }

    /// <summary>Waits until <paramref name="count"/> worker Nodes are Ready; returns every Ready Node's zone label by name.</summary>
    public static async Task<Dictionary<string, string>> ReadyNodeZonesAsync(HttpClient http, int count, TimeSpan within)
    {
        var zones = new Dictionary<string, string>();
        await EventuallyAsync(async () =>
        {
            zones = ((await SendAsync(http, HttpMethod.Get, "/api/v1/nodes"))!["items"] as JsonArray)!.OfType<JsonObject>()
                .Where(IsNodeReady)
                .ToDictionary(n => (string)n["metadata"]!["name"]!, n => (string?)n["metadata"]?["labels"]?["topology.kubernetes.io/zone"] ?? "");
            return zones.Count == count;
        }, within, $"{count} Ready worker Nodes");
        return zones;
    }

    public static bool IsNodeReady(JsonObject node) =>
        (node["status"]?["conditions"] as JsonArray)?.OfType<JsonObject>().Any(c => (string?)c["type"] == "Ready" && (string?)c["status"] == "True") ?? false;

    /// <summary>A pod's identity as the no-pod-twice checks need it.</summary>
    public sealed record PodIdentity(string Name, string Uid, string Ip, string Node);

    public static PodIdentity Identity(JsonObject pod) => new(
        (string)pod["metadata"]!["name"]!, (string)pod["metadata"]!["uid"]!, (string?)pod["status"]?["podIP"] ?? "", (string?)pod["spec"]?["nodeName"] ?? "");

    /// <summary>
    /// What the echo container at <paramref name="ip"/>:8080 says its pod is (its "pod=NAME" field); null when nothing
    /// answers there.
    /// </summary>
    public static async Task<string?> EchoPodNameAsync(string ip)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        try
        {
            var text = await client.GetStringAsync($"http://{ip}:8080/");
            var field = text.Split(' ', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault(f => f.StartsWith("pod=", StringComparison.Ordinal));
            return field?["pod=".Length..].Trim() ?? "";
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return null; // nothing (or nothing HTTP) listens there
        }
    }

    /// <summary>
    /// No pod is alive twice: the running pods have distinct names and IPs, and no pod of <paramref name="gone"/> (whose
    /// node was killed) still answers as itself on its old IP. (Whatever else answers there is not asserted on: local
    /// clusters started side by side on one machine — parallel test classes — use the same pod CIDRs.)
    /// </summary>
    public static async Task AssertNoPodAliveTwiceAsync(IReadOnlyList<PodIdentity> running, IEnumerable<PodIdentity> gone)
    {
        Assert.Equal(running.Count, running.Select(p => p.Name).Distinct().Count());
        Assert.Equal(running.Count, running.Select(p => p.Ip).Distinct().Count());
        foreach (var p in gone.Where(p => p.Ip.Length > 0))
            Assert.True(await EchoPodNameAsync(p.Ip) != p.Name, $"pod {p.Name} still answers on {p.Ip} although its node {p.Node} was killed");
    }

    public static async Task<List<JsonObject>> PodsAsync(HttpClient http, string app) =>
        ((await SendAsync(http, HttpMethod.Get, $"/api/v1/namespaces/default/pods?labelSelector=app%3D{app}"))!["items"] as JsonArray)!
        .OfType<JsonObject>().ToList();

    public static bool IsReadyRunning(JsonObject pod) =>
        (string?)pod["status"]?["phase"] == "Running" && pod["metadata"]?["deletionTimestamp"] is null &&
        ((pod["status"]?["conditions"] as JsonArray)?.OfType<JsonObject>().Any(c => (string?)c["type"] == "Ready" && (string?)c["status"] == "True") ?? false);

    public static JsonObject Deployment(string name, int replicas) => JsonNode.Parse("""
        {"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"NAME"},
         "spec":{"replicas":REPLICAS,"selector":{"matchLabels":{"app":"NAME"}},
                 "template":{"metadata":{"labels":{"app":"NAME"}},"spec":{
                   "terminationGracePeriodSeconds":1,
                   "topologySpreadConstraints":[{"maxSkew":1,"topologyKey":"topology.kubernetes.io/zone","whenUnsatisfiable":"ScheduleAnyway","labelSelector":{"matchLabels":{"app":"NAME"}}}],
                   "containers":[{"name":"echo","image":"akkakube/echo"}]}}}}
        """.Replace("NAME", name).Replace("REPLICAS", replicas.ToString(System.Globalization.CultureInfo.InvariantCulture)))!.AsObject();
}
