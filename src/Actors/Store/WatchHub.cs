using System.Text.Json.Nodes;
using Akka.Actor;
using static AkkaKube.Actors.Store.StoreProtocol;
using AkkaKube.Actors.Machinery;
using static AkkaKube.Actors.Machinery.WatchProtocol;

namespace AkkaKube.Actors.Store;

/// <summary>A message for one subscriber.</summary>
public readonly record struct Delivery(IActorRef To, object Message);

/// <summary>
/// The watch side of a partition, free of actor code: a bounded window of recent changes (for resumes)
/// and the registered watchers with their filters. Every method returns the messages to send.
/// </summary>
public sealed class WatchHub(string partition, int windowSize, long windowBytes = long.MaxValue)
{
    private readonly LinkedList<WatchChange> _window = new();
    private long _windowBytes;
    private readonly Dictionary<string, Watcher> _watchers = new(StringComparer.Ordinal);
    /// <summary>Watchers whose filter requires spec.nodeName == key (kubelets): a change is offered only to those of its old and new node.</summary>
    private readonly Dictionary<string, Dictionary<string, Watcher>> _byNodeName = new(StringComparer.Ordinal);
    /// <summary>Every other watcher: offered every change.</summary>
    private readonly Dictionary<string, Watcher> _unindexed = new(StringComparer.Ordinal);

    private sealed record Watcher(string Id, IActorRef Subscriber, ObjectFilter Filter, bool Bookmarks)
    {
        public string? NodeName { get; } = Filter.NodeNameEquals;
    }

    /// <summary>Changes after this revision are all in the window; older resumes get 410.</summary>
    public long WindowStart { get; private set; }

    public int WindowCount => _window.Count;
    public long WindowBytes => _windowBytes;

    private static long SizeOf(WatchChange c) => c.New.Json.Length + (c.Old?.Json.Length ?? 0);
    public int WatcherCount => _watchers.Count;

    public IEnumerable<IActorRef> Subscribers => _watchers.Values.Select(w => w.Subscriber).Distinct();

    /// <summary>Empties the window: only changes after <paramref name="revision"/> can be served.</summary>
    public void Reset(long revision)
    {
        _window.Clear();
        _windowBytes = 0;
        WindowStart = revision;
    }

    /// <summary>Records a change in the window and returns the events for the matching watchers.</summary>
    public List<Delivery> Publish(WatchChange change)
    {
        _window.AddLast(change);
        _windowBytes += SizeOf(change);
        // bounded in count and in bytes (the newest change always stays, whatever its size)
        while (_window.Count > windowSize || (_windowBytes > windowBytes && _window.Count > 1))
        {
            WindowStart = _window.First!.Value.Revision;
            _windowBytes -= SizeOf(_window.First.Value);
            _window.RemoveFirst();
        }
        var deliveries = new List<Delivery>();
        foreach (var w in _unindexed.Values)
            if (EventFor(w, change) is { } e)
                deliveries.Add(new Delivery(w.Subscriber, e));
        if (_byNodeName.Count > 0)
        {
            var newNode = FieldSelector.ValueAt(change.New.Node, "spec.nodeName");
            var oldNode = change.Old is null ? null : FieldSelector.ValueAt(change.Old.Node, "spec.nodeName");
            Offer(newNode, change, deliveries);
            if (oldNode is not null && oldNode != newNode) Offer(oldNode, change, deliveries);
        }
        Compact(change);
        return deliveries;
    }

    private void Offer(string nodeName, WatchChange change, List<Delivery> deliveries)
    {
        if (!_byNodeName.TryGetValue(nodeName, out var watchers)) return;
        foreach (var w in watchers.Values)
            if (EventFor(w, change) is { } e)
                deliveries.Add(new Delivery(w.Subscriber, e));
    }

    private void Add(Watcher w)
    {
        Remove(w.Id);
        _watchers[w.Id] = w;
        if (w.NodeName is { } node)
        {
            if (!_byNodeName.TryGetValue(node, out var set)) _byNodeName[node] = set = new(StringComparer.Ordinal);
            set[w.Id] = w;
        }
        else _unindexed[w.Id] = w;
    }

    private Watcher? Remove(string id)
    {
        if (!_watchers.Remove(id, out var w)) return null;
        if (w.NodeName is { } node && _byNodeName.TryGetValue(node, out var set))
        {
            set.Remove(id);
            if (set.Count == 0) _byNodeName.Remove(node);
        }
        else _unindexed.Remove(id);
        return w;
    }

