using System.Diagnostics;
using System.Text.Json.Nodes;
using Akka.Actor;
using AkkaKube.Actors.Client;

namespace AkkaKube.Bench;

/// <summary>
/// Density (kubemark/kwok style): N hollow kubelets in one all-in-one node process (store on SQLite, apiserver,
/// scheduler, controllers, hollow kubelets — everything in the bench process), then one Deployment of R replicas;
/// time from the Deployment's create to all R pods Running (seen through a pod informer), and the process's peak
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
        var peak = ProcMemory.PeakRss(Environment.ProcessId);
        var finished = $"{setup}; {seen}/{replicas} Running ({outcome}), {ProcMemory.Load()} at end";
        report.Figure("density", $"{replicas} pods Running after Deployment create", elapsed.TotalSeconds, "s", finished);
        report.Figure("density", "pods Running per second", seen / Math.Max(0.001, elapsed.TotalSeconds), "pods/s", finished);
        report.Figure("density", "peak RSS of all AkkaKube (one process)", peak / (1024.0 * 1024 * 1024), "GiB", finished);
        node.System.Stop(counter);
    }

    private static JsonObject Deployment(int replicas) => JsonNode.Parse("""
        {"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"density"},
         "spec":{"replicas":REPLICAS,"selector":{"matchLabels":{"app":"density"}},
          "template":{"metadata":{"labels":{"app":"density"}},
           "spec":{"terminationGracePeriodSeconds":0,"containers":[{"name":"c","image":"registry.k8s.io/pause:3.10"}]}}}}
        """.Replace("REPLICAS", replicas.ToString(System.Globalization.CultureInfo.InvariantCulture)))!.AsObject();

    private sealed record StartInformer(IKubeApi Api);

    private sealed class CountRunning
    {
        public static readonly CountRunning Instance = new();
    }

    /// <summary>Owner of a pod informer (label app=density): completes when <c>target</c> distinct pods were seen Running.</summary>
    private sealed class RunningCounter : ReceiveActor
    {
        private readonly HashSet<string> _running = new(StringComparer.Ordinal);

        public RunningCounter(int target, TaskCompletionSource<int> done)
        {
            void See(string key, JsonObject pod)
            {
                if (pod["status"]?["phase"]?.GetValue<string>() == "Running" && _running.Add(key) && _running.Count >= target)
                    done.TrySetResult(_running.Count);
            }
            Receive<StartInformer>(s => Context.ActorOf(Informer.Props(s.Api, new InformerOptions(ApiResource.Pods, "default", LabelSelector: "app=density")), "pods"));
            Receive<InformerProtocol.Synced>(s => { foreach (var (k, p) in s.Objects) See(k, p); });
            Receive<InformerProtocol.Added>(a => See(a.Key, a.Object));
            Receive<InformerProtocol.Updated>(u => See(u.Key, u.New));
            Receive<CountRunning>(_ => Sender.Tell(_running.Count));
            ReceiveAny(_ => { });
        }
    }
}
