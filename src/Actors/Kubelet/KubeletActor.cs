using System.Diagnostics;
using System.Text.Json.Nodes;
using Akka.Actor;
using Akka.Event;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Runtime;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.Kubelet;

/// <summary>
/// The kubelet of one (possibly hollow) node: registers the Node, renews its Lease, watches the pods bound
/// to it (informer with fieldSelector spec.nodeName) and runs each in a <see cref="PodWorker"/> child
/// (pod-&lt;uid&gt;). Pod IPs come from the node's pod CIDR and are released only after the worker stopped.
/// Answers <see cref="KubeletProtocol.GetLogs"/> and <see cref="KubeletProtocol.GetMetrics"/> over remoting.
/// </summary>
public sealed class KubeletActor : ReceiveActor, IWithTimers, IWithStash
{
    private const string LeaseTimer = "lease";
    private const string NodeStatusTimer = "node-status";
    private const string MetricsTimer = "metrics";
    private const string RegisterTimer = "register";
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly NodeIdentity _node;
    private readonly KubeletSettings _settings;
    private readonly IKubeApi _api;
    private readonly IContainerRuntime _runtime;
    private readonly string _dataDir;
    private readonly TimeSpan _leaseInterval;
    private readonly PodIpAllocator _ips;
    private readonly ContainerRegistry _registry = new();
    private readonly Dictionary<string, IActorRef> _workers = new(StringComparer.Ordinal);
    private readonly Dictionary<IActorRef, string> _uidOf = new();
    private readonly Dictionary<string, string> _uidByKey = new(StringComparer.Ordinal);
    /// <summary>The latest object of each pod with a worker (the informer's instance, not a copy): simulated usage of hollow nodes.</summary>
    private readonly Dictionary<string, JsonObject> _podByUid = new(StringComparer.Ordinal);
    private readonly HashSet<string> _finished = new(StringComparer.Ordinal);
    private readonly HashSet<string> _removing = new(StringComparer.Ordinal);
    /// <summary>Workers told to stop (pod gone or moved: <see cref="PodWorkerProtocol.PodRemoved"/>), with the grace period sent.</summary>
    private readonly Dictionary<string, long?> _released = new(StringComparer.Ordinal);
    /// <summary>Pods whose worker stopped unasked, waiting for <see cref="Recreate"/> (latest object).</summary>
    private readonly Dictionary<string, JsonObject> _recreating = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ResourceUsage> _lastUsage = new(StringComparer.Ordinal);
    private KubeletProtocol.NodeMetrics? _metrics;
    private (TimeSpan Cpu, DateTimeOffset At)? _lastSelf;
    private PodWorkerContext _ctx = null!;
    private string? _nodeUid;
    private JsonObject? _lease;
    private bool _leaseBusy;
    private bool _statusBusy;
    /// <summary>When the Node status was last posted (registration included); null = post at the next interval.</summary>
    private DateTimeOffset? _statusPostedAt;
    private DateTimeOffset _readySince = DateTimeOffset.UtcNow;

    public ITimerScheduler Timers { get; set; } = null!;
    public IStash Stash { get; set; } = null!;

    public KubeletActor(NodeIdentity node, KubeletSettings settings, IKubeApi api, IContainerRuntime runtime, string dataDir, TimeSpan? leaseInterval = null)
    {
        _node = node;
        _settings = settings;
        _api = api;
        _runtime = runtime;
        _dataDir = dataDir;
        _leaseInterval = leaseInterval ?? settings.LeaseInterval;
        _ips = new PodIpAllocator(node.PodCidr);
        Registering();
    }

    public static Props Props(NodeIdentity node, KubeletSettings settings, IKubeApi api, IContainerRuntime runtime, string dataDir, TimeSpan? leaseInterval = null) =>
        Akka.Actor.Props.Create(() => new KubeletActor(node, settings, api, runtime, dataDir, leaseInterval));

    private sealed record Registered(string? Uid);
    private sealed record RegisterFailed(Exception Error);
    private sealed class Tick { public static readonly Tick Lease = new(); public static readonly Tick NodeStatus = new(); public static readonly Tick Metrics = new(); public static readonly Tick Register = new(); }
    private sealed record LeaseDone(JsonObject? Lease, Exception? Error);
    private sealed record StatusReported(DateTimeOffset? PostedAt);
    private sealed record Recreate(string Uid);

