using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using static AkkaKube.Actors.Store.StoreProtocol;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.Store;

/// <summary>What a command decided: the reply for the sender and the events to persist (none for reads and dry runs).</summary>
public sealed record Decision(object Reply, IReadOnlyList<IStoreEvent> Events)
{
    public static Decision Read(object reply) => new(reply, []);
}

/// <summary>One change as watchers see it: Old is the object before (null for a create).</summary>
public sealed record WatchChange(long Revision, string Type, StoredObject? Old, StoredObject New);

/// <summary>
/// The pure state of one store partition: objects by "namespace/name" and the revision counter.
/// <see cref="Process"/> decides (never mutates); <see cref="Apply"/> mutates, from live events and from recovery alike.
/// </summary>
public sealed class PartitionState
{
    public const string Added = "ADDED";
    public const string Modified = "MODIFIED";
    public const string Deleted = "DELETED";
    public const string Bookmark = "BOOKMARK";

    private readonly SortedSet<string> _keys = new(StringComparer.Ordinal);
    private readonly Dictionary<string, StoredObject> _objects = new(StringComparer.Ordinal);
    /// <summary>
    /// Uids of recently deleted objects and their last JSON (at most 10,000 and 16 MiB of JSON, oldest forgotten first): a copy of a create that
    /// arrives after the first copy's object was already deleted is that create, answered, not applied again (issue 25).
    /// Rebuilt from the journal's delete events on recovery; not kept in snapshots.
    /// </summary>
    private readonly Dictionary<string, string> _deletedUids = new(StringComparer.Ordinal);
    private readonly Queue<string> _deletedOrder = new();
    private long _deletedBytes;
    private const int DeletedUidsKept = 10_000;
    private const long DeletedBytesKept = 16L * 1024 * 1024;
    private readonly Func<DateTimeOffset> _clock;
    private readonly Func<string> _newUid;

    /// <summary>
    /// The last written object as decided, text and tree: <see cref="Apply"/> of its event (right after the decision)
    /// reuses the tree instead of parsing the text it was just written from (one parse less per write).
    /// </summary>
    private (string Json, JsonObject Node)? _decided;

    /// <summary>
    /// The largest object, in bytes as it travels between nodes inside an Akka remoting frame, that a write may store:
    /// an object that cannot travel could be stored but never read back through another node's apiserver.
    /// </summary>
    public long MaxObjectWireBytes { get; init; } = long.MaxValue;

    public PartitionState(string partition, Func<DateTimeOffset>? clock = null, Func<string>? newUid = null)
    {
        Partition = partition;
        Resource = ResourceOf(partition);
        _clock = clock ?? (() => DateTimeOffset.UtcNow);
        _newUid = newUid ?? (() => Guid.NewGuid().ToString());
    }

    public string Partition { get; }

    /// <summary>The resource name used in Kubernetes messages ("pods", "deployments.apps").</summary>
    public string Resource { get; }

    public long Revision { get; private set; }
    public int Count => _objects.Count;
    public string? Kind { get; private set; }
    public string? ApiVersion { get; private set; }

    public IEnumerable<StoredObject> Objects => _keys.Select(k => _objects[k]);

    public StoredObject? Find(string? ns, string name) => _objects.GetValueOrDefault(StoredObject.KeyOf(ns, name));

    /// <summary>"pods@team-a" (a namespace split of a hot kind) reports as "pods".</summary>
    public static string ResourceOf(string partition)
    {
        var at = partition.IndexOf('@');
        return at < 0 ? partition : partition[..at];
    }

    // ------------------------------------------------------------------ decide

    /// <summary>Decides a command against the current state. Events carry consecutive revisions after <see cref="Revision"/>.</summary>
    public Decision Process(IPartitionCommand command) => command switch
    {
        CreateObject c => Create(c),
        UpdateObject u => Update(u),
        DeleteObject d => Delete(d),
        GetObject g => Get(g),
        ListObjects l => List(l),
        _ => Decision.Read(new StoreFailure(400, "BadRequest", $"the store does not process {command.GetType().Name} here")),
    };

