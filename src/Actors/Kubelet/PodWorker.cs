using System.Collections.Immutable;
using System.Text.Json.Nodes;
using Akka.Actor;
using Akka.Event;
using Akka.Pattern;
using AkkaKube.Actors.ApiServer.Registry.Core;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Runtime;
using k8s;
using k8s.Models;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.Kubelet;

/// <summary>
/// One pod on this node (/user/kubelet/pods/pod-&lt;uid&gt;), an explicit state machine (<see cref="PodWorkerState"/>):
/// init containers in order (Initializing), then the containers, each under a BackoffSupervisor (Running, with
/// CrashLoopBackOff); Completed when the pod is Succeeded/Failed; Terminating on deletion (graceful, bounded by a
/// deadline); Terminated while the pod object is removed. Status goes through a <see cref="PodStatusWriter"/> child.
/// <para>
/// Supervision (`akkakube chaos crash-actor`): a crashed worker is restarted in place and enters Adopting. Akka restarts
/// its surviving children too (each container's back-off supervisor, whose new container actor asks to launch); the
/// runtime still runs the containers (<see cref="IContainerRuntime.List"/>), so each is re-adopted by ID, without a
/// restart. Restart counts, last states and condition times come back from the pod status it wrote. What the runtime
/// runs for the pod that no container actor adopted within the hand-over window is killed.
/// A stopped worker (`chaos stop-actor`) kills its containers; the pod manager re-creates it from its informer cache.
/// </para>
/// </summary>
public sealed class PodWorker : ReceiveActor, IWithTimers, IWithStash, Chaos.ITakesInjectedCrashes, Chaos.IRecreatedWhenStopped
{
    /// <summary>The worker's timers (one timer per name).</summary>
    public static class TimerNames
    {
        /// <summary>Coalesces status changes into one write.</summary>
        public const string StatusFlush = "status-flush";
        /// <summary>Adopting ends at the latest this long after the restart, even if a container actor did not ask yet.</summary>
        public const string AdoptTimeout = "adopt-timeout";
        /// <summary>After a restart: what the runtime runs for the pod and nobody adopted by then is killed.</summary>
        public const string Handover = "handover";
        /// <summary>Terminating: grace period + 5 s, then containers are killed.</summary>
        public const string TerminationDeadline = "termination-deadline";
        /// <summary>Preparing: the next try after a failed sandbox creation.</summary>
        public const string SandboxRetry = "sandbox-retry";
        /// <summary>The projected ServiceAccount tokens are rewritten at 80% of their lifetime (Kubernetes' token manager).</summary>
        public const string TokenRefresh = "token-refresh";
    }

    public const string RecreatedPrefix = "re-created by the kubelet from its pod cache";
    private static readonly TimeSpan AdoptTimeout = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan HandoverWindow = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan DeadlineSlack = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan SandboxRetryDelay = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan TokenRefreshRetry = TimeSpan.FromSeconds(10);

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly PodWorkerContext _ctx;
    /// <summary>The pod IP: the kubelet's allocation, or (sandbox runtimes) the sandbox's once Preparing is over.</summary>
    private string? _podIp;
    private readonly string _ns;
    private readonly string _name;
    private readonly string _uid;
    private readonly bool _recreated;
    private readonly List<ContainerState> _init = [];
    private readonly List<ContainerState> _main = [];
    /// <summary>Ephemeral containers (kubectl debug), added while the pod runs; started once, never restarted.</summary>
    private readonly List<ContainerState> _ephemeral = [];
    private readonly Dictionary<string, V1Container> _specs = new(StringComparer.Ordinal);
    /// <summary>Back-off supervisor of each container with an actor (children named by container).</summary>
    private readonly Dictionary<string, IActorRef> _supervisors = new(StringComparer.Ordinal);
    /// <summary>Containers whose launch is prepared or under way (asked, not yet Started/StartFailed).</summary>
    private readonly HashSet<string> _launching = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _crashStreak = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<IActorRef>> _followers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> _transitions = new(StringComparer.Ordinal);
    private readonly List<string> _adopted = [];
    private IActorRef _statusWriter = ActorRefs.Nobody;
    private JsonObject _podJson;
    private V1Pod _pod;
    private DateTimeOffset _startTime = DateTimeOffset.UtcNow;
    private readonly KubeletMetrics.PodStart _startMetric;
    private PodWorkerState _state = PodWorkerState.Initializing;
    private string _resynced = "started";
    /// <summary>Re-created: reported in <see cref="_resynced"/> once a stored status shows every container running and ready.</summary>
    private bool _reportWhenReady;

    public ITimerScheduler Timers { get; set; } = null!;
    public IStash Stash { get; set; } = null!;

    /// <param name="recreated">re-created by the pod manager after the previous worker stopped unasked: restart counts continue from the pod status.</param>
    public PodWorker(JsonObject pod, string podIp, PodWorkerContext ctx, bool recreated = false)
    {
        _ctx = ctx;
        _recreated = recreated;
        _podIp = ctx.Runtime is IPodSandboxRuntime ? null : podIp; // a sandbox's IP comes from its network namespace
        _podJson = pod;
        _pod = KubernetesJson.Deserialize<V1Pod>(pod.ToJsonString());
        _ns = _pod.Metadata?.NamespaceProperty ?? "default";
        _name = _pod.Metadata?.Name ?? "";
        _uid = _pod.Metadata?.Uid ?? "";
        _startMetric = new KubeletMetrics.PodStart(_ns, _name);
        foreach (var c in _pod.Spec?.InitContainers ?? [])
        {
            _init.Add(new ContainerState(c.Name, c.Image ?? "", isInit: true) { WaitingReason = "PodInitializing", IsSidecar = c.RestartPolicy == "Always" });
            _specs[c.Name] = c;
        }
        foreach (var c in _pod.Spec?.Containers ?? [])
        {
            _main.Add(new ContainerState(c.Name, c.Image ?? "", isInit: false) { WaitingReason = _init.Count > 0 ? "PodInitializing" : "ContainerCreating" });
            _specs[c.Name] = c;
        }
        AddEphemeralContainers();
    }

    /// <summary>
    /// The pod's ephemeral containers the worker does not know yet (kubectl debug patches them in while the pod runs) get
    /// a state and a spec (an ephemeral container is a container without ports, probes or resources); returns them.
    /// </summary>
    private List<ContainerState> AddEphemeralContainers()
    {
        var added = new List<ContainerState>();
        foreach (var ec in _pod.Spec?.EphemeralContainers ?? [])
        {
            if (_specs.ContainsKey(ec.Name)) continue;
            var spec = KubernetesJson.Deserialize<V1Container>(KubernetesJson.Serialize(ec));
            var state = new ContainerState(ec.Name, ec.Image ?? "", isInit: false) { IsEphemeral = true, WillRestart = false };
            _specs[ec.Name] = spec;
            _targets[ec.Name] = ec.TargetContainerName;
            _ephemeral.Add(state);
            added.Add(state);
            // after a worker restart, its container actor survived under its name
            var child = Context.Child(ec.Name);
            if (!child.IsNobody()) _supervisors[ec.Name] = child;
        }
        return added;
    }

