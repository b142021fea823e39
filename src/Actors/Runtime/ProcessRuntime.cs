using System.Diagnostics;
using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.InteropServices;

namespace AkkaKube.Actors.Runtime;

/// <summary>
/// Containers as real OS processes. Each container runs under a tiny shell shim started with
/// <c>setsid</c>, so the container's main process is the leader of its own session and process group
/// (PID = PGID). The shim first forks a watcher that blocks reading a pipe whose write end only the node
/// process holds (the container's stdin), then <c>exec</c>s the container command. When the node process
/// ends for any reason — including kill -9 — the kernel closes that pipe, the watcher reads EOF and
/// kills the whole process group. The kubelet closes the pipe itself when it is done with a container,
/// so no descendant outlives its container either. See docs/kubelet.md.
/// </summary>
public sealed class ProcessRuntime(RuntimeSettings settings) : IContainerRuntime
{
    /// <summary>The shim: watcher on fd 3 (dup of stdin), then exec the command with stdin from /dev/null.</summary>
    internal const string Shim =
        "exec 3<&0; (cat <&3 >/dev/null 2>&1; kill -KILL 0) >/dev/null 2>&1 </dev/null & exec \"$@\" </dev/null 3<&-";

    /// <summary>
    /// The shim of a container with stdin: true — the same lifeline, and the command's stdin is the FIFO named by the
    /// first argument (the kubelet holds it open for attach, see <see cref="ContainerStdin"/>).
    /// </summary>
    internal const string StdinShim =
        "exec 3<&0; f=$1; shift; (cat <&3 >/dev/null 2>&1; kill -KILL 0) >/dev/null 2>&1 </dev/null & exec \"$@\" <\"$f\" 3<&-";

    private readonly RunningContainers _running = new();

    public string Name => "process";

    public IReadOnlyList<IRunningContainer> List(string? podUid = null) => _running.Of(podUid);

    public Task<IRunningContainer> StartAsync(ContainerLaunch launch, CancellationToken ct = default)
    {
        var argv = ImageTable.Resolve(settings.Images, launch.Image, launch.Command, launch.Args)
                   ?? throw new ContainerStartException(ContainerStartException.ErrImagePull,
                       $"image \"{launch.Image}\" is not in the node's image table and the container has no command (add it under akkakube.runtime.images or set command)");
        var exe = argv[0];
        if (!exe.Contains('/') && FindInPath(exe) is null)
            throw new ContainerStartException(ContainerStartException.RunContainerError,
                $"exec: \"{exe}\": executable file not found in $PATH");
        if (exe.Contains('/') && !File.Exists(exe))
            throw new ContainerStartException(ContainerStartException.RunContainerError,
                $"exec: \"{exe}\": no such file or directory");
        if (SecurityRefusal(launch) is { } refusal)
            throw new ContainerStartException(ContainerStartException.CreateContainerConfigError, refusal);
        var workDir = string.IsNullOrEmpty(launch.WorkingDir) ? "/" : launch.WorkingDir;
        if (!Directory.Exists(workDir))
            throw new ContainerStartException(ContainerStartException.CreateContainerError,
                $"working directory \"{workDir}\" does not exist on the node");

        var psi = new ProcessStartInfo("setsid")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workDir,
        };
        // stdin: true — a FIFO beside the log file (not named like a rotated log), held open by the kubelet
        var stdin = launch.Stdin && launch.LogPath is { } logPath ? ContainerStdin.Create(Path.ChangeExtension(logPath, ".stdin"), launch.StdinOnce) : null;
        psi.ArgumentList.Add("sh");
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(stdin is null ? Shim : StdinShim);
        psi.ArgumentList.Add("akkakube-shim");
        if (stdin is not null) psi.ArgumentList.Add(stdin.Path);
        foreach (var a in argv) psi.ArgumentList.Add(a);
        psi.Environment.Clear();
        foreach (var (k, v) in BaseEnvironment(launch)) psi.Environment[k] = v;
        foreach (var (k, v) in launch.Env) psi.Environment[k] = v;

