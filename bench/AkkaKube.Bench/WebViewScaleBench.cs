using System.Diagnostics;
using AkkaKube.Actors.Machinery;
using Microsoft.Playwright;

namespace AkkaKube.Bench;

/// <summary>
/// The web view at scale, in a real browser (Debian's Chromium, headless, Playwright): N hollow nodes in an all-in-one
/// node process, the page open while a Deployment of R replicas comes up. Measures what a person waits for: the page's
/// first full picture of the nodes, the time until it shows all R pods Running (fed only by its watches), a fresh load
/// with everything present, a filter keystroke over R pods, the rows in the DOM (the lists are virtualised) and the
/// page's JavaScript heap. Args: --nodes N (default 1000), --replicas R (default 10000), --timeout-s S (default 600).
/// </summary>
public sealed class WebViewScaleBench : IBenchmark
{
    private const string Chromium = "/usr/bin/chromium";

    public string Name => "webview";
    public string Description => "the /ui/ web view in headless Chromium with 1,000 hollow nodes and 10,000 pods";

    public async Task RunAsync(BenchReport report, bool smoke, string[] args, CancellationToken ct)
    {
        if (!File.Exists(Chromium))
        {
            Console.WriteLine($"webview: skipped, {Chromium} is missing (apt-get install chromium)");
            return;
        }
        var nodes = BenchArgs.Int(args, "--nodes", smoke ? 20 : 1000);
        var replicas = BenchArgs.Int(args, "--replicas", smoke ? 100 : 10000);
        var timeout = TimeSpan.FromSeconds(BenchArgs.Int(args, "--timeout-s", smoke ? 120 : 600));
        var setup = $"in-process all-in-one node + {nodes} hollow kubelets, Deployment of {replicas}; Chromium headless (Playwright), {ProcMemory.Load()} at start";

        await using var node = await BenchNode.StartAsync("webview", nodes, "", ct);
        await node.WaitForReadyNodesAsync(nodes, timeout, ct);

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium, Headless = true, Args = ["--no-sandbox", "--enable-precise-memory-info"],
        });
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1600, Height = 1000 } });
        var waitMs = (float)timeout.TotalMilliseconds;

        var load = Stopwatch.StartNew();
        await page.GotoAsync(new Uri(node.ApiUri, "/ui/").ToString());
        await page.WaitForFunctionAsync($"() => document.querySelector('[data-testid=nodes-total]')?.textContent === '{nodes}'", null, new PageWaitForFunctionOptions { Timeout = waitMs });
        report.Figure("webview", $"page shows all {nodes} nodes (first load)", load.Elapsed.TotalSeconds, "s", setup);

        var deploymentStart = Stopwatch.StartNew();
        await node.Api.CreateAsync(ApiResource.Deployments, "default", DensityBench.Deployment(replicas), ct: ct);
        await page.WaitForFunctionAsync($"() => /Running {replicas}(?!\\d)/.test(document.getElementById('summary').textContent)", null,
            new PageWaitForFunctionOptions { Timeout = waitMs, PollingInterval = 200 });
        report.Figure("webview", $"page shows {replicas} pods Running after the Deployment's create (watches only)", deploymentStart.Elapsed.TotalSeconds, "s", setup);

        var rows = await page.EvaluateAsync<int>("() => document.querySelectorAll('#pods > .row').length");
        report.Figure("webview", $"pod rows in the DOM with {replicas} pods (virtualised list)", rows, "elements", setup);

        var filter = Stopwatch.StartNew();
        await page.FillAsync("#pod-filter", "density-");
        await page.WaitForFunctionAsync("() => /of/.test(document.getElementById('pods-count').textContent)", null, new PageWaitForFunctionOptions { Timeout = waitMs });
        await page.FillAsync("#pod-filter", "no-such-pod-xyz");
        await page.WaitForFunctionAsync("() => document.getElementById('pods-count').textContent.startsWith('0 of')", null, new PageWaitForFunctionOptions { Timeout = waitMs });
        report.Figure("webview", $"two filter keystrokes over {replicas} pods until the list shows the result", filter.Elapsed.TotalMilliseconds, "ms", setup);
        await page.FillAsync("#pod-filter", "");

        var heap = await page.EvaluateAsync<double>("() => (performance.memory ? performance.memory.usedJSHeapSize : 0) / 1048576");
        report.Figure("webview", $"page JavaScript heap with {nodes} nodes and {replicas} pods", heap, "MiB", setup);

        var reload = Stopwatch.StartNew();
        await page.ReloadAsync();
        await page.WaitForFunctionAsync($"() => /Running {replicas}(?!\\d)/.test(document.getElementById('summary')?.textContent ?? '')", null,
            new PageWaitForFunctionOptions { Timeout = waitMs, PollingInterval = 200 });
        report.Figure("webview", $"fresh load until the page shows {nodes} nodes and {replicas} pods Running", reload.Elapsed.TotalSeconds, "s", setup);
    }
}