    protected override void PreStart()
    {
        // The one event recorder of every component (Client/EventRecorder: client-go's correlator); hollow kubelets
        // record none by default, so 1,000 of them do not flood the store with Scheduled/Started events.
        var events = (_node.Hollow ? _settings.HollowEvents : _settings.Events)
            ? Context.ActorOf(EventRecorder.Props(_api, "kubelet", _node.NodeName), "events")
            : ActorRefs.Nobody;
        _ctx = new PodWorkerContext(_api, _runtime, _settings, _node.NodeName, _node.NodeIp, _dataDir, events, _registry);
        KubeletMetrics.Started(_node.NodeName, _registry, _leaseInterval);
        Register();
    }

    protected override void PostStop()
    {
        // Workers stop with us; their container actors kill their processes in PostStop.
        KubeletMetrics.Stopped(_node.NodeName);
    }

    // ---- registration ----

    private void Register()
    {
        RegisterAsync().PipeTo(Self, success: uid => new Registered(uid), failure: e => new RegisterFailed(e));
    }

    private async Task<string?> RegisterAsync()
    {
        var now = DateTimeOffset.UtcNow;
        var desired = NodeObjects.Node(_node, now);
        JsonObject stored;
        try
        {
            stored = await _api.CreateAsync(ApiResource.Nodes, null, desired);
        }
        catch (KubeApiException e) when (e.IsAlreadyExists || e.IsConflict)
        {
            var existing = await _api.GetAsync(ApiResource.Nodes, null, _node.NodeName);
            var meta = (JsonObject)existing["metadata"]!;
            var labels = meta["labels"] as JsonObject ?? new JsonObject();
            foreach (var (k, v) in NodeObjects.Labels(_node)) labels[k] = v?.DeepClone();
            meta["labels"] = labels;
            var annotations = meta["annotations"] as JsonObject ?? new JsonObject();
            foreach (var (k, v) in NodeObjects.Annotations(_node)) annotations[k] = v?.DeepClone();
            meta["annotations"] = annotations;
            var spec = existing["spec"] as JsonObject ?? new JsonObject();
            spec["podCIDR"] = _node.PodCidr;
            spec["podCIDRs"] = new JsonArray(_node.PodCidr);
            existing["spec"] = spec;
            stored = await _api.UpdateAsync(ApiResource.Nodes, null, existing);
        }
        await PatchNodeStatusAsync(now);
        try
        {
            await _api.CreateAsync(ApiResource.Namespaces, null, new JsonObject
            {
                ["apiVersion"] = "v1", ["kind"] = "Namespace", ["metadata"] = new JsonObject { ["name"] = NodeObjects.LeaseNamespace },
            });
        }
        catch (KubeApiException e) when (e.IsAlreadyExists || e.IsConflict) { }
        return stored["metadata"]?["uid"]?.GetValue<string>();
    }

    /// <summary>
    /// Posts the Node status when <paramref name="always"/> (report period over) or when the stored Node's status
    /// differs from this kubelet's (heartbeat times aside); true when it posted.
    /// </summary>
    private async Task<bool> ReportNodeStatusAsync(DateTimeOffset now, bool always)
    {
        if (!always)
        {
            var stored = await _api.GetAsync(ApiResource.Nodes, null, _node.NodeName);
            if (!NodeStatusReport.Differs(stored["status"] as JsonObject, NodeObjects.Status(_node, now, _readySince))) return false;
        }
        await PatchNodeStatusAsync(now);
        return true;
    }

    private Task PatchNodeStatusAsync(DateTimeOffset now)
    {
        var patch = new JsonObject { ["status"] = NodeObjects.Status(_node, now, _readySince) }.ToJsonString();
        return _api.PatchAsync(ApiResource.Nodes, null, _node.NodeName, PatchType.Merge, patch, "status");
    }

