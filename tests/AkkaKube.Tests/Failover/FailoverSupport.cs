using System.Text;
using System.Text.Json.Nodes;
using AkkaKube.Cli;
using AkkaKube.Cli.Chaos;
using AkkaKube.Tests.Infrastructure;

namespace AkkaKube.Tests.Failover;

/// <summary>1 control-plane node and 3 workers, one per zone: for worker faults.</summary>
public sealed class WorkerFailoverCluster : LocalCluster
{
    public override int ControlPlanes => 1;
    public override int Workers => 3;
}

/// <summary>3 control-plane nodes (one per zone) and 1 worker: for control-plane faults.</summary>
public sealed class ControlPlaneFailoverCluster : LocalCluster
{
    public override int ControlPlanes => 3;
    public override int Workers => 1;
}

/// <summary>API calls and waits the failover tests share (plain HTTP against the local cluster's API port).</summary>
public static class FailoverSupport
{
    public static HttpClient Http(LocalCluster cluster) => new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromSeconds(2) })
    {
        BaseAddress = cluster.ApiUri,
        Timeout = TimeSpan.FromSeconds(10),
    };

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
