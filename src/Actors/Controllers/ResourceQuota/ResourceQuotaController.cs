using System.Text.Json.Nodes;
using Akka.Actor;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.Controllers.ResourceQuota;

/// <summary>
/// Kubernetes' resourcequota controller: keeps every quota's status.hard (a copy of spec.hard) and status.used (the
/// sum over the namespace's objects, <see cref="QuotaLogic.Usage"/>) current. Pods and claims come from informers
/// (a change re-counts the quotas of its namespace); other counted kinds (count/&lt;resource&gt;, services, secrets…)
/// are listed from the API when a quota is reconciled, and such quotas are re-counted every
/// <see cref="ResyncUnwatched"/> (Kubernetes re-counts everything every 5 minutes). Admission charges usage up
/// front; this controller gives back what deleted objects no longer use.
/// </summary>
public sealed class ResourceQuotaController : ControllerBase
{
    public static readonly TimeSpan ResyncUnwatched = TimeSpan.FromSeconds(10);

    public ResourceQuotaController(IKubeApi api, ControllerSettings settings) : base(api, settings) { }

    public static Props Props(IKubeApi api, ControllerSettings settings) =>
        Akka.Actor.Props.Create(() => new ResourceQuotaController(api, settings));

    protected override string Name => ControllerNames.ResourceQuota;
    protected override string Component => "resourcequota-controller";
    protected override IEnumerable<ApiResource> Watched => [ApiResource.ResourceQuotas, ApiResource.Pods, ApiResource.PersistentVolumeClaims];

    protected override void OnSynced(ApiResource resource, bool first)
    {
        foreach (var k in CacheOf(ApiResource.ResourceQuotas).Keys) Enqueue(k);
    }

    protected override void OnAdded(ApiResource resource, string key, JsonObject obj) => Changed(resource, key, obj);

    protected override void OnUpdated(ApiResource resource, string key, JsonObject old, JsonObject obj)
    {
        // a quota's own status write changes nothing to count; its spec (hard) does
        if (resource == ApiResource.ResourceQuotas && JsonNode.DeepEquals(old["spec"], obj["spec"]) && JsonNode.DeepEquals(old["status"]?["hard"], obj["spec"]?["hard"])
            && obj["status"]?["used"] is not null) return;
        Changed(resource, key, obj);
    }

    protected override void OnDeleted(ApiResource resource, string key, JsonObject lastKnown) => Changed(resource, key, lastKnown);

    private void Changed(ApiResource resource, string key, JsonObject obj)
    {
        if (resource == ApiResource.ResourceQuotas)
        {
            Enqueue(key);
            return;
        }
        var ns = NamespaceOf(obj);
        foreach (var (k, q) in CacheOf(ApiResource.ResourceQuotas))
            if (NamespaceOf(q) == ns) Enqueue(k);
    }

    protected override ReconcileAction? Plan(string key)
    {
        if (!CacheOf(ApiResource.ResourceQuotas).TryGetValue(key, out var quota) || IsDeleting(quota)) return null;
        var ns = NamespaceOf(quota) ?? "default";
        var hard = (quota["spec"]?["hard"] as JsonObject ?? []).Select(h => h.Key).ToList();
        var total = new Dictionary<string, decimal>(StringComparer.Ordinal);
        foreach (var watched in new[] { ApiResource.Pods, ApiResource.PersistentVolumeClaims })
            foreach (var obj in CacheOf(watched).Values)
                if (NamespaceOf(obj) == ns && !IsDeleting(obj)) QuotaLogic.Add(total, QuotaLogic.Usage(watched, obj));
        var unwatched = ApiResources.All
            .Where(r => r.Namespaced && r != ApiResource.Pods && r != ApiResource.PersistentVolumeClaims)
            .Where(r => hard.Any(h => h == QuotaLogic.CountName(r) || r.Group.Length == 0 && h == r.Resource))
            .ToList();
        var copy = (JsonObject)quota.DeepClone();
        return async api =>
        {
            foreach (var r in unwatched)
                foreach (var obj in (await api.ListAsync(r, ns)).Items)
                    if (!IsDeleting(obj)) QuotaLogic.Add(total, QuotaLogic.Usage(r, obj));
            var status = QuotaLogic.Status(copy, total);
            if (!JsonNode.DeepEquals(status, copy["status"]))
            {
                copy["status"] = status;
                await api.UpdateAsync(ApiResource.ResourceQuotas, ns, copy, subresource: "status");
            }
            return unwatched.Count > 0 ? ResyncUnwatched : null;
        };
    }
}
