using Akka.Actor;
using Akka.Cluster.Hosting;
using Akka.Cluster.Sharding;
using Akka.Event;
using Akka.Hosting;
using Akka.Persistence;
using AkkaKube.Actors.Cluster;
using static AkkaKube.Actors.Store.StoreProtocol;

namespace AkkaKube.Actors.Store;

/// <summary>
/// One store partition: an event-sourced actor over <see cref="PartitionState"/> and <see cref="WatchHub"/>.
/// Group commit: while one journal write is in flight, commands queue; when it completes, the whole queue is
/// decided in order into one batch, persisted as one journal row (<see cref="StoreProtocol.StoreEventBatch"/>). Every reply (reads too) is sent in command order and only after
/// the events it depends on are persisted, so no client reads a write before it was acknowledged.
/// </summary>
public sealed class StoreActor : UntypedPersistentActor, IWithTimers, Chaos.ITakesInjectedCrashes, Chaos.IRecreatedWhenStopped
{
    private const string BookmarkTimer = "bookmarks";

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly string _partition;
    private readonly StoreSettings _settings;
    private readonly PartitionState _state;
    private readonly WatchHub _hub;
    private readonly Queue<(IPartitionCommand Command, IActorRef Sender)> _queue = new();
    private List<BatchItem>? _inFlight;
    private long _lastSnapshotRevision;
    private long? _snapshotSequenceNr;
    private DateTime? _snapshotTime;
    private long _eventsSinceStart;
    private bool _stopRequested;
    private bool _crashRequested;
    private long _replayed;
    private readonly DateTime _startedAt = DateTime.UtcNow;
    private DateTime? _recoveredAt;
    private string _resynced = "recovering from the journal";
    private readonly StoreMetrics.Partition _metrics;
    /// <summary>Encryption at rest of this partition's resource (--encryption-provider-config), or null: stored as is.</summary>
    private readonly Security.StorageTransformer? _atRest;

    /// <summary>Sharding's hand-off message: stop once the queue is drained and the write in flight is done.</summary>
    public sealed class Stop
    {
        public static readonly Stop Instance = new();
        private Stop() { }
    }

    private sealed class BookmarkTick
    {
        public static readonly BookmarkTick Instance = new();
        private BookmarkTick() { }
    }

    private abstract record BatchItem;
    private sealed record ReplyItem(IActorRef Sender, object Reply, IReadOnlyList<WatchChange> Changes) : BatchItem;
    private sealed record WatchItem(StartWatch Start, long Revision) : BatchItem;