    /// <summary>
    /// Registers a watch at <paramref name="currentRevision"/>: WatchStarted and the replay from the window,
    /// or a 400 / 410 WatchEnded (then nothing is registered).
    /// </summary>
    public List<Delivery> Start(StartWatch s, long currentRevision)
    {
        ObjectFilter filter;
        try
        {
            filter = ObjectFilter.Create(s.Namespace, s.LabelSelector, s.FieldSelector);
        }
        catch (SelectorException e)
        {
            return [new Delivery(s.Subscriber, new WatchEnded(s.WatchId, 400, "BadRequest", e.Message))];
        }
        // A resourceVersion this partition has not reached: Kubernetes' watch cache ends such a watch with
        // "Too large resource version" (504 Timeout, retry after 1 s); client-go's reflector then re-lists.
        if (s.FromRevision > currentRevision)
            return [new Delivery(s.Subscriber, new WatchEnded(s.WatchId, 504, "Timeout",
                $"Too large resource version: {s.FromRevision}, current: {currentRevision}"))];
        // Any revision ≥ 0 is exact, 0 too (a fresh partition's list): only FromNow starts at the current revision.
        var replay = s.FromRevision >= 0;
        if (replay && s.FromRevision < WindowStart)
            return [new Delivery(s.Subscriber, new WatchEnded(s.WatchId, 410, "Expired",
                $"too old resource version: {s.FromRevision} ({WindowStart})"))];

        var w = new Watcher(s.WatchId, s.Subscriber, filter, s.Bookmarks);
        Add(w);
        var from = replay ? s.FromRevision : currentRevision;
        var deliveries = new List<Delivery> { new(s.Subscriber, new WatchStarted(s.WatchId, Math.Max(from, currentRevision))) };
        if (replay)
            foreach (var change in _window)
            {
                if (change.Revision > from && change.Revision <= currentRevision && EventFor(w, change) is { } e)
                    deliveries.Add(new Delivery(s.Subscriber, e));
                Compact(change);
            }
        return deliveries;
    }

    /// <summary>Removes a watch; returns its subscriber (null when unknown).</summary>
    public IActorRef? Cancel(string watchId) => Remove(watchId)?.Subscriber;

    /// <summary>Drops every watch of a dead subscriber; returns how many.</summary>
    public int RemoveSubscriber(IActorRef subscriber)
    {
        var ids = _watchers.Values.Where(w => w.Subscriber.Equals(subscriber)).Select(w => w.Id).ToList();
        foreach (var id in ids) Remove(id);
        return ids.Count;
    }

    public bool HasSubscriber(IActorRef subscriber) => _watchers.Values.Any(w => w.Subscriber.Equals(subscriber));

    /// <summary>BOOKMARK events for the watchers that asked for them.</summary>
    public List<Delivery> Bookmarks(long revision, string? kind, string? apiVersion)
    {
        var deliveries = new List<Delivery>();
        string? json = null;
        foreach (var w in _watchers.Values.Where(w => w.Bookmarks))
        {
            json ??= new JsonObject
            {
                ["kind"] = kind,
                ["apiVersion"] = apiVersion,
                ["metadata"] = new JsonObject { ["resourceVersion"] = PartitionState.Rv(revision) },
            }.ToJsonString();
            deliveries.Add(new Delivery(w.Subscriber, new WatchEvent(w.Id, PartitionState.Bookmark, json, revision)));
        }
        return deliveries;
    }

    /// <summary>Ends every watch (the partition stops); clients re-list.</summary>
    public List<Delivery> EndAll(int code, string reason, string message)
    {
        var deliveries = _watchers.Values.Select(w => new Delivery(w.Subscriber, new WatchEnded(w.Id, code, reason, message))).ToList();
        _watchers.Clear();
        _byNodeName.Clear();
        _unindexed.Clear();
        return deliveries;
    }

    public string Partition => partition;

    /// <summary>Field selectors parse objects; the window keeps only their JSON text.</summary>
    private static void Compact(WatchChange change)
    {
        change.New.Compact();
        change.Old?.Compact();
    }

    /// <summary>
    /// What one watcher sees of a change, as Kubernetes' watch cache does it: an object that stops matching
    /// arrives as DELETED (its previous content at the new revision), one that starts matching as ADDED.
    /// </summary>
    private static WatchEvent? EventFor(Watcher w, WatchChange c)
    {
        var newMatches = w.Filter.Matches(c.New);
        var oldMatches = c.Old is not null && w.Filter.Matches(c.Old);
        switch (c.Type)
        {
            case PartitionState.Added:
                return newMatches ? new WatchEvent(w.Id, PartitionState.Added, c.New.Json, c.Revision) : null;
            case PartitionState.Deleted:
                return oldMatches || (c.Old is null && newMatches)
                    ? new WatchEvent(w.Id, PartitionState.Deleted, c.New.Json, c.Revision)
                    : null;
            default:
                if (oldMatches && newMatches) return new WatchEvent(w.Id, PartitionState.Modified, c.New.Json, c.Revision);
                if (newMatches) return new WatchEvent(w.Id, PartitionState.Added, c.New.Json, c.Revision);
                if (oldMatches)
                    return new WatchEvent(w.Id, PartitionState.Deleted, PartitionState.WithResourceVersion(c.Old!, c.Revision), c.Revision);
                return null;
        }
    }
}
