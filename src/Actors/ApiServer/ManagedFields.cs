using System.Globalization;
using System.Text.Json.Nodes;

using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.ApiServer;

/// <summary>
/// Minimal server-side-apply bookkeeping: the leaf fields an apply configuration sets, as FieldsV1
/// ("f:spec" → "f:replicas", list elements with a merge key as "k:{\"name\":\"x\"}"), ownership per
/// manager in metadata.managedFields, and conflicts between Apply managers.
/// A leaf path is its segments joined by '\u001f'.
/// </summary>
public static class ManagedFields
{
    private const char Sep = '\u001f';

    public sealed record Conflict(string Manager, string Path, string Key);

    public static HashSet<string> Of(JsonObject applied)
    {
        var leaves = new HashSet<string>();
        foreach (var (key, value) in applied)
        {
            if (key is "apiVersion" or "kind") continue;
            if (key == "metadata" && value is JsonObject meta)
            {
                foreach (var (mk, mv) in meta)
                    if (mk is "labels" or "annotations" or "finalizers" or "ownerReferences")
                        Collect(mv, [$"f:metadata", $"f:{mk}"], leaves, mk == "ownerReferences" ? ["ownerReferences"] : []);
                continue;
            }
            Collect(value, [$"f:{key}"], leaves, [key]);
        }
        return leaves;
    }

    private static void Collect(JsonNode? node, List<string> path, HashSet<string> leaves, List<string> fieldPath)
    {
        switch (node)
        {
            case JsonObject o when o.Count > 0:
                foreach (var (k, v) in o) Collect(v, [.. path, $"f:{k}"], leaves, [.. fieldPath, k]);
                break;
            case JsonArray a when a.Count > 0 && fieldPath.Count > 0 && Registry.MergeKeys.Common(fieldPath) is { } mk && a.All(e => e is JsonObject eo && eo[mk] is not null):
                foreach (var e in a.OfType<JsonObject>())
                {
                    var keyJson = new JsonObject { [mk] = e[mk]!.DeepClone() }.ToJsonString();
                    var elemPath = new List<string>(path) { $"k:{keyJson}" };
                    leaves.Add(string.Join(Sep, elemPath.Append(".")));
                    foreach (var (k, v) in e) Collect(v, [.. elemPath, $"f:{k}"], leaves, [.. fieldPath, k]);
                }
                break;
            default:
                leaves.Add(string.Join(Sep, path));
                break;
        }
    }

    public static JsonObject Entry(string manager, string apiVersion, HashSet<string> leaves) => new()
    {
        ["manager"] = manager,
        ["operation"] = "Apply",
        ["apiVersion"] = apiVersion,
        ["time"] = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
        ["fieldsType"] = "FieldsV1",
        ["fieldsV1"] = ToTree(leaves),
    };

    private static JsonObject ToTree(IEnumerable<string> leaves)
    {
        var root = new JsonObject();
        foreach (var leaf in leaves.OrderBy(x => x, StringComparer.Ordinal))
        {
            var cur = root;
            foreach (var seg in leaf.Split(Sep))
            {
                if (cur[seg] is not JsonObject next)
                {
                    next = new JsonObject();
                    cur[seg] = next;
                }
                cur = next;
            }
        }
        return root;
    }

    private static void FromTree(JsonObject tree, List<string> path, HashSet<string> leaves)
    {
        foreach (var (k, v) in tree)
        {
            var p = new List<string>(path) { k };
            if (v is JsonObject { Count: > 0 } o) FromTree(o, p, leaves);
            else leaves.Add(string.Join(Sep, p));
        }
    }

    public static HashSet<string> FieldsOf(JsonArray entries, string manager)
    {
        var leaves = new HashSet<string>();
        foreach (var e in entries.OfType<JsonObject>())
            if (Meta.Str(e["manager"]) == manager && Meta.Str(e["operation"]) == "Apply" && e["fieldsV1"] is JsonObject t)
                FromTree(t, [], leaves);
        return leaves;
    }

    public static HashSet<string> OwnedByOthers(JsonArray entries, string manager)
    {
        var leaves = new HashSet<string>();
        foreach (var e in entries.OfType<JsonObject>())
            if (Meta.Str(e["manager"]) != manager && e["fieldsV1"] is JsonObject t)
                FromTree(t, [], leaves);
        return leaves;
    }

