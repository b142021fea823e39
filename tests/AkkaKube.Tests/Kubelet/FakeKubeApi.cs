using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Akka.Actor;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Store;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Tests.Kubelet;

/// <summary>
/// In-memory IKubeApi for kubelet unit tests: objects per resource, a global revision, merge patches,
/// field selector spec.nodeName, watches, and pod deletion with a grace period (deletionTimestamp) as Kubernetes does.
/// </summary>
public sealed class FakeKubeApi : IKubeApi
{
    private readonly object _gate = new();
    private readonly Dictionary<string, Dictionary<string, JsonObject>> _objects = new();
    private readonly Dictionary<string, (ApiResource Resource, IActorRef Subscriber, string? FieldSelector, string? Ns)> _watches = new();
    private long _revision;
    // Every change, so a watch from a resourceVersion replays what it missed (as the store does): a pod created
    // between an informer's re-list and its new watch must not be lost.
    private readonly List<(ApiResource Resource, string Type, JsonObject Object, long Revision)> _history = [];
    private int _watchSeq;

    public ConcurrentQueue<string> Calls { get; } = new();

    /// <summary>Fail every call to this resource partition with 503 while set (e.g. "nodes").</summary>
    public ConcurrentDictionary<string, bool> Unavailable { get; } = new();

    private static string Key(string? ns, string name) => string.IsNullOrEmpty(ns) ? name : $"{ns}/{name}";

    private Dictionary<string, JsonObject> Table(ApiResource r)
    {
        if (!_objects.TryGetValue(r.Partition, out var t)) _objects[r.Partition] = t = new();
        return t;
    }

    private void Check(ApiResource r, string verb, string? sub = null)
    {
        Calls.Enqueue($"{verb} {r.Partition}{(sub is null ? "" : "/" + sub)}");
        if (Unavailable.ContainsKey(r.Partition)) throw new KubeApiException(503, "ServiceUnavailable", "unavailable (test)");
    }

    public JsonObject? Peek(ApiResource r, string? ns, string name)
    {
        lock (_gate) return Table(r).TryGetValue(Key(ns, name), out var o) ? (JsonObject)o.DeepClone() : null;
    }

    public List<JsonObject> All(ApiResource r)
    {
        lock (_gate) return Table(r).Values.Select(o => (JsonObject)o.DeepClone()).ToList();
    }

    public Task<JsonObject> GetAsync(ApiResource resource, string? ns, string name, CancellationToken ct = default)
    {
        Check(resource, "get");
        lock (_gate)
        {
            if (Table(resource).TryGetValue(Key(ns, name), out var o)) return Task.FromResult((JsonObject)o.DeepClone());
        }
        throw new KubeApiException(404, "NotFound", $"{resource.Resource} \"{name}\" not found");
    }

    public Task<ObjectList> ListAsync(ApiResource resource, string? ns, ListOptions? options = null, CancellationToken ct = default)
    {
        Check(resource, "list");
        lock (_gate)
        {
            var items = Table(resource).Values.Where(o => Matches(o, ns, options?.FieldSelector)).Select(o => (JsonObject)o.DeepClone()).ToList();
            return Task.FromResult(new ObjectList(items, _revision.ToString(), null));
        }
    }

    private static bool Matches(JsonObject o, string? ns, string? fieldSelector)
    {
        if (!string.IsNullOrEmpty(ns) && o["metadata"]?["namespace"]?.GetValue<string>() != ns) return false;
        if (string.IsNullOrEmpty(fieldSelector)) return true;
        foreach (var term in fieldSelector.Split(','))
        {
            var kv = term.Split('=', 2);
            if (kv[0] == "spec.nodeName" && o["spec"]?["nodeName"]?.GetValue<string>() != kv[1]) return false;
            if (kv[0] == "metadata.name" && o["metadata"]?["name"]?.GetValue<string>() != kv[1]) return false;
        }
        return true;
    }

    public Task<JsonObject> CreateAsync(ApiResource resource, string? ns, JsonObject obj, string? subresource = null, CancellationToken ct = default)
    {
        Check(resource, "create");
        lock (_gate)
        {
            var o = (JsonObject)obj.DeepClone();
            var meta = (JsonObject)o["metadata"]!;
            if (resource.Namespaced) meta["namespace"] = ns ?? meta["namespace"]?.GetValue<string>() ?? "default";
            var name = meta["name"]!.GetValue<string>();
            var key = Key(resource.Namespaced ? meta["namespace"]!.GetValue<string>() : null, name);
            if (Table(resource).ContainsKey(key)) throw new KubeApiException(409, "AlreadyExists", $"{resource.Resource} \"{name}\" already exists");
            meta["uid"] ??= Guid.NewGuid().ToString();
            meta["creationTimestamp"] ??= DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'");
            meta["resourceVersion"] = (++_revision).ToString();
            Table(resource)[key] = o;
            Notify(resource, "ADDED", o);
            return Task.FromResult((JsonObject)o.DeepClone());
        }
    }