    private Decision Create(CreateObject c)
    {
        if (Parse(c.ObjectJson) is not { } obj) return Decision.Read(Invalid("the object is not a JSON object"));
        var metadata = MetadataOf(obj);
        var name = StoredObject.Str(metadata["name"]);
        if (string.IsNullOrEmpty(name))
        {
            var generate = StoredObject.Str(metadata["generateName"]);
            if (string.IsNullOrEmpty(generate))
                return Decision.Read(new StoreFailure(422, "Invalid", "metadata.name: Required value: name or generateName is required"));
            do name = generate + RandomSuffix(); while (Find(StoredObject.Str(metadata["namespace"]), name) is not null);
            metadata["name"] = name;
        }
        var ns = StoredObject.Str(metadata["namespace"]);
        if (c.Uid is { Length: > 0 } && _deletedUids.TryGetValue(c.Uid, out var deleted))
            return Decision.Read(new ObjectReply(deleted, Revision)); // an earlier copy created it and it has been deleted since
        if (Find(ns, name) is { } existing)
            return Decision.Read(c.Uid is { Length: > 0 } && existing.Uid == c.Uid
                ? new ObjectReply(existing.Json, existing.Revision) // this very request, applied by an earlier copy of it
                : new StoreFailure(409, "AlreadyExists", $"{Resource} \"{name}\" already exists"));

        var revision = Revision + 1;
        metadata["uid"] = c.Uid is { Length: > 0 } uid ? uid : _newUid();
        metadata["creationTimestamp"] = Timestamp(_clock());
        metadata["generation"] = 1;
        metadata.Remove("deletionTimestamp");
        metadata.Remove("deletionGracePeriodSeconds");
        if (c.DryRun)
        {
            metadata.Remove("resourceVersion");
            return Decision.Read(new ObjectReply(StoreJson.Write(obj), Revision));
        }
        metadata["resourceVersion"] = Rv(revision);
        var json = StoreJson.Write(obj);
        if (TooLarge(json, name) is { } tooLarge) return Decision.Read(tooLarge);
        _decided = (json, obj);
        return new Decision(new ObjectReply(json, revision), [new ObjectCreated(json, revision)]);
    }

    /// <summary>413 for an object that would not fit a remoting frame as a JSON string (docs/store.md, Sizes).</summary>
    private StoreFailure? TooLarge(string json, string name)
    {
        // A UTF-16 char is at most 6 bytes as an escaped JSON string ("<" is \u003C): only near the limit is it counted.
        if (json.Length * 6L <= MaxObjectWireBytes) return null;
        var bytes = System.Text.Json.JsonEncodedText.Encode(json).EncodedUtf8Bytes.Length + 2L;
        return bytes <= MaxObjectWireBytes ? null : new StoreFailure(413, "RequestEntityTooLarge",
            $"{Resource} \"{name}\" is too large: {bytes} bytes as it travels between nodes, the limit is {MaxObjectWireBytes} " +
            $"({StoreSettings.ConfigPath}.max-object-wire-bytes, below akka.remote.dot-netty.tcp.maximum-frame-size)");
    }

