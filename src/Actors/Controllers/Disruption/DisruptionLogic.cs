using System.Globalization;
using System.Text.Json.Nodes;
using AkkaKube.Actors.Machinery;
using static AkkaKube.Actors.Controllers.ControllerBase;

namespace AkkaKube.Actors.Controllers.Disruption;

/// <summary>
/// A PodDisruptionBudget's status, pure over JSON (Kubernetes' pkg/controller/disruption): shared by the disruption
/// controller (kept current from pods and the owning controllers' scale) and the eviction subresource (which spends
/// one allowed disruption), so both compute the same numbers.
/// </summary>
public static class DisruptionLogic
{
    /// <summary>A disrupted pod counts as gone for this long even if it still looks healthy (Kubernetes: 2 min).</summary>
    public static readonly TimeSpan DisruptedPodTimeout = TimeSpan.FromMinutes(2);

    public sealed record Counts(int ExpectedPods, int DesiredHealthy, int CurrentHealthy, IReadOnlyDictionary<string, DateTime> DisruptedPods)
    {
        public int DisruptionsAllowed => Math.Max(0, CurrentHealthy - DesiredHealthy);
    }

    public static bool IsReady(JsonObject pod) =>
        (pod["status"]?["conditions"] as JsonArray)?.OfType<JsonObject>().Any(c => Str(c["type"]) == "Ready" && Str(c["status"]) == "True") ?? false;

    /// <summary>The budget's selector; null when it has none (it then selects nothing).</summary>
    public static LabelSelector? SelectorOf(JsonObject budget) =>
        budget["spec"]?["selector"] is JsonObject sel ? LabelSelectors.From(sel) : null;

    public static bool Selects(JsonObject budget, JsonObject pod) =>
        SelectorOf(budget) is { } s && !s.IsEmpty && s.Matches(Machinery.Meta.Labels(Meta(pod)["labels"] as JsonObject));

    /// <summary>
    /// Whether expected pods come from the controllers' scale (maxUnavailable, or a percentage minAvailable) rather
    /// than the count of selected pods (an integer minAvailable), as Kubernetes decides.
    /// </summary>
    public static bool NeedsScale(JsonObject budget)
    {
        var spec = budget["spec"] as JsonObject;
        if (spec?["maxUnavailable"] is not null) return true;
        return spec?["minAvailable"] is JsonValue v && v.TryGetValue<string>(out var s) && s.EndsWith('%');
    }

    /// <summary>An int, or a percentage of <paramref name="total"/> rounded up (GetScaledValueFromIntOrPercent, roundUp).</summary>
    public static int Resolve(JsonNode value, int total)
    {
        if (value is JsonValue v && v.TryGetValue<int>(out var i)) return i;
        var s = Str(value) ?? "";
        if (s.EndsWith('%') && int.TryParse(s[..^1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var pct))
            return (int)Math.Ceiling(pct * total / 100.0);
        return int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : total;
    }

    /// <summary>
    /// The budget's counts for its selected <paramref name="pods"/>: expected is <paramref name="scale"/> (the sum of the
    /// owning controllers' replicas) when the budget needs it and it is known, else the number of selected pods;
    /// healthy pods are ready, not being deleted and not recently evicted (status.disruptedPods younger than 2 min).
    /// </summary>
    public static Counts Compute(JsonObject budget, IReadOnlyList<JsonObject> pods, int? scale, DateTime now)
    {
        var disrupted = DisruptedPods(budget, now);
        var expected = NeedsScale(budget) && scale is { } s ? s : pods.Count;
        var spec = budget["spec"] as JsonObject;
        var desired = spec?["minAvailable"] is { } min ? Resolve(min, expected)
            : spec?["maxUnavailable"] is { } max ? Math.Max(0, expected - Resolve(max, expected))
            : expected; // Kubernetes' default for an empty budget: no voluntary disruption
        var healthy = pods.Count(p => IsReady(p) && !IsDeleting(p) && !disrupted.ContainsKey(NameOf(p)));
        return new Counts(expected, desired, healthy, disrupted);
    }

    /// <summary>status.disruptedPods entries still within <see cref="DisruptedPodTimeout"/>.</summary>
    public static Dictionary<string, DateTime> DisruptedPods(JsonObject budget, DateTime now)
    {
        var result = new Dictionary<string, DateTime>(StringComparer.Ordinal);
        foreach (var (name, at) in budget["status"]?["disruptedPods"] as JsonObject ?? [])
            if (Str(at) is { } s && DateTime.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var t)
                && now - t < DisruptedPodTimeout)
                result[name] = t;
        return result;
    }

    public static string Rfc3339(DateTime t) => t.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);

    /// <summary>The status for the counts: numbers, disruptedPods, observedGeneration and the DisruptionAllowed condition.</summary>
    public static JsonObject Status(JsonObject budget, Counts counts, DateTime now)
    {
        var allowed = counts.DisruptionsAllowed > 0;
        var old = (budget["status"]?["conditions"] as JsonArray)?.OfType<JsonObject>().FirstOrDefault(c => Str(c["type"]) == "DisruptionAllowed");
        var status = allowed ? "True" : "False";
        var disrupted = new JsonObject();
        foreach (var (name, at) in counts.DisruptedPods.OrderBy(d => d.Key, StringComparer.Ordinal)) disrupted[name] = Rfc3339(at);
        var result = new JsonObject
        {
            ["observedGeneration"] = Long(Meta(budget)["generation"], 1),
            ["disruptionsAllowed"] = counts.DisruptionsAllowed,
            ["currentHealthy"] = counts.CurrentHealthy,
            ["desiredHealthy"] = counts.DesiredHealthy,
            ["expectedPods"] = counts.ExpectedPods,
            ["conditions"] = new JsonArray(new JsonObject
            {
                ["type"] = "DisruptionAllowed",
                ["status"] = status,
                ["reason"] = allowed ? "SufficientPods" : "InsufficientPods",
                ["message"] = "",
                ["observedGeneration"] = Long(Meta(budget)["generation"], 1),
                ["lastTransitionTime"] = old is not null && Str(old["status"]) == status ? old["lastTransitionTime"]?.DeepClone() : Rfc3339(now),
            }),
        };
        if (disrupted.Count > 0) result["disruptedPods"] = disrupted;
        return result;
    }
}
