using Akka.Actor;
using Akka.Cluster;
using Akka.Hosting;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Machinery;
using AkkaKube.Actors.Cluster;
using AkkaKube.Actors.Store;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace AkkaKube.Actors.Observability;

/// <summary>
/// The node's health checks, registered through Akka.Hosting (IAkkaHealthCheck) into ASP.NET Core's health check
/// service. Tags say where a check counts: "livez" (restart me if it fails) and "readyz" (send me no work).
/// </summary>
public static class NodeHealthChecks
{
    public const string Livez = "livez";
    public const string Readyz = "readyz";

    public static readonly string[] Both = [Livez, Readyz];
    public static readonly string[] ReadyOnly = [Readyz];

    public static AkkaConfigurationBuilder AddNodeHealthChecks(this AkkaConfigurationBuilder builder, NodeOptions node, TimeSpan storeTimeout)
    {
        builder.WithHealthCheck(new AkkaHealthCheckRegistration("ping", new Ping(), HealthStatus.Unhealthy, Both));
        builder.WithActorSystemLivenessCheck(tags: Both);
        builder.WithHealthCheck(new AkkaHealthCheckRegistration("cluster-member-up", new MemberUp(), HealthStatus.Unhealthy, ReadyOnly));
        builder.WithHealthCheck(new AkkaHealthCheckRegistration("informer-sync", new InformersSynced(), HealthStatus.Unhealthy, ReadyOnly));
        if (node.ControlPlane)
        {
            builder.WithHealthCheck(new AkkaHealthCheckRegistration("persistence-journal", new PersistencePlugin("journal", storeTimeout, (p, ct) => p.CheckJournalHealthAsync("", ct)), HealthStatus.Unhealthy, ReadyOnly));
            builder.WithHealthCheck(new AkkaHealthCheckRegistration("persistence-snapshot-store", new PersistencePlugin("snapshot store", storeTimeout, (p, ct) => p.CheckSnapshotStoreHealthAsync("", ct)), HealthStatus.Unhealthy, ReadyOnly));
            builder.WithHealthCheck(new AkkaHealthCheckRegistration("store", new StoreReachable(storeTimeout), HealthStatus.Unhealthy, ReadyOnly));
            builder.WithHealthCheck(new AkkaHealthCheckRegistration("store-partitions-recovered", new PartitionsRecovered(), HealthStatus.Unhealthy, ReadyOnly));
        }
        if (node.Worker)
            builder.WithHealthCheck(new AkkaHealthCheckRegistration("kubelet", new KubeletFresh(), HealthStatus.Unhealthy, ReadyOnly));
        return builder;
    }

    private sealed class Ping : IAkkaHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(AkkaHealthCheckContext context, CancellationToken ct = default) =>
            Task.FromResult(HealthCheckResult.Healthy());
    }

    /// <summary>This node is an Up member: not joining, leaving, downed or removed.</summary>
    private sealed class MemberUp : IAkkaHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(AkkaHealthCheckContext context, CancellationToken ct = default)
        {
            var cluster = Akka.Cluster.Cluster.Get(context.ActorSystem);
            var status = cluster.IsTerminated ? MemberStatus.Removed : cluster.SelfMember.Status;
            return Task.FromResult(status == MemberStatus.Up
                ? HealthCheckResult.Healthy($"member {cluster.SelfAddress} is Up")
                : HealthCheckResult.Unhealthy($"member {cluster.SelfAddress} is {status}, not Up"));
        }
    }

    private sealed class InformersSynced : IAkkaHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(AkkaHealthCheckContext context, CancellationToken ct = default)
        {
            var waiting = InformerHealth.Unsynced();
            var (synced, total) = InformerHealth.Counts();
            return Task.FromResult(waiting.Count == 0
                ? HealthCheckResult.Healthy($"{synced}/{total} informers synced")
                : HealthCheckResult.Unhealthy($"{waiting.Count} informer(s) not synced yet, e.g. {waiting[0].Resource} ({waiting[0].Path}) for {(DateTime.UtcNow - waiting[0].StartedAt).TotalSeconds:0} s"));
        }
    }

    /// <summary>Akka.Persistence's own probe of the journal or snapshot-store plugin (a round trip to the database).</summary>
    private sealed class PersistencePlugin(string what, TimeSpan timeout,
        Func<Akka.Persistence.PersistenceExtension, CancellationToken, Task<Akka.Persistence.PersistenceHealthCheckResult>> probe) : IAkkaHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(AkkaHealthCheckContext context, CancellationToken ct = default)
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            cts.CancelAfter(timeout);
            try
            {
                var r = await probe(Akka.Persistence.Persistence.Instance.Apply(context.ActorSystem), cts.Token);
                return new HealthCheckResult(r.Status == Akka.Persistence.PersistenceHealthStatus.Healthy ? HealthStatus.Healthy : HealthStatus.Unhealthy, r.Description, r.Exception);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                return HealthCheckResult.Unhealthy($"the {what} did not answer within {timeout.TotalSeconds:0} s");
            }
        }
    }

    /// <summary>
    /// The apiserver's `etcd` check, here: the partitions every request path needs (namespaces, nodes, pods) answer
    /// through the shard region within the store timeout, wherever in the cluster they are hosted.
    /// </summary>
    private sealed class StoreReachable(TimeSpan timeout) : IAkkaHealthCheck
    {
        private static readonly string[] Partitions = [ApiResource.Namespaces.Partition, ApiResource.Nodes.Partition, ApiResource.Pods.Partition];

        public async Task<HealthCheckResult> CheckHealthAsync(AkkaHealthCheckContext context, CancellationToken ct = default)
        {
            if (!ActorRegistry.For(context.ActorSystem).TryGet<StoreRegion>(out var region))
                return HealthCheckResult.Unhealthy("the store's shard region has not started on this node");
            var results = await Task.WhenAll(Partitions.Select(p => AskAsync(region, p, ct)));
            var failed = results.Where(r => r.Error is not null).Select(r => r.Error!).ToList();
            return failed.Count == 0
                ? HealthCheckResult.Healthy(string.Join(", ", results.Select(r => $"{r.Partition} at revision {r.Revision}")))
                : HealthCheckResult.Unhealthy(string.Join("; ", failed));
        }

        private async Task<(string Partition, string? Error, long Revision)> AskAsync(IActorRef region, string partition, CancellationToken ct)
        {
            try
            {
                var info = await region.Ask<StoreProtocol.PartitionInfo>(new StoreProtocol.GetPartitionInfo(partition), timeout, ct);
                return (partition, null, info.Revision);
            }
            catch (Exception e) when (e is AskTimeoutException or TaskCanceledException)
            {
                return (partition, $"partition {partition} did not answer within {timeout.TotalSeconds:0.#} s", 0L);
            }
        }
    }

    private sealed class PartitionsRecovered : IAkkaHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(AkkaHealthCheckContext context, CancellationToken ct = default)
        {
            var recovering = StoreMetrics.RecoveringPartitions();
            return Task.FromResult(recovering.Count == 0
                ? HealthCheckResult.Healthy("every partition hosted here has recovered")
                : HealthCheckResult.Unhealthy($"recovering: {string.Join(", ", recovering)}"));
        }
    }

    private sealed class KubeletFresh : IAkkaHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(AkkaHealthCheckContext context, CancellationToken ct = default) =>
            Task.FromResult(Kubelet.KubeletMetrics.NotReadyReason(DateTime.UtcNow) is { } reason
                ? HealthCheckResult.Unhealthy(reason)
                : HealthCheckResult.Healthy("registered, Lease fresh"));
    }
}
