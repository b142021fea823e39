using System.Text.Json.Nodes;
using AkkaKube.Actors.Machinery;
using k8s.Models;
using static AkkaKube.Actors.ApiServer.Protobuf;

namespace AkkaKube.Actors.ApiServer.Registry.Core;

/// <summary>namespaces (core/v1): the name label, the kubernetes finalizer, phase Active.</summary>
public sealed class NamespaceStrategy : ResourceStrategy
{
    public override IReadOnlyCollection<string> FieldLabels { get; } = FieldLabelSets.With("status.phase");

    public override Type Model => typeof(V1Namespace);
    public override bool NameIsDnsLabel => true;

    public override void Default(JsonObject obj)
    {
        var meta = Meta.Of(obj);
        var labels = Meta.Obj(meta, "labels");
        if (meta["name"] is JsonValue n) labels["kubernetes.io/metadata.name"] = n.GetValue<string>();
        Meta.Obj(obj, "spec")["finalizers"] ??= new JsonArray("kubernetes");
        Meta.Obj(obj, "status")["phase"] ??= "Active";
    }

    public override IReadOnlyList<TableColumn> Columns { get; } = [TableColumn.NameColumn, TableColumn.Of("Status", o => Cells.S(o["status"]?["phase"])), TableColumn.AgeColumn];

    public override IReadOnlyDictionary<string, Dictionary<int, F>> ProtobufMessages { get; } = new Dictionary<string, Dictionary<int, F>>
    {
        ["Namespace"] = M(new F(1, "metadata", T.Msg, Msg: "ObjectMeta"), new F(2, "spec", T.Msg, Msg: "NamespaceSpec"), new F(3, "status", T.Msg, Msg: "Empty")),
        ["NamespaceSpec"] = M(new F(1, "finalizers", T.Str, true)),
    };
}
