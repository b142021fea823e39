using System.Text.Json.Nodes;
using Akka.Actor;
using Akka.Event;
using AkkaKube.Actors.Chaos;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.Controllers;

public static class ControllerProtocol
{
    /// <summary>Sent by a controller to its parent on every (re)start, so the manager can count restarts.</summary>
    public sealed record Started(string Controller);

    /// <summary>Asked by the controller-manager for inspection; every controller answers <see cref="Info"/>.</summary>
    public sealed class GetInfo
    {
        public static readonly GetInfo Instance = new();
    }

    /// <summary>
    /// Synced: every informer has listed since the last (re)start; SyncedAt: when that happened; LastSync: the end of the
    /// last reconcile (workqueue controllers) or monitor pass (node lifecycle); Queued/Failing: keys waiting / in retry back-off.
    /// </summary>
    public sealed record Info(bool Synced, DateTime? SyncedAt, DateTime? LastSync, int Queued, int Failing);
}

/// <summary>
/// A reconcile step planned on the actor thread from the informer caches; the returned delegate runs the API
/// calls asynchronously and must not touch the caches (they may change meanwhile). Returning a delay requeues
/// the key after it (e.g. minReadySeconds, progress deadlines).
/// </summary>
public delegate Task<TimeSpan?> ReconcileAction(IKubeApi api);

/// <summary>
/// The shape of every controller, as Kubernetes' workqueue-based controllers: informers keep caches; event
/// handlers only turn events into keys; a de-duplicated key set feeds reconciles (at most one per key at a
/// time, up to <see cref="ControllerSettings.Workers"/> in parallel); failures requeue the key with
/// exponential back-off on a timer. Informers are the process's shared ones (<see cref="SharedInformers"/>); on (re)start
/// the controller is handed their whole caches again and reconciles every key, so a crash loses nothing.
/// </summary>
public abstract class ControllerBase : ReceiveActor, IWithTimers, ITakesInjectedCrashes
{
    protected readonly ILoggingAdapter Log = Context.GetLogger();
    protected readonly IKubeApi Api;
    protected readonly ControllerSettings Settings;
    private readonly Dictionary<ApiResource, InformerStore> _stores = new();
    private readonly HashSet<ApiResource> _synced = [];
    private readonly HashSet<string> _queued = new(StringComparer.Ordinal);
    private readonly Queue<string> _queue = new();
    private readonly HashSet<string> _processing = new(StringComparer.Ordinal);
    private readonly HashSet<string> _dirty = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _failures = new(StringComparer.Ordinal);
    private DateTime? _syncedAt, _lastSync;
    protected IActorRef Recorder = ActorRefs.Nobody;
    private readonly WorkqueueMetrics _metrics;

    public ITimerScheduler Timers { get; set; } = null!;

    private sealed record Done(string Key, TimeSpan? RequeueAfter);
    private sealed record Failed(string Key, Exception Error);
    private sealed record Requeue(string Key);

