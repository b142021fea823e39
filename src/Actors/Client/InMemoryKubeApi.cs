using System.Globalization;
using System.Text.Json.Nodes;
using Akka.Actor;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.Client;

/// <summary>
/// An in-memory stand-in for <see cref="IKubeApi"/> with the apiserver semantics components rely on:
/// generateName, uid/resourceVersion/generation, optimistic concurrency, status and binding subresources,
/// finalizers and deletionTimestamp, propagationPolicy (Foreground/Orphan finalizers), namespace
/// Terminating, merge patches, label/field selectors and watches from a resourceVersion. For unit tests
/// and benchmarks of in-cluster components; no admission, no defaulting beyond what is listed.
/// </summary>
public sealed class InMemoryKubeApi : IKubeApi
{
    private readonly object _lock = new();
    private readonly Dictionary<string, SortedDictionary<string, JsonObject>> _objects = new(StringComparer.Ordinal);
    private readonly List<(string Partition, string Type, JsonObject Obj, long Rev)> _history = [];
    private readonly List<(string Partition, string Id, string? Ns, IActorRef Sub, Func<JsonObject, bool> Match)> _watches = [];
    private readonly Random _random = new(42);
    private long _revision = 1;
    private long _watchIds;

    /// <summary>Called (under the lock) after every write with the event type and the object; for tests and benchmarks.</summary>
    public Action<ApiResource, string, JsonObject>? OnChange { get; set; }

    /// <summary>Fail the next calls matching the predicate (verb, resource) with the exception; for error-path tests.</summary>
    public Func<string, ApiResource, Exception?>? Inject { get; set; }

    public Func<DateTime> Clock { get; set; } = () => DateTime.UtcNow;

    public int Calls;

    private static string KeyOf(string? ns, string name) => $"{ns}/{name}";

    private SortedDictionary<string, JsonObject> Table(ApiResource r)
    {
        if (!_objects.TryGetValue(r.Partition, out var t)) _objects[r.Partition] = t = new(StringComparer.Ordinal);
        return t;
    }

    private void Check(string verb, ApiResource r)
    {
        Interlocked.Increment(ref Calls);
        if (Inject?.Invoke(verb, r) is { } e) throw e;
    }

    private static KubeApiException NotFound(ApiResource r, string name) => new(404, "NotFound", $"{r.Resource} \"{name}\" not found");

    public Task<JsonObject> GetAsync(ApiResource resource, string? ns, string name, CancellationToken ct = default)
    {
        Check("get", resource);
        lock (_lock)
            return Task.FromResult(Table(resource).TryGetValue(KeyOf(Ns(resource, ns), name), out var o) ? o.DeepClone().AsObject() : throw NotFound(resource, name));
    }

    private static string? Ns(ApiResource r, string? ns) => r.Namespaced ? ns : null;

    public Task<ObjectList> ListAsync(ApiResource resource, string? ns, ListOptions? options = null, CancellationToken ct = default)
    {
        Check("list", resource);
        lock (_lock)
        {
            var match = Matcher(ns, options);
            var items = Table(resource).Values.Where(match).Select(o => o.DeepClone().AsObject()).ToList();
            return Task.FromResult(new ObjectList(items, _revision.ToString(CultureInfo.InvariantCulture), null));
        }
    }

