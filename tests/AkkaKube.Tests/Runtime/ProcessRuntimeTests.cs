using System.Diagnostics;
using AkkaKube.Actors.Cluster;
using AkkaKube.Actors.Kubelet;
using AkkaKube.Actors.Runtime;
using AkkaKube.Tests.Infrastructure;

namespace AkkaKube.Tests.Runtime;

/// <summary>Real processes: the built-in echo image, signals, exit codes, logs, and process-group clean-up.</summary>
public sealed class ProcessRuntimeTests : IDisposable
{
    private static readonly HttpClient Http = new(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(5) };
    private readonly TempDir _dir = new();
    private readonly ProcessRuntime _runtime;
    private readonly List<IRunningContainer> _started = [];

    public ProcessRuntimeTests()
    {
        var config = NodeConfig.Load(Path.Combine(AppContext.BaseDirectory, "hocon", "worker.conf"));
        _runtime = new ProcessRuntime(KubeletSettings.Create(config).RuntimeSettings);
    }

    public void Dispose()
    {
        foreach (var c in _started) c.Kill();
        _dir.Dispose();
    }

    private static string PodIp() => $"127.64.{Random.Shared.Next(100, 250)}.{Random.Shared.Next(2, 250)}";

    private async Task<IRunningContainer> Start(string image, string ip, IReadOnlyList<string>? command = null, IReadOnlyList<KeyValuePair<string, string>>? env = null, int attempt = 0, bool stdin = false)
    {
        var launch = new ContainerLaunch
        {
            Namespace = "default", PodName = "p1", PodUid = "uid-1", NodeName = "node-t", ContainerName = "c",
            Image = image, Command = command ?? [], Env = env ?? [], PodIp = ip, Port = 8080, Attempt = attempt,
            LogPath = ContainerLogPaths.File(_dir.Path, "default", "p1", "uid-1", "c", attempt),
            Stdin = stdin, StdinOnce = stdin,
        };
        var c = await _runtime.StartAsync(launch);
        _started.Add(c);
        return c;
    }

