using System.Text.Json.Nodes;
using Akka.Actor;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.Controllers.Deployment;

/// <summary>
/// Rolls Deployments out through ReplicaSets: <see cref="DeploymentLogic"/> decides, this actor executes the
/// steps (create/scale/delete ReplicaSets, the revision annotation, the status) and records ScalingReplicaSet events.
/// </summary>
public sealed class DeploymentController : ControllerBase
{
    private readonly Func<DateTime> _now;

    public DeploymentController(IKubeApi api, ControllerSettings settings, Func<DateTime>? now) : base(api, settings) =>
        _now = now ?? (() => DateTime.UtcNow);

    public static Props Props(IKubeApi api, ControllerSettings settings, Func<DateTime>? now = null) =>
        Akka.Actor.Props.Create(() => new DeploymentController(api, settings, now));

    protected override string Name => ControllerNames.Deployment;
    protected override string Component => "deployment-controller";
    protected override IEnumerable<ApiResource> Watched => [ApiResource.Deployments, ApiResource.ReplicaSets];

    private static string? OwnerKey(JsonObject rs)
    {
        var r = ControllerRef(rs);
        return r is not null && Str(r["kind"]) == "Deployment" ? $"{NamespaceOf(rs)}/{Str(r["name"])}" : null;
    }

    protected override void OnSynced(ApiResource resource, bool first)
    {
        if (resource == ApiResource.Deployments)
            foreach (var key in CacheOf(ApiResource.Deployments).Keys) Enqueue(key);
    }

    protected override void OnAdded(ApiResource resource, string key, JsonObject obj)
    {
        if (resource == ApiResource.Deployments) Enqueue(key);
        else if (OwnerKey(obj) is { } d) Enqueue(d);
    }

    protected override void OnUpdated(ApiResource resource, string key, JsonObject old, JsonObject obj)
    {
        if (resource == ApiResource.Deployments) { Enqueue(key); return; }
        if (OwnerKey(old) is { } a) Enqueue(a);
        if (OwnerKey(obj) is { } b) Enqueue(b);
    }

    protected override void OnDeleted(ApiResource resource, string key, JsonObject lastKnown)
    {
        if (resource == ApiResource.ReplicaSets && OwnerKey(lastKnown) is { } d) Enqueue(d);
    }

    protected override ReconcileAction? Plan(string key)
    {
        if (!CacheOf(ApiResource.Deployments).TryGetValue(key, out var d)) return null;
        var uid = UidOf(d);
        var owned = StoreOf(ApiResource.ReplicaSets).By(InformerIndex.OwnerUid, uid)
            .Where(rs => NamespaceOf(rs) == NamespaceOf(d) && Str(ControllerRef(rs)?["uid"]) == uid).ToList();
        var plan = DeploymentLogic.Plan(d, owned, _now());
        if (plan.Steps.Count == 0) return plan.RequeueAfter is null ? null : _ => Task.FromResult(plan.RequeueAfter);
        var ns = NamespaceOf(d);
        var name = NameOf(d);
        return async api =>
        {
            foreach (var step in plan.Steps)
            {
                switch (step)
                {
                    case DeploymentStep.CreateReplicaSet c:
                        await CreateReplicaSet(api, d, c.ReplicaSet);
                        break;
                    case DeploymentStep.UpdateReplicaSet u:
                        await api.UpdateAsync(ApiResource.ReplicaSets, ns, u.ReplicaSet);
                        if (u.To != u.From)
                            Record(d, EventRecorderProtocol.Normal, "ScalingReplicaSet",
                                $"Scaled {(u.To > u.From ? "up" : "down")} replica set {NameOf(u.ReplicaSet)} from {u.From} to {u.To}");
                        break;
                    case DeploymentStep.DeleteReplicaSet del:
                        try { await api.DeleteAsync(ApiResource.ReplicaSets, ns, del.Name, new DeleteOptions(PreconditionUid: del.Uid)); }
                        catch (KubeApiException e) when (e.IsNotFound) { }
                        break;
                    case DeploymentStep.SetDeploymentRevision r:
                        var patch = new JsonObject { ["metadata"] = new JsonObject { ["annotations"] = new JsonObject { [DeploymentLogic.RevisionAnnotation] = r.Revision } } };
                        await api.PatchAsync(ApiResource.Deployments, ns, name, PatchType.Merge, patch.ToJsonString());
                        break;
                    case DeploymentStep.UpdateStatus s:
                        await api.PatchAsync(ApiResource.Deployments, ns, name, PatchType.Merge,
                            new JsonObject { ["status"] = s.Status.DeepClone() }.ToJsonString(), subresource: "status");
                        break;
                }
            }
            return plan.RequeueAfter;
        };
    }

    private async Task CreateReplicaSet(IKubeApi api, JsonObject d, JsonObject rs)
    {
        var ns = NamespaceOf(d);
        try
        {
            await api.CreateAsync(ApiResource.ReplicaSets, ns, rs);
            Record(d, EventRecorderProtocol.Normal, "ScalingReplicaSet",
                $"Scaled up replica set {NameOf(rs)} from 0 to {DeploymentLogic.Replicas(rs)}");
        }
        catch (KubeApiException e) when (e.IsAlreadyExists)
        {
            var existing = await api.GetAsync(ApiResource.ReplicaSets, ns, NameOf(rs));
            if (Str(ControllerRef(existing)?["uid"]) == UidOf(d) && DeploymentLogic.TemplatesEqual(existing["spec"]?["template"], d["spec"]?["template"]))
                return; // our own RS, the cache had not seen it yet
            // A hash collision: bump collisionCount so the next attempt hashes differently.
            var fresh = await api.GetAsync(ApiResource.Deployments, ns, NameOf(d));
            var count = Long(fresh["status"]?["collisionCount"]) + 1;
            await api.PatchAsync(ApiResource.Deployments, ns, NameOf(d), PatchType.Merge,
                new JsonObject { ["status"] = new JsonObject { ["collisionCount"] = count } }.ToJsonString(), subresource: "status");
            throw new InvalidOperationException($"replica set name {NameOf(rs)} collides; collisionCount is now {count}");
        }
    }
}