    public Task<JsonObject> CreateAsync(ApiResource resource, string? ns, JsonObject obj, string? subresource = null, CancellationToken ct = default)
    {
        Check(subresource is null ? "create" : "create/" + subresource, resource);
        lock (_lock)
        {
            if (subresource == "binding") return Task.FromResult(Bind(ns, obj));
            if (subresource is not null) throw new KubeApiException(404, "NotFound", $"subresource {subresource} not supported");
            var o = obj.DeepClone().AsObject();
            var meta = o["metadata"] as JsonObject ?? new JsonObject();
            o["metadata"] = meta;
            o["apiVersion"] ??= resource.ApiVersion;
            o["kind"] ??= resource.Kind;
            if (meta["name"] is null)
            {
                var prefix = meta["generateName"]?.GetValue<string>() ?? throw new KubeApiException(422, "Invalid", "name or generateName is required");
                const string alphabet = "bcdfghjklmnpqrstvwxz2456789";
                meta["name"] = prefix + new string(Enumerable.Range(0, 5).Select(_ => alphabet[_random.Next(alphabet.Length)]).ToArray());
            }
            if (resource.Namespaced) meta["namespace"] = ns ?? meta["namespace"]?.GetValue<string>() ?? "default";
            else meta.Remove("namespace");
            var name = meta["name"]!.GetValue<string>();
            var key = KeyOf(Ns(resource, ns ?? meta["namespace"]?.GetValue<string>()), name);
            var table = Table(resource);
            if (table.ContainsKey(key)) throw new KubeApiException(409, "AlreadyExists", $"{resource.Resource} \"{name}\" already exists");
            meta["uid"] = Guid.NewGuid().ToString();
            meta["creationTimestamp"] = EventAggregator.Timestamp(Clock());
            meta["generation"] = 1L;
            meta.Remove("deletionTimestamp");
            if (resource == ApiResource.Pods)
            {
                var spec = o["spec"] as JsonObject ?? new JsonObject();
                o["spec"] = spec;
                spec["schedulerName"] ??= "default-scheduler";
                var status = o["status"] as JsonObject ?? new JsonObject();
                o["status"] = status;
                status["phase"] ??= "Pending";
            }
            if (resource == ApiResource.Namespaces)
            {
                o["spec"] = new JsonObject { ["finalizers"] = new JsonArray("kubernetes") };
                o["status"] = new JsonObject { ["phase"] = "Active" };
            }
            table[key] = o;
            Emit(resource, "ADDED", o);
            return Task.FromResult(o.DeepClone().AsObject());
        }
    }

    private JsonObject Bind(string? ns, JsonObject binding)
    {
        var name = binding["metadata"]?["name"]?.GetValue<string>() ?? "";
        var node = binding["target"]?["name"]?.GetValue<string>() ?? "";
        var table = Table(ApiResource.Pods);
        if (!table.TryGetValue(KeyOf(ns, name), out var pod)) throw NotFound(ApiResource.Pods, name);
        var spec = pod["spec"] as JsonObject ?? new JsonObject();
        if (spec["nodeName"]?.GetValue<string>() is { Length: > 0 } current)
            throw new KubeApiException(409, "Conflict", $"pod {name} is already assigned to node \"{current}\"");
        var updated = pod.DeepClone().AsObject();
        updated["spec"]!["nodeName"] = node;
        var status = updated["status"] as JsonObject ?? new JsonObject();
        updated["status"] = status;
        var conditions = status["conditions"] as JsonArray ?? new JsonArray();
        var kept = new JsonArray(conditions.Where(c => c?["type"]?.GetValue<string>() != "PodScheduled").Select(c => c!.DeepClone()).ToArray());
        kept.Add(new JsonObject { ["type"] = "PodScheduled", ["status"] = "True", ["lastTransitionTime"] = EventAggregator.Timestamp(Clock()) });
        status["conditions"] = kept;
        table[KeyOf(ns, name)] = updated;
        Emit(ApiResource.Pods, "MODIFIED", updated);
        return new JsonObject { ["kind"] = "Status", ["apiVersion"] = "v1", ["status"] = "Success", ["code"] = 201 };
    }

    public Task<JsonObject> UpdateAsync(ApiResource resource, string? ns, JsonObject obj, string? subresource = null, CancellationToken ct = default)
    {
        Check("update", resource);
        lock (_lock) return Task.FromResult(Replace(resource, ns, obj, subresource));
    }

