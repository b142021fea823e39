using AkkaKube.Actors.Machinery;
using System.Text.Json.Nodes;
using Akka.Actor;
using Akka.Event;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Runtime;

namespace AkkaKube.Actors.Kubelet;

/// <summary>
/// The kubelet's pod manager (/user/kubelet/pods): watches the pods bound to this node (informer with fieldSelector
/// spec.nodeName) and runs each in a <see cref="PodWorker"/> child (pod-&lt;uid&gt;). Pod IPs come from the node's pod
/// CIDR and are released once the pod finished or its worker stopped. A worker that stopped unasked is re-created
/// from the informer's cache. Routes <see cref="KubeletProtocol.GetLogs"/> to the pod's worker.
/// </summary>
public sealed class PodManager : ReceiveActor, IWithTimers
{
    /// <summary>The latest objects of the pods that run here (not finished): the hollow node's simulated usage.</summary>
    public sealed class GetActivePods { public static readonly GetActivePods Instance = new(); }

    public sealed record ActivePods(IReadOnlyList<JsonObject> Pods);

    /// <summary>Timer name of the re-creation of the worker of a pod.</summary>
    public static string RecreateTimer(string uid) => "recreate/" + uid;

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly NodeIdentity _node;
    private readonly PodWorkerContext _ctx;
    private readonly PodIpAllocator _ips;
    private readonly Dictionary<string, WorkerEntry> _workers = new(StringComparer.Ordinal);
    private readonly Dictionary<IActorRef, string> _uidOf = new();
    private readonly Dictionary<string, string> _uidByKey = new(StringComparer.Ordinal);
    /// <summary>Pods whose worker stopped unasked, waiting for <see cref="Recreate"/> (latest object).</summary>
    private readonly Dictionary<string, JsonObject> _recreating = new(StringComparer.Ordinal);
    /// <summary>Pods never started here whose object this manager removes.</summary>
    private readonly HashSet<string> _removing = new(StringComparer.Ordinal);

    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>One pod with a worker: the latest object (the informer's instance, not a copy), and what was asked of it.</summary>
    private sealed class WorkerEntry(IActorRef worker, string key, JsonObject pod)
    {
        public IActorRef Worker { get; } = worker;
        public string Key { get; } = key;
        public JsonObject Pod { get; set; } = pod;
        public bool Finished { get; set; }
        /// <summary>Told to stop (pod gone or moved: <see cref="PodWorkerProtocol.PodRemoved"/>), with the grace period sent.</summary>
        public PodWorkerProtocol.PodRemoved? Released { get; set; }
    }

    private sealed record Recreate(string Uid);

    /// <summary>
    /// What the runtime still runs for pods no longer bound here and without a worker (deleted while a restarted kubelet
    /// was down; cri re-adopts from the runtime) is killed and its sandbox removed, as the kubelet's garbage collection does.
    /// </summary>
    private void RemoveOrphans(IReadOnlySet<string> bound)
    {
        var orphans = _ctx.Runtime.List().Where(c => c.Launch.NodeName == _node.NodeName && !bound.Contains(c.Launch.PodUid) && !_workers.ContainsKey(c.Launch.PodUid)).ToList();
        foreach (var c in orphans)
        {
            _log.Info("pod {0}/{1} (uid {2}) is no longer bound to this node: killing its container {3}", c.Launch.Namespace, c.Launch.PodName, c.Launch.PodUid, c.ContainerId);
            c.Kill();
        }
        if (_ctx.Runtime is not IPodSandboxRuntime sandboxes) return;
        var log = _log;
        foreach (var uid in sandboxes.PodUids.Where(u => !bound.Contains(u) && !_workers.ContainsKey(u)).ToList())
            sandboxes.RemovePodSandboxAsync(uid).ContinueWith(t =>
            {
                if (t.IsFaulted) log.Warning("removing the sandbox of pod uid {0} failed: {1}", uid, t.Exception?.GetBaseException().Message);
            }, TaskScheduler.Default);
    }

    public PodManager(NodeIdentity node, PodWorkerContext ctx)
    {
        _node = node;
        _ctx = ctx;
        _ips = new PodIpAllocator(node.PodCidr);

        Receive<InformerProtocol.Synced>(s =>
        {
            var uids = new HashSet<string>(StringComparer.Ordinal);
            foreach (var pod in s.Objects.Values)
            {
                if (UidOf(pod) is { } uid) uids.Add(uid);
                Upsert(pod);
            }
            foreach (var uid in _workers.Keys.Where(u => !uids.Contains(u)).ToList()) Release(uid, null);
            foreach (var uid in _recreating.Keys.Where(u => !uids.Contains(u)).ToList()) _recreating.Remove(uid);
            RemoveOrphans(uids);
        });
        Receive<InformerProtocol.Added>(a => Upsert(a.Object));
        Receive<InformerProtocol.Updated>(u => Upsert(u.New));
        Receive<InformerProtocol.Deleted>(d =>
        {
            if (UidOf(d.LastKnown) is not { } uid) return;
            _recreating.Remove(uid);
            Release(uid, d.LastKnown["metadata"]?["deletionGracePeriodSeconds"]?.GetValue<long>());
        });
        Receive<PodWorkerProtocol.PodFinished>(f =>
        {
            if (_workers.TryGetValue(f.Uid, out var entry)) entry.Finished = true;
            _ips.Release(f.Uid);
        });
        Receive<Terminated>(t => OnWorkerStopped(t.ActorRef));
        Receive<Recreate>(r =>
        {
            if (_recreating.Remove(r.Uid, out var pod) && !_workers.ContainsKey(r.Uid)) Upsert(pod, recreated: true);
        });
        Receive<PodWorkerProtocol.WantPod>(w =>
        {
            if (!_workers.TryGetValue(w.Uid, out var entry)) return;
            Sender.Tell(new PodWorkerProtocol.PodUpdated(entry.Pod));
            if (entry.Released is { } removed) Sender.Tell(removed);
        });
        Receive<KubeletProtocol.GetLogs>(g =>
        {
            if (_uidByKey.TryGetValue($"{g.Namespace}/{g.PodName}", out var uid) && _workers.TryGetValue(uid, out var entry))
                entry.Worker.Forward(g);
            else
                Sender.Tell(new KubeletProtocol.LogEnd(404, "NotFound", $"pod \"{g.PodName}\" in namespace \"{g.Namespace}\" is not running on node {_node.NodeName}"));
        });
        Receive<KubeletProtocol.IPodStreamRequest>(g =>
        {
            if (_uidByKey.TryGetValue($"{g.Namespace}/{g.PodName}", out var uid) && _workers.TryGetValue(uid, out var entry))
                entry.Worker.Forward(g);
            else
                Sender.Tell(new KubeletProtocol.StreamRefused(404, "NotFound", $"pod \"{g.PodName}\" in namespace \"{g.Namespace}\" is not running on node {_node.NodeName}"));
        });
        Receive<GetActivePods>(_ => Sender.Tell(new ActivePods(_workers.Values.Where(e => !e.Finished).Select(e => e.Pod).ToList())));
    }

    public static Props Props(NodeIdentity node, PodWorkerContext ctx) => Akka.Actor.Props.Create(() => new PodManager(node, ctx));

    protected override void PreStart() =>
        SharedInformers.Get(Context.System).Subscribe(_ctx.Api, new InformerOptions(ApiResource.Pods, FieldSelector: $"spec.nodeName={_node.NodeName}"), Self);

    private static string? UidOf(JsonObject pod) => pod["metadata"]?["uid"]?.GetValue<string>();

    private void Upsert(JsonObject pod, bool recreated = false)
    {
        if (UidOf(pod) is not { } uid) return;
        if (pod["spec"]?["nodeName"]?.GetValue<string>() != _node.NodeName)
        {
            _recreating.Remove(uid);
            Release(uid, null);
            return;
        }
        if (_workers.TryGetValue(uid, out var entry))
        {
            entry.Pod = pod;
            entry.Worker.Tell(new PodWorkerProtocol.PodUpdated(pod));
            return;
        }
        var key = Informer.KeyOf(pod);
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
        var worker = Context.ActorOf(PodWorker.Props(pod, ip, _ctx, recreated), AkkaKubeNames.Actors.KubeletChildren.PodWorkerPrefix + uid);
        Context.Watch(worker);
        _workers[uid] = new WorkerEntry(worker, key, pod);
        _uidOf[worker] = uid;
        _uidByKey[key] = uid;
    }

    private void OnWorkerStopped(IActorRef worker)
    {
        if (!_uidOf.Remove(worker, out var uid) || !_workers.Remove(uid, out var entry)) return;
        _ips.Release(uid);
        if (_uidByKey.TryGetValue(entry.Key, out var keyed) && keyed == uid) _uidByKey.Remove(entry.Key);
        // A worker that stopped unasked (`akkakube chaos stop-actor`, or a failure in its start) while its pod is still
        // bound here and not being deleted is re-created from the cache, after a pause so a worker failing at once
        // does not spin (the informer's next event for the pod would re-create it too).
        if (entry.Released is null && entry.Pod["metadata"]?["deletionTimestamp"] is null)
        {
            _log.Warning("pod worker of {0} stopped unasked; re-creating it", entry.Key);
            _recreating[uid] = entry.Pod;
            Timers.StartSingleTimer(RecreateTimer(uid), new Recreate(uid), _ctx.Settings.WorkerRecreateDelay);
        }
    }

    private void RemoveObject(JsonObject pod, string uid)
    {
        if (!_removing.Add(uid)) return;
        var ns = pod["metadata"]?["namespace"]?.GetValue<string>();
        var name = pod["metadata"]?["name"]?.GetValue<string>() ?? "";
        _ctx.Api.DeleteAsync(ApiResource.Pods, ns, name, new DeleteOptions(GracePeriodSeconds: 0, PreconditionUid: uid))
            .ContinueWith(_ => { }, TaskScheduler.Default);
    }

    /// <summary>The pod is gone or moved: its worker stops it (once told, it is not re-created).</summary>
    private void Release(string uid, long? grace)
    {
        if (!_workers.TryGetValue(uid, out var entry)) return;
        entry.Released = new PodWorkerProtocol.PodRemoved(grace);
        entry.Worker.Tell(entry.Released);
    }
}