    public static Props Props(JsonObject pod, string podIp, PodWorkerContext ctx, bool recreated = false) =>
        Akka.Actor.Props.Create(() => new PodWorker(pod, podIp, ctx, recreated));

    public PodWorkerState State => _state;

    private sealed record AdoptingData(ImmutableHashSet<string> AwaitingLaunch, bool GotPod, PodWorkerProtocol.PodRemoved? Removed);
    private sealed record TerminatingData(TimeSpan Grace, bool RemoveObject);
    private sealed record LaunchReady(string Name, IActorRef Container, ContainerProtocol.Launch Launch, DateTimeOffset? RefreshTokensAt = null);
    private sealed class RefreshTokens { public static readonly RefreshTokens Instance = new(); }
    private sealed record TokensRefreshed(DateTimeOffset? Next);
    private sealed record LaunchFailed(string Name, IActorRef Container, string Message);
    private sealed class Flush { public static readonly Flush Instance = new(); }
    private sealed class Deadline { public static readonly Deadline Instance = new(); }
    private sealed class ObjectRemoved { public static readonly ObjectRemoved Instance = new(); }
    private sealed class AdoptDone { public static readonly AdoptDone Instance = new(); }
    private sealed class HandoverDone { public static readonly HandoverDone Instance = new(); }
    private sealed record SandboxReady(PodSandbox Sandbox);
    private sealed record SandboxFailed(string Message);
    private sealed class RetrySandbox { public static readonly RetrySandbox Instance = new(); }

    private IEnumerable<ContainerState> All => _init.Concat(_main).Concat(_ephemeral);
    /// <summary>Each ephemeral container's targetContainerName (cri: it joins that container's process namespace).</summary>
    private readonly Dictionary<string, string?> _targets = new(StringComparer.Ordinal);
    private ContainerState? Find(string name) => All.FirstOrDefault(c => c.Name == name);
    private string RestartPolicy => _pod.Spec?.RestartPolicy ?? "Always";
    private bool Initialized => _init.All(c => c.InitDone);

    /// <summary>True when spec and metadata are equal, resourceVersion and managedFields aside.</summary>
    internal static bool SameSpecAndMetadata(JsonObject a, JsonObject b)
    {
        if (!JsonNode.DeepEquals(a["spec"], b["spec"])) return false;
        var ma = a["metadata"] as JsonObject;
        var mb = b["metadata"] as JsonObject;
        if (ma is null || mb is null) return ma is null && mb is null;
        static bool Skipped(string key) => key is "resourceVersion" or "managedFields";
        foreach (var (k, v) in ma)
            if (!Skipped(k) && (!mb.TryGetPropertyValue(k, out var w) || !JsonNode.DeepEquals(v, w))) return false;
        foreach (var (k, _) in mb)
            if (!Skipped(k) && !ma.ContainsKey(k)) return false;
        return true;
    }

    // ---- life cycle of the actor ----

    protected override void PreStart()
    {
        _statusWriter = Context.ActorOf(PodStatusWriter.Props(_ctx.Api, _ns, _name));
        if (_recreated)
        {
            // The previous worker stopped and took its containers with it (as a lost pod sandbox): they all start again,
            // init containers first, counting on from the status.
            var status = _podJson["status"] as JsonObject;
            PodStatusRestore.Apply(_init, status?["initContainerStatuses"] as JsonArray);
            PodStatusRestore.Apply(_main, status?["containerStatuses"] as JsonArray);
            PodStatusRestore.Apply(_ephemeral, status?["ephemeralContainerStatuses"] as JsonArray);
            foreach (var c in _init.Concat(_main)) // an ephemeral container that ended with the old worker stays ended
            {
                c.Phase = ContainerPhase.Waiting;
                c.WaitingReason = "ContainerCreating";
                c.WaitingMessage = null;
                c.WillRestart = true;
                c.Ready = c.Started = false;
            }
            if (PodStatusRestore.Time(status?["startTime"]) is { } started) _startTime = started;
            _resynced = $"{RecreatedPrefix}; starting its containers again";
            _reportWhenReady = true;
        }
        else if (_ctx.Runtime.List(_uid).Count > 0)
        {
            // A restarted node process (kubelet) whose runtime still runs the pod's containers (cri: RecoverAsync): the
            // state comes back from the pod status, and each container actor re-adopts its container (OnWantLaunch).
            var status = _podJson["status"] as JsonObject;
            PodStatusRestore.Apply(_init, status?["initContainerStatuses"] as JsonArray);
            PodStatusRestore.Apply(_main, status?["containerStatuses"] as JsonArray);
            PodStatusRestore.Apply(_ephemeral, status?["ephemeralContainerStatuses"] as JsonArray);
            PodStatusRestore.Transitions(status, _transitions);
            if (PodStatusRestore.Time(status?["startTime"]) is { } started) _startTime = started;
            _resynced = "re-adopting its containers"; // until the first container actor asks (ResyncSummary)
        }
        MarkDirty();
        if (_pod.Metadata?.DeletionTimestamp is not null) BeginTermination(DeletionGrace(), removeObject: true);
        else if (_ctx.Runtime is IPodSandboxRuntime sandboxes) Prepare(sandboxes);
        else Advance();
    }

    /// <summary>Stopped for good (not restarted): nothing of the pod may keep running.</summary>
    protected override void PostStop()
    {
        foreach (var running in _ctx.Runtime.List(_uid))
        {
            _log.Info("pod {0}/{1}: killing container {2} as its worker stops", _ns, _name, running.Launch.ContainerName);
            running.Kill();
        }
        RemoveSandbox();
        if (_ctx.Runtime is not SimulatedRuntime)
        {
            try
            {
                VolumeManager.RemovePodVolumes(_ctx.DataDirectory, _uid);
            }
            catch (IOException e)
            {
                _log.Warning("pod {0}/{1}: removing its emptyDir volumes failed: {2}", _ns, _name, e.Message);
            }
        }
    }

    /// <summary>
    /// A crash must not take the pod's containers down: the container actors survive (Akka restarts them after this
    /// worker, and the runtime keeps running their containers); log streamers end (their clients see the stream end)
    /// and the status writer is replaced. PostStop does not run.
    /// </summary>
    protected override void PreRestart(Exception reason, object message)
    {
        _log.Warning("pod worker {0}/{1} restarts after {2} in state {3}: its running containers are re-adopted by the new worker",
            _ns, _name, reason.GetType().Name, _state);
        foreach (var child in Context.GetChildren())
            if (!_specs.ContainsKey(child.Path.Name)) Context.Stop(child);
    }

    /// <summary>Adopting instead of PreStart (which would start new containers next to the running ones).</summary>
    protected override void PostRestart(Exception reason)
    {
        _statusWriter = Context.ActorOf(PodStatusWriter.Props(_ctx.Api, _ns, _name));
        if (_ctx.Runtime is IPodSandboxRuntime sandboxes) _podIp = sandboxes.SandboxOf(_uid)?.Ip;
        var awaiting = ImmutableHashSet.CreateBuilder<string>(StringComparer.Ordinal);
        foreach (var child in Context.GetChildren())
        {
            if (!_specs.ContainsKey(child.Path.Name)) continue;
            _supervisors[child.Path.Name] = child;
            awaiting.Add(child.Path.Name); // its back-off supervisor restarts and its new container actor asks to launch
        }
        _resynced = "re-adopting its containers";
        Context.Parent.Tell(new PodWorkerProtocol.WantPod(_uid));
        Timers.StartSingleTimer(TimerNames.AdoptTimeout, AdoptDone.Instance, AdoptTimeout);
        Timers.StartSingleTimer(TimerNames.Handover, HandoverDone.Instance, HandoverWindow);
        Enter(PodWorkerState.Adopting, () => WhenAdopting(new AdoptingData(awaiting.ToImmutable(), false, null)));
    }

