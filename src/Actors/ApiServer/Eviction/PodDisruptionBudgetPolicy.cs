using System.Globalization;
using System.Text.Json.Nodes;
using Akka.Actor;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Store;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.ApiServer.Eviction;

/// <summary>
/// PodDisruptionBudget checks of the eviction subresource (policy/v1), as Kubernetes' eviction REST
/// handler does them: a ready pod covered by a budget may be evicted only while the budget allows a
/// disruption; the eviction then records the pod in the budget's status.disruptedPods with a
/// conditional (resourceVersion) update, so two concurrent evictions cannot both spend the last
/// allowed disruption. Refusals are 429 TooManyRequests, which `kubectl drain` retries.
/// </summary>
public sealed class PodDisruptionBudgetPolicy(IActorRef store, TimeSpan timeout) : IEvictionPolicy
{
    /// <summary>A disrupted pod counts as gone for this long even if it still looks healthy (Kubernetes: 2 min).</summary>
    public static readonly TimeSpan DisruptedPodTimeout = TimeSpan.FromMinutes(2);

    private static readonly string Partition = ApiResource.PodDisruptionBudgets.Partition;

    public async Task CheckAsync(JsonObject pod, JsonObject eviction, CancellationToken ct)
    {
        var ns = pod["metadata"]?["namespace"]?.GetValue<string>() ?? "default";
        var podName = pod["metadata"]?["name"]?.GetValue<string>() ?? "";
        // A pod that is not ready does not count toward any budget; evicting it cannot hurt availability.
        if (pod["metadata"]?["deletionTimestamp"] is not null || !IsReady(pod)) return;
        var labels = LabelsOf(pod);

        var budgets = (await List(Partition, ns, null, ct))
            .Where(b => SelectorOf(b) is { } s && !s.IsEmpty && s.Matches(labels))
            .ToList();
        if (budgets.Count == 0) return;
        if (budgets.Count > 1)
            throw new ApiException(429, "TooManyRequests", "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.");

        var budget = budgets[0];
        var selector = SelectorOf(budget)!;
        var now = DateTime.UtcNow;
        var disrupted = DisruptedPods(budget, now);
        var pods = (await List(ApiResource.Pods.Partition, ns, null, ct))
            .Where(p => selector.Matches(LabelsOf(p)))
            .ToList();
        var expected = pods.Count;
        var healthy = pods.Count(p => IsReady(p) && p["metadata"]?["deletionTimestamp"] is null
                                      && !disrupted.ContainsKey(p["metadata"]?["name"]?.GetValue<string>() ?? ""));
        var desired = DesiredHealthy(budget, expected);
        var allowed = healthy - desired;
        var budgetName = budget["metadata"]?["name"]?.GetValue<string>();
        if (allowed <= 0)
        {
            var details = new JsonObject
            {
                ["causes"] = new JsonArray(new JsonObject
                {
                    ["reason"] = "DisruptionBudget",
                    ["message"] = $"The disruption budget {budgetName} needs {desired} healthy pods and has {healthy} currently",
                }),
            };
            throw new ApiException(429, "TooManyRequests", "Cannot evict pod as it would violate the pod's disruption budget.", details);
        }

        // Spend one disruption: conditional on the budget's resourceVersion, so a concurrent eviction conflicts.
        var updated = (JsonObject)budget.DeepClone();
        var status = updated["status"] as JsonObject ?? new JsonObject();
        updated["status"] = status;
        var disruptedJson = new JsonObject();
        foreach (var (name, at) in disrupted) disruptedJson[name] = Rfc3339(at);
        disruptedJson[podName] = Rfc3339(now);
        status["disruptedPods"] = disruptedJson;
        status["disruptionsAllowed"] = allowed - 1;
        status["currentHealthy"] = healthy;
        status["desiredHealthy"] = desired;
        status["expectedPods"] = expected;
        var reply = await store.Ask<object>(new StoreProtocol.UpdateObject(Partition, updated.ToJsonString()), timeout, ct);
        if (reply is StoreProtocol.StoreFailure f)
            throw f.Code == 409
                ? new ApiException(429, "TooManyRequests", "Cannot evict pod: the disruption budget changed concurrently; try again.")
                : new ApiException(f.Code, f.Reason, f.Message);
    }

