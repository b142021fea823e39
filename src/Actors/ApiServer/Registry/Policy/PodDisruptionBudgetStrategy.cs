using k8s.Models;

namespace AkkaKube.Actors.ApiServer.Registry.Policy;

/// <summary>poddisruptionbudgets (policy/v1): consulted by pods/eviction (ApiServer/Eviction).</summary>
public sealed class PodDisruptionBudgetStrategy : ResourceStrategy
{
    public override Type Model => typeof(V1PodDisruptionBudget);

    /// <summary>`kubectl create poddisruptionbudget` sends protobuf (k8s.io/api policy/v1 numbering).</summary>
    public override IReadOnlyDictionary<string, Dictionary<int, Protobuf.F>> ProtobufMessages { get; } = new Dictionary<string, Dictionary<int, Protobuf.F>>
    {
        ["PodDisruptionBudget"] = Protobuf.M(new Protobuf.F(1, "metadata", Protobuf.T.Msg, Msg: "ObjectMeta"), new(2, "spec", Protobuf.T.Msg, Msg: "PodDisruptionBudgetSpec"),
            new(3, "status", Protobuf.T.Msg, Msg: "Empty")),
        ["PodDisruptionBudgetSpec"] = Protobuf.M(new Protobuf.F(1, "minAvailable", Protobuf.T.IntOrStr), new(2, "selector", Protobuf.T.Msg, Msg: "LabelSelector"),
            new(3, "maxUnavailable", Protobuf.T.IntOrStr), new(4, "unhealthyPodEvictionPolicy", Protobuf.T.Str)),
    };

    public override IReadOnlyList<TableColumn> Columns { get; } =
    [
        TableColumn.NameColumn,
        TableColumn.Of("Min Available", o => o["spec"]?["minAvailable"] is { } m ? Cells.Plain(m) : "N/A"),
        TableColumn.Of("Max Unavailable", o => o["spec"]?["maxUnavailable"] is { } m ? Cells.Plain(m) : "N/A"),
        TableColumn.Of("Allowed Disruptions", o => Cells.I(o["status"]?["disruptionsAllowed"]), type: "integer"),
        TableColumn.AgeColumn,
    ];
}
