using System.Globalization;
using System.Text.Json.Nodes;
using Akka.Actor;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Store;
using AkkaKube.Actors.Machinery;
using AkkaKube.Actors.Controllers.Disruption;

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
    private static readonly string Partition = ApiResource.PodDisruptionBudgets.Partition;

    /// <summary>Attempts of the check-and-spend against a budget that changed meanwhile (Kubernetes' RetryOnConflict).</summary>
    public const int MaxAttempts = 5;

    public async Task CheckAsync(JsonObject pod, JsonObject eviction, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            if (await TryCheckAsync(pod, ct)) return;
            if (attempt >= MaxAttempts)
                throw new ApiException(429, "TooManyRequests", "Cannot evict pod: the disruption budget changed concurrently; try again.");
        }
    }

    /// <summary>One check-and-spend; false when the budget changed concurrently (the disruption controller or another eviction).</summary>
    private async Task<bool> TryCheckAsync(JsonObject pod, CancellationToken ct)
    {
        var ns = pod["metadata"]?["namespace"]?.GetValue<string>() ?? "default";
        var podName = pod["metadata"]?["name"]?.GetValue<string>() ?? "";
        // A pod that is not ready does not count toward any budget; evicting it cannot hurt availability.
        if (pod["metadata"]?["deletionTimestamp"] is not null || !DisruptionLogic.IsReady(pod)) return true;

        var budgets = (await List(Partition, ns, null, ct)).Where(b => DisruptionLogic.Selects(b, pod)).ToList();
        if (budgets.Count == 0) return true;
        if (budgets.Count > 1)
            throw new ApiException(429, "TooManyRequests", "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.");

        var budget = budgets[0];
        var now = DateTime.UtcNow;
        var pods = (await List(ApiResource.Pods.Partition, ns, null, ct))
            .Where(p => DisruptionLogic.Selects(budget, p) && p["status"]?["phase"]?.GetValue<string>() is not ("Succeeded" or "Failed"))
            .ToList();
        // the same computation as the disruption controller; the owners' scale is the one it last observed for this generation
        var observed = budget["status"]?["observedGeneration"] is { } og && og.ToJsonString() == (budget["metadata"]?["generation"]?.ToJsonString() ?? "1");
        int? scale = observed && budget["status"]?["expectedPods"] is JsonValue ep && ep.TryGetValue<int>(out var e) ? e : null;
        var counts = DisruptionLogic.Compute(budget, pods, scale, now);
        var (healthy, desired, allowed, expected, disrupted) = (counts.CurrentHealthy, counts.DesiredHealthy, counts.CurrentHealthy - counts.DesiredHealthy, counts.ExpectedPods, counts.DisruptedPods);
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
        foreach (var (name, at) in disrupted) disruptedJson[name] = DisruptionLogic.Rfc3339(at);
        disruptedJson[podName] = DisruptionLogic.Rfc3339(now);
        status["disruptedPods"] = disruptedJson;
        status["disruptionsAllowed"] = allowed - 1;
        status["currentHealthy"] = healthy;
        status["desiredHealthy"] = desired;
        status["expectedPods"] = expected;
        var reply = await store.Ask<object>(new StoreProtocol.UpdateObject(Partition, updated.ToJsonString()), timeout, ct);
        if (reply is StoreProtocol.StoreFailure { Code: 409 }) return false;
        if (reply is StoreProtocol.StoreFailure f) throw new ApiException(f.Code, f.Reason, f.Message);
        return true;
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
}