    protected ControllerBase(IKubeApi api, ControllerSettings settings)
    {
        Api = api;
        Settings = settings;
        _metrics = new WorkqueueMetrics(() => Name);
        Receive<InformerProtocol.Synced>(s =>
        {
            _stores[s.Resource] = s.Store;
            var first = _synced.Add(s.Resource);
            Guarded(s.Resource, "", null, () => OnSynced(s.Resource, first));
            if (AllSynced)
            {
                _syncedAt ??= DateTime.UtcNow;
                Pump();
            }
        });
        Receive<InformerProtocol.Added>(e =>
        {
            _stores[e.Resource] = e.Store;
            Guarded(e.Resource, e.Key, e.Object, () => OnAdded(e.Resource, e.Key, e.Object));
            Pump();
        });
        Receive<InformerProtocol.Updated>(e =>
        {
            _stores[e.Resource] = e.Store;
            Guarded(e.Resource, e.Key, e.New, () => OnUpdated(e.Resource, e.Key, e.Old, e.New));
            Pump();
        });
        Receive<InformerProtocol.Deleted>(e =>
        {
            _stores[e.Resource] = e.Store;
            Guarded(e.Resource, e.Key, e.LastKnown, () => OnDeleted(e.Resource, e.Key, e.LastKnown));
            Pump();
        });
        Receive<Done>(d =>
        {
            _lastSync = DateTime.UtcNow;
            _processing.Remove(d.Key);
            _metrics.Finished(d.Key, failed: false);
            _failures.Remove(d.Key);
            if (d.RequeueAfter is { } after) Timers.StartSingleTimer("requeue/" + d.Key, new Requeue(d.Key), after);
            if (_dirty.Remove(d.Key)) Enqueue(d.Key);
            Pump();
        });
        Receive<Failed>(f =>
        {
            _processing.Remove(f.Key);
            _metrics.Finished(f.Key, failed: true);
            _dirty.Remove(f.Key);
            var n = _failures.GetValueOrDefault(f.Key) + 1;
            _failures[f.Key] = n;
            var delay = Backoff(n);
            var level = f.Error is KubeApiException { IsConflict: true } ? LogLevel.DebugLevel : LogLevel.WarningLevel;
            Log.Log(level, "{0}: reconcile of {1} failed ({2}); retry #{3} in {4}", [Name, f.Key, f.Error.Message, n, delay]);
            // Not the API's refusal but this controller failing on the object (a poisoned object): say so on the
            // object, at the first failure and then every tenth, so `kubectl describe` shows why nothing happens.
            if (f.Error is not KubeApiException && (n == 1 || n % 10 == 0)
                && Watched.FirstOrDefault() is { } primary && CacheOf(primary).TryGetValue(f.Key, out var poisoned))
                Record(poisoned, "Warning", "ReconcileError", $"{Name}: {f.Error.Message} (retry #{n} in {delay})");
            Timers.StartSingleTimer("requeue/" + f.Key, new Requeue(f.Key), delay);
            Pump();
        });
        Receive<Requeue>(r => { Enqueue(r.Key); Pump(); });
        Receive<ChaosProtocol.InjectCrash>(_ => throw new InjectedCrashException($"controller '{Name}'"));
        Receive<ChaosProtocol.GetResync>(_ => Sender.Tell(new ChaosProtocol.Resynced(AllSynced
            ? $"re-listed {string.Join(", ", Watched.Select(r => $"{CacheOf(r).Count} {r.Partition}"))} (informers synced {_syncedAt:HH:mm:ss.fff}Z)"
            : "informers still listing")));
        Receive<ControllerProtocol.GetInfo>(_ => Sender.Tell(new ControllerProtocol.Info(AllSynced, _syncedAt, _lastSync ?? _syncedAt,
            _queue.Count + _processing.Count, _failures.Count)));
    }

    /// <summary>The controller's name (child actor name, HOCON block, log prefix).</summary>
    protected abstract string Name { get; }

    /// <summary>source.component of this controller's events, e.g. "replicaset-controller".</summary>
    protected abstract string Component { get; }

    /// <summary>The resources this controller watches (one informer each).</summary>
    protected abstract IEnumerable<ApiResource> Watched { get; }

    /// <summary>The informer a watched resource comes from (all objects by default; a controller may narrow it with a selector).</summary>
    protected virtual InformerOptions InformerFor(ApiResource resource) => new(resource);

    /// <summary>Plans the reconcile of one key from the caches (actor thread); null = nothing to do.</summary>
    protected abstract ReconcileAction? Plan(string key);

    protected virtual void OnSynced(ApiResource resource, bool first) { }
    protected virtual void OnAdded(ApiResource resource, string key, JsonObject obj) { }
    protected virtual void OnUpdated(ApiResource resource, string key, JsonObject old, JsonObject obj) { }
    protected virtual void OnDeleted(ApiResource resource, string key, JsonObject lastKnown) { }

    protected bool AllSynced => Watched.All(_synced.Contains);

    /// <summary>The shared informer's cache of a watched resource, as of the last event this controller handled. Read only.</summary>
    protected IReadOnlyDictionary<string, JsonObject> CacheOf(ApiResource resource) => StoreOf(resource).Objects;

    /// <summary>The same cache with its indexes (<see cref="InformerIndex"/>: by namespace, owner uid, node).</summary>
    protected InformerStore StoreOf(ApiResource resource) => _stores.GetValueOrDefault(resource, InformerStore.Empty);

    protected TimeSpan Backoff(int failures)
    {
        var d = Settings.MinRetry;
        for (var i = 1; i < failures && d < Settings.MaxRetry; i++) d += d;
        return d > Settings.MaxRetry ? Settings.MaxRetry : d;
    }

