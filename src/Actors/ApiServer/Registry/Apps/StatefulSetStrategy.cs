using System.Text.Json.Nodes;
using AkkaKube.Actors.ApiServer.Registry.Core;
using AkkaKube.Actors.Machinery;
using k8s.Models;
using static AkkaKube.Actors.ApiServer.Registry.Validation;

namespace AkkaKube.Actors.ApiServer.Registry.Apps;

/// <summary>statefulsets (apps/v1): OrderedReady, RollingUpdate partition 0, Retain PVC policy; selector immutable; scale.</summary>
public sealed class StatefulSetStrategy : ResourceStrategy
{
    public override Type Model => typeof(V1StatefulSet);

    public override void Default(JsonObject obj)
    {
        if (obj["spec"] is not JsonObject spec) return;
        spec["replicas"] ??= 1;
        spec["podManagementPolicy"] ??= "OrderedReady";
        spec["revisionHistoryLimit"] ??= 10;
        var strategy = Meta.Obj(spec, "updateStrategy");
        strategy["type"] ??= "RollingUpdate";
        if (Meta.Str(strategy["type"]) == "RollingUpdate") Meta.Obj(strategy, "rollingUpdate")["partition"] ??= 0;
        var retention = Meta.Obj(spec, "persistentVolumeClaimRetentionPolicy");
        retention["whenDeleted"] ??= "Retain";
        retention["whenScaled"] ??= "Retain";
        if (spec["volumeClaimTemplates"] is JsonArray claims)
            foreach (var claim in claims.OfType<JsonObject>())
            {
                claim["apiVersion"] ??= "v1";
                claim["kind"] ??= "PersistentVolumeClaim";
                if (claim["spec"] is JsonObject claimSpec) claimSpec["volumeMode"] ??= "Filesystem";
            }
        PodStrategy.DefaultTemplate(spec);
    }

    public override IEnumerable<StatusCause> Validate(JsonObject obj)
    {
        var causes = ReplicaSetStrategy.ValidateWorkload(obj).ToList();
        var spec = obj["spec"] as JsonObject;
        var policy = Meta.Str(spec?["podManagementPolicy"]);
        if (policy.Length > 0 && policy is not ("OrderedReady" or "Parallel"))
            causes.Add(NotSupported("spec.podManagementPolicy", policy, "OrderedReady", "Parallel"));
        var type = Meta.Str(spec?["updateStrategy"]?["type"]);
        if (type.Length > 0 && type is not ("RollingUpdate" or "OnDelete"))
            causes.Add(NotSupported("spec.updateStrategy.type", type, "OnDelete", "RollingUpdate"));
        if (Meta.Str(spec?["template"]?["spec"]?["restartPolicy"]) is { Length: > 0 } rp && rp != "Always")
            causes.Add(NotSupported("spec.template.spec.restartPolicy", rp, "Always"));
        return causes;
    }

    public override IEnumerable<StatusCause> ValidateUpdate(JsonObject obj, JsonObject old) => ReplicaSetStrategy.ImmutableSelector(obj, old);

    public override IReadOnlyList<TableColumn> Columns { get; } =
    [
        TableColumn.NameColumn,
        TableColumn.Of("Ready", o => $"{Cells.I(o["status"]?["readyReplicas"])}/{Cells.I(o["spec"]?["replicas"])}"),
        TableColumn.AgeColumn,
        TableColumn.Of("Containers", o => Cells.Containers(o["spec"]?["template"]?["spec"], "name"), 1),
        TableColumn.Of("Images", o => Cells.Containers(o["spec"]?["template"]?["spec"], "image"), 1),
    ];
}

/// <summary>daemonsets (apps/v1): RollingUpdate maxUnavailable 1 / maxSurge 0; restartPolicy Always; selector immutable.</summary>
public sealed class DaemonSetStrategy : ResourceStrategy
{
    public override Type Model => typeof(V1DaemonSet);

