using System.Text.Json.Nodes;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.ApiServer;

/// <summary>
/// The four patch types of the Kubernetes API, as pure functions over JSON trees. Errors throw
/// <see cref="ApiException"/> (400 BadRequest for malformed patches, 422 for a JSON patch that does not apply: a missing path, a failed test).
/// </summary>
public static class Patching
{
    // ---------------- JSON merge patch (RFC 7386) ----------------

    public static JsonNode? MergePatch(JsonNode? target, JsonNode? patch) => Machinery.JsonMergePatch.Apply(target, patch);

    // ---------------- JSON patch (RFC 6902) ----------------

    public static JsonNode? JsonPatch(JsonNode? target, JsonNode? patch)
    {
        if (patch is not JsonArray ops)
            throw ApiException.BadRequest("json patch must be a JSON array of operations");
        var doc = target?.DeepClone();
        foreach (var opNode in ops)
        {
            if (opNode is not JsonObject op || op["op"] is not JsonValue opv || !opv.TryGetValue<string>(out var name))
                throw ApiException.BadRequest("json patch operation must be an object with a string \"op\"");
            var path = PathOf(op, "path");
            switch (name)
            {
                case "add": doc = Add(doc, path, ValueOf(op)); break;
                case "remove": doc = Remove(doc, path, out _); break;
                case "replace":
                    doc = Remove(doc, path, out _);
                    doc = Add(doc, path, ValueOf(op));
                    break;
                case "move":
                {
                    var from = PathOf(op, "from");
                    doc = Remove(doc, from, out var moved);
                    doc = Add(doc, path, moved);
                    break;
                }
                case "copy":
                {
                    var from = PathOf(op, "from");
                    doc = Add(doc, path, Get(doc, from)?.DeepClone());
                    break;
                }
                case "test":
                    if (!JsonNode.DeepEquals(Get(doc, path), ValueOf(op)))
                        throw Unprocessable($"the json patch test operation failed at /{string.Join("/", path)}");
                    break;
                default:
                    throw ApiException.BadRequest($"unknown json patch operation \"{name}\"");
            }
        }
        return doc;
    }

    /// <summary>A well-formed patch that does not apply to this object: 422, as Kubernetes answers (a malformed patch is a 400).</summary>
    private static ApiException Unprocessable(string message) => new(422, "Invalid", message);

    private static JsonNode? ValueOf(JsonObject op)
    {
        if (!op.ContainsKey("value")) throw ApiException.BadRequest("json patch operation is missing \"value\"");
        return op["value"]?.DeepClone();
    }

    private static List<string> PathOf(JsonObject op, string field)
    {
        if (op[field] is not JsonValue v || !v.TryGetValue<string>(out var s))
            throw ApiException.BadRequest($"json patch operation is missing a string \"{field}\"");
        if (s.Length == 0) return [];
        if (s[0] != '/') throw ApiException.BadRequest($"json patch path \"{s}\" must start with '/'");
        return s[1..].Split('/').Select(x => x.Replace("~1", "/").Replace("~0", "~")).ToList();
    }

    private static JsonNode? Get(JsonNode? doc, List<string> path)
    {
        var cur = doc;
        foreach (var seg in path)
        {
            cur = cur switch
            {
                JsonObject o when o.TryGetPropertyValue(seg, out var v) => v,
                JsonArray a when int.TryParse(seg, out var i) && i >= 0 && i < a.Count => a[i],
                _ => throw Unprocessable($"json patch path /{string.Join("/", path)} does not exist"),
            };
        }
        return cur;
    }

    private static JsonNode? Add(JsonNode? doc, List<string> path, JsonNode? value)
    {
        if (path.Count == 0) return value;
        var parent = Get(doc, path[..^1]);
        var last = path[^1];
        switch (parent)
        {
            case JsonObject o:
                o[last] = value;
                break;
            case JsonArray a when last == "-":
                a.Add(value);
                break;
            case JsonArray a when int.TryParse(last, out var i) && i >= 0 && i <= a.Count:
                a.Insert(i, value);
                break;
            default:
                throw Unprocessable($"json patch cannot add at /{string.Join("/", path)}");
        }
        return doc;
    }

    private static JsonNode? Remove(JsonNode? doc, List<string> path, out JsonNode? removed)
    {
        if (path.Count == 0) throw Unprocessable("json patch cannot remove the whole document");
        var parent = Get(doc, path[..^1]);
        var last = path[^1];
        switch (parent)
        {
            case JsonObject o when o.ContainsKey(last):
                removed = o[last];
                o.Remove(last);
                removed = removed?.DeepClone();
                break;
            case JsonArray a when int.TryParse(last, out var i) && i >= 0 && i < a.Count:
                removed = a[i]?.DeepClone();
                a.RemoveAt(i);
                break;
            default:
                throw Unprocessable($"json patch path /{string.Join("/", path)} does not exist");
        }
        return doc;
    }

    // ---------------- strategic merge patch ----------------

    /// <summary>
    /// Strategic merge patch with the kind's merge keys (its strategy's <see cref="Registry.ResourceStrategy.MergeKey"/>:
    /// containers by name, ports by containerPort — Service ports by port —, env by name, conditions by type…), merged primitive
    /// finalizers, null deletes a key, and the directives $patch (delete/replace/merge),
    /// $setElementOrder/&lt;list&gt;, $retainKeys and $deleteFromPrimitiveList/&lt;list&gt;.
    /// Lists without a merge key are atomic (replaced whole).
    /// </summary>
    public static JsonNode? StrategicMerge(JsonNode? target, JsonNode? patch, Func<IReadOnlyList<string>, string?> mergeKey)
    {
        if (patch is not JsonObject) throw ApiException.BadRequest("strategic merge patch must be a JSON object");
        return MergeObject(target as JsonObject, (JsonObject)patch, [], mergeKey);
    }

