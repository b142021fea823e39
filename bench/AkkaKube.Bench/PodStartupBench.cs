using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Akka.Actor;
using AkkaKube.Actors.ApiServer;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Cluster;
using AkkaKube.Actors.Kubelet;
using AkkaKube.Host;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using AkkaKube.Actors.Machinery;
using AkkaKube.Cli;

namespace AkkaKube.Bench;

/// <summary>
/// Kubelet figures: pod startup latency (create → Running seen through a watch) with the process runtime,
/// for a plain command (sleep) and for the built-in .NET echo image; and the managed memory of one hollow
/// kubelet (simulated runtime) with its node registered and its lease renewing.
/// Args: --pods N (default 100), --hollow N (default 200), --runtime process|cri (cri: root, containerd, runc, the CNI
/// plugins and busybox-static; the node gets its own containerd with images from scripts/build-test-images.sh),
/// --parallel-starts N (cri: akkakube.kubelet.cri-parallel-starts), --interval-ms N (create one pod every N ms instead of
/// back to back: the e2e_node density test's "latency at interval", the start of one pod rather than a burst's queue). With cri the figures include each phase's p50/p99
/// (the kubelet's PodStartBreakdown) and the mean of each CRI call (kubelet_runtime_operations_duration_seconds).
/// </summary>
public sealed class PodStartupBench : IBenchmark
{
    public string Name => "podstartup";
    public string Description => "pod startup latency p50/p99 (process runtime) and hollow kubelet memory per node";

