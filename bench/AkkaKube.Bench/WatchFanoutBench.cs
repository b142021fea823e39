using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;

namespace AkkaKube.Bench;

/// <summary>
/// Watch fan-out: W HTTP watches (`GET …/pods?watch=true`, one connection each, as W kubectl/informer clients would
/// hold) on the pods of one namespace of an in-process all-in-one node; then one pod update (merge PATCH of a label)
/// and the time until the LAST watcher has read the MODIFIED event (and the median watcher). Three rounds.
/// Args: --watchers W (default 1000), --rounds R (default 3).
/// </summary>
public sealed class WatchFanoutBench : IBenchmark
{
    public string Name => "watch";
    public string Description => "watch fan-out: 1,000 HTTP watchers on pods, time for one update to reach the last one";

    private const string Ns = "watchbench";

    public async Task RunAsync(BenchReport report, bool smoke, string[] args, CancellationToken ct)
    {
        var watchers = BenchArgs.Int(args, "--watchers", smoke ? 20 : 1000);
        var rounds = BenchArgs.Int(args, "--rounds", smoke ? 1 : 3);

        await using var node = await BenchNode.StartAsync("watchbench", 0, "akkakube.kubelet.enabled = off", ct);
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = watchers + 16 })
        {
            BaseAddress = node.ApiUri,
            Timeout = Timeout.InfiniteTimeSpan,
        };
        await Retry(() => Post(http, "/api/v1/namespaces", $$$"""{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"{{{Ns}}}"}}"""), ct);
        // A bare pod with no node: nothing else touches it (no kubelet here, the scheduler would bind it, so give it a
        // node name that does not exist).
        await Post(http, $"/api/v1/namespaces/{Ns}/pods", """
            {"apiVersion":"v1","kind":"Pod","metadata":{"name":"target"},"spec":{"nodeName":"nowhere","containers":[{"name":"c","image":"pause"}]}}
            """);

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var seen = new long[watchers, rounds];
        var connected = 0;
        var readers = new List<Task>();
        var connectClock = Stopwatch.StartNew();
        for (var w = 0; w < watchers; w++)
        {
            var id = w;
            readers.Add(Task.Run(async () =>
            {
                using var resp = await http.GetAsync($"/api/v1/namespaces/{Ns}/pods?watch=true&allowWatchBookmarks=false", HttpCompletionOption.ResponseHeadersRead, stop.Token);
                resp.EnsureSuccessStatusCode();
                Interlocked.Increment(ref connected);
                using var reader = new StreamReader(await resp.Content.ReadAsStreamAsync(stop.Token));
                while (await reader.ReadLineAsync(stop.Token) is { } line)
                {
                    var at = line.IndexOf("\"fanout\":\"", StringComparison.Ordinal);
                    if (at < 0 || !line.Contains("\"MODIFIED\"", StringComparison.Ordinal)) continue;
                    var start = at + "\"fanout\":\"".Length;
                    var round = int.Parse(line.AsSpan(start, line.IndexOf('"', start) - start), System.Globalization.CultureInfo.InvariantCulture);
                    if (round < rounds && seen[id, round] == 0) seen[id, round] = Stopwatch.GetTimestamp();
                }
            }, stop.Token));
        }
        while (Volatile.Read(ref connected) < watchers)
        {
            if (readers.FirstOrDefault(t => t.IsFaulted) is { } failed) await failed;
            if (connectClock.Elapsed > TimeSpan.FromMinutes(3)) throw new TimeoutException($"only {connected}/{watchers} watches opened in 3 min");
            await Task.Delay(50, ct);
        }
        var connectTime = connectClock.Elapsed;
        // The initial ADDED events (the watch starts with the current state) are drained before the first update.
        await Task.Delay(TimeSpan.FromSeconds(smoke ? 0.5 : 2), ct);

        var lasts = new List<double>();
        var medians = new List<double>();
        for (var r = 0; r < rounds; r++)
        {
            var t0 = Stopwatch.GetTimestamp();
            await Patch(http, $"/api/v1/namespaces/{Ns}/pods/target", "{\"metadata\":{\"labels\":{\"fanout\":\"" + r + "\"}}}");
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (Enumerable.Range(0, watchers).Any(w => Volatile.Read(ref seen[w, r]) == 0) && DateTime.UtcNow < deadline)
                await Task.Delay(5, ct);
            var times = Enumerable.Range(0, watchers).Where(w => seen[w, r] != 0)
                .Select(w => Stopwatch.GetElapsedTime(t0, seen[w, r]).TotalMilliseconds).Order().ToList();
            if (times.Count < watchers) Console.WriteLine($"watch: round {r}: only {times.Count}/{watchers} watchers saw the update within 60 s");
            lasts.Add(times.Count == 0 ? double.NaN : times[^1]);
            medians.Add(times.Count == 0 ? double.NaN : times[times.Count / 2]);
            await Task.Delay(200, ct);
        }
        await stop.CancelAsync();
        try { await Task.WhenAll(readers); } catch (Exception e) when (e is OperationCanceledException or HttpRequestException or IOException) { }

        var setup = $"in-process node (SQLite), {watchers} HTTP watches on pods of one namespace (opened in {connectTime.TotalSeconds:0.0} s), merge PATCH of one pod, {rounds} round(s): last {string.Join("/", lasts.Select(x => x.ToString("0")))} ms, {ProcMemory.Load()}";
        report.Figure("watch", $"update to last of {watchers} watchers (median round)", lasts.Order().ElementAt(lasts.Count / 2), "ms", setup);
        report.Figure("watch", $"update to median watcher (median round)", medians.Order().ElementAt(medians.Count / 2), "ms", setup);
    }

    private static async Task Retry(Func<Task> action, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow.AddSeconds(120);
        while (true)
        {
            try { await action(); return; }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline) { await Task.Delay(200, ct); }
        }
    }

    private static async Task Post(HttpClient http, string path, string body)
    {
        using var resp = await http.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));
        if (!resp.IsSuccessStatusCode && resp.StatusCode != System.Net.HttpStatusCode.Conflict)
            throw new HttpRequestException($"POST {path}: {(int)resp.StatusCode} {await resp.Content.ReadAsStringAsync()}");
    }

    private static async Task Patch(HttpClient http, string path, string body)
    {
        using var req = new HttpRequestMessage(HttpMethod.Patch, path) { Content = new StringContent(body, Encoding.UTF8, "application/merge-patch+json") };
        using var resp = await http.SendAsync(req);
        resp.EnsureSuccessStatusCode();
    }
}