    public static List<Conflict> Conflicts(JsonArray entries, string manager, JsonObject applied, JsonObject current)
    {
        var mine = Of(applied);
        var conflicts = new List<Conflict>();
        foreach (var e in entries.OfType<JsonObject>())
        {
            var other = Meta.Str(e["manager"]);
            if (other == manager || Meta.Str(e["operation"]) != "Apply" || e["fieldsV1"] is not JsonObject t) continue;
            var owned = new HashSet<string>();
            FromTree(t, [], owned);
            foreach (var leaf in mine.Intersect(owned))
            {
                if (leaf.EndsWith(Sep + ".", StringComparison.Ordinal)) continue;
                if (!JsonNode.DeepEquals(Lookup(applied, leaf), Lookup(current, leaf)))
                    conflicts.Add(new Conflict(other, Display(leaf), leaf));
            }
        }
        return conflicts;
    }

    public static JsonArray Replace(JsonArray entries, string manager, string apiVersion, HashSet<string> leaves, IReadOnlyList<Conflict> taken)
    {
        var result = new JsonArray();
        foreach (var e in entries.OfType<JsonObject>())
        {
            if (Meta.Str(e["manager"]) == manager && Meta.Str(e["operation"]) == "Apply") continue;
            var copy = (JsonObject)e.DeepClone();
            var mine = taken.Where(t => t.Manager == Meta.Str(e["manager"])).Select(t => t.Key).ToHashSet();
            if (mine.Count > 0 && copy["fieldsV1"] is JsonObject t)
            {
                var owned = new HashSet<string>();
                FromTree(t, [], owned);
                owned.ExceptWith(mine);
                copy["fieldsV1"] = ToTree(owned);
            }
            result.Add(copy);
        }
        result.Add(Entry(manager, apiVersion, leaves));
        return result;
    }

    /// <summary>Removes fields this manager applied before, applies no longer, and nobody else owns.</summary>
    public static void RemoveDropped(JsonObject obj, HashSet<string> previous, HashSet<string> current, HashSet<string> others)
    {
        foreach (var leaf in previous.Except(current).Except(others))
        {
            var segs = leaf.Split(Sep).ToList();
            if (segs[^1] == ".") segs.RemoveAt(segs.Count - 1);
            if (segs.Count == 0 || segs[0] is "f:apiVersion" or "f:kind") continue;
            var parent = Walk(obj, segs[..^1]);
            var last = segs[^1];
            if (last.StartsWith("f:", StringComparison.Ordinal) && parent is JsonObject po) po.Remove(last[2..]);
            else if (last.StartsWith("k:", StringComparison.Ordinal) && parent is JsonArray pa && FindKeyed(pa, last) is { } idx) pa.RemoveAt(idx);
        }
    }

    private static JsonNode? Lookup(JsonObject obj, string leaf) => Walk(obj, leaf.Split(Sep).ToList());

    private static JsonNode? Walk(JsonNode? node, List<string> segs)
    {
        foreach (var seg in segs)
        {
            if (node is null) return null;
            if (seg.StartsWith("f:", StringComparison.Ordinal)) node = node is JsonObject o ? o[seg[2..]] : null;
            else if (seg.StartsWith("k:", StringComparison.Ordinal)) node = node is JsonArray a && FindKeyed(a, seg) is { } i ? a[i] : null;
            else return node;
        }
        return node;
    }

    private static int? FindKeyed(JsonArray a, string seg)
    {
        if (JsonNode.Parse(seg[2..]) is not JsonObject key) return null;
        for (var i = 0; i < a.Count; i++)
            if (a[i] is JsonObject e && key.All(kv => JsonNode.DeepEquals(e[kv.Key], kv.Value))) return i;
        return null;
    }

    private static string Display(string leaf) =>
        string.Join("", leaf.Split(Sep).Select(s => s.StartsWith("f:", StringComparison.Ordinal) ? "." + s[2..] : s.StartsWith("k:", StringComparison.Ordinal) ? "[" + s[2..] + "]" : ""));
}
