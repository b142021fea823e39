using System.Text.Json.Nodes;
using Akka.Actor;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.Controllers.GarbageCollector;

/// <summary>
/// Kubernetes' garbage collector over the ownerReferences graph, keyed by uid:
/// Background — a dependent whose owners are all gone (verified with a live GET, never from a stale cache) is deleted;
/// Foreground — an owner carrying the <c>foregroundDeletion</c> finalizer has its dependents deleted first and loses the
/// finalizer once no dependent with blockOwnerDeletion remains;
/// Orphan — an owner carrying the <c>orphan</c> finalizer has itself removed from its dependents' ownerReferences, then loses the finalizer.
/// </summary>
public sealed class GarbageCollector : ControllerBase
{
    public const string ForegroundFinalizer = "foregroundDeletion";
    public const string OrphanFinalizer = "orphan";

    private readonly Dictionary<string, (ApiResource Resource, string Key)> _byUid = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<string>> _dependents = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string[]> _ownersOf = new(StringComparer.Ordinal);

    public GarbageCollector(IKubeApi api, ControllerSettings settings) : base(api, settings) { }

    public static Props Props(IKubeApi api, ControllerSettings settings) =>
        Akka.Actor.Props.Create(() => new GarbageCollector(api, settings));

    protected override string Name => ControllerNames.GarbageCollector;
    protected override string Component => "garbage-collector-controller";

    /// <summary>Every kind except Events (which never own or depend on anything here).</summary>
    protected override IEnumerable<ApiResource> Watched => ApiResources.All.Where(r => r != ApiResource.Events);

    private static IEnumerable<JsonObject> OwnerRefs(JsonObject o) => (Meta(o)["ownerReferences"] as JsonArray)?.OfType<JsonObject>() ?? [];

    private static bool HasFinalizer(JsonObject o, string f) =>
        (Meta(o)["finalizers"] as JsonArray)?.Any(x => Str(x) == f) ?? false;

    private void Index(ApiResource resource, string key, JsonObject obj)
    {
        var uid = UidOf(obj);
        _byUid[uid] = (resource, key);
        var owners = OwnerRefs(obj).Select(r => Str(r["uid"]) ?? "").Where(u => u.Length > 0).ToArray();
        Unlink(uid);
        _ownersOf[uid] = owners;
        foreach (var o in owners)
        {
            if (!_dependents.TryGetValue(o, out var set)) _dependents[o] = set = new(StringComparer.Ordinal);
            set.Add(uid);
        }
        if (owners.Length > 0 || HasFinalizer(obj, ForegroundFinalizer) || HasFinalizer(obj, OrphanFinalizer)) Enqueue(uid);
        foreach (var o in owners) if (IsWaitingOwner(o)) Enqueue(o);
    }

    private void Unlink(string uid)
    {
        if (!_ownersOf.Remove(uid, out var owners)) return;
        foreach (var o in owners)
            if (_dependents.TryGetValue(o, out var set)) { set.Remove(uid); if (set.Count == 0) _dependents.Remove(o); }
    }

    private bool IsWaitingOwner(string uid) =>
        Lookup(uid) is { } o && IsDeleting(o) && (HasFinalizer(o, ForegroundFinalizer) || HasFinalizer(o, OrphanFinalizer));

    private JsonObject? Lookup(string uid) =>
        _byUid.TryGetValue(uid, out var at) && CacheOf(at.Resource).TryGetValue(at.Key, out var o) && UidOf(o) == uid ? o : null;

    protected override void OnSynced(ApiResource resource, bool first)
    {
        foreach (var (key, obj) in CacheOf(resource)) Index(resource, key, obj);
    }

    protected override void OnAdded(ApiResource resource, string key, JsonObject obj) => Index(resource, key, obj);

    protected override void OnUpdated(ApiResource resource, string key, JsonObject old, JsonObject obj)
    {
        if (UidOf(old) != UidOf(obj)) Forget(UidOf(old));
        Index(resource, key, obj);
    }

    protected override void OnDeleted(ApiResource resource, string key, JsonObject lastKnown) => Forget(UidOf(lastKnown));

    private void Forget(string uid)
    {
        var owners = _ownersOf.GetValueOrDefault(uid) ?? [];
        Unlink(uid);
        _byUid.Remove(uid);
        foreach (var o in owners) Enqueue(o);
        if (_dependents.TryGetValue(uid, out var deps))
            foreach (var d in deps) Enqueue(d);
    }

