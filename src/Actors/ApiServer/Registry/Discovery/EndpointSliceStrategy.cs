using System.Globalization;
using System.Text.Json.Nodes;
using k8s.Models;

namespace AkkaKube.Actors.ApiServer.Registry.Discovery;

/// <summary>endpointslices (discovery.k8s.io/v1): written by the EndpointSlice controller, read by the proxies.</summary>
public sealed class EndpointSliceStrategy : ResourceStrategy
{
    public override Type Model => typeof(V1EndpointSlice);

    public override IReadOnlyList<TableColumn> Columns { get; } =
    [
        TableColumn.NameColumn,
        TableColumn.Of("AddressType", o => Cells.S(o["addressType"])),
        TableColumn.Of("Ports", o => o["ports"] is JsonArray ps && ps.Count > 0 ? string.Join(",", ps.Select(p => Cells.I(p?["port"]).ToString(CultureInfo.InvariantCulture))) : "<unset>"),
        TableColumn.Of("Endpoints", o => Cells.FirstThree((o["endpoints"] as JsonArray)?.SelectMany(e => (e?["addresses"] as JsonArray)?.Select(Cells.S) ?? []).ToList() ?? [], "<unset>")),
        TableColumn.AgeColumn,
    ];
}