    private Decision Update(UpdateObject u)
    {
        if (Parse(u.ObjectJson) is not { } obj) return Decision.Read(Invalid("the object is not a JSON object"));
        var metadata = MetadataOf(obj);
        var name = StoredObject.Str(metadata["name"]);
        if (string.IsNullOrEmpty(name))
            return Decision.Read(new StoreFailure(422, "Invalid", "metadata.name: Required value: name is required"));
        var ns = StoredObject.Str(metadata["namespace"]);
        if (Find(ns, name) is not { } current) return Decision.Read(NotFound(name));

        var precondition = StoredObject.Str(metadata["resourceVersion"]);
        if (!string.IsNullOrEmpty(precondition) && precondition != Rv(current.Revision))
            return Decision.Read(Conflict(name));
        var uid = StoredObject.Str(metadata["uid"]);
        if (!string.IsNullOrEmpty(uid) && uid != current.Uid)
            return Decision.Read(new StoreFailure(409, "Conflict",
                $"Operation cannot be fulfilled on {Resource} \"{name}\": Precondition failed: UID in precondition: {uid}, UID in object meta: {current.Uid}"));

        // Fields the store owns keep their stored values.
        var old = current.Node;
        var oldMeta = MetadataOf(old);
        metadata["uid"] = current.Uid;
        CopyOrRemove(oldMeta, metadata, "creationTimestamp");
        CopyOrRemove(oldMeta, metadata, "deletionTimestamp");
        CopyOrRemove(oldMeta, metadata, "deletionGracePeriodSeconds");
        var oldGeneration = oldMeta["generation"] is JsonValue g && g.TryGetValue<long>(out var gv) ? gv : 1;
        metadata["generation"] = SpecChanged(old, obj) ? oldGeneration + 1 : oldGeneration;
        metadata["resourceVersion"] = Rv(current.Revision);

        if (JsonNode.DeepEquals(old, obj))
            return Decision.Read(new ObjectReply(current.Json, Revision)); // no-op update: no new revision, like etcd3's store

        var revision = Revision + 1;
        metadata["resourceVersion"] = Rv(revision);
        var json = StoreJson.Write(obj);
        if (TooLarge(json, name) is { } tooLarge) return Decision.Read(tooLarge);
        var finalizersGone = metadata["finalizers"] is not JsonArray { Count: > 0 };
        // A graceful deletion (grace > 0) ends with its own delete, not with an update that happens to clear finalizers.
        var deleteNow = current.Deleting && finalizersGone && current.DeletionGracePeriodSeconds == 0;
        if (u.DryRun) return Decision.Read(new ObjectReply(json, Revision));
        _decided = (json, obj);
        IStoreEvent e = deleteNow ? new ObjectDeleted(json, revision) : new ObjectUpdated(json, revision);
        return new Decision(new ObjectReply(json, revision), [e]);
    }

    private Decision Delete(DeleteObject d)
    {
        if (Find(d.Namespace, d.Name) is not { } current) return Decision.Read(NotFound(d.Name));
        if (!string.IsNullOrEmpty(d.PreconditionUid) && d.PreconditionUid != current.Uid)
            return Decision.Read(new StoreFailure(409, "Conflict",
                $"Operation cannot be fulfilled on {Resource} \"{d.Name}\": Precondition failed: UID in precondition: {d.PreconditionUid}, UID in object meta: {current.Uid}"));
        if (!string.IsNullOrEmpty(d.PreconditionResourceVersion) && d.PreconditionResourceVersion != Rv(current.Revision))
            return Decision.Read(Conflict(d.Name));

        var revision = Revision + 1;
        var grace = Math.Max(0, d.GracePeriodSeconds);
        if (grace > 0 || current.HasFinalizers)
        {
            // Marked already with a grace no longer than this one: nothing changes (a shorter grace shortens it).
            if (current.Deleting && current.DeletionGracePeriodSeconds <= grace) return Decision.Read(new ObjectReply(current.Json, Revision));
            var marked = current.MutableCopy();
            var meta = MetadataOf(marked);
            meta["deletionTimestamp"] = Timestamp(_clock().AddSeconds(grace));
            meta["deletionGracePeriodSeconds"] = grace;
            if (d.DryRun) return Decision.Read(new ObjectReply(StoreJson.Write(marked), Revision));
            meta["resourceVersion"] = Rv(revision);
            var markedJson = StoreJson.Write(marked);
            return new Decision(new ObjectReply(markedJson, revision), [new ObjectUpdated(markedJson, revision)]);
        }
        if (d.DryRun) return Decision.Read(new ObjectReply(current.Json, Revision));
        var gone = current.MutableCopy();
        MetadataOf(gone)["resourceVersion"] = Rv(revision);
        var json = StoreJson.Write(gone);
        return new Decision(new ObjectReply(json, revision), [new ObjectDeleted(json, revision)]);
    }

    private Decision Get(GetObject g) =>
        Decision.Read(Find(g.Namespace, g.Name) is { } o ? new ObjectReply(o.Json, Revision) : NotFound(g.Name));