    private static JsonObject MergeObject(JsonObject? target, JsonObject patch, List<string> path, Func<IReadOnlyList<string>, string?> mergeKey)
    {
        if (Directive(patch) is { } directive)
        {
            if (directive == "replace")
            {
                var copy = (JsonObject)patch.DeepClone();
                copy.Remove("$patch");
                return (JsonObject)StripDirectives(copy)!;
            }
            if (directive == "delete") return new JsonObject();
            if (directive != "merge") throw ApiException.BadRequest($"unknown strategic merge patch directive \"$patch\": \"{directive}\"");
        }

        var result = target is null ? new JsonObject() : (JsonObject)target.DeepClone();
        List<string>? retainKeys = null;
        if (patch.TryGetPropertyValue("$retainKeys", out var rk))
            retainKeys = rk is JsonArray keys && keys.All(k => k is JsonValue v && v.GetValueKind() == System.Text.Json.JsonValueKind.String)
                ? keys.Select(k => k!.GetValue<string>()).ToList()
                : throw ApiException.BadRequest("invalid patch format of retainKeys: $retainKeys must be a list of field names");

        foreach (var (key, value) in patch)
        {
            if (key is "$patch" or "$retainKeys") continue;
            if (key.StartsWith("$setElementOrder/", StringComparison.Ordinal))
            {
                if (value is not JsonArray) throw ApiException.BadRequest($"invalid patch format of setElementOrder list: {key} must be a list");
                continue;
            }
            if (key.StartsWith("$deleteFromPrimitiveList/", StringComparison.Ordinal))
            {
                if (value is not JsonArray) throw ApiException.BadRequest($"invalid patch format of primitive list: {key} must be a list");
                var field = key["$deleteFromPrimitiveList/".Length..];
                if (result[field] is JsonArray existing && value is JsonArray del)
                {
                    var remove = del.Select(d => d?.ToJsonString()).ToHashSet();
                    var kept = new JsonArray();
                    foreach (var e in existing) if (!remove.Contains(e?.ToJsonString())) kept.Add(e?.DeepClone());
                    result[field] = kept;
                }
                continue;
            }
            if (value is null)
            {
                result.Remove(key);
                continue;
            }
            var childPath = new List<string>(path) { key };
            switch (value)
            {
                case JsonObject po:
                    result[key] = MergeObject(result[key] as JsonObject, po, childPath, mergeKey);
                    break;
                case JsonArray pa:
                    result[key] = MergeList(result[key] as JsonArray, pa, childPath, mergeKey);
                    break;
                default:
                    result[key] = value.DeepClone();
                    break;
            }
        }

        if (retainKeys is not null)
            foreach (var key in result.Select(kv => kv.Key).ToList())
                if (!retainKeys.Contains(key)) result.Remove(key);
        return result;
    }

    private static JsonArray MergeList(JsonArray? target, JsonArray patch, List<string> path, Func<IReadOnlyList<string>, string?> mergeKey)
    {
        var field = path[^1];
        // {"$patch":"replace"} inside a list: the rest of the patch list replaces the list.
        if (patch.Any(e => e is JsonObject o && Directive(o) == "replace"))
        {
            var replaced = new JsonArray();
            foreach (var e in patch)
                if (!(e is JsonObject o && o.ContainsKey("$patch"))) replaced.Add(StripDirectives(e?.DeepClone()));
            return replaced;
        }

        if (IsMergedPrimitiveList(field))
        {
            var merged = target is null ? new JsonArray() : (JsonArray)target.DeepClone();
            var seen = merged.Select(e => e?.ToJsonString()).ToHashSet();
            foreach (var e in patch)
                if (seen.Add(e?.ToJsonString())) merged.Add(e?.DeepClone());
            return merged;
        }

        var key = mergeKey(path);
        if (key is null || patch.Any(e => e is not JsonObject))
            return (JsonArray)StripDirectives(patch.DeepClone())!;

        var result = target is null ? new JsonArray() : (JsonArray)target.DeepClone();
        foreach (var element in patch.OfType<JsonObject>())
        {
            var keyValue = element[key]?.ToJsonString();
            var isDelete = Directive(element) == "delete";
            var index = -1;
            for (var i = 0; i < result.Count; i++)
                if (result[i] is JsonObject existing && existing[key]?.ToJsonString() == keyValue && keyValue is not null)
                {
                    index = i;
                    break;
                }
            if (isDelete)
            {
                if (index >= 0) result.RemoveAt(index);
                continue;
            }
            if (index >= 0)
                result[index] = MergeObject((JsonObject)result[index]!, element, path, mergeKey);
            else
                result.Add(MergeObject(null, element, path, mergeKey));
        }
        return result;
    }

    /// <summary>An object's "$patch" directive; a non-string one is the client's malformed patch (400), never an exception.</summary>
    private static string? Directive(JsonObject o) => o["$patch"] switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == System.Text.Json.JsonValueKind.String => v.GetValue<string>(),
        var other => throw ApiException.BadRequest($"invalid strategic merge patch: \"$patch\" must be a string, got {other.ToJsonString()}"),
    };

    private static bool IsMergedPrimitiveList(string field) => field == "finalizers";

    private static JsonNode? StripDirectives(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var key in o.Select(kv => kv.Key).Where(k => k.StartsWith('$')).ToList()) o.Remove(key);
                foreach (var (_, v) in o.ToList()) StripDirectives(v);
                break;
            case JsonArray a:
                foreach (var v in a) StripDirectives(v);
                break;
        }
        return node;
    }
}
