using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Akka.Actor;
using Akka.Event;
using Akka.Pattern;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Runtime;
using k8s;
using k8s.Models;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.Kubelet;

/// <summary>Running containers of a kubelet, for resource usage sampling (thread-safe).</summary>
public sealed class ContainerRegistry
{
    public sealed record Entry(string Namespace, string Pod, string Uid, string Container, IRunningContainer Running);

    /// <summary>A running process handed from a container actor that stopped (its pod worker restarts) to the next one.</summary>
    public sealed record Parked(ContainerProtocol.Launch Launch, IRunningContainer Running, bool Ready, bool Started);

    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly object _gate = new();
    private readonly HashSet<string> _handovers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Parked> _parked = new(StringComparer.Ordinal);

    /// <summary>The pod worker of <paramref name="podUid"/> restarts: its container actors park their processes instead of killing them.</summary>
    public void BeginHandover(string podUid)
    {
        lock (_gate) _handovers.Add(podUid);
    }

    /// <summary>Parks a running process during its pod's hand-over; false (kill it) when no hand-over is under way.</summary>
    public bool TryPark(string podUid, string container, Parked parked)
    {
        lock (_gate)
        {
            if (!_handovers.Contains(podUid)) return false;
            _parked[podUid + "/" + container] = parked;
            return true;
        }
    }

    public Parked? TakeParked(string podUid, string container)
    {
        lock (_gate) return _parked.Remove(podUid + "/" + container, out var p) ? p : null;
    }

    /// <summary>Ends a hand-over; returns the processes nobody adopted (the caller kills them, so none is left behind).</summary>
    public IReadOnlyList<Parked> EndHandover(string podUid)
    {
        lock (_gate)
        {
            _handovers.Remove(podUid);
            var prefix = podUid + "/";
            var left = _parked.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal)).ToList();
            foreach (var kv in left) _parked.Remove(kv.Key);
            return left.Select(kv => kv.Value).ToList();
        }
    }

    public void Add(Entry e) => _entries[e.Running.ContainerId] = e;
    public void Remove(string containerId) => _entries.TryRemove(containerId, out _);
    public Entry? Get(string containerId) => _entries.GetValueOrDefault(containerId);
    public IReadOnlyCollection<Entry> Snapshot() => _entries.Values.ToList();
}

/// <summary>What every pod worker of one kubelet shares.</summary>
public sealed record PodWorkerContext(
    IKubeApi Api,
    IContainerRuntime Runtime,
    KubeletSettings Settings,
    string NodeName,
    string HostIp,
    string DataDirectory,
    IActorRef Events,
    ContainerRegistry Registry);

/// <summary>Local messages from the kubelet to a pod worker.</summary>
public static class PodWorkerProtocol
{
    /// <summary>The pod object changed (from the informer).</summary>
    public sealed record PodUpdated(JsonObject Pod);

    /// <summary>The pod is gone from the API or no longer bound here: stop everything, do not touch the object.</summary>
    public sealed record PodRemoved(long? GracePeriodSeconds);

    /// <summary>To the kubelet: the pod reached Succeeded/Failed and runs nothing any more (its IP may be reused).</summary>
    public sealed record PodFinished(string Uid);

    /// <summary>To the kubelet from a restarted worker: send me the latest pod (<see cref="PodUpdated"/>, then <see cref="PodRemoved"/> if it was removed).</summary>
    public sealed record WantPod(string Uid);
}

