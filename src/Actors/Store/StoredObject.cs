using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace AkkaKube.Actors.Store;

/// <summary>
/// One object as the partition keeps it: the JSON text plus the few facts the store reads often.
/// Key is "namespace/name" ("/name" for cluster-scoped objects); ordinal key order is list order.
/// </summary>
public sealed class StoredObject
{
    private JsonObject? _node;

    private StoredObject(string json, JsonObject node)
    {
        Json = json;
        _node = node;
        var metadata = node["metadata"] as JsonObject;
        Namespace = Str(metadata?["namespace"]) ?? "";
        Name = Str(metadata?["name"]) ?? "";
        Key = KeyOf(Namespace, Name);
        Uid = Str(metadata?["uid"]) ?? "";
        Revision = long.TryParse(Str(metadata?["resourceVersion"]), NumberStyles.None, CultureInfo.InvariantCulture, out var rv) ? rv : 0;
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (metadata?["labels"] is JsonObject l)
            foreach (var (k, v) in l)
                if (Str(v) is { } s) labels[k] = s;
        Labels = labels;
        HasFinalizers = metadata?["finalizers"] is JsonArray { Count: > 0 };
        Deleting = metadata?["deletionTimestamp"] is not null;
        DeletionGracePeriodSeconds = metadata?["deletionGracePeriodSeconds"] is JsonValue g && g.TryGetValue<long>(out var grace) ? grace : 0;
    }

    public string Key { get; }
    public string Namespace { get; }
    public string Name { get; }
    public string Json { get; }
    public string Uid { get; }
    public long Revision { get; }
    public IReadOnlyDictionary<string, string> Labels { get; }
    public bool HasFinalizers { get; }
    public bool Deleting { get; }

    /// <summary>A graceful deletion in progress (pods: the kubelet ends it with a delete of grace 0); 0 otherwise.</summary>
    public long DeletionGracePeriodSeconds { get; }

    /// <summary>The parsed object, read-only by convention (callers clone with <see cref="MutableCopy"/> to change it).</summary>
    public JsonObject Node => _node ??= (JsonObject)JsonNode.Parse(Json)!;

    public JsonObject MutableCopy() => (JsonObject)JsonNode.Parse(Json)!;

    /// <summary>Drops the parsed form to save memory; it is parsed again on demand.</summary>
    public void Compact() => _node = null;

    public static StoredObject FromJson(string json) => new(json, (JsonObject)JsonNode.Parse(json)!);

    /// <summary>Text and the tree it was written from (not parsed again); the tree must not change afterwards.</summary>
    public static StoredObject Of(string json, JsonObject node) => new(json, node);

    public static StoredObject FromNode(JsonObject node) => new(StoreJson.Write(node), node);

    public static string KeyOf(string? ns, string name) => (ns ?? "") + "/" + name;

    internal static string? Str(JsonNode? n) =>
        n is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;
}