    private void Registering()
    {
        Receive<Registered>(r =>
        {
            _nodeUid = r.Uid;
            KubeletMetrics.Registered(_node.NodeName);
            _statusPostedAt = DateTimeOffset.UtcNow;
            _log.Info("node {0} registered (pod CIDR {1}, runtime {2})", _node.NodeName, _node.PodCidr, _runtime.Name);
            Become(Running);
            Stash.UnstashAll();
            // Spread hollow kubelets' timers so thousands do not renew in the same instant.
            var jitter = TimeSpan.FromMilliseconds(Random.Shared.Next((int)Math.Max(1, _leaseInterval.TotalMilliseconds)));
            Timers.StartPeriodicTimer(LeaseTimer, Tick.Lease, jitter, _leaseInterval);
            Timers.StartPeriodicTimer(NodeStatusTimer, Tick.NodeStatus, _settings.NodeStatusInterval + jitter, _settings.NodeStatusInterval);
            if (_runtime is ProcessRuntime)
                Timers.StartPeriodicTimer(MetricsTimer, Tick.Metrics, TimeSpan.Zero, _settings.MetricsInterval);
            Self.Tell(Tick.Lease);
            Context.ActorOf(Informer.Props(_api, new InformerOptions(ApiResource.Pods, FieldSelector: $"spec.nodeName={_node.NodeName}")), "pods-informer");
        });
        Receive<RegisterFailed>(f =>
        {
            _log.Info("registering node {0} failed ({1}); retrying in {2}", _node.NodeName, f.Error.GetBaseException().Message, _settings.RegisterRetry);
            Timers.StartSingleTimer(RegisterTimer, Tick.Register, _settings.RegisterRetry);
        });
        Receive<Tick>(t => t == Tick.Register, _ => Register());
        Receive<KubeletProtocol.GetLogs>(g => Sender.Tell(new KubeletProtocol.LogEnd(503, "ServiceUnavailable", $"kubelet of node {_node.NodeName} is still registering")));
        Receive<KubeletProtocol.GetMetrics>(_ => Sender.Tell(EmptyMetrics()));
        ReceiveAny(_ => Stash.Stash());
    }

    private void Running()
    {
        Receive<InformerProtocol.Synced>(s =>
        {
            var uids = new HashSet<string>(StringComparer.Ordinal);
            foreach (var pod in s.Objects.Values)
            {
                if (UidOf(pod) is { } uid) uids.Add(uid);
                Upsert(pod);
            }
            foreach (var uid in _workers.Keys.ToList())
                if (!uids.Contains(uid)) Remove(uid, null);
            foreach (var uid in _recreating.Keys.Where(u => !uids.Contains(u)).ToList()) _recreating.Remove(uid);
        });
        Receive<InformerProtocol.Added>(a => Upsert(a.Object));
        Receive<InformerProtocol.Updated>(u => Upsert(u.New));
        Receive<InformerProtocol.Deleted>(d =>
        {
            if (UidOf(d.LastKnown) is not { } uid) return;
            _recreating.Remove(uid);
            Remove(uid, d.LastKnown["metadata"]?["deletionGracePeriodSeconds"]?.GetValue<long>());
        });
        Receive<PodWorkerProtocol.PodFinished>(f =>
        {
            _finished.Add(f.Uid);
            _ips.Release(f.Uid);
        });
        Receive<Terminated>(t =>
        {
            if (!_uidOf.Remove(t.ActorRef, out var uid)) return;
            _workers.Remove(uid);
            _podByUid.Remove(uid, out var pod);
            _ips.Release(uid);
            _finished.Remove(uid);
            foreach (var key in _uidByKey.Where(kv => kv.Value == uid).Select(kv => kv.Key).ToList())
                _uidByKey.Remove(key);
            var released = _released.Remove(uid);
            // A worker that stopped unasked (`akkakube chaos stop-actor`, or a failure in its start) while its pod is still
            // bound here and not being deleted is re-created from the cache, after a pause so a worker failing at once
            // does not spin (the informer's next event for the pod would re-create it too).
            if (!released && pod is not null && pod["metadata"]?["deletionTimestamp"] is null)
            {
                _log.Warning("pod worker of {0} stopped unasked; re-creating it", Informer.KeyOf(pod));
                _recreating[uid] = pod;
                Timers.StartSingleTimer("recreate/" + uid, new Recreate(uid), _settings.WorkerRecreateDelay);
            }
        });
        Receive<Recreate>(r =>
        {
            if (_recreating.Remove(r.Uid, out var pod) && !_workers.ContainsKey(r.Uid)) Upsert(pod, recreated: true);
        });
        Receive<PodWorkerProtocol.WantPod>(w =>
        {
            if (_podByUid.TryGetValue(w.Uid, out var pod)) Sender.Tell(new PodWorkerProtocol.PodUpdated(pod));
            if (_released.TryGetValue(w.Uid, out var grace)) Sender.Tell(new PodWorkerProtocol.PodRemoved(grace));
        });
        Receive<Tick>(t => t == Tick.Lease, _ => RenewLease());
        Receive<LeaseDone>(d =>
        {
            _leaseBusy = false;
            KubeletMetrics.LeaseRenewed(_node.NodeName, d.Lease is not null);
            if (d.Lease is not null) _lease = d.Lease;
            else
            {
                _lease = null; // re-read next time
                _log.Debug("lease renewal of {0} failed: {1}", _node.NodeName, d.Error?.GetBaseException().Message);
            }
        });
        Receive<Tick>(t => t == Tick.NodeStatus, _ =>
        {
            if (_statusBusy) return;
            _statusBusy = true;
            var self = Self;
            var now = DateTimeOffset.UtcNow;
            var always = NodeStatusReport.PeriodElapsed(_statusPostedAt, now, _settings.NodeStatusReportFrequency);
            ReportNodeStatusAsync(now, always).ContinueWith(t =>
            {
                if (t.IsFaulted && t.Exception?.GetBaseException() is KubeApiException { IsNotFound: true })
                    self.Tell(new RegisterFailed(t.Exception)); // the Node was deleted: register again
                self.Tell(new StatusReported(t.IsCompletedSuccessfully && t.Result ? now : null));
            }, TaskScheduler.Default);
        });
        Receive<StatusReported>(r =>
        {
            _statusBusy = false;
            if (r.PostedAt is { } at) _statusPostedAt = at;
        });
        Receive<RegisterFailed>(_ => Register());
        Receive<Registered>(r =>
        {
            _nodeUid = r.Uid ?? _nodeUid;
            _statusPostedAt = DateTimeOffset.UtcNow;
        });
        Receive<Tick>(t => t == Tick.Metrics, _ => SampleMetrics());
        Receive<KubeletProtocol.GetLogs>(g =>
        {
            if (_uidByKey.TryGetValue($"{g.Namespace}/{g.PodName}", out var uid) && _workers.TryGetValue(uid, out var worker))
                worker.Forward(g);
            else
                Sender.Tell(new KubeletProtocol.LogEnd(404, "NotFound", $"pod \"{g.PodName}\" in namespace \"{g.Namespace}\" is not running on node {_node.NodeName}"));
        });
        Receive<KubeletProtocol.GetMetrics>(_ => Sender.Tell(_node.Hollow
            ? SimulatedUsage.For(_node.NodeName, _podByUid.Where(kv => !_finished.Contains(kv.Key)).Select(kv => kv.Value), DateTimeOffset.UtcNow, _settings.MetricsInterval.TotalSeconds)
            : _metrics ?? EmptyMetrics()));
    }

