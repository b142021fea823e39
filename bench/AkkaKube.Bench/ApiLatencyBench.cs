using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;

namespace AkkaKube.Bench;

/// <summary>
/// API latency under a steady open-loop rate of mixed kubectl-like HTTP traffic against the apiserver of an in-process
/// all-in-one node (SQLite store). Requests are started on a fixed schedule whatever the answers (open loop, so a slow
/// server is not hidden by fewer requests), and latency runs from the scheduled start to the full response.
/// Mix: 40 % GET configmap, 15 % LIST configmaps (limit 50), 5 % GET nodes, 25 % POST configmap, 15 % merge PATCH.
/// Args: --rates 100,1000 --seconds 10.
/// </summary>
public sealed class ApiLatencyBench : IBenchmark
{
    public string Name => "api";
    public string Description => "API latency p50/p99 (reads, mutations) at a steady 100 and 1,000 req/s of mixed HTTP traffic";

    private const string Ns = "apibench";

    public async Task RunAsync(BenchReport report, bool smoke, string[] args, CancellationToken ct)
    {
        var ratesArg = Array.IndexOf(args, "--rates") is var ri and >= 0 && ri + 1 < args.Length ? args[ri + 1] : null;
        var rates = ratesArg?.Split(',').Select(int.Parse).ToArray() ?? (smoke ? [20, 50] : [100, 1000]);
        var seconds = BenchArgs.Int(args, "--seconds", smoke ? 2 : 10);

        await using var node = await BenchNode.StartAsync("apibench", 0, "akkakube.kubelet.enabled = off", ct);
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 512, PooledConnectionLifetime = TimeSpan.FromMinutes(10) })
        {
            BaseAddress = node.ApiUri,
            Timeout = TimeSpan.FromSeconds(30),
        };
        await WaitForApi(http, ct);
        await Send(http, HttpMethod.Post, "/api/v1/namespaces", $$$"""{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"{{{Ns}}}"}}""", ct);
        for (var i = 0; i < 100; i++) await Send(http, HttpMethod.Post, $"/api/v1/namespaces/{Ns}/configmaps", ConfigMap($"seed-{i}"), ct);

        // Warm-up: one second at the lowest rate (JIT, connections, partitions).
        await RunRate(http, rates.Min(), 1, "warmup", ct);
        foreach (var rate in rates)
        {
            var (reads, writes, errors, sent, took) = await RunRate(http, rate, seconds, $"r{rate}", ct);
            var setup = $"in-process node (SQLite), open loop {rate} req/s for {seconds} s ({sent} sent, {errors} errors, last answer {took.TotalSeconds:0.0} s after start), {ProcMemory.Load()}";
            report.Figure("api", $"read p50 @{rate}/s", P(reads, 0.50), "ms", setup);
            report.Figure("api", $"read p99 @{rate}/s", P(reads, 0.99), "ms", setup);
            report.Figure("api", $"mutating p50 @{rate}/s", P(writes, 0.50), "ms", setup);
            report.Figure("api", $"mutating p99 @{rate}/s", P(writes, 0.99), "ms", setup);
        }
    }

    private static double P(List<double> xs, double q)
    {
        if (xs.Count == 0) return double.NaN;
        xs.Sort();
        return xs[Math.Min(xs.Count - 1, (int)Math.Ceiling(q * xs.Count) - 1)];
    }

    private static async Task<(List<double> Reads, List<double> Writes, int Errors, int Sent, TimeSpan Took)> RunRate(
        HttpClient http, int rate, int seconds, string tag, CancellationToken ct)
    {
        var total = rate * seconds;
        var tasks = new List<Task<(bool Write, double Ms, bool Ok)>>(total);
        var clock = Stopwatch.StartNew();
        var rnd = new Random(rate);
        for (var i = 0; i < total; i++)
        {
            var due = TimeSpan.FromSeconds((double)i / rate);
            var wait = due - clock.Elapsed;
            if (wait > TimeSpan.FromMilliseconds(1)) await Task.Delay(wait, ct);
            var roll = rnd.Next(100);
            var k = rnd.Next(100);
            var n = i;
            tasks.Add(Timed(clock, due, roll switch
            {
                < 40 => (false, () => Send(http, HttpMethod.Get, $"/api/v1/namespaces/{Ns}/configmaps/seed-{k}", null, ct)),
                < 55 => (false, () => Send(http, HttpMethod.Get, $"/api/v1/namespaces/{Ns}/configmaps?limit=50", null, ct)),
                < 60 => (false, () => Send(http, HttpMethod.Get, "/api/v1/nodes", null, ct)),
                < 85 => (true, () => Send(http, HttpMethod.Post, $"/api/v1/namespaces/{Ns}/configmaps", ConfigMap($"{tag}-{n}"), ct)),
                _ => (true, () => Send(http, HttpMethod.Patch, $"/api/v1/namespaces/{Ns}/configmaps/seed-{k}", $$$"""{"data":{"n":"{{{n}}}"}}""", ct)),
            }));
        }
        var results = await Task.WhenAll(tasks);
        var took = clock.Elapsed;
        return (results.Where(r => r.Ok && !r.Write).Select(r => r.Ms).ToList(),
                results.Where(r => r.Ok && r.Write).Select(r => r.Ms).ToList(),
                results.Count(r => !r.Ok), total, took);
    }

    private static async Task<(bool Write, double Ms, bool Ok)> Timed(Stopwatch clock, TimeSpan due, (bool Write, Func<Task<bool>> Run) request)
    {
        bool ok;
        try { ok = await request.Run(); }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { ok = false; }
        return (request.Write, (clock.Elapsed - due).TotalMilliseconds, ok);
    }

    private static async Task<bool> Send(HttpClient http, HttpMethod method, string path, string? body, CancellationToken ct)
    {
        using var req = new HttpRequestMessage(method, path);
        if (body is not null)
            req.Content = new StringContent(body, Encoding.UTF8, method == HttpMethod.Patch ? "application/merge-patch+json" : "application/json");
        using var resp = await http.SendAsync(req, HttpCompletionOption.ResponseContentRead, ct);
        return resp.IsSuccessStatusCode;
    }

    private static async Task WaitForApi(HttpClient http, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow.AddSeconds(120);
        while (true)
        {
            try
            {
                if (await Send(http, HttpMethod.Get, "/api/v1/namespaces/default", null, ct)) return;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { }
            if (DateTime.UtcNow > deadline) throw new TimeoutException("the apiserver did not answer within 120 s");
            await Task.Delay(200, ct);
        }
    }

    private static string ConfigMap(string name) =>
        $$$"""{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"{{{name}}}","labels":{"bench":"api"}},"data":{"k":"{{{new string('x', 256)}}}"}}""";
}