        var log = launch.LogPath is null ? null : new ContainerLogWriter(launch.LogPath, settings.LogMaxBytes, settings.LogMaxFiles);
        var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        var container = new ProcessContainer(launch, process, log, psi.Environment.ToDictionary(e => e.Key, e => e.Value ?? ""), workDir, stdin);
        try
        {
            if (!process.Start())
                throw new ContainerStartException(ContainerStartException.RunContainerError, "the process did not start");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            log?.Dispose();
            stdin?.Dispose();
            throw new ContainerStartException(ContainerStartException.RunContainerError, e.Message);
        }
        container.Started();
        _running.Track(container);
        return stdin is null ? Task.FromResult<IRunningContainer>(container) : StdinConnectedAsync(container, stdin, process.Id, ct);
    }

    /// <summary>
    /// A container with stdin is started once its process has the FIFO open: an attach that wrote and closed stdin
    /// (stdinOnce) before the shim opened it would lose the bytes and delete the FIFO under the shim ("cannot open").
    /// </summary>
    private static async Task<IRunningContainer> StdinConnectedAsync(IRunningContainer container, ContainerStdin stdin, int pid, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!stdin.IsOpenedBy(pid) && !container.Exited.IsCompleted && DateTime.UtcNow < deadline)
            await Task.Delay(2, ct);
        return container;
    }

    [DllImport("libc", EntryPoint = "geteuid")]
    private static extern uint GetEuid();

    /// <summary>
    /// What the process runtime cannot honour: it runs every container as the node process's user (it does not switch
    /// users), so runAsNonRoot is checked against that uid. It installs no seccomp filter: RuntimeDefault runs unfiltered,
    /// like every other isolation setting this runtime does not apply (no namespaces, no capabilities), so the manifests
    /// users bring — most set RuntimeDefault, as the restricted Pod Security level requires — start here; a Localhost
    /// profile names a file this kubelet does not have, and the kubelet refuses a missing profile.
    /// </summary>
    internal static string? SecurityRefusal(ContainerLaunch launch)
    {
        if (launch.Security is not { } security) return null;
        var euid = GetEuid();
        if (security.RunAsNonRoot && euid == 0 && security.RunAsUser is not null and not 0)
            return $"container has runAsNonRoot and would run as root: the process runtime runs containers as the node's user (uid 0) and cannot switch to runAsUser {security.RunAsUser} (pod: \"{launch.PodName}_{launch.Namespace}({launch.PodUid})\", container: {launch.ContainerName})";
        if (SecurityChecks.RunAsNonRootViolation(launch, euid, null) is { } violation) return violation;
        if (security.SeccompProfile is "Localhost")
            return "the process runtime cannot apply a Localhost seccomp profile: this kubelet has no seccomp profile directory (use RuntimeDefault or Unconfined)";
        return null;
    }

    private static Dictionary<string, string> BaseEnvironment(ContainerLaunch launch)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["PATH"] = Environment.GetEnvironmentVariable("PATH") ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            ["HOME"] = "/tmp",
            ["HOSTNAME"] = launch.PodName,
            ["POD_IP"] = launch.PodIp,
            ["AKKAKUBE_POD_NAME"] = launch.PodName,
            ["AKKAKUBE_POD_NAMESPACE"] = launch.Namespace,
            ["AKKAKUBE_NODE_NAME"] = launch.NodeName,
            ["AKKAKUBE_CONTAINER_NAME"] = launch.ContainerName,
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
            ["DOTNET_gcServer"] = "0",
        };
        if (launch.Port is { } port) env["PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        foreach (var name in new[] { "DOTNET_ROOT", "LANG", "TZ" })
            if (Environment.GetEnvironmentVariable(name) is { } v) env[name] = v;
        return env;
    }

    internal static string? FindInPath(string exe, string? path = null)
    {
        foreach (var dir in (path ?? Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var p = Path.Combine(dir, exe);
            if (File.Exists(p)) return p;
        }
        return null;
    }

    public async Task<ExecResult> ExecAsync(IRunningContainer container, IReadOnlyList<string> command, TimeSpan timeout, CancellationToken ct = default)
    {
        if (command.Count == 0) return new ExecResult(126, "empty exec command");
        var pc = container as ProcessContainer;
        var psi = new ProcessStartInfo("setsid")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = pc?.WorkDir ?? "/",
        };
        psi.ArgumentList.Add("sh");
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(Shim);
        psi.ArgumentList.Add("akkakube-exec");
        foreach (var a in command) psi.ArgumentList.Add(a);
        if (pc is not null)
        {
            psi.Environment.Clear();
            foreach (var (k, v) in pc.Environment) psi.Environment[k] = v;
        }
        using var p = new Process { StartInfo = psi };
        try
        {
            p.Start();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return new ExecResult(126, e.Message);
        }
        var output = p.StandardOutput.ReadToEndAsync(ct);
        var error = p.StandardError.ReadToEndAsync(ct);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout);
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            Signals.KillGroup(p.Id);
            p.StandardInput.Close();
            return new ExecResult(-1, $"command timed out after {timeout.TotalSeconds:0.###}s");
        }
        p.StandardInput.Close();
        var text = (await output) + (await error);
        return new ExecResult(p.ExitCode, text.Length > 4096 ? text[..4096] : text);
    }

    /// <summary>
    /// kubectl exec: the command as a host process with the container's environment and working directory, leader of its
    /// own process group (killed whole when the session ends). A terminal comes from util-linux <c>script</c> (a real pty:
    /// echo, line discipline, stderr merged); without it, or without a terminal asked, plain pipes.
    /// </summary>
    public Task<IExecProcess> OpenExecAsync(IRunningContainer container, ExecSpec spec, CancellationToken ct = default)
    {
        if (spec.Command.Count == 0) throw new StreamingUnavailableException("you must specify at least one command for the container");
        var pc = container as ProcessContainer;
        var env = pc?.Environment ?? new Dictionary<string, string>();
        var exe = spec.Command[0];
        if (!exe.Contains('/') && FindInPath(exe, env.GetValueOrDefault("PATH")) is null)
            throw new StreamingUnavailableException($"exec: \"{exe}\": executable file not found in $PATH");
        if (exe.Contains('/') && !File.Exists(exe))
            throw new StreamingUnavailableException($"exec: \"{exe}\": stat {exe}: no such file or directory");
        var tty = spec.Tty && FindInPath("script") is not null;
        var psi = new ProcessStartInfo("setsid")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = pc?.WorkDir is { } wd && Directory.Exists(wd) ? wd : "/",
        };
        if (tty)
        {
            // script runs its -c string with $SHELL -c: quote each argument for sh; -e returns the command's exit code.
            foreach (var a in new[] { "script", "-q", "-f", "-e", "-c", string.Join(' ', spec.Command.Select(ShellQuote)), "/dev/null" }) psi.ArgumentList.Add(a);
        }
        else
            foreach (var a in spec.Command) psi.ArgumentList.Add(a);
        psi.Environment.Clear();
        foreach (var (k, v) in env) psi.Environment[k] = v;
        if (tty) psi.Environment["SHELL"] = "/bin/sh";
        if (tty && !psi.Environment.ContainsKey("TERM")) psi.Environment["TERM"] = "xterm";
        var p = new Process { StartInfo = psi, EnableRaisingEvents = true };
        try
        {
            p.Start();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            p.Dispose();
            throw new StreamingUnavailableException(e.Message);
        }
        if (!spec.Stdin) p.StandardInput.Close();
        return Task.FromResult<IExecProcess>(new ExecProcess(p, spec.Stdin, tty));
    }

    /// <summary>
    /// kubectl attach: the container's output from now on (line by line, as the process runtime reads it for the log)
    /// and its stdin FIFO when it has one. Without a terminal: the process runtime gives containers pipes, not a pty.
    /// </summary>
    public Task<IExecProcess> OpenAttachAsync(IRunningContainer container, AttachSpec spec, CancellationToken ct = default)
    {
        if (container is not ProcessContainer pc) throw new StreamingUnavailableException("not a process container");
        return Task.FromResult<IExecProcess>(pc.Attach(spec));
    }

    internal static string ShellQuote(string s) =>
        s.Length > 0 && s.All(c => char.IsAsciiLetterOrDigit(c) || "-_./=:,@%+".Contains(c)) ? s : "'" + s.Replace("'", "'\\''") + "'";

    private sealed class ExecProcess : IExecProcess
    {
        private readonly Process _process;
        private readonly int _pid;
        private readonly TaskCompletionSource<int> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ExecProcess(Process process, bool stdin, bool tty)
        {
            _process = process;
            _pid = process.Id;
            Stdin = stdin ? process.StandardInput.BaseStream : null;
            Stdout = process.StandardOutput.BaseStream;
            Stderr = tty ? null : process.StandardError.BaseStream;
            if (tty) _ = process.StandardError.BaseStream.CopyToAsync(Stream.Null); // script writes nothing there; never block it
            process.Exited += (_, _) => _exited.TrySetResult(process.ExitCode);
            if (process.HasExited) _exited.TrySetResult(process.ExitCode);
        }

        public Stream? Stdin { get; }
        public Stream Stdout { get; }
        public Stream? Stderr { get; }
        public Task<int> Exited => _exited.Task;

        public void Kill()
        {
            if (!_exited.Task.IsCompleted) Signals.KillGroup(_pid);
        }

        public void Dispose()
        {
            Kill();
            _process.Dispose();
        }
    }

    private sealed class ProcessContainer : IRunningContainer
    {
        private readonly Process _process;
        private readonly ContainerLogWriter? _log;
        private readonly TaskCompletionSource<ContainerExit> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly object _gate = new();
        private bool _done;
        private int _pid;
        private string? _signal;

        private readonly ContainerStdin? _stdin;
        private readonly List<Attachment> _attached = [];
        private bool _drained; // the output after the exit reached the attach sessions; under the _attached lock
        private readonly TaskCompletionSource _stdoutEnd = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _stderrEnd = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ProcessContainer(ContainerLaunch launch, Process process, ContainerLogWriter? log, Dictionary<string, string> env, string workDir, ContainerStdin? stdin)
        {
            Launch = launch;
            _process = process;
            _log = log;
            _stdin = stdin;
            Environment = env;
            WorkDir = workDir;
            ContainerId = launch.ContainerId;
            ImageId = "akkakube://image/" + ImageTable.StripTag(launch.Image);
            process.OutputDataReceived += (_, e) => Output("stdout", e.Data);
            process.ErrorDataReceived += (_, e) => Output("stderr", e.Data);
            process.Exited += (_, _) => OnExited();
        }

        private void Output(string stream, string? line)
        {
            if (line is null)
            {
                (stream == "stderr" ? _stderrEnd : _stdoutEnd).TrySetResult();
                return;
            }
            _log?.Write(stream, line);
            Attachment[] attached;
            lock (_attached) attached = [.. _attached];
            if (attached.Length == 0) return;
            var bytes = System.Text.Encoding.UTF8.GetBytes(line + "\n");
            foreach (var a in attached) a.Write(stream == "stderr", bytes);
        }

        public IExecProcess Attach(AttachSpec spec)
        {
            var attachment = new Attachment(Detach, spec.Stdin ? _stdin?.Attach() : null, spec.Stderr);
            lock (_attached)
            {
                if (_drained) attachment.End();
                else _attached.Add(attachment);
            }
            return attachment;
        }

        private void Detach(Attachment a)
        {
            lock (_attached) _attached.Remove(a);
        }

        public ContainerLaunch Launch { get; }
        public Dictionary<string, string> Environment { get; }
        public string WorkDir { get; }
        public string ContainerId { get; }
        public int? Pid => _pid;
        public DateTimeOffset StartedAt { get; private set; }
        public string ImageId { get; }
        public Task<ContainerExit> Exited => _exited.Task;

        public void Started()
        {
            _pid = _process.Id;
            StartedAt = DateTimeOffset.UtcNow;
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
            if (_process.HasExited) OnExited();
        }

        private void OnExited()
        {
            int code;
            lock (_gate)
            {
                if (_done) return;
                _done = true;
                code = _process.ExitCode;
            }
            var finished = DateTimeOffset.UtcNow;
            // The main process is gone: the container is over. Closing the lifeline makes the watcher
            // kill whatever is left in the process group (as a container runtime kills the cgroup).
            CloseLifeline();
            _stdin?.Dispose();
            var reason = code == 0 ? "Completed" : "Error";
            var signal = code > 128 ? SignalName(code - 128) : null;
            _ = Task.Run(async () =>
            {
                // Let the stdout/stderr readers drain what the process wrote last: to their end of file (a child still
                // holding them open is not waited for beyond a moment), at least 50 ms as before. The attach sessions stay
                // attached meanwhile: the Exited event often comes before the reader's last lines (the attach flake was
                // exactly that — the list was emptied here first, so 'eof' / the last lines went to the log only).
                await Task.WhenAll(Task.Delay(50), Task.WhenAny(Task.WhenAll(_stdoutEnd.Task, _stderrEnd.Task), Task.Delay(2000)));
                Attachment[] attached;
                lock (_attached)
                {
                    _drained = true;
                    attached = [.. _attached];
                    _attached.Clear();
                }
                foreach (var a in attached) a.End();
                _log?.Dispose();
                _process.Dispose();
            });
            _exited.TrySetResult(new ContainerExit(code, reason, finished, signal ?? _signal));
        }

        private void CloseLifeline()
        {
            try { _process.StandardInput.Close(); } catch (Exception e) when (e is IOException or InvalidOperationException or ObjectDisposedException) { }
        }

        public void Terminate()
        {
            lock (_gate)
            {
                if (_done) return;
                _signal = "SIGTERM";
                Signals.Send(_pid, Signals.SigTerm);
            }
        }

        public void Kill()
        {
            lock (_gate)
            {
                if (_done) return;
                _signal = "SIGKILL";
                Signals.KillGroup(_pid);
            }
            CloseLifeline();
        }

        public ResourceUsage? Usage()
        {
            if (_done) return null;
            return ProcStat.Read(_pid);
        }

        private static string SignalName(int sig) => sig switch { 9 => "SIGKILL", 15 => "SIGTERM", 2 => "SIGINT", 6 => "SIGABRT", 11 => "SIGSEGV", _ => $"signal {sig}" };
    }
}

