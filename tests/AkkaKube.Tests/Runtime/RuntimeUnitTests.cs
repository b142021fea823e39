using Akka.Configuration;
using AkkaKube.Actors.Cluster;
using AkkaKube.Actors.Kubelet;
using AkkaKube.Actors.Runtime;
using AkkaKube.Tests.Infrastructure;

namespace AkkaKube.Tests.Runtime;

public sealed class RuntimeUnitTests
{
    private static Config WorkerConf() => NodeConfig.Load(Path.Combine(AppContext.BaseDirectory, "hocon", "worker.conf"));

    [Fact]
    public void The_shipped_defaults_load_with_kubernetes_like_back_off_and_the_built_in_images()
    {
        var s = KubeletSettings.Create(WorkerConf());
        Assert.Equal("process", s.Runtime);
        Assert.Equal(TimeSpan.FromSeconds(10), s.Backoff.Min);
        Assert.Equal(TimeSpan.FromSeconds(300), s.Backoff.Max);
        Assert.Equal(TimeSpan.FromMinutes(10), s.Backoff.ResetAfter);
        Assert.Equal(TimeSpan.FromSeconds(2), s.LeaseInterval);
        Assert.Equal(110, s.CapacityPods);
        Assert.Contains("akkakube/echo", s.RuntimeSettings.Images.Keys);
        Assert.Contains("akkakube/pause", s.RuntimeSettings.Images.Keys);
    }

    [Theory]
    [InlineData("akkakube.kubelet.runtime = docker", "akkakube.kubelet.runtime")]
    [InlineData("akkakube.kubelet.backoff.min = 0s", "akkakube.kubelet.backoff.min")]
    [InlineData("akkakube.kubelet.capacity.pods = 0", "akkakube.kubelet.capacity.pods")]
    [InlineData("akkakube.kubelet.capacity.cpu = lots", "akkakube.kubelet.capacity.cpu")]
    [InlineData("akkakube.runtime.images { \"x/y\" { command = [] } }", "akkakube.runtime.images")]
    public void Bad_settings_are_refused_with_a_message_naming_the_option(string hocon, string option)
    {
        var config = ConfigurationFactory.ParseString(hocon).WithFallback(WorkerConf());
        var e = Assert.Throws<ConfigurationException>(() => KubeletSettings.Create(config));
        Assert.Contains(option, e.Message);
    }

    [Fact]
    public void The_image_table_can_be_extended_in_hocon_and_matches_images_with_or_without_tags()
    {
        var config = ConfigurationFactory.ParseString("akkakube.runtime.images { \"web/app\" { command = [\"sh\", \"-c\"], args = [\"echo hi\"] } }").WithFallback(WorkerConf());
        var images = RuntimeSettings.Create(config).Images;
        Assert.Equal(["sh", "-c", "echo hi"], ImageTable.Resolve(images, "web/app:1.2", [], []));
        Assert.Equal(["sh", "-c", "other"], ImageTable.Resolve(images, "web/app", [], ["other"]));
        Assert.Equal(["run"], ImageTable.Resolve(images, "busybox", ["run"], []));
        Assert.Null(ImageTable.Resolve(images, "busybox", [], []));
        Assert.Contains("run-image", ImageTable.Resolve(images, "akkakube/echo:latest", [], [])!);
        Assert.Equal("registry:5000/a/b", ImageTable.StripTag("registry:5000/a/b:v1"));
    }

