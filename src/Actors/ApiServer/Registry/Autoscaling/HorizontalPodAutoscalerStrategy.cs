using System.Text.Json.Nodes;
using AkkaKube.Actors.Machinery;
using k8s.Models;
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
