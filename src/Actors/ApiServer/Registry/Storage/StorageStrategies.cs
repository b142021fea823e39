using System.Text.Json.Nodes;
using AkkaKube.Actors.Machinery;
using k8s.Models;
using static AkkaKube.Actors.ApiServer.Registry.Validation;

namespace AkkaKube.Actors.ApiServer.Registry.Storage;

/// <summary>storageclasses (storage.k8s.io/v1): provisioner required; Delete and Immediate by default; "(default)" as kubectl marks it.</summary>
public sealed class StorageClassStrategy : ResourceStrategy
{
    public override Type Model => typeof(V1StorageClass);

    public override void Default(JsonObject obj)
    {
        obj["reclaimPolicy"] ??= "Delete";
        obj["volumeBindingMode"] ??= "Immediate";
    }

    public override IEnumerable<StatusCause> Validate(JsonObject obj)
    {
        if (Meta.Str(obj["provisioner"]).Length == 0) yield return Required("provisioner");
        var mode = Meta.Str(obj["volumeBindingMode"]);
        if (mode.Length > 0 && mode is not ("Immediate" or "WaitForFirstConsumer")) yield return NotSupported("volumeBindingMode", mode, "Immediate", "WaitForFirstConsumer");
        var policy = Meta.Str(obj["reclaimPolicy"]);
        if (policy.Length > 0 && policy is not ("Delete" or "Retain")) yield return NotSupported("reclaimPolicy", policy, "Delete", "Retain");
    }

    public override IEnumerable<StatusCause> ValidateUpdate(JsonObject obj, JsonObject old)
    {
        foreach (var f in new[] { "provisioner", "parameters", "reclaimPolicy", "volumeBindingMode" })
            if (!JsonNode.DeepEquals(old[f], obj[f])) yield return Forbidden(f, "updates to " + f + " are forbidden.");
    }

    private static bool IsDefault(JsonObject o) =>
        Meta.Str(o["metadata"]?["annotations"]?["storageclass.kubernetes.io/is-default-class"]) == "true";

    public override IReadOnlyList<TableColumn> Columns { get; } =
    [
        TableColumn.NameColumn with { Cell = (o, _) => Cells.S(o["metadata"]?["name"]) + (IsDefault(o) ? " (default)" : "") },
        TableColumn.Of("Provisioner", o => Cells.S(o["provisioner"])),
        TableColumn.Of("ReclaimPolicy", o => Cells.S(o["reclaimPolicy"])),
        TableColumn.Of("VolumeBindingMode", o => Cells.S(o["volumeBindingMode"])),
        TableColumn.Of("AllowVolumeExpansion", o => o["allowVolumeExpansion"] is JsonValue v && v.TryGetValue<bool>(out var b) && b ? "true" : "false"),
        TableColumn.AgeColumn,
    ];
}

/// <summary>csidrivers (storage.k8s.io/v1): attachRequired true, podInfoOnMount false, Persistent lifecycle by default.</summary>
public sealed class CsiDriverStrategy : ResourceStrategy
{
    public override Type Model => typeof(V1CSIDriver);

    public override void Default(JsonObject obj)
    {
        var spec = Meta.Obj(obj, "spec");
        spec["attachRequired"] ??= true;
        spec["podInfoOnMount"] ??= false;
        spec["storageCapacity"] ??= false;
        spec["requiresRepublish"] ??= false;
        spec["fsGroupPolicy"] ??= "ReadWriteOnceWithFSType";
        spec["volumeLifecycleModes"] ??= new JsonArray("Persistent");
    }

    private static string Flag(JsonNode? n) => n is JsonValue v && v.TryGetValue<bool>(out var b) && b ? "true" : "false";

    public override IReadOnlyList<TableColumn> Columns { get; } =
    [
        TableColumn.NameColumn,
        TableColumn.Of("AttachRequired", o => Flag(o["spec"]?["attachRequired"])),
        TableColumn.Of("PodInfoOnMount", o => Flag(o["spec"]?["podInfoOnMount"])),
        TableColumn.Of("StorageCapacity", o => Flag(o["spec"]?["storageCapacity"])),
        TableColumn.Of("TokenRequests", o => (o["spec"]?["tokenRequests"] as JsonArray)?.Select(t => Cells.S(t?["audience"])).ToList() is { Count: > 0 } a ? string.Join(",", a) : "<unset>"),
        TableColumn.Of("RequiresRepublish", o => Flag(o["spec"]?["requiresRepublish"])),
        TableColumn.Of("Modes", o => string.Join(",", (o["spec"]?["volumeLifecycleModes"] as JsonArray)?.Select(Cells.S) ?? [])),
        TableColumn.AgeColumn,
    ];
}

