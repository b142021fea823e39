using System.Text.RegularExpressions;
using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Sharding;
using Akka.Event;
using AkkaKube.Actors.Cmd.Palettes;
using Prometheus;

namespace AkkaKube.Actors.Observability;

/// <summary>
/// Akka.NET's own state as metrics: members by status as this node sees them, unreachable members, which singletons
/// and shards run here, supervised actor failures and dead letters. Gauges are computed when Prometheus scrapes.
/// </summary>
public static partial class AkkaMetrics
{
    private static readonly MemberStatus[] Statuses = Enum.GetValues<MemberStatus>();

    public static readonly Gauge Members = Metrics.CreateGauge("akka_cluster_members", "Cluster members by status, as this node sees the membership.", "status");
    public static readonly Gauge Unreachable = Metrics.CreateGauge("akka_cluster_unreachable_members", "Members this node's failure detector (or an observer it gossips with) marks unreachable.");
    public static readonly Gauge SelfStatus = Metrics.CreateGauge("akka_cluster_self_status", "1 for this node's own member status.", "status");
    public static readonly Gauge Leader = Metrics.CreateGauge("akka_cluster_is_leader", "1 when this node is the cluster leader.");
    public static readonly Gauge Singletons = Metrics.CreateGauge("akka_cluster_singleton_active", "1 for each cluster singleton whose instance runs on this node.", "singleton");
    public static readonly Gauge Shards = Metrics.CreateGauge("akka_cluster_sharding_shards", "Shards of a sharded type hosted by this node's region.", "type");
    public static readonly Gauge Entities = Metrics.CreateGauge("akka_cluster_sharding_entities", "Entities of a sharded type hosted by this node's region (store: partitions).", "type");
    public static readonly Counter Failures = Metrics.CreateCounter("akka_actor_failures_total", "Supervised actor failures (each restarts or stops the actor, as its supervisor decides), by actor path with ids replaced by *.", "path");
    public static readonly Counter DeadLetters = Metrics.CreateCounter("akka_dead_letters_total", "Messages delivered to dead letters, by kind (dead, suppressed, dropped).", "kind");

    private static ActorSystem? s_system;
    private static int s_callbackRegistered;
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(1);

    /// <summary>Registers the scrape-time collector for <paramref name="system"/> (the last system started in the process wins).</summary>
    public static void Collect(ActorSystem system)
    {
        s_system = system;
        if (Interlocked.Exchange(ref s_callbackRegistered, 1) == 1) return;
        Metrics.DefaultRegistry.AddBeforeCollectCallback(async ct =>
        {
            if (s_system is not { WhenTerminated.IsCompleted: false } sys) return;
            CollectMembership(sys);
            await Task.WhenAll(CollectSingletonsAsync(sys, ct), CollectShardsAsync(sys, ct));
        });
    }

    private static void CollectMembership(ActorSystem system)
    {
        var cluster = Akka.Cluster.Cluster.Get(system);
        var state = cluster.State;
        foreach (var s in Statuses)
        {
            var label = s.ToString();
            Members.WithLabels(label).Set(state.Members.Count(m => m.Status == s));
            SelfStatus.WithLabels(label).Set(cluster.SelfMember.Status == s ? 1 : 0);
        }
        Unreachable.Set(state.Unreachable.Count);
        Leader.Set(state.Leader == cluster.SelfAddress ? 1 : 0);
    }

    private static async Task CollectSingletonsAsync(ActorSystem system, CancellationToken ct)
    {
        var found = await ClusterPalette.Probe(system, "/user/*/*", ProbeTimeout, ct);
        var here = found.Where(ClusterPalette.IsSingletonInstance).Select(p => p.Parent.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var known in Singletons.GetAllLabelValues().Select(l => l[0]).Where(n => !here.Contains(n)).ToList())
            Singletons.WithLabels(known).Set(0);
        foreach (var name in here) Singletons.WithLabels(name).Set(1);
    }

    private static async Task CollectShardsAsync(ActorSystem system, CancellationToken ct)
    {
        var sharding = ClusterSharding.Get(system);
        foreach (var type in sharding.ShardTypeNames)
        {
            try
            {
                var state = await sharding.ShardRegion(type).Ask<CurrentShardRegionState>(GetShardRegionState.Instance, ProbeTimeout, ct);
                Shards.WithLabels(type).Set(state.Shards.Count);
                Entities.WithLabels(type).Set(state.Shards.Sum(s => s.EntityIds.Count));
            }
            catch (Exception e) when (e is AskTimeoutException or ArgumentException or TaskCanceledException)
            {
                // a region that is starting or handing off does not answer: keep the last figures
            }
        }
    }

    /// <summary>Actor paths with pod uids, temporary names and shard/entity ids collapsed, so the label set stays small.</summary>
    public static string NormalizePath(string path)
    {
        var p = path;
        var at = p.IndexOf("/user/", StringComparison.Ordinal);
        if (at < 0) at = p.IndexOf("/system/", StringComparison.Ordinal);
        if (at >= 0) p = p[at..];
        return IdLike().Replace(p, "*");
    }

    [GeneratedRegex(@"(?<=/)(\$[^/]+|[^/]*[0-9a-f]{8}-[0-9a-f]{4}[^/]*|pod-[^/]+|\d+)(?=/|$)")]
    private static partial Regex IdLike();

    /// <summary>Counts supervised failures (the Error events supervisors publish) and dead letters.</summary>
    public sealed class Listener : ReceiveActor
    {
        public Listener()
        {
            // Supervisors publish an Error whose LogClass is their strategy for every failure they restart or stop.
            Receive<Error>(e => e.Cause is not null && e.LogClass is { } c && typeof(SupervisorStrategy).IsAssignableFrom(c), e => Failures.WithLabels(NormalizePath(e.LogSource)).Inc());
            Receive<AllDeadLetters>(d => DeadLetters.WithLabels(d switch
            {
                SuppressedDeadLetter => "suppressed",
                Dropped => "dropped",
                _ => "dead",
            }).Inc());
            ReceiveAny(_ => { });
        }

        protected override void PreStart()
        {
            Context.System.EventStream.Subscribe(Self, typeof(Error));
            Context.System.EventStream.Subscribe(Self, typeof(AllDeadLetters));
        }

        protected override void PostStop() => Context.System.EventStream.Unsubscribe(Self);
    }
}
