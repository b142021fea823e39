using System.Globalization;
using System.Text.Json.Nodes;
using AkkaKube.Actors.Machinery;
using k8s.Models;

namespace AkkaKube.Actors.ApiServer.Registry.Coordination;

/// <summary>leases (coordination.k8s.io/v1): node heartbeats and leader election; leaseDurationSeconds &gt; 0.</summary>
public sealed class LeaseStrategy : ResourceStrategy
{
    public override Type Model => typeof(V1Lease);

    public override IEnumerable<StatusCause> Validate(JsonObject obj)
    {
        if (obj["spec"]?["leaseDurationSeconds"] is JsonValue ld && ld.TryGetValue<int>(out var d) && d <= 0)
            yield return Validation.InvalidRaw("spec.leaseDurationSeconds", d.ToString(CultureInfo.InvariantCulture), "must be greater than 0");
    }

    public override IReadOnlyList<TableColumn> Columns { get; } = [TableColumn.NameColumn, TableColumn.Of("Holder", o => Cells.S(o["spec"]?["holderIdentity"])), TableColumn.AgeColumn];
}
