using Akka.Actor;
using Akka.Event;
using AkkaKube.Actors.Runtime;
using k8s.Models;

namespace AkkaKube.Actors.Kubelet;

/// <summary>Local messages between a <see cref="PodWorker"/> and its <see cref="ContainerActor"/>s.</summary>
public static class ContainerProtocol
{
    /// <summary>A fresh Container actor (first start or restart by the back-off supervisor) asks what to run.</summary>
    public sealed record WantLaunch(string Name);

    public sealed record Launch(ContainerLaunch Spec, V1Container Container, TimeSpan GracePeriod);

    /// <summary>The pod worker could not prepare the launch (e.g. CreateContainerConfigError): stop and be retried with back-off.</summary>
    public sealed class Retry { public static readonly Retry Instance = new(); }

    public sealed record Started(string Name, int Attempt, IRunningContainer Running);

    public sealed record StartFailed(string Name, string Reason, string Message);

    public sealed record Exited(string Name, int Attempt, TerminatedInfo Info, string? KilledBecause);

    /// <summary>The pod worker's answer to <see cref="Exited"/>: restart (stop and let the back-off supervisor restart) or stay ended.</summary>
    public sealed record ExitDecision(bool Restart);

    public sealed record ReadinessChanged(string Name, int Attempt, bool Ready);

    public sealed record StartupSucceeded(string Name, int Attempt);

    /// <summary>Stop the container: SIGTERM, then SIGKILL after Grace.</summary>
    public sealed record Terminate(TimeSpan Grace, string Reason);

    public sealed record ContainerEvent(string Name, string Type, string Reason, string Message);

    /// <summary>
    /// The pod worker's answer to <see cref="WantLaunch"/> when the runtime still runs this container (the previous
    /// actor or pod worker crashed or restarted): take it over instead of starting one; probes resume from
    /// <paramref name="Started"/>/<paramref name="Ready"/>.
    /// </summary>
    public sealed record Adopt(Launch Launch, IRunningContainer Running, bool Ready, bool Started);
}

/// <summary>
/// One container instance under a back-off supervisor: starts it through the runtime, runs its probes,
/// and reports start, readiness and exit to the pod worker. Stopping this actor (restart wanted) lets the
/// <c>BackoffSupervisor</c> start a fresh one after the back-off delay — the CrashLoopBackOff of Kubernetes.
/// <para>
/// Stopping this actor does not stop its container: the runtime keeps running it (and lists it), so the next actor
/// for the container re-adopts it (after a crash of this actor or a restart of its pod worker). The pod worker kills
/// what its pod still runs when it stops for good or its grace period is over.
/// </para>
/// </summary>
public sealed class ContainerActor : ReceiveActor, IWithTimers
{
    private const string KillTimer = "kill";
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly string _name;
    private readonly IActorRef _podWorker;
    private readonly IContainerRuntime _runtime;
    private ContainerProtocol.Launch? _launch;
    private IRunningContainer? _running;
    private bool _exited;
    private TimeSpan? _terminateGrace;
    private string? _killedBecause;
    private readonly Dictionary<ProbeKind, ProbeState> _probes = new();
    private bool _started;
    /// <summary>The running postStart or preStop hook (cancelled when the container ends or this actor stops).</summary>
    private CancellationTokenSource? _hook;
    private bool _preStopRun;
    private DateTime _preStopBegan;

    public ITimerScheduler Timers { get; set; } = null!;

    public ContainerActor(string name, IActorRef podWorker, IContainerRuntime runtime)
    {
        _name = name;
        _podWorker = podWorker;
        _runtime = runtime;
        AwaitingLaunch();
    }

    public static Props Props(string name, IActorRef podWorker, IContainerRuntime runtime) =>
        Akka.Actor.Props.Create(() => new ContainerActor(name, podWorker, runtime));

    private sealed record StartDone(IRunningContainer Running);
    private sealed record StartError(Exception Error);
    private sealed record ProcessExited(ContainerExit Exit);
    private sealed record ProbeTick(ProbeKind Kind);
    private sealed record ProbeDone(ProbeKind Kind, bool Success, string Message);
    private sealed class ForceKill { public static readonly ForceKill Instance = new(); }
    private sealed record HookDone(string Hook, bool Success, string Message);

    /// <summary>When a preStop hook overruns the grace period, the kubelet grants this much once before the kill.</summary>
    private static readonly TimeSpan PreStopExtension = TimeSpan.FromSeconds(2);

