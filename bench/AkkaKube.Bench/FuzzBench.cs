using System.Diagnostics;
using System.Globalization;
using AkkaKube.Actors.Security;
using AkkaKube.Cli;

namespace AkkaKube.Bench;

/// <summary>
/// The API fuzzer (<see cref="ApiFuzzer"/>) against a 3-control-plane cluster of real node processes: requests sent,
/// statuses by code, 5xx, actor failures (restarts) on every node, and whether every node process is still alive.
/// Args: --requests N (default 100,000), --seed S (default 1), --concurrency C (default 8).
/// </summary>
public sealed class FuzzBench : IBenchmark
{
    public string Name => "fuzz";
    public string Description => "seeded API fuzzing of every served resource and verb: statuses, 5xx, actor restarts, processes alive";

    public async Task RunAsync(BenchReport report, bool smoke, string[] args, CancellationToken ct)
    {
        var requests = BenchArgs.Int(args, "--requests", smoke ? 2000 : 100_000);
        var seed = BenchArgs.Int(args, "--seed", 1);
        var concurrency = BenchArgs.Int(args, "--concurrency", 8);
        var dir = Directory.CreateTempSubdirectory("akkakube-bench-fuzz-").FullName;
        ClusterState? state = null;
        try
        {
            state = LocalClusterLauncher.Start(new UpOptions
            {
                ControlPlanes = 3,
                Workers = 0,
                DataDirectory = dir,
                ApiPort = LocalClusterLauncher.FreePort(System.Net.IPAddress.Loopback),
            });
            await LocalClusterLauncher.WaitUntilUpAsync(state, TimeSpan.FromMinutes(5), ct: ct);
            using var http = KubeconfigCredentials.Load(LocalClusterLauncher.KubeconfigPath(dir)).CreateClient(TimeSpan.FromSeconds(90), h => h.MaxConnectionsPerServer = concurrency * 2);
            var health = new FuzzClusterHealth(state);
            var failuresBefore = await health.ActorFailuresAsync(ct);
            var result = await new ApiFuzzer(http, seed).RunAsync(requests, concurrency, ct);
            var failures = await health.ActorFailuresAsync(ct) - failuresBefore;
            var setup = $"3 cp, SQLite, seed {seed}, concurrency {concurrency}, {result.Targets} resources/subresources; statuses {result.StatusSummary}";
            report.Figure(Name, "requests", result.Requests, "req", setup);
            report.Figure(Name, "throughput", result.Requests / result.Elapsed.TotalSeconds, "req/s", setup);
            foreach (var (code, count) in result.ByStatus)
                report.Figure(Name, string.Create(CultureInfo.InvariantCulture, $"status {code}"), count, "req", setup);
            report.Figure(Name, "5xx responses", result.ServerErrorCount, "req", setup);
            report.Figure(Name, "writes behind a refusal", result.WrittenOnRefusal.Count, "obj", setup);
            report.Figure(Name, "actor failures (restarts), all nodes", failures, "count", setup);
            report.Figure(Name, "node processes alive", state.Nodes.Count(n => health.Alive(n.Pid)), $"of {state.Nodes.Count}", setup);
            foreach (var finding in result.ServerErrors.Concat(result.WrittenOnRefusal)) Console.WriteLine("finding: " + finding);
        }
        finally
        {
            if (state is not null) LocalClusterLauncher.Stop(state, TimeSpan.FromSeconds(15));
            try { Directory.Delete(dir, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}

/// <summary>The fuzzer's health probes of a cluster: its processes, and the actor failures its nodes' /metrics count.</summary>
public sealed class FuzzClusterHealth(ClusterState state)
{
    public bool Alive(int pid)
    {
        try
        {
            using var p = Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    /// <summary>Sum of akka_actor_failures_total (every supervised failure: a restart or a stop) over every node.</summary>
    public async Task<double> ActorFailuresAsync(CancellationToken ct)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var total = 0.0;
        foreach (var node in state.Nodes.Where(n => n.MetricsUrl is not null))
        {
            var text = await http.GetStringAsync(node.MetricsUrl + "/metrics", ct);
            foreach (var line in text.Split('\n'))
                if (line.StartsWith("akka_actor_failures_total", StringComparison.Ordinal))
                    total += double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
        }
        return total;
    }
}