/// <summary>
/// One pod on this node (/user/kubelet/pod-&lt;uid&gt;): runs init containers in order, then the containers, each
/// under a BackoffSupervisor (CrashLoopBackOff); decides restarts by restartPolicy; writes coalesced status
/// through the status subresource; on deletion terminates gracefully and removes the pod object.
/// <para>
/// Supervision (`akkakube chaos crash-actor`): a crashed worker is restarted by the kubelet's default strategy. Akka then
/// restarts its surviving children too (each container's back-off supervisor, which stops its container actor), so the
/// processes are handed over instead of killed: the worker opens a hand-over in <see cref="ContainerRegistry"/>, each
/// stopping container actor parks its running process there, and the new worker gives it to the new container actor
/// (<see cref="ContainerProtocol.Adopt"/>) when that asks to launch. Restart counts, last states and condition times
/// come back from the pod status it wrote. Processes nobody adopted within the hand-over window are killed.
/// A stopped worker (`chaos stop-actor`) stops its containers with it; the kubelet re-creates it from its informer cache.
/// </para>
/// </summary>
public sealed class PodWorker : ReceiveActor, IWithTimers, IWithStash, Chaos.ITakesInjectedCrashes, Chaos.IRecreatedWhenStopped
{
    private const string AdoptTimer = "adopt";
    private const string HandoverTimer = "handover";
    private static readonly TimeSpan AdoptTimeout = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan HandoverWindow = TimeSpan.FromSeconds(10);
    private const string FlushTimer = "flush";
    private const string DeadlineTimer = "termination-deadline";
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly PodWorkerContext _ctx;
    private readonly string _podIp;
    private JsonObject _podJson;
    private V1Pod _pod;
    private readonly string _ns;
    private readonly string _name;
    private readonly string _uid;
    private readonly List<ContainerState> _init = [];
    private readonly List<ContainerState> _main = [];
    private readonly Dictionary<string, V1Container> _specs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IActorRef> _supervisors = new(StringComparer.Ordinal);
    private readonly HashSet<string> _launching = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _crashStreak = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<IActorRef>> _followers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> _transitions = new(StringComparer.Ordinal);
    private DateTimeOffset _startTime = DateTimeOffset.UtcNow;
    private readonly KubeletMetrics.PodStart _startMetric = new();
    private readonly bool _recreated;
    private string _resynced = "started";
    private readonly HashSet<string> _awaitingLaunch = new(StringComparer.Ordinal);
    private readonly List<string> _adopted = [];
    private bool _adoptGotPod;
    private long? _removedGrace;
    private bool _removed;
    /// <summary>Re-created, and the status showing its containers running and ready again is not written yet.</summary>
    private bool _recreatedPending;
    public const string RecreatedPrefix = "re-created by the kubelet from its pod cache";
    private bool _initialized;
    private int _nextInit;
    private bool _terminating;
    private bool _removeObject;
    private bool _dirty;
    private bool _writing;
    private bool _finishedReported;
    private bool _stopping;

    public ITimerScheduler Timers { get; set; } = null!;
    public IStash Stash { get; set; } = null!;

    public PodWorker(JsonObject pod, string podIp, PodWorkerContext ctx, bool recreated = false)
    {
        _ctx = ctx;
        _recreated = recreated;
        _podIp = podIp;
        _podJson = pod;
        _pod = KubernetesJson.Deserialize<V1Pod>(pod.ToJsonString());
        _ns = _pod.Metadata?.NamespaceProperty ?? "default";
        _name = _pod.Metadata?.Name ?? "";
        _uid = _pod.Metadata?.Uid ?? "";
        foreach (var c in _pod.Spec?.InitContainers ?? [])
        {
            _init.Add(new ContainerState(c.Name, c.Image ?? "", isInit: true) { WaitingReason = "PodInitializing" });
            _specs[c.Name] = c;
        }
        foreach (var c in _pod.Spec?.Containers ?? [])
        {
            _main.Add(new ContainerState(c.Name, c.Image ?? "", isInit: false) { WaitingReason = _init.Count > 0 ? "PodInitializing" : "ContainerCreating" });
            _specs[c.Name] = c;
        }
        Active();
    }

    /// <param name="recreated">re-created by the kubelet after the previous worker stopped unasked: restart counts continue from the pod status.</param>
    public static Props Props(JsonObject pod, string podIp, PodWorkerContext ctx, bool recreated = false) =>
        Akka.Actor.Props.Create(() => new PodWorker(pod, podIp, ctx, recreated));