    private void Enter(PodWorkerState next, Action behaviour)
    {
        if (next != _state || next == PodWorkerState.Adopting)
        {
            if (_ctx.Runtime is SimulatedRuntime) _log.Debug("pod {0}/{1}: {2} -> {3}", _ns, _name, _state, next);
            else _log.Info("pod {0}/{1}: {2} -> {3}", _ns, _name, _state, next);
        }
        _state = next;
        Become(behaviour);
    }

    // ---- states ----

    private void WhenAdopting(AdoptingData data)
    {
        Receive<PodWorkerProtocol.PodUpdated>(u =>
        {
            _podJson = u.Pod;
            _pod = KubernetesJson.Deserialize<V1Pod>(u.Pod.ToJsonString());
            AddEphemeralContainers(); // added after this worker was created: their actors ask to re-adopt like the others
            var next = data with { GotPod = true };
            if (next.AwaitingLaunch.IsEmpty) FinishAdoption(next);
            else Become(() => WhenAdopting(next));
        });
        Receive<PodWorkerProtocol.PodRemoved>(r =>
        {
            var next = data with { Removed = r };
            Become(() => WhenAdopting(next));
        });
        Receive<ContainerProtocol.WantLaunch>(w =>
        {
            Stash.Stash();
            var next = data with { AwaitingLaunch = data.AwaitingLaunch.Remove(w.Name) };
            if (next.AwaitingLaunch.IsEmpty && next.GotPod) FinishAdoption(next);
            else Become(() => WhenAdopting(next));
        });
        Receive<AdoptDone>(_ => FinishAdoption(data));
        Receive<Chaos.ChaosProtocol.GetResync>(_ => Sender.Tell(new Chaos.ChaosProtocol.Resynced(_resynced)));
        ReceiveAny(_ => Stash.Stash());
    }

    /// <summary>Restores the containers' state from the pod status, then handles what waited (the launch requests re-adopt the running containers).</summary>
    private void FinishAdoption(AdoptingData data)
    {
        Timers.Cancel(TimerNames.AdoptTimeout);
        var status = _podJson["status"] as JsonObject;
        PodStatusRestore.Apply(_init, status?["initContainerStatuses"] as JsonArray);
        PodStatusRestore.Apply(_main, status?["containerStatuses"] as JsonArray);
        PodStatusRestore.Apply(_ephemeral, status?["ephemeralContainerStatuses"] as JsonArray);
        PodStatusRestore.Transitions(status, _transitions);
        if (PodStatusRestore.Time(status?["startTime"]) is { } started) _startTime = started;
        ResyncSummary();
        // Every container's new actor has asked to launch (their requests are stashed): the hand-over can end right
        // after they are handled, instead of at the end of its window.
        if (data.AwaitingLaunch.IsEmpty)
        {
            Timers.Cancel(TimerNames.Handover);
            Self.Tell(HandoverDone.Instance); // after the unstashed launch requests
        }
        MarkDirty();
        var phase = PodStatusBuilder.Phase(_init, _main, Initialized);
        if (data.Removed is { } removed) BeginTermination(RemovedGrace(removed), removeObject: false);
        else if (_pod.Metadata?.DeletionTimestamp is not null) BeginTermination(DeletionGrace(), removeObject: true);
        else if (phase is "Succeeded" or "Failed") Enter(PodWorkerState.Completed, WhenCompleted);
        else Advance();
        Stash.UnstashAll();
    }

    /// <summary>Preparing: the sandbox is being created (<see cref="IPodSandboxRuntime"/>); retried until it exists or the pod goes.</summary>
    private void WhenPreparing(IPodSandboxRuntime sandboxes)
    {
        Receive<SandboxReady>(r =>
        {
            _podIp = r.Sandbox.Ip;
            _startMetric.Mark("sandbox");
            _log.Info("pod {0}/{1}: sandbox {2} ready with IP {3}", _ns, _name, r.Sandbox.Id, r.Sandbox.Ip);
            MarkDirty();
            Advance();
        });
        Receive<SandboxFailed>(f =>
        {
            _log.Warning("pod {0}/{1}: creating its sandbox failed: {2}", _ns, _name, f.Message);
            _ctx.Events.Tell(new EventRecorderProtocol.Record(new InvolvedObject("Pod", _ns, _name, _uid, "v1"),
                "Warning", "FailedCreatePodSandBox", $"Failed to create pod sandbox: {f.Message}"));
            Timers.StartSingleTimer(TimerNames.SandboxRetry, RetrySandbox.Instance, SandboxRetryDelay);
        });
        Receive<RetrySandbox>(_ => Prepare(sandboxes));
        Lifecycle();
        Receive<ContainerProtocol.WantLaunch>(w => OnWantLaunch(w, stopGrace: TimeSpan.Zero));
        Common();
    }

    private void Prepare(IPodSandboxRuntime sandboxes)
    {
        var dns = _ctx.Settings.Dns;
        var request = new PodSandboxRequest(_ns, _name, _uid, _ctx.NodeName, ContainerLogPaths.PodDirectory(_ctx.DataDirectory, _ns, _name, _uid),
            Hostname: PodDns.Hostname(_pod), Dns: PodDns.For(_pod, dns, Dns.ResolvConf.Load(dns.HostResolvConf)));
        sandboxes.RunPodSandboxAsync(request).PipeTo(Self, success: s => new SandboxReady(s), failure: e => new SandboxFailed(e.GetBaseException().Message));
        Enter(PodWorkerState.Preparing, () => WhenPreparing(sandboxes));
    }

    /// <summary>The pod's sandbox goes with its last container (a no-op for runtimes without sandboxes).</summary>
    private void RemoveSandbox()
    {
        if (_ctx.Runtime is not IPodSandboxRuntime sandboxes || sandboxes.SandboxOf(_uid) is null) return;
        var log = _log;
        var (ns, name) = (_ns, _name);
        sandboxes.RemovePodSandboxAsync(_uid).ContinueWith(t =>
        {
            if (t.IsFaulted) log.Warning("pod {0}/{1}: removing its sandbox failed: {2}", ns, name, t.Exception?.GetBaseException().Message);
        }, TaskScheduler.Default);
    }

    private void WhenInitializing()
    {
        Lifecycle();
        Launching();
        Common();
    }

    private void WhenRunning()
    {
        Lifecycle();
        Launching();
        Common();
    }

    private void WhenCompleted()
    {
        Lifecycle();
        Receive<ContainerProtocol.WantLaunch>(w => OnWantLaunch(w, stopGrace: TimeSpan.Zero));
        Receive<ContainerProtocol.Exited>(e => OnExited(e, terminating: true));
        Common();
    }

