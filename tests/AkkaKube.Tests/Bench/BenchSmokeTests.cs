using AkkaKube.Tests.Infrastructure;

namespace AkkaKube.Tests.Bench;

/// <summary>
/// The benchmark harness in its CI size (`--smoke`): it must complete and print every figure of the scale suite and the store comparison.
/// No timing is asserted — figures on a shared CI machine mean nothing; docs/performance.md has the real runs.
/// </summary>
public sealed class BenchSmokeTests
{
    [Fact]
    public async Task The_harness_in_smoke_mode_completes_and_prints_every_scale_figure()
    {
        var bench = Path.Combine(AppContext.BaseDirectory, "akkakube-bench.dll");
        Assert.True(File.Exists(bench), $"{bench} is missing (the test project references bench/AkkaKube.Bench)");
        var r = await ProcessRunner.RunAsync("dotnet", [bench, "store,density,scheduler,api,watch,clusterstart", "--smoke"], TimeSpan.FromMinutes(5));
        Assert.True(r.ExitCode == 0, r.Output[^Math.Min(r.Output.Length, 4000)..]);
        var figures = r.Stdout.Split('\n').Where(l => l.Length > 15 && !l.Contains("info:") && !l.Contains("warn:") && !l.Contains("fail:")).ToList();
        var expected = new List<(string, string)>
        {
            ("store", "actor, defaults: writes/s"), ("store", "actor, former (row/event, fixed): writes/s"),
        };
        // The side-by-side figures need wrk (and etcd for the peer); .ci/run installs both.
        if (File.Exists("/usr/bin/wrk")) expected.Add(("store", "AkkaKube API create configmap: writes/s"));
        if (File.Exists("/usr/bin/wrk") && File.Exists("/usr/bin/etcd")) expected.Add(("store", "etcd 3.4 HTTP gateway: writes/s"));
        foreach (var (bench_, figure) in expected.Concat(new[]
                 {
                     ("density", "hollow nodes Ready"), ("density", "pods Running after Deployment create"), ("density", "peak RSS of all AkkaKube"),
                     ("scheduler", "throughput"), ("scheduler", "p99 creation-to-bound"),
                     ("api", "read p50 @"), ("api", "read p99 @"), ("api", "mutating p50 @"), ("api", "mutating p99 @"),
                     ("watch", "update to last of"),
                     ("clusterstart", "3+3: up to all Nodes Ready"), ("clusterstart", "hollow: up to all Nodes Ready"), ("clusterstart", "RSS of all node processes"),
                 }))
            Assert.True(figures.Any(l => l.StartsWith(bench_ + " ", StringComparison.Ordinal) && l.Contains(figure, StringComparison.Ordinal)),
                $"no '{bench_}' figure '{figure}' in:\n{string.Join('\n', figures.Where(l => !l.StartsWith("20", StringComparison.Ordinal)))}");
        Assert.Contains("machine: ", r.Stdout);
        Assert.Contains("bench done: ", r.Stdout);
        Assert.Contains(" cores", r.Stdout);
    }
}