    protected override void PreStart() => _podWorker.Tell(new ContainerProtocol.WantLaunch(_name));

    private void AwaitingLaunch()
    {
        Receive<ContainerProtocol.Launch>(launch =>
        {
            _launch = launch;
            Task<IRunningContainer> start;
            try { start = PullAndStartAsync(launch.Spec, _podWorker); }
            catch (Exception e) { start = Task.FromException<IRunningContainer>(e); }
            start.PipeTo(Self, success: r => new StartDone(r), failure: e => new StartError(e.GetBaseException()));
            Become(Starting);
        });
        Receive<ContainerProtocol.Retry>(_ => Context.Stop(Self));
        // Remembered: a container adopted after this still gets its graceful stop.
        Receive<ContainerProtocol.Terminate>(t => _terminateGrace = t.Grace);
        Receive<ContainerProtocol.Adopt>(a =>
        {
            _launch = a.Launch;
            _running = a.Running;
            _running.Exited.PipeTo(Self, success: e => new ProcessExited(e));
            Become(Running);
            if (_terminateGrace is { } grace) BeginTerminate(grace);
            else ResumeProbes(a.Started, a.Ready);
        });
    }

    /// <summary>
    /// The kubelet's startContainer: the image first (runtimes with images: by the pull policy, with the pull's events),
    /// then the container. A pull that fails gives back the pod's set-up slot, as a failed start does in the runtime.
    /// </summary>
    private async Task<IRunningContainer> PullAndStartAsync(ContainerLaunch spec, IActorRef podWorker)
    {
        var name = _name;
        var runtime = _runtime;
        if (runtime is IImageService images)
        {
            try
            {
                await ImageManager.EnsureImageAsync(images, spec,
                    (type, reason, message) => podWorker.Tell(new ContainerProtocol.ContainerEvent(name, type, reason, message)));
            }
            catch
            {
                (runtime as IPodSandboxRuntime)?.SetUpFailed(spec.PodUid);
                throw;
            }
        }
        return await runtime.StartAsync(spec);
    }

    private void Starting()
    {
        Receive<StartDone>(done =>
        {
            _running = done.Running;
            _running.Exited.PipeTo(Self, success: e => new ProcessExited(e));
            if (_terminateGrace is null && _launch!.Container.Lifecycle?.PostStart is { } postStart)
            {
                // As the kubelet: the container is not reported started (nor probed) until its postStart hook returns.
                RunHook(LifecycleHooks.PostStart, postStart, Timeout.InfiniteTimeSpan);
                Become(PostStarting);
                return;
            }
            _podWorker.Tell(new ContainerProtocol.Started(_name, _launch!.Spec.Attempt, _running));
            Become(Running);
            if (_terminateGrace is { } grace) BeginTerminate(grace);
            else StartProbes();
        });
        Receive<StartError>(error =>
        {
            var (reason, message) = error.Error is ContainerStartException cse
                ? (cse.Reason, cse.Message)
                : (ContainerStartException.RunContainerError, error.Error.Message);
            if (error.Error is not ContainerStartException)
                _log.Warning(error.Error, "container {0} could not be started", _name); // unexpected: the stack is for whoever reads the log
            _podWorker.Tell(new ContainerProtocol.StartFailed(_name, reason, message));
            if (_terminateGrace is null) Context.Stop(Self);
            else Become(Idle);
        });
        Receive<ContainerProtocol.Terminate>(t => _terminateGrace = t.Grace);
    }

    /// <summary>Started by the runtime, its postStart hook running: a failed hook kills it (FailedPostStartHook).</summary>
    private void PostStarting()
    {
        Receive<HookDone>(done =>
        {
            _hook = null;
            _podWorker.Tell(new ContainerProtocol.Started(_name, _launch!.Spec.Attempt, _running!));
            Become(Running);
            if (done.Success)
            {
                StartProbes();
                return;
            }
            _log.Info("container {0}: {1}", _name, done.Message);
            _podWorker.Tell(new ContainerProtocol.ContainerEvent(_name, "Warning", "FailedPostStartHook", done.Message));
            _killedBecause = "failed its postStart hook";
            BeginTerminate(_launch.GracePeriod);
        });
        Receive<ProcessExited>(e =>
        {
            _podWorker.Tell(new ContainerProtocol.Started(_name, _launch!.Spec.Attempt, _running!));
            OnProcessExited(e);
        });
        Receive<ContainerProtocol.Terminate>(t =>
        {
            _hook?.Cancel();
            _hook = null;
            _podWorker.Tell(new ContainerProtocol.Started(_name, _launch!.Spec.Attempt, _running!));
            Become(Running);
            BeginTerminate(t.Grace);
        });
    }