    private Decision List(ListObjects l)
    {
        ObjectFilter filter;
        try
        {
            filter = ObjectFilter.Create(l.Namespace, l.LabelSelector, l.FieldSelector);
        }
        catch (SelectorException e)
        {
            return Decision.Read(new StoreFailure(400, "BadRequest", e.Message));
        }
        if (l.Limit < 0) return Decision.Read(new StoreFailure(400, "BadRequest", "limit must not be negative"));

        var listRevision = Revision;
        string? after = null;
        if (!string.IsNullOrEmpty(l.Continue))
        {
            if (ContinueToken.TryDecode(l.Continue) is not { } token)
                return Decision.Read(new StoreFailure(400, "BadRequest", "continue key is not valid: the token is malformed"));
            (listRevision, after) = (token.Revision, token.LastKey);
        }

        IEnumerable<string> keys = _keys;
        if (!string.IsNullOrEmpty(l.Namespace))
            keys = _keys.GetViewBetween(l.Namespace + "/", l.Namespace + "/\uffff");
        if (after is not null)
            keys = keys.SkipWhile(k => string.CompareOrdinal(k, after) <= 0);

        var items = new List<string>();
        string? lastKey = null;
        var more = false;
        long? remaining = null;
        using (var e = keys.GetEnumerator())
        {
            while (e.MoveNext())
            {
                var o = _objects[e.Current];
                var matches = filter.Matches(o);
                o.Compact(); // a field selector parsed it; keep memory at the JSON text
                if (!matches) continue;
                if (l.Limit > 0 && items.Count == l.Limit)
                {
                    more = true;
                    if (filter.SelectorsEmpty)
                    {
                        long rest = 1;
                        while (e.MoveNext()) rest++;
                        remaining = rest;
                    }
                    break;
                }
                items.Add(o.Json);
                lastKey = o.Key;
            }
        }
        var next = more ? new ContinueToken(listRevision, lastKey!).Encode() : null;
        return Decision.Read(new ListReply(items, listRevision, next, remaining));
    }

    // ------------------------------------------------------------------ apply

    /// <summary>Applies a persisted event and tells what watchers should see.</summary>
    public WatchChange Apply(IStoreEvent e)
    {
        var obj = _decided is { } d && ReferenceEquals(d.Json, e.ObjectJson) ? StoredObject.Of(d.Json, d.Node) : StoredObject.FromJson(e.ObjectJson);
        _decided = null;
        _objects.TryGetValue(obj.Key, out var old);
        Revision = e.Revision;
        Kind = StoredObject.Str(obj.Node["kind"]) ?? Kind;
        ApiVersion = StoredObject.Str(obj.Node["apiVersion"]) ?? ApiVersion;
        obj.Compact();
        old?.Compact();
        switch (e)
        {
            case ObjectDeleted:
                _objects.Remove(obj.Key);
                _keys.Remove(obj.Key);
                if (obj.Uid.Length > 0 && _deletedUids.TryAdd(obj.Uid, e.ObjectJson))
                {
                    _deletedOrder.Enqueue(obj.Uid);
                    _deletedBytes += e.ObjectJson.Length;
                    while (_deletedOrder.Count > DeletedUidsKept || _deletedBytes > DeletedBytesKept)
                        if (_deletedUids.Remove(_deletedOrder.Dequeue(), out var forgotten)) _deletedBytes -= forgotten.Length;
                }
                return new WatchChange(e.Revision, Deleted, old, obj);
            default:
                _objects[obj.Key] = obj;
                _keys.Add(obj.Key);
                return new WatchChange(e.Revision, old is null ? Added : Modified, old, obj);
        }
    }

    public PartitionSnapshot ToSnapshot() => new(Revision, Objects.Select(o => o.Json).ToList(), Kind, ApiVersion);

    public void Restore(PartitionSnapshot snapshot)
    {
        _objects.Clear();
        _keys.Clear();
        foreach (var json in snapshot.Objects)
        {
            var o = StoredObject.FromJson(json);
            o.Compact();
            _objects[o.Key] = o;
            _keys.Add(o.Key);
        }
        Revision = snapshot.Revision;
        Kind = snapshot.Kind;
        ApiVersion = snapshot.ApiVersion;
    }

    // ------------------------------------------------------------------ helpers

    public static string Timestamp(DateTimeOffset t) =>
        t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    public static string Rv(long revision) => revision.ToString(CultureInfo.InvariantCulture);

    /// <summary>The object's JSON with metadata.resourceVersion replaced (watch DELETED of an object that stops matching).</summary>
    public static string WithResourceVersion(StoredObject o, long revision)
    {
        var copy = o.MutableCopy();
        MetadataOf(copy)["resourceVersion"] = Rv(revision);
        return StoreJson.Write(copy);
    }

