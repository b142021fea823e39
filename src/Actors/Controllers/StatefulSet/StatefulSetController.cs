using System.Text.Json.Nodes;
using Akka.Actor;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Controllers.History;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.Controllers.StatefulSet;

/// <summary>
/// Runs StatefulSets: <see cref="StatefulSetLogic"/> decides from the caches (the set's pods and revisions, the claims
/// of its ordinals), <see cref="SetControllerBase"/> executes the steps under expectations; this actor adds the claims.
/// The fixed pod names make a create the cache had not seen yet fail with AlreadyExists instead of making a second pod.
/// </summary>
public sealed class StatefulSetController(IKubeApi api, ControllerSettings settings, Func<DateTime>? now)
    : SetControllerBase(api, settings, now, StatefulSetLogic.Kind)
{
    public static Props Props(IKubeApi api, ControllerSettings settings, Func<DateTime>? now = null) =>
        Akka.Actor.Props.Create(() => new StatefulSetController(api, settings, now));

    protected override string Name => ControllerNames.StatefulSet;
    protected override string Component => "statefulset-controller";
    protected override ApiResource Owners => ApiResource.StatefulSets;
    protected override IEnumerable<ApiResource> Watched =>
        [ApiResource.StatefulSets, ApiResource.Pods, ApiResource.ControllerRevisions, ApiResource.PersistentVolumeClaims];

    protected override string CreatedMessage(JsonObject set, string pod) => $"create Pod {pod} in StatefulSet {NameOf(set)} successful";
    protected override string DeletedMessage(JsonObject set, string pod) => $"delete Pod {pod} in StatefulSet {NameOf(set)} successful";

    /// <summary>The set a claim belongs to by its retention ownerReference (claims under Retain have none: their set is requeued by its pods).</summary>
    private static string? ClaimOwnerKey(JsonObject claim) =>
        (Meta(claim)["ownerReferences"] as JsonArray)?.OfType<JsonObject>()
            .Where(r => Str(r["kind"]) == StatefulSetLogic.Kind).Select(r => $"{NamespaceOf(claim)}/{Str(r["name"])}").FirstOrDefault();

    protected override void OnAdded(ApiResource resource, string key, JsonObject obj)
    {
        if (resource == ApiResource.PersistentVolumeClaims) { if (ClaimOwnerKey(obj) is { } set) Enqueue(set); return; }
        base.OnAdded(resource, key, obj);
    }

    protected override void OnUpdated(ApiResource resource, string key, JsonObject old, JsonObject obj)
    {
        if (resource == ApiResource.PersistentVolumeClaims) { if (ClaimOwnerKey(obj) is { } set) Enqueue(set); return; }
        base.OnUpdated(resource, key, old, obj);
    }

    protected override void OnDeleted(ApiResource resource, string key, JsonObject lastKnown)
    {
        if (resource == ApiResource.PersistentVolumeClaims) { if (ClaimOwnerKey(lastKnown) is { } set) Enqueue(set); return; }
        base.OnDeleted(resource, key, lastKnown);
    }

    protected override ReconcileAction? Plan(string key)
    {
        if (!CacheOf(ApiResource.StatefulSets).TryGetValue(key, out var set)) return null;
        // Until the watch has shown the last pass's creates and deletes, the cache may still hold a pod already
        // deleted (or lack one just made): deciding now could delete it twice.
        if (!Trusted(key)) return null;
        var pods = OwnedBy(ApiResource.Pods, set);
        var ns = NamespaceOf(set);
        var ordinals = Math.Max(StatefulSetLogic.Replicas(set), pods.Select(p => StatefulSetLogic.Ordinal(set, NameOf(p)) + 1).DefaultIfEmpty(0).Max());
        var claimCache = CacheOf(ApiResource.PersistentVolumeClaims);
        var claims = new Dictionary<string, JsonObject>(StringComparer.Ordinal);
        foreach (var template in StatefulSetLogic.ClaimTemplates(set))
            for (var i = 0; i < ordinals; i++)
            {
                var name = StatefulSetLogic.ClaimName(template, set, i);
                if (claimCache.TryGetValue($"{ns}/{name}", out var claim)) claims[name] = claim;
            }
        return Execute(key, set, StatefulSetLogic.Plan(set, pods, claims, OwnedBy(ApiResource.ControllerRevisions, set), Now()));
    }

    protected override async Task ExecuteOther(IKubeApi api, JsonObject set, SetStep step)
    {
        var ns = NamespaceOf(set);
        switch (step)
        {
            case SetStep.CreateClaim c:
                try
                {
                    await api.CreateAsync(ApiResource.PersistentVolumeClaims, ns, c.Claim);
                    Record(set, EventRecorderProtocol.Normal, "SuccessfulCreate",
                        $"create Claim {NameOf(c.Claim)} Pod {c.Pod} in StatefulSet {NameOf(set)} success");
                }
                catch (KubeApiException e) when (e.IsAlreadyExists) { }
                catch (KubeApiException e)
                {
                    Record(set, EventRecorderProtocol.Warning, "FailedCreate",
                        $"create Claim {NameOf(c.Claim)} for Pod {c.Pod} in StatefulSet {NameOf(set)} failed error: {e.Message}");
                    throw;
                }
                break;
            case SetStep.UpdateClaim u:
                try { await api.UpdateAsync(ApiResource.PersistentVolumeClaims, ns, u.Claim); }
                catch (KubeApiException e) when (e.IsNotFound) { }
                break;
            default:
                await base.ExecuteOther(api, set, step);
                break;
        }
    }
}