    private JsonObject Replace(ApiResource resource, string? ns, JsonObject obj, string? subresource)
    {
        var meta = obj["metadata"] as JsonObject ?? throw new KubeApiException(422, "Invalid", "metadata is required");
        var name = meta["name"]?.GetValue<string>() ?? throw new KubeApiException(422, "Invalid", "metadata.name is required");
        ns = Ns(resource, ns ?? meta["namespace"]?.GetValue<string>());
        var table = Table(resource);
        var key = KeyOf(ns, name);
        if (!table.TryGetValue(key, out var current)) throw NotFound(resource, name);
        var rv = meta["resourceVersion"]?.GetValue<string>();
        if (!string.IsNullOrEmpty(rv) && rv != current["metadata"]!["resourceVersion"]!.GetValue<string>())
            throw new KubeApiException(409, "Conflict", $"Operation cannot be fulfilled on {resource.Resource} \"{name}\": the object has been modified; please apply your changes to the latest version and try again");
        JsonObject next;
        if (subresource == "status")
        {
            next = current.DeepClone().AsObject();
            next["status"] = obj["status"]?.DeepClone();
        }
        else
        {
            next = obj.DeepClone().AsObject();
            var nm = next["metadata"]!.AsObject();
            var cm = current["metadata"]!.AsObject();
            foreach (var f in new[] { "uid", "creationTimestamp", "namespace", "generation", "deletionTimestamp" })
            {
                if (cm[f] is { } v) nm[f] = v.DeepClone(); else nm.Remove(f);
            }
            // Spec-only PUT keeps status (status subresource); the namespace "finalize" subresource only touches spec.finalizers.
            if (subresource == "finalize")
            {
                var merged = current.DeepClone().AsObject();
                merged["spec"] = next["spec"]?.DeepClone();
                next = merged;
            }
            else if (resource != ApiResource.Namespaces && resource != ApiResource.Events) next["status"] = current["status"]?.DeepClone();
            if (!JsonNode.DeepEquals(Strip(next), Strip(current)))
                nm["generation"] = ((cm["generation"] is JsonValue g && g.TryGetValue<long>(out var gl) ? gl : cm["generation"] is JsonValue gi && gi.TryGetValue<int>(out var g32) ? g32 : 1)) + 1;
        }
        return Commit(resource, key, next);
    }

    private static JsonObject Strip(JsonObject o)
    {
        var c = o.DeepClone().AsObject();
        c.Remove("metadata");
        c.Remove("status");
        return c;
    }

    private JsonObject Commit(ApiResource resource, string key, JsonObject next)
    {
        var table = Table(resource);
        var meta = next["metadata"]!.AsObject();
        var finalizers = (meta["finalizers"] as JsonArray)?.Count ?? 0;
        var specFinalizers = resource == ApiResource.Namespaces ? ((next["spec"]?["finalizers"] as JsonArray)?.Count ?? 0) : 0;
        if (meta["deletionTimestamp"] is not null && finalizers == 0 && specFinalizers == 0)
        {
            table.Remove(key);
            Emit(resource, "DELETED", next);
            return next.DeepClone().AsObject();
        }
        table[key] = next;
        Emit(resource, "MODIFIED", next);
        return next.DeepClone().AsObject();
    }

    public Task<JsonObject> PatchAsync(ApiResource resource, string? ns, string name, PatchType type, string patch, string? subresource = null, CancellationToken ct = default)
    {
        Check("patch", resource);
        if (type is PatchType.Json or PatchType.Apply) throw new KubeApiException(415, "UnsupportedMediaType", $"{type} patches are not supported by the in-memory API");
        lock (_lock)
        {
            var table = Table(resource);
            var key = KeyOf(Ns(resource, ns), name);
            if (!table.TryGetValue(key, out var current)) throw NotFound(resource, name);
            var patchNode = JsonNode.Parse(patch) as JsonObject ?? throw new KubeApiException(400, "BadRequest", "patch must be a JSON object");
            var merged = MergePatch(current.DeepClone(), patchNode)!.AsObject();
            if (subresource == "status")
            {
                var next = current.DeepClone().AsObject();
                next["status"] = merged["status"]?.DeepClone();
                return Task.FromResult(Commit(resource, key, next));
            }
            merged["metadata"]!["resourceVersion"] = current["metadata"]!["resourceVersion"]!.DeepClone();
            return Task.FromResult(Replace(resource, ns, merged, subresource));
        }
    }

