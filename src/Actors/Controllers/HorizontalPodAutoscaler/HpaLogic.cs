using System.Globalization;
using System.Text.Json.Nodes;
using k8s.Models;

namespace AkkaKube.Actors.Controllers.HorizontalPodAutoscaler;

/// <summary>One pod of the scale target as the HPA sees it: its requests, whether it is ready, and its usage if a kubelet reported one.</summary>
public sealed record PodSample(string Name, bool Ready, IReadOnlyDictionary<string, decimal> Requests, IReadOnlyDictionary<string, decimal>? Usage);

/// <summary>A past recommendation or scale change, kept per HPA for stabilization windows and rate-limit policies.</summary>
public sealed record Recommendation(DateTime At, int Replicas);

public sealed record ScaleEvent(DateTime At, int Change);

/// <summary>What the HPA keeps between syncs (Kubernetes keeps the same in memory: a controller hand-over starts it afresh).</summary>
public sealed class HpaHistory
{
    public List<Recommendation> Recommendations { get; } = [];
    public List<ScaleEvent> ScaleUps { get; } = [];
    public List<ScaleEvent> ScaleDowns { get; } = [];
}

/// <summary>The status of one metric (status.currentMetrics[]) and the replicas it asks for.</summary>
public sealed record MetricResult(string Resource, int DesiredReplicas, int? Utilization, decimal AverageValue, string Description);

/// <summary>
/// The autoscaling/v2 algorithm of Kubernetes' horizontal pod autoscaler, pure: per Resource metric the usage ratio
/// against the target (utilization of requests, or average value), a 10 % tolerance, missing metrics and unready pods
/// counted conservatively, the largest proposal over all metrics, then stabilization windows and scaling policies
/// (behavior, with Kubernetes' defaults), then min/max replicas.
/// </summary>
public static class HpaLogic
{
    public const double Tolerance = 0.1;

    public sealed record Policy(string Type, int Value, int PeriodSeconds);

    public sealed record Rules(int StabilizationWindowSeconds, string SelectPolicy, IReadOnlyList<Policy> Policies);

    /// <summary>Kubernetes' defaults: up at once by 100 % or 4 pods per 15 s (whichever is more); down after 300 s of lower proposals by up to 100 % per 15 s.</summary>
    public static readonly Rules DefaultScaleUp = new(0, "Max", [new("Percent", 100, 15), new("Pods", 4, 15)]);
    public static readonly Rules DefaultScaleDown = new(300, "Max", [new("Percent", 100, 15)]);

    public static Rules RulesOf(JsonNode? rules, Rules defaults)
    {
        if (rules is not JsonObject r) return defaults;
        var window = r["stabilizationWindowSeconds"] is JsonValue w && w.TryGetValue<int>(out var ws) ? ws : defaults.StabilizationWindowSeconds;
        var select = r["selectPolicy"] is JsonValue s && s.TryGetValue<string>(out var sp) ? sp : defaults.SelectPolicy;
        var policies = r["policies"] is JsonArray a
            ? a.OfType<JsonObject>().Select(p => new Policy(ControllerBase.Str(p["type"]) ?? "Pods", (int)ControllerBase.Long(p["value"]), (int)ControllerBase.Long(p["periodSeconds"], 15))).ToList()
            : defaults.Policies;
        return new Rules(window, select, policies);
    }

