using System.Text.Json.Nodes;
using Akka.Actor;
using Akka.Event;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.Controllers.PodGc;

/// <summary>
/// kube-controller-manager's pod garbage collector (decisions in <see cref="PodGcLogic"/>). A pod bound to a Node that
/// is gone (a worker whose instance the cloud controller deleted, `kubectl delete node`) would stay Terminating forever:
/// its kubelet will never confirm the deletion. After the Node has been absent from the cache for the quarantine and the
/// API confirms it is gone, the pod is marked Failed with the DisruptionTarget condition and deleted with grace 0.
/// Terminating pods that were never scheduled go at once; finished pods beyond the threshold go oldest first.
/// </summary>
public sealed class PodGcController : ControllerBase
{
    /// <summary>The key of the finished-pods pass (not a pod key: pod keys always contain '/').</summary>
    private const string TerminatedKey = "terminated-pods";
    private readonly PodGcSettings _gc;
    private readonly Func<DateTime> _now;
    private readonly Dictionary<string, DateTime> _orphanSince = new(StringComparer.Ordinal);

    public PodGcController(IKubeApi api, ControllerSettings settings, PodGcSettings gc, Func<DateTime>? now) : base(api, settings)
    {
        _gc = gc;
        _now = now ?? (() => DateTime.UtcNow);
    }

    public static Props Props(IKubeApi api, ControllerSettings settings, PodGcSettings gc, Func<DateTime>? now = null) =>
        Akka.Actor.Props.Create(() => new PodGcController(api, settings, gc, now));

    protected override string Name => ControllerNames.PodGc;
    protected override string Component => "pod-garbage-collector";
    protected override IEnumerable<ApiResource> Watched => [ApiResource.Pods, ApiResource.Nodes];

    private bool NodeKnown(string node) => CacheOf(ApiResource.Nodes).ContainsKey(node);

    private void Consider(string key, JsonObject pod)
    {
        if (!AllSynced) return;
        if (PodGcLogic.Decide(pod, NodeKnown) != PodGcAction.Keep) Enqueue(key);
        else _orphanSince.Remove(key);
        if (PodGcLogic.IsTerminated(pod)) Enqueue(TerminatedKey);
    }

    protected override void OnSynced(ApiResource resource, bool first)
    {
        if (!AllSynced) return;
        foreach (var (key, pod) in CacheOf(ApiResource.Pods)) Consider(key, pod);
    }

    protected override void OnAdded(ApiResource resource, string key, JsonObject obj)
    {
        if (resource == ApiResource.Pods) Consider(key, obj);
    }

    protected override void OnUpdated(ApiResource resource, string key, JsonObject old, JsonObject obj)
    {
        if (resource == ApiResource.Pods) Consider(key, obj);
    }

    protected override void OnDeleted(ApiResource resource, string key, JsonObject lastKnown)
    {
        if (resource == ApiResource.Pods)
        {
            _orphanSince.Remove(key);
            return;
        }
        if (!AllSynced) return;
        // A Node is gone: every pod bound to it starts its quarantine.
        var pods = StoreOf(ApiResource.Pods);
        foreach (var podKey in pods.KeysBy(InformerIndex.NodeName, NameOf(lastKnown))) Enqueue(podKey);
    }

    protected override ReconcileAction? Plan(string key)
    {
        if (key == TerminatedKey) return PlanTerminated();
        if (!CacheOf(ApiResource.Pods).TryGetValue(key, out var pod))
        {
            _orphanSince.Remove(key);
            return null;
        }
        switch (PodGcLogic.Decide(pod, NodeKnown))
        {
            case PodGcAction.ForceDeleteUnscheduled:
                Log.Info("pod-garbage-collector: force-deleting {0}: terminating and never scheduled", key);
                return async api =>
                {
                    await ForceDelete(api, pod);
                    return null;
                };
            case PodGcAction.Quarantine:
                var now = _now();
                if (!_orphanSince.TryGetValue(key, out var since)) _orphanSince[key] = since = now;
                var remaining = since + _gc.OrphanQuarantine - now;
                if (remaining > TimeSpan.Zero) return _ => Task.FromResult<TimeSpan?>(remaining);
                var node = Str(pod["spec"]?["nodeName"]) ?? "";
                return async api =>
                {
                    // The cache may lag: only the API saying the Node is gone makes the pod an orphan.
                    try
                    {
                        await api.GetAsync(ApiResource.Nodes, null, node);
                        return null;
                    }
                    catch (KubeApiException e) when (e.IsNotFound) { }
                    if (PodGcLogic.OrphanStatus(pod, now) is { } status)
                    {
                        var failed = pod.DeepClone().AsObject();
                        failed["status"] = status;
                        try
                        {
                            await api.UpdateAsync(ApiResource.Pods, NamespaceOf(pod), failed, subresource: "status");
                        }
                        catch (KubeApiException e) when (e.IsNotFound)
                        {
                            return null;
                        }
                    }
                    Log.Info("pod-garbage-collector: force-deleting {0}: its node {1} no longer exists", key, node);
                    await ForceDelete(api, pod);
                    return null;
                };
            default:
                _orphanSince.Remove(key);
                return null;
        }
    }

    private ReconcileAction? PlanTerminated()
    {
        // fewer pods than the threshold cannot hold too many finished ones: no scan on every finished pod's event
        var pods = CacheOf(ApiResource.Pods);
        if (_gc.TerminatedPodThreshold == 0 || pods.Count <= _gc.TerminatedPodThreshold) return null;
        var excess = PodGcLogic.TerminatedBeyond(pods.Values, _gc.TerminatedPodThreshold);
        if (excess.Count == 0) return null;
        Log.Info("pod-garbage-collector: deleting {0} finished pods beyond the threshold of {1}", excess.Count, _gc.TerminatedPodThreshold);
        return async api =>
        {
            foreach (var pod in excess) await ForceDelete(api, pod);
            return null;
        };
    }

    private static async Task ForceDelete(IKubeApi api, JsonObject pod)
    {
        try
        {
            await api.DeleteAsync(ApiResource.Pods, NamespaceOf(pod), NameOf(pod), new DeleteOptions(GracePeriodSeconds: 0, PreconditionUid: UidOf(pod)));
        }
        catch (KubeApiException e) when (e.IsNotFound || e.IsConflict) { }
    }
}