    private void WhenTerminating(TerminatingData data)
    {
        Receive<PodWorkerProtocol.PodUpdated>(u => UpdatePod(u.Pod));
        Receive<PodWorkerProtocol.PodRemoved>(_ =>
        {
            // Gone from the API meanwhile: nothing left to remove.
            var next = data with { RemoveObject = false };
            Become(() => WhenTerminating(next));
        });
        Receive<ContainerProtocol.WantLaunch>(w =>
        {
            OnWantLaunch(w, stopGrace: data.Grace);
            CheckStopped(data);
        });
        Receive<LaunchReady>(r =>
        {
            _launching.Remove(r.Name);
            r.Container.Tell(new ContainerProtocol.Terminate(TimeSpan.Zero, "pod terminating"));
            CheckStopped(data);
        });
        Receive<LaunchFailed>(f =>
        {
            _launching.Remove(f.Name);
            f.Container.Tell(new ContainerProtocol.Terminate(TimeSpan.Zero, "pod terminating"));
            CheckStopped(data);
        });
        Receive<ContainerProtocol.Started>(s =>
        {
            OnStarted(s); // the container actor stops it: it was told to terminate while starting
            CheckStopped(data);
        });
        Receive<ContainerProtocol.StartFailed>(f =>
        {
            OnStartFailed(f);
            CheckStopped(data);
        });
        Receive<ContainerProtocol.Exited>(e =>
        {
            OnExited(e, terminating: true);
            CheckStopped(data);
        });
        Receive<Deadline>(_ =>
        {
            _log.Warning("pod {0}/{1}: containers did not stop within the grace period; killing them", _ns, _name);
            foreach (var running in _ctx.Runtime.List(_uid)) running.Kill();
            foreach (var sup in _supervisors.Values) Context.Stop(sup);
            _supervisors.Clear();
            foreach (var c in All.Where(c => c.Phase == ContainerPhase.Running)) c.Phase = ContainerPhase.Terminated;
            _launching.Clear();
            CheckStopped(data);
        });
        Common();
    }

    private void WhenTerminated(bool removeObject)
    {
        Receive<ObjectRemoved>(_ => Context.Stop(Self));
        Receive<PodWorkerProtocol.PodUpdated>(u => UpdatePod(u.Pod));
        Receive<PodWorkerProtocol.PodRemoved>(_ => { });
        Receive<ContainerProtocol.WantLaunch>(w => OnWantLaunch(w, stopGrace: TimeSpan.Zero));
        Receive<ContainerProtocol.Exited>(e => OnExited(e, terminating: true));
        Receive<Flush>(_ => { if (!removeObject) WriteStatus(); }); // a removed pod's status is not written again
        Common();
    }

    /// <summary>Deletion and removal while containers may run (Initializing, Running, Completed).</summary>
    private void Lifecycle()
    {
        Receive<PodWorkerProtocol.PodUpdated>(u =>
        {
            UpdatePod(u.Pod);
            if (_pod.Metadata?.DeletionTimestamp is not null) BeginTermination(DeletionGrace(), removeObject: true);
        });
        Receive<PodWorkerProtocol.PodRemoved>(r => BeginTermination(RemovedGrace(r), removeObject: false));
    }

    /// <summary>Starting and restarting containers (Initializing, Running).</summary>
    private void Launching()
    {
        Receive<ContainerProtocol.WantLaunch>(w => OnWantLaunch(w, stopGrace: null));
        Receive<LaunchReady>(r =>
        {
            _startMetric.Mark("volumes-env");
            // Runtimes with images report their pull from the container's own start (ImageManager); the others' are built in.
            if (_ctx.Runtime is not IImageService)
                Event(r.Name, "Normal", "Pulled", $"Container image \"{_specs[r.Name].Image ?? ""}\" already present on machine");
            r.Container.Tell(r.Launch);
            ScheduleTokenRefresh(r.RefreshTokensAt);
        });
        Receive<RefreshTokens>(_ =>
        {
            var log = _log;
            VolumeManager.RefreshProjectedAsync(_ctx.Api, _pod, _ctx.DataDirectory).PipeTo(Self, success: next => new TokensRefreshed(next), failure: e =>
            {
                log.Warning("pod {0}/{1}: refreshing its projected token failed (retrying in {2}): {3}", _ns, _name, TokenRefreshRetry, e.GetBaseException().Message);
                return new TokensRefreshed(DateTimeOffset.UtcNow + TokenRefreshRetry);
            });
        });
        Receive<TokensRefreshed>(r => ScheduleTokenRefresh(r.Next));
        Receive<LaunchFailed>(f =>
        {
            _launching.Remove(f.Name);
            if (Find(f.Name) is { } c)
            {
                c.Phase = ContainerPhase.Waiting;
                c.WaitingReason = "CreateContainerConfigError";
                c.WaitingMessage = f.Message;
                MarkDirty();
            }
            Event(f.Name, "Warning", "Failed", $"Error: {f.Message}");
            f.Container.Tell(ContainerProtocol.Retry.Instance);
        });
        Receive<ContainerProtocol.Started>(OnStarted);
        Receive<ContainerProtocol.StartFailed>(OnStartFailed);
        Receive<ContainerProtocol.Exited>(e => OnExited(e, terminating: false));
    }

    /// <summary>What every state but Adopting handles: readiness, events, status writes, logs, hand-over end, chaos.</summary>
    private void ScheduleTokenRefresh(DateTimeOffset? at)
    {
        if (at is { } when) Timers.StartSingleTimer(TimerNames.TokenRefresh, RefreshTokens.Instance, when - DateTimeOffset.UtcNow is var d && d > TimeSpan.Zero ? d : TimeSpan.Zero);
    }

    private void Common()
    {
        Receive<RefreshTokens>(_ => { }); // not running containers any more: nothing to refresh
        Receive<TokensRefreshed>(_ => { });
        Receive<ContainerProtocol.ReadinessChanged>(r =>
        {
            if (Find(r.Name) is { } c && c.Starts - 1 == r.Attempt && c.Phase == ContainerPhase.Running && c.Ready != r.Ready)
            {
                c.Ready = r.Ready;
                MarkDirty();
            }
        });
        Receive<ContainerProtocol.StartupSucceeded>(s =>
        {
            if (Find(s.Name) is { } c && c.Starts - 1 == s.Attempt && c.Phase == ContainerPhase.Running)
            {
                c.Started = true;
                MarkDirty();
                if (!c.IsSidecar || c.HasStarted) return;
                c.HasStarted = true;
                if (_state == PodWorkerState.Initializing) Advance(); // the next init container, or the containers
            }
        });
        Receive<ContainerProtocol.ContainerEvent>(e => Event(e.Name, e.Type, e.Reason, e.Message));
        Receive<Flush>(_ => WriteStatus());
        Receive<PodStatusWriter.Stored>(_ => OnStored());
        Receive<Deadline>(_ => { });
        Receive<KubeletProtocol.GetLogs>(OnGetLogs);
        Receive<KubeletProtocol.StartExec>(OnStartExec);
        Receive<KubeletProtocol.StartAttach>(OnStartAttach);
        Receive<KubeletProtocol.StartPortForward>(OnStartPortForward);
        Receive<Terminated>(_ => { });
        Receive<HandoverDone>(_ => KillUnadopted());
        Receive<SandboxReady>(_ => RemoveSandbox()); // created after the pod was gone
        Receive<Chaos.ChaosProtocol.InjectCrash>(_ => throw new Chaos.InjectedCrashException($"pod worker {_ns}/{_name}"));
        Receive<Chaos.ChaosProtocol.GetResync>(_ => Sender.Tell(new Chaos.ChaosProtocol.Resynced(_resynced)));
    }