    private static int Arg(string[] args, string name, int d)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], out var v) ? v : d;
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    public async Task RunAsync(BenchReport report, bool smoke, string[] args, CancellationToken ct)
    {
        var pods = Arg(args, "--pods", smoke ? 5 : 100);
        var hollow = Arg(args, "--hollow", smoke ? 10 : 200);
        var runtime = Array.IndexOf(args, "--runtime") is var r and >= 0 && r + 1 < args.Length ? args[r + 1] : "process";
        var interval = TimeSpan.FromMilliseconds(Math.Max(0, Arg(args, "--interval-ms", 0)));
        if (runtime is not ("process" or "cri")) throw new ArgumentException($"--runtime {runtime}: process or cri");
        var dir = Directory.CreateTempSubdirectory("akkakube-bench-").FullName;
        var port = FreePort();
        ContainerdNode? containerd = null;
        var containerdPid = 0;
        var node = new NodeOptions
        {
            NodeName = "bench-1",
            RemotingPort = port,
            SeedNodes = [$"akka.tcp://akkakube@127.0.0.1:{port}"],
            ApiPort = FreePort(),
            CmdPort = FreePort(),
            PodCidr = "127.64.250.0/24",
            DataDirectory = dir,
        };
        if (runtime == "cri")
        {
            // The node's own containerd with the busybox and pause images (scripts/build-test-images.sh), as `up --runtime containerd`.
            if (ContainerdNode.Missing() is { } missing) throw new InvalidOperationException($"podstartup --runtime cri {missing}");
            containerd = new ContainerdNode(Path.Combine(dir, "ctd"), "bench-1", "10.244.251.0/24", "akbench251");
            containerdPid = containerd.Start();
            await containerd.WaitReadyAsync(TimeSpan.FromSeconds(60), ct);
            await BuildAndLoadImagesAsync(containerd, Path.Combine(dir, "images"), ct);
            node = node with { Runtime = "cri", ContainerRuntimeEndpoint = containerd.Endpoint, PodCidr = containerd.PodCidr };
            if (Arg(args, "--parallel-starts", 0) is var parallel and > 0)
            {
                var conf = Path.Combine(dir, "bench.conf");
                await File.WriteAllTextAsync(conf, $"akkakube.kubelet.cri-parallel-starts = {parallel}\n", ct);
                node = node with { ConfigFiles = [conf] };
            }
        }
        var image = runtime == "cri" ? "akkakube/busybox" : "busybox";
        var host = NodeHost.Build(node);
        await host.StartAsync(ct);
        try
        {
            var system = host.Services.GetRequiredService<ActorSystem>();
            var api = KubeApi.Get(system).Api;
            await WaitForNode(api, "bench-1", ct);
            await WaitForDefaultServiceAccount(api, ct); // pods are admitted only once it exists

            // Warm-up (store partitions, JIT) so the first measured pods do not pay for it.
            await MeasureStartup(null, system, api, runtime, "warmup", 3, n => Pod(n, image, ["sleep", "3600"]), TimeSpan.Zero, ct);
            await MeasureStartup(report, system, api, runtime, "sleep", pods, n => Pod(n, image, ["sleep", "3600"]), interval, ct);
            if (runtime == "process")
            {
                // (no akkakube/echo image for containerd yet; hollow kubelets do not depend on the runtime)
                await MeasureStartup(report, system, api, runtime, "echo", pods, n => Pod(n, "akkakube/echo", null), interval, ct);
                await MeasureHollow(report, system, node, api, hollow, ct);
            }
        }
        finally
        {
            await host.StopAsync(CancellationToken.None);
            host.Dispose();
            if (containerd is not null) ContainerdNode.Stop(containerd.Directory, containerd.NodeName, containerdPid);
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }

    private static async Task BuildAndLoadImagesAsync(ContainerdNode containerd, string images, CancellationToken ct)
    {
        var script = new[] { AppContext.BaseDirectory, Environment.CurrentDirectory }
            .SelectMany(start => Enumerable.Range(0, 8).Select(up => Path.GetFullPath(Path.Combine([start, .. Enumerable.Repeat("..", up), "scripts", "build-test-images.sh"]))))
            .FirstOrDefault(File.Exists) ?? throw new InvalidOperationException("scripts/build-test-images.sh not found (run from the repository)");
        using (var build = Process.Start(new ProcessStartInfo("bash", [script, images]) { UseShellExecute = false, RedirectStandardOutput = true })!)
        {
            await build.StandardOutput.ReadToEndAsync(ct);
            await build.WaitForExitAsync(ct);
            if (build.ExitCode != 0) throw new InvalidOperationException($"{script} failed ({build.ExitCode})");
        }
        foreach (var archive in new[] { "pause.tar", "busybox.tar" }) await containerd.ImportAsync(Path.Combine(images, archive), ct);
    }

    private static async Task WaitForNode(IKubeApi api, string name, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                await api.GetAsync(ApiResource.Nodes, null, name, ct: ct);
                return;
            }
            catch (KubeApiException) when (DateTime.UtcNow < deadline) { await Task.Delay(200, ct); }
        }
    }

    private static async Task WaitForDefaultServiceAccount(IKubeApi api, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                await api.GetAsync(ApiResource.ServiceAccounts, "default", "default", ct: ct);
                return;
            }
            catch (KubeApiException) when (DateTime.UtcNow < deadline) { await Task.Delay(200, ct); }
        }
    }

    private static JsonObject Pod(string name, string image, string[]? command)
    {
        var c = new JsonObject { ["name"] = "main", ["image"] = image };
        if (command is not null) c["command"] = new JsonArray(command.Select(x => (JsonNode?)x).ToArray());
        return new JsonObject
        {
            ["apiVersion"] = "v1", ["kind"] = "Pod",
            ["metadata"] = new JsonObject { ["name"] = name, ["labels"] = new JsonObject { ["bench"] = "podstartup" } },
            ["spec"] = new JsonObject { ["nodeName"] = "bench-1", ["terminationGracePeriodSeconds"] = 2, ["containers"] = new JsonArray(c) },
        };
    }

    /// <summary>Owner of an informer: notes when each pod is first seen Running.</summary>
    private sealed class RunningRecorder : ReceiveActor
    {
        public RunningRecorder(ConcurrentDictionary<string, long> running)
        {
            void See(JsonObject pod)
            {
                if (pod["status"]?["phase"]?.GetValue<string>() == "Running")
                    running.TryAdd(pod["metadata"]!["name"]!.GetValue<string>(), Stopwatch.GetTimestamp());
            }
            Receive<InformerProtocol.Added>(a => See(a.Object));
            Receive<InformerProtocol.Updated>(u => See(u.New));
            Receive<InformerProtocol.Synced>(s => { foreach (var p in s.Objects.Values) See(p); });
            ReceiveAny(_ => { });
        }
    }

    private static async Task MeasureStartup(BenchReport? report, ActorSystem system, IKubeApi api, string runtime, string kind, int count, Func<string, JsonObject> make,
        TimeSpan interval, CancellationToken ct)
    {
        var running = new ConcurrentDictionary<string, long>();
        var created = new ConcurrentDictionary<string, long>();
        var breakdowns = new ConcurrentDictionary<string, KubeletMetrics.PodStartBreakdown>();
        void Observed(KubeletMetrics.PodStartBreakdown b) => breakdowns[b.Name] = b;
        KubeletMetrics.PodStart.Observed += Observed;
        var operationsBefore = RuntimeOperations();
        var recorder = system.ActorOf(Props.Create(() => new RunningRecorder(running)));
        var informer = system.ActorOf(Informer.Props(api, new InformerOptions(ApiResource.Pods, "default", LabelSelector: "bench=podstartup"), recorder));
        await Task.Delay(500, ct);
        var names = Enumerable.Range(0, count).Select(i => $"{kind}-{i}").ToList();
        var wall = Stopwatch.StartNew();
        foreach (var n in names)
        {
            var due = wall.Elapsed;
            created[n] = Stopwatch.GetTimestamp();
            await api.CreateAsync(ApiResource.Pods, "default", make(n), ct: ct);
            if (interval > TimeSpan.Zero && interval - (wall.Elapsed - due) is { Ticks: > 0 } rest) await Task.Delay(rest, ct);
        }
        var deadline = DateTime.UtcNow.AddSeconds(180);
        while (running.Count < count && DateTime.UtcNow < deadline) await Task.Delay(50, ct);
        var all = wall.Elapsed;
        KubeletMetrics.PodStart.Observed -= Observed;
        var latencies = names.Where(running.ContainsKey)
            .Select(n => Stopwatch.GetElapsedTime(created[n], running[n]).TotalMilliseconds).OrderBy(x => x).ToList();
        var setup = $"{count} bare pods created {(interval > TimeSpan.Zero ? $"one every {interval.TotalMilliseconds:0} ms" : "back to back")} on 1 all-in-one node, {runtime} runtime, image {(kind == "echo" ? "akkakube/echo (.NET)" : "busybox: sleep 3600")}";
        var label = runtime == "process" ? kind : $"{runtime} {kind}";
        report?.Figure("podstartup", $"{label}: pods Running", latencies.Count, "pods", setup);
        if (report is not null && latencies.Count > 0)
        {
            report.Figure("podstartup", $"{label}: startup p50", Percentile(latencies, 0.50), "ms", setup);
            report.Figure("podstartup", $"{label}: startup p99", Percentile(latencies, 0.99), "ms", setup);
            report.Figure("podstartup", $"{label}: all Running after", all.TotalMilliseconds, "ms", setup);
            ReportPhases(report, label, setup, names, created, breakdowns);
            foreach (var (op, (sum, n)) in RuntimeOperations())
            {
                var (sum0, n0) = operationsBefore.GetValueOrDefault(op);
                if (n > n0) report.Figure("podstartup", $"{label}: cri {op} mean", (sum - sum0) * 1000 / (n - n0), "ms", $"{n - n0} calls");
            }
        }
        system.Stop(informer);
        system.Stop(recorder);
        foreach (var n in names)
            try { await api.DeleteAsync(ApiResource.Pods, "default", n, ct: ct); } catch (KubeApiException) { }
        // Wait until the kubelet has stopped them (pods disappear from the list once deleted).
        var gone = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < gone && (runtime == "process" ? CountProcesses(kind) : (await api.ListAsync(ApiResource.Pods, "default", ct: ct)).Items.Count) > 0)
            await Task.Delay(200, ct);
    }

    /// <summary>
    /// Where the time goes: p50/p99 of each phase of the kubelet's breakdown (KubeletMetrics.PodStartBreakdown), each
    /// phase measured from the end of the one before; "api-to-kubelet" is from the create call to the pod worker's creation.
    /// </summary>
    private static void ReportPhases(BenchReport report, string label, string setup, List<string> names,
        ConcurrentDictionary<string, long> created, ConcurrentDictionary<string, KubeletMetrics.PodStartBreakdown> breakdowns)
    {
        var phases = new Dictionary<string, List<double>>(StringComparer.Ordinal);
        void Add(string phase, double ms) => (phases.TryGetValue(phase, out var l) ? l : phases[phase] = []).Add(ms);
        foreach (var n in names)
        {
            if (!breakdowns.TryGetValue(n, out var b)) continue;
            Add("api-to-kubelet", Stopwatch.GetElapsedTime(created[n], b.SeenTimestamp).TotalMilliseconds);
            var last = TimeSpan.Zero;
            foreach (var (phase, at) in b.Phases)
            {
                Add(phase, (at - last).TotalMilliseconds);
                last = at;
            }
        }
        foreach (var (phase, values) in phases)
        {
            values.Sort();
            report.Figure("podstartup", $"{label}: phase {phase} p50", Percentile(values, 0.50), "ms", setup);
            report.Figure("podstartup", $"{label}: phase {phase} p99", Percentile(values, 0.99), "ms", setup);
        }
    }

    /// <summary>Sum (seconds) and count of each CRI operation so far (kubelet_runtime_operations_duration_seconds).</summary>
    private static Dictionary<string, (double Sum, long Count)> RuntimeOperations() =>
        KubeletMetrics.RuntimeOperations.GetAllLabelValues().ToDictionary(l => l[0], l =>
        {
            var child = KubeletMetrics.RuntimeOperations.WithLabels(l);
            return (child.Sum, child.Count);
        });

    private static int CountProcesses(string kind) =>
        Directory.EnumerateDirectories("/proc").Count(d =>
        {
            try { return int.TryParse(Path.GetFileName(d), out _) && File.ReadAllText(Path.Combine(d, "environ")).Contains($"AKKAKUBE_POD_NAME={kind}-"); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; }
        });

    private static double Percentile(List<double> sorted, double p) =>
        sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];

    private static async Task MeasureHollow(BenchReport report, ActorSystem system, NodeOptions node, IKubeApi api, int count, CancellationToken ct)
    {
        var settings = KubeletSettings.Create(system.Settings.Config) with { HollowNodes = count, Runtime = "simulated" };
        var benchNode = node with { NodeName = "hollowbench" };
        GC.Collect(2, GCCollectionMode.Forced, true, true);
        GC.WaitForPendingFinalizers();
        var before = GC.GetTotalMemory(true);
        var actors = new List<IActorRef>();
        var sw = Stopwatch.StartNew();
        foreach (var (name, props) in KubeletHostingExtensions.KubeletProps(system, benchNode, settings, api))
            actors.Add(system.ActorOf(props, "bench-" + name));
        var deadline = DateTime.UtcNow.AddSeconds(120);
        int registered;
        while ((registered = (await api.ListAsync(ApiResource.Nodes, null, new ListOptions(LabelSelector: "akkakube.io/hollow=true"), ct)).Items.Count) < count
               && DateTime.UtcNow < deadline)
            await Task.Delay(200, ct);
        var ready = sw.Elapsed;
        await Task.Delay(TimeSpan.FromSeconds(3), ct);
        GC.Collect(2, GCCollectionMode.Forced, true, true);
        GC.WaitForPendingFinalizers();
        var after = GC.GetTotalMemory(true);
        var setup = $"{count} hollow kubelets in the all-in-one process (simulated runtime), nodes registered, leases renewing, pod informers open";
        report.Figure("podstartup", "hollow: nodes registered", registered, "nodes", setup);
        report.Figure("podstartup", "hollow: all registered after", ready.TotalMilliseconds, "ms", setup);
        report.Figure("podstartup", "hollow: managed memory per kubelet", (after - before) / 1024.0 / Math.Max(1, count), "KiB", setup + " (GC heap delta / N, includes apiserver-side watch state)");
        foreach (var a in actors) system.Stop(a);
    }
}