/// <summary>
/// One kubectl attach to a process container: output lines as they come (pipes the session reads), stdin to the
/// container's FIFO. Disposing detaches; the container ending ends the output and completes <see cref="Exited"/> with 0.
/// </summary>
internal sealed class Attachment : IExecProcess
{
    // never pauses: the container's output readers must not wait for a slow client (the session reads at its window)
    private static readonly PipeOptions Unpaused = new(pauseWriterThreshold: 0, resumeWriterThreshold: 0);
    private readonly object _gate = new();
    private readonly Action<Attachment> _detach;
    private readonly Pipe _stdout = new(Unpaused);
    private readonly Pipe? _stderr;
    private readonly ContainerStdin.Writer? _stdin;
    private readonly TaskCompletionSource<int> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _ended;

    public Attachment(Action<Attachment> detach, ContainerStdin.Writer? stdin, bool stderr)
    {
        _detach = detach;
        _stdin = stdin;
        if (stderr) _stderr = new Pipe(Unpaused);
        Stdout = _stdout.Reader.AsStream();
        Stderr = _stderr?.Reader.AsStream();
    }

    public Stream? Stdin => _stdin;
    public Stream Stdout { get; }
    public Stream? Stderr { get; }
    public Task<int> Exited => _exited.Task;

    /// <summary>A line of output (stderr lines go to stdout without a stderr stream, as on a terminal).</summary>
    public void Write(bool stderr, byte[] bytes)
    {
        lock (_gate)
        {
            if (_ended) return;
            var pipe = stderr && _stderr is not null ? _stderr : _stdout;
            pipe.Writer.Write(bytes);
            _ = pipe.Writer.FlushAsync(); // completes at once: the pipe never pauses
        }
    }