    protected override ReconcileAction? Plan(string uid)
    {
        var obj = Lookup(uid);
        if (obj is null) return null;
        var (resource, _) = _byUid[uid];
        var dependents = (_dependents.GetValueOrDefault(uid) ?? []).Select(d => (Uid: d, Obj: Lookup(d), At: _byUid.GetValueOrDefault(d)))
            .Where(d => d.Obj is not null).ToList();

        if (IsDeleting(obj) && HasFinalizer(obj, OrphanFinalizer))
            return async api =>
            {
                foreach (var d in dependents)
                    await Mutate(api, d.At.Resource, d.Obj!, o => RemoveOwner(o, uid));
                await Mutate(api, resource, obj, o => RemoveFinalizer(o, OrphanFinalizer));
                return null;
            };

        if (IsDeleting(obj) && HasFinalizer(obj, ForegroundFinalizer))
        {
            var blocking = dependents.Where(d => OwnerRefs(d.Obj!).Any(r => Str(r["uid"]) == uid && r["blockOwnerDeletion"]?.GetValue<bool>() == true)).ToList();
            return async api =>
            {
                foreach (var d in dependents.Where(d => !IsDeleting(d.Obj!)))
                {
                    try
                    {
                        await api.DeleteAsync(d.At.Resource, NamespaceOf(d.Obj!), NameOf(d.Obj!),
                            new DeleteOptions(PropagationPolicy: "Foreground", PreconditionUid: d.Uid));
                    }
                    catch (KubeApiException e) when (e.IsNotFound || e.IsConflict) { }
                }
                if (blocking.Count == 0)
                {
                    await Mutate(api, resource, obj, o => RemoveFinalizer(o, ForegroundFinalizer));
                    return null;
                }
                return Settings.NamespaceRecheck; // dependents' deletions re-enqueue us too
            };
        }

        var refs = OwnerRefs(obj).ToList();
        if (refs.Count == 0 || IsDeleting(obj)) return null;
        var ns = NamespaceOf(obj);
        var cached = refs.Select(r => Lookup(Str(r["uid"]) ?? "")).ToList();
        if (cached.All(o => o is not null && !IsDeleting(o))) return null; // every owner is alive
        return async api =>
        {
            var dangling = new List<string>();
            var waitingForeground = false;
            foreach (var r in refs)
            {
                var ownerUid = Str(r["uid"]) ?? "";
                var ownerResource = ApiResources.ForKind(Str(r["apiVersion"]), Str(r["kind"]));
                if (ownerResource is null) continue; // unknown kind: never delete on a guess
                try
                {
                    var owner = await api.GetAsync(ownerResource, ownerResource.Namespaced ? ns : null, Str(r["name"]) ?? "");
                    if (UidOf(owner) != ownerUid) dangling.Add(ownerUid);
                    else if (IsDeleting(owner) && HasFinalizer(owner, ForegroundFinalizer)) waitingForeground = true;
                }
                catch (KubeApiException e) when (e.IsNotFound)
                {
                    dangling.Add(ownerUid);
                }
            }
            if (dangling.Count == 0) return null;
            if (dangling.Count == refs.Count)
            {
                try
                {
                    await api.DeleteAsync(resource, ns, NameOf(obj), new DeleteOptions(
                        PropagationPolicy: waitingForeground ? "Foreground" : "Background", PreconditionUid: uid));
                }
                catch (KubeApiException e) when (e.IsNotFound) { }
                return null;
            }
            await Mutate(api, resource, obj, o =>
            {
                var changed = false;
                foreach (var u in dangling) changed |= RemoveOwner(o, u);
                return changed;
            });
            return null;
        };
    }

    /// <summary>GET the latest, apply the change, PUT with its resourceVersion (a conflict fails the reconcile → retry).</summary>
    private static async Task Mutate(IKubeApi api, ApiResource resource, JsonObject obj, Func<JsonObject, bool> change)
    {
        JsonObject fresh;
        try { fresh = await api.GetAsync(resource, NamespaceOf(obj), NameOf(obj)); }
        catch (KubeApiException e) when (e.IsNotFound) { return; }
        if (UidOf(fresh) != UidOf(obj) || !change(fresh)) return;
        try { await api.UpdateAsync(resource, NamespaceOf(obj), fresh); }
        catch (KubeApiException e) when (e.IsNotFound) { }
    }

    public static bool RemoveOwner(JsonObject o, string ownerUid)
    {
        if (Meta(o)["ownerReferences"] is not JsonArray refs) return false;
        var keep = refs.OfType<JsonObject>().Where(r => Str(r["uid"]) != ownerUid).Select(r => (JsonNode)r.DeepClone()).ToArray();
        if (keep.Length == refs.Count) return false;
        if (keep.Length == 0) Meta(o).Remove("ownerReferences");
        else Meta(o)["ownerReferences"] = new JsonArray(keep);
        return true;
    }

    public static bool RemoveFinalizer(JsonObject o, string finalizer)
    {
        if (Meta(o)["finalizers"] is not JsonArray list) return false;
        var keep = list.Where(x => Str(x) != finalizer).Select(x => x!.DeepClone()).ToArray();
        if (keep.Length == list.Count) return false;
        Meta(o)["finalizers"] = new JsonArray(keep);
        return true;
    }
}
