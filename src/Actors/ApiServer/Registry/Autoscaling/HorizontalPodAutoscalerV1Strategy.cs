using System.Text.Json.Nodes;
using AkkaKube.Actors.Machinery;
using k8s.Models;
using static AkkaKube.Actors.ApiServer.Protobuf;
using static AkkaKube.Actors.ApiServer.Registry.Validation;

namespace AkkaKube.Actors.ApiServer.Registry.Autoscaling;

/// <summary>
/// horizontalpodautoscalers in autoscaling/v1, served beside v2 on the same objects (stored as v2), converted as
/// Kubernetes converts them: spec.targetCPUUtilizationPercentage ↔ a Resource cpu Utilization metric, status
/// currentCPUUtilizationPercentage ↔ the cpu current metric. What v1 cannot express (other metrics, behavior,
/// conditions) travels in the autoscaling.alpha.kubernetes.io annotations, so a v1 round trip loses nothing.
/// </summary>
public sealed class HorizontalPodAutoscalerV1Strategy : ResourceStrategy
{
    public const string MetricsAnnotation = "autoscaling.alpha.kubernetes.io/metrics";
    public const string CurrentMetricsAnnotation = "autoscaling.alpha.kubernetes.io/current-metrics";
    public const string ConditionsAnnotation = "autoscaling.alpha.kubernetes.io/conditions";
    public const string BehaviorAnnotation = "autoscaling.alpha.kubernetes.io/behavior";

    private readonly HorizontalPodAutoscalerStrategy _v2 = new();

    public override Type Model => typeof(V1HorizontalPodAutoscaler);

    public override void Default(JsonObject obj)
    {
        if (obj["spec"] is not JsonObject spec) return;
        spec["minReplicas"] ??= 1;
        // v2 defaults an HPA without metrics to 80 % CPU; in v1 that is the target percentage
        if (spec["targetCPUUtilizationPercentage"] is null && Annotation(obj, MetricsAnnotation) is null) spec["targetCPUUtilizationPercentage"] = 80;
    }

    public override IEnumerable<StatusCause> Validate(JsonObject obj)
    {
        foreach (var cause in _v2.Validate(obj)) yield return cause;
        if (obj["spec"]?["targetCPUUtilizationPercentage"] is JsonValue t && t.TryGetValue<long>(out var target) && target < 1)
            yield return InvalidRaw("spec.targetCPUUtilizationPercentage", target.ToString(System.Globalization.CultureInfo.InvariantCulture), "must be greater than or equal to 1");
    }

    public HorizontalPodAutoscalerV1Strategy() =>
        Columns = _v2.Columns.Select(c => c with { Cell = (o, now) => c.Cell(ToV2(o), now) }).ToList();

    /// <summary>What `kubectl autoscale` sends: an autoscaling/v1 object (k8s.io/api autoscaling/v1 numbering).</summary>
    public override IReadOnlyDictionary<string, Dictionary<int, F>> ProtobufMessages { get; } = new Dictionary<string, Dictionary<int, F>>
    {
        [VersionedName("autoscaling/v1", "HorizontalPodAutoscaler")] = M(
            new F(1, "metadata", T.Msg, Msg: "ObjectMeta"), new F(2, "spec", T.Msg, Msg: "HorizontalPodAutoscalerSpecV1"), new F(3, "status", T.Msg, Msg: "Empty")),
        ["HorizontalPodAutoscalerSpecV1"] = M(
            new F(1, "scaleTargetRef", T.Msg, Msg: "CrossVersionObjectReference"), new F(2, "minReplicas", T.Int32, KeepZero: true),
            new F(3, "maxReplicas", T.Int32), new F(4, "targetCPUUtilizationPercentage", T.Int32, KeepZero: true)),
    };

    /// <summary>The v2 columns over the converted object (kubectl prints both versions alike).</summary>
    public override IReadOnlyList<TableColumn> Columns { get; }

    public override JsonObject ToStorage(JsonObject obj) => ToV2(obj);

    public override JsonObject FromStorage(JsonObject stored) => ToV1(stored);

