using System.Text.Json.Nodes;
using k8s.Models;

namespace AkkaKube.Actors.ApiServer.Registry.Core;

/// <summary>nodes (core/v1): registered by kubelets; printed with status, roles and versions.</summary>
public sealed class NodeStrategy : ResourceStrategy
{
    public override IReadOnlyCollection<string> FieldLabels { get; } = FieldLabelSets.With("spec.unschedulable");

    public override Type Model => typeof(V1Node);

    public override IReadOnlyList<TableColumn> Columns { get; } =
    [
        TableColumn.NameColumn,
        TableColumn.Of("Status", NodeStatus),
        TableColumn.Of("Roles", NodeRoles),
        TableColumn.AgeColumn,
        TableColumn.Of("Version", o => Cells.S(o["status"]?["nodeInfo"]?["kubeletVersion"])),
        TableColumn.Of("Internal-IP", o => NodeAddress(o, "InternalIP"), 1),
        TableColumn.Of("External-IP", o => NodeAddress(o, "ExternalIP"), 1),
        TableColumn.Of("OS-Image", o => Cells.Or(Cells.S(o["status"]?["nodeInfo"]?["osImage"]), "<unknown>"), 1),
        TableColumn.Of("Kernel-Version", o => Cells.Or(Cells.S(o["status"]?["nodeInfo"]?["kernelVersion"]), "<unknown>"), 1),
        TableColumn.Of("Container-Runtime", o => Cells.Or(Cells.S(o["status"]?["nodeInfo"]?["containerRuntimeVersion"]), "<unknown>"), 1),
    ];

    private static string NodeStatus(JsonObject o)
    {
        var ready = (o["status"]?["conditions"] as JsonArray)?.FirstOrDefault(c => Cells.S(c?["type"]) == "Ready");
        var status = ready is null ? "Unknown" : Cells.S(ready["status"]) == "True" ? "Ready" : "NotReady";
        if (o["spec"]?["unschedulable"] is JsonValue u && u.TryGetValue<bool>(out var b) && b) status += ",SchedulingDisabled";
        return status;
    }

    private static string NodeRoles(JsonObject o)
    {
        var roles = new List<string>();
        if (o["metadata"]?["labels"] is JsonObject labels)
            foreach (var (k, v) in labels)
            {
                if (k.StartsWith("node-role.kubernetes.io/", StringComparison.Ordinal)) roles.Add(k["node-role.kubernetes.io/".Length..]);
                else if (k == "kubernetes.io/role") roles.Add(Cells.S(v));
            }
        return roles.Count > 0 ? string.Join(",", roles.Order(StringComparer.Ordinal)) : "<none>";
    }

    private static string NodeAddress(JsonObject o, string type) =>
        (o["status"]?["addresses"] as JsonArray)?.FirstOrDefault(a => Cells.S(a?["type"]) == type) is { } a ? Cells.S(a["address"]) : "<none>";
}