    private sealed record LaunchReady(string Name, IActorRef Container, ContainerProtocol.Launch Launch);
    private sealed record LaunchFailed(string Name, IActorRef Container, string Message);
    private sealed class Flush { public static readonly Flush Instance = new(); }
    private sealed record Written(bool Ok, bool Gone, string? Error);
    private sealed class Deadline { public static readonly Deadline Instance = new(); }
    private sealed class Deleted { public static readonly Deleted Instance = new(); }
    private sealed class AdoptDone { public static readonly AdoptDone Instance = new(); }
    private sealed class HandoverDone { public static readonly HandoverDone Instance = new(); }

    private IEnumerable<ContainerState> All => _init.Concat(_main);

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
    private ContainerState? Find(string name) => All.FirstOrDefault(c => c.Name == name);
    private string RestartPolicy => _pod.Spec?.RestartPolicy ?? "Always";

    protected override void PreStart()
    {
        if (_recreated)
        {
            // The previous worker stopped and took its containers with it: they start again, counting on from the status.
            var status = _podJson["status"] as JsonObject;
            PodStatusRestore.Apply(_init, status?["initContainerStatuses"] as JsonArray);
            PodStatusRestore.Apply(_main, status?["containerStatuses"] as JsonArray);
            foreach (var c in All)
            {
                c.Phase = ContainerPhase.Waiting;
                c.WaitingReason = "ContainerCreating";
                c.WaitingMessage = null;
                c.WillRestart = true;
                c.Ready = c.Started = false;
            }
            if (PodStatusRestore.Time(status?["startTime"]) is { } started) _startTime = started;
            _resynced = $"{RecreatedPrefix}; starting its containers again";
            _recreatedPending = true;
        }
        MarkDirty();
        if (_pod.Metadata?.DeletionTimestamp is not null)
        {
            BeginTermination(DeletionGrace(), removeObject: true);
            return;
        }
        StartNext();
    }

    protected override void PostStop()
    {
        foreach (var c in All)
            if (c.ContainerId is not null) _ctx.Registry.Remove(c.ContainerId);
        EndHandover();
    }

    private void EndHandover()
    {
        foreach (var left in _ctx.Registry.EndHandover(_uid))
        {
            _log.Warning("pod {0}/{1}: container {2} was not re-adopted after the worker's restart; killing it", _ns, _name, left.Launch.Spec.ContainerName);
            left.Running.Kill();
        }
    }

    /// <summary>
    /// A crash must not take the pod's containers down: the hand-over opens before Akka restarts the children (container
    /// actors park their processes as they stop); log streamers end (their clients see the stream end). The container
    /// registry keeps its entries (PostStop does not run).
    /// </summary>
    protected override void PreRestart(Exception reason, object message)
    {
        _log.Warning("pod worker {0}/{1} restarts after {2}: its running containers are handed over to the new worker", _ns, _name, reason.GetType().Name);
        _ctx.Registry.BeginHandover(_uid);
        foreach (var child in Context.GetChildren())
            if (!_specs.ContainsKey(child.Path.Name)) Context.Stop(child);
    }

    /// <summary>Re-adoption instead of PreStart (which would start new containers next to the running ones).</summary>
    protected override void PostRestart(Exception reason)
    {
        Become(Adopting);
        Context.Parent.Tell(new PodWorkerProtocol.WantPod(_uid));
        foreach (var child in Context.GetChildren())
        {
            if (!_specs.ContainsKey(child.Path.Name)) continue;
            _supervisors[child.Path.Name] = child;
            _awaitingLaunch.Add(child.Path.Name); // its back-off supervisor restarts and its new container actor asks to launch
        }
        _resynced = "re-adopting its containers";
        Timers.StartSingleTimer(AdoptTimer, AdoptDone.Instance, AdoptTimeout);
        Timers.StartSingleTimer(HandoverTimer, HandoverDone.Instance, HandoverWindow);
    }