    private static async Task<string> GetUntilAnswered(string url)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            try { return await Http.GetStringAsync(url); }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline) { await Task.Delay(50); }
        }
    }

    private static bool Alive(int pid) => File.Exists($"/proc/{pid}/stat") && !File.ReadAllText($"/proc/{pid}/stat").Contains(") Z ");

    [Fact]
    public async Task The_echo_image_answers_on_the_pods_own_ip_with_pod_and_node_names()
    {
        var ip = PodIp();
        var c = await Start("akkakube/echo", ip);
        var body = await GetUntilAnswered($"http://{ip}:8080/hello");
        Assert.Contains("pod=p1", body);
        Assert.Contains($"ip={ip}", body);
        Assert.Contains("node=node-t", body);
        Assert.Contains("path=/hello", body);
        Assert.Equal(c.Pid, ProcStat.ProcessGroupOf(c.Pid!.Value));
        Assert.NotNull(c.Usage());
    }

    [Fact]
    public async Task Sigterm_stops_the_echo_gracefully_with_exit_code_0_and_its_output_is_in_the_log()
    {
        var ip = PodIp();
        var c = await Start("akkakube/echo", ip);
        await GetUntilAnswered($"http://{ip}:8080/logged");
        c.Terminate();
        var exit = await c.Exited.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(0, exit.ExitCode);
        Assert.Equal("Completed", exit.Reason);
        var path = ContainerLogPaths.File(_dir.Path, "default", "p1", "uid-1", "c", 0);
        string text = "";
        for (var i = 0; i < 100 && !text.Contains("SIGTERM"); i++)
        {
            await Task.Delay(50);
            text = string.Join("\n", ContainerLogReader.ReadAll(path, null, null).Lines.Select(l => l.Text));
        }
        Assert.Contains("GET /logged", text);
        Assert.Contains("received SIGTERM", text);
    }

    [Fact]
    public async Task A_process_that_ignores_sigterm_is_ended_by_sigkill_with_exit_code_137()
    {
        var ip = PodIp();
        var c = await Start("akkakube/echo", ip, env: [new("ECHO_IGNORE_SIGTERM", "1")]);
        await GetUntilAnswered($"http://{ip}:8080/");
        c.Terminate();
        await Task.Delay(300);
        Assert.False(c.Exited.IsCompleted);
        c.Kill();
        var exit = await c.Exited.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(137, exit.ExitCode);
        Assert.Equal("Error", exit.Reason);
    }

    [Fact]
    public async Task The_crash_path_exits_with_code_1()
    {
        var ip = PodIp();
        var c = await Start("akkakube/echo", ip);
        await GetUntilAnswered($"http://{ip}:8080/");
        try { await Http.GetStringAsync($"http://{ip}:8080/crash"); } catch (HttpRequestException) { }
        var exit = await c.Exited.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(1, exit.ExitCode);
    }

    [Fact]
    public async Task An_unknown_image_without_a_command_is_ErrImagePull_and_nothing_runs()
    {
        var e = await Assert.ThrowsAsync<ContainerStartException>(() => Start("example.com/nothing:1.0", PodIp()));
        Assert.Equal("ErrImagePull", e.Reason);
        var e2 = await Assert.ThrowsAsync<ContainerStartException>(() => Start("busybox", PodIp(), command: ["no-such-binary-here"]));
        Assert.Equal("RunContainerError", e2.Reason);
    }

    [Fact]
    public async Task When_the_main_process_exits_its_background_children_are_killed_too()
    {
        var pidFile = Path.Combine(_dir.Path, "child.pid");
        var c = await Start("busybox", PodIp(), command: ["sh", "-c", $"sleep 300 & echo $! > {pidFile}; sleep 0.3; exit 3"]);
        var exit = await c.Exited.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(3, exit.ExitCode);
        var child = int.Parse((await File.ReadAllTextAsync(pidFile)).Trim());
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (Alive(child) && DateTime.UtcNow < deadline) await Task.Delay(50);
        Assert.False(Alive(child), $"background child {child} survived its container");
    }

    [Fact]
    public async Task An_exec_command_runs_with_the_containers_environment()
    {
        var c = await Start("akkakube/pause", PodIp(), env: [new("MARK", "42")]);
        var ok = await _runtime.ExecAsync(c, ["sh", "-c", "test \"$MARK\" = 42"], TimeSpan.FromSeconds(10));
        Assert.Equal(0, ok.ExitCode);
        var bad = await _runtime.ExecAsync(c, ["false"], TimeSpan.FromSeconds(10));
        Assert.NotEqual(0, bad.ExitCode);
        var slow = await _runtime.ExecAsync(c, ["sleep", "30"], TimeSpan.FromMilliseconds(300));
        Assert.Equal(-1, slow.ExitCode);
        c.Terminate();
        // 0 once pause handles SIGTERM; 143 (128 + SIGTERM) if the signal lands before the .NET process registered its handler.
        Assert.Contains((await c.Exited.WaitAsync(TimeSpan.FromSeconds(20))).ExitCode, new[] { 0, 143 });
    }

    /// <summary>
    /// The attach flake's cause: the Exited event often comes before the output reader's last lines, and the attach
    /// sessions were detached at the exit, so the lines written just before it ('eof') reached the log only. Twenty short
    /// containers make the race near certain with the old code.
    /// </summary>
    [Fact]
    public async Task An_attach_session_gets_every_line_the_container_wrote_before_it_exited()
    {
        for (var i = 0; i < 20; i++)
        {
            var c = await Start("busybox", PodIp(), command: ["sh", "-c", "while read l; do echo \"got $l\"; done; echo eof; echo err-eof >&2"], attempt: i, stdin: true);
            using var session = await _runtime.OpenAttachAsync(c, new AttachSpec(Stdin: true, Stdout: true, Stderr: true, Tty: false));
            var output = new StreamReader(session.Stdout).ReadToEndAsync();
            var errors = new StreamReader(session.Stderr!).ReadToEndAsync();
            await session.Stdin!.WriteAsync("a\nb\n"u8.ToArray());
            session.Stdin.Close(); // stdinOnce: the container reads end of file
            Assert.Equal("got a\ngot b\neof\n", await output.WaitAsync(TimeSpan.FromSeconds(20)));
            Assert.Equal("err-eof\n", await errors.WaitAsync(TimeSpan.FromSeconds(20)));
            Assert.Equal(0, await session.Exited.WaitAsync(TimeSpan.FromSeconds(20)));
        }
    }

    /// <summary>The process runtime runs containers as the node's user and installs no seccomp filter: it refuses a Localhost profile and runAsNonRoot on a root node, and runs RuntimeDefault unfiltered.</summary>
    [Fact]
    public async Task RunAsNonRoot_and_a_seccomp_filter_are_refused_where_the_process_runtime_cannot_honour_them()
    {
        ContainerLaunch Launch(ContainerSecurity security) => new()
        {
            Namespace = "default", PodName = "p1", PodUid = "uid-1", NodeName = "node-t", ContainerName = "c",
            Image = "busybox", Command = ["true"], PodIp = PodIp(), Security = security,
        };
        var seccomp = await Assert.ThrowsAsync<ContainerStartException>(() => _runtime.StartAsync(Launch(new ContainerSecurity { SeccompProfile = "Localhost" })));
        Assert.Equal("CreateContainerConfigError", seccomp.Reason);
        Assert.Contains("cannot apply a Localhost seccomp profile", seccomp.Message);
        // RuntimeDefault (what most manifests set) starts, unfiltered, as this runtime applies no isolation.
        var started = await _runtime.StartAsync(Launch(new ContainerSecurity { SeccompProfile = "RuntimeDefault" }));
        Assert.Equal(0, (await started.Exited.WaitAsync(TimeSpan.FromSeconds(30))).ExitCode);
        if (Environment.UserName != "root") return; // as another user, the container would not run as root: it starts
        var root = await Assert.ThrowsAsync<ContainerStartException>(() => _runtime.StartAsync(Launch(new ContainerSecurity { RunAsNonRoot = true })));
        Assert.Equal("CreateContainerConfigError", root.Reason);
        Assert.Equal("container has runAsNonRoot and image will run as root (pod: \"p1_default(uid-1)\", container: c)", root.Message);
    }
}
