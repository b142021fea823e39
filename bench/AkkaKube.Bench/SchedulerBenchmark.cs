using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json.Nodes;
using Akka.Actor;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Scheduler;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Bench;

/// <summary>
/// Scheduler throughput with simulated (hollow) nodes: the real SchedulerActor (informers, queue, cache,
/// plugins, binding) over the in-memory IKubeApi, like kube-scheduler's scheduler_perf SchedulingBasic.
/// Pods ask for 100m cpu / 128Mi and belong to one ReplicaSet (so the default topology spread applies).
/// </summary>
public sealed class SchedulerBenchmark : IBenchmark
{
    public string Name => "scheduler";
    public string Description => "scheduler throughput (pods/s) and p99 creation-to-bound, 500/5,000 and 5,000/10,000 nodes/pods";

    public async Task RunAsync(BenchReport report, bool smoke, string[] args, CancellationToken ct)
    {
        var cases = smoke ? new[] { (Nodes: 50, Pods: 200) } : [(500, 5000), (5000, 10000)];
        // --nodes N --pods M: one case only
        var n = Array.IndexOf(args, "--nodes");
        var p = Array.IndexOf(args, "--pods");
        if (n >= 0 && p >= 0 && n + 1 < args.Length && p + 1 < args.Length)
            cases = [(int.Parse(args[n + 1], System.Globalization.CultureInfo.InvariantCulture), int.Parse(args[p + 1], System.Globalization.CultureInfo.InvariantCulture))];
        foreach (var (nodes, pods) in cases)
            await RunCase(report, nodes, pods, ct);
    }

    private static async Task RunCase(BenchReport report, int nodeCount, int podCount, CancellationToken ct)
    {
        var api = new InMemoryKubeApi();
        var created = new ConcurrentDictionary<string, long>();
        var bound = new ConcurrentDictionary<string, long>();
        var allBound = new TaskCompletionSource();
        api.OnChange = (resource, type, obj) =>
        {
            if (resource != ApiResource.Pods || type != "MODIFIED" || obj["spec"]?["nodeName"] is null) return;
            var name = obj["metadata"]!["name"]!.GetValue<string>();
            if (bound.TryAdd(name, Stopwatch.GetTimestamp()) && bound.Count == podCount) allBound.TrySetResult();
        };
        for (var i = 0; i < nodeCount; i++)
            await api.CreateAsync(ApiResource.Nodes, null, JsonNode.Parse("""
                {"apiVersion":"v1","kind":"Node","metadata":{"name":"hollow-I","labels":{"kubernetes.io/hostname":"hollow-I","topology.kubernetes.io/zone":"zone-Z"}},
                 "status":{"allocatable":{"cpu":"32","memory":"256Gi","pods":"110"}}}
                """.Replace("-I", "-" + i).Replace("zone-Z", "zone-" + (char)('a' + i % 3)))!.AsObject(), ct: ct);

        using var system = ActorSystem.Create("bench", "akka.loglevel = WARNING\nakka.stdout-loglevel = WARNING");
        var scheduler = system.ActorOf(SchedulerActor.Props(api, new SchedulerSettings()), "scheduler");
        while ((await scheduler.Ask<SchedulerProtocol.Stats>(SchedulerProtocol.GetStats.Instance, TimeSpan.FromSeconds(30))).Nodes < nodeCount)
            await Task.Delay(50, ct);

        var owner = Guid.NewGuid().ToString();
        var start = Stopwatch.GetTimestamp();
        for (var i = 0; i < podCount; i++)
        {
            var name = $"pod-{i}";
            created[name] = Stopwatch.GetTimestamp();
            await api.CreateAsync(ApiResource.Pods, "default", JsonNode.Parse("""
                {"apiVersion":"v1","kind":"Pod","metadata":{"name":"NAME","labels":{"app":"bench"},
                  "ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"bench","uid":"OWNER","controller":true}]},
                 "spec":{"containers":[{"name":"c","image":"pause","resources":{"requests":{"cpu":"100m","memory":"128Mi"}}}]}}
                """.Replace("NAME", name).Replace("OWNER", owner))!.AsObject(), ct: ct);
        }
        var createdIn = Stopwatch.GetElapsedTime(start);
        await allBound.Task.WaitAsync(TimeSpan.FromMinutes(10), ct);
        var elapsed = Stopwatch.GetElapsedTime(start);
        var latencies = created.Select(kv => Stopwatch.GetElapsedTime(kv.Value, bound[kv.Key]).TotalMilliseconds).Order().ToArray();
        double P(double q) => latencies[Math.Min(latencies.Length - 1, (int)Math.Ceiling(q * latencies.Length) - 1)];
        var setup = $"{nodeCount} hollow nodes, {podCount} pods (100m/128Mi, one owner), in-memory API, created in {createdIn.TotalSeconds:0.0}s";
        report.Figure("scheduler", $"throughput {nodeCount}n/{podCount}p", podCount / elapsed.TotalSeconds, "pods/s", setup);
        report.Figure("scheduler", $"p50 creation-to-bound {nodeCount}n", P(0.50), "ms", setup);
        report.Figure("scheduler", $"p99 creation-to-bound {nodeCount}n", P(0.99), "ms", setup);
        await system.Terminate();
    }
}