    public StoreActor(string partition, StoreSettings settings, Func<DateTimeOffset>? clock = null)
    {
        _partition = partition;
        _settings = settings;
        _state = new PartitionState(partition, clock) { MaxObjectWireBytes = settings.MaxObjectWireBytes };
        _hub = new WatchHub(partition, settings.WatchWindow, settings.WatchWindowBytes);
        PersistenceId = PersistenceIdOf(partition);
        _metrics = StoreMetrics.For(partition);
        _atRest = settings.Encryption?.For(partition);
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public override string PersistenceId { get; }

    public static string PersistenceIdOf(string partition) => "store-" + partition;

    public static Props Props(string partition, StoreSettings settings, Func<DateTimeOffset>? clock = null) =>
        Akka.Actor.Props.Create(() => new StoreActor(partition, settings, clock));

    // ------------------------------------------------------------------ recovery

    protected override void OnRecover(object message)
    {
        switch (message)
        {
            case SnapshotOffer { Snapshot: PartitionSnapshot s } offer:
                _snapshotSequenceNr = offer.Metadata.SequenceNr;
                _snapshotTime = offer.Metadata.Timestamp;
                _state.Restore(FromStorage(s));
                _hub.Reset(s.Revision);
                _lastSnapshotRevision = s.Revision;
                break;
            case IStoreEvent e:
                _replayed++;
                _hub.Publish(_state.Apply(FromStorage(e)));
                break;
            case StoreEventBatch b:
                foreach (var e in b.Unwrap())
                {
                    _replayed++;
                    _hub.Publish(_state.Apply(FromStorage(e)));
                }
                break;
            case RecoveryCompleted:
                _recoveredAt = DateTime.UtcNow;
                CommittedRevision = _state.Revision;
                _metrics.Recovered(_state.Count, _state.Revision);
                _resynced = $"recovered partition {_partition} from the journal: revision {_state.Revision}, {_state.Count} objects ("
                            + (_snapshotSequenceNr is { } snap ? $"snapshot at seq-nr {snap} + " : "no snapshot, ")
                            + $"{_replayed} events replayed)";
                _log.Info("store partition {0} recovered: {1} objects at revision {2} in {3:0.000} s ({4} events replayed)",
                    _partition, _state.Count, _state.Revision, (_recoveredAt.Value - _startedAt).TotalSeconds, _replayed);
                Timers.StartPeriodicTimer(BookmarkTimer, BookmarkTick.Instance, _settings.BookmarkInterval);
                break;
        }
    }

    // ------------------------------------------------------------------ commands

    protected override void OnCommand(object message)
    {
        switch (message)
        {
            case GetPartitionInfo:
                Sender.Tell(new PartitionInfo(_partition, CommittedRevision, _state.Count, LastSequenceNr,
                    LastSequenceNr - (_snapshotSequenceNr ?? 0), _eventsSinceStart, _snapshotSequenceNr, _snapshotTime,
                    _hub.WatcherCount, _hub.WindowCount, _startedAt, _recoveredAt, _replayed));
                break;
            case CancelWatch c:
                if (_hub.Cancel(c.WatchId) is { } subscriber && !_hub.HasSubscriber(subscriber))
                    Context.Unwatch(subscriber);
                break;
            case IPartitionCommand command:
                // On the losing side of a network partition the partition may already run elsewhere: answer nothing stale.
                if (ControlPlaneQuorum.WhyNotServing(Context.System) is { } minority)
                {
                    var why = $"store partition {_partition}: {minority}";
                    if (command is StartWatch w) w.Subscriber.Tell(new Machinery.WatchProtocol.WatchEnded(w.WatchId, 503, "ServiceUnavailable", why));
                    else Sender.Tell(new StoreFailure(503, "ServiceUnavailable", why));
                    break;
                }
                _queue.Enqueue((command, Sender));
                if (_inFlight is null) Drain();
                break;
            case Terminated t:
                _hub.RemoveSubscriber(t.ActorRef);
                break;
            case BookmarkTick:
                Send(_hub.Bookmarks(CommittedRevision, _state.Kind, _state.ApiVersion));
                break;
            case Stop:
                _stopRequested = true;
                StopIfIdle();
                break;
            case Chaos.ChaosProtocol.InjectCrash:
                // A write in flight finishes first (its clients get their answer), then the crash: see CrashIfRequested.
                _crashRequested = true;
                CrashIfRequested();
                break;
            case Chaos.ChaosProtocol.GetResync:
                Sender.Tell(new Chaos.ChaosProtocol.Resynced(_resynced));
                break;
            case SaveSnapshotSuccess s:
                _snapshotSequenceNr = s.Metadata.SequenceNr;
                _snapshotTime = s.Metadata.Timestamp;
                _metrics.SnapshotSaved();
                // The snapshot holds everything up to its sequence number: drop older journal entries and snapshots.
                DeleteMessages(s.Metadata.SequenceNr);
                DeleteSnapshots(new SnapshotSelectionCriteria(s.Metadata.SequenceNr - 1));
                break;
            case SaveSnapshotFailure f:
                _log.Warning(f.Cause, "store partition {0}: snapshot at {1} failed", _partition, f.Metadata.SequenceNr);
                break;
            case DeleteMessagesFailure f:
                _log.Warning(f.Cause, "store partition {0}: deleting journal up to {1} failed", _partition, f.ToSequenceNr);
                break;
            case DeleteSnapshotsFailure f:
                _log.Warning(f.Cause, "store partition {0}: deleting old snapshots failed", _partition);
                break;
            case DeleteMessagesSuccess or DeleteSnapshotsSuccess:
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    /// <summary>The revision every acknowledged write has reached (the state runs ahead while a batch is in flight).</summary>
    private long CommittedRevision { get; set; }

    /// <summary>Decides queued commands into batches; at most one batch is being persisted at a time.</summary>
    private void Drain()
    {
        while (_inFlight is null && _queue.Count > 0)
        {
            var batch = new List<BatchItem>();
            var events = new List<IStoreEvent>();
            while (_queue.Count > 0 && batch.Count < _settings.MaxBatch)
            {
                var (command, sender) = _queue.Dequeue();
                if (command is StartWatch s)
                {
                    if (events.Count == 0) Complete(new WatchItem(s, _state.Revision));
                    else batch.Add(new WatchItem(s, _state.Revision));
                    continue;
                }
                var decision = ExpiredContinue(command) is { } expired ? Decision.Read(expired) : _state.Process(command);
                if (decision.Events.Count == 0 && events.Count == 0)
                {
                    // Nothing of this batch is unacknowledged yet: a read (or refused write) is answered at once.
                    sender.Tell(decision.Reply);
                    continue;
                }
                var changes = new List<WatchChange>(decision.Events.Count);
                foreach (var e in decision.Events) changes.Add(_state.Apply(e));
                events.AddRange(decision.Events);
                batch.Add(new ReplyItem(sender, decision.Reply, changes));
            }
            if (events.Count == 0) continue; // everything was answered at once

            _inFlight = batch;
            // The loop persists once (_inFlight stops it); the batch is one journal row unless configured otherwise.
            var stored = _atRest is null ? events : events.Select(ToStorage).ToList();
            IReadOnlyList<object> journalEntries = stored.Count == 1 || !_settings.JournalRowPerBatch
                ? stored
                : [StoreEventBatch.Of(stored)];
            var remaining = journalEntries.Count;
            var commitStarted = _metrics.BatchStarted(batch.Count, events.Count);
            PersistAllAsync(journalEntries, _ =>
            {
                _eventsSinceStart++;
                if (--remaining > 0) return;
                var done = _inFlight!;
                _inFlight = null;
                foreach (var item in done) Complete(item);
                _metrics.Committed(commitStarted, _state.Count, CommittedRevision);
                MaybeSnapshot();
                CrashIfRequested();
                Drain();
                StopIfIdle();
            });
        }
    }

    /// <summary>
    /// A later page of a list reads the objects as they are now, so it is consistent with its first page only while
    /// every change since that page's revision can still be watched (the informer watches from it): a token older than
    /// the watch window is 410 Expired, as etcd's compaction makes it in Kubernetes; the client lists again.
    /// </summary>
    private StoreFailure? ExpiredContinue(IPartitionCommand command) =>
        command is ListObjects { Continue.Length: > 0 } l && ContinueToken.TryDecode(l.Continue) is { } token && token.Revision < _hub.WindowStart
            ? new StoreFailure(410, "Expired",
                $"the provided continue parameter is too old to display a consistent list result (revision {token.Revision}, the oldest still watchable is {_hub.WindowStart}): start a new list without the continue parameter")
            : null;

    private void Complete(BatchItem item)
    {
        switch (item)
        {
            case ReplyItem r:
                foreach (var change in r.Changes)
                {
                    CommittedRevision = change.Revision;
                    Send(_hub.Publish(change));
                }
                r.Sender.Tell(r.Reply);
                break;
            case WatchItem w:
                Send(_hub.Start(w.Start, w.Revision));
                if (_hub.HasSubscriber(w.Start.Subscriber)) Context.Watch(w.Start.Subscriber);
                break;
        }
    }

    private void MaybeSnapshot()
    {
        if (_state.Revision - _lastSnapshotRevision < _settings.SnapshotThreshold(_state.Count)) return;
        _lastSnapshotRevision = _state.Revision;
        _metrics.SnapshotStarted();
        SaveSnapshot(ToStorage(_state.ToSnapshot()));
    }

    // ------------------------------------------------------------------ encryption at rest (journal and snapshots only)

    private IStoreEvent ToStorage(IStoreEvent e) => _atRest is null ? e : WithJson(e, _atRest.ToStorage(e.ObjectJson, _partition));

    private IStoreEvent FromStorage(IStoreEvent e) => _atRest is null ? e : WithJson(e, _atRest.FromStorage(e.ObjectJson, _partition));

    private PartitionSnapshot ToStorage(PartitionSnapshot s) =>
        _atRest is null ? s : s with { Objects = s.Objects.Select(o => _atRest.ToStorage(o, _partition)).ToList() };

    private PartitionSnapshot FromStorage(PartitionSnapshot s) =>
        _atRest is null ? s : s with { Objects = s.Objects.Select(o => _atRest.FromStorage(o, _partition)).ToList() };

    private static IStoreEvent WithJson(IStoreEvent e, string json) => e switch
    {
        ObjectCreated c => c with { ObjectJson = json },
        ObjectUpdated u => u with { ObjectJson = json },
        ObjectDeleted d => d with { ObjectJson = json },
        _ => throw new InvalidOperationException($"unknown store event {e.GetType().Name}"),
    };

    /// <summary>
    /// `chaos crash-actor`: throws once no write is in flight, so no acknowledged write is lost and no client is left
    /// without an answer; queued commands are answered 503 (retry) by PostStop, watches end with 410 (re-list). The
    /// Shard (default supervision) restarts this actor, which recovers from the journal.
    /// </summary>
    private void CrashIfRequested()
    {
        if (_crashRequested && _inFlight is null) throw new Chaos.InjectedCrashException($"store partition {_partition}");
    }

    private void StopIfIdle()
    {
        if (_stopRequested && _inFlight is null && _queue.Count == 0) Context.Stop(Self);
    }

    private static void Send(List<Delivery> deliveries)
    {
        foreach (var d in deliveries) d.To.Tell(d.Message);
    }

    // ------------------------------------------------------------------ failure and stop

    /// <summary>
    /// A snapshot or journal entry that cannot be read stops the partition (Akka's default) and it stays down: the
    /// journal is deleted up to each snapshot, so replaying the journal without the snapshot would serve a partial
    /// state as if it were whole (which is why snapshot-is-optional stays off).
    /// </summary>
    protected override void OnRecoveryFailure(Exception reason, object? message = null)
    {
        var what = message is null ? "its snapshot could not be loaded" : $"a journal entry could not be replayed ({message.GetType().Name})";
        _log.Error(reason, "store partition {0} cannot recover: {1}: {2}. The partition stays down rather than serve a partial state; " +
                           "restore the store from a backup (docs/store.md, Durability)", _partition, what, reason.GetBaseException().Message);
    }

    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        FailInFlight(cause);
        base.OnPersistFailure(cause, @event, sequenceNr); // stops the actor; sharding restarts it and it recovers
    }

    protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr)
    {
        FailInFlight(cause);
        base.OnPersistRejected(cause, @event, sequenceNr);
        // The state already holds the rejected batch: recover it from the journal instead of going on.
        Context.Stop(Self);
    }

    private void FailInFlight(Exception cause)
    {
        var batch = _inFlight;
        _inFlight = null;
        if (batch is null) return;
        var failure = new StoreFailure(500, "InternalError",
            $"store partition {_partition}: the write could not be made durable ({cause.Message}); its outcome is unknown, read before retrying");
        foreach (var item in batch.OfType<ReplyItem>()) item.Sender.Tell(failure);
    }

    protected override void PostStop()
    {
        // A stop while a write is in flight (e.g. `chaos stop-actor`, a PoisonPill): its outcome is unknown to the clients.
        FailInFlight(new InvalidOperationException("the partition stopped while the write was in flight"));
        Send(_hub.EndAll(410, "Expired", $"store partition {_partition} stopped: list again and watch from the new resourceVersion"));
        var unavailable = new StoreFailure(503, "ServiceUnavailable", $"store partition {_partition} is restarting; retry");
        while (_queue.Count > 0) _queue.Dequeue().Sender.Tell(unavailable);
        _metrics.Stopped();
        base.PostStop();
    }
}

/// <summary>Routes partition commands: entity id = partition, shard id = stable FNV-1a hash of it mod the shard count.</summary>
public sealed class StoreMessageExtractor(int numberOfShards) : IMessageExtractor
{
    public string? EntityId(object message) => message switch
    {
        IPartitionCommand c => c.Partition,
        _ => null, // ShardRegion.StartEntity (remember-entities) is handled by Akka through ShardId(entityId)
    };

