using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Akka.Actor;
using Akka.Configuration;
using AkkaKube.Actors.Cluster;
using AkkaKube.Actors.Store;
using AkkaKube.Host;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using static AkkaKube.Actors.Store.StoreProtocol;

namespace AkkaKube.Bench;

/// <summary>
/// `store`: durable writes/s, side by side in one run:
/// 1. one store partition actor alone (no HTTP, no sharding) on SQLite: today's defaults (one journal row per
///    group-commit batch, snapshots after max(1000, 2 × objects) events), then the fixed snapshot rule, then also
///    one row per event — the before/after of both changes;
/// 2. etcd from the distribution's packages (if installed) through its HTTP/JSON gateway with wrk;
/// 3. AkkaKube's whole write path (Kestrel apiserver → sharding → partition → SQLite) with the same wrk shape.
/// Writers create unique 1 KiB objects back to back; a write counts when acknowledged (durable).
/// Options: --writers 64 --seconds 15 --warmup 3 --snapshot-every N --inmem (actor alone, in-memory journal);
/// --skip-actor runs only etcd and the API side by side (the write-path comparison, about a minute).
/// </summary>
public sealed partial class StoreBenchmark : IBenchmark
{
    public string Name => "store";
    public string Description => "durable writes/s: store partition actor (batch rows vs event rows), etcd and the AkkaKube API via wrk";

    private const string Etcd = "/usr/bin/etcd";
    private const string Wrk = "/usr/bin/wrk";

    public async Task RunAsync(BenchReport report, bool smoke, string[] args, CancellationToken ct)
    {
        var writers = BenchArgs.Int(args, "--writers", smoke ? 8 : 64);
        var seconds = BenchArgs.Int(args, "--seconds", smoke ? 2 : 15);
        var warmup = BenchArgs.Int(args, "--warmup", smoke ? 2 : 3);
        var hocon = FindHocon();
        var settings = StoreSettings.Create(NodeConfig.Load(Path.Combine(hocon, "control-plane.conf")));
        settings = (settings with { SnapshotEvery = BenchArgs.Int(args, "--snapshot-every", settings.SnapshotEvery) }).Validate();
        var inmem = args.Contains("--inmem");
        var journal = inmem ? "in-memory journal (NOT durable)" : "SQLite synchronous=FULL";
        var setupActor = $"partition actor alone, {writers} writers, 1 KiB ConfigMaps, {journal}, {seconds} s, {ProcMemory.Load()}, {BenchReport.Machine}";

        // Today's defaults, then the former journal layout and snapshot rule, one change at a time.
        var variants = new (string Label, StoreSettings Settings)[]
        {
            ("actor, defaults", settings),
            ("actor, fixed snapshot rule", settings with { SnapshotStateFactor = 0 }),
            ("actor, former (row/event, fixed)", settings with { SnapshotStateFactor = 0, JournalRowPerBatch = false }),
        };
        foreach (var (label, variant) in args.Contains("--skip-actor") ? [] : variants)
        {
            var r = await ActorAlone(hocon, variant, writers, seconds, warmup, inmem);
            report.Figure(Name, $"{label}: writes/s", r.Rate, "1/s", setupActor);
            report.Figure(Name, $"{label}: p50", r.P50Ms, "ms", setupActor);
            report.Figure(Name, $"{label}: p99", r.P99Ms, "ms", setupActor);
            report.Figure(Name, $"{label}: CPU per write", r.CpuMsPerWrite, "ms", setupActor);
        }

        if (!File.Exists(Wrk))
        {
            Console.WriteLine("store: wrk not found (apt-get install wrk): etcd and API figures skipped");
            return;
        }
        var setupWrk = $"wrk -t2 -c{writers} -d{seconds}s, unique keys, 1 KiB values, {ProcMemory.Load()}, {BenchReport.Machine}";
        WrkResult? etcd = null;
        if (File.Exists(Etcd))
        {
            etcd = await EtcdViaWrk(writers, seconds, ct);
            report.Figure(Name, "etcd 3.4 HTTP gateway: writes/s", etcd.Rps, "1/s", setupWrk);
            report.Figure(Name, "etcd 3.4 HTTP gateway: p50", etcd.P50Ms, "ms", setupWrk);
            report.Figure(Name, "etcd 3.4 HTTP gateway: p99", etcd.P99Ms, "ms", setupWrk);
        }
        else
        {
            Console.WriteLine("store: etcd not found (apt-get install etcd-server): etcd figures skipped");
        }
        var api = await ApiViaWrk(writers, seconds, ct);
        report.Figure(Name, "AkkaKube API create configmap: writes/s", api.Rps, "1/s", setupWrk + ", all-in-one node, SQLite");
        if (api.CpuMsPerWrite is { } cpu)
            report.Figure(Name, "AkkaKube API create configmap: CPU per write", cpu, "ms", setupWrk + ", the node's process (apiserver, store, SQLite)");
        report.Figure(Name, "AkkaKube API create configmap: p50", api.P50Ms, "ms", setupWrk);
        report.Figure(Name, "AkkaKube API create configmap: p99", api.P99Ms, "ms", setupWrk);
        if (etcd is not null)
            report.Figure(Name, "AkkaKube API / etcd writes/s (target >= 2)", api.Rps / etcd.Rps, "x", setupWrk);
    }

