using System.Text.Json.Nodes;
using AkkaKube.Actors.Machinery;
using k8s.Models;
using static AkkaKube.Actors.ApiServer.Protobuf;
using static AkkaKube.Actors.ApiServer.Registry.Validation;

namespace AkkaKube.Actors.ApiServer.Registry.Autoscaling;

/// <summary>horizontalpodautoscalers (autoscaling/v2): minReplicas 1 and a 80 % CPU metric by default; a scale target; max ≥ min ≥ 1.</summary>
public sealed class HorizontalPodAutoscalerStrategy : ResourceStrategy
{
    public override Type Model => typeof(V2HorizontalPodAutoscaler);

    public override void Default(JsonObject obj)
    {
        if (obj["spec"] is not JsonObject spec) return;
        spec["minReplicas"] ??= 1;
        spec["metrics"] ??= new JsonArray(new JsonObject
        {
            ["type"] = "Resource",
            ["resource"] = new JsonObject { ["name"] = "cpu", ["target"] = new JsonObject { ["type"] = "Utilization", ["averageUtilization"] = 80 } },
        });
    }

    public override IEnumerable<StatusCause> Validate(JsonObject obj)
    {
        var spec = obj["spec"] as JsonObject;
        var target = spec?["scaleTargetRef"] as JsonObject;
        if (target is null) yield return Required("spec.scaleTargetRef");
        else
        {
            if (Meta.Str(target["kind"]).Length == 0) yield return Required("spec.scaleTargetRef.kind");
            if (Meta.Str(target["name"]).Length == 0) yield return Required("spec.scaleTargetRef.name");
        }
        var min = spec?["minReplicas"] is JsonValue mv && mv.TryGetValue<long>(out var m) ? m : 1;
        if (spec?["maxReplicas"] is not JsonValue xv || !xv.TryGetValue<long>(out var max)) yield return Required("spec.maxReplicas");
        else if (max < min) yield return InvalidRaw("spec.maxReplicas", max.ToString(System.Globalization.CultureInfo.InvariantCulture), "must be greater than or equal to `minReplicas`");
        if (min < 1) yield return InvalidRaw("spec.minReplicas", min.ToString(System.Globalization.CultureInfo.InvariantCulture), "must be greater than or equal to 1");
    }

    private static string Targets(JsonObject o)
    {
        var current = (o["status"]?["currentMetrics"] as JsonArray)?.OfType<JsonObject>().ToList() ?? [];
        var parts = (o["spec"]?["metrics"] as JsonArray)?.OfType<JsonObject>().Select((m, i) =>
        {
            var target = m["resource"]?["target"];
            var want = target?["averageUtilization"] is { } u ? $"{Cells.I(u)}%" : target?["averageValue"] is { } av ? Cells.Plain(av) : "";
            var now = i < current.Count && current[i]["resource"]?["current"]?["averageUtilization"] is { } cu ? $"{Cells.I(cu)}%" : "<unknown>";
            return m["resource"] is JsonObject r ? $"{Cells.S(r["name"])}: {now}/{want}" : $"{now}/{want}";
        }).ToList() ?? [];
        return parts.Count == 0 ? "<none>" : string.Join(", ", parts);
    }

    /// <summary>What `kubectl autoscale` sends (k8s.io/api autoscaling/v2 numbering); the status is the client's empty one.</summary>
    public override IReadOnlyDictionary<string, Dictionary<int, F>> ProtobufMessages { get; } = new Dictionary<string, Dictionary<int, F>>
    {
        ["HorizontalPodAutoscaler"] = M(new F(1, "metadata", T.Msg, Msg: "ObjectMeta"), new F(2, "spec", T.Msg, Msg: "HorizontalPodAutoscalerSpec"), new F(3, "status", T.Msg, Msg: "Empty")),
        ["HorizontalPodAutoscalerSpec"] = M(
            new F(1, "scaleTargetRef", T.Msg, Msg: "CrossVersionObjectReference"), new F(2, "minReplicas", T.Int32, KeepZero: true),
            new F(3, "maxReplicas", T.Int32), new F(4, "metrics", T.Msg, true, "MetricSpec"), new F(5, "behavior", T.Msg, Msg: "HorizontalPodAutoscalerBehavior")),
        ["CrossVersionObjectReference"] = M(new F(1, "kind", T.Str), new F(2, "name", T.Str), new F(3, "apiVersion", T.Str)),
        ["MetricSpec"] = M(
            new F(1, "type", T.Str), new F(2, "object", T.Msg, Msg: "ObjectMetricSource"), new F(3, "pods", T.Msg, Msg: "PodsMetricSource"),
            new F(4, "resource", T.Msg, Msg: "ResourceMetricSource"), new F(5, "external", T.Msg, Msg: "ExternalMetricSource"),
            new F(7, "containerResource", T.Msg, Msg: "ContainerResourceMetricSource")),
        ["ResourceMetricSource"] = M(new F(1, "name", T.Str), new F(2, "target", T.Msg, Msg: "MetricTarget")),
        ["ContainerResourceMetricSource"] = M(new F(1, "name", T.Str), new F(2, "target", T.Msg, Msg: "MetricTarget"), new F(3, "container", T.Str)),
        ["PodsMetricSource"] = M(new F(1, "metric", T.Msg, Msg: "MetricIdentifier"), new F(2, "target", T.Msg, Msg: "MetricTarget")),
        ["ExternalMetricSource"] = M(new F(1, "metric", T.Msg, Msg: "MetricIdentifier"), new F(2, "target", T.Msg, Msg: "MetricTarget")),
        ["ObjectMetricSource"] = M(new F(1, "describedObject", T.Msg, Msg: "CrossVersionObjectReference"), new F(2, "target", T.Msg, Msg: "MetricTarget"), new F(3, "metric", T.Msg, Msg: "MetricIdentifier")),
        ["MetricIdentifier"] = M(new F(1, "name", T.Str), new F(2, "selector", T.Msg, Msg: "LabelSelector")),
        ["MetricTarget"] = M(new F(1, "type", T.Str), new F(2, "value", T.Quantity), new F(3, "averageValue", T.Quantity), new F(4, "averageUtilization", T.Int32, KeepZero: true)),
        ["HorizontalPodAutoscalerBehavior"] = M(new F(1, "scaleUp", T.Msg, Msg: "HPAScalingRules"), new F(2, "scaleDown", T.Msg, Msg: "HPAScalingRules")),
        ["HPAScalingRules"] = M(new F(3, "stabilizationWindowSeconds", T.Int32, KeepZero: true), new F(1, "selectPolicy", T.Str), new F(2, "policies", T.Msg, true, "HPAScalingPolicy")),
        ["HPAScalingPolicy"] = M(new F(1, "type", T.Str), new F(2, "value", T.Int32), new F(3, "periodSeconds", T.Int32)),
    };

    public override IReadOnlyList<TableColumn> Columns { get; } =
    [
        TableColumn.NameColumn,
        TableColumn.Of("Reference", o => $"{Cells.S(o["spec"]?["scaleTargetRef"]?["kind"])}/{Cells.S(o["spec"]?["scaleTargetRef"]?["name"])}"),
        TableColumn.Of("Targets", Targets),
        TableColumn.Of("MinPods", o => o["spec"]?["minReplicas"] is { } m ? Cells.Plain(m) : "<unset>"),
        TableColumn.Of("MaxPods", o => Cells.I(o["spec"]?["maxReplicas"]), type: "integer"),
        TableColumn.Of("Replicas", o => Cells.I(o["status"]?["currentReplicas"]), type: "integer"),
        TableColumn.AgeColumn,
    ];
}
