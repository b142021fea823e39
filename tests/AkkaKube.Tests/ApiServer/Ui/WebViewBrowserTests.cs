using System.Text.RegularExpressions;
using AkkaKube.Actors.Security;
using AkkaKube.Cli;
using AkkaKube.Cli.Chaos;
using AkkaKube.Tests.Failover;
using AkkaKube.Tests.Infrastructure;
using AkkaKube.Tests.Kubectl;
using Microsoft.Playwright;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace AkkaKube.Tests.ApiServer.Ui;

/// <summary>Three control-plane nodes (the singletons can move) and two workers in two zones.</summary>
public sealed class WebViewCluster : LocalCluster
{
    public override int ControlPlanes => 3;
    public override int Workers => 2;
    public override TimeSpan StartTimeout => TimeSpan.FromSeconds(180);
}

/// <summary>
/// The web view in a real browser (Debian's Chromium, headless, driven by Playwright) against a real cluster, asserting
/// what a person sees: zones, nodes and singleton placement; a pod appearing after `kubectl create`; the singleton
/// moving after `chaos kill-leader` (and the run shaded on the timeline); a killed worker turning NotReady.
/// Screenshots of each step go to the test output directory (listed in the test log).
/// </summary>
public sealed class WebViewBrowserTests(WebViewCluster cluster, ITestOutputHelper output) : IClassFixture<WebViewCluster>
{
    private const string Chromium = "/usr/bin/chromium";
    private static readonly Regex ControlPlaneNode = new("^cp-[0-9]+$");

    private readonly string _screenshots = Path.Combine(AppContext.BaseDirectory, "TestResults", "web-view", DateTime.UtcNow.ToString("yyyyMMdd-HHmmss"));

    private async Task ScreenshotAsync(IPage page, string name)
    {
        Directory.CreateDirectory(_screenshots);
        var file = Path.Combine(_screenshots, name + ".png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = file, FullPage = true });
        output.WriteLine($"screenshot: {file}");
    }

    private static LocatorAssertionsToHaveTextOptions Within(int seconds) => new() { Timeout = seconds * 1000 };

    [SkippableFact]
    public async Task A_person_sees_pods_appear_the_singletons_move_and_a_killed_worker_turn_NotReady()
    {
        Skip.If(!File.Exists(Chromium), $"{Chromium} is missing (apt-get install chromium)");
        Skip.If(KubectlRunner.KubectlPath is null, "kubectl is not on PATH");
        await LocalClusterLauncher.WaitUntilNodesReadyAsync(cluster.State, TimeSpan.FromSeconds(120));

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args = ["--no-sandbox"], // the CI runs as root, where Chromium's sandbox cannot start
        });
        // The cluster CA is not in the browser's trust store: a person accepts the warning once, the test ignores it.
        await using var context = await browser.NewContextAsync(new BrowserNewContextOptions
        {
            IgnoreHTTPSErrors = true,
            ViewportSize = new ViewportSize { Width = 1600, Height = 1300 },
        });
        var page = await context.NewPageAsync();
        page.Console += (_, m) => { if (m.Type == "error") output.WriteLine($"browser console: {m.Text}"); };

        var token = WebViewToken.TryRead(cluster.DataDirectory);
        Assert.NotNull(token);
        await page.GotoAsync(WebViewToken.Url("https", cluster.ApiPort, token));

        // Signed in; the token left the address bar (it stays in the tab's sessionStorage).
        await Expect(page.Locator("#who")).ToHaveTextAsync(UserInfo.AdminName, Within(30));
        Assert.DoesNotContain(token!, page.Url);
        await Expect(page.Locator("[data-testid=zone]")).ToHaveCountAsync(2, new() { Timeout = 60_000 });
        await Expect(NodeStatus(page, "worker-a1")).ToHaveTextAsync("Ready", Within(60));
        await Expect(NodeStatus(page, "worker-b1")).ToHaveTextAsync("Ready", Within(60));
        var schedulerHost = page.Locator("[data-testid=singleton][data-name=scheduler] [data-testid=singleton-host]");
        await Expect(schedulerHost).ToHaveTextAsync(ControlPlaneNode, Within(60));
        await Expect(page.Locator("[data-testid=partition-host]").First).ToBeVisibleAsync(new() { Timeout = 60_000 });
        await Expect(page.Locator("[data-testid=actor-row]").First).ToBeVisibleAsync(new() { Timeout = 60_000 });
        await ScreenshotAsync(page, "01-zones-nodes-placement");

        // A pod appears after kubectl create, and runs.
        using var kubectlDir = new TempDir();
        var kubectl = new KubectlRunner(kubectlDir.Path);
        kubectl.UseKubeconfig(cluster.KubeconfigPath);
        var created = await kubectl.Run("create -f -", """
            apiVersion: v1
            kind: Pod
            metadata: { name: web-view-probe, namespace: default }
            spec: { containers: [ { name: echo, image: akkakube/echo } ] }
            """);
        Assert.True(created.Exit == 0, created.Err);
        await page.Locator("#pod-filter").FillAsync("web-view-probe");
        var podPhase = page.Locator("[data-testid=pod-row][data-name='default/web-view-probe'] [data-testid=pod-phase]");
        await Expect(podPhase).ToHaveTextAsync("Running", Within(120));
        await ScreenshotAsync(page, "02-pod-after-kubectl-create");

        // chaos kill-leader: the singletons move to a surviving control-plane node; the run is shaded on the timeline.
        var before = await schedulerHost.InnerTextAsync();
        var report = await FailoverSupport.Runner(cluster, 120).RunAsync(FaultKind.KillLeader, null, CancellationToken.None);
        output.WriteLine(report.ToText());
        Assert.Equal(before, Assert.Single(report.Targets));
        Assert.NotNull(report.RecordedAs);
        await Expect(schedulerHost).Not.ToHaveTextAsync(before, Within(120));
        await Expect(schedulerHost).ToHaveTextAsync(ControlPlaneNode, Within(60));
        await Expect(page.Locator("[data-testid=chaos-window]").First).ToBeAttachedAsync(new() { Timeout = 60_000 });
        await ScreenshotAsync(page, "03-singletons-moved-after-kill-leader");

        // A killed worker turns NotReady (its Lease stops, the node lifecycle controller marks it).
        var worker = cluster.Node("worker-b1");
        NodeProcesses.Signal(worker.Pid, NodeProcesses.SigKill);
        await page.Locator("#node-filter").FillAsync("worker-b1");
        await Expect(NodeStatus(page, "worker-b1")).ToHaveTextAsync("NotReady", Within(180));
        await Expect(page.Locator("[data-testid=nodes-notready]")).ToHaveTextAsync("1", Within(30));
        await ScreenshotAsync(page, "04-killed-worker-NotReady");
    }

    private static ILocator NodeStatus(IPage page, string node) =>
        page.Locator($"[data-testid=node-row][data-name='{node}'] [data-testid=node-status]");
}
