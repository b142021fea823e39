using System.Text.Json.Nodes;

namespace AkkaKube.Actors.Controllers;

/// <summary>
/// Dependents (cache key → object) by the uid their controller ownerReference names, for owners of one kind, so a
/// reconcile reads its own dependents instead of scanning the whole cache. Fed from the informer events (actor thread).
/// </summary>
public sealed class OwnerIndex(Func<JsonObject, string?> ownerUid)
{
    private readonly Dictionary<string, Dictionary<string, JsonObject>> _byOwner = new(StringComparer.Ordinal);

    public void Add(string key, JsonObject obj)
    {
        if (ownerUid(obj) is not { Length: > 0 } uid) return;
        if (!_byOwner.TryGetValue(uid, out var deps)) _byOwner[uid] = deps = new(StringComparer.Ordinal);
        deps[key] = obj;
    }

    public void Remove(string key, JsonObject obj)
    {
        if (ownerUid(obj) is not { Length: > 0 } uid || !_byOwner.TryGetValue(uid, out var deps)) return;
        deps.Remove(key);
        if (deps.Count == 0) _byOwner.Remove(uid);
    }

    public void Rebuild(IEnumerable<KeyValuePair<string, JsonObject>> all)
    {
        _byOwner.Clear();
        foreach (var (key, obj) in all) Add(key, obj);
    }

    /// <summary>The dependents of the owner with <paramref name="uid"/> in namespace <paramref name="ns"/>.</summary>
    public List<JsonObject> Of(string uid, string? ns) =>
        _byOwner.TryGetValue(uid, out var deps) ? deps.Values.Where(d => ControllerBase.NamespaceOf(d) == ns).ToList() : [];

    public IReadOnlyDictionary<string, JsonObject> EntriesOf(string uid) =>
        _byOwner.TryGetValue(uid, out var deps) ? deps : new Dictionary<string, JsonObject>();
}