    // ------------------------------------------------------------------ the partition actor alone

    private sealed record ActorResult(double Rate, double P50Ms, double P99Ms, double CpuMsPerWrite);

    private static async Task<ActorResult> ActorAlone(string hocon, StoreSettings settings, int writers, int seconds, int warmup, bool inmem)
    {
        var dir = Directory.CreateTempSubdirectory("akkakube-bench-").FullName;
        var connection = $"Data Source={Path.Combine(dir, "store.db")};Pooling=True;Default Timeout=30";
        var config = ConfigurationFactory.ParseString($$"""
                akka.actor.provider = local
                akka.loglevel = WARNING
                akka.persistence.journal.sql.connection-string = "{{connection}}"
                akka.persistence.snapshot-store.sql.connection-string = "{{connection}}"
                akka.persistence.query.journal.sql.connection-string = "{{connection}}"
                {{(inmem ? "akka.persistence.journal.plugin = akka.persistence.journal.inmem" : "")}}
                """)
            .WithFallback(NodeConfig.Load(Path.Combine(hocon, "persistence-sqlite.conf")))
            .WithFallback(NodeConfig.Load(Path.Combine(hocon, "base.conf")));
        using var system = ActorSystem.Create("bench", config);
        try
        {
            var store = system.ActorOf(StoreActor.Props("configmaps", settings), "store-configmaps");
            var payload = new string('x', 1024);
            var measuring = false;
            var stop = false;
            var latencies = new List<double>[writers];
            long total = 0;

            async Task Writer(int w)
            {
                latencies[w] = new List<double>(100_000);
                for (var i = 0; !Volatile.Read(ref stop); i++)
                {
                    var json = new JsonObject
                    {
                        ["apiVersion"] = "v1",
                        ["kind"] = "ConfigMap",
                        ["metadata"] = new JsonObject { ["name"] = $"w{w}-{i}", ["namespace"] = "bench" },
                        ["data"] = new JsonObject { ["payload"] = payload },
                    }.ToJsonString();
                    var counted = Volatile.Read(ref measuring); // only writes started inside the window count
                    var started = Stopwatch.GetTimestamp();
                    var reply = await store.Ask<object>(new CreateObject("configmaps", json), TimeSpan.FromSeconds(30));
                    if (reply is not ObjectReply) throw new InvalidOperationException($"write refused: {reply}");
                    if (counted && Volatile.Read(ref measuring))
                    {
                        latencies[w].Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                        Interlocked.Increment(ref total);
                    }
                }
            }

            var tasks = Enumerable.Range(0, writers).Select(w => Task.Run(() => Writer(w))).ToList();
            await Task.Delay(TimeSpan.FromSeconds(warmup));
            var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
            Volatile.Write(ref measuring, true);
            var clock = Stopwatch.StartNew();
            await Task.Delay(TimeSpan.FromSeconds(seconds));
            Volatile.Write(ref measuring, false);
            var elapsed = clock.Elapsed.TotalSeconds;
            var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalMilliseconds;
            Volatile.Write(ref stop, true);
            await Task.WhenAll(tasks);

            var all = latencies.SelectMany(l => l).Order().ToArray();
            return new ActorResult(total / elapsed, Percentile(all, 0.50), Percentile(all, 0.99), total == 0 ? double.NaN : cpu / total);
        }
        finally
        {
            await system.Terminate();
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(dir, recursive: true);
        }
    }

