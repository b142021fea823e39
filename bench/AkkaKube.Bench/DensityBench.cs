using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Akka.Actor;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Store;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Bench;

/// <summary>
/// Density (kubemark/kwok style): N hollow kubelets in one all-in-one node process (store on SQLite, apiserver,
/// scheduler, controllers, hollow kubelets — everything in the bench process), then one Deployment of R replicas;
/// time from the Deployment's create to all R pods Running (seen through a pod watch), and the process's peak
/// resident memory (VmHWM), i.e. the memory of all of AkkaKube, since it is all in this one process.
/// Args: --nodes N (default 1000), --replicas R (default 10000), --timeout-s S (default 600).
/// </summary>
public sealed class DensityBench : IBenchmark
{
    public string Name => "density";
    public string Description => "1,000 hollow nodes, a 10,000-replica Deployment: time to all Running, peak RSS";

    public async Task RunAsync(BenchReport report, bool smoke, string[] args, CancellationToken ct)
    {
        var nodes = BenchArgs.Int(args, "--nodes", smoke ? 20 : 1000);
        var replicas = BenchArgs.Int(args, "--replicas", smoke ? 100 : 10000);
        var timeout = TimeSpan.FromSeconds(BenchArgs.Int(args, "--timeout-s", smoke ? 120 : 600));
        var setup = $"in-process all-in-one node (SQLite store) + {nodes} hollow kubelets, Deployment of {replicas} (no requests), {ProcMemory.Load()} at start";

        var start = Stopwatch.StartNew();
        await using var node = await BenchNode.StartAsync("density", nodes, "", ct);
        await node.WaitForReadyNodesAsync(nodes, timeout, ct);
        var nodesReady = start.Elapsed;
        report.Figure("density", $"{nodes} hollow nodes Ready (in-process)", nodesReady.TotalSeconds, "s", setup);

        var running = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var counter = node.System.ActorOf(Props.Create(() => new RunningCounter(replicas, running)), "density-counter");
        counter.Tell(new StartInformer(node.Api));

        var deploymentStart = Stopwatch.StartNew();
        await node.Api.CreateAsync(ApiResource.Deployments, "default", Deployment(replicas), ct: ct);
        string outcome;
        try
        {
            await running.Task.WaitAsync(timeout, ct);
            outcome = "all Running";
        }
        catch (TimeoutException)
        {
            outcome = $"TIMED OUT after {timeout.TotalSeconds:0} s";
        }
        var elapsed = deploymentStart.Elapsed;
        var seen = await counter.Ask<int>(CountRunning.Instance, TimeSpan.FromSeconds(30));
        var stages = await counter.Ask<Stages>(GetStages.Instance, TimeSpan.FromSeconds(30));
        var peak = ProcMemory.PeakRss(Environment.ProcessId);
        var finished = $"{setup}; {seen}/{replicas} Running ({outcome}), {ProcMemory.Load()} at end";
        report.Figure("density", $"{replicas} pods Running after Deployment create", elapsed.TotalSeconds, "s", finished);
        report.Figure("density", "pods Running per second", seen / Math.Max(0.001, elapsed.TotalSeconds), "pods/s", finished);
        report.Figure("density", "peak RSS of all AkkaKube (one process)", peak / (1024.0 * 1024 * 1024), "GiB", finished);
        // Where the pipeline spends its time: when the bench's watch first saw each pod created, bound (spec.nodeName) and Running.
        report.Figure("density", "last pod created (seen by watch)", Last(stages.Created, deploymentStart), "s", $"{stages.Created.Count} seen");
        report.Figure("density", "last pod bound (seen by watch)", Last(stages.Bound, deploymentStart), "s", $"{stages.Bound.Count} seen");
        Console.WriteLine("density timeline (s since create: pods created / bound / Running so far)");
        var end = elapsed.TotalSeconds;
        var step = Math.Max(1, Math.Ceiling(end / 20));
        for (var t = step; t < end + step; t += step)
            Console.WriteLine($"  {t,6:0}s {Count(stages.Created, deploymentStart, t),7} {Count(stages.Bound, deploymentStart, t),7} {Count(stages.Running, deploymentStart, t),7}");
        var gc = GC.GetGCMemoryInfo();
        Console.WriteLine($"density GC: heap {gc.HeapSizeBytes / 1048576.0:0} MiB, committed {gc.TotalCommittedBytes / 1048576.0:0} MiB, gen0/1/2 collections {GC.CollectionCount(0)}/{GC.CollectionCount(1)}/{GC.CollectionCount(2)}, pause {GC.GetTotalPauseDuration().TotalSeconds:0.0} s, allocated {GC.GetTotalAllocatedBytes() / 1073741824.0:0.0} GiB");
        node.System.Stop(counter);
    }