    /// <summary>RFC 7386 JSON merge patch.</summary>
    public static JsonNode? MergePatch(JsonNode? target, JsonNode? patch)
    {
        if (patch is not JsonObject p) return patch?.DeepClone();
        var t = target as JsonObject ?? new JsonObject();
        foreach (var (k, v) in p)
        {
            if (v is null) t.Remove(k);
            else t[k] = MergePatch(t[k]?.DeepClone(), v);
        }
        return t;
    }

    public Task DeleteAsync(ApiResource resource, string? ns, string name, DeleteOptions? options = null, CancellationToken ct = default)
    {
        Check("delete", resource);
        lock (_lock)
        {
            var table = Table(resource);
            var key = KeyOf(Ns(resource, ns), name);
            if (!table.TryGetValue(key, out var current)) throw NotFound(resource, name);
            var meta = current["metadata"]!.AsObject();
            if (options?.PreconditionUid is { } uid && uid != meta["uid"]?.GetValue<string>())
                throw new KubeApiException(409, "Conflict", $"Precondition failed: UID in precondition: {uid}, UID in object meta: {meta["uid"]}");
            var next = current.DeepClone().AsObject();
            var nmeta = next["metadata"]!.AsObject();
            var finalizers = nmeta["finalizers"] as JsonArray ?? new JsonArray();
            var policy = options?.PropagationPolicy;
            if (policy is "Foreground" or "Orphan" && nmeta["deletionTimestamp"] is null)
            {
                var f = policy == "Foreground" ? "foregroundDeletion" : "orphan";
                if (!finalizers.Any(x => x?.GetValue<string>() == f)) finalizers.Add(f);
                nmeta["finalizers"] = finalizers;
            }
            var specFinalizers = resource == ApiResource.Namespaces ? ((next["spec"]?["finalizers"] as JsonArray)?.Count ?? 0) : 0;
            if (finalizers.Count == 0 && specFinalizers == 0)
            {
                table.Remove(key);
                Emit(resource, "DELETED", next);
                return Task.CompletedTask;
            }
            if (nmeta["deletionTimestamp"] is null)
            {
                nmeta["deletionTimestamp"] = EventAggregator.Timestamp(Clock());
                if (resource == ApiResource.Namespaces) next["status"] = new JsonObject { ["phase"] = "Terminating" };
                table[key] = next;
                Emit(resource, "MODIFIED", next);
            }
            else if (policy is "Foreground" or "Orphan")
            {
                table[key] = next;
                Emit(resource, "MODIFIED", next);
            }
            return Task.CompletedTask;
        }
    }

    public Task<string> WatchAsync(ApiResource resource, string? ns, IActorRef subscriber, string resourceVersion, ListOptions? options = null, CancellationToken ct = default)
    {
        Check("watch", resource);
        lock (_lock)
        {
            var id = "w" + Interlocked.Increment(ref _watchIds);
            var match = Matcher(ns, options);
            long.TryParse(resourceVersion, NumberStyles.Integer, CultureInfo.InvariantCulture, out var from);
            // As the store does: WatchStarted first (here without a sender: no partition to death-watch).
            subscriber.Tell(new WatchProtocol.WatchStarted(id, Math.Max(from, _revision)));
            if (from > 0)
                foreach (var h in _history)
                    if (h.Partition == resource.Partition && h.Rev > from && match(h.Obj))
                        subscriber.Tell(new WatchProtocol.WatchEvent(id, h.Type, h.Obj.ToJsonString(), h.Rev));
            _watches.Add((resource.Partition, id, ns, subscriber, match));
            return Task.FromResult(id);
        }
    }

    public Task CancelWatchAsync(ApiResource resource, string watchId)
    {
        lock (_lock) _watches.RemoveAll(w => w.Id == watchId);
        return Task.CompletedTask;
    }

    /// <summary>Ends every watch (as a moved store partition would); informers re-list.</summary>
    public void EndAllWatches()
    {
        lock (_lock)
        {
            foreach (var w in _watches) w.Sub.Tell(new WatchProtocol.WatchEnded(w.Id, 410, "Expired", "watch ended by test"));
            _watches.Clear();
        }
    }