    private StoreFailure NotFound(string name) => new(404, "NotFound", $"{Resource} \"{name}\" not found");

    private StoreFailure Conflict(string name) => new(409, "Conflict",
        $"Operation cannot be fulfilled on {Resource} \"{name}\": the object has been modified; please apply your changes to the latest version and try again");

    private static StoreFailure Invalid(string message) => new(400, "BadRequest", message);

    private static JsonObject? Parse(string json)
    {
        try
        {
            return JsonNode.Parse(json) as JsonObject;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static JsonObject MetadataOf(JsonObject obj)
    {
        if (obj["metadata"] is JsonObject m) return m;
        var created = new JsonObject();
        obj["metadata"] = created;
        return created;
    }

    private static void CopyOrRemove(JsonObject from, JsonObject to, string property)
    {
        if (from[property] is { } value) to[property] = value.DeepClone();
        else to.Remove(property);
    }

    /// <summary>True when anything outside metadata and status differs (Kubernetes bumps generation then).</summary>
    private static bool SpecChanged(JsonObject old, JsonObject updated)
    {
        var keys = old.Select(p => p.Key).Concat(updated.Select(p => p.Key))
            .Where(k => k is not ("metadata" or "status")).Distinct(StringComparer.Ordinal);
        foreach (var k in keys)
            if (!JsonNode.DeepEquals(old[k], updated[k])) return true;
        return false;
    }

    private static string RandomSuffix()
    {
        const string alphabet = "bcdfghjklmnpqrstvwxz2456789"; // Kubernetes' generateName alphabet
        var b = new StringBuilder(5);
        for (var i = 0; i < 5; i++) b.Append(alphabet[Random.Shared.Next(alphabet.Length)]);
        return b.ToString();
    }
}

/// <summary>Opaque continue token: base64url of "v1|revision of the first page|last key served".</summary>
public sealed record ContinueToken(long Revision, string LastKey)
{
    public string Encode() =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes($"v1|{PartitionState.Rv(Revision)}|{LastKey}"))
            .TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static ContinueToken? TryDecode(string token)
    {
        try
        {
            var s = token.Replace('-', '+').Replace('_', '/');
            s = s.PadRight(s.Length + (4 - s.Length % 4) % 4, '=');
            var parts = Encoding.UTF8.GetString(Convert.FromBase64String(s)).Split('|', 3);
            if (parts.Length != 3 || parts[0] != "v1") return null;
            if (!long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var rev)) return null;
            return parts[2].Contains('/') ? new ContinueToken(rev, parts[2]) : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }
}

/// <summary>Namespace + label selector + field selector, as list and watch apply them.</summary>
public sealed class ObjectFilter
{
    private readonly string? _namespace;
    private readonly LabelSelector _labels;
    private readonly FieldSelector _fields;

    private ObjectFilter(string? ns, LabelSelector labels, FieldSelector fields)
    {
        _namespace = string.IsNullOrEmpty(ns) ? null : ns;
        _labels = labels;
        _fields = fields;
    }

    public bool SelectorsEmpty => _labels.IsEmpty && _fields.IsEmpty;

    /// <summary>
    /// The value of an equality requirement on spec.nodeName (a kubelet's watch), or null: only objects whose
    /// spec.nodeName is this value can match, so watches can be indexed by it (as Kubernetes' watch cache does).
    /// </summary>
    public string? NodeNameEquals => _fields.Requirements.FirstOrDefault(r => r.Equal && r.Path == "spec.nodeName")?.Value;

    /// <summary>Throws <see cref="SelectorException"/> for a malformed selector.</summary>
    public static ObjectFilter Create(string? ns, string? labelSelector, string? fieldSelector) =>
        new(ns, LabelSelector.Parse(labelSelector), FieldSelector.Parse(fieldSelector));

    public bool Matches(StoredObject o)
    {
        if (_namespace is not null && o.Namespace != _namespace) return false;
        if (!_labels.Matches(o.Labels)) return false;
        return _fields.IsEmpty || _fields.Matches(o.Node);
    }
}
