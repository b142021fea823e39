using System.Text.Json.Nodes;
using Akka.Actor;
using Akka.Event;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.Client;

/// <summary>
/// Messages an <see cref="Informer"/> sends to its subscribers (local only, never serialized).
/// </summary>
public static class InformerProtocol
{
    /// <summary>
    /// The cache after a (re)list, or on subscription to an informer that has listed; subscribers reconcile everything
    /// in it. <paramref name="Store"/> is the same cache with its indexes.
    /// </summary>
    public sealed record Synced(ApiResource Resource, IReadOnlyDictionary<string, JsonObject> Objects, string ResourceVersion, InformerStore Store);

    /// <summary>Each event carries the store as it is after the event.</summary>
    public sealed record Added(ApiResource Resource, string Key, JsonObject Object, InformerStore Store);

    public sealed record Updated(ApiResource Resource, string Key, JsonObject Old, JsonObject New, InformerStore Store);

    public sealed record Deleted(ApiResource Resource, string Key, JsonObject LastKnown, InformerStore Store);

    /// <summary>Adds a subscriber (death-watched); one already subscribed (a restarted actor) gets <see cref="Synced"/> again.</summary>
    public sealed record Subscribe(IActorRef Subscriber);
}

public sealed record InformerOptions(
    ApiResource Resource,
    string? Namespace = null,
    string? LabelSelector = null,
    string? FieldSelector = null)
{
    /// <summary>Back-off before a re-list after a failure: doubles from Min to Max.</summary>
    public TimeSpan MinRetry { get; init; } = TimeSpan.FromMilliseconds(200);
    /// <summary>Kept short: after a control-plane node dies, its store partitions answer again within seconds.</summary>
    public TimeSpan MaxRetry { get; init; } = TimeSpan.FromSeconds(1);
    /// <summary>A watch whose partition has not confirmed it (WatchStarted) within this long is given up: re-list.</summary>
    public TimeSpan WatchStartTimeout { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>
    /// Objects per list page (client-go's pager: 500); the informer follows the continue tokens to the end.
    /// 0 lists everything in one reply.
    /// </summary>
    public int PageSize { get; init; } = DefaultPageSize;

    public const int DefaultPageSize = 500;
}

/// <summary>
/// List (in pages of <see cref="InformerOptions.PageSize"/>, following continue tokens as client-go's pager does; a
/// token that expired mid-way falls back to one full list), then watch from the list's resourceVersion, keeping a cache keyed "namespace/name" (or "name"),
/// exactly as client-go's reflector does: a watch that ends (410 Expired, a moved store partition, an
/// apiserver lost) leads to a re-list, whose differences to the cache are delivered as Added/Updated/Deleted
/// before <see cref="InformerProtocol.Synced"/>. Every subscriber receives every event; a process shares one
/// informer per resource between its controllers through <see cref="SharedInformers"/>.
/// A partition that dies with its node (kill -9) cannot end its watches: the informer death-watches the
/// partition that confirmed its watch (the sender of WatchStarted) and re-lists when it terminates, and it
/// re-lists when no partition confirms a watch in time (the StartWatch was lost on the way).
/// </summary>
public sealed class Informer : ReceiveActor, IWithTimers
{
    private const string RelistTimer = "relist";
    private const string WatchStartTimer = "watch-start";
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly IKubeApi _api;
    private readonly InformerOptions _options;
    private readonly HashSet<IActorRef> _subscribers = [];
    private InformerStore _store = InformerStore.Empty;
    private string _watchId = "";
    private string _resourceVersion = "";
    private TimeSpan _retry;
    private bool _synced;
    /// <summary>The store partition serving the current watch (death-watched); null until it confirms.</summary>
    private IActorRef? _partition;
    private bool _watchConfirmed;
    private int _watchGeneration;

    public ITimerScheduler Timers { get; set; } = null!;

    /// <param name="subscribers">Who receives the events from the start (a shared informer's factory adds more with
    /// <see cref="InformerProtocol.Subscribe"/>).</param>
    public Informer(IKubeApi api, InformerOptions options, IEnumerable<IActorRef> subscribers)
    {
        _api = api;
        _options = options;
        foreach (var subscriber in subscribers) Add(subscriber);
        _retry = options.MinRetry;
        Listing();
    }

    /// <summary>An informer delivering to <paramref name="owner"/> only; processes share informers through <see cref="SharedInformers"/>.</summary>
    public static Props Props(IKubeApi api, InformerOptions options, IActorRef owner) => Props(api, options, [owner]);

    public static Props Props(IKubeApi api, InformerOptions options, IReadOnlyCollection<IActorRef> subscribers) =>
        Akka.Actor.Props.Create(() => new Informer(api, options, subscribers));

    private void Add(IActorRef subscriber)
    {
        if (_subscribers.Add(subscriber)) Context.Watch(subscriber);
    }

    private void Publish(object message)
    {
        foreach (var subscriber in _subscribers) subscriber.Tell(message);
    }

    public static string KeyOf(JsonObject obj)
    {
        var meta = obj["metadata"] as JsonObject;
        var ns = meta?["namespace"] is JsonValue n && n.TryGetValue<string>(out var nsText) ? nsText : null;
        var name = meta?["name"] is JsonValue v && v.TryGetValue<string>(out var nameText) ? nameText : "";
        return string.IsNullOrEmpty(ns) ? name : $"{ns}/{name}";
    }

    public static string ResourceVersionOf(JsonObject obj) =>
        (obj["metadata"] as JsonObject)?["resourceVersion"]?.GetValue<string>() ?? "";

    protected override void PreStart()
    {
        InformerHealth.Started(Self, _options.Resource.Partition);
        StartList();
    }

    protected override void PostStop()
    {
        InformerHealth.Stopped(Self);
        if (_watchId.Length > 0)
            _ = _api.CancelWatchAsync(_options.Resource, _watchId);
    }

    private sealed record PageDone(ObjectList Page, bool Continued);
    private sealed record ContinueFailed(Exception Error);
    private sealed record WatchOpened(string WatchId);
    private sealed record Failed(Exception Error);
    private sealed class Relist { public static readonly Relist Instance = new(); }
    private sealed record WatchStartOverdue(int Generation);

    private bool _listInFlight;

    private void StartList()
    {
        // One list at a time: a watch end and its partition's termination both ask for a re-list.
        if (_listInFlight) return;
        _listInFlight = true;
        Timers.Cancel(RelistTimer);
        _pages.Clear();
        RequestPage(null, _options.PageSize);
    }

    /// <summary>Items of the pages listed so far; the list's resourceVersion is its first page's.</summary>
    private readonly List<JsonObject> _pages = [];
    private string _listRevision = "";

    private void RequestPage(string? continueToken, int limit)
    {
        var options = new ListOptions(_options.LabelSelector, _options.FieldSelector, limit, continueToken);
        var continued = continueToken is not null;
        _api.ListAsync(_options.Resource, _options.Namespace, options)
            .PipeTo(Self, success: l => new PageDone(l, continued), failure: e => continued ? new ContinueFailed(e) : new Failed(e));
    }

    private void Listing()
    {
        Receive<PageDone>(done =>
        {
            if (!done.Continued) _listRevision = done.Page.ResourceVersion;
            _pages.AddRange(done.Page.Items);
            if (!string.IsNullOrEmpty(done.Page.Continue))
            {
                RequestPage(done.Page.Continue, _options.PageSize);
                return;
            }
            var items = _pages.ToList();
            _pages.Clear();
            Listed(new ObjectList(items, _listRevision, null));
        });
        Receive<ContinueFailed>(failed =>
        {
            if (failed.Error is KubeApiException { Code: 410 })
            {
                // client-go's pager (FullListIfExpired): the pages so far are of a revision the store no longer
                // serves consistently; one list without paging replaces them.
                _log.Info("continue token of a paged list of {0} expired ({1}); listing in full", _options.Resource.Partition, failed.Error.Message);
                _pages.Clear();
                RequestPage(null, 0);
                return;
            }
            Self.Tell(new Failed(failed.Error));
        });
        Receive<InformerProtocol.Subscribe>(subscribe =>
        {
            Add(subscribe.Subscriber);
            if (_synced)
                subscribe.Subscriber.Tell(new InformerProtocol.Synced(_options.Resource, _store.Objects, _resourceVersion, _store));
        });
        Receive<WatchOpened>(opened =>
        {
            _watchId = opened.WatchId;
            _retry = _options.MinRetry;
        });
        Receive<WatchProtocol.WatchStarted>(started =>
        {
            if (started.WatchId != _watchId && _watchId.Length > 0) return;
            _watchConfirmed = true;
            Timers.Cancel(WatchStartTimer);
            // The partition is the sender; a test double may send none.
            if (Sender.IsNobody() || Sender.Equals(Context.System.DeadLetters) || Sender.Equals(_partition)) return;
            if (_partition is not null) Context.Unwatch(_partition);
            _partition = Sender;
            Context.Watch(_partition);
        });
        Receive<WatchStartOverdue>(overdue =>
        {
            if (overdue.Generation != _watchGeneration || _watchConfirmed) return;
            _log.Warning("watch of {0} not confirmed by its store partition within {1}; re-listing", _options.Resource.Partition, _options.WatchStartTimeout);
            CancelCurrentWatch();
            StartList();
        });
        Receive<Terminated>(t =>
        {
            if (_subscribers.Remove(t.ActorRef)) return;
            if (!t.ActorRef.Equals(_partition)) return;
            _partition = null;
            _log.Info("store partition of {0} terminated (its node left or died); re-listing", _options.Resource.Partition);
            _watchId = "";
            _watchConfirmed = false;
            _watchGeneration++;
            Timers.Cancel(WatchStartTimer);
            StartList();
        });
        Receive<WatchProtocol.WatchEvent>(OnEvent);
        Receive<WatchProtocol.WatchEnded>(ended =>
        {
            if (ended.WatchId != _watchId && _watchId.Length > 0) return;
            _log.Debug("watch of {0} ended ({1} {2}); re-listing", _options.Resource.Partition, ended.Code, ended.Reason);
            _watchId = "";
            _watchConfirmed = false;
            _watchGeneration++;
            Timers.Cancel(WatchStartTimer);
            StartList();
        });
        Receive<Failed>(failed =>
        {
            _listInFlight = false;
            Timers.Cancel(WatchStartTimer);
            _watchGeneration++;
            _log.Warning("list/watch of {0} failed: {1}; retrying in {2}", _options.Resource.Partition, failed.Error.Message, _retry);
            Timers.StartSingleTimer(RelistTimer, Relist.Instance, _retry);
            _retry = TimeSpan.FromTicks(Math.Min(_retry.Ticks * 2, _options.MaxRetry.Ticks));
        });
        Receive<Relist>(_ => StartList());
    }

    /// <summary>A whole list (every page): the cache takes it, then the watch starts from its resourceVersion.</summary>
    private void Listed(ObjectList list)
    {
        _listInFlight = false;
        var fresh = new Dictionary<string, JsonObject>(StringComparer.Ordinal);
        foreach (var item in list.Items)
            fresh[KeyOf(item)] = item;
        if (!_synced)
            _store = InformerStore.Of(fresh.Select(kv => { InformerStore.Materialize(kv.Value); return kv; }));
        else
        {
            // Deliver what changed while we were not watching (each event with the store after it), then the
            // whole cache; unchanged objects keep the tree subscribers already hold.
            foreach (var (key, old) in _store.Objects)
                if (!fresh.ContainsKey(key))
                {
                    _store = _store.Remove(key);
                    Publish(new InformerProtocol.Deleted(_options.Resource, key, old, _store));
                }
            foreach (var (key, obj) in fresh)
            {
                if (!_store.TryGet(key, out var old))
                {
                    InformerStore.Materialize(obj);
                    _store = _store.Set(key, obj);
                    Publish(new InformerProtocol.Added(_options.Resource, key, obj, _store));
                }
                else if (ResourceVersionOf(old) != ResourceVersionOf(obj))
                {
                    InformerStore.Materialize(obj);
                    _store = _store.Set(key, obj);
                    Publish(new InformerProtocol.Updated(_options.Resource, key, old, obj, _store));
                }
            }
        }
        _resourceVersion = list.ResourceVersion;
        _synced = true;
        InformerHealth.Synced(Self);
        Publish(new InformerProtocol.Synced(_options.Resource, _store.Objects, _resourceVersion, _store));
        var options = new ListOptions(_options.LabelSelector, _options.FieldSelector);
        _watchId = "";
        _watchConfirmed = false;
        _watchGeneration++;
        Timers.StartSingleTimer(WatchStartTimer, new WatchStartOverdue(_watchGeneration), _options.WatchStartTimeout);
        _api.WatchAsync(_options.Resource, _options.Namespace, Self, _resourceVersion, options)
            .PipeTo(Self, success: id => new WatchOpened(id), failure: e => new Failed(e));
    }

    private void CancelCurrentWatch()
    {
        if (_watchId.Length > 0) _ = _api.CancelWatchAsync(_options.Resource, _watchId);
        _watchId = "";
        _watchGeneration++;
    }

    private void OnEvent(WatchProtocol.WatchEvent e)
    {
        if (e.WatchId != _watchId && _watchId.Length > 0) return;
        if (e.Type == "BOOKMARK") return;
        if (JsonNode.Parse(e.ObjectJson) is not JsonObject obj) return;
        InformerStore.Materialize(obj);
        var key = KeyOf(obj);
        _resourceVersion = e.Revision.ToString(System.Globalization.CultureInfo.InvariantCulture);
        // The later pages of a paged list read the store as it was then, newer than the first page's revision the
        // watch replays from: an event older than the cached object is already in the cache.
        if (_store.TryGet(key, out var cached) && long.TryParse(ResourceVersionOf(cached), System.Globalization.NumberStyles.None,
                System.Globalization.CultureInfo.InvariantCulture, out var cachedRevision) && cachedRevision >= e.Revision)
            return;
        switch (e.Type)
        {
            case "ADDED" or "MODIFIED":
                var existed = _store.TryGet(key, out var old);
                _store = _store.Set(key, obj);
                Publish(existed
                    ? new InformerProtocol.Updated(_options.Resource, key, old, obj, _store)
                    : new InformerProtocol.Added(_options.Resource, key, obj, _store));
                break;
            case "DELETED":
                _store = _store.Remove(key);
                Publish(new InformerProtocol.Deleted(_options.Resource, key, obj, _store));
                break;
        }
    }
}
