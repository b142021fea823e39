using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json.Nodes;
using Akka.Actor;
using AkkaKube.Actors.ApiServer.CustomResources;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.Client;

/// <summary>
/// The in-memory stand-in for <see cref="IKubeApi"/> (the one used by every unit test and benchmark of
/// in-cluster components), with the apiserver semantics components rely on: generateName,
/// uid/resourceVersion/generation, optimistic concurrency, status, scale (built-in kinds and stored CRDs) and binding
/// subresources, finalizers and
/// deletionTimestamp, propagationPolicy (Foreground/Orphan finalizers), namespace Terminating, graceful pod
/// deletion (opt-in), merge patches, label/field selectors (the same parser as the store) and watches that
/// replay what happened since their resourceVersion. No admission, no defaulting beyond what is listed.
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

    /// <summary>Every call as "verb partition[/subresource]" ("get nodes", "patch nodes/status"), in order.</summary>
    public ConcurrentQueue<string> Calls { get; } = new();

    /// <summary>Fail every call to these partitions (e.g. "nodes") with 503 while present.</summary>
    public ConcurrentDictionary<string, bool> Unavailable { get; } = new();

    /// <summary>
    /// Delete bound, unfinished pods gracefully as the apiserver does (deletionTimestamp + grace; gone once deleted
    /// with grace 0, i.e. by their kubelet). Off by default: control-plane tests have no kubelet to finish it.
    /// </summary>
    public bool GracefulPodDeletion { get; set; }

    /// <summary>A copy of the stored object, or null (no call is recorded).</summary>
    public JsonObject? Peek(ApiResource resource, string? ns, string name)
    {
        lock (_lock) return Table(resource).TryGetValue(KeyOf(Ns(resource, ns), name), out var o) ? o.DeepClone().AsObject() : null;
    }

    /// <summary>Copies of every stored object of the resource (no call is recorded).</summary>
    public List<JsonObject> All(ApiResource resource)
    {
        lock (_lock) return Table(resource).Values.Select(o => o.DeepClone().AsObject()).ToList();
    }

    private static string KeyOf(string? ns, string name) => $"{ns}/{name}";

    private SortedDictionary<string, JsonObject> Table(ApiResource r)
    {
        if (!_objects.TryGetValue(r.Partition, out var t)) _objects[r.Partition] = t = new(StringComparer.Ordinal);
        return t;
    }

    private void Check(string verb, ApiResource r, string? subresource = null)
    {
        Calls.Enqueue($"{verb} {r.Partition}{(subresource is null ? "" : "/" + subresource)}");
        if (Unavailable.ContainsKey(r.Partition)) throw new KubeApiException(503, "ServiceUnavailable", $"{r.Partition} is unavailable (test)");
        if (Inject?.Invoke(subresource is null ? verb : $"{verb}/{subresource}", r) is { } e) throw e;
    }

    private static KubeApiException NotFound(ApiResource r, string name) => new(404, "NotFound", $"{r.Resource} \"{name}\" not found");

    public Task<JsonObject> GetAsync(ApiResource resource, string? ns, string name, string? subresource = null, CancellationToken ct = default)
    {
        Check("get", resource, subresource);
        lock (_lock)
        {
            var paths = subresource == "scale" ? ScalePathsOf(resource) : null;
            if (subresource is not (null or "status") && paths is null) throw NoSubresource(resource, subresource!);
            if (!Table(resource).TryGetValue(KeyOf(Ns(resource, ns), name), out var o)) throw NotFound(resource, name);
            return Task.FromResult(paths is null ? o.DeepClone().AsObject() : ScaleSubresource.ToScale(o, paths));
        }
    }

    private static KubeApiException NoSubresource(ApiResource r, string subresource) =>
        new(404, "NotFound", $"the server could not find the requested resource ({r.Resource}/{subresource})");

    /// <summary>
    /// Where the scale subresource of <paramref name="r"/> reads and writes, or null when it has none: a custom resource
    /// has the paths its stored definition declares for the version, a built-in kind with a scale subresource the default.
    /// </summary>
    private ScalePaths? ScalePathsOf(ApiResource r)
    {
        if (Table(CustomResourceDefinitionSpec.Resource).TryGetValue(KeyOf(null, r.QualifiedName), out var crd))
            return CustomResourceDefinitionSpec.Parse(crd).Versions.FirstOrDefault(v => v.Served && v.Name == r.Version)?.Scale?.Paths;
        return r.FindSubresource("scale") is null ? null : ScalePaths.Default;
    }

    /// <summary>Writes a Scale's spec.replicas into the object at its kind's path (a resourceVersion in the Scale is a precondition).</summary>
    private JsonObject WriteScale(ApiResource resource, string? ns, string name, JsonObject scale)
    {
        var paths = ScalePathsOf(resource) ?? throw NoSubresource(resource, "scale");
        if (!Table(resource).TryGetValue(KeyOf(Ns(resource, ns), name), out var current)) throw NotFound(resource, name);
        if (scale["spec"]?["replicas"] is not JsonValue rv || !rv.TryGetValue<int>(out var replicas) || replicas < 0)
            throw new KubeApiException(422, "Invalid", "Scale.autoscaling \"" + name + "\" is invalid: spec.replicas: must be an integer greater than or equal to 0");
        var next = current.DeepClone().AsObject();
        ScaleSubresource.SetAt(next, paths.SpecReplicas, replicas);
        if (Meta.Str(scale["metadata"]?["resourceVersion"]) is { Length: > 0 } precondition) next["metadata"]!["resourceVersion"] = precondition;
        return ScaleSubresource.ToScale(Replace(resource, ns, next, null), paths);
    }

    private static string? Ns(ApiResource r, string? ns) => r.Namespaced ? ns : null;

    public Task<ObjectList> ListAsync(ApiResource resource, string? ns, ListOptions? options = null, CancellationToken ct = default)
    {
        Check("list", resource);
        lock (_lock)
        {
            var match = Matcher(ns, options);
            // Paged as the store pages: keys in ordinal order, the token names the first page's revision and the last key served.
            var revision = _revision;
            IEnumerable<KeyValuePair<string, JsonObject>> rows = Table(resource);
            if (!string.IsNullOrEmpty(options?.Continue))
            {
                var token = Store.ContinueToken.TryDecode(options.Continue)
                    ?? throw new KubeApiException(400, "BadRequest", "continue key is not valid: the token is malformed");
                revision = token.Revision;
                rows = rows.Where(kv => string.CompareOrdinal(kv.Key, token.LastKey) > 0);
            }
            var matching = rows.Where(kv => match(kv.Value));
            var limit = options?.Limit ?? 0;
            var page = (limit > 0 ? matching.Take(limit + 1) : matching).ToList();
            string? next = null;
            if (limit > 0 && page.Count > limit)
            {
                page.RemoveAt(limit);
                next = new Store.ContinueToken(revision, page[^1].Key).Encode();
            }
            var items = page.Select(kv => kv.Value.DeepClone().AsObject()).ToList();
            return Task.FromResult(new ObjectList(items, revision.ToString(CultureInfo.InvariantCulture), next));
        }
    }

    public Task<JsonObject> CreateAsync(ApiResource resource, string? ns, JsonObject obj, string? subresource = null, CancellationToken ct = default)
    {
        Check("create", resource, subresource);
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
                meta["name"] = Meta.GenerateName(prefix, _random);
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
        Check("update", resource, subresource);
        lock (_lock)
            return Task.FromResult(subresource == "scale"
                ? WriteScale(resource, ns, Meta.Str(obj["metadata"]?["name"]), obj)
                : Replace(resource, ns, obj, subresource));
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
        Check("patch", resource, subresource);
        if (type is PatchType.Json or PatchType.Apply) throw new KubeApiException(415, "UnsupportedMediaType", $"{type} patches are not supported by the in-memory API");
        lock (_lock)
        {
            var table = Table(resource);
            var key = KeyOf(Ns(resource, ns), name);
            if (!table.TryGetValue(key, out var current)) throw NotFound(resource, name);
            var patchNode = JsonNode.Parse(patch) as JsonObject ?? throw new KubeApiException(400, "BadRequest", "patch must be a JSON object");
            if (subresource == "scale")
            {
                var scale = JsonMergePatch.Apply(ScaleSubresource.ToScale(current, ScalePathsOf(resource) ?? throw NoSubresource(resource, "scale")), patchNode)!.AsObject();
                return Task.FromResult(WriteScale(resource, ns, name, scale));
            }
            var merged = JsonMergePatch.Apply(current, patchNode)!.AsObject();
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
            var grace = GracePeriod(resource, current, options?.GracePeriodSeconds);
            if (grace > 0)
            {
                if (nmeta["deletionTimestamp"] is not null) return Task.CompletedTask;
                nmeta["deletionTimestamp"] = EventAggregator.Timestamp(Clock().AddSeconds(grace));
                nmeta["deletionGracePeriodSeconds"] = grace;
                table[key] = next;
                Emit(resource, "MODIFIED", next);
                return Task.CompletedTask;
            }
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

    /// <summary>The apiserver's grace for a pod bound to a node and not finished (the request's, else the spec's, else 30 s).</summary>
    private long GracePeriod(ApiResource resource, JsonObject pod, long? requested)
    {
        if (!GracefulPodDeletion || resource != ApiResource.Pods) return 0;
        if (Meta.Str(pod["spec"]?["nodeName"]).Length == 0 || Meta.Str(pod["status"]?["phase"]) is "Succeeded" or "Failed") return 0;
        if (requested is { } r) return Math.Max(0, r);
        return pod["spec"]?["terminationGracePeriodSeconds"] is JsonValue v && v.TryGetValue<long>(out var spec) ? Math.Max(0, spec) : 30;
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

    /// <summary>Namespace, label and field selectors with the store's parser and semantics (Machinery/Selectors.cs).</summary>
    private static Func<JsonObject, bool> Matcher(string? ns, ListOptions? options)
    {
        LabelSelector labels;
        FieldSelector fields;
        try
        {
            labels = LabelSelector.Parse(options?.LabelSelector);
            fields = FieldSelector.Parse(options?.FieldSelector);
        }
        catch (SelectorException e)
        {
            throw new KubeApiException(400, "BadRequest", e.Message);
        }
        return o =>
        {
            var meta = o["metadata"] as JsonObject;
            if (!string.IsNullOrEmpty(ns) && Meta.Str(meta?["namespace"]) != ns) return false;
            return labels.Matches(Meta.Labels(meta?["labels"] as JsonObject)) && fields.Matches(o);
        };
    }
}