    /// <summary>
    /// The replicas one Resource metric asks for. <paramref name="utilizationTarget"/> (percent of requests) or
    /// <paramref name="averageValueTarget"/> (per pod, in cores or bytes) is set.
    /// </summary>
    public static MetricResult ForResource(string resource, int currentReplicas, IReadOnlyList<PodSample> pods, int? utilizationTarget, decimal? averageValueTarget)
    {
        var withMetrics = pods.Where(p => p.Usage is not null && p.Ready).ToList();
        var unready = pods.Where(p => p.Usage is not null && !p.Ready).ToList();
        var missing = pods.Where(p => p.Usage is null).ToList();
        if (withMetrics.Count == 0)
            throw new HpaException("FailedGetResourceMetric", $"did not receive metrics for targeted pods (pods might be unready): no {resource} usage from {pods.Count} pods");

        decimal usage = withMetrics.Sum(p => p.Usage!.GetValueOrDefault(resource));
        decimal requests = 0;
        if (utilizationTarget is not null)
            foreach (var p in pods)
            {
                if (!p.Requests.TryGetValue(resource, out var r) || r <= 0)
                    throw new HpaException("FailedGetResourceMetric", $"failed to get {resource} utilization: missing request for {resource} in pod {p.Name}");
                if (p.Usage is not null && p.Ready) requests += r;
            }

        double Ratio(decimal u, decimal req, int count) => utilizationTarget is { } t
            ? (double)(u / req * 100m) / t
            : (double)(u / count / averageValueTarget!.Value);

        var ratio = Ratio(usage, requests, withMetrics.Count);
        var currentUtilization = utilizationTarget is null ? (int?)null : (int)(usage * 100m / requests);
        var average = usage / withMetrics.Count;
        var desired = currentReplicas;
        if (missing.Count == 0 && unready.Count == 0)
        {
            if (Math.Abs(ratio - 1.0) > Tolerance) desired = (int)Math.Ceiling(ratio * withMetrics.Count);
        }
        else
        {
            // Kubernetes' conservative rule: on a scale-down pods without metrics count as using 100 % of their
            // target, on a scale-up as using nothing; unready pods count only against a scale-up, at 0.
            var u = usage;
            var req = requests;
            var count = withMetrics.Count;
            foreach (var p in missing)
            {
                var target = utilizationTarget is { } t ? p.Requests.GetValueOrDefault(resource) * t / 100m : averageValueTarget!.Value;
                if (ratio < 1.0) u += target;
                req += p.Requests.GetValueOrDefault(resource);
                count++;
            }
            if (ratio > 1.0)
                foreach (var p in unready)
                {
                    req += p.Requests.GetValueOrDefault(resource);
                    count++;
                }
            var adjusted = Ratio(u, req, count);
            if (!(Math.Abs(adjusted - 1.0) <= Tolerance || (ratio < 1.0 && adjusted > 1.0) || (ratio > 1.0 && adjusted < 1.0)))
                desired = (int)Math.Ceiling(adjusted * count);
        }
        var description = utilizationTarget is { } target2
            ? $"{resource} resource utilization (percentage of request)"
            : $"{resource} resource";
        return new MetricResult(resource, desired, currentUtilization, average, description);
    }

    /// <summary>
    /// Kubernetes' normalizeDesiredReplicasWithBehaviors: stabilize the proposal over the windows, limit the change by
    /// the policies over their periods, clamp to min/max. Records the proposal in <paramref name="history"/>.
    /// </summary>
    public static (int Replicas, string LimitedReason, bool Limited, string AbleReason) Normalize(
        int current, int proposal, int minReplicas, int maxReplicas, Rules up, Rules down, HpaHistory history, DateTime now)
    {
        history.Recommendations.Add(new Recommendation(now, proposal));
        var keep = TimeSpan.FromSeconds(Math.Max(up.StabilizationWindowSeconds, down.StabilizationWindowSeconds));
        history.Recommendations.RemoveAll(r => r.At < now - keep - TimeSpan.FromSeconds(1));

        var upRecommendation = proposal;
        var downRecommendation = proposal;
        foreach (var r in history.Recommendations)
        {
            if (r.At >= now - TimeSpan.FromSeconds(up.StabilizationWindowSeconds)) upRecommendation = Math.Min(upRecommendation, r.Replicas);
            if (r.At >= now - TimeSpan.FromSeconds(down.StabilizationWindowSeconds)) downRecommendation = Math.Max(downRecommendation, r.Replicas);
        }
        var stabilized = current;
        if (stabilized < upRecommendation) stabilized = upRecommendation;
        if (stabilized > downRecommendation) stabilized = downRecommendation;
        var ableReason = stabilized != proposal ? "ScaleDownStabilized" : "ReadyForNewScale";
        if (stabilized > current && stabilized != proposal) ableReason = "ScaleUpStabilized";

        var desired = stabilized;
        var limited = false;
        var limitedReason = "DesiredWithinRange";
        if (stabilized > current)
        {
            var limit = up.SelectPolicy == "Disabled" ? current : ScaleUpLimit(current, history.ScaleUps, up, now);
            if (limit < desired) { desired = limit; limited = true; limitedReason = "ScaleUpLimit"; }
            if (desired > maxReplicas) { desired = maxReplicas; limited = true; limitedReason = "TooManyReplicas"; }
        }
        else if (stabilized < current)
        {
            var limit = down.SelectPolicy == "Disabled" ? current : ScaleDownLimit(current, history.ScaleDowns, down, now);
            if (limit > desired) { desired = limit; limited = true; limitedReason = "ScaleDownLimit"; }
            if (desired < minReplicas) { desired = minReplicas; limited = true; limitedReason = "TooFewReplicas"; }
        }
        if (desired > maxReplicas) { desired = maxReplicas; limited = true; limitedReason = "TooManyReplicas"; }
        if (desired < minReplicas) { desired = minReplicas; limited = true; limitedReason = "TooFewReplicas"; }
        return (desired, limitedReason, limited, ableReason);
    }