    private void Adopting()
    {
        Receive<PodWorkerProtocol.PodUpdated>(u =>
        {
            _podJson = u.Pod;
            _pod = KubernetesJson.Deserialize<V1Pod>(u.Pod.ToJsonString());
            _adoptGotPod = true;
            if (_awaitingLaunch.Count == 0) FinishAdoption();
        });
        Receive<PodWorkerProtocol.PodRemoved>(r => { _removed = true; _removedGrace = r.GracePeriodSeconds; });
        Receive<ContainerProtocol.WantLaunch>(w =>
        {
            Stash.Stash();
            _awaitingLaunch.Remove(w.Name);
            if (_awaitingLaunch.Count == 0 && _adoptGotPod) FinishAdoption();
        });
        Receive<AdoptDone>(_ => FinishAdoption());
        Receive<HandoverDone>(_ => EndHandover());
        Receive<Chaos.ChaosProtocol.GetResync>(_ => Sender.Tell(new Chaos.ChaosProtocol.Resynced(_resynced)));
        ReceiveAny(_ => Stash.Stash());
    }

    /// <summary>Restores the containers' state from the pod status, then handles what waited (the launch requests adopt the parked processes).</summary>
    private void FinishAdoption()
    {
        Timers.Cancel(AdoptTimer);
        var status = _podJson["status"] as JsonObject;
        PodStatusRestore.Apply(_init, status?["initContainerStatuses"] as JsonArray);
        PodStatusRestore.Apply(_main, status?["containerStatuses"] as JsonArray);
        PodStatusRestore.Transitions(status, _transitions);
        if (PodStatusRestore.Time(status?["startTime"]) is { } started) _startTime = started;
        _nextInit = _init.TakeWhile(c => c.Succeeded).Count();
        _initialized = _nextInit == _init.Count;
        var phase = PodStatusBuilder.Phase(_init, _main, _initialized);
        _finishedReported = phase is "Succeeded" or "Failed";
        // Every container's new actor has asked to launch (their requests are stashed): the hand-over can end right
        // after they are handled, instead of at the end of its window.
        var everyContainerAsked = _awaitingLaunch.Count == 0;
        _awaitingLaunch.Clear();
        _adoptGotPod = false;
        ResyncSummary();
        Become(Active);
        Stash.UnstashAll();
        if (everyContainerAsked)
        {
            Timers.Cancel(HandoverTimer);
            Self.Tell(HandoverDone.Instance); // after the unstashed launch requests
        }
        MarkDirty();
        if (_removed) Self.Tell(new PodWorkerProtocol.PodRemoved(_removedGrace));
        else if (_pod.Metadata?.DeletionTimestamp is not null) BeginTermination(DeletionGrace(), removeObject: true);
        else if (!_finishedReported) StartNext();
    }

    private void ResyncSummary() =>
        _resynced = _adopted.Count > 0
            ? $"re-adopted {_adopted.Count} running container(s): {string.Join(", ", _adopted)}; restart counts restored from the pod status"
            : "re-adopted no running container; restart counts restored from the pod status";

    private TimeSpan DeletionGrace() =>
        TimeSpan.FromSeconds(_pod.Metadata?.DeletionGracePeriodSeconds ?? _pod.Spec?.TerminationGracePeriodSeconds ?? 30);

    private TimeSpan SpecGrace() => TimeSpan.FromSeconds(_pod.Spec?.TerminationGracePeriodSeconds ?? 30);