    // ---- transitions ----

    /// <summary>Initializing while an init container has not succeeded (starting the next one), else Running (starting the containers).</summary>
    private void Advance()
    {
        // ephemeral containers may start before initialization is over, as in Kubernetes
        foreach (var c in _ephemeral) StartContainer(c);
        var nextInit = _init.FindIndex(c => !c.InitDone); // a started sidecar keeps running beside what comes next
        if (nextInit >= 0)
        {
            Enter(PodWorkerState.Initializing, WhenInitializing);
            StartContainer(_init[nextInit]);
            return;
        }
        if (_state != PodWorkerState.Running)
        {
            foreach (var c in _main)
                if (c.WaitingReason == "PodInitializing") c.WaitingReason = "ContainerCreating";
            MarkDirty();
            Enter(PodWorkerState.Running, WhenRunning);
        }
        foreach (var c in _main) StartContainer(c);
    }

    /// <summary>Completed once the pod's phase is terminal: its container actors stop and the pod manager may reuse its IP.</summary>
    private void CheckCompleted()
    {
        if (PodStatusBuilder.Phase(_init, _main, Initialized) is not ("Succeeded" or "Failed")) return;
        foreach (var sup in _supervisors.Values) Context.Stop(sup);
        _supervisors.Clear();
        // a debug container or a sidecar still running in a finished pod goes with it (its actor stopping does not kill it)
        foreach (var running in _ctx.Runtime.List(_uid))
            if (_ephemeral.Any(e => e.Name == running.Launch.ContainerName) || _init.Any(i => i.IsSidecar && i.Name == running.Launch.ContainerName)) running.Kill();
        foreach (var sidecar in _init.Where(i => i.IsSidecar && i.Phase != ContainerPhase.Terminated))
        {
            var now = DateTimeOffset.UtcNow;
            sidecar.Terminated = new TerminatedInfo(137, "Error", "the pod's containers completed", sidecar.StartedAt ?? now, now, sidecar.ContainerId ?? "");
            sidecar.Phase = ContainerPhase.Terminated;
            sidecar.WillRestart = false;
            sidecar.Ready = sidecar.Started = false;
            MarkDirty();
        }
        Context.Parent.Tell(new PodWorkerProtocol.PodFinished(_uid));
        RemoveSandbox();
        Enter(PodWorkerState.Completed, WhenCompleted);
    }

    private void BeginTermination(TimeSpan grace, bool removeObject)
    {
        foreach (var c in All)
        {
            if (c.Phase == ContainerPhase.Running)
                Event(c.Name, "Normal", "Killing", $"Stopping container {c.Name}");
            if (c.Phase == ContainerPhase.Running || _launching.Contains(c.Name))
                _supervisors.GetValueOrDefault(c.Name)?.Tell(new ContainerProtocol.Terminate(grace, "pod deleted"));
        }
        var data = new TerminatingData(grace, removeObject);
        Enter(PodWorkerState.Terminating, () => WhenTerminating(data));
        Timers.StartSingleTimer(TimerNames.TerminationDeadline, Deadline.Instance, grace + DeadlineSlack);
        CheckStopped(data);
    }

    /// <summary>Terminated once no container runs or launches; a deleted pod's object is then removed for good.</summary>
    private void CheckStopped(TerminatingData data)
    {
        if (All.Any(c => c.Phase == ContainerPhase.Running) || _launching.Count > 0) return;
        Timers.Cancel(TimerNames.TerminationDeadline);
        foreach (var sup in _supervisors.Values) Context.Stop(sup);
        _supervisors.Clear();
        foreach (var followers in _followers.Values)
            foreach (var f in followers) f.Tell(LogStreamer.ContainerEnded.Instance);
        _followers.Clear();
        RemoveSandbox();
        Enter(PodWorkerState.Terminated, () => WhenTerminated(data.RemoveObject));
        if (!data.RemoveObject)
        {
            Context.Stop(Self);
            return;
        }
        // Everything is stopped: remove the pod object for good (the kubelet's part of graceful deletion).
        var self = Self;
        _ctx.Api.DeleteAsync(ApiResource.Pods, _ns, _name, new DeleteOptions(GracePeriodSeconds: 0, PreconditionUid: _uid))
            .ContinueWith(t =>
            {
                if (t.IsFaulted && t.Exception?.GetBaseException() is not KubeApiException { Code: 404 or 409 })
                    _log.Warning("could not remove pod {0}/{1}: {2}", _ns, _name, t.Exception?.GetBaseException().Message);
                self.Tell(ObjectRemoved.Instance);
            }, TaskScheduler.Default);
    }

    // ---- containers ----

    private void UpdatePod(JsonObject pod)
    {
        // Most updates are this kubelet's own status writes coming back: the typed pod is rebuilt only when
        // its spec or metadata changed (the worker reads nothing else of it).
        var changed = !SameSpecAndMetadata(_podJson, pod);
        _podJson = pod;
        if (changed)
        {
            _pod = KubernetesJson.Deserialize<V1Pod>(pod.ToJsonString());
            if (AddEphemeralContainers() is { Count: > 0 } added)
            {
                MarkDirty();
                if (_state is PodWorkerState.Initializing or PodWorkerState.Running)
                    foreach (var c in added) StartContainer(c);
                else
                    foreach (var c in added) c.WaitingMessage = $"the pod is {_state}: ephemeral containers start only in a running pod";
            }
        }
        // Someone else changed the stored Ready condition (the node lifecycle controller marks the pods of a NotReady node
        // not ready): write this worker's own view back, as the kubelet's status manager reconciles with the apiserver.
        if (_lastWrittenReady is { } mine && ReadyOf(pod["status"] as JsonObject) is { } stored && stored != mine) MarkDirty();
    }

    private string? _lastWrittenReady;

    private static string? ReadyOf(JsonObject? status) =>
        (status?["conditions"] as JsonArray)?.OfType<JsonObject>()
            .FirstOrDefault(c => c["type"]?.GetValue<string>() == "Ready")?["status"]?.GetValue<string>();

    private void StartContainer(ContainerState c)
    {
        if (_supervisors.ContainsKey(c.Name) || c.Done) return; // has an actor (re-adopted after a restart), or ended for good
        var b = _ctx.Settings.Backoff;
        var options = Backoff.OnStop(ContainerActor.Props(c.Name, Self, _ctx.Runtime), "instance", b.Min, b.Max, b.RandomFactor, -1)
            .WithAutoReset(b.ResetAfter)
            .WithSupervisorStrategy(new OneForOneStrategy(_ => Directive.Stop));
        _supervisors[c.Name] = Context.ActorOf(BackoffSupervisor.Props(options), c.Name);
    }

