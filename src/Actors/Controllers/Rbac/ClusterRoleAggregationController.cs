using System.Text.Json.Nodes;
using Akka.Actor;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.Controllers.Rbac;

/// <summary>
/// Kubernetes' clusterrole-aggregation controller: a ClusterRole with an aggregationRule gets, as its rules, the
/// union of the rules of every ClusterRole its selectors match (admin, edit and view are built this way, and a
/// CRD author extends them by labelling a ClusterRole <c>rbac.authorization.k8s.io/aggregate-to-view: "true"</c>).
/// The rules are written into the object, so authorization and `kubectl get clusterrole -o yaml` read the same thing.
/// </summary>
public sealed class ClusterRoleAggregationController : ControllerBase
{
    public ClusterRoleAggregationController(IKubeApi api, ControllerSettings settings) : base(api, settings) { }

    public static Props Props(IKubeApi api, ControllerSettings settings) =>
        Akka.Actor.Props.Create(() => new ClusterRoleAggregationController(api, settings));

    protected override string Name => ControllerNames.ClusterRoleAggregation;
    protected override string Component => "clusterrole-aggregation-controller";
    protected override IEnumerable<ApiResource> Watched => [ApiResource.ClusterRoles];

    private IReadOnlyDictionary<string, JsonObject> Roles => CacheOf(ApiResource.ClusterRoles);

    /// <summary>Any change may feed any aggregated role (labels, rules): re-check every aggregated one.</summary>
    private void EnqueueAggregated()
    {
        foreach (var (key, role) in Roles)
            if (role["aggregationRule"] is JsonObject) Enqueue(key);
    }

    protected override void OnSynced(ApiResource resource, bool first) => EnqueueAggregated();
    protected override void OnAdded(ApiResource resource, string key, JsonObject obj) => EnqueueAggregated();
    protected override void OnUpdated(ApiResource resource, string key, JsonObject old, JsonObject obj)
    {
        if (!JsonNode.DeepEquals(old["rules"], obj["rules"]) || !JsonNode.DeepEquals(Meta(old)["labels"], Meta(obj)["labels"]) ||
            !JsonNode.DeepEquals(old["aggregationRule"], obj["aggregationRule"]))
            EnqueueAggregated();
    }
    protected override void OnDeleted(ApiResource resource, string key, JsonObject lastKnown) => EnqueueAggregated();

    protected override ReconcileAction? Plan(string key)
    {
        if (!Roles.TryGetValue(key, out var role) || role["aggregationRule"]?["clusterRoleSelectors"] is not JsonArray selectors) return null;
        var rules = new JsonArray();
        var seen = new List<JsonNode>();
        foreach (var (otherKey, other) in Roles.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            if (otherKey == key) continue;
            var labels = Meta(other)["labels"] as JsonObject;
            if (!selectors.OfType<JsonObject>().Any(s => LabelSelectors.Matches(s, labels))) continue;
            foreach (var rule in other["rules"] as JsonArray ?? [])
                if (rule is not null && !seen.Any(r => JsonNode.DeepEquals(r, rule)))
                {
                    seen.Add(rule);
                    rules.Add(rule.DeepClone());
                }
        }
        if (JsonNode.DeepEquals(role["rules"] ?? new JsonArray(), rules)) return null;
        var updated = (JsonObject)role.DeepClone();
        updated["rules"] = rules;
        return async api =>
        {
            try
            {
                await api.UpdateAsync(ApiResource.ClusterRoles, null, updated);
            }
            catch (KubeApiException e) when (e.IsConflict || e.IsNotFound) { } // the informer brings the newer version and requeues
            return null;
        };
    }
}