/// <summary>volumeattachments (storage.k8s.io/v1): attacher, node and a source required; the spec is immutable.</summary>
public sealed class VolumeAttachmentStrategy : ResourceStrategy
{
    public override Type Model => typeof(V1VolumeAttachment);

    public override IEnumerable<StatusCause> Validate(JsonObject obj)
    {
        if (Meta.Str(obj["spec"]?["attacher"]).Length == 0) yield return Required("spec.attacher");
        if (Meta.Str(obj["spec"]?["nodeName"]).Length == 0) yield return Required("spec.nodeName");
        if (obj["spec"]?["source"] is not JsonObject src || (src["persistentVolumeName"] is null && src["inlineVolumeSpec"] is null))
            yield return Required("spec.source", "Required value: must specify exactly one of inlineVolumeSpec and persistentVolumeName");
    }

    public override IEnumerable<StatusCause> ValidateUpdate(JsonObject obj, JsonObject old)
    {
        if (!JsonNode.DeepEquals(old["spec"], obj["spec"])) yield return Immutable("spec", obj["spec"]);
    }

    public override IReadOnlyList<TableColumn> Columns { get; } =
    [
        TableColumn.NameColumn,
        TableColumn.Of("Attacher", o => Cells.S(o["spec"]?["attacher"])),
        TableColumn.Of("PV", o => Cells.S(o["spec"]?["source"]?["persistentVolumeName"])),
        TableColumn.Of("Node", o => Cells.S(o["spec"]?["nodeName"])),
        TableColumn.Of("Attached", o => o["status"]?["attached"] is JsonValue v && v.TryGetValue<bool>(out var b) && b ? "true" : "false"),
        TableColumn.AgeColumn,
    ];
}

/// <summary>csinodes (storage.k8s.io/v1): the CSI drivers installed on a node (name and nodeID each, unique names).</summary>
public sealed class CsiNodeStrategy : ResourceStrategy
{
    public override Type Model => typeof(V1CSINode);

    public override IEnumerable<StatusCause> Validate(JsonObject obj)
    {
        if (obj["spec"]?["drivers"] is not JsonArray drivers)
        {
            yield return Required("spec.drivers");
            yield break;
        }
        var seen = new HashSet<string>();
        for (var i = 0; i < drivers.Count; i++)
        {
            var name = Meta.Str(drivers[i]?["name"]);
            if (name.Length == 0) yield return Required($"spec.drivers[{i}].name");
            else if (!seen.Add(name)) yield return Duplicate($"spec.drivers[{i}].name", name);
            if (Meta.Str(drivers[i]?["nodeID"]).Length == 0) yield return Required($"spec.drivers[{i}].nodeID");
        }
    }

    public override IReadOnlyList<TableColumn> Columns { get; } =
        [TableColumn.NameColumn, TableColumn.Of("Drivers", o => Cells.Count(o["spec"]?["drivers"]), type: "integer"), TableColumn.AgeColumn];
}

/// <summary>csistoragecapacities (storage.k8s.io/v1, namespaced): a storage class's capacity in a topology segment.</summary>
public sealed class CsiStorageCapacityStrategy : ResourceStrategy
{
    public override Type Model => typeof(V1CSIStorageCapacity);

    public override IEnumerable<StatusCause> Validate(JsonObject obj)
    {
        var sc = Meta.Str(obj["storageClassName"]);
        if (sc.Length == 0) yield return Required("storageClassName");
        else if (!IsDns1123Subdomain(sc)) yield return Invalid("storageClassName", sc, "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'");
    }

    public override IReadOnlyList<TableColumn> Columns { get; } =
    [
        TableColumn.NameColumn,
        TableColumn.Of("StorageClassName", o => Cells.S(o["storageClassName"])),
        TableColumn.Of("Capacity", o => o["capacity"] is { } c ? Cells.Plain(c) : "<unset>"),
        TableColumn.AgeColumn,
    ];
}
