using System.Text.Json.Nodes;
using AkkaKube.Actors.ApiServer.Registry;
using AkkaKube.Actors.Machinery;
using k8s.Models;
using static AkkaKube.Actors.Controllers.ControllerBase;

namespace AkkaKube.Actors.Controllers.ResourceQuota;

/// <summary>
/// ResourceQuota arithmetic, pure over JSON (Kubernetes' pkg/quota/v1 evaluators): what one object uses of each
/// quota resource (pods: count, requests.*, limits.*, cpu/memory = requests; claims: count and requests.storage;
/// every kind: count/&lt;resource&gt;[.&lt;group&gt;] and the legacy object counts), sums, and the admission check with
/// Kubernetes' "exceeded quota" message. Values are decimals; they are printed in the format of the hard limit.
/// </summary>
public static class QuotaLogic
{
    /// <summary>The legacy names of object counts (Kubernetes' core evaluators) besides count/&lt;resource&gt;.</summary>
    private static readonly Dictionary<string, string> LegacyCounts = new(StringComparer.Ordinal)
    {
        ["pods"] = "pods",
        ["services"] = "services",
        ["configmaps"] = "configmaps",
        ["secrets"] = "secrets",
        ["persistentvolumeclaims"] = "persistentvolumeclaims",
        ["replicationcontrollers"] = "replicationcontrollers",
        ["resourcequotas"] = "resourcequotas",
    };

    /// <summary>count/&lt;resource&gt; for the core group, count/&lt;resource&gt;.&lt;group&gt; otherwise.</summary>
    public static string CountName(ApiResource r) => "count/" + (r.Group.Length == 0 ? r.Resource : $"{r.Resource}.{r.Group}");

    /// <summary>A pod that is terminal (Succeeded/Failed) no longer uses compute quota (Kubernetes' QuotaV1Pod).</summary>
    public static bool PodCounts(JsonObject pod) => Str(pod["status"]?["phase"]) is not ("Succeeded" or "Failed");

    /// <summary>What one object of <paramref name="resource"/> uses, by quota resource name.</summary>
    public static Dictionary<string, decimal> Usage(ApiResource resource, JsonObject obj)
    {
        var usage = new Dictionary<string, decimal>(StringComparer.Ordinal) { [CountName(resource)] = 1 };
        if (resource.Group.Length == 0 && LegacyCounts.TryGetValue(resource.Resource, out var legacy)) usage[legacy] = 1;
        if (resource == ApiResource.Pods)
        {
            if (!PodCounts(obj)) return new(StringComparer.Ordinal) { [CountName(resource)] = 1 };
            foreach (var kind in new[] { "requests", "limits" })
                foreach (var (name, value) in PodResources(obj, kind))
                {
                    usage[$"{kind}.{name}"] = value;
                    if (kind == "requests" && name is "cpu" or "memory" or "ephemeral-storage") usage[name] = value;
                }
        }
        else if (resource == ApiResource.PersistentVolumeClaims)
        {
            var storage = ResourceRequirements.Parse(obj["spec"]?["resources"]?["requests"]?["storage"], out _) ?? 0;
            usage["requests.storage"] = storage;
            if (Str(obj["spec"]?["storageClassName"]) is { Length: > 0 } sc)
            {
                usage[$"{sc}.storageclass.storage.k8s.io/requests.storage"] = storage;
                usage[$"{sc}.storageclass.storage.k8s.io/persistentvolumeclaims"] = 1;
            }
        }
        return usage;
    }

    /// <summary>
    /// A pod's requests or limits as Kubernetes counts them for quota: the sum over containers, raised to the largest
    /// init container's value where that is higher, plus the pod overhead.
    /// </summary>
    public static Dictionary<string, decimal> PodResources(JsonObject pod, string kind)
    {
        var sum = new Dictionary<string, decimal>(StringComparer.Ordinal);
        foreach (var c in (pod["spec"]?["containers"] as JsonArray)?.OfType<JsonObject>() ?? [])
            foreach (var (k, v) in c["resources"]?[kind] as JsonObject ?? [])
                sum[k] = sum.GetValueOrDefault(k) + (ResourceRequirements.Parse(v, out _) ?? 0);
        foreach (var c in (pod["spec"]?["initContainers"] as JsonArray)?.OfType<JsonObject>() ?? [])
            foreach (var (k, v) in c["resources"]?[kind] as JsonObject ?? [])
                sum[k] = Math.Max(sum.GetValueOrDefault(k), ResourceRequirements.Parse(v, out _) ?? 0);
        foreach (var (k, v) in pod["spec"]?["overhead"] as JsonObject ?? [])
            sum[k] = sum.GetValueOrDefault(k) + (ResourceRequirements.Parse(v, out _) ?? 0);
        return sum;
    }

