using System.Text.Json.Nodes;
using static AkkaKube.Actors.Controllers.ControllerBase;

namespace AkkaKube.Actors.Controllers.PodGc;

/// <summary>What the pod garbage collector does with one pod.</summary>
public enum PodGcAction
{
    /// <summary>Nothing: the pod is fine, or not yet known long enough to be orphaned.</summary>
    Keep,
    /// <summary>Bound to a Node that is not in the cache: wait out the quarantine, then ask the API.</summary>
    Quarantine,
    /// <summary>Being deleted and never scheduled: no kubelet will ever confirm it; delete it now (grace 0).</summary>
    ForceDeleteUnscheduled,
}

/// <summary>
/// Kubernetes' pod garbage collector (pkg/controller/podgc), pure: pods bound to a Node that no longer exists are
/// force-deleted (no kubelet will ever finish them) after a quarantine in which the Node must stay absent; terminating
/// pods that were never scheduled are force-deleted at once; finished pods beyond the threshold go oldest first.
/// </summary>
public static class PodGcLogic
{
    public const string DisruptionTarget = "DisruptionTarget";
    public const string DeletionByPodGc = "DeletionByPodGC";

    public static PodGcAction Decide(JsonObject pod, Func<string, bool> nodeExists)
    {
        var node = Str(pod["spec"]?["nodeName"]);
        if (string.IsNullOrEmpty(node)) return IsDeleting(pod) ? PodGcAction.ForceDeleteUnscheduled : PodGcAction.Keep;
        return nodeExists(node) ? PodGcAction.Keep : PodGcAction.Quarantine;
    }

    public static bool IsTerminated(JsonObject pod) => Str(pod["status"]?["phase"]) is "Succeeded" or "Failed";

    /// <summary>The finished pods to delete so that at most <paramref name="threshold"/> remain: the oldest first (0 = never).</summary>
    public static IReadOnlyList<JsonObject> TerminatedBeyond(IEnumerable<JsonObject> pods, int threshold)
    {
        if (threshold <= 0) return [];
        var finished = pods.Where(p => IsTerminated(p) && !IsDeleting(p)).ToList();
        return finished.Count <= threshold ? [] : finished.OrderBy(CreatedAt).ThenBy(NameOf, StringComparer.Ordinal).Take(finished.Count - threshold).ToList();
    }

    /// <summary>
    /// The status written before an orphan is deleted, as Kubernetes does: a pod that had not finished is Failed, and the
    /// DisruptionTarget condition says why (Job podFailurePolicy rules can match it). Null when nothing changes.
    /// </summary>
    public static JsonObject? OrphanStatus(JsonObject pod, DateTime now)
    {
        var status = pod["status"]?.DeepClone() as JsonObject ?? new JsonObject();
        var conditions = status["conditions"] as JsonArray ?? [];
        var changed = false;
        if (!IsTerminated(pod))
        {
            status["phase"] = "Failed";
            changed = true;
        }
        if (!conditions.OfType<JsonObject>().Any(c => Str(c["type"]) == DisruptionTarget && Str(c["status"]) == "True"))
        {
            foreach (var old in conditions.OfType<JsonObject>().Where(c => Str(c["type"]) == DisruptionTarget).ToList()) conditions.Remove(old);
            conditions.Add(new JsonObject
            {
                ["type"] = DisruptionTarget, ["status"] = "True", ["reason"] = DeletionByPodGc,
                ["message"] = "PodGC: node no longer exists",
                ["lastTransitionTime"] = now.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture),
            });
            status["conditions"] = conditions;
            changed = true;
        }
        return changed ? status : null;
    }
}
