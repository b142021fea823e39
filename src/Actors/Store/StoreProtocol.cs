using Akka.Actor;
using AkkaKube.Actors.Serialization;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.Store;

/// <summary>
/// Messages of a store partition (the etcd of AkkaKube). A partition holds one resource kind,
/// named like the apiserver's storage key: "pods", "deployments.apps", "leases.coordination.k8s.io".
/// A hot kind may later split by namespace ("pods@team-a"); the partition name carries that.
/// Objects travel as JSON text so the store stays generic, like the real apiserver's storage.
/// </summary>
public static class StoreProtocol
{
    /// <summary>Every command names its partition; the shard extractor routes on it.</summary>
    public interface IPartitionCommand : IAkkaKubeMessage
    {
        string Partition { get; }
    }

    /// <summary>
    /// Create; the store sets uid (<paramref name="Uid"/> when given, else a new one), creationTimestamp, resourceVersion,
    /// generation. With a uid the create is idempotent: an object of that name that already has this uid is the result of
    /// an earlier copy of the same request (the apiserver sends a create again when a partition did not answer), and is
    /// the answer instead of 409 AlreadyExists.
    /// </summary>
    public sealed record CreateObject(string Partition, string ObjectJson, bool DryRun = false, string? Uid = null) : IPartitionCommand;

    /// <summary>
    /// Replace an object. When the object carries metadata.resourceVersion it is a precondition:
    /// a different current revision is 409 Conflict. Generation is bumped when anything outside
    /// metadata and status changed. Removing the last finalizer of an object marked for deletion deletes it.
    /// </summary>
    public sealed record UpdateObject(string Partition, string ObjectJson, bool DryRun = false) : IPartitionCommand;

    /// <summary>
    /// Delete; an object with finalizers is only marked (deletionTimestamp). GracePeriodSeconds &gt; 0 (pods bound to a
    /// node) marks it for a graceful deletion instead — deletionTimestamp = now + grace — and a later delete with
    /// grace 0 (the kubelet's, once the containers stopped) removes it; a shorter grace shortens a running one.
    /// </summary>
    public sealed record DeleteObject(
        string Partition, string? Namespace, string Name,
        string? PreconditionUid = null, string? PreconditionResourceVersion = null,
        bool DryRun = false, long GracePeriodSeconds = 0) : IPartitionCommand;

    public sealed record GetObject(string Partition, string? Namespace, string Name) : IPartitionCommand;

    /// <summary>List; Limit 0 = all. Continue is the opaque token of a previous page.</summary>
    public sealed record ListObjects(
        string Partition, string? Namespace, string? LabelSelector, string? FieldSelector,
        int Limit = 0, string? Continue = null) : IPartitionCommand;

    /// <summary>
    /// Start a watch: every change after FromRevision (a list's revision, 0 included: a fresh partition lists at 0),
    /// or from the partition's current revision with <see cref="FromNow"/>. Events go to Subscriber as <see cref="WatchEvent"/>,
    /// the stream ends with <see cref="WatchEnded"/> (e.g. 410 Expired when FromRevision left the window).
    /// The partition also ends the stream when the subscriber dies or the partition stops.
    /// </summary>
    public sealed record StartWatch(
        string Partition, string WatchId, IActorRef Subscriber, string? Namespace,
        string? LabelSelector, string? FieldSelector, long FromRevision, bool Bookmarks = false) : IPartitionCommand
    {
        /// <summary>
        /// From the partition's revision when the watch arrives. Not 0: 0 is the revision a fresh partition lists at,
        /// and a create between that list and the watch must reach the watch (issue 22: a pod never scheduled).
        /// </summary>
        public const long FromNow = -1;
    }

    public sealed record CancelWatch(string Partition, string WatchId) : IPartitionCommand;

    /// <summary>
    /// Inspection (`akkakube cmd … kube store`): the partition answers at once with <see cref="PartitionInfo"/>, outside
    /// the write queue (it reads counters only; no ordering with writes is promised).
    /// </summary>
    public sealed record GetPartitionInfo(string Partition) : IPartitionCommand;