    private void Emit(ApiResource resource, string type, JsonObject obj)
    {
        var rev = ++_revision;
        obj["metadata"]!["resourceVersion"] = rev.ToString(CultureInfo.InvariantCulture);
        var snapshot = obj.DeepClone().AsObject();
        _history.Add((resource.Partition, type, snapshot, rev));
        if (_history.Count > 20000) _history.RemoveRange(0, 5000);
        string? json = null;
        foreach (var w in _watches)
            if (w.Partition == resource.Partition && w.Match(snapshot))
                w.Sub.Tell(new WatchProtocol.WatchEvent(w.Id, type, json ??= snapshot.ToJsonString(), rev));
        OnChange?.Invoke(resource, type, snapshot);
    }

    private static Func<JsonObject, bool> Matcher(string? ns, ListOptions? options)
    {
        var labels = ParseSelector(options?.LabelSelector);
        var fields = ParseSelector(options?.FieldSelector);
        return o =>
        {
            var meta = o["metadata"] as JsonObject;
            if (!string.IsNullOrEmpty(ns) && meta?["namespace"]?.GetValue<string>() != ns) return false;
            var l = (meta?["labels"] as JsonObject)?.ToDictionary(kv => kv.Key, kv => kv.Value?.GetValue<string>() ?? "") ?? [];
            if (!labels.All(req => req(l))) return false;
            if (fields.Count == 0) return true;
            var f = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["metadata.name"] = meta?["name"]?.GetValue<string>() ?? "",
                ["metadata.namespace"] = meta?["namespace"]?.GetValue<string>() ?? "",
                ["spec.nodeName"] = o["spec"]?["nodeName"]?.GetValue<string>() ?? "",
                ["status.phase"] = o["status"]?["phase"]?.GetValue<string>() ?? "",
            };
            return fields.All(req => req(f));
        };
    }

    /// <summary>Parses `a=b,c!=d,e,!f,g in (x,y),h notin (z)` into predicates.</summary>
    public static List<Func<IDictionary<string, string>, bool>> ParseSelector(string? selector)
    {
        var result = new List<Func<IDictionary<string, string>, bool>>();
        if (string.IsNullOrWhiteSpace(selector)) return result;
        var parts = new List<string>();
        var depth = 0;
        var start = 0;
        for (var i = 0; i < selector.Length; i++)
        {
            if (selector[i] == '(') depth++;
            else if (selector[i] == ')') depth--;
            else if (selector[i] == ',' && depth == 0) { parts.Add(selector[start..i]); start = i + 1; }
        }
        parts.Add(selector[start..]);
        foreach (var raw in parts.Select(p => p.Trim()).Where(p => p.Length > 0))
        {
            string[] kv;
            if (raw.Contains(" notin ", StringComparison.Ordinal) || raw.Contains(" in ", StringComparison.Ordinal))
            {
                var notIn = raw.Contains(" notin ", StringComparison.Ordinal);
                kv = raw.Split(notIn ? " notin " : " in ", 2);
                var key = kv[0].Trim();
                var values = kv[1].Trim().TrimStart('(').TrimEnd(')').Split(',').Select(v => v.Trim()).ToList();
                result.Add(notIn ? d => !d.TryGetValue(key, out var v) || !values.Contains(v) : d => d.TryGetValue(key, out var v) && values.Contains(v));
            }
            else if (raw.Contains("!=", StringComparison.Ordinal))
            {
                kv = raw.Split("!=", 2);
                var (key, value) = (kv[0].Trim(), kv[1].Trim());
                result.Add(d => !d.TryGetValue(key, out var v) || v != value);
            }
            else if (raw.Contains('='))
            {
                kv = raw.Split('=', 2);
                var (key, value) = (kv[0].Trim(), kv[1].TrimStart('=').Trim());
                result.Add(d => d.TryGetValue(key, out var v) && v == value);
            }
            else if (raw.StartsWith('!'))
            {
                var key = raw[1..].Trim();
                result.Add(d => !d.ContainsKey(key));
            }
            else
            {
                var key = raw;
                result.Add(d => d.ContainsKey(key));
            }
        }
        return result;
    }
}