    /// <summary>The container ended (or this attach was detached): output ends, the session reports exit 0.</summary>
    public void End()
    {
        lock (_gate)
        {
            if (_ended) return;
            _ended = true;
            _stdout.Writer.Complete();
            _stderr?.Writer.Complete();
        }
        _exited.TrySetResult(0);
    }

    public void Kill() => Dispose();

    public void Dispose()
    {
        _detach(this);
        _stdin?.Dispose();
        End();
    }
}

/// <summary>
/// The stdin of a process container with stdin: true — a FIFO the container reads, which the kubelet keeps open
/// (O_RDWR, so opening never blocks and the container never reads end of file while no client is attached). Attach
/// sessions write to it; with stdinOnce, the first session that used it closes it when it ends (the container reads
/// end of file), as the kubelet does.
/// </summary>
internal sealed class ContainerStdin : IDisposable
{
    private readonly object _gate = new();
    private readonly bool _once;
    private FileStream? _fifo;

    private ContainerStdin(string path, bool once, FileStream fifo)
    {
        Path = path;
        _once = once;
        _fifo = fifo;
    }

    public string Path { get; }

    [DllImport("libc", EntryPoint = "mkfifo", SetLastError = true)]
    private static extern int MkFifo(string path, uint mode);

    public static ContainerStdin Create(string path, bool once)
    {
        System.IO.Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        File.Delete(path); // left by an earlier node process
        if (MkFifo(path, Convert.ToUInt32("600", 8)) != 0)
            throw new ContainerStartException(ContainerStartException.CreateContainerError, $"mkfifo {path}: errno {Marshal.GetLastWin32Error()}");
        var handle = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite);
        return new ContainerStdin(path, once, new FileStream(handle, FileAccess.Write, bufferSize: 0));
    }

    /// <summary>True once process <paramref name="pid"/> reads this FIFO as its stdin (its fd 0 names the FIFO).</summary>
    public bool IsOpenedBy(int pid)
    {
        try { return new FileInfo($"/proc/{pid}/fd/0").LinkTarget == Path; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; }
    }

    /// <summary>A writer for one attach session; null once stdin is closed (stdinOnce after its session).</summary>
    public Writer? Attach()
    {
        lock (_gate) return _fifo is null ? null : new Writer(this);
    }

    private void Write(ReadOnlySpan<byte> data)
    {
        FileStream? fifo;
        lock (_gate) fifo = _fifo;
        if (fifo is null) throw new IOException("the container's stdin is closed");
        fifo.Write(data);
    }

    private void SessionEnded()
    {
        if (_once) Dispose();
    }

    public void Dispose()
    {
        FileStream? fifo;
        lock (_gate)
        {
            fifo = _fifo;
            _fifo = null;
        }
        fifo?.Dispose();
        try { File.Delete(Path); } catch (IOException) { }
    }

    /// <summary>What an attach session writes to (a write-only stream); closing it ends this session's stdin.</summary>
    internal sealed class Writer(ContainerStdin stdin) : AkkaKube.Actors.ApiServer.Streaming.WriteOnlyStream
    {
        private int _closed;

        public override void Write(byte[] buffer, int offset, int count)
        {
            if (Volatile.Read(ref _closed) != 0) throw new IOException("stdin of this attach session is closed");
            stdin.Write(buffer.AsSpan(offset, count));
        }

        // a FIFO write blocks only while the container does not read; off the session's thread
        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken ct) =>
            Task.Run(() => Write(buffer, offset, count), ct);

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken ct = default) =>
            new(Task.Run(() =>
            {
                if (Volatile.Read(ref _closed) != 0) throw new IOException("stdin of this attach session is closed");
                stdin.Write(buffer.Span);
            }, ct));

        protected override void Dispose(bool disposing)
        {
            if (Interlocked.Exchange(ref _closed, 1) == 0) stdin.SessionEnded();
            base.Dispose(disposing);
        }
    }
}

