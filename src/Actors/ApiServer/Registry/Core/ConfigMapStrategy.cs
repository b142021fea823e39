using System.Text.Json.Nodes;
using AkkaKube.Actors.Machinery;
using k8s.Models;
using static AkkaKube.Actors.ApiServer.Protobuf;
using static AkkaKube.Actors.ApiServer.Registry.Validation;

namespace AkkaKube.Actors.ApiServer.Registry.Core;

/// <summary>configmaps (core/v1): config keys, immutable data when `immutable` is set.</summary>
public sealed class ConfigMapStrategy : ResourceStrategy
{
    public override Type Model => typeof(V1ConfigMap);

    public override IEnumerable<StatusCause> Validate(JsonObject obj) => ConfigKeys(obj);

    public override IEnumerable<StatusCause> ValidateUpdate(JsonObject obj, JsonObject old) => ImmutableData(obj, old);

    public override IReadOnlyList<TableColumn> Columns { get; } =
        [TableColumn.NameColumn, TableColumn.Of("Data", o => Cells.Count(o["data"]) + Cells.Count(o["binaryData"])), TableColumn.AgeColumn];

    public override IReadOnlyDictionary<string, Dictionary<int, F>> ProtobufMessages { get; } = new Dictionary<string, Dictionary<int, F>>
    {
        ["ConfigMap"] = M(new F(1, "metadata", T.Msg, Msg: "ObjectMeta"), new F(2, "data", T.MapStr), new F(3, "binaryData", T.MapBytes), new F(4, "immutable", T.Bool, KeepZero: true)),
    };

    /// <summary>data/binaryData keys must be config keys (ConfigMap and Secret).</summary>
    internal static IEnumerable<StatusCause> ConfigKeys(JsonObject obj)
    {
        foreach (var field in new[] { "data", "binaryData" })
            if (obj[field] is JsonObject data)
                foreach (var (k, _) in data)
                    if (!IsConfigMapKey(k))
                        yield return Invalid($"{field}[{k}]", k, ConfigKeyMsg);
    }

    internal static IEnumerable<StatusCause> ImmutableData(JsonObject obj, JsonObject old)
    {
        if (old["immutable"] is JsonValue im && im.TryGetValue<bool>(out var immutable) && immutable &&
            (!JsonNode.DeepEquals(old["data"], obj["data"]) || !JsonNode.DeepEquals(old["binaryData"], obj["binaryData"])))
            yield return Forbidden("data", "field is immutable when `immutable` is set");
    }
}

/// <summary>secrets (core/v1): type Opaque by default, stringData folded into data, base64 data, immutable data.</summary>
public sealed class SecretStrategy : ResourceStrategy
{
    public override IReadOnlyCollection<string> FieldLabels { get; } = FieldLabelSets.With("type");

    public override Type Model => typeof(V1Secret);

    public override void Default(JsonObject obj)
    {
        obj["type"] ??= "Opaque";
        if (obj["stringData"] is JsonObject sd)
        {
            var data = Meta.Obj(obj, "data");
            foreach (var (k, v) in sd)
                data[k] = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(v is JsonValue sv && sv.TryGetValue<string>(out var str) ? str : v?.ToJsonString() ?? ""));
            obj.Remove("stringData");
        }
    }

    public override IEnumerable<StatusCause> Validate(JsonObject obj)
    {
        foreach (var c in ConfigMapStrategy.ConfigKeys(obj)) yield return c;
        if (obj["data"] is JsonObject data)
            foreach (var (k, v) in data)
                if (!IsBase64(Meta.Str(v)))
                    yield return Invalid($"data[{k}]", "<secret>", "must be base64-encoded");
    }

    public override IEnumerable<StatusCause> ValidateUpdate(JsonObject obj, JsonObject old) => ConfigMapStrategy.ImmutableData(obj, old);

    private static bool IsBase64(string s)
    {
        Span<byte> buffer = new byte[s.Length];
        return Convert.TryFromBase64String(s, buffer, out _);
    }

    public override IReadOnlyList<TableColumn> Columns { get; } =
        [TableColumn.NameColumn, TableColumn.Of("Type", o => Cells.S(o["type"])), TableColumn.Of("Data", o => Cells.Count(o["data"])), TableColumn.AgeColumn];

    public override IReadOnlyDictionary<string, Dictionary<int, F>> ProtobufMessages { get; } = new Dictionary<string, Dictionary<int, F>>
    {
        ["Secret"] = M(new F(1, "metadata", T.Msg, Msg: "ObjectMeta"), new F(2, "data", T.MapBytes), new F(3, "type", T.Str), new F(4, "stringData", T.MapStr), new F(5, "immutable", T.Bool, KeepZero: true)),
    };
}