    private KubeletProtocol.NodeMetrics EmptyMetrics() =>
        new(_node.NodeName, DateTimeOffset.UtcNow, _settings.MetricsInterval.TotalSeconds, 0, 0, []);

    private static string? UidOf(JsonObject pod) => pod["metadata"]?["uid"]?.GetValue<string>();

    private void Upsert(JsonObject pod, bool recreated = false)
    {
        var uid = UidOf(pod);
        if (uid is null) return;
        var nodeName = pod["spec"]?["nodeName"]?.GetValue<string>();
        if (nodeName != _node.NodeName)
        {
            _recreating.Remove(uid);
            Remove(uid, null);
            return;
        }
        var key = Informer.KeyOf(pod);
        if (_workers.TryGetValue(uid, out var worker))
        {
            _podByUid[uid] = pod;
            worker.Tell(new PodWorkerProtocol.PodUpdated(pod));
            return;
        }
        var phase = pod["status"]?["phase"]?.GetValue<string>();
        var deleting = pod["metadata"]?["deletionTimestamp"] is not null;
        if (phase is "Succeeded" or "Failed")
        {
            // Finished before this kubelet (re)started: nothing runs; a deletion only needs the object removed.
            if (deleting) RemoveObject(pod, uid);
            return;
        }
        if (deleting && pod["status"]?["podIP"] is null)
        {
            // Never started here: nothing to stop.
            RemoveObject(pod, uid);
            return;
        }
        var ip = _ips.Allocate(uid, pod["status"]?["podIP"]?.GetValue<string>());
        if (ip is null)
        {
            _log.Warning("no free pod IP in {0} for pod {1}; it waits", _node.PodCidr, key);
            return;
        }
        recreated |= _recreating.Remove(uid);
        var child = Context.ActorOf(PodWorker.Props(pod, ip, _ctx, recreated), "pod-" + uid);
        Context.Watch(child);
        _workers[uid] = child;
        _podByUid[uid] = pod;
        _uidOf[child] = uid;
        _uidByKey[key] = uid;
    }