    private static int ScaleUpLimit(int current, List<ScaleEvent> events, Rules rules, DateTime now)
    {
        var limits = rules.Policies.Select(p =>
        {
            var added = events.Where(e => e.At > now - TimeSpan.FromSeconds(p.PeriodSeconds)).Sum(e => e.Change);
            var periodStart = current - added;
            return p.Type == "Percent" ? (int)Math.Ceiling(periodStart * (1 + p.Value / 100.0)) : periodStart + p.Value;
        }).ToList();
        if (limits.Count == 0) return current;
        return rules.SelectPolicy == "Min" ? limits.Min() : limits.Max();
    }

    private static int ScaleDownLimit(int current, List<ScaleEvent> events, Rules rules, DateTime now)
    {
        var limits = rules.Policies.Select(p =>
        {
            var removed = events.Where(e => e.At > now - TimeSpan.FromSeconds(p.PeriodSeconds)).Sum(e => e.Change);
            var periodStart = current + removed;
            return p.Type == "Percent" ? (int)Math.Floor(periodStart * (1 - p.Value / 100.0)) : periodStart - p.Value;
        }).ToList();
        if (limits.Count == 0) return current;
        // "Max" selects the policy that allows the biggest change: the lowest floor.
        return rules.SelectPolicy == "Min" ? limits.Max() : limits.Min();
    }

    /// <summary>Records a scale change (for the policies' periods) and forgets changes older than any period.</summary>
    public static void RecordScale(HpaHistory history, int from, int to, DateTime now)
    {
        if (to > from) history.ScaleUps.Add(new ScaleEvent(now, to - from));
        else if (to < from) history.ScaleDowns.Add(new ScaleEvent(now, from - to));
        history.ScaleUps.RemoveAll(e => e.At < now - TimeSpan.FromMinutes(30));
        history.ScaleDowns.RemoveAll(e => e.At < now - TimeSpan.FromMinutes(30));
    }

    /// <summary>A quantity as Kubernetes prints a metric's averageValue (millicores for cpu, bytes for memory).</summary>
    public static string FormatValue(string resource, decimal value) => resource == "cpu"
        ? ((long)Math.Round(value * 1000m)).ToString(CultureInfo.InvariantCulture) + "m"
        : ((long)Math.Round(value)).ToString(CultureInfo.InvariantCulture);

    /// <summary>A quantity string as a number (cores, bytes); null when it does not parse.</summary>
    public static decimal? Parse(JsonNode? quantity)
    {
        if (quantity is not JsonValue v) return null;
        try { return new ResourceQuantity(v.ToString()).ToDecimal(); }
        catch (Exception e) when (e is FormatException or ArgumentException or OverflowException) { return null; }
    }
}

/// <summary>A condition the HPA reports instead of scaling (reason as Kubernetes names it).</summary>
public sealed class HpaException(string reason, string message) : Exception(message)
{
    public string Reason { get; } = reason;
}
