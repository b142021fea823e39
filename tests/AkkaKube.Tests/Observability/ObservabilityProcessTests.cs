using System.Net;
using AkkaKube.Cli;
using AkkaKube.Tests.Infrastructure;

namespace AkkaKube.Tests.Observability;

/// <summary>
/// /metrics and /livez, /readyz, /healthz on every node of a real process cluster (1 control-plane, 2 workers): the
/// apiserver counts the requests made to it, and a killed worker moves akka_cluster_members{status} on the others.
/// </summary>
[TestCaseOrderer(DeclarationOrderer.TypeName, DeclarationOrderer.AssemblyName)]
public sealed class ObservabilityProcessTests(LocalCluster cluster) : IClassFixture<LocalCluster>
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };

    private static async Task<IReadOnlyList<Sample>> ScrapeAsync(NodeState node)
    {
        using var response = await Http.GetAsync($"{node.MetricsUrl}/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType);
        return PrometheusText.Parse(await response.Content.ReadAsStringAsync());
    }

    private static async Task<(HttpStatusCode Code, string Body)> GetAsync(string url)
    {
        using var response = await Http.GetAsync(url);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>Polls until <paramref name="done"/> holds (a node's readiness or a membership change takes its time).</summary>
    private static async Task<T> EventuallyAsync<T>(Func<Task<T>> probe, Func<T, bool> done, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        T last;
        while (true)
        {
            last = await probe();
            if (done(last)) return last;
            if (DateTime.UtcNow > deadline)
                throw new Xunit.Sdk.XunitException($"{what} did not happen within {timeout.TotalSeconds:0} s; last: {Describe(last)}");
            await Task.Delay(500);
        }
    }

    private static string Describe(object? value) => value is IReadOnlyList<Sample> samples
        ? string.Join(", ", samples.Where(s => s.Name.StartsWith("akka_cluster_", StringComparison.Ordinal) && s.Value != 0)
            .Select(s => $"{s.Name}{{{string.Join(",", s.Labels.Select(l => $"{l.Key}={l.Value}"))}}}={s.Value}"))
        : value?.ToString() ?? "null";

    [Fact]
    public async Task Every_node_serves_metrics_and_is_ready_with_its_checks_listed()
    {
        foreach (var node in cluster.State.Nodes)
        {
            Assert.True(node.MetricsPort > 0, $"{node.Name} has no metrics port in cluster.json");
            var ready = await EventuallyAsync(() => GetAsync($"{node.MetricsUrl}/readyz?verbose"), r => r.Code == HttpStatusCode.OK, TimeSpan.FromSeconds(90), $"{node.Name} /readyz");
            var samples = await ScrapeAsync(node);
            Assert.Contains(samples, s => s.Name == "process_cpu_seconds_total");
            Assert.Equal(1, samples.Sum("akka_cluster_self_status", ("status", "Up")));
            Assert.Contains("[+]cluster-member-up ok", ready.Body);
            Assert.Contains("[+]informer-sync ok", ready.Body);
            Assert.Contains("[+]shutdown ok", ready.Body);
            Assert.EndsWith("readyz check passed\n", ready.Body);
            if (node.Worker) Assert.Contains("[+]kubelet ok", ready.Body);
            if (node.ControlPlane)
            {
                Assert.Contains("[+]store ok", ready.Body);
                Assert.Contains("[+]persistence-journal ok", ready.Body);
                Assert.DoesNotContain("[+]kubelet", ready.Body);
            }

            Assert.Equal((HttpStatusCode.OK, "ok"), await GetAsync($"{node.MetricsUrl}/livez"));
            Assert.Equal((HttpStatusCode.OK, "ok"), await GetAsync($"{node.MetricsUrl}/healthz"));
            Assert.Equal(HttpStatusCode.NotFound, (await GetAsync($"{node.MetricsUrl}/readyz/no-such-check")).Code);
        }

        var cp = cluster.Node("cp-1");
        var worker = cluster.Node("worker-a1");
        Assert.Contains(await ScrapeAsync(cp), s => s.Name == "akka_cluster_sharding_entities" && s.Labels["type"] == "store" && s.Value > 0);
        Assert.Contains(await ScrapeAsync(worker), s => s.Name == "kubelet_running_pods");

        // The apiserver port answers the health paths too (kubectl get --raw /readyz, chaos probes).
        var api = await GetAsync($"{cluster.ApiUri}readyz?verbose");
        Assert.Equal(HttpStatusCode.OK, api.Code);
        Assert.Contains("[+]store ok", api.Body);
        var excluded = await GetAsync($"{cluster.ApiUri}livez?verbose&exclude=ping");
        Assert.Contains("[+]ping excluded: ok", excluded.Body);
    }

    [Fact]
    public async Task Apiserver_request_total_counts_the_requests_made()
    {
        var cp = cluster.Node("cp-1");
        (string, string)[] list = [("verb", "LIST"), ("resource", "pods"), ("code", "200"), ("scope", "namespace")];
        (string, string)[] missing = [("verb", "GET"), ("resource", "configmaps"), ("code", "404"), ("scope", "resource")];
        var before = await ScrapeAsync(cp);

        for (var i = 0; i < 7; i++)
            Assert.Equal(HttpStatusCode.OK, (await GetAsync($"{cluster.ApiUri}api/v1/namespaces/default/pods")).Code);
        for (var i = 0; i < 3; i++)
            Assert.Equal(HttpStatusCode.NotFound, (await GetAsync($"{cluster.ApiUri}api/v1/namespaces/default/configmaps/no-such-{i}")).Code);

        var after = await ScrapeAsync(cp);
        Assert.Equal(7, after.Sum("apiserver_request_total", list) - before.Sum("apiserver_request_total", list));
        Assert.Equal(3, after.Sum("apiserver_request_total", missing) - before.Sum("apiserver_request_total", missing));
        Assert.Equal(7, after.Sum("apiserver_request_duration_seconds_count", list[..2]) - before.Sum("apiserver_request_duration_seconds_count", list[..2]));
        Assert.Contains(after, s => s.Name == "apiserver_current_inflight_requests" && s.Labels["request_kind"] == "readOnly");
        Assert.Contains(after, s => s.Name == "apiserver_storage_objects" && s.Labels["resource"] == "nodes" && s.Value >= 2);
        Assert.True(after.Sum("akkakube_store_commit_duration_seconds_count") > 0, "no store commit measured");
        Assert.True(after.Sum("workqueue_adds_total") > 0, "no workqueue add counted");
        Assert.Equal(1, after.Sum("akka_cluster_singleton_active", ("singleton", "scheduler")));
    }

    [Fact]
    public async Task A_killed_worker_moves_akka_cluster_members_by_status()
    {
        var cp = cluster.Node("cp-1");
        var survivor = cluster.Node("worker-a1");
        var victim = cluster.Node("worker-b1");
        Assert.Equal(3, (await ScrapeAsync(cp)).Sum("akka_cluster_members", ("status", "Up")));

        NodeProcesses.Signal(victim.Pid, NodeProcesses.SigKill);

        // First unreachable (still counted as a member), then downed and removed: the Up count drops to 2. On a fast
        // machine the unreachable phase can be over between two scrapes, so either is the first visible move.
        await EventuallyAsync(() => ScrapeAsync(cp), s => s.Sum("akka_cluster_unreachable_members") >= 1 || s.Sum("akka_cluster_members", ("status", "Up")) == 2,
            TimeSpan.FromSeconds(90), "cp-1 noticing the killed worker");
        foreach (var observer in new[] { cp, survivor })
            await EventuallyAsync(() => ScrapeAsync(observer), s => s.Sum("akka_cluster_members", ("status", "Up")) == 2 && s.Sum("akka_cluster_unreachable_members") == 0,
                TimeSpan.FromSeconds(120), $"{observer.Name} seeing 2 Up members after the kill");
    }
}