    /// <summary>
    /// A container actor asks what to run: the container the runtime still runs for it (re-adopted), else a new instance
    /// when <paramref name="stopGrace"/> is null (Initializing, Running), else nothing (it is told to stop).
    /// </summary>
    private void OnWantLaunch(ContainerProtocol.WantLaunch want, TimeSpan? stopGrace)
    {
        var container = Sender;
        var state = Find(want.Name);
        var running = _ctx.Runtime.List(_uid).Where(r => r.Launch.ContainerName == want.Name).MaxBy(r => r.Launch.Attempt);
        if (state is not null && running is not null)
        {
            Adopt(container, state, running);
            if (stopGrace is { } stop) container.Tell(new ContainerProtocol.Terminate(stop, "pod terminating"));
            return;
        }
        if (state is not null && state.Phase == ContainerPhase.Running)
        {
            // The status said running, but the runtime no longer runs it: it ended while no actor watched it.
            state.Phase = ContainerPhase.Terminated;
            state.WillRestart = stopGrace is null && !state.IsEphemeral;
            state.Ready = state.Started = false;
            state.Terminated = state.LastTerminated = new TerminatedInfo(137, "ContainerStatusUnknown",
                "The container could not be located when its actor was re-created", state.StartedAt ?? DateTimeOffset.UtcNow, DateTimeOffset.UtcNow, state.ContainerId ?? "");
            MarkDirty();
            ResyncSummary();
        }
        if (stopGrace is not null || state is null)
        {
            container.Tell(new ContainerProtocol.Terminate(TimeSpan.Zero, "pod terminating"));
            return;
        }
        if (state.Done)
        {
            // A new container actor (after a worker restart) for a container that ended for good: nothing to run.
            container.Tell(new ContainerProtocol.Terminate(TimeSpan.Zero, "container ended"));
            return;
        }
        _launching.Add(want.Name);
        var spec = _specs[want.Name];
        var attempt = state.Starts;
        var logPath = _ctx.Runtime is SimulatedRuntime ? null : ContainerLogPaths.File(_ctx.DataDirectory, _ns, _name, _uid, want.Name, attempt);
        var grace = SpecGrace();
        var podIp = _podIp ?? "";
        var limits = spec.Resources?.Limits;
        var requests = spec.Resources?.Requests;
        LaunchEnvironmentAsync(_ctx, _pod, spec, podIp).PipeTo(Self,
            success: prepared => new LaunchReady(want.Name, container, new ContainerProtocol.Launch(new ContainerLaunch
            {
                Namespace = _ns,
                PodName = _name,
                PodUid = _uid,
                NodeName = _ctx.NodeName,
                ContainerName = want.Name,
                Image = spec.Image ?? "",
                Command = EnvResolver.ExpandAll(spec.Command, prepared.Env),
                Args = EnvResolver.ExpandAll(spec.Args, prepared.Env),
                WorkingDir = prepared.WorkingDir,
                Env = prepared.Env,
                Mounts = prepared.Mounts,
                PodIp = podIp,
                Port = spec.Ports?.FirstOrDefault()?.ContainerPort,
                Attempt = attempt,
                LogPath = logPath,
                MemoryLimitBytes = Quantity(limits, "memory", 1),
                CpuLimitMillis = Quantity(limits, "cpu", 1000),
                CpuRequestMillis = Quantity(requests, "cpu", 1000) ?? Quantity(limits, "cpu", 1000),
                Security = prepared.Security,
                Stdin = spec.Stdin == true,
                StdinOnce = spec.StdinOnce == true,
                Tty = spec.Tty == true,
                TargetContainerId = _targets.GetValueOrDefault(want.Name) is { Length: > 0 } target ? Find(target)?.ContainerId : null,
                PullPolicy = spec.ImagePullPolicy is { Length: > 0 } policy ? policy : "IfNotPresent",
                PullCredentials = prepared.PullCredentials,
            }, spec, grace), prepared.RefreshAt),
            failure: e => new LaunchFailed(want.Name, container, e.GetBaseException().Message));
    }

    private sealed record PreparedLaunch(List<KeyValuePair<string, string>> Env, string? WorkingDir, IReadOnlyList<VolumeMount> Mounts, DateTimeOffset? RefreshAt, ContainerSecurity? Security,
        IReadOnlyList<RegistryCredential> PullCredentials);

    /// <summary>The pod's volumes set up (<see cref="VolumeManager"/>), then the container's env with one variable per volume mount.</summary>
    private static async Task<PreparedLaunch> LaunchEnvironmentAsync(PodWorkerContext ctx, V1Pod pod, V1Container spec, string podIp)
    {
        var security = SecurityContexts.Effective(pod.Spec?.SecurityContext, spec.SecurityContext);
        var volumes = ctx.Runtime is SimulatedRuntime
            ? new PodVolumes(new Dictionary<string, string>(), null)
            : await VolumeManager.SetUpAsync(ctx.Api, pod, ctx.NodeName, ctx.DataDirectory).ConfigureAwait(false);
        var mine = VolumeManager.ForContainer(spec, volumes.Directories);
        var env = await EnvResolver.ResolveAsync(ctx.Api, pod, spec, podIp, ctx.HostIp).ConfigureAwait(false);
        var mounts = mine.Mounts;
        if (ctx.Runtime is not SimulatedRuntime)
        {
            var files = await PodDnsFiles.WriteAsync(ctx.DataDirectory, pod, podIp, ctx.Settings.Dns).ConfigureAwait(false);
            mine.Env.AddRange(files.Env);
            // cri: the kubelet-managed /etc/hosts of every container of a pod with its own network namespace (resolv.conf
            // comes from the sandbox's DNS config); the process runtime's containers read the paths from the env.
            if (ctx.Runtime is IPodSandboxRuntime && pod.Spec?.HostNetwork != true
                && !mounts.Any(m => m.ContainerPath.TrimEnd('/') == "/etc/hosts"))
                mounts = [.. mounts, new VolumeMount(files.HostsPath, "/etc/hosts", ReadOnly: false)];
        }
        // declared env wins over the volume variables, as later entries win in the kubelet's env list
        var declared = env.Select(e => e.Key).ToHashSet(StringComparer.Ordinal);
        // only a runtime that pulls images needs the pod's registry credentials
        var credentials = ctx.Runtime is IPodSandboxRuntime ? await ImagePullSecrets.ResolveAsync(ctx.Api, pod, spec.Image ?? "").ConfigureAwait(false) : [];
        return new PreparedLaunch(mine.Env.Where(v => !declared.Contains(v.Key)).Concat(env).ToList(), mine.WorkingDir, mounts, volumes.RefreshAt, security, credentials);
    }

    /// <summary>The pod's QoS class, classified once per spec object (a status write must not parse every quantity again).</summary>
    private string QosClass()
    {
        if (!ReferenceEquals(_qos.Pod, _podJson)) _qos = (_podJson, PodQos.Classify(_podJson["spec"] as JsonObject));
        return _qos.Class;
    }

    private (JsonObject? Pod, string Class) _qos;

