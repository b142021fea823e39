using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace AkkaKube.Cli.Chaos;

/// <summary>
/// Where a control-plane kill's write outage goes (issue 25): each step of the store's hand-over as seconds after the
/// kill, so the report says which one to shorten. Membership from the member watch, the shard coordinator's hand-over
/// from the survivors' own logs (the node that starts it logs when and when its state was read), each partition's start
/// and recovery from `kube store`, and what a client sees from <see cref="WriteProbe"/>.
/// </summary>
public sealed record HandoverBreakdown
{
    public double? DownAfterSeconds { get; init; }
    public double? RemovedAfterSeconds { get; init; }
    /// <summary>The shard coordinator (a cluster singleton) started on the new oldest control-plane member.</summary>
    public double? CoordinatorStartedAfterSeconds { get; init; }
    /// <summary>The coordinator read its state (distributed data, remembered shards) and answers regions.</summary>
    public double? CoordinatorActiveAfterSeconds { get; init; }
    public string? CoordinatorNode { get; init; }
    /// <summary>First and last moved partition started on a survivor (allocation done, its shard's remembered entities read).</summary>
    public double? FirstPartitionStartedAfterSeconds { get; init; }
    public double? LastPartitionStartedAfterSeconds { get; init; }
    /// <summary>Last moved partition recovered from its snapshot and journal: from here every moved partition answers.</summary>
    public double? AllPartitionsRecoveredAfterSeconds { get; init; }
    public double? LongestRecoverySeconds { get; init; }
    public IReadOnlyList<WriteProbeResult>? Writes { get; init; }

    /// <summary>The phases as durations: where the time between the kill and the last recovered partition went.</summary>
    public IEnumerable<(string Phase, double? Seconds)> Phases()
    {
        static double? Minus(double? a, double? b) => a is { } x && b is { } y ? Math.Round(x - y, 2) : null;
        yield return ("detection (down)", DownAfterSeconds);
        yield return ("removal", Minus(RemovedAfterSeconds, DownAfterSeconds));
        yield return ("coordinator hand-over (singleton start)", Minus(CoordinatorStartedAfterSeconds, RemovedAfterSeconds));
        // Only the distributed-data coordinator logs its activation; the journal-backed one (state-store-mode = persistence,
        // the default since issue 25) recovers silently, so its state read is counted in the allocation step.
        yield return ("coordinator state read", Minus(CoordinatorActiveAfterSeconds, CoordinatorStartedAfterSeconds));
        // A coordinator that did not move (the kill spared its host) allocates from the removal on.
        yield return (CoordinatorActiveAfterSeconds is null && CoordinatorStartedAfterSeconds is not null
                ? "coordinator recovery + shard allocation + remembered entities (… last start)"
                : "shard allocation + remembered entities (first … last partition start)",
            Minus(LastPartitionStartedAfterSeconds, CoordinatorActiveAfterSeconds ?? CoordinatorStartedAfterSeconds ?? RemovedAfterSeconds));
        yield return ("entity recovery (until the last one answers)", Minus(AllPartitionsRecoveredAfterSeconds, LastPartitionStartedAfterSeconds));
    }

