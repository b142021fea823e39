using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using AkkaKube.Actors.Proxy;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace AkkaKube.Bench;

/// <summary>
/// kube-proxy data path: wrk against a Kestrel backend on a pod address directly, then through the
/// proxy's forwarding listener on a service address (same machine, same backend, keep-alive connections).
/// Figures: requests/s and p50/p99 latency of both, the ratio, and the p99 the proxy adds.
/// The proxy is measured with both copy paths: the async pump (Socket.ReceiveAsync/SendAsync) and the threaded
/// pump (blocking recv/send on dedicated threads, the default on Linux).
/// Args: [connections] [seconds] [rounds] (defaults 32, 10 and 2; smoke: 8, 2 and 1).
/// </summary>
public sealed class ProxyBenchmark : IBenchmark
{
    public string Name => "proxy";
    public string Description => "kube-proxy forwarding: wrk throughput and latency direct vs through a service address";

    public async Task RunAsync(BenchReport report, bool smoke, string[] args, CancellationToken ct)
    {
        var connections = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : smoke ? 8 : 32;
        var seconds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : smoke ? 2 : 10;
        var rounds = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : smoke ? 1 : 2;
        if (!File.Exists("/usr/bin/wrk"))
        {
            Console.WriteLine("proxy: /usr/bin/wrk not found; install wrk (apt-get install wrk)");
            return;
        }
        var podIp = IPAddress.Parse("127.64.250.1");
        var serviceIp = IPAddress.Parse("127.128.250.1");
        var backendPort = FreePort(podIp);

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o => o.Listen(podIp, backendPort));
        await using var app = builder.Build();
        app.MapGet("/", () => Results.Text("ok\n"));
        await app.StartAsync(ct);

        var connectionSet = new ConnectionSet();
        await using var listener = ForwardingListener.Start(new IPEndPoint(serviceIp, FreePort(serviceIp)),
            new BalancerRules([new Backend(podIp, backendPort)]), connectionSet);
        var setup = $"wrk -t2 -c{connections} -d{seconds}s, GET / (3 bytes), Kestrel backend, {rounds} round(s) averaged, {BenchReport.Machine}";
        var directUrl = $"http://{podIp}:{backendPort}/";
        var proxyUrl = $"http://{listener.LocalEndPoint}/";

        // Each round measures the three in turn, so that a change of the (shared) machine's load hits all of them.
        var runs = new Dictionary<string, List<WrkResult>> { ["direct"] = [], ["async pump"] = [], ["threaded pump"] = [] };
        for (var round = 0; round < rounds; round++)
        {
            foreach (var mode in runs.Keys)
            {
                connectionSet.MaxThreadedConnections = mode == "async pump" ? 0 : connections;
                var url = mode == "direct" ? directUrl : proxyUrl;
                await Wrk(url, 2, 1, ct); // warm-up (JIT, connection set-up; new connections take the mode)
                runs[mode].Add(await Wrk(url, connections, seconds, ct));
            }
        }
        WrkResult Mean(string mode) => new(runs[mode].Average(r => r.Rps), runs[mode].Average(r => r.P50Ms), runs[mode].Average(r => r.P99Ms));
        var direct = Mean("direct");
        report.Figure(Name, "direct requests/s", direct.Rps, "req/s", setup);
        report.Figure(Name, "direct p50 latency", direct.P50Ms, "ms", setup);
        report.Figure(Name, "direct p99 latency", direct.P99Ms, "ms", setup);
        foreach (var mode in new[] { "async pump", "threaded pump" })
        {
            var proxied = Mean(mode);
            report.Figure(Name, $"proxied ({mode}) requests/s", proxied.Rps, "req/s", setup);
            report.Figure(Name, $"proxied ({mode}) / direct throughput", 100 * proxied.Rps / Math.Max(1, direct.Rps), "%", setup);
            report.Figure(Name, $"proxied ({mode}) p50 latency", proxied.P50Ms, "ms", setup);
            report.Figure(Name, $"proxied ({mode}) p99 latency", proxied.P99Ms, "ms", setup);
            report.Figure(Name, $"p99 added by the proxy ({mode})", proxied.P99Ms - direct.P99Ms, "ms", setup);
        }
        await app.StopAsync(ct);
    }

    private sealed record WrkResult(double Rps, double P50Ms, double P99Ms);

    private static async Task<WrkResult> Wrk(string url, int connections, int seconds, CancellationToken ct)
    {
        var psi = new ProcessStartInfo("/usr/bin/wrk", ["-t2", $"-c{connections}", $"-d{seconds}s", "--latency", url])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var wrk = Process.Start(psi)!;
        try
        {
            var output = await wrk.StandardOutput.ReadToEndAsync(ct);
            await wrk.WaitForExitAsync(ct).WaitAsync(TimeSpan.FromSeconds(seconds + 30), ct);
            return new WrkResult(WrkOutput.RequestsPerSecond(output), WrkOutput.LatencyMs(output, "50%"), WrkOutput.LatencyMs(output, "99%"));
        }
        finally
        {
            if (!wrk.HasExited) wrk.Kill(entireProcessTree: true);
        }
    }


    private static int FreePort(IPAddress address)
    {
        using var l = new TcpListener(address, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}
