using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Akka.Actor;
using Akka.Configuration;
using AkkaKube.Actors.Cluster;
using AkkaKube.Actors.Store;
using static AkkaKube.Actors.Store.StoreProtocol;

namespace AkkaKube.Bench;

/// <summary>
/// `store`: durable writes/s and latency of one partition actor alone (no HTTP, no sharding) on SQLite:
/// N concurrent writers each create 1 KiB ConfigMaps one after another; a write counts when acknowledged
/// (its event is in the journal). Options: --writers 64 --seconds 20 --warmup 3 --snapshot-every N --db file;
/// --inmem swaps the journal for Akka's in-memory one (not durable: isolates the actor's own cost).
/// </summary>
public static class StoreBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        var writers = Option(args, "--writers", 64);
        var seconds = Option(args, "--seconds", 20);
        var warmup = Option(args, "--warmup", 3);
        var dir = Directory.CreateTempSubdirectory("akkakube-bench-").FullName;
        var db = OptionString(args, "--db") ?? Path.Combine(dir, "store.db");
        var hocon = FindHocon();
        var connection = $"Data Source={db};Pooling=True;Default Timeout=30";
        var config = ConfigurationFactory.ParseString($$"""
                akka.actor.provider = local
                akka.loglevel = WARNING
                akka.persistence.journal.sql.connection-string = "{{connection}}"
                akka.persistence.snapshot-store.sql.connection-string = "{{connection}}"
                akka.persistence.query.journal.sql.connection-string = "{{connection}}"
                {{(args.Contains("--inmem") ? "akka.persistence.journal.plugin = akka.persistence.journal.inmem" : "")}}
                """)
            .WithFallback(NodeConfig.Load(Path.Combine(hocon, "persistence-sqlite.conf")))
            .WithFallback(NodeConfig.Load(Path.Combine(hocon, "base.conf")));
        var settings = StoreSettings.Create(NodeConfig.Load(Path.Combine(hocon, "control-plane.conf")));
        settings = (settings with { SnapshotEvery = Option(args, "--snapshot-every", settings.SnapshotEvery) }).Validate();

        using var system = ActorSystem.Create("bench", config);
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

        Console.WriteLine($"store bench: partition actor alone, {(args.Contains("--inmem") ? "IN-MEMORY journal (not durable)" : "SQLite " + db)}, {writers} writers, 1 KiB ConfigMaps, " +
                          $"snapshot-every {settings.SnapshotEvery}, {Environment.ProcessorCount} cores");
        var tasks = Enumerable.Range(0, writers).Select(w => Task.Run(() => Writer(w))).ToList();
        await Task.Delay(TimeSpan.FromSeconds(warmup));
        Volatile.Write(ref measuring, true);
        var clock = Stopwatch.StartNew();
        await Task.Delay(TimeSpan.FromSeconds(seconds));
        Volatile.Write(ref measuring, false);
        var elapsed = clock.Elapsed.TotalSeconds;
        Volatile.Write(ref stop, true);
        await Task.WhenAll(tasks);

        var all = latencies.SelectMany(l => l).Order().ToArray();
        var rate = total / elapsed;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"durable writes/s: {rate:F0}  p50: {Percentile(all, 0.50):F1} ms  p99: {Percentile(all, 0.99):F1} ms  " +
            $"max: {all.LastOrDefault():F1} ms  writes: {total} in {elapsed:F1} s  cores: {Environment.ProcessorCount}"));
        await system.Terminate();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (OptionString(args, "--db") is null) Directory.Delete(dir, recursive: true);
        return 0;
    }

    private static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];

    private static int Option(string[] args, string name, int fallback) =>
        OptionString(args, name) is { } s ? int.Parse(s, CultureInfo.InvariantCulture) : fallback;

    private static string? OptionString(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

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