    private static long? Quantity(IDictionary<string, ResourceQuantity>? resources, string name, int scale) =>
        resources is not null && resources.TryGetValue(name, out var q) ? (long)Math.Ceiling(q.ToDecimal() * scale) : null;

    /// <summary>Gives a container the runtime still runs to its container's new actor (same container ID, no restart).</summary>
    private void Adopt(IActorRef container, ContainerState c, IRunningContainer running)
    {
        var launch = new ContainerProtocol.Launch(running.Launch, _specs[c.Name], SpecGrace());
        var wasRunning = c.Phase == ContainerPhase.Running && c.ContainerId == running.ContainerId;
        container.Tell(new ContainerProtocol.Adopt(launch, running, wasRunning && c.Ready, wasRunning && c.Started));
        c.Phase = ContainerPhase.Running;
        c.Starts = running.Launch.Attempt + 1;
        c.StartedAt = running.StartedAt;
        c.ContainerId = running.ContainerId;
        c.ImageId = running.ImageId;
        c.WaitingMessage = null;
        c.Ready = wasRunning && c.Ready;
        c.Started = wasRunning && c.Started;
        MarkDirty();
        _adopted.Add(running.Pid is { } pid ? $"{c.Name} pid {pid}" : c.Name);
        ResyncSummary();
        _log.Info("pod {0}/{1}: re-adopted container {2} ({3})", _ns, _name, c.Name, running.ContainerId);
    }

    /// <summary>End of the hand-over after a restart: what the runtime runs for this pod and no container actor adopted is killed.</summary>
    private void KillUnadopted()
    {
        foreach (var running in _ctx.Runtime.List(_uid))
        {
            var name = running.Launch.ContainerName;
            if (_launching.Contains(name) || Find(name) is { Phase: ContainerPhase.Running } c && c.ContainerId == running.ContainerId) continue;
            _log.Warning("pod {0}/{1}: container {2} was not re-adopted after the worker's restart; killing it", _ns, _name, name);
            running.Kill();
        }
    }

    private void ResyncSummary() =>
        _resynced = _adopted.Count > 0
            ? $"re-adopted {_adopted.Count} running container(s): {string.Join(", ", _adopted)}; restart counts restored from the pod status"
            : "re-adopted no running container; restart counts restored from the pod status";

    private TimeSpan DeletionGrace() =>
        TimeSpan.FromSeconds(_pod.Metadata?.DeletionGracePeriodSeconds ?? _pod.Spec?.TerminationGracePeriodSeconds ?? 30);

    private TimeSpan SpecGrace() => TimeSpan.FromSeconds(_pod.Spec?.TerminationGracePeriodSeconds ?? 30);

    private TimeSpan RemovedGrace(PodWorkerProtocol.PodRemoved r) => r.GracePeriodSeconds is { } g ? TimeSpan.FromSeconds(g) : SpecGrace();

    private void OnStarted(ContainerProtocol.Started s)
    {
        _startMetric.Mark("container-started");
        _launching.Remove(s.Name);
        if (Find(s.Name) is not { } c) return;
        c.Starts = s.Attempt + 1;
        c.Phase = ContainerPhase.Running;
        c.StartedAt = s.Running.StartedAt;
        c.ContainerId = s.Running.ContainerId;
        c.ImageId = s.Running.ImageId;
        c.WaitingMessage = null;
        c.StartFailures = 0;
        c.Ready = false;
        c.Started = false;
        Event(s.Name, "Normal", "Created", $"Created container {s.Name}");
        Event(s.Name, "Normal", "Started", $"Started container {s.Name}");
        MarkDirty();
    }

    private void OnStartFailed(ContainerProtocol.StartFailed f)
    {
        _launching.Remove(f.Name);
        if (Find(f.Name) is not { } c) return;
        c.StartFailures++;
        c.Phase = ContainerPhase.Waiting;
        c.WaitingReason = f.Reason == ContainerStartException.ErrImagePull && c.StartFailures > 1 ? "ImagePullBackOff" : f.Reason;
        c.WaitingMessage = f.Message;
        if (f.Reason == ContainerStartException.ErrImagePull)
        {
            Event(f.Name, "Warning", "Failed", $"Failed to pull image \"{c.Image}\": {f.Message}");
            Event(f.Name, "Warning", "Failed", $"Error: {c.WaitingReason}");
            if (c.StartFailures > 1) Event(f.Name, "Normal", "BackOff", $"Back-off pulling image \"{c.Image}\"");
        }
        else if (f.Reason == ContainerStartException.ErrImageNeverPull) Event(f.Name, "Warning", "Failed", "Error: " + f.Reason); // the image manager told why
        else Event(f.Name, "Warning", "Failed", $"Error: {f.Message}");
        MarkDirty();
    }

    /// <summary>A container ended: restart it (by restartPolicy, never while <paramref name="terminating"/>) or keep it ended.</summary>
    private void OnExited(ContainerProtocol.Exited e, bool terminating)
    {
        if (Find(e.Name) is not { } c) { Sender.Tell(new ContainerProtocol.ExitDecision(false)); return; }
        var info = e.KilledBecause is null ? e.Info : e.Info with { Message = $"Container {e.Name} {e.KilledBecause}" };
        // A sidecar is restarted whenever it ends, whatever the pod's restartPolicy, until the pod terminates.
        var restart = !c.IsEphemeral && (c.IsSidecar ? !terminating : RestartRules.ShouldRestart(RestartPolicy, c.IsInit, info.ExitCode, terminating));
        c.Ready = false;
        c.Started = false;
        c.Terminated = info;
        if (restart)
        {
            var ranFor = info.FinishedAt - info.StartedAt;
            var streak = ranFor >= _ctx.Settings.Backoff.ResetAfter ? 0 : _crashStreak.GetValueOrDefault(e.Name);
            var b = _ctx.Settings.Backoff;
            var delay = TimeSpan.FromTicks(Math.Min(b.Max.Ticks, (long)(b.Min.Ticks * Math.Pow(2, Math.Min(streak, 30)))));
            _crashStreak[e.Name] = streak + 1;
            c.LastTerminated = info;
            c.Phase = ContainerPhase.Waiting;
            c.WaitingReason = "CrashLoopBackOff";
            c.WaitingMessage = $"back-off {FormatDuration(delay)} restarting failed container={e.Name} pod={_name}_{_ns}({_uid})";
            Event(e.Name, "Warning", "BackOff", $"Back-off restarting failed container {e.Name} in pod {_name}_{_ns}({_uid})");
        }
        else
        {
            c.Phase = ContainerPhase.Terminated;
            c.WillRestart = false;
        }
        Sender.Tell(new ContainerProtocol.ExitDecision(restart));
        if (_followers.Remove(e.Name, out var followers))
            foreach (var f in followers) f.Tell(LogStreamer.ContainerEnded.Instance);
        MarkDirty();
        if (terminating) return;
        if (c.IsInit && !c.IsSidecar && info.ExitCode == 0) Advance();
        CheckCompleted();
    }

    private static string FormatDuration(TimeSpan t) =>
        t.TotalMinutes >= 1 ? $"{(int)t.TotalMinutes}m{t.Seconds}s" : t.TotalSeconds >= 1 ? $"{t.TotalSeconds:0.#}s" : $"{t.TotalMilliseconds:0}ms";

