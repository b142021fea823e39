using System.Text.Json.Nodes;
using Akka.Actor;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.Controllers.ReplicaSet;

/// <summary>
/// Keeps the number of active pods of each ReplicaSet at spec.replicas: creates pods from the template with a
/// controller ownerReference, deletes surplus pods in Kubernetes' order, maintains the status, and uses
/// <see cref="Expectations"/> so a lagging pod watch never leads to duplicate creates or deletes.
/// </summary>
public sealed class ReplicaSetController : ControllerBase
{
    private readonly Expectations _expectations;
    private readonly Func<DateTime> _now;

    public ReplicaSetController(IKubeApi api, ControllerSettings settings, Func<DateTime>? now) : base(api, settings)
    {
        _now = now ?? (() => DateTime.UtcNow);
        _expectations = new Expectations(settings.ExpectationsTimeout, _now);
    }

    public static Props Props(IKubeApi api, ControllerSettings settings, Func<DateTime>? now = null) =>
        Akka.Actor.Props.Create(() => new ReplicaSetController(api, settings, now));

    protected override string Name => ControllerNames.ReplicaSet;
    protected override string Component => "replicaset-controller";
    protected override IEnumerable<ApiResource> Watched => [ApiResource.ReplicaSets, ApiResource.Pods];

    private static string? OwnerKey(JsonObject pod)
    {
        var r = ControllerRef(pod);
        return r is not null && Str(r["kind"]) == "ReplicaSet" ? $"{NamespaceOf(pod)}/{Str(r["name"])}" : null;
    }

    protected override void OnSynced(ApiResource resource, bool first)
    {
        if (resource == ApiResource.ReplicaSets)
            foreach (var key in CacheOf(ApiResource.ReplicaSets).Keys) Enqueue(key);
    }

    protected override void OnAdded(ApiResource resource, string key, JsonObject obj)
    {
        if (resource == ApiResource.ReplicaSets) { Enqueue(key); return; }
        if (OwnerKey(obj) is { } rs)
        {
            _expectations.CreationObserved(rs);
            Enqueue(rs);
        }
    }

    protected override void OnUpdated(ApiResource resource, string key, JsonObject old, JsonObject obj)
    {
        if (resource == ApiResource.ReplicaSets) { Enqueue(key); return; }
        if (OwnerKey(old) is { } before) Enqueue(before);
        if (OwnerKey(obj) is { } after)
        {
            // A pod that starts terminating counts as deleted for expectations (Kubernetes does the same).
            if (IsDeleting(obj) && !IsDeleting(old)) _expectations.DeletionObserved(after);
            Enqueue(after);
        }
    }

    protected override void OnDeleted(ApiResource resource, string key, JsonObject lastKnown)
    {
        if (resource == ApiResource.ReplicaSets) { _expectations.Delete(key); return; }
        if (OwnerKey(lastKnown) is { } rs)
        {
            if (!IsDeleting(lastKnown)) _expectations.DeletionObserved(rs);
            Enqueue(rs);
        }
    }

    protected override ReconcileAction? Plan(string key)
    {
        if (!CacheOf(ApiResource.ReplicaSets).TryGetValue(key, out var rs)) return null;
        var uid = UidOf(rs);
        // The shared pod informer's owner index holds every owner; the ReplicaSet's pods are those it controls.
        var pods = StoreOf(ApiResource.Pods).By(InformerIndex.OwnerUid, uid)
            .Where(p => Str(ControllerRef(p)?["uid"]) == uid && NamespaceOf(p) == NamespaceOf(rs))
            .ToList();
        var active = pods.Where(ReplicaSetLogic.IsActive).ToList();
        var desired = (int)Long(rs["spec"]?["replicas"], 1);
        var diff = IsDeleting(rs) ? 0 : desired - active.Count;
        var now = _now();
        var (status, recheck) = ReplicaSetLogic.ComputeStatus(rs, active, now);
        var trusted = _expectations.Satisfied(key);
        var toCreate = trusted && diff > 0 ? diff : 0;
        var toDelete = trusted && diff < 0 ? ReplicaSetLogic.RankForDeletion(active).Take(-diff).ToList() : [];
        if (toCreate > 0 || toDelete.Count > 0) _expectations.Expect(key, toCreate, toDelete.Count);
        var statusChanged = ReplicaSetLogic.StatusDiffers(rs["status"] as JsonObject, status);
        if (toCreate == 0 && toDelete.Count == 0 && !statusChanged) return recheck is null ? null : _ => Task.FromResult(recheck);
        var template = ReplicaSetLogic.PodFromTemplate(rs);
        var ns = NamespaceOf(rs);
        return async api =>
        {
            if (toCreate > 0)
                await SlowStart.CreateAsync(api, ApiResource.Pods, ns, Enumerable.Repeat(template, toCreate).ToList(), Settings.MaxBurst,
                    pod => Record(rs, EventRecorderProtocol.Normal, "SuccessfulCreate", $"Created pod: {NameOf(pod)}"),
                    (abandoned, error) =>
                    {
                        _expectations.Lower(key, abandoned, 0);
                        Record(rs, EventRecorderProtocol.Warning, "FailedCreate", $"Error creating: {error.Message}");
                    });
            for (var i = 0; i < toDelete.Count; i++)
            {
                var pod = toDelete[i];
                try
                {
                    await api.DeleteAsync(ApiResource.Pods, ns, NameOf(pod), new DeleteOptions(PreconditionUid: UidOf(pod)));
                    Record(rs, EventRecorderProtocol.Normal, "SuccessfulDelete", $"Deleted pod: {NameOf(pod)}");
                }
                catch (KubeApiException e) when (e.IsNotFound)
                {
                    _expectations.DeletionObserved(key);
                }
                catch
                {
                    // this deletion and the ones never tried will not be observed
                    _expectations.Lower(key, 0, toDelete.Count - i);
                    throw;
                }
            }
            if (statusChanged)
            {
                var fresh = rs.DeepClone().AsObject();
                var merged = (fresh["status"] as JsonObject)?.DeepClone().AsObject() ?? new JsonObject();
                foreach (var (k, v) in status) merged[k] = v?.DeepClone();
                fresh["status"] = merged;
                try
                {
                    await api.UpdateAsync(ApiResource.ReplicaSets, ns, fresh, subresource: "status");
                }
                catch (KubeApiException e) when (e.IsNotFound) { }
            }
            return recheck;
        };
    }
}