    public static int DesiredHealthy(JsonObject budget, int expected)
    {
        var spec = budget["spec"] as JsonObject;
        if (spec?["minAvailable"] is { } min) return Resolve(min, expected);
        if (spec?["maxUnavailable"] is { } max) return Math.Max(0, expected - Resolve(max, expected));
        return expected; // Kubernetes' default for an empty budget: no voluntary disruption.
    }

    /// <summary>An int, or a percentage of expected pods rounded up (Kubernetes' GetScaledValueFromIntOrPercent with roundUp).</summary>
    private static int Resolve(JsonNode value, int expected)
    {
        if (value is JsonValue v && v.TryGetValue<int>(out var i)) return i;
        var s = value.GetValue<string>();
        if (s.EndsWith('%') && int.TryParse(s[..^1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var pct))
            return (int)Math.Ceiling(pct * expected / 100.0);
        return int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : expected;
    }

    private async Task<IReadOnlyList<JsonObject>> List(string partition, string ns, string? labelSelector, CancellationToken ct)
    {
        var reply = await store.Ask<object>(new StoreProtocol.ListObjects(partition, ns, labelSelector, null), timeout, ct);
        return reply switch
        {
            StoreProtocol.ListReply l => l.Items.Select(i => JsonNode.Parse(i)!.AsObject()).ToList(),
            StoreProtocol.StoreFailure f => throw new ApiException(f.Code, f.Reason, f.Message),
            _ => throw new ApiException(500, "InternalError", "unexpected store reply"),
        };
    }

    private static Dictionary<string, DateTime> DisruptedPods(JsonObject budget, DateTime now)
    {
        var result = new Dictionary<string, DateTime>(StringComparer.Ordinal);
        if (budget["status"]?["disruptedPods"] is JsonObject d)
            foreach (var (name, at) in d)
                if (at?.GetValue<string>() is { } s && DateTime.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var t)
                    && now - t < DisruptedPodTimeout)
                    result[name] = t;
        return result;
    }

    private static LabelSelector? SelectorOf(JsonObject budget)
    {
        if (budget["spec"]?["selector"] is not JsonObject sel) return null;
        var parts = new List<string>();
        if (sel["matchLabels"] is JsonObject ml)
            parts.AddRange(ml.Select(kv => $"{kv.Key}={kv.Value?.GetValue<string>()}"));
        if (sel["matchExpressions"] is JsonArray me)
            foreach (var e in me.OfType<JsonObject>())
            {
                var key = e["key"]?.GetValue<string>();
                var values = string.Join(",", (e["values"] as JsonArray ?? []).Select(v => v?.GetValue<string>()));
                parts.Add(e["operator"]?.GetValue<string>() switch
                {
                    "In" => $"{key} in ({values})",
                    "NotIn" => $"{key} notin ({values})",
                    "Exists" => key!,
                    "DoesNotExist" => "!" + key,
                    var op => throw new ApiException(422, "Invalid", $"unsupported selector operator {op}"),
                });
            }
        return LabelSelector.Parse(string.Join(",", parts));
    }

    private static Dictionary<string, string> LabelsOf(JsonObject obj) =>
        (obj["metadata"]?["labels"] as JsonObject ?? []).ToDictionary(kv => kv.Key, kv => kv.Value?.GetValue<string>() ?? "", StringComparer.Ordinal);

    private static bool IsReady(JsonObject pod) =>
        (pod["status"]?["conditions"] as JsonArray ?? []).OfType<JsonObject>()
            .Any(c => c["type"]?.GetValue<string>() == "Ready" && c["status"]?.GetValue<string>() == "True");

    private static string Rfc3339(DateTime t) => t.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
}
