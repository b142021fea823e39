using System.Text.Json.Nodes;
using static AkkaKube.Actors.Controllers.ControllerBase;

namespace AkkaKube.Actors.Controllers;

/// <summary>
/// Cached objects by the uid of their controller ownerReference of one kind, so a reconcile reads its own pods or
/// revisions instead of scanning the whole cache. Fed from a controller's informer events (actor thread only).
/// </summary>
public sealed class OwnerIndex(string ownerKind)
{
    private readonly Dictionary<string, Dictionary<string, JsonObject>> _byOwner = new(StringComparer.Ordinal);

    /// <summary>"namespace/name" of the owner of this kind, or null.</summary>
    public string? OwnerKey(JsonObject obj)
    {
        var r = ControllerRef(obj);
        return r is not null && Str(r["kind"]) == ownerKind ? $"{NamespaceOf(obj)}/{Str(r["name"])}" : null;
    }

    private string? OwnerUid(JsonObject obj)
    {
        var r = ControllerRef(obj);
        return r is not null && Str(r["kind"]) == ownerKind ? Str(r["uid"]) : null;
    }

    public void Reset(IEnumerable<KeyValuePair<string, JsonObject>> all)
    {
        _byOwner.Clear();
        foreach (var (key, obj) in all) Add(key, obj);
    }

    public void Add(string key, JsonObject obj)
    {
        if (OwnerUid(obj) is not { Length: > 0 } uid) return;
        if (!_byOwner.TryGetValue(uid, out var owned)) _byOwner[uid] = owned = new(StringComparer.Ordinal);
        owned[key] = obj;
    }

    public void Remove(string key, JsonObject obj)
    {
        if (OwnerUid(obj) is not { Length: > 0 } uid || !_byOwner.TryGetValue(uid, out var owned)) return;
        owned.Remove(key);
        if (owned.Count == 0) _byOwner.Remove(uid);
    }

    /// <summary>The objects the owner controls (same namespace).</summary>
    public List<JsonObject> Of(JsonObject owner) =>
        _byOwner.TryGetValue(UidOf(owner), out var owned) ? owned.Values.Where(o => NamespaceOf(o) == NamespaceOf(owner)).ToList() : [];
}
