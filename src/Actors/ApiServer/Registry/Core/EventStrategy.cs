using System.Text.Json.Nodes;
using k8s.Models;

namespace AkkaKube.Actors.ApiServer.Registry.Core;

/// <summary>events (core/v1): printed as `kubectl get events` does (last seen, type, reason, object, message).</summary>
public sealed class EventStrategy : ResourceStrategy
{
    public override IReadOnlyCollection<string> FieldLabels { get; } = FieldLabelSets.Event;

    public override IReadOnlyDictionary<string, string> FieldLabelPaths => FieldLabelSets.EventAliases;

    public override Type Model => typeof(Corev1Event);

    public override IReadOnlyList<TableColumn> Columns { get; } =
    [
        TableColumn.Timed("Last Seen", (o, now) => Cells.Age(o["lastTimestamp"] ?? o["eventTime"] ?? o["metadata"]?["creationTimestamp"], now)),
        TableColumn.Of("Type", o => Cells.S(o["type"])),
        TableColumn.Of("Reason", o => Cells.S(o["reason"])),
        TableColumn.Of("Object", o => $"{Cells.S(o["involvedObject"]?["kind"]).ToLowerInvariant()}/{Cells.S(o["involvedObject"]?["name"])}"),
        TableColumn.Of("Message", o => Cells.S(o["message"]).Trim()),
        TableColumn.Of("Source", o => Cells.S(o["source"]?["component"]), 1),
        TableColumn.Timed("First Seen", (o, now) => Cells.Age(o["firstTimestamp"] ?? o["metadata"]?["creationTimestamp"], now), 1),
        TableColumn.Of("Count", o => Cells.I(o["count"]) is var n && n > 0 ? n : 1, 1, "integer"),
        TableColumn.NameColumn with { Priority = 1 },
    ];
}

/// <summary>endpoints (core/v1): maintained by the endpoints controller; printed as ip:port, first three.</summary>
public sealed class EndpointsStrategy : ResourceStrategy
{
    public override Type Model => typeof(V1Endpoints);

    public override IReadOnlyList<TableColumn> Columns { get; } = [TableColumn.NameColumn, TableColumn.Of("Endpoints", EndpointsText), TableColumn.AgeColumn];

    private static string EndpointsText(JsonObject o)
    {
        var list = new List<string>();
        if (o["subsets"] is JsonArray subsets)
            foreach (var s in subsets)
            {
                var ports = (s?["ports"] as JsonArray)?.Select(p => Cells.I(p?["port"])).ToList() ?? [];
                foreach (var a in (s?["addresses"] as JsonArray) ?? [])
                    list.AddRange(ports.Count == 0 ? [Cells.S(a?["ip"])] : ports.Select(p => $"{Cells.S(a?["ip"])}:{p}"));
            }
        return Cells.FirstThree(list, "<none>");
    }
}