    // ---- status ----

    private void MarkDirty()
    {
        if (!Timers.IsTimerActive(TimerNames.StatusFlush))
            Timers.StartSingleTimer(TimerNames.StatusFlush, Flush.Instance, _ctx.Settings.StatusCoalesce);
    }

    private void WriteStatus()
    {
        var status = PodStatusBuilder.Build(_init, _main, Initialized, _podIp, _ctx.HostIp, _startTime, _transitions, DateTimeOffset.UtcNow, ephemeral: _ephemeral,
            qosClass: QosClass());
        if (!_recreated) _startMetric.StatusWritten(status);
        _lastWrittenReady = ReadyOf(status);
        _statusWriter.Tell(new PodStatusWriter.Write(status));
    }

    private void OnStored()
    {
        if (_startMetric.Stored() is { } started) _log.Info("pod {0}/{1}: observed pod startup: {2}", _ns, _name, started);
        if (!_reportWhenReady || Timers.IsTimerActive(TimerNames.StatusFlush) || !_main.All(c => c.Phase == ContainerPhase.Running && c.Ready)) return;
        _reportWhenReady = false;
        var pids = _ctx.Runtime.List(_uid).ToDictionary(r => r.ContainerId, r => r.Pid, StringComparer.Ordinal);
        _resynced = $"{RecreatedPrefix}; containers started again and ready: "
                    + string.Join(", ", _main.Select(c => $"{c.Name}{(c.ContainerId is { } id && pids.GetValueOrDefault(id) is { } pid ? $" pid {pid}" : "")} (restart count {c.RestartCount})"));
    }

    // ---- events and logs ----

    private void Event(string container, string type, string reason, string message)
    {
        var list = _init.Any(c => c.Name == container) ? "initContainers" : _ephemeral.Any(c => c.Name == container) ? "ephemeralContainers" : "containers";
        var fieldPath = $"spec.{list}{{{container}}}";
        _ctx.Events.Tell(new EventRecorderProtocol.Record(new InvolvedObject("Pod", _ns, _name, _uid, "v1", FieldPath: fieldPath), type, reason, message));
    }

    /// <summary>kubectl exec: a session child on the running instance of the container (the runtime's record of it).</summary>
    private void OnStartExec(KubeletProtocol.StartExec req)
    {
        if (RunningForStream(req.Container) is not { } found) return;
        var (name, running) = found;
        var spec = new ExecSpec(req.Command, req.Stdin, req.Tty);
        Context.ActorOf(ExecSession.Props(ct => _ctx.Runtime.OpenExecAsync(running, spec, ct), $"exec in {_ns}/{_name}/{name}", Sender));
    }

    /// <summary>
    /// kubectl attach: a session child on the container's own process. The terminal is the container's setting (as the
    /// kubelet takes it from the spec); stdin goes to a container that has one, and is dropped otherwise (as containerd).
    /// </summary>
    private void OnStartAttach(KubeletProtocol.StartAttach req)
    {
        if (RunningForStream(req.Container) is not { } found) return;
        var (name, running) = found;
        var container = _specs.GetValueOrDefault(name);
        var tty = container?.Tty == true;
        var spec = new AttachSpec(req.Stdin && container?.Stdin == true, req.Stdout, req.Stderr && !tty, tty);
        Context.ActorOf(ExecSession.Props(ct => _ctx.Runtime.OpenAttachAsync(running, spec, ct), $"attach to {_ns}/{_name}/{name}", Sender));
    }

    /// <summary>The running instance a stream asks for (null container: the pod's only one); null after refusing the sender.</summary>
    private (string Name, IRunningContainer Running)? RunningForStream(string? container)
    {
        var name = container is { Length: > 0 } n ? n : _main.Count == 1 ? _main[0].Name : null;
        if (name is null)
        {
            Sender.Tell(new KubeletProtocol.StreamRefused(400, "BadRequest", $"a container name must be specified for pod {_name}, choose one of: [{string.Join(" ", _main.Select(c => c.Name))}]"));
            return null;
        }
        var running = _state == PodWorkerState.Terminated ? null
            : _ctx.Runtime.List(_uid).FirstOrDefault(c => c.Launch.ContainerName == name && !c.Exited.IsCompleted);
        if (running is null)
        {
            // the kubelet's words when the runtime has no running container of that name
            Sender.Tell(new KubeletProtocol.StreamRefused(400, "BadRequest", $"container not found (\"{name}\")"));
            return null;
        }
        return (name, running);
    }

    /// <summary>kubectl port-forward: a TCP connection to the pod's IP (from the kubelet, as the kubelet's own port-forward does in the pod's network).</summary>
    private void OnStartPortForward(KubeletProtocol.StartPortForward req)
    {
        var ip = _state == PodWorkerState.Terminated ? null
            : _ctx.Runtime.List(_uid).FirstOrDefault(c => !c.Exited.IsCompleted)?.Launch.PodIp;
        if (string.IsNullOrEmpty(ip))
        {
            Sender.Tell(new KubeletProtocol.StreamRefused(400, "BadRequest", $"pod {_name} has no running container to forward port {req.Port} to"));
            return;
        }
        Context.ActorOf(ExecSession.Props(ct => TcpForward.ConnectAsync(ip, req.Port, _name, ct), $"port-forward to {_ns}/{_name}:{req.Port}", Sender));
    }

    private void OnGetLogs(KubeletProtocol.GetLogs req)
    {
        var asker = Sender;
        string name;
        if (req.Container is { Length: > 0 } n) name = n;
        else if (_main.Count == 1) name = _main[0].Name;
        else
        {
            asker.Tell(new KubeletProtocol.LogEnd(400, "BadRequest",
                $"a container name must be specified for pod {_name}, choose one of: [{string.Join(" ", _main.Select(c => c.Name))}]"
                + (_init.Count > 0 ? $" or one of the init containers: [{string.Join(" ", _init.Select(c => c.Name))}]" : "")));
            return;
        }
        if (Find(name) is not { } c)
        {
            asker.Tell(new KubeletProtocol.LogEnd(400, "BadRequest", $"container {name} is not valid for pod {_name}"));
            return;
        }
        var attempt = req.Previous ? c.Starts - 2 : c.Starts - 1;
        if (attempt < 0)
        {
            asker.Tell(req.Previous
                ? new KubeletProtocol.LogEnd(400, "BadRequest", $"previous terminated container \"{name}\" in pod \"{_name}\" not found")
                : new KubeletProtocol.LogEnd(400, "BadRequest", $"container \"{name}\" in pod \"{_name}\" is waiting to start: {c.WaitingReason}"));
            return;
        }
        var path = _ctx.Runtime is SimulatedRuntime ? null : ContainerLogPaths.File(_ctx.DataDirectory, _ns, _name, _uid, name, attempt);
        var follow = req.Follow && !req.Previous && c.Phase == ContainerPhase.Running && _state != PodWorkerState.Terminated;
        var streamer = Context.ActorOf(LogStreamer.Props(path, req, asker, follow, _ctx.Settings.LogFollowPoll));
        if (follow)
        {
            if (!_followers.TryGetValue(name, out var list)) _followers[name] = list = [];
            list.Add(streamer);
        }
    }
}
