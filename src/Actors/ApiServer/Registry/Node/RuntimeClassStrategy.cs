using System.Text.Json.Nodes;
using AkkaKube.Actors.Machinery;
using k8s.Models;
using static AkkaKube.Actors.ApiServer.Registry.Validation;

namespace AkkaKube.Actors.ApiServer.Registry.Node;

/// <summary>runtimeclasses (node.k8s.io/v1): a handler (DNS label) is required and immutable.</summary>
public sealed class RuntimeClassStrategy : ResourceStrategy
{
    public override Type Model => typeof(V1RuntimeClass);

    public override IEnumerable<StatusCause> Validate(JsonObject obj)
    {
        var handler = Meta.Str(obj["handler"]);
        if (handler.Length == 0) yield return Required("handler");
        else if (!IsDns1123Label(handler)) yield return Invalid("handler", handler, "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-'");
    }

    public override IEnumerable<StatusCause> ValidateUpdate(JsonObject obj, JsonObject old)
    {
        if (Meta.Str(obj["handler"]) != Meta.Str(old["handler"])) yield return Immutable("handler", obj["handler"]);
    }

    public override IReadOnlyList<TableColumn> Columns { get; } =
        [TableColumn.NameColumn, TableColumn.Of("Handler", o => Cells.S(o["handler"])), TableColumn.AgeColumn];
}