    private void RemoveObject(JsonObject pod, string uid)
    {
        if (!_removing.Add(uid)) return;
        var ns = pod["metadata"]?["namespace"]?.GetValue<string>();
        var name = pod["metadata"]?["name"]?.GetValue<string>() ?? "";
        _api.DeleteAsync(ApiResource.Pods, ns, name, new DeleteOptions(GracePeriodSeconds: 0, PreconditionUid: uid))
            .ContinueWith(_ => { }, TaskScheduler.Default);
    }

    private void Remove(string uid, long? grace)
    {
        if (_workers.TryGetValue(uid, out var worker))
        {
            _released[uid] = grace;
            worker.Tell(new PodWorkerProtocol.PodRemoved(grace));
        }
    }

    // ---- lease ----

    private void RenewLease()
    {
        if (_leaseBusy) return;
        _leaseBusy = true;
        var current = _lease;
        RenewLeaseAsync(current).PipeTo(Self, success: l => new LeaseDone(l, null), failure: e => new LeaseDone(null, e));
    }

    private async Task<JsonObject> RenewLeaseAsync(JsonObject? current)
    {
        var now = DateTimeOffset.UtcNow;
        if (current is null)
        {
            try
            {
                return await _api.CreateAsync(ApiResource.Leases, NodeObjects.LeaseNamespace,
                    NodeObjects.Lease(_node.NodeName, _nodeUid, _settings.LeaseDurationSeconds, now));
            }
            catch (KubeApiException e) when (e.IsAlreadyExists || e.IsConflict)
            {
                current = await _api.GetAsync(ApiResource.Leases, NodeObjects.LeaseNamespace, _node.NodeName);
            }
        }
        var next = (JsonObject)current.DeepClone();
        var spec = next["spec"] as JsonObject ?? new JsonObject();
        spec["holderIdentity"] = _node.NodeName;
        spec["leaseDurationSeconds"] = _settings.LeaseDurationSeconds;
        spec["renewTime"] = NodeObjects.MicroTime(now);
        next["spec"] = spec;
        return await _api.UpdateAsync(ApiResource.Leases, NodeObjects.LeaseNamespace, next);
    }

    // ---- metrics ----

    private void SampleMetrics()
    {
        var now = DateTimeOffset.UtcNow;
        var pods = new Dictionary<string, (ContainerRegistry.Entry Any, List<KubeletProtocol.ContainerMetrics> Containers)>(StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        long totalCpu = 0, totalMem = 0;
        foreach (var e in _registry.Snapshot())
        {
            var usage = e.Running.Usage();
            if (usage is null) continue;
            seen.Add(e.Running.ContainerId);
            long cpu = 0;
            if (_lastUsage.TryGetValue(e.Running.ContainerId, out var prev) && usage.At > prev.At)
                cpu = (long)(Math.Max(0, usage.CpuSeconds - prev.CpuSeconds) / (usage.At - prev.At).TotalSeconds * 1e9);
            _lastUsage[e.Running.ContainerId] = usage;
            if (!pods.TryGetValue(e.Uid, out var p)) pods[e.Uid] = p = (e, []);
            p.Containers.Add(new KubeletProtocol.ContainerMetrics(e.Container, cpu, usage.MemoryBytes));
            totalCpu += cpu;
            totalMem += usage.MemoryBytes;
        }
        foreach (var id in _lastUsage.Keys.Where(k => !seen.Contains(k)).ToList()) _lastUsage.Remove(id);
        using (var self = Process.GetCurrentProcess())
        {
            var cpuNow = self.TotalProcessorTime;
            if (_lastSelf is { } ls && now > ls.At)
                totalCpu += (long)((cpuNow - ls.Cpu).TotalSeconds / (now - ls.At).TotalSeconds * 1e9);
            _lastSelf = (cpuNow, now);
            totalMem += self.WorkingSet64;
        }
        _metrics = new KubeletProtocol.NodeMetrics(_node.NodeName, now, _settings.MetricsInterval.TotalSeconds, totalCpu, totalMem,
            pods.Values.Select(p => new KubeletProtocol.PodMetrics(p.Any.Namespace, p.Any.Pod, p.Any.Uid, now, _settings.MetricsInterval.TotalSeconds, p.Containers)).ToList());
    }
}