    /// <summary>autoscaling/v1 → v2 (the storage version).</summary>
    public static JsonObject ToV2(JsonObject v1)
    {
        if (Meta.Str(v1["apiVersion"]) == "autoscaling/v2") return v1;
        var v2 = (JsonObject)v1.DeepClone();
        v2["apiVersion"] = "autoscaling/v2";
        var metrics = TakeAnnotation(v2, MetricsAnnotation) as JsonArray ?? new JsonArray();
        var currentMetrics = TakeAnnotation(v2, CurrentMetricsAnnotation) as JsonArray ?? new JsonArray();
        var conditions = TakeAnnotation(v2, ConditionsAnnotation);
        var behavior = TakeAnnotation(v2, BehaviorAnnotation);
        if (v2["spec"] is JsonObject spec)
        {
            if (spec["targetCPUUtilizationPercentage"] is { } target)
                metrics.Insert(0, CpuMetric("target", new JsonObject { ["type"] = "Utilization", ["averageUtilization"] = target.DeepClone() }));
            spec.Remove("targetCPUUtilizationPercentage");
            if (metrics.Count > 0) spec["metrics"] = metrics;
            if (behavior is not null) spec["behavior"] = behavior;
        }
        if (v2["status"] is JsonObject status)
        {
            if (status["currentCPUUtilizationPercentage"] is { } current)
                currentMetrics.Insert(0, CpuMetric("current", new JsonObject { ["averageUtilization"] = current.DeepClone() }));
            status.Remove("currentCPUUtilizationPercentage");
            if (currentMetrics.Count > 0) status["currentMetrics"] = currentMetrics;
            if (conditions is not null) status["conditions"] = conditions;
        }
        return v2;
    }

    /// <summary>autoscaling/v2 (stored) → v1.</summary>
    public static JsonObject ToV1(JsonObject v2)
    {
        if (Meta.Str(v2["apiVersion"]) == "autoscaling/v1") return v2;
        var v1 = (JsonObject)v2.DeepClone();
        v1["apiVersion"] = "autoscaling/v1";
        if (v1["spec"] is JsonObject spec)
        {
            var others = new JsonArray();
            foreach (var m in (spec["metrics"] as JsonArray ?? []).OfType<JsonObject>())
            {
                if (IsCpuUtilization(m, "target") && spec["targetCPUUtilizationPercentage"] is null)
                    spec["targetCPUUtilizationPercentage"] = m["resource"]!["target"]!["averageUtilization"]!.DeepClone();
                else others.Add(m.DeepClone());
            }
            spec.Remove("metrics");
            if (others.Count > 0) SetAnnotation(v1, MetricsAnnotation, others);
            if (spec["behavior"] is { } behavior)
            {
                SetAnnotation(v1, BehaviorAnnotation, behavior.DeepClone());
                spec.Remove("behavior");
            }
        }
        if (v1["status"] is JsonObject status)
        {
            var others = new JsonArray();
            foreach (var m in (status["currentMetrics"] as JsonArray ?? []).OfType<JsonObject>())
            {
                if (m["resource"]?["current"]?["averageUtilization"] is { } u && Meta.Str(m["resource"]?["name"]) == "cpu" && status["currentCPUUtilizationPercentage"] is null)
                    status["currentCPUUtilizationPercentage"] = u.DeepClone();
                else others.Add(m.DeepClone());
            }
            status.Remove("currentMetrics");
            if (others.Count > 0) SetAnnotation(v1, CurrentMetricsAnnotation, others);
            if (status["conditions"] is { } conditions)
            {
                SetAnnotation(v1, ConditionsAnnotation, conditions.DeepClone());
                status.Remove("conditions");
            }
        }
        return v1;
    }

    private static bool IsCpuUtilization(JsonObject metric, string side) =>
        Meta.Str(metric["type"]) == "Resource" && Meta.Str(metric["resource"]?["name"]) == "cpu" &&
        Meta.Str(metric["resource"]?[side]?["type"]) is "Utilization" or "" && metric["resource"]?[side]?["averageUtilization"] is not null;

    private static JsonObject CpuMetric(string side, JsonObject value) => new()
    {
        ["type"] = "Resource",
        ["resource"] = new JsonObject { ["name"] = "cpu", [side] = value },
    };

    private static string? Annotation(JsonObject obj, string key) => obj["metadata"]?["annotations"]?[key] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    private static JsonNode? TakeAnnotation(JsonObject obj, string key)
    {
        if (Annotation(obj, key) is not { } text) return null;
        var annotations = (JsonObject)obj["metadata"]!["annotations"]!;
        annotations.Remove(key);
        if (annotations.Count == 0) ((JsonObject)obj["metadata"]!).Remove("annotations");
        try
        {
            return JsonNode.Parse(text);
        }
        catch (System.Text.Json.JsonException)
        {
            return null; // not ours to interpret: dropped like Kubernetes drops an unreadable annotation
        }
    }

    private static void SetAnnotation(JsonObject obj, string key, JsonNode value) =>
        Meta.Obj(Meta.Of(obj), "annotations")[key] = value.ToJsonString();
}