    // ------------------------------------------------------------------ etcd and the AkkaKube API through wrk

    /// <summary>CpuMsPerWrite: the measured process's CPU over the run per acknowledged write (null: not measured, e.g. etcd).</summary>
    private sealed record WrkResult(double Rps, double P50Ms, double P99Ms, double? CpuMsPerWrite = null);

    private static async Task<WrkResult> EtcdViaWrk(int connections, int seconds, CancellationToken ct)
    {
        var dir = Directory.CreateTempSubdirectory("akkakube-bench-etcd-").FullName;
        var clientPort = BenchNode.FreePort();
        var peerPort = BenchNode.FreePort();
        var psi = new ProcessStartInfo(Etcd,
        [
            "--name", "bench", "--data-dir", dir,
            "--listen-client-urls", $"http://127.0.0.1:{clientPort}", "--advertise-client-urls", $"http://127.0.0.1:{clientPort}",
            "--listen-peer-urls", $"http://127.0.0.1:{peerPort}", "--initial-advertise-peer-urls", $"http://127.0.0.1:{peerPort}",
            "--initial-cluster", $"bench=http://127.0.0.1:{peerPort}",
        ])
        { RedirectStandardOutput = true, RedirectStandardError = true };
        using var etcd = Process.Start(psi)!;
        etcd.OutputDataReceived += (_, _) => { };
        etcd.ErrorDataReceived += (_, _) => { };
        etcd.BeginOutputReadLine();
        etcd.BeginErrorReadLine();
        try
        {
            var baseUri = $"http://127.0.0.1:{clientPort}";
            await WaitFor(async http => (await http.GetAsync(baseUri + "/health", ct)).IsSuccessStatusCode, ct);
            // Keys are 16 base64 characters (unique per thread and request) so they decode without padding;
            // the value is 1,026 bytes once decoded.
            var script = """
                local counter = 0
                local value = string.rep("eHh4", 342)
                request = function()
                  counter = counter + 1
                  local key = string.format("k%03dx%011d", tid, counter)
                  return wrk.format("POST", "/v3/kv/put", {["Content-Type"] = "application/json"},
                    '{"key":"' .. key .. '","value":"' .. value .. '"}')
                end
                """;
            return await RunWrk(baseUri, script, connections, seconds, ct);
        }
        finally
        {
            if (!etcd.HasExited) etcd.Kill(entireProcessTree: true);
            await etcd.WaitForExitAsync(CancellationToken.None);
            Directory.Delete(dir, recursive: true);
        }
    }