    public string ToText()
    {
        var w = new StringWriter(CultureInfo.InvariantCulture);
        w.WriteLine("  store hand-over (seconds after the kill → step's own duration):");
        static string At(double? s) => s is { } v ? $"+{v:0.00}s" : "?";
        w.WriteLine($"    down {At(DownAfterSeconds)}, removed {At(RemovedAfterSeconds)}, coordinator started {At(CoordinatorStartedAfterSeconds)}" +
                    $"{(CoordinatorNode is null ? "" : $" on {CoordinatorNode}")}, active {At(CoordinatorActiveAfterSeconds)}, partitions started " +
                    $"{At(FirstPartitionStartedAfterSeconds)}…{At(LastPartitionStartedAfterSeconds)}, all recovered {At(AllPartitionsRecoveredAfterSeconds)}");
        foreach (var (phase, seconds) in Phases())
            w.WriteLine($"    {phase,-72} {(seconds is { } s ? $"{s:0.00} s" : "?")}");
        foreach (var r in Writes ?? [])
            w.WriteLine($"  writes to {r.Resource}: {r.Succeeded} creates ok, {r.Failed} failed{(r.FailureCodes.Count > 0 ? $" ({string.Join(", ", r.FailureCodes.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => $"{c.Key}×{c.Value}"))})" : "")}; " +
                        $"first after the kill {At(r.FirstSuccessAfterSeconds)}, longest without a successful create {r.LongestGapSeconds:0.00} s");
        return w.ToString();
    }

    /// <summary>What the survivors logged after the kill, each the earliest over all of them (event times, one clock).</summary>
    internal sealed record SurvivorLog(DateTime? Down, DateTime? Removed, DateTime? CoordinatorStarted, DateTime? CoordinatorActive, string? CoordinatorNode);

    /// <summary>
    /// From each survivor's log after <paramref name="offsets"/> (its length at the kill): when a target was marked Down
    /// and removed ("member removed: ADDRESS", node-info), and when the shard coordinator started on the node that took it
    /// over and read its state (Akka's "Singleton manager started singleton actor [.../storeCoordinator/singleton]" and
    /// "ShardCoordinator was moved to the active state"). More exact than polling `cluster show` from outside.
    /// </summary>
    internal static SurvivorLog ReadSurvivorLogs(IEnumerable<(string Node, string LogFile)> survivors, IReadOnlyDictionary<string, long> offsets,
        IReadOnlyCollection<string> targetAddresses, DateTime since)
    {
        DateTime? down = null, removed = null, started = null, active = null;
        string? node = null;
        static DateTime? Earliest(DateTime? a, DateTime b) => a is { } x && x <= b ? x : b;
        foreach (var (name, logFile) in survivors)
            foreach (var line in ReadFrom(logFile, offsets.GetValueOrDefault(name)))
            {
                if (EventTime(line) is not { } at || at < since) continue;
                if (line.Contains("as [Down]", StringComparison.Ordinal) && targetAddresses.Any(a => line.Contains($"[{a}]", StringComparison.Ordinal))) down = Earliest(down, at);
                else if (line.Contains("member removed: ", StringComparison.Ordinal) && targetAddresses.Any(a => line.Contains(a, StringComparison.Ordinal))) removed = Earliest(removed, at);
                else if (line.Contains("storeCoordinator] Singleton manager started singleton actor", StringComparison.Ordinal) && (started is null || at < started))
                {
                    started = at;
                    node = name;
                }
                else if (line.Contains("ShardCoordinator was moved to the active state", StringComparison.Ordinal)) active = Earliest(active, at);
            }
        return new SurvivorLog(down, removed, started, active, node);
    }

    private static IEnumerable<string> ReadFrom(string path, long offset)
    {
        if (!File.Exists(path)) yield break;
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        if (offset > 0 && offset <= stream.Length) stream.Seek(offset, SeekOrigin.Begin);
        using var reader = new StreamReader(stream);
        while (reader.ReadLine() is { } line) yield return line;
    }

    private static readonly Regex AkkaTimestamp = new(@"\]\[(\d\d/\d\d/\d{4} \d\d:\d\d:\d\d\.\d+)Z\]", RegexOptions.Compiled);

    /// <summary>When Akka says the event happened ("[INFO][12/07/2026 15:53:01.184Z]…"), not when the line was written.</summary>
    internal static DateTime? EventTime(string line) =>
        AkkaTimestamp.Match(line) is { Success: true } m && DateTime.TryParseExact(m.Groups[1].Value, "MM/dd/yyyy HH:mm:ss.FFFFFFF",
            CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var at)
            ? at : null;
}

/// <summary>A writer's view of the hand-over for one resource: creates tried every interval from the kill on.</summary>
public sealed record WriteProbeResult(string Resource, int Succeeded, int Failed, IReadOnlyDictionary<string, int> FailureCodes,
    double? FirstSuccessAfterSeconds, double LongestGapSeconds);

/// <summary>
/// A client that keeps creating objects through the API while a control-plane node dies, as a kubectl user or a
/// controller would: one create at a time per resource, the next one 100 ms after the previous answer. Reports the
/// longest time without a successful create (from the kill on) and what the failures were; deletes what it created.
/// </summary>
public sealed class WriteProbe
{
    /// <summary>Kinds a probe can create with a body of a name only, by store partition.</summary>
    private static readonly Dictionary<string, (string Path, string ApiVersion, string Kind)> Writable = new(StringComparer.Ordinal)
    {
        ["configmaps"] = ("/api/v1/namespaces/default/configmaps", "v1", "ConfigMap"),
        ["secrets"] = ("/api/v1/namespaces/default/secrets", "v1", "Secret"),
        ["serviceaccounts"] = ("/api/v1/namespaces/default/serviceaccounts", "v1", "ServiceAccount"),
        ["leases.coordination.k8s.io"] = ("/apis/coordination.k8s.io/v1/namespaces/default/leases", "coordination.k8s.io/v1", "Lease"),
    };

