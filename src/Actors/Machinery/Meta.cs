using System.Text.Json.Nodes;

namespace AkkaKube.Actors.Machinery;

/// <summary>
/// Object metadata helpers over JSON objects (the store keeps objects generic, as the real apiserver does):
/// read strings, labels and metadata fields, create missing child objects, and generateName suffixes.
/// </summary>
public static class Meta
{
    /// <summary>The string value of a node, "" when it is missing or not a string.</summary>
    public static string Str(JsonNode? n) => n is JsonValue v && v.TryGetValue<string>(out var s) ? s : "";

    /// <summary>The child object at <paramref name="key"/>, created when missing.</summary>
    public static JsonObject Obj(JsonObject parent, string key)
    {
        if (parent[key] is JsonObject o) return o;
        var created = new JsonObject();
        parent[key] = created;
        return created;
    }

    /// <summary>metadata of an object, created when missing.</summary>
    public static JsonObject Of(JsonObject obj) => Obj(obj, "metadata");

    /// <summary>A string field of metadata, or null.</summary>
    public static string? Field(JsonObject obj, string key) =>
        obj["metadata"]?[key] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    public static string? Name(JsonObject obj) => Field(obj, "name");
    public static string? Namespace(JsonObject obj) => Field(obj, "namespace");

    /// <summary>A JSON label map as a dictionary (non-string values read as "").</summary>
    public static IReadOnlyDictionary<string, string> Labels(JsonObject? labels)
    {
        var d = new Dictionary<string, string>(StringComparer.Ordinal);
        if (labels is not null)
            foreach (var (k, v) in labels) d[k] = Str(v);
        return d;
    }

    private const string SuffixAlphabet = "bcdfghjklmnpqrstvwxz2456789";

    /// <summary>generateName: the prefix plus five random characters from Kubernetes' alphabet (no vowels, no look-alikes).</summary>
    public static string GenerateName(string prefix, Random? random = null)
    {
        var rng = random ?? Random.Shared;
        return prefix + string.Create(5, rng, (span, r) =>
        {
            for (var i = 0; i < span.Length; i++) span[i] = SuffixAlphabet[r.Next(SuffixAlphabet.Length)];
        });
    }
}
