using System.Diagnostics;
using AkkaKube.Cli;

namespace AkkaKube.Bench;

/// <summary>
/// Cluster start with real node processes, through the same launcher as `akkakube up`: time from starting the
/// processes to every member Up and to every Node Ready (through the API), for 3 control-plane + 3 workers and for
/// 3 control-plane + 1,000 hollow nodes (hollow-only worker processes); plus the summed resident memory of all
/// node processes once Ready. Args: --hollow N (default 1000).
/// </summary>
public sealed class ClusterStartBench : IBenchmark
{
    public string Name => "clusterstart";
    public string Description => "time from `up` to all nodes Ready: 3+3 and 1,000 hollow nodes (node processes)";

    public async Task RunAsync(BenchReport report, bool smoke, string[] args, CancellationToken ct)
    {
        var hollow = BenchArgs.Int(args, "--hollow", 1000);
        if (smoke)
        {
            // One small cluster stands in for both cases, to keep the CI run short.
            await RunCase(report, "smoke (1 cp + 1 hollow node)", 1, 0, 1, ["3+3", $"{hollow} hollow"], ct);
            return;
        }
        await RunCase(report, "3 cp + 3 workers", 3, 3, 0, ["3+3"], ct);
        await RunCase(report, $"3 cp + {hollow} hollow nodes", 3, 0, hollow, [$"{hollow} hollow"], ct);
    }

    private static async Task RunCase(BenchReport report, string what, int cps, int workers, int hollow, string[] labels, CancellationToken ct)
    {
        var dir = Directory.CreateTempSubdirectory("akkakube-bench-start-").FullName;
        ClusterState? state = null;
        try
        {
            var load = ProcMemory.Load();
            var clock = Stopwatch.StartNew();
            state = LocalClusterLauncher.Start(new UpOptions
            {
                ControlPlanes = cps,
                Workers = workers,
                HollowNodes = hollow,
                DataDirectory = dir,
                ApiPort = LocalClusterLauncher.FreePort(System.Net.IPAddress.Loopback),
            });
            await LocalClusterLauncher.WaitUntilUpAsync(state, TimeSpan.FromMinutes(5), ct: ct);
            var up = clock.Elapsed;
            var ready = await LocalClusterLauncher.WaitUntilNodesReadyAsync(state, TimeSpan.FromMinutes(10), ct: ct);
            var allReady = clock.Elapsed;
            var rss = state.Nodes.Sum(n => ProcMemory.Rss(n.Pid));
            var peak = state.Nodes.Sum(n => ProcMemory.PeakRss(n.Pid));
            var setup = $"{what}: {state.Nodes.Count} node processes, SQLite, members Up after {up.TotalSeconds:0.0} s, {ready} Nodes Ready; {load} at start";
            foreach (var label in labels)
                report.Figure("clusterstart", $"{label}: up to all Nodes Ready", allReady.TotalSeconds, "s", setup);
            report.Figure("clusterstart", $"{labels[^1]}: RSS of all node processes (peak)", peak / (1024.0 * 1024 * 1024), "GiB", $"{setup}; RSS now {rss / (1024.0 * 1024 * 1024):0.00} GiB");
        }
        finally
        {
            if (state is not null) LocalClusterLauncher.Stop(state, TimeSpan.FromSeconds(15));
            try { Directory.Delete(dir, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}
