using System.Globalization;
using System.Text.Json.Nodes;
using static AkkaKube.Actors.Controllers.ControllerBase;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.Controllers.ReplicaSet;

/// <summary>The ReplicaSet controller's decisions, pure over JSON objects (Kubernetes' pkg/controller/replicaset).</summary>
public static class ReplicaSetLogic
{
    /// <summary>Pods that count: not terminated (Succeeded/Failed) and not being deleted.</summary>
    public static bool IsActive(JsonObject pod) =>
        !IsDeleting(pod) && Str(pod["status"]?["phase"]) is not ("Succeeded" or "Failed");

    public static bool IsReady(JsonObject pod) =>
        (pod["status"]?["conditions"] as JsonArray)?.OfType<JsonObject>()
            .Any(c => Str(c["type"]) == "Ready" && Str(c["status"]) == "True") ?? false;

    public static DateTime? ReadySince(JsonObject pod)
    {
        var c = (pod["status"]?["conditions"] as JsonArray)?.OfType<JsonObject>().FirstOrDefault(c => Str(c["type"]) == "Ready" && Str(c["status"]) == "True");
        if (c is null) return null;
        return DateTime.TryParse(Str(c["lastTransitionTime"]), CultureInfo.InvariantCulture,
            DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var t) ? t : DateTime.MinValue;
    }

    /// <summary>Available = ready for at least minReadySeconds.</summary>
    public static bool IsAvailable(JsonObject pod, int minReadySeconds, DateTime now)
    {
        if (!IsReady(pod)) return false;
        if (minReadySeconds <= 0) return true;
        var since = ReadySince(pod) ?? now;
        return since + TimeSpan.FromSeconds(minReadySeconds) <= now;
    }

    /// <summary>
    /// Which pods to delete first, as Kubernetes' ActivePodsWithRanks: unassigned before assigned, Pending before
    /// Unknown before Running, not ready before ready, ready for less time first, more restarts first, newer first.
    /// </summary>
    public static List<JsonObject> RankForDeletion(IEnumerable<JsonObject> pods) =>
        pods.OrderBy(p => Str(p["spec"]?["nodeName"]) is { Length: > 0 } ? 1 : 0)
            .ThenBy(p => Str(p["status"]?["phase"]) switch { "Pending" => 0, "Unknown" => 1, "Running" => 2, _ => 0 })
            .ThenBy(p => IsReady(p) ? 1 : 0)
            .ThenByDescending(p => ReadySince(p) ?? DateTime.MinValue)
            .ThenByDescending(p => Restarts(p))
            .ThenByDescending(CreatedAt)
            .ToList();

    private static long Restarts(JsonObject pod) =>
        (pod["status"]?["containerStatuses"] as JsonArray)?.OfType<JsonObject>().Sum(c => Long(c["restartCount"])) ?? 0;

    public static bool SelectorMatches(JsonObject rs, JsonObject pod)
    {
        var selector = k8s.KubernetesJson.Deserialize<k8s.Models.V1LabelSelector>(rs["spec"]?["selector"]?.ToJsonString() ?? "{}");
        var labels = (Meta(pod)["labels"] as JsonObject)?.ToDictionary(kv => kv.Key, kv => Str(kv.Value) ?? "") ?? [];
        return LabelSelectors.Matches(selector, labels);
    }

    /// <summary>The status the ReplicaSet should have for its pods; also when to look again for minReadySeconds.</summary>
    public static (JsonObject Status, TimeSpan? RecheckAfter) ComputeStatus(JsonObject rs, IReadOnlyList<JsonObject> activePods, DateTime now)
    {
        var minReady = (int)Long(rs["spec"]?["minReadySeconds"]);
        var templateLabels = (rs["spec"]?["template"]?["metadata"]?["labels"] as JsonObject)?.ToDictionary(kv => kv.Key, kv => Str(kv.Value) ?? "") ?? [];
        int ready = 0, available = 0, fullyLabeled = 0;
        TimeSpan? recheck = null;
        foreach (var p in activePods)
        {
            var labels = Meta(p)["labels"] as JsonObject;
            if (templateLabels.All(kv => Str(labels?[kv.Key]) == kv.Value)) fullyLabeled++;
            if (!IsReady(p)) continue;
            ready++;
            if (IsAvailable(p, minReady, now)) available++;
            else
            {
                var left = (ReadySince(p) ?? now) + TimeSpan.FromSeconds(minReady) - now + TimeSpan.FromMilliseconds(50);
                if (recheck is null || left < recheck) recheck = left;
            }
        }
        var status = new JsonObject
        {
            ["replicas"] = activePods.Count,
            ["fullyLabeledReplicas"] = fullyLabeled,
            ["readyReplicas"] = ready,
            ["availableReplicas"] = available,
            ["observedGeneration"] = Long(Meta(rs)["generation"]),
        };
        return (status, recheck);
    }

    /// <summary>True when the status fields the controller owns differ.</summary>
    public static bool StatusDiffers(JsonObject? current, JsonObject wanted) =>
        wanted.Any(kv => Long(current?[kv.Key]) != Long(kv.Value));

    /// <summary>A pod from the template: generateName "&lt;rs&gt;-", controller ownerReference with blockOwnerDeletion.</summary>
    public static JsonObject PodFromTemplate(JsonObject rs)
    {
        var template = rs["spec"]?["template"] as JsonObject ?? new JsonObject();
        var tmeta = template["metadata"] as JsonObject;
        var meta = new JsonObject
        {
            ["generateName"] = NameOf(rs) + "-",
            ["namespace"] = NamespaceOf(rs),
            ["ownerReferences"] = new JsonArray(OwnerRef(rs, "apps/v1", "ReplicaSet")),
        };
        if (tmeta?["labels"] is JsonObject labels) meta["labels"] = labels.DeepClone();
        if (tmeta?["annotations"] is JsonObject annotations) meta["annotations"] = annotations.DeepClone();
        if (tmeta?["finalizers"] is JsonArray finalizers) meta["finalizers"] = finalizers.DeepClone();
        return new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Pod",
            ["metadata"] = meta,
            ["spec"] = template["spec"]?.DeepClone() ?? new JsonObject(),
        };
    }
}