    [Fact]
    public void Log_files_rotate_by_size_and_read_back_oldest_first_with_tail_and_timestamps()
    {
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, "c", "0.log");
        using (var w = new ContainerLogWriter(path, maxBytes: 1024, maxFiles: 2))
            for (var i = 0; i < 40; i++) w.Write(i % 2 == 0 ? "stdout" : "stderr", $"line {i:00} " + new string('x', 20));
        Assert.True(File.Exists(path + ".1"));
        Assert.False(File.Exists(path + ".3"));
        var (lines, _) = ContainerLogReader.ReadAll(path, null, null);
        Assert.Equal("line 39", lines[^1].Text[..7]);
        var numbers = lines.Select(l => int.Parse(l.Text[5..7])).ToList();
        Assert.Equal(numbers.OrderBy(n => n), numbers);
        var (tail, _) = ContainerLogReader.ReadAll(path, 3, null);
        Assert.Equal(["line 37", "line 38", "line 39"], tail.Select(l => l.Text[..7]));
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z line 39", tail[^1].Format(timestamps: true));
        Assert.Equal(tail[^1].Text + "\n", tail[^1].Format(timestamps: false));
    }

    [Fact]
    public void Pod_ips_skip_the_network_gateway_and_broadcast_addresses_and_are_reused_last()
    {
        var a = new PodIpAllocator("127.64.3.0/24");
        var ips = Enumerable.Range(0, 253).Select(i => a.Allocate($"u{i}")).ToList();
        Assert.All(ips, ip => Assert.NotNull(ip));
        Assert.Equal(253, ips.Distinct().Count());
        Assert.DoesNotContain("127.64.3.0", ips);
        Assert.DoesNotContain("127.64.3.1", ips);
        Assert.DoesNotContain("127.64.3.255", ips);
        Assert.Null(a.Allocate("one-too-many"));
        Assert.Equal(ips[0], a.Allocate("u0"));
        a.Release("u5");
        Assert.Equal(ips[5], a.Allocate("new"));
        var b = new PodIpAllocator("127.64.4.0/24");
        Assert.Equal("127.64.4.77", b.Allocate("x", preferred: "127.64.4.77"));
        Assert.NotEqual("127.64.4.77", b.Allocate("y", preferred: "127.64.4.77"));
        b.Release("x");
        Assert.NotEqual("127.64.4.77", b.Allocate("z"));
    }

    [Theory]
    [InlineData("Always", false, 0, true)]
    [InlineData("Always", false, 1, true)]
    [InlineData("OnFailure", false, 0, false)]
    [InlineData("OnFailure", false, 2, true)]
    [InlineData("Never", false, 1, false)]
    [InlineData("Always", true, 0, false)]
    [InlineData("Always", true, 1, true)]
    [InlineData("Never", true, 1, false)]
    public void Restart_rules_follow_kubernetes(string policy, bool init, int exitCode, bool restart) =>
        Assert.Equal(restart, RestartRules.ShouldRestart(policy, init, exitCode, podTerminating: false));

    [Fact]
    public void A_terminating_pod_never_restarts_a_container() =>
        Assert.False(RestartRules.ShouldRestart("Always", false, 1, podTerminating: true));

    [Fact]
    public void Probe_state_needs_the_configured_number_of_consecutive_results()
    {
        var s = new ProbeState(new ProbeTiming(TimeSpan.Zero, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1), 2, 3), initial: false);
        Assert.False(s.Record(true));
        Assert.True(s.Record(true));
        Assert.True(s.Result);
        Assert.False(s.Record(false));
        Assert.False(s.Record(false));
        Assert.True(s.Record(false));
        Assert.False(s.Result);
    }

    [Fact]
    public async Task The_simulated_runtime_starts_after_its_stage_delay_on_the_given_clock_and_can_exit()
    {
        using var system = Akka.Actor.ActorSystem.Create("sim", "akka.scheduler.implementation = \"Akka.TestKit.TestScheduler, Akka.TestKit\"");
        var scheduler = (Akka.TestKit.TestScheduler)system.Scheduler;
        var settings = new RuntimeSettings
        {
            SimulatedStages =
            [
                new SimulatedStage("crash*", TimeSpan.FromSeconds(1), TimeSpan.Zero, TimeSpan.FromSeconds(5), 1, false),
                new SimulatedStage("*", TimeSpan.FromSeconds(2), TimeSpan.Zero, null, 0, false),
            ],
        };
        var runtime = new SimulatedRuntime(settings, scheduler);
        ContainerLaunch L(string image) => new() { Namespace = "d", PodName = "p", PodUid = "u", NodeName = "n", ContainerName = "c", Image = image, PodIp = "127.64.0.2" };
        var crash = runtime.StartAsync(L("crashy"));
        var run = runtime.StartAsync(L("web"));
        Assert.False(crash.IsCompleted);
        scheduler.Advance(TimeSpan.FromSeconds(1));
        Assert.True(crash.IsCompleted);
        Assert.False(run.IsCompleted);
        scheduler.Advance(TimeSpan.FromSeconds(1));
        Assert.True(run.IsCompleted);
        scheduler.Advance(TimeSpan.FromSeconds(4));
        var crashed = await crash;
        Assert.True(crashed.Exited.IsCompleted);
        Assert.Equal(1, (await crashed.Exited).ExitCode);
        Assert.False((await run).Exited.IsCompleted);
    }
}