    private static async Task<WrkResult> ApiViaWrk(int connections, int seconds, CancellationToken ct)
    {
        await using var node = await BenchNode.StartAsync("bench-api", 0,
            "akkakube.controllers.enabled = []\nakkakube.scheduler.scheduler-name = \"no-pod-uses-this\"", ct, worker: false);
        var baseUri = node.ApiUri.ToString().TrimEnd('/');
        await WaitFor(async http => (await http.GetAsync(baseUri + "/api/v1/namespaces/default", ct)).IsSuccessStatusCode, ct);
        var script = """
            local counter = 0
            local payload = string.rep("x", 1024)
            request = function()
              counter = counter + 1
              local name = string.format("t%d-%d", tid, counter)
              return wrk.format("POST", "/api/v1/namespaces/default/configmaps", {["Content-Type"] = "application/json"},
                '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"' .. name .. '"},"data":{"payload":"' .. payload .. '"}}')
            end
            """;
        // The node runs in this process: CPU per write is less tied to the other jobs than writes/s (spinning and cache misses still count).
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var result = await RunWrk(baseUri, script, connections, seconds, ct);
        var cpuMs = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalMilliseconds;
        result = result with { CpuMsPerWrite = result.Rps <= 0 ? null : cpuMs / (result.Rps * seconds) };
        using var http = new HttpClient();
        var status = await http.GetStringAsync(baseUri + "/api/v1/namespaces/default/configmaps?limit=1", ct);
        if (!status.Contains("\"kind\":\"ConfigMapList\"", StringComparison.Ordinal))
            throw new InvalidOperationException("the API did not list configmaps after the run: " + status);
        return result;
    }

    private static async Task<WrkResult> RunWrk(string baseUri, string script, int connections, int seconds, CancellationToken ct)
    {
        var scriptFile = Path.Combine(Path.GetTempPath(), $"akkakube-bench-{Guid.NewGuid():N}.lua");
        // wrk counts answers >= 400 in summary.errors.status: a refused write must not count as a write.
        // Every wrk thread gets its own id (tid), so the request scripts can make unique keys.
        await File.WriteAllTextAsync(scriptFile, """
            local thread_ids = 0
            function setup(thread) thread:set("tid", thread_ids); thread_ids = thread_ids + 1 end

            """ + script + """

            done = function(summary, latency, requests)
              io.write(string.format("non-2xx: %d\n", summary.errors.status))
            end
            """, ct);
        try
        {
            var psi = new ProcessStartInfo(Wrk, ["-t2", $"-c{connections}", $"-d{seconds}s", "--latency", "-s", scriptFile, baseUri])
            { RedirectStandardOutput = true, RedirectStandardError = true };
            using var wrk = Process.Start(psi)!;
            try
            {
                var output = await wrk.StandardOutput.ReadToEndAsync(ct);
                await wrk.WaitForExitAsync(ct).WaitAsync(TimeSpan.FromSeconds(seconds + 60), ct);
                var rps = WrkOutput.RequestsPerSecond(output);
                var non2xx = NonSuccessRegex().Match(output) is { Success: true } m ? long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
                if (non2xx > 0) throw new InvalidOperationException($"{non2xx} writes were refused during the wrk run:\n{output}");
                return new WrkResult(rps, WrkOutput.LatencyMs(output, "50%"), WrkOutput.LatencyMs(output, "99%"));
            }
            finally
            {
                if (!wrk.HasExited) wrk.Kill(entireProcessTree: true);
            }
        }
        finally
        {
            File.Delete(scriptFile);
        }
    }

    private static async Task WaitFor(Func<HttpClient, Task<bool>> ready, CancellationToken ct)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                if (await ready(http)) return;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) when (!ct.IsCancellationRequested) { }
            if (DateTime.UtcNow > deadline) throw new TimeoutException("server did not become ready within 60 s");
            await Task.Delay(200, ct);
        }
    }

    [GeneratedRegex(@"non-2xx: (\d+)")]
    private static partial Regex NonSuccessRegex();

    // ------------------------------------------------------------------ helpers

    private static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];

    /// <summary>The repository's hocon/ directory (the bench runs from its bin folder inside the repository).</summary>
    private static string FindHocon()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            var candidate = Path.Combine(d.FullName, "hocon");
            if (File.Exists(Path.Combine(candidate, "persistence-sqlite.conf"))) return candidate;
        }
        throw new DirectoryNotFoundException("hocon/ not found above " + AppContext.BaseDirectory);
    }
}