    /// <summary>
    /// Compute resources a quota tracks that some container of the pod does not declare (Kubernetes refuses such a
    /// pod: "must specify …"); cpu/memory alone mean requests.
    /// </summary>
    public static List<string> MissingDeclarations(JsonObject pod, IEnumerable<string> tracked)
    {
        var missing = new List<string>();
        var containers = new[] { "containers", "initContainers" }.SelectMany(k => (pod["spec"]?[k] as JsonArray)?.OfType<JsonObject>() ?? []).ToList();
        foreach (var t in tracked.OrderBy(t => t, StringComparer.Ordinal))
        {
            var (kind, name) = t switch
            {
                "cpu" or "memory" => ("requests", t),
                _ when t.StartsWith("requests.", StringComparison.Ordinal) && t[9..] is "cpu" or "memory" => ("requests", t[9..]),
                _ when t.StartsWith("limits.", StringComparison.Ordinal) && t[7..] is "cpu" or "memory" => ("limits", t[7..]),
                _ => ("", ""),
            };
            if (kind.Length == 0) continue;
            var without = containers.Where(c => c["resources"]?[kind]?[name] is null).Select(c => Str(c["name"]) ?? "").ToList();
            if (without.Count > 0) missing.Add($"{t} for: {string.Join(",", without)}");
        }
        return missing;
    }

    private static decimal Q(JsonNode? n) => ResourceRequirements.Parse(n, out _) ?? 0;

    /// <summary>
    /// The quota resources whose limit the new usage would pass: for each resource the quota limits and the object
    /// uses, used + requested &gt; hard. Empty when it fits.
    /// </summary>
    public static List<string> Exceeded(JsonObject quota, IReadOnlyDictionary<string, decimal> requested)
    {
        var hard = quota["spec"]?["hard"] as JsonObject ?? [];
        var used = quota["status"]?["used"] as JsonObject;
        return hard.Where(h => requested.TryGetValue(h.Key, out var r) && r > 0 && Q(used?[h.Key]) + r > Q(h.Value))
            .Select(h => h.Key).OrderBy(k => k, StringComparer.Ordinal).ToList();
    }

    /// <summary>The resources the quota limits and the object uses that the quota's status has no usage for yet.</summary>
    public static List<string> Unknown(JsonObject quota, IReadOnlyDictionary<string, decimal> requested)
    {
        var hard = quota["spec"]?["hard"] as JsonObject ?? [];
        var used = quota["status"]?["used"] as JsonObject;
        return hard.Where(h => requested.ContainsKey(h.Key) && used?[h.Key] is null).Select(h => h.Key).OrderBy(k => k, StringComparer.Ordinal).ToList();
    }

    /// <summary>Kubernetes' message: "exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2" (keys sorted).</summary>
    public static string ExceededMessage(JsonObject quota, IReadOnlyDictionary<string, decimal> requested, IReadOnlyList<string> exceeded)
    {
        var hard = quota["spec"]?["hard"] as JsonObject ?? [];
        var used = quota["status"]?["used"] as JsonObject;
        string List(Func<string, string> value) => string.Join(",", exceeded.Select(k => $"{k}={value(k)}"));
        return $"exceeded quota: {NameOf(quota)}, requested: {List(k => Format(requested[k], hard[k]))}, "
               + $"used: {List(k => Format(Q(used?[k]), hard[k]))}, limited: {List(k => Format(Q(hard[k]), hard[k]))}";
    }

    /// <summary>The quota's status.used with the usage added (each tracked resource).</summary>
    public static JsonObject Charge(JsonObject quota, IReadOnlyDictionary<string, decimal> requested)
    {
        var hard = quota["spec"]?["hard"] as JsonObject ?? [];
        var used = quota["status"]?["used"] as JsonObject;
        var next = new JsonObject();
        foreach (var (k, h) in hard)
            next[k] = Format(Q(used?[k]) + requested.GetValueOrDefault(k), h);
        return next;
    }

    /// <summary>The status a quota should have for the given total usage (only the resources it limits; hard copied).</summary>
    public static JsonObject Status(JsonObject quota, IReadOnlyDictionary<string, decimal> total)
    {
        var hard = quota["spec"]?["hard"] as JsonObject ?? [];
        var used = new JsonObject();
        foreach (var (k, h) in hard) used[k] = Format(total.GetValueOrDefault(k), h);
        return new JsonObject { ["hard"] = hard.DeepClone(), ["used"] = used };
    }

    public static void Add(Dictionary<string, decimal> total, IReadOnlyDictionary<string, decimal> usage)
    {
        foreach (var (k, v) in usage) total[k] = total.GetValueOrDefault(k) + v;
    }

    /// <summary>A value in the format of the quota's hard limit (binary suffixes for 1Gi, decimal for 500m or 10).</summary>
    public static string Format(decimal value, JsonNode? like)
    {
        var format = ResourceQuantity.SuffixFormat.DecimalSI;
        if (like is JsonValue v && v.TryGetValue<string>(out var s))
        {
            try
            {
                format = new ResourceQuantity(s).Format;
            }
            catch (FormatException) { }
        }
        return new ResourceQuantity(value, 0, format).CanonicalizeString();
    }
}
