using System.Text.Json.Nodes;
using Akka.Actor;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.Controllers.Disruption;

/// <summary>
/// Kubernetes' disruption controller: every PodDisruptionBudget's status (expectedPods, desiredHealthy,
/// currentHealthy, disruptionsAllowed, observedGeneration, the DisruptionAllowed condition) kept current from the
/// pods it selects and, for maxUnavailable or a percentage minAvailable, the scale of the controllers owning them
/// (a ReplicaSet of a Deployment counts the Deployment's replicas). Evictions recorded in status.disruptedPods
/// count as gone until they are seen deleted or 2 minutes pass; the budget is looked at again then.
/// </summary>
public sealed class DisruptionController : ControllerBase
{
    public DisruptionController(IKubeApi api, ControllerSettings settings) : base(api, settings) { }

    public static Props Props(IKubeApi api, ControllerSettings settings) =>
        Akka.Actor.Props.Create(() => new DisruptionController(api, settings));

    protected override string Name => ControllerNames.Disruption;
    protected override string Component => "controllermanager";

    protected override IEnumerable<ApiResource> Watched =>
        [ApiResource.PodDisruptionBudgets, ApiResource.Pods, ApiResource.ReplicaSets, ApiResource.Deployments, ApiResource.StatefulSets];

    protected override void OnSynced(ApiResource resource, bool first)
    {
        foreach (var k in CacheOf(ApiResource.PodDisruptionBudgets).Keys) Enqueue(k);
    }

    protected override void OnAdded(ApiResource resource, string key, JsonObject obj) => Changed(resource, key, obj);

    protected override void OnUpdated(ApiResource resource, string key, JsonObject old, JsonObject obj)
    {
        // a budget's own status write needs no new look; a spec or generation change does
        if (resource == ApiResource.PodDisruptionBudgets && JsonNode.DeepEquals(old["spec"], obj["spec"])) return;
        Changed(resource, key, obj);
    }

    protected override void OnDeleted(ApiResource resource, string key, JsonObject lastKnown) => Changed(resource, key, lastKnown);

    private void Changed(ApiResource resource, string key, JsonObject obj)
    {
        if (resource == ApiResource.PodDisruptionBudgets)
        {
            Enqueue(key);
            return;
        }
        var ns = NamespaceOf(obj);
        foreach (var (k, b) in CacheOf(ApiResource.PodDisruptionBudgets))
            if (NamespaceOf(b) == ns && (resource != ApiResource.Pods || DisruptionLogic.Selects(b, obj))) Enqueue(k);
    }

    protected override ReconcileAction? Plan(string key)
    {
        if (!CacheOf(ApiResource.PodDisruptionBudgets).TryGetValue(key, out var budget) || IsDeleting(budget)) return null;
        var ns = NamespaceOf(budget);
        var pods = CacheOf(ApiResource.Pods).Values
            .Where(p => NamespaceOf(p) == ns && DisruptionLogic.Selects(budget, p) && Str(p["status"]?["phase"]) is not ("Succeeded" or "Failed"))
            .ToList();
        var now = DateTime.UtcNow;
        var counts = DisruptionLogic.Compute(budget, pods, Scale(ns, pods), now);
        var status = DisruptionLogic.Status(budget, counts, now);
        TimeSpan? recheck = counts.DisruptedPods.Count == 0 ? null
            : counts.DisruptedPods.Values.Min() + DisruptionLogic.DisruptedPodTimeout - now + TimeSpan.FromSeconds(1);
        if (SameStatus(budget["status"] as JsonObject, status)) return recheck is null ? null : _ => Task.FromResult(recheck);
        var copy = (JsonObject)budget.DeepClone();
        copy["status"] = status;
        return async api =>
        {
            await api.UpdateAsync(ApiResource.PodDisruptionBudgets, ns, copy, subresource: "status");
            return recheck;
        };
    }

    /// <summary>Equal apart from the condition's transition time (which only changes with its status).</summary>
    private static bool SameStatus(JsonObject? a, JsonObject b)
    {
        if (a is null) return false;
        var (x, y) = ((JsonObject)a.DeepClone(), (JsonObject)b.DeepClone());
        foreach (var s in new[] { x, y })
            foreach (var c in (s["conditions"] as JsonArray)?.OfType<JsonObject>() ?? []) c.Remove("lastTransitionTime");
        return JsonNode.DeepEquals(x, y);
    }

    /// <summary>
    /// The sum of the replicas of the controllers owning the pods (Kubernetes' getExpectedScale), or null when a pod
    /// has an owner whose scale is unknown here (the count of pods is used then).
    /// </summary>
    private int? Scale(string? ns, IEnumerable<JsonObject> pods)
    {
        var owners = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var pod in pods)
        {
            if (ControllerRef(pod) is not { } owner) return null;
            var (kind, name) = (Str(owner["kind"]), Str(owner["name"]) ?? "");
            if (kind == "ReplicaSet" && CacheOf(ApiResource.ReplicaSets).TryGetValue($"{ns}/{name}", out var rs))
            {
                if (ControllerRef(rs) is { } d && Str(d["kind"]) == "Deployment" && CacheOf(ApiResource.Deployments).TryGetValue($"{ns}/{Str(d["name"])}", out var deployment))
                    owners["Deployment/" + NameOf(deployment)] = (int)Long(deployment["spec"]?["replicas"], 1);
                else owners["ReplicaSet/" + name] = (int)Long(rs["spec"]?["replicas"], 1);
            }
            else if (kind == "StatefulSet" && CacheOf(ApiResource.StatefulSets).TryGetValue($"{ns}/{name}", out var sts))
                owners["StatefulSet/" + name] = (int)Long(sts["spec"]?["replicas"], 1);
            else return null;
        }
        return owners.Values.Sum();
    }
}