    public Task<JsonObject> UpdateAsync(ApiResource resource, string? ns, JsonObject obj, string? subresource = null, CancellationToken ct = default)
    {
        Check(resource, "update", subresource);
        lock (_gate)
        {
            var name = obj["metadata"]!["name"]!.GetValue<string>();
            var key = Key(resource.Namespaced ? ns : null, name);
            if (!Table(resource).TryGetValue(key, out var current)) throw new KubeApiException(404, "NotFound", $"{resource.Resource} \"{name}\" not found");
            var rv = obj["metadata"]?["resourceVersion"]?.GetValue<string>();
            if (!string.IsNullOrEmpty(rv) && rv != current["metadata"]!["resourceVersion"]!.GetValue<string>())
                throw new KubeApiException(409, "Conflict", "the object has been modified");
            JsonObject next;
            if (subresource == "status")
            {
                next = (JsonObject)current.DeepClone();
                next["status"] = obj["status"]?.DeepClone();
            }
            else
            {
                next = (JsonObject)obj.DeepClone();
                next["status"] = current["status"]?.DeepClone();
                var meta = (JsonObject)next["metadata"]!;
                meta["uid"] = current["metadata"]!["uid"]!.DeepClone();
                if (resource.Namespaced) meta["namespace"] = ns;
            }
            return Task.FromResult(Store(resource, key, next));
        }
    }

    private JsonObject Store(ApiResource resource, string key, JsonObject next)
    {
        next["metadata"]!["resourceVersion"] = (++_revision).ToString();
        Table(resource)[key] = next;
        Notify(resource, "MODIFIED", next);
        return (JsonObject)next.DeepClone();
    }

    public Task<JsonObject> PatchAsync(ApiResource resource, string? ns, string name, PatchType type, string patch, string? subresource = null, CancellationToken ct = default)
    {
        Check(resource, "patch", subresource);
        lock (_gate)
        {
            var key = Key(resource.Namespaced ? ns : null, name);
            if (!Table(resource).TryGetValue(key, out var current)) throw new KubeApiException(404, "NotFound", $"{resource.Resource} \"{name}\" not found");
            var p = (JsonObject)JsonNode.Parse(patch)!;
            if (subresource == "status") p = new JsonObject { ["status"] = p["status"]?.DeepClone() };
            var next = (JsonObject)MergePatch(current.DeepClone(), p)!;
            return Task.FromResult(Store(resource, key, next));
        }
    }

    private static JsonNode? MergePatch(JsonNode? target, JsonNode? patch)
    {
        if (patch is not JsonObject po) return patch?.DeepClone();
        var t = target as JsonObject ?? new JsonObject();
        foreach (var (k, v) in po)
        {
            if (v is null) t.Remove(k);
            else t[k] = MergePatch(t[k]?.DeepClone(), v);
        }
        return t;
    }

    public Task DeleteAsync(ApiResource resource, string? ns, string name, DeleteOptions? options = null, CancellationToken ct = default)
    {
        Check(resource, "delete");
        lock (_gate)
        {
            var key = Key(resource.Namespaced ? ns : null, name);
            if (!Table(resource).TryGetValue(key, out var current)) throw new KubeApiException(404, "NotFound", $"{resource.Resource} \"{name}\" not found");
            if (options?.PreconditionUid is { } uid && current["metadata"]!["uid"]!.GetValue<string>() != uid)
                throw new KubeApiException(409, "Conflict", "uid precondition failed");
            var grace = options?.GracePeriodSeconds ?? current["spec"]?["terminationGracePeriodSeconds"]?.GetValue<long>() ?? 30;
            if (resource == ApiResource.Pods && grace > 0 && current["spec"]?["nodeName"] is not null)
            {
                if (current["metadata"]!["deletionTimestamp"] is not null) return Task.CompletedTask;
                var next = (JsonObject)current.DeepClone();
                next["metadata"]!["deletionTimestamp"] = DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'");
                next["metadata"]!["deletionGracePeriodSeconds"] = grace;
                Store(resource, key, next);
                return Task.CompletedTask;
            }
            Table(resource).Remove(key);
            current["metadata"]!["resourceVersion"] = (++_revision).ToString();
            Notify(resource, "DELETED", current);
            return Task.CompletedTask;
        }
    }

    public Task<string> WatchAsync(ApiResource resource, string? ns, IActorRef subscriber, string resourceVersion, ListOptions? options = null, CancellationToken ct = default)
    {
        Check(resource, "watch");
        lock (_gate)
        {
            var id = $"w{++_watchSeq}";
            _watches[id] = (resource, subscriber, options?.FieldSelector, ns);
            subscriber.Tell(new WatchProtocol.WatchStarted(id, _revision)); // as the store confirms a watch
            if (long.TryParse(resourceVersion, out var from))
                foreach (var (r, type, obj, rev) in _history)
                    if (rev > from && r.Partition == resource.Partition && Matches(obj, ns, options?.FieldSelector))
                        subscriber.Tell(new WatchProtocol.WatchEvent(id, type, obj.ToJsonString(), rev));
            return Task.FromResult(id);
        }
    }

    public Task CancelWatchAsync(ApiResource resource, string watchId)
    {
        lock (_gate) _watches.Remove(watchId);
        return Task.CompletedTask;
    }

    /// <summary>End every watch (as a moved store partition would): informers re-list.</summary>
    public void EndWatches()
    {
        lock (_gate)
        {
            foreach (var (id, w) in _watches) w.Subscriber.Tell(new WatchProtocol.WatchEnded(id, 410, "Expired", "test"));
            _watches.Clear();
        }
    }

    private void Notify(ApiResource resource, string type, JsonObject obj)
    {
        var json = obj.ToJsonString();
        _history.Add((resource, type, (JsonObject)obj.DeepClone(), _revision));
        foreach (var (id, w) in _watches)
            if (w.Resource.Partition == resource.Partition && Matches(obj, w.Ns, w.FieldSelector))
                w.Subscriber.Tell(new WatchProtocol.WatchEvent(id, type, json, _revision));
    }
}