    /// <summary>A Deployment of pause pods without requests, shared with the web view bench.</summary>
    internal static JsonObject Deployment(int replicas) => JsonNode.Parse("""
        {"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"density"},
         "spec":{"replicas":REPLICAS,"selector":{"matchLabels":{"app":"density"}},
          "template":{"metadata":{"labels":{"app":"density"}},
           "spec":{"terminationGracePeriodSeconds":0,"containers":[{"name":"c","image":"registry.k8s.io/pause:3.10"}]}}}}
        """.Replace("REPLICAS", replicas.ToString(System.Globalization.CultureInfo.InvariantCulture)))!.AsObject();

    private static double Last(List<long> ticks, Stopwatch since) =>
        ticks.Count == 0 ? 0 : TimeSpan.FromTicks(ticks.Max() - StartTicks(since)).TotalSeconds;

    private static int Count(List<long> ticks, Stopwatch since, double seconds)
    {
        var limit = StartTicks(since) + TimeSpan.FromSeconds(seconds).Ticks;
        return ticks.Count(t => t <= limit);
    }

    /// <summary>The wall-clock tick (DateTime.UtcNow) at which the stopwatch started.</summary>
    private static long StartTicks(Stopwatch since) => DateTime.UtcNow.Ticks - since.Elapsed.Ticks;

    private sealed record StartInformer(IKubeApi Api);

    private sealed record Stages(List<long> Created, List<long> Bound, List<long> Running);

    private sealed class GetStages
    {
        public static readonly GetStages Instance = new();
    }

    private sealed class CountRunning
    {
        public static readonly CountRunning Instance = new();
    }

    /// <summary>
    /// Watches the pods labelled app=density and completes when <c>target</c> distinct pods were seen Running; also
    /// notes when each pod was first seen, bound and Running. It keeps no copy of the pods (an informer would hold all
    /// 10,000 parsed, which is the harness's memory, not AkkaKube's): each event is read with a pooled JsonDocument.
    /// A watch that ends (410, a moved partition) is resumed by a fresh list and watch.
    /// </summary>
    private sealed class RunningCounter : ReceiveActor, IWithTimers
    {
        public ITimerScheduler Timers { get; set; } = null!;

        private readonly HashSet<string> _running = new(StringComparer.Ordinal);
        private readonly Dictionary<string, long> _created = new(StringComparer.Ordinal), _bound = new(StringComparer.Ordinal), _runningAt = new(StringComparer.Ordinal);
        private IKubeApi? _api;
        private string _watchId = "";

        private sealed record Listed(ObjectList List);
        private sealed record Watching(string WatchId);
        private sealed record Failed(Exception Error);

        public RunningCounter(int target, TaskCompletionSource<int> done)
        {
            void See(string name, string? nodeName, string? phase)
            {
                var now = DateTime.UtcNow.Ticks;
                _created.TryAdd(name, now);
                if (!string.IsNullOrEmpty(nodeName)) _bound.TryAdd(name, now);
                if (phase != "Running" || !_running.Add(name)) return;
                _runningAt[name] = now;
                if (_running.Count >= target) done.TrySetResult(_running.Count);
            }
            void List() => _api!.ListAsync(ApiResource.Pods, "default", new ListOptions("app=density"))
                .PipeTo(Self, success: l => new Listed(l), failure: e => new Failed(e));
            Receive<StartInformer>(s => { _api = s.Api; List(); });
            Receive<Listed>(l =>
            {
                foreach (var p in l.List.Items)
                    See(p["metadata"]?["name"]?.GetValue<string>() ?? "", p["spec"]?["nodeName"]?.GetValue<string>(), p["status"]?["phase"]?.GetValue<string>());
                _api!.WatchAsync(ApiResource.Pods, "default", Self, l.List.ResourceVersion, new ListOptions("app=density"))
                    .PipeTo(Self, success: id => new Watching(id), failure: e => new Failed(e));
            });
            Receive<Watching>(w => _watchId = w.WatchId);
            Receive<Failed>(_ => Timers.StartSingleTimer("relist", new StartInformer(_api!), TimeSpan.FromMilliseconds(500)));
            Receive<WatchProtocol.WatchEvent>(e =>
            {
                if (e.Type is not ("ADDED" or "MODIFIED")) return;
                using var doc = JsonDocument.Parse(e.ObjectJson);
                var root = doc.RootElement;
                string? Get(string a, string b) =>
                    root.TryGetProperty(a, out var x) && x.ValueKind == JsonValueKind.Object && x.TryGetProperty(b, out var y) && y.ValueKind == JsonValueKind.String ? y.GetString() : null;
                See(Get("metadata", "name") ?? "", Get("spec", "nodeName"), Get("status", "phase"));
            });
            Receive<WatchProtocol.WatchEnded>(_ => { _watchId = ""; List(); });
            Receive<CountRunning>(_ => Sender.Tell(_running.Count));
            Receive<GetStages>(_ => Sender.Tell(new Stages([.. _created.Values], [.. _bound.Values], [.. _runningAt.Values])));
            ReceiveAny(_ => { });
        }

        protected override void PostStop()
        {
            if (_watchId.Length > 0) _ = _api?.CancelWatchAsync(ApiResource.Pods, _watchId);
        }
    }
}