    /// <summary>
    /// A partition's bookkeeping. Revision = acknowledged revision; SequenceNr = the journal's highest sequence number
    /// (every event ever persisted); JournalLength = events in the journal after the last snapshot (older ones are
    /// deleted once a snapshot is saved); EventsSinceStart = events persisted by this incarnation; SnapshotSequenceNr
    /// and SnapshotTime are null when no snapshot exists; Watchers = live watch streams; WindowEvents = events kept for
    /// watch resumes.
    /// </summary>
    /// <summary>
    /// A partition's state; StartedAt (the entity's start on this node) and RecoveredAt (journal replay done) are wall-clock
    /// UTC, so `akkakube chaos` can split a hand-over into shard allocation and recovery against its own fault time.
    /// </summary>
    public sealed record PartitionInfo(
        string Partition, long Revision, int Objects, long SequenceNr, long JournalLength, long EventsSinceStart,
        long? SnapshotSequenceNr, DateTime? SnapshotTime, int Watchers, int WindowEvents,
        DateTime StartedAt = default, DateTime? RecoveredAt = null, long EventsReplayed = 0) : IAkkaKubeMessage;

    // ---- replies ----

    /// <summary>One object; Revision is the partition revision at which the reply was produced.</summary>
    public sealed record ObjectReply(string ObjectJson, long Revision) : IAkkaKubeMessage;

    public sealed record ListReply(IReadOnlyList<string> Items, long Revision, string? Continue, long? RemainingItemCount)
        : IAkkaKubeMessage;

    /// <summary>A refused command: HTTP code and Kubernetes Status reason (NotFound, AlreadyExists, Conflict, Invalid, Expired…).</summary>
    public sealed record StoreFailure(int Code, string Reason, string Message) : IAkkaKubeMessage;

    // ---- persisted events (journal) and snapshot; Revision is the partition revision after the event ----

    /// <summary>Marker of the store's journal events.</summary>
    public interface IStoreEvent : IAkkaKubeMessage
    {
        string ObjectJson { get; }
        long Revision { get; }
    }

    public sealed record ObjectCreated(string ObjectJson, long Revision) : IStoreEvent;

    public sealed record ObjectUpdated(string ObjectJson, long Revision) : IStoreEvent;

    /// <summary>The object as it was when deleted, carrying the deletion's revision as resourceVersion.</summary>
    public sealed record ObjectDeleted(string ObjectJson, long Revision) : IStoreEvent;

    /// <summary>
    /// One group-commit batch as one journal row: the per-row cost of the SQL journal (not the events' size)
    /// dominates a durable write, so a batch of N writes is persisted once. Replayed as its events, in order.
    /// </summary>
    public sealed record StoreEventBatch(IReadOnlyList<BatchedStoreEvent> Events) : IAkkaKubeMessage
    {
        public static StoreEventBatch Of(IReadOnlyList<IStoreEvent> events) =>
            new(events.Select(e => new BatchedStoreEvent(
                e switch { ObjectCreated => BatchedStoreEvent.Created, ObjectDeleted => BatchedStoreEvent.Deleted, _ => BatchedStoreEvent.Updated },
                e.ObjectJson, e.Revision)).ToList());

        public IEnumerable<IStoreEvent> Unwrap() => Events.Select(e => e.ToEvent());
    }

    /// <summary>An event inside a <see cref="StoreEventBatch"/>; Type is created, updated or deleted.</summary>
    public sealed record BatchedStoreEvent(string Type, string ObjectJson, long Revision)
    {
        public const string Created = "created";
        public const string Updated = "updated";
        public const string Deleted = "deleted";

        public IStoreEvent ToEvent() => Type switch
        {
            Created => new ObjectCreated(ObjectJson, Revision),
            Updated => new ObjectUpdated(ObjectJson, Revision),
            Deleted => new ObjectDeleted(ObjectJson, Revision),
            _ => throw new InvalidOperationException($"unknown store event type '{Type}' in a journal batch"),
        };
    }

    /// <summary>The whole partition at Revision (objects in key order); Kind/ApiVersion feed bookmarks.</summary>
    public sealed record PartitionSnapshot(long Revision, IReadOnlyList<string> Objects, string? Kind, string? ApiVersion)
        : IAkkaKubeMessage;
}
