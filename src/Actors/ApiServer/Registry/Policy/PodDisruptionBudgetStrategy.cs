using k8s.Models;

namespace AkkaKube.Actors.ApiServer.Registry.Policy;

/// <summary>poddisruptionbudgets (policy/v1): consulted by pods/eviction (ApiServer/Eviction).</summary>
public sealed class PodDisruptionBudgetStrategy : ResourceStrategy
{
    public override Type Model => typeof(V1PodDisruptionBudget);

    public override IReadOnlyList<TableColumn> Columns { get; } =
    [
        TableColumn.NameColumn,
        TableColumn.Of("Min Available", o => o["spec"]?["minAvailable"] is { } m ? Cells.Plain(m) : "N/A"),
        TableColumn.Of("Max Unavailable", o => o["spec"]?["maxUnavailable"] is { } m ? Cells.Plain(m) : "N/A"),
        TableColumn.Of("Allowed Disruptions", o => Cells.I(o["status"]?["disruptionsAllowed"]), type: "integer"),
        TableColumn.AgeColumn,
    ];
}