    protected void Enqueue(string key)
    {
        if (_processing.Contains(key)) { _dirty.Add(key); return; }
        if (!_queued.Add(key)) return;
        _queue.Enqueue(key);
        _metrics.Added(key, _queue.Count);
    }

    protected void Record(JsonObject involved, string type, string reason, string message) =>
        Recorder.Tell(new EventRecorderProtocol.Record(InvolvedObject.Of(involved), type, reason, message));

    /// <summary>
    /// Runs an informer event handler; one that throws on an object is logged and evented and the object skipped,
    /// instead of crashing the controller (whose restart would re-list, meet the same object and crash again).
    /// </summary>
    private void Guarded(ApiResource resource, string key, JsonObject? obj, Action handler)
    {
        try
        {
            handler();
        }
        catch (Exception e) when (e is not InjectedCrashException)
        {
            Log.Warning("{0}: skipping {1} {2}: {3}: {4}", Name, resource.Partition, key, e.GetType().Name, e.Message);
            if (obj is not null) Record(obj, "Warning", "ReconcileError", $"{Name} cannot handle this object: {e.Message}");
        }
    }

    private void Pump()
    {
        if (!AllSynced) return;
        while (_processing.Count < Settings.Workers && _queue.TryDequeue(out var key))
        {
            _queued.Remove(key);
            _metrics.Started(key, _queue.Count);
            ReconcileAction? action;
            try
            {
                action = Plan(key);
            }
            catch (Exception e) when (e is not InjectedCrashException)
            {
                Self.Tell(new Failed(key, e));
                _processing.Add(key);
                continue;
            }
            if (action is null)
            {
                _metrics.Finished(key, failed: false);
                continue;
            }
            _processing.Add(key);
            RunAsync(action, key).PipeTo(Self, success: after => new Done(key, after), failure: e => new Failed(key, e is AggregateException a ? a.InnerException ?? a : e));
        }
    }

    private async Task<TimeSpan?> RunAsync(ReconcileAction action, string key) => await action(Api).ConfigureAwait(false);

    protected override void PreStart()
    {
        Recorder = Context.ActorOf(EventRecorder.Props(Api, Component), "events");
        var informers = SharedInformers.Get(Context.System);
        foreach (var r in Watched) informers.Subscribe(Api, InformerFor(r), Self);
        Context.Parent.Tell(new ControllerProtocol.Started(Name));
    }

    // Metadata helpers shared by controllers.
    public static string? Str(JsonNode? n) => n is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
    public static long Long(JsonNode? n, long fallback = 0) => n is JsonValue v ? (v.TryGetValue<long>(out var l) ? l : v.TryGetValue<int>(out var i) ? i : fallback) : fallback;
    public static JsonObject Meta(JsonObject o) => o["metadata"] as JsonObject ?? new JsonObject();
    public static string NameOf(JsonObject o) => Str(Meta(o)["name"]) ?? "";
    public static string? NamespaceOf(JsonObject o) => Str(Meta(o)["namespace"]);
    public static string UidOf(JsonObject o) => Str(Meta(o)["uid"]) ?? "";
    public static bool IsDeleting(JsonObject o) => Meta(o)["deletionTimestamp"] is not null;
    public static DateTime CreatedAt(JsonObject o) =>
        DateTime.TryParse(Str(Meta(o)["creationTimestamp"]), System.Globalization.CultureInfo.InvariantCulture,
            System.Globalization.DateTimeStyles.AdjustToUniversal | System.Globalization.DateTimeStyles.AssumeUniversal, out var t) ? t : DateTime.MinValue;

    /// <summary>The controller ownerReference (controller=true), if any.</summary>
    public static JsonObject? ControllerRef(JsonObject o) =>
        (Meta(o)["ownerReferences"] as JsonArray)?.OfType<JsonObject>().FirstOrDefault(r => r["controller"]?.GetValue<bool>() == true);

    public static JsonObject OwnerRef(JsonObject owner, string apiVersion, string kind) => new()
    {
        ["apiVersion"] = apiVersion,
        ["kind"] = kind,
        ["name"] = NameOf(owner),
        ["uid"] = UidOf(owner),
        ["controller"] = true,
        ["blockOwnerDeletion"] = true,
    };
}