    public object? EntityMessage(object message) => message;

    public string? ShardId(object message) => EntityId(message) is { } id ? ShardOf(id) : null;

    public string ShardId(string entityId, object? messageHint = null) => ShardOf(entityId);

    public string ShardOf(string partition)
    {
        var hash = 2166136261u;
        foreach (var b in System.Text.Encoding.UTF8.GetBytes(partition))
        {
            hash ^= b;
            hash *= 16777619u;
        }
        return (hash % (uint)numberOfShards).ToString(System.Globalization.CultureInfo.InvariantCulture);
    }
}

public static class StoreHostingExtensions
{
    /// <summary>The store's shard region on control-plane nodes, registered as <see cref="StoreRegion"/>.</summary>
    public static AkkaConfigurationBuilder AddStore(this AkkaConfigurationBuilder builder, NodeOptions node)
    {
        if (!node.ControlPlane) return builder;
        if (node.Persistence == PersistenceKind.Sqlite) SqliteDurability.Prepare(node.SqliteFile);
        CoordinatorStateMigration.Run(node);
        // The node's HOCON is already in the builder (NodeHost adds it first): read and validate at composition.
        var settings = StoreSettings.Create(builder.Configuration.HasValue ? builder.Configuration.Value : Akka.Configuration.Config.Empty);
        return builder.WithShardRegion<StoreRegion>(
            AkkaKubeNames.Actors.Store,
            partition => StoreActor.Props(partition, settings),
            new StoreMessageExtractor(settings.NumberOfShards),
            new ShardOptions
            {
                Role = AkkaKubeNames.Roles.ControlPlane,
                RememberEntities = true,
                // state-store-mode and remember-entities-store come from hocon/control-plane.conf (issue 25 measured both).
                HandOffStopMessage = StoreActor.Stop.Instance,
            });
    }
}
