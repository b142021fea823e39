using System.Diagnostics;
using Prometheus;
using static AkkaKube.Actors.Observability.NodeMetrics;

namespace AkkaKube.Actors.Store;

/// <summary>
/// The store's metrics (etcd's and kube-apiserver's storage metrics, in this store's terms): group-commit latency and
/// batch sizes, recovery and snapshot timings, objects and revision per partition. Reported by the node that hosts
/// the partition; a partition that moves stops reporting on the old node (its series are removed).
/// </summary>
public static class StoreMetrics
{
    public static readonly Histogram CommitDuration = Metrics.CreateHistogram("akkakube_store_commit_duration_seconds",
        "Group commit latency: from handing a batch to the journal until it is durable and acknowledged, per partition.",
        new HistogramConfiguration { LabelNames = ["partition"], Buckets = ShortBuckets });

    public static readonly Histogram BatchCommands = Metrics.CreateHistogram("akkakube_store_batch_commands",
        "Client commands decided into one group-commit batch.", new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(1, 2, 10) });

    public static readonly Histogram BatchEvents = Metrics.CreateHistogram("akkakube_store_batch_events",
        "Events persisted by one group-commit batch (one journal row unless configured otherwise).", new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(1, 2, 10) });

    public static readonly Histogram RecoveryDuration = Metrics.CreateHistogram("akkakube_store_recovery_duration_seconds",
        "Time a partition took to recover from snapshot + journal after (re)start or hand-over.",
        new HistogramConfiguration { LabelNames = ["partition"], Buckets = LongBuckets });

    public static readonly Histogram SnapshotDuration = Metrics.CreateHistogram("akkakube_store_snapshot_duration_seconds",
        "Time from asking the snapshot store to save a partition snapshot until it confirmed.",
        new HistogramConfiguration { LabelNames = ["partition"], Buckets = LongBuckets });

    public static readonly Gauge Objects = Metrics.CreateGauge("apiserver_storage_objects",
        "Number of stored objects at the time of last check split by kind (here: per store partition, on the node hosting it).", "resource");

    public static readonly Gauge Revision = Metrics.CreateGauge("akkakube_store_revision",
        "Acknowledged revision (resourceVersion) of a partition.", "partition");

    public static readonly Gauge Hosted = Metrics.CreateGauge("akkakube_store_partitions",
        "Store partitions running (recovered or recovering) on this node.");

    public static Partition For(string partition) => new(partition);

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<Partition, string> s_recovering = new();

    /// <summary>Partitions on this node still replaying snapshot + journal (the `store-partitions-recovered` readiness check).</summary>
    public static IReadOnlyList<string> RecoveringPartitions() => s_recovering.Values.Order(StringComparer.Ordinal).ToList();

    /// <summary>One partition actor's timings; every method is one line in <see cref="StoreActor"/>.</summary>
    public sealed class Partition
    {
        private readonly string _name;
        private readonly long _started = Stopwatch.GetTimestamp();
        private long _snapshotStarted;

        internal Partition(string name)
        {
            _name = name;
            Hosted.Inc();
            s_recovering[this] = name;
        }

        public void Recovered(int objects, long revision)
        {
            s_recovering.TryRemove(this, out _);
            RecoveryDuration.WithLabels(_name).Observe(Stopwatch.GetElapsedTime(_started).TotalSeconds);
            Objects.WithLabels(_name).Set(objects);
            Revision.WithLabels(_name).Set(revision);
        }

        public long BatchStarted(int commands, int events)
        {
            BatchCommands.Observe(commands);
            BatchEvents.Observe(events);
            return Stopwatch.GetTimestamp();
        }

        public void Committed(long batchStarted, int objects, long revision)
        {
            CommitDuration.WithLabels(_name).Observe(Stopwatch.GetElapsedTime(batchStarted).TotalSeconds);
            Objects.WithLabels(_name).Set(objects);
            Revision.WithLabels(_name).Set(revision);
        }

        public void SnapshotStarted() => _snapshotStarted = Stopwatch.GetTimestamp();

        public void SnapshotSaved()
        {
            if (_snapshotStarted != 0) SnapshotDuration.WithLabels(_name).Observe(Stopwatch.GetElapsedTime(_snapshotStarted).TotalSeconds);
            _snapshotStarted = 0;
        }

        public void Stopped()
        {
            Hosted.Dec();
            s_recovering.TryRemove(this, out _);
            Objects.RemoveLabelled(_name);
            Revision.RemoveLabelled(_name);
        }
    }
}