    private readonly HttpClient _http;
    private readonly Stopwatch _clock;
    private readonly string _run = $"{DateTime.UtcNow:HHmmss}-{Random.Shared.Next(1000, 9999)}";
    private readonly List<(string Partition, Task<(WriteProbeResult Result, List<string> Created)>)> _writers = [];

    private WriteProbe(HttpClient http, Stopwatch clock)
    {
        _http = http;
        _clock = clock;
    }

    /// <summary>ConfigMaps always (the kubectl writer of issue 25), plus each moved partition whose kind a bare name can create.</summary>
    public static WriteProbe Start(HttpClient http, Stopwatch clock, IEnumerable<string> movingPartitions, CancellationToken stop)
    {
        var probe = new WriteProbe(http, clock);
        foreach (var partition in movingPartitions.Append("configmaps").Distinct(StringComparer.Ordinal).Where(Writable.ContainsKey).Order(StringComparer.Ordinal))
            probe._writers.Add((partition, Task.Run(() => probe.WriteAsync(partition, stop), CancellationToken.None)));
        return probe;
    }

    private async Task<(WriteProbeResult, List<string>)> WriteAsync(string partition, CancellationToken stop)
    {
        var (path, apiVersion, kind) = Writable[partition];
        var created = new List<string>();
        var codes = new Dictionary<string, int>(StringComparer.Ordinal);
        int ok = 0, failed = 0;
        double? first = null;
        double last = 0, longest = 0;
        for (var n = 0; !stop.IsCancellationRequested; n++)
        {
            var name = $"chaos-write-{_run}-{n}";
            var body = new JsonObject
            {
                ["apiVersion"] = apiVersion, ["kind"] = kind,
                ["metadata"] = new JsonObject { ["name"] = name, ["labels"] = new JsonObject { ["akkakube.io/chaos-probe"] = "true" } },
            }.ToJsonString();
            string? failure;
            try
            {
                using var content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
                using var response = await _http.PostAsync(path, content, stop);
                created.Add(name); // even a failure may have been stored (outcome unknown): deleted afterwards either way
                failure = response.IsSuccessStatusCode ? null : ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                created.Add(name);
                failure = e is TaskCanceledException ? "timeout" : "connection";
            }
            var now = _clock.Elapsed.TotalSeconds;
            if (failure is null)
            {
                ok++;
                first ??= now;
                longest = Math.Max(longest, now - last);
                last = now;
            }
            else
            {
                failed++;
                codes[failure] = codes.GetValueOrDefault(failure) + 1;
            }
            try { await Task.Delay(100, stop); } catch (OperationCanceledException) { break; }
        }
        // Still failing when stopped (or never succeeded): the time since the last success counts too.
        longest = Math.Max(longest, _clock.Elapsed.TotalSeconds - last);
        return (new WriteProbeResult(partition, ok, failed, codes, first is { } f ? Math.Round(f, 2) : null, Math.Round(longest, 2)), created);
    }

    /// <summary>Waits for the writers (after their stop token fired), deletes what they created, returns their results.</summary>
    public async Task<IReadOnlyList<WriteProbeResult>> FinishAsync(List<string> leftovers, CancellationToken ct)
    {
        var results = new List<WriteProbeResult>();
        foreach (var (partition, writer) in _writers)
        {
            var (result, created) = await writer;
            results.Add(result);
            var path = Writable[partition].Path;
            foreach (var name in created)
            {
                try
                {
                    using var del = await _http.DeleteAsync($"{path}/{name}", ct);
                    if (!del.IsSuccessStatusCode && (int)del.StatusCode != 404) leftovers.Add($"{partition} default/{name} (delete answered {(int)del.StatusCode})");
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
                {
                    leftovers.Add($"{partition} default/{name} (delete failed: {e.Message})");
                }
            }
        }
        return results;
    }
}
