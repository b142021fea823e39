using System.Globalization;
using System.Text.Json.Nodes;
using AkkaKube.Actors.Machinery;
using k8s.Models;
using static AkkaKube.Actors.ApiServer.Registry.Validation;

namespace AkkaKube.Actors.ApiServer.Registry.Scheduling;

/// <summary>
/// priorityclasses (scheduling.k8s.io/v1): value required and at most 1e9 for user classes (the system- prefix is
/// reserved for the two system classes the apiserver creates at start), value and preemptionPolicy immutable.
/// </summary>
public sealed class PriorityClassStrategy : ResourceStrategy
{
    public const long HighestUserDefinablePriority = 1_000_000_000;

    /// <summary>The system classes every Kubernetes cluster has (created by the `apiserver` actor at start).</summary>
    public static readonly IReadOnlyList<(string Name, long Value, string Description)> SystemClasses =
    [
        ("system-node-critical", 2_000_001_000, "Used for system critical pods that must not be moved from their current node."),
        ("system-cluster-critical", 2_000_000_000, "Used for system critical pods that must run in the cluster, but can be moved to another node if necessary."),
    ];

    public override Type Model => typeof(V1PriorityClass);

    /// <summary>`kubectl create priorityclass` sends protobuf (k8s.io/api scheduling/v1 numbering; value 0 is sent and kept).</summary>
    public override IReadOnlyDictionary<string, Dictionary<int, Protobuf.F>> ProtobufMessages { get; } = new Dictionary<string, Dictionary<int, Protobuf.F>>
    {
        ["PriorityClass"] = Protobuf.M(new Protobuf.F(1, "metadata", Protobuf.T.Msg, Msg: "ObjectMeta"), new(2, "value", Protobuf.T.Int32, KeepZero: true),
            new(3, "globalDefault", Protobuf.T.Bool), new(4, "description", Protobuf.T.Str), new(5, "preemptionPolicy", Protobuf.T.Str)),
    };

    public override void Default(JsonObject obj) => obj["preemptionPolicy"] ??= "PreemptLowerPriority";

    public override IEnumerable<StatusCause> Validate(JsonObject obj)
    {
        var name = Meta.Name(obj) ?? "";
        if (obj["value"] is not JsonValue v || !v.TryGetValue<long>(out var value))
        {
            yield return Required("value");
            yield break;
        }
        var system = SystemClasses.FirstOrDefault(s => s.Name == name);
        if (name.StartsWith("system-", StringComparison.Ordinal) && system.Name is null)
            yield return Forbidden("metadata.name", "priority class names with 'system-' prefix are reserved");
        else if (system.Name is not null && value != system.Value)
            yield return Forbidden("value", $"value of {name} must be {system.Value.ToString(CultureInfo.InvariantCulture)}");
        else if (system.Name is null && value > HighestUserDefinablePriority)
            yield return Forbidden("value", $"maximum allowed value of a user defined priority is {HighestUserDefinablePriority.ToString(CultureInfo.InvariantCulture)}");
        var policy = Meta.Str(obj["preemptionPolicy"]);
        if (policy.Length > 0 && policy is not ("PreemptLowerPriority" or "Never"))
            yield return NotSupported("preemptionPolicy", policy, "Never", "PreemptLowerPriority");
    }

    public override IEnumerable<StatusCause> ValidateUpdate(JsonObject obj, JsonObject old)
    {
        if (!JsonNode.DeepEquals(old["value"], obj["value"])) yield return Forbidden("value", "may not be changed in an update.");
        if (!JsonNode.DeepEquals(old["preemptionPolicy"], obj["preemptionPolicy"])) yield return Immutable("preemptionPolicy", obj["preemptionPolicy"]);
    }

    public override IReadOnlyList<TableColumn> Columns { get; } =
    [
        TableColumn.NameColumn,
        TableColumn.Of("Value", o => Cells.I(o["value"]), type: "integer"),
        TableColumn.Of("Global-Default", o => o["globalDefault"] is JsonValue g && g.TryGetValue<bool>(out var b) && b ? "true" : "false"),
        TableColumn.AgeColumn,
        TableColumn.Of("PreemptionPolicy", o => Cells.S(o["preemptionPolicy"])),
    ];
}