    private void Running()
    {
        Receive<ProcessExited>(OnProcessExited);
        Receive<ContainerProtocol.Terminate>(t => BeginTerminate(t.Grace));
        Receive<ForceKill>(_ =>
        {
            _hook?.Cancel();
            _running?.Kill();
        });
        Receive<HookDone>(OnPreStopDone);
        Receive<ProbeTick>(tick => RunProbe(tick.Kind));
        Receive<ProbeDone>(OnProbeDone);
    }

    private void OnProcessExited(ProcessExited e)
    {
        _exited = true;
        _hook?.Cancel();
        _hook = null;
        Timers.CancelAll();
        var info = new TerminatedInfo(e.Exit.ExitCode, e.Exit.Reason, null, _running!.StartedAt, e.Exit.FinishedAt, _running.ContainerId, e.Exit.Signal);
        _podWorker.Tell(new ContainerProtocol.Exited(_name, _launch!.Spec.Attempt, info, _killedBecause));
        Become(AwaitingDecision);
    }

    private void AwaitingDecision()
    {
        Receive<ContainerProtocol.ExitDecision>(d =>
        {
            if (d.Restart) Context.Stop(Self);
            else Become(Idle);
        });
        Receive<ContainerProtocol.Terminate>(_ => Become(Idle));
    }

    private void Idle()
    {
        ReceiveAny(_ => { });
    }

    /// <summary>
    /// The kubelet's killContainer: the preStop hook first (within the grace period), then SIGTERM, then SIGKILL when the
    /// grace period is over. A hook that uses the whole period leaves the container a one-off 2 s after its SIGTERM.
    /// </summary>
    private void BeginTerminate(TimeSpan grace)
    {
        if (_terminateGrace is not null && Timers.IsTimerActive(KillTimer)) return;
        _terminateGrace = grace;
        Timers.CancelAll();
        if (grace <= TimeSpan.Zero)
        {
            _hook?.Cancel();
            _running!.Kill();
            return;
        }
        if (!_preStopRun && !_exited && _launch?.Container.Lifecycle?.PreStop is { } preStop)
        {
            _preStopRun = true;
            _preStopBegan = DateTime.UtcNow;
            RunHook(LifecycleHooks.PreStop, preStop, grace);
            Timers.StartSingleTimer(KillTimer, ForceKill.Instance, grace + PreStopExtension);
            return;
        }
        _running!.Terminate();
        Timers.StartSingleTimer(KillTimer, ForceKill.Instance, grace);
    }

    private void OnPreStopDone(HookDone done)
    {
        _hook = null;
        if (_exited || done.Hook != LifecycleHooks.PreStop) return;
        if (!done.Success)
        {
            _log.Info("container {0}: {1}", _name, done.Message);
            _podWorker.Tell(new ContainerProtocol.ContainerEvent(_name, "Warning", "FailedPreStopHook", done.Message));
        }
        var left = _terminateGrace!.Value - (DateTime.UtcNow - _preStopBegan);
        _running!.Terminate();
        Timers.StartSingleTimer(KillTimer, ForceKill.Instance, left > PreStopExtension ? left : PreStopExtension);
    }

    private void RunHook(string hook, V1LifecycleHandler handler, TimeSpan timeout)
    {
        _hook?.Cancel();
        var cts = _hook = new CancellationTokenSource();
        LifecycleHooks.RunAsync(hook, handler, _launch!.Container, _launch.Spec.PodName, _launch.Spec.PodIp, timeout, _runtime, _running!, cts.Token)
            .PipeTo(Self, success: r => new HookDone(hook, r.Success, r.Message), failure: e => new HookDone(hook, false, $"{hook} hook of container \"{_name}\" failed: {e.GetBaseException().Message}"));
    }

    protected override void PostStop() => _hook?.Cancel();

    // ---- probes ----