    public override void Default(JsonObject obj)
    {
        if (obj["spec"] is not JsonObject spec) return;
        spec["revisionHistoryLimit"] ??= 10;
        var strategy = Meta.Obj(spec, "updateStrategy");
        strategy["type"] ??= "RollingUpdate";
        if (Meta.Str(strategy["type"]) == "RollingUpdate")
        {
            var ru = Meta.Obj(strategy, "rollingUpdate");
            ru["maxUnavailable"] ??= 1;
            ru["maxSurge"] ??= 0;
        }
        PodStrategy.DefaultTemplate(spec);
    }

    public override IEnumerable<StatusCause> Validate(JsonObject obj)
    {
        var causes = new List<StatusCause>();
        var spec = obj["spec"] as JsonObject;
        SelectorAndTemplate(spec, causes);
        if (Meta.Str(spec?["template"]?["spec"]?["restartPolicy"]) is { Length: > 0 } rp && rp != "Always")
            causes.Add(NotSupported("spec.template.spec.restartPolicy", rp, "Always"));
        var type = Meta.Str(spec?["updateStrategy"]?["type"]);
        if (type.Length > 0 && type is not ("RollingUpdate" or "OnDelete"))
            causes.Add(NotSupported("spec.updateStrategy.type", type, "OnDelete", "RollingUpdate"));
        return causes;
    }

    public override IEnumerable<StatusCause> ValidateUpdate(JsonObject obj, JsonObject old) => ReplicaSetStrategy.ImmutableSelector(obj, old);

    public override IReadOnlyList<TableColumn> Columns { get; } =
    [
        TableColumn.NameColumn,
        TableColumn.Of("Desired", o => Cells.I(o["status"]?["desiredNumberScheduled"]), type: "integer"),
        TableColumn.Of("Current", o => Cells.I(o["status"]?["currentNumberScheduled"]), type: "integer"),
        TableColumn.Of("Ready", o => Cells.I(o["status"]?["numberReady"]), type: "integer"),
        TableColumn.Of("Up-to-date", o => Cells.I(o["status"]?["updatedNumberScheduled"]), type: "integer"),
        TableColumn.Of("Available", o => Cells.I(o["status"]?["numberAvailable"]), type: "integer"),
        TableColumn.Of("Node Selector", o => o["spec"]?["template"]?["spec"]?["nodeSelector"] is JsonObject ns && ns.Count > 0
            ? string.Join(",", ns.Select(kv => $"{kv.Key}={Cells.S(kv.Value)}")) : "<none>"),
        TableColumn.AgeColumn,
        TableColumn.Of("Containers", o => Cells.Containers(o["spec"]?["template"]?["spec"], "name"), 1),
        TableColumn.Of("Images", o => Cells.Containers(o["spec"]?["template"]?["spec"], "image"), 1),
        TableColumn.Of("Selector", Cells.Selector, 1),
    ];
}

/// <summary>controllerrevisions (apps/v1): immutable snapshots of a workload's template; revision ≥ 0 and immutable data.</summary>
public sealed class ControllerRevisionStrategy : ResourceStrategy
{
    public override Type Model => typeof(V1ControllerRevision);

    public override IEnumerable<StatusCause> Validate(JsonObject obj)
    {
        var causes = new List<StatusCause>();
        if (obj["revision"] is null) causes.Add(Required("revision"));
        NonNegative(obj["revision"], "revision", causes);
        return causes;
    }

    public override IEnumerable<StatusCause> ValidateUpdate(JsonObject obj, JsonObject old)
    {
        if (!JsonNode.DeepEquals(old["data"], obj["data"])) yield return Forbidden("data", "field is immutable");
    }

    public override IReadOnlyList<TableColumn> Columns { get; } =
    [
        TableColumn.NameColumn,
        TableColumn.Of("Controller", o => (o["metadata"]?["ownerReferences"] as JsonArray)?.OfType<JsonObject>()
            .FirstOrDefault(r => r["controller"] is JsonValue c && c.TryGetValue<bool>(out var b) && b) is { } owner
            ? $"{Cells.S(owner["kind"]).ToLowerInvariant()}.{Cells.S(owner["apiVersion"]).Split('/')[0]}/{Cells.S(owner["name"])}" : "<none>"),
        TableColumn.Of("Revision", o => Cells.I(o["revision"]), type: "integer"),
        TableColumn.AgeColumn,
    ];
}