/// <summary>POSIX signals through libc.</summary>
internal static class Signals
{
    public const int SigTerm = 15;
    public const int SigKill = 9;

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SysKill(int pid, int sig);

    public static bool Send(int pid, int sig) => pid > 0 && SysKill(pid, sig) == 0;

    /// <summary>SIGKILL to the process group led by <paramref name="pgid"/>.</summary>
    public static bool KillGroup(int pgid) => pgid > 0 && SysKill(-pgid, SigKill) == 0;
}

/// <summary>CPU and memory of a process from /proc.</summary>
public static class ProcStat
{
    private static readonly long PageSize = Environment.SystemPageSize;
    private const double TicksPerSecond = 100.0; // USER_HZ on Linux

    public static ResourceUsage? Read(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var close = stat.LastIndexOf(')');
            var fields = stat[(close + 2)..].Split(' ');
            // fields[0] is field 3 (state); utime = field 14, stime = 15, rss = 24.
            var utime = long.Parse(fields[11], System.Globalization.CultureInfo.InvariantCulture);
            var stime = long.Parse(fields[12], System.Globalization.CultureInfo.InvariantCulture);
            var rss = long.Parse(fields[21], System.Globalization.CultureInfo.InvariantCulture);
            return new ResourceUsage((utime + stime) / TicksPerSecond, rss * PageSize, DateTimeOffset.UtcNow);
        }
        catch (Exception e) when (e is IOException or FormatException or IndexOutOfRangeException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Process group ID of a process (field 5 of /proc/pid/stat), or -1.</summary>
    public static int ProcessGroupOf(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return int.Parse(fields[2], System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or FormatException or IndexOutOfRangeException)
        {
            return -1;
        }
    }
}
