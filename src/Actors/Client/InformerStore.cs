using System.Collections.Immutable;
using System.Text.Json.Nodes;

namespace AkkaKube.Actors.Client;

/// <summary>
/// The names of the indexes every <see cref="InformerStore"/> keeps (client-go's indexers): objects by namespace,
/// by the uid of each of their owners, and pods by the node they are bound to.
/// </summary>
public static class InformerIndex
{
    public const string Namespace = "namespace";
    public const string OwnerUid = "owner-uid";
    public const string NodeName = "node-name";

    internal static IEnumerable<(string Index, string Value)> ValuesOf(JsonObject obj)
    {
        var meta = obj["metadata"] as JsonObject;
        if (meta?["namespace"] is JsonValue ns && ns.TryGetValue<string>(out var nsName) && nsName.Length > 0)
            yield return (Namespace, nsName);
        // Defensive on shape: an object stored with a malformed field (a list where an object belongs) must be
        // cached and indexed anyway, never crash the informer every subscriber depends on.
        if (meta?["ownerReferences"] is JsonArray owners)
            foreach (var owner in owners)
                if (owner is JsonObject o && o["uid"] is JsonValue uid && uid.TryGetValue<string>(out var u) && u.Length > 0)
                    yield return (OwnerUid, u);
        if (obj["spec"] is JsonObject spec && spec["nodeName"] is JsonValue node && node.TryGetValue<string>(out var n) && n.Length > 0)
            yield return (NodeName, n);
    }
}

/// <summary>
/// One informer's cache as an immutable value: objects by key ("namespace/name" or "name") plus the
/// <see cref="InformerIndex"/> indexes. Every event a shared informer delivers carries the store as it is after
/// that event, so each subscriber reads a cache consistent with the events it has handled, while the process keeps
/// one parsed tree per object however many controllers watch the resource. The objects are shared and
/// fully materialised: read them, never change them (DeepClone first).
/// </summary>
public sealed class InformerStore
{
    public static readonly InformerStore Empty = new(
        ImmutableDictionary.Create<string, JsonObject>(StringComparer.Ordinal),
        ImmutableDictionary.Create<(string, string), ImmutableHashSet<string>>());

    private static readonly ImmutableHashSet<string> NoKeys = ImmutableHashSet.Create<string>(StringComparer.Ordinal);

    private readonly ImmutableDictionary<(string Index, string Value), ImmutableHashSet<string>> _indexes;

    private InformerStore(ImmutableDictionary<string, JsonObject> objects, ImmutableDictionary<(string, string), ImmutableHashSet<string>> indexes)
    {
        Objects = objects;
        _indexes = indexes;
    }

    public ImmutableDictionary<string, JsonObject> Objects { get; }

    public int Count => Objects.Count;

    public bool TryGet(string key, out JsonObject obj) => Objects.TryGetValue(key, out obj!);

    /// <summary>The keys of the objects whose <paramref name="index"/> value is <paramref name="value"/>.</summary>
    public IReadOnlySet<string> KeysBy(string index, string value) => _indexes.GetValueOrDefault((index, value), NoKeys);

    /// <summary>The objects whose <paramref name="index"/> value is <paramref name="value"/> (e.g. pods of one owner uid).</summary>
    public IEnumerable<JsonObject> By(string index, string value)
    {
        foreach (var key in KeysBy(index, value))
            if (Objects.TryGetValue(key, out var obj)) yield return obj;
    }

    public InformerStore Set(string key, JsonObject obj)
    {
        if (!Objects.TryGetValue(key, out var old)) return new InformerStore(Objects.SetItem(key, obj), Index(_indexes, key, InformerIndex.ValuesOf(obj)));
        // Most updates (status, heartbeats) keep namespace, owners and node: touch only the index entries that changed.
        var before = InformerIndex.ValuesOf(old).ToHashSet();
        var after = InformerIndex.ValuesOf(obj).ToHashSet();
        var indexes = before.SetEquals(after)
            ? _indexes
            : Index(Unindex(_indexes, key, before.Except(after)), key, after.Except(before));
        return new InformerStore(Objects.SetItem(key, obj), indexes);
    }

    public InformerStore Remove(string key) =>
        Objects.TryGetValue(key, out var old) ? new InformerStore(Objects.Remove(key), Unindex(_indexes, key, InformerIndex.ValuesOf(old))) : this;

    /// <summary>A store of exactly these objects (after a list), built in one pass.</summary>
    public static InformerStore Of(IEnumerable<KeyValuePair<string, JsonObject>> objects)
    {
        var builder = ImmutableDictionary.CreateBuilder<string, JsonObject>(StringComparer.Ordinal);
        var index = new Dictionary<(string, string), ImmutableHashSet<string>.Builder>();
        foreach (var (key, obj) in objects)
        {
            builder[key] = obj;
            foreach (var entry in InformerIndex.ValuesOf(obj))
            {
                if (!index.TryGetValue(entry, out var keys)) index[entry] = keys = NoKeys.ToBuilder();
                keys.Add(key);
            }
        }
        return new InformerStore(builder.ToImmutable(),
            index.ToImmutableDictionary(kv => kv.Key, kv => kv.Value.ToImmutable()));
    }

    private static ImmutableDictionary<(string, string), ImmutableHashSet<string>> Index(
        ImmutableDictionary<(string, string), ImmutableHashSet<string>> indexes, string key, IEnumerable<(string, string)> entries)
    {
        foreach (var entry in entries)
            indexes = indexes.SetItem(entry, indexes.GetValueOrDefault(entry, NoKeys).Add(key));
        return indexes;
    }

    private static ImmutableDictionary<(string, string), ImmutableHashSet<string>> Unindex(
        ImmutableDictionary<(string, string), ImmutableHashSet<string>> indexes, string key, IEnumerable<(string, string)> entries)
    {
        foreach (var entry in entries)
        {
            if (!indexes.TryGetValue(entry, out var keys)) continue;
            keys = keys.Remove(key);
            indexes = keys.Count == 0 ? indexes.Remove(entry) : indexes.SetItem(entry, keys);
        }
        return indexes;
    }

    /// <summary>
    /// Forces every lazily parsed node of the tree into its materialised form. JsonNode.Parse defers building an
    /// object's or array's children until first access, and that first access is not thread-safe; a tree shared
    /// between actors on different threads is materialised once here, before it is published, and only read after.
    /// </summary>
    public static void Materialize(JsonNode? root)
    {
        if (root is null) return;
        var pending = new Stack<JsonNode>();
        pending.Push(root);
        while (pending.TryPop(out var node))
        {
            switch (node)
            {
                case JsonObject o:
                    foreach (var (_, child) in o)
                        if (child is not null) pending.Push(child);
                    break;
                case JsonArray a:
                    foreach (var child in a)
                        if (child is not null) pending.Push(child);
                    break;
            }
        }
    }
}
