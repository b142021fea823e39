using System.Net;
using AkkaKube.Cli;
using AkkaKube.Tests.Infrastructure;

namespace AkkaKube.Tests.Observability;

/// <summary>Three control-plane nodes (keep-majority survives losing one), no workers.</summary>
public sealed class StoreReadinessCluster : LocalCluster
{
    public override int ControlPlanes => 3;
    public override int Workers => 0;
}

/// <summary>
/// Killing the node that hosts the pods partition makes /readyz on a surviving apiserver fail with the store check
/// naming the partition, and ready again once the partition has moved and recovered.
/// </summary>
public sealed class StoreReadinessProcessTests(StoreReadinessCluster cluster) : IClassFixture<StoreReadinessCluster>
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };

    private static async Task<(HttpStatusCode Code, string Body)> ReadyzAsync(NodeState node)
    {
        try
        {
            using var response = await Http.GetAsync($"{node.MetricsUrl}/readyz?verbose");
            return (response.StatusCode, await response.Content.ReadAsStringAsync());
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return (0, e.Message);
        }
    }

    private static async Task<(HttpStatusCode Code, string Body)> UntilAsync(NodeState node, Func<(HttpStatusCode Code, string Body), bool> done, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var r = await ReadyzAsync(node);
            if (done(r)) return r;
            if (DateTime.UtcNow > deadline) throw new Xunit.Sdk.XunitException($"{what} within {timeout.TotalSeconds:0} s; last answer {(int)r.Code}:\n{r.Body}");
            await Task.Delay(250);
        }
    }

    [Fact]
    public async Task A_surviving_apiserver_is_not_ready_while_the_pods_partition_is_unreachable_and_ready_after_hand_over()
    {
        foreach (var n in cluster.State.Nodes)
            await UntilAsync(n, r => r.Code == HttpStatusCode.OK, TimeSpan.FromSeconds(120), $"{n.Name} ready");

        // The partition's host is the node reporting its object count (StoreMetrics: only the hosting node does).
        NodeState? host = null;
        foreach (var n in cluster.State.Nodes)
        {
            var metrics = PrometheusText.Parse(await Http.GetStringAsync($"{n.MetricsUrl}/metrics"));
            if (metrics.Any(s => s.Name == "apiserver_storage_objects" && s.Labels["resource"] == "pods")) host = n;
        }
        Assert.NotNull(host);
        var survivor = cluster.State.Nodes.First(n => n.Name != host!.Name);

        NodeProcesses.Signal(host!.Pid, NodeProcesses.SigKill);

        var failing = await UntilAsync(survivor, r => r.Code == HttpStatusCode.InternalServerError && r.Body.Contains("[-]store failed:"),
            TimeSpan.FromSeconds(60), $"{survivor.Name} reporting the store unreachable after {host.Name} was killed");
        Assert.Contains("partition pods", failing.Body);
        Assert.EndsWith("readyz check failed\n", failing.Body);
        Assert.Contains("[+]ping ok", failing.Body);

        var ready = await UntilAsync(survivor, r => r.Code == HttpStatusCode.OK, TimeSpan.FromSeconds(180), $"{survivor.Name} ready again after the hand-over");
        Assert.Contains("[+]store ok", ready.Body);
        Assert.Contains("[+]store-partitions-recovered ok", ready.Body);
    }
}
