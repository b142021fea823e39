using System.Net;

namespace AkkaKube.Cli;

/// <summary>One node's /livez and /readyz?verbose on its metrics port, as `status` shows them and `up` waits for them.</summary>
public sealed record NodeHealth(string Node, string? MetricsUrl, bool Live, bool Ready, IReadOnlyList<HealthCheckLine> Checks, string? Error)
{
    public IEnumerable<string> Failed => Checks.Where(c => !c.Ok).Select(c => c.Name);
}

public sealed record HealthCheckLine(string Name, bool Ok, string Detail);

public static class NodeHealthClient
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };

    public static async Task<NodeHealth> ProbeAsync(NodeState node, CancellationToken ct = default)
    {
        if (node.MetricsUrl is not { } url) return new NodeHealth(node.Name, null, false, false, [], "no metrics port recorded");
        try
        {
            using var live = await Http.GetAsync($"{url}/livez", ct);
            using var ready = await Http.GetAsync($"{url}/readyz?verbose", ct);
            var body = await ready.Content.ReadAsStringAsync(ct);
            return new NodeHealth(node.Name, url, live.StatusCode == HttpStatusCode.OK, ready.StatusCode == HttpStatusCode.OK, Parse(body), null);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return new NodeHealth(node.Name, url, false, false, [], e is TaskCanceledException ? "no answer within 10 s" : e.Message);
        }
    }

    /// <summary>kube-apiserver's verbose health format: "[+]name ok", "[-]name failed: reason".</summary>
    public static IReadOnlyList<HealthCheckLine> Parse(string verbose) =>
        verbose.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(l => l.StartsWith("[+]", StringComparison.Ordinal) || l.StartsWith("[-]", StringComparison.Ordinal))
            .Select(l =>
            {
                var ok = l[1] == '+';
                var rest = l[3..];
                var space = rest.IndexOf(' ');
                return space < 0 ? new HealthCheckLine(rest, ok, "") : new HealthCheckLine(rest[..space], ok, rest[(space + 1)..]);
            })
            .ToList();

    /// <summary>Waits until every node's /readyz answers 200, reporting (ready, total, not-ready names) as it goes.</summary>
    public static async Task WaitUntilReadyAsync(ClusterState state, TimeSpan timeout, Action<int, int, IReadOnlyList<NodeHealth>>? progress = null, CancellationToken ct = default)
    {
        var nodes = state.Nodes.Where(n => n.MetricsPort > 0).ToList();
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var health = await Task.WhenAll(nodes.Select(n => ProbeAsync(n, ct)));
            var notReady = health.Where(h => !h.Ready).ToList();
            progress?.Invoke(nodes.Count - notReady.Count, nodes.Count, notReady);
            if (notReady.Count == 0) return;
            if (DateTime.UtcNow > deadline)
                throw new CliException($"{notReady.Count} node(s) not ready within {timeout.TotalSeconds:0} s: " +
                    string.Join("; ", notReady.Select(h => $"{h.Node}: {(h.Error ?? string.Join(", ", h.Failed))}")) + $"; see the logs in {LocalClusterLauncher.LogDirectory(state.DataDirectory)}");
            await Task.Delay(500, ct);
        }
    }
}