    private void Active()
    {
        Receive<PodWorkerProtocol.PodUpdated>(u =>
        {
            // Most updates are this kubelet's own status writes coming back: the typed pod is rebuilt only when
            // its spec or metadata changed (the worker reads nothing else of it).
            var changed = !SameSpecAndMetadata(_podJson, u.Pod);
            _podJson = u.Pod;
            if (changed) _pod = KubernetesJson.Deserialize<V1Pod>(u.Pod.ToJsonString());
            if (_pod.Metadata?.DeletionTimestamp is not null && !_terminating)
                BeginTermination(DeletionGrace(), removeObject: true);
        });
        Receive<PodWorkerProtocol.PodRemoved>(r =>
        {
            if (_terminating) { _removeObject = false; return; }
            BeginTermination(r.GracePeriodSeconds is { } g ? TimeSpan.FromSeconds(g) : SpecGrace(), removeObject: false);
        });
        Receive<ContainerProtocol.WantLaunch>(OnWantLaunch);
        Receive<LaunchReady>(r =>
        {
            if (_terminating) { r.Container.Tell(new ContainerProtocol.Terminate(TimeSpan.Zero, "pod terminating")); _launching.Remove(r.Name); return; }
            var image = _specs[r.Name].Image ?? "";
            Event(r.Name, "Normal", "Pulled", $"Container image \"{image}\" already present on machine");
            r.Container.Tell(r.Launch);
        });
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
        Receive<ContainerProtocol.StartFailed>(f =>
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
            else Event(f.Name, "Warning", "Failed", $"Error: {f.Message}");
            MarkDirty();
            CheckTerminated();
        });
        Receive<ContainerProtocol.Exited>(OnExited);
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
            }
        });
        Receive<ContainerProtocol.ContainerEvent>(e => Event(e.Name, e.Type, e.Reason, e.Message));
        Receive<Flush>(_ => WriteStatus());
        Receive<Written>(w =>
        {
            _writing = false;
            if (!w.Ok && !w.Gone)
            {
                _log.Debug("status write of {0}/{1} failed: {2}; retrying", _ns, _name, w.Error);
                _dirty = true;
                Timers.StartSingleTimer(FlushTimer, Flush.Instance, TimeSpan.FromSeconds(1));
                return;
            }
            if (_dirty && !Timers.IsTimerActive(FlushTimer)) Timers.StartSingleTimer(FlushTimer, Flush.Instance, _ctx.Settings.StatusCoalesce);
            if (_recreatedPending && w.Ok && !_dirty && _main.All(c => c.Phase == ContainerPhase.Running && c.Ready))
            {
                _recreatedPending = false;
                _resynced = $"{RecreatedPrefix}; containers started again and ready: "
                            + string.Join(", ", _main.Select(c => $"{c.Name}{(c.ContainerId is { } id && _ctx.Registry.Get(id)?.Running.Pid is { } pid ? $" pid {pid}" : "")} (restart count {c.RestartCount})"));
            }
        });
        Receive<Deadline>(_ =>
        {
            _log.Warning("pod {0}/{1}: containers did not stop in time; killing them", _ns, _name);
            foreach (var sup in _supervisors.Values) Context.Stop(sup);
            foreach (var c in All.Where(c => c.Phase == ContainerPhase.Running)) c.Phase = ContainerPhase.Terminated;
            _launching.Clear();
            CheckTerminated();
        });
        Receive<Deleted>(_ => Context.Stop(Self));
        Receive<KubeletProtocol.GetLogs>(OnGetLogs);
        Receive<Terminated>(_ => { });
        Receive<HandoverDone>(_ => EndHandover());
        Receive<Chaos.ChaosProtocol.InjectCrash>(_ => throw new Chaos.InjectedCrashException($"pod worker {_ns}/{_name}"));
        Receive<Chaos.ChaosProtocol.GetResync>(_ => Sender.Tell(new Chaos.ChaosProtocol.Resynced(_resynced)));
    }

    // ---- starting containers ----

    private void StartNext()
    {
        if (_terminating) return;
        if (!_initialized)
        {
            if (_nextInit < _init.Count)
            {
                StartContainer(_init[_nextInit]);
                return;
            }
            _initialized = true;
            foreach (var c in _main)
                if (c.WaitingReason == "PodInitializing") c.WaitingReason = "ContainerCreating";
            MarkDirty();
        }
        foreach (var c in _main)
            if (!_supervisors.ContainsKey(c.Name)) StartContainer(c);
    }

    private void StartContainer(ContainerState c)
    {
        if (_supervisors.ContainsKey(c.Name)) return; // re-adopted after a restart
        var b = _ctx.Settings.Backoff;
        var options = Backoff.OnStop(ContainerActor.Props(c.Name, Self, _ctx.Runtime, _ctx.Registry), "instance", b.Min, b.Max, b.RandomFactor, -1)
            .WithAutoReset(b.ResetAfter)
            .WithSupervisorStrategy(new OneForOneStrategy(_ => Directive.Stop));
        _supervisors[c.Name] = Context.ActorOf(BackoffSupervisor.Props(options), c.Name);
    }

    private void OnWantLaunch(ContainerProtocol.WantLaunch want)
    {
        var container = Sender;
        if (_ctx.Registry.TakeParked(_uid, want.Name) is { } parked)
        {
            Adopt(container, parked);
            return;
        }
        if (_terminating || Find(want.Name) is not { } state)
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
        var pod = _pod;
        var logPath = _ctx.Runtime is SimulatedRuntime ? null : ContainerLogPaths.File(_ctx.DataDirectory, _ns, _name, _uid, want.Name, attempt);
        var grace = SpecGrace();
        EnvResolver.ResolveAsync(_ctx.Api, pod, spec, _podIp, _ctx.HostIp).PipeTo(Self,
            success: env => new LaunchReady(want.Name, container, new ContainerProtocol.Launch(new ContainerLaunch
            {
                Namespace = _ns,
                PodName = _name,
                PodUid = _uid,
                NodeName = _ctx.NodeName,
                ContainerName = want.Name,
                Image = spec.Image ?? "",
                Command = EnvResolver.ExpandAll(spec.Command, env),
                Args = EnvResolver.ExpandAll(spec.Args, env),
                WorkingDir = spec.WorkingDir,
                Env = env,
                PodIp = _podIp,
                Port = spec.Ports?.FirstOrDefault()?.ContainerPort,
                Attempt = attempt,
                LogPath = logPath,
            }, spec, grace)),
            failure: e => new LaunchFailed(want.Name, container, e is EnvResolutionException ? e.Message : e.GetBaseException().Message));
    }

    /// <summary>Gives a process parked during this worker's restart to its container's new actor.</summary>
    private void Adopt(IActorRef container, ContainerRegistry.Parked parked)
    {
        var name = parked.Launch.Spec.ContainerName;
        container.Tell(new ContainerProtocol.Adopt(parked));
        if (Find(name) is { } c)
        {
            var running = parked.Running;
            c.Phase = ContainerPhase.Running;
            c.Starts = parked.Launch.Spec.Attempt + 1;
            c.StartedAt = running.StartedAt;
            c.ContainerId = running.ContainerId;
            c.ImageId = running.ImageId;
            c.WaitingMessage = null;
            c.Ready = parked.Ready;
            c.Started = parked.Started;
            _ctx.Registry.Add(new ContainerRegistry.Entry(_ns, _name, _uid, name, running));
            MarkDirty();
        }
        _adopted.Add(parked.Running.Pid is { } pid ? $"{name} pid {pid}" : name);
        ResyncSummary();
        _log.Info("pod {0}/{1}: re-adopted container {2}{3}", _ns, _name, name, parked.Running.Pid is { } p ? $" (pid {p})" : "");
    }

    private void OnStarted(ContainerProtocol.Started s)
    {
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
        _ctx.Registry.Add(new ContainerRegistry.Entry(_ns, _name, _uid, s.Name, s.Running));
        Event(s.Name, "Normal", "Created", $"Created container {s.Name}");
        Event(s.Name, "Normal", "Started", $"Started container {s.Name}");
        MarkDirty();
    }

    private void OnExited(ContainerProtocol.Exited e)
    {
        if (Find(e.Name) is not { } c) { Sender.Tell(new ContainerProtocol.ExitDecision(false)); return; }
        _ctx.Registry.Remove(e.Info.ContainerId);
        var info = e.KilledBecause is null ? e.Info : e.Info with { Message = $"Container {e.Name} {e.KilledBecause}" };
        var restart = RestartRules.ShouldRestart(RestartPolicy, c.IsInit, info.ExitCode, _terminating);
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

        if (c.IsInit && info.ExitCode == 0 && !_terminating)
        {
            _nextInit++;
            StartNext();
        }
        CheckFinished();
        CheckTerminated();
    }

    private static string FormatDuration(TimeSpan t) =>
        t.TotalMinutes >= 1 ? $"{(int)t.TotalMinutes}m{t.Seconds}s" : t.TotalSeconds >= 1 ? $"{t.TotalSeconds:0.#}s" : $"{t.TotalMilliseconds:0}ms";

    private void CheckFinished()
    {
        if (_finishedReported) return;
        var phase = PodStatusBuilder.Phase(_init, _main, _initialized);
        if (phase is "Succeeded" or "Failed")
        {
            _finishedReported = true;
            foreach (var sup in _supervisors.Values) Context.Stop(sup);
            _supervisors.Clear();
            Context.Parent.Tell(new PodWorkerProtocol.PodFinished(_uid));
        }
    }

    // ---- termination ----

    private void BeginTermination(TimeSpan grace, bool removeObject)
    {
        _terminating = true;
        _removeObject = removeObject;
        foreach (var c in All)
        {
            if (c.Phase == ContainerPhase.Running)
                Event(c.Name, "Normal", "Killing", $"Stopping container {c.Name}");
            if (c.Phase == ContainerPhase.Running || _launching.Contains(c.Name))
                _supervisors.GetValueOrDefault(c.Name)?.Tell(new ContainerProtocol.Terminate(grace, "pod deleted"));
        }
        Timers.StartSingleTimer(DeadlineTimer, Deadline.Instance, grace + TimeSpan.FromSeconds(5));
        CheckTerminated();
    }

    private void CheckTerminated()
    {
        if (!_terminating || _stopping) return;
        if (All.Any(c => c.Phase == ContainerPhase.Running) || _launching.Count > 0) return;
        _stopping = true;
        Timers.Cancel(DeadlineTimer);
        foreach (var sup in _supervisors.Values) Context.Stop(sup);
        foreach (var followers in _followers.Values)
            foreach (var f in followers) f.Tell(LogStreamer.ContainerEnded.Instance);
        if (!_removeObject)
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
                self.Tell(Deleted.Instance);
            }, TaskScheduler.Default);
    }

    // ---- status ----

    private void MarkDirty()
    {
        _dirty = true;
        if (!_writing && !Timers.IsTimerActive(FlushTimer))
            Timers.StartSingleTimer(FlushTimer, Flush.Instance, _ctx.Settings.StatusCoalesce);
    }

    private void WriteStatus()
    {
        if (_writing || !_dirty || _stopping && _removeObject) return;
        _dirty = false;
        _writing = true;
        var status = PodStatusBuilder.Build(_init, _main, _initialized, _podIp, _ctx.HostIp, _startTime, _transitions, DateTimeOffset.UtcNow);
        if (!_recreated) _startMetric.StatusWritten(status);
        var patch = new JsonObject { ["status"] = status }.ToJsonString();
        _ctx.Api.PatchAsync(ApiResource.Pods, _ns, _name, PatchType.Merge, patch, "status").PipeTo(Self,
            success: _ => new Written(true, false, null),
            failure: e => e.GetBaseException() is KubeApiException { Code: 404 } ? new Written(false, true, null) : new Written(false, false, e.GetBaseException().Message));
    }

    // ---- events and logs ----

    private void Event(string container, string type, string reason, string message)
    {
        var index = _init.FindIndex(c => c.Name == container);
        var fieldPath = index >= 0 ? $"spec.initContainers{{{container}}}" : $"spec.containers{{{container}}}";
        _ctx.Events.Tell(new EventRecorderProtocol.Record(new InvolvedObject("Pod", _ns, _name, _uid, "v1", FieldPath: fieldPath), type, reason, message));
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
        var follow = req.Follow && !req.Previous && c.Phase == ContainerPhase.Running && !_stopping;
        var streamer = Context.ActorOf(LogStreamer.Props(path, req, asker, follow, _ctx.Settings.LogFollowPoll));
        if (follow)
        {
            if (!_followers.TryGetValue(name, out var list)) _followers[name] = list = [];
            list.Add(streamer);
        }
    }
}
