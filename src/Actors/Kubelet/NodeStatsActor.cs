using System.Diagnostics;
using Akka.Actor;
using AkkaKube.Actors.Runtime;

namespace AkkaKube.Actors.Kubelet;

/// <summary>
/// Resource usage of the node and its containers for the metrics API (`kubectl top`), answering
/// <see cref="KubeletProtocol.GetMetrics"/>. With a runtime that measures (process, cri), it samples every metrics interval
/// what the runtime lists as running (CPU as the rate between two samples) plus this node process; a hollow node's
/// usage is simulated from its pods' requests on demand (<see cref="SimulatedUsage"/>).
/// </summary>
public sealed class NodeStatsActor : ReceiveActor, IWithTimers
{
    public const string SampleTimer = "sample";

    private readonly NodeIdentity _node;
    private readonly KubeletSettings _settings;
    private readonly IContainerRuntime _runtime;
    private readonly IActorRef _pods;
    private readonly Dictionary<string, ResourceUsage> _lastUsage = new(StringComparer.Ordinal);
    private KubeletProtocol.NodeMetrics? _metrics;
    private (TimeSpan Cpu, DateTimeOffset At)? _lastSelf;

    public ITimerScheduler Timers { get; set; } = null!;

    private sealed class Sample { public static readonly Sample Instance = new(); }
    private sealed record Sampled(List<(IRunningContainer Running, ResourceUsage Usage)> Usages);
    private bool _sampling;

    public NodeStatsActor(NodeIdentity node, KubeletSettings settings, IContainerRuntime runtime, IActorRef pods)
    {
        _node = node;
        _settings = settings;
        _runtime = runtime;
        _pods = pods;
        // Reading usage may block (cri: one ContainerStats call per container), so it runs off the actor's thread.
        Receive<Sample>(_ =>
        {
            if (_sampling) return;
            _sampling = true;
            var (runtime, nodeName) = (_runtime, _node.NodeName);
            Task.Run(() => runtime.List().Where(r => r.Launch.NodeName == nodeName)
                    .Select(r => (Running: r, Usage: r.Usage())).Where(x => x.Usage is not null).Select(x => (x.Running, x.Usage!)).ToList())
                .PipeTo(Self, success: list => new Sampled(list), failure: _ => new Sampled([]));
        });
        Receive<Sampled>(s =>
        {
            _sampling = false;
            SampleNow(s.Usages);
        });
        Receive<KubeletProtocol.GetMetrics>(_ =>
        {
            if (!_node.Hollow)
            {
                Sender.Tell(_metrics ?? Empty(_node, _settings));
                return;
            }
            var (name, window) = (_node.NodeName, _settings.MetricsInterval.TotalSeconds);
            _pods.Ask<PodManager.ActivePods>(PodManager.GetActivePods.Instance, TimeSpan.FromSeconds(5))
                .PipeTo(Sender, success: a => SimulatedUsage.For(name, a.Pods, DateTimeOffset.UtcNow, window), failure: _ => Empty(_node, _settings));
        });
    }

    public static Props Props(NodeIdentity node, KubeletSettings settings, IContainerRuntime runtime, IActorRef pods) =>
        Akka.Actor.Props.Create(() => new NodeStatsActor(node, settings, runtime, pods));

    /// <summary>What a kubelet reports before it measured anything.</summary>
    public static KubeletProtocol.NodeMetrics Empty(NodeIdentity node, KubeletSettings settings) =>
        new(node.NodeName, DateTimeOffset.UtcNow, settings.MetricsInterval.TotalSeconds, 0, 0, []);

    protected override void PreStart()
    {
        // The runtimes that measure what they run: process (the processes' /proc) and cri (CRI ContainerStats, the cgroups').
        if (_runtime is ProcessRuntime or Runtime.Cri.CriRuntime)
            Timers.StartPeriodicTimer(SampleTimer, Sample.Instance, TimeSpan.Zero, _settings.MetricsInterval);
    }

    private void SampleNow(List<(IRunningContainer Running, ResourceUsage Usage)> usages)
    {
        var now = DateTimeOffset.UtcNow;
        var pods = new Dictionary<string, (ContainerLaunch Any, List<KubeletProtocol.ContainerMetrics> Containers)>(StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        long totalCpu = 0, totalMem = 0;
        foreach (var (running, usage) in usages)
        {
            var id = running.ContainerId;
            seen.Add(id);
            long cpu = 0;
            if (_lastUsage.TryGetValue(id, out var prev) && usage.At > prev.At)
                cpu = (long)(Math.Max(0, usage.CpuSeconds - prev.CpuSeconds) / (usage.At - prev.At).TotalSeconds * 1e9);
            _lastUsage[id] = usage;
            var launch = running.Launch;
            if (!pods.TryGetValue(launch.PodUid, out var p)) pods[launch.PodUid] = p = (launch, []);
            p.Containers.Add(new KubeletProtocol.ContainerMetrics(launch.ContainerName, cpu, usage.MemoryBytes));
            totalCpu += cpu;
            totalMem += usage.MemoryBytes;
        }
        foreach (var id in _lastUsage.Keys.Where(k => !seen.Contains(k)).ToList()) _lastUsage.Remove(id);
        using (var self = Process.GetCurrentProcess())
        {
            var cpuNow = self.TotalProcessorTime;
            if (_lastSelf is { } ls && now > ls.At)
                totalCpu += (long)((cpuNow - ls.Cpu).TotalSeconds / (now - ls.At).TotalSeconds * 1e9);
            _lastSelf = (cpuNow, now);
            totalMem += self.WorkingSet64;
        }
        var window = _settings.MetricsInterval.TotalSeconds;
        _metrics = new KubeletProtocol.NodeMetrics(_node.NodeName, now, window, totalCpu, totalMem,
            pods.Values.Select(p => new KubeletProtocol.PodMetrics(p.Any.Namespace, p.Any.PodName, p.Any.PodUid, now, window, p.Containers)).ToList());
    }
}