    private V1Probe? ProbeSpec(ProbeKind kind) => kind switch
    {
        ProbeKind.Startup => _launch!.Container.StartupProbe,
        ProbeKind.Liveness => _launch!.Container.LivenessProbe,
        _ => _launch!.Container.ReadinessProbe,
    };

    private void StartProbes()
    {
        if (!BeginProbe(ProbeKind.Startup, initial: false, afterInitialDelay: true)) AfterStartup();
    }

    /// <summary>Probes of an adopted process: startup again if it had not started, else liveness and readiness from where they were.</summary>
    private void ResumeProbes(bool started, bool ready)
    {
        if (!started)
        {
            StartProbes();
            return;
        }
        _started = true;
        // A re-adopted container is past its initial delays: probe on the next period.
        BeginProbe(ProbeKind.Liveness, initial: true, afterInitialDelay: false);
        BeginProbe(ProbeKind.Readiness, initial: ready, afterInitialDelay: false);
    }

    /// <summary>Starts probing <paramref name="kind"/> if the spec has such a probe; false when it has none.</summary>
    private bool BeginProbe(ProbeKind kind, bool initial, bool afterInitialDelay)
    {
        if (ProbeSpec(kind) is not { } spec) return false;
        var timing = ProbeTiming.From(spec, kind);
        _probes[kind] = new ProbeState(timing, initial);
        Schedule(kind, afterInitialDelay ? timing.InitialDelay : timing.Period);
        return true;
    }

    private void AfterStartup()
    {
        _started = true;
        _podWorker.Tell(new ContainerProtocol.StartupSucceeded(_name, _launch!.Spec.Attempt));
        BeginProbe(ProbeKind.Liveness, initial: true, afterInitialDelay: true);
        if (!BeginProbe(ProbeKind.Readiness, initial: false, afterInitialDelay: true))
            _podWorker.Tell(new ContainerProtocol.ReadinessChanged(_name, _launch.Spec.Attempt, true));
    }

    private void Schedule(ProbeKind kind, TimeSpan delay)
    {
        if (delay <= TimeSpan.Zero) Self.Tell(new ProbeTick(kind));
        else Timers.StartSingleTimer("probe-" + kind, new ProbeTick(kind), delay);
    }

    private void RunProbe(ProbeKind kind)
    {
        var spec = ProbeSpec(kind);
        if (spec is null || _running is null || _exited || _terminateGrace is not null) return;
        var timing = ProbeTiming.From(spec, kind);
        ProbeRunner.RunAsync(spec, _launch!.Container, _launch.Spec.PodIp, timing.Timeout, _runtime, _running)
            .PipeTo(Self, success: r => new ProbeDone(kind, r.Success, r.Message), failure: e => new ProbeDone(kind, false, e.Message));
    }

    private void OnProbeDone(ProbeDone done)
    {
        if (_exited || _terminateGrace is not null || !_probes.TryGetValue(done.Kind, out var state)) return;
        var spec = ProbeSpec(done.Kind)!;
        var timing = ProbeTiming.From(spec, done.Kind);
        var changed = state.Record(done.Success);
        if (!done.Success)
            _podWorker.Tell(new ContainerProtocol.ContainerEvent(_name, "Warning", "Unhealthy", $"{done.Kind} probe failed: {done.Message}"));
        switch (done.Kind)
        {
            case ProbeKind.Startup when changed && state.Result:
                _probes.Remove(ProbeKind.Startup);
                AfterStartup();
                return;
            case ProbeKind.Startup when !done.Success && state.ConsecutiveFailures >= timing.FailureThreshold:
                KillForProbe("failed startup probe");
                return;
            case ProbeKind.Liveness when changed && !state.Result:
                KillForProbe("failed liveness probe");
                return;
            case ProbeKind.Readiness when changed:
                _podWorker.Tell(new ContainerProtocol.ReadinessChanged(_name, _launch!.Spec.Attempt, state.Result));
                break;
        }
        Schedule(done.Kind, timing.Period);
    }

    private void KillForProbe(string why)
    {
        _killedBecause = why;
        _log.Info("container {0} {1}, will be restarted", _name, why);
        _podWorker.Tell(new ContainerProtocol.ContainerEvent(_name, "Normal", "Killing", $"Container {_name} {why}, will be restarted"));
        _podWorker.Tell(new ContainerProtocol.ReadinessChanged(_name, _launch!.Spec.Attempt, false));
        BeginTerminate(_launch.GracePeriod);
    }

    public bool IsStarted => _started;
}
