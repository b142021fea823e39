using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Sharding;
using Akka.Hosting;
using AkkaKube.Actors;
using AkkaKube.Actors.Cluster;
using AkkaKube.Actors.Store;
using AkkaKube.Host;
using AkkaKube.Tests.Infrastructure;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using static AkkaKube.Actors.Store.StoreProtocol;

namespace AkkaKube.Tests.Store;

/// <summary>
/// Three control-plane nodes in this process (the real NodeHost, remoting on port 0, one shared SQLite file).
/// The node hosting a partition dies abruptly (its actor system terminates without leaving the cluster, so
/// the others must detect it, down it through the split-brain resolver and move the shard): every write that
/// was acknowledged must be readable afterwards from a survivor.
/// </summary>
public sealed class StoreFailoverSpecs : IAsyncLifetime
{
    private const string Partition = "configmaps";
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(5);
    private readonly TempDir _dir = new();
    private readonly List<IHost> _hosts = [];

    public async Task InitializeAsync()
    {
        // Crash-like stop: terminating a system must not run the graceful leave. Failure detection and SBR
        // timings come from hocon/base.conf (detection ≈ 2-3 s, stable-after 3 s, removal margin 1 s).
        var conf = Path.Combine(_dir.Path, "test.conf");
        await File.WriteAllTextAsync(conf, """
            akka.coordinated-shutdown.run-by-actor-system-terminate = off
            akka.loglevel = WARNING
            """);
        for (var i = 1; i <= 3; i++)
        {
            var host = await StoreNode.StartAsync($"node-{i}", _dir.Path, configFiles: [conf]);
            _hosts.Add(host);
        }
        var first = Cluster.Get(SystemOf(_hosts[0])).SelfAddress;
        foreach (var h in _hosts) Cluster.Get(SystemOf(h)).Join(first);
        await Eventually(() => _hosts.All(h => Cluster.Get(SystemOf(h)).State.Members.Count(m => m.Status == MemberStatus.Up) == 3),
            TimeSpan.FromSeconds(60), "three members Up");
    }

    public async Task DisposeAsync()
    {
        foreach (var h in _hosts)
        {
            try
            {
                await h.StopAsync(TimeSpan.FromSeconds(10));
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
            }
            h.Dispose();
        }
        SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }

    private static ActorSystem SystemOf(IHost h) => h.Services.GetRequiredService<ActorSystem>();

    private static Task<IActorRef> RegionOf(IHost h) => ActorRegistry.For(SystemOf(h)).GetAsync<StoreRegion>();

    [Fact]
    public async Task Every_acknowledged_write_survives_the_crash_of_the_node_hosting_the_partition()
    {
        var region = await RegionOf(_hosts[0]);
        await region.Ask<ObjectReply>(new CreateObject(Partition, Objects.ConfigMap("first").Json), TimeSpan.FromSeconds(30));
        var victim = await HostOfPartition();
        var survivor = _hosts.First(h => h != victim);
        var writer = await RegionOf(survivor);

        var acknowledged = new List<string> { "first" };
        var crashed = false;
        for (var i = 0; acknowledged.Count < 120 && i < 2000; i++)
        {
            if (acknowledged.Count == 40 && !crashed)
            {
                crashed = true;
                // Writes keep flowing while the host dies: 8 are in flight at the moment of the crash.
                var inFlight = Enumerable.Range(0, 8).Select(j => Write(writer, $"inflight-{j}")).ToList();
                _ = SystemOf(victim).Terminate();
                foreach (var t in inFlight)
                    if (await t is { } name) acknowledged.Add(name);
            }
            if (await Write(writer, $"cm-{i}") is { } ok) acknowledged.Add(ok);
        }
        Assert.True(crashed);
        Assert.True(acknowledged.Count >= 120, $"only {acknowledged.Count} writes acknowledged: the partition did not come back");
        Assert.Equal(MemberStatus.Up, Cluster.Get(SystemOf(survivor)).State.Members.Single(m => m.Address == Cluster.Get(SystemOf(survivor)).SelfAddress).Status);
        Assert.DoesNotContain(Cluster.Get(SystemOf(survivor)).State.Members, m => m.Address == Cluster.Get(SystemOf(victim)).SelfAddress && m.Status == MemberStatus.Up);

        var reader = await RegionOf(_hosts.First(h => h != victim && h != survivor));
        foreach (var name in acknowledged)
        {
            await Eventually(async () =>
                await reader.Ask<object>(new GetObject(Partition, "default", name), AskTimeout) is ObjectReply,
                TimeSpan.FromSeconds(60), $"acknowledged write {name} readable");
        }
        var list = await reader.Ask<ListReply>(new ListObjects(Partition, "default", null, null), TimeSpan.FromSeconds(30));
        Assert.Superset(acknowledged.ToHashSet(), list.Items.Select(j => Objects.Meta(j, "name")).ToHashSet());
    }

    /// <summary>A create; the name when acknowledged, null on a refusal or timeout (outcome unknown).</summary>
    private static async Task<string?> Write(IActorRef region, string name)
    {
        try
        {
            return await region.Ask<object>(new CreateObject(Partition, Objects.ConfigMap(name).Json), AskTimeout) is ObjectReply ? name : null;
        }
        catch (AskTimeoutException)
        {
            return null;
        }
    }

    private async Task<IHost> HostOfPartition()
    {
        foreach (var h in _hosts)
        {
            var state = await ClusterSharding.Get(SystemOf(h)).ShardRegion(AkkaKubeNames.Actors.Store)
                .Ask<CurrentShardRegionState>(GetShardRegionState.Instance, TimeSpan.FromSeconds(10));
            if (state.Shards.Any(s => s.EntityIds.Contains(Partition))) return h;
        }
        throw new InvalidOperationException("no node hosts the partition");
    }

    private static Task Eventually(Func<bool> condition, TimeSpan within, string what) =>
        Eventually(() => Task.FromResult(condition()), within, what);

    private static async Task Eventually(Func<Task<bool>> condition, TimeSpan within, string what)
    {
        var deadline = DateTime.UtcNow + within;
        while (true)
        {
            try
            {
                if (await condition()) return;
            }
            catch (AskTimeoutException)
            {
            }
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"not reached within {within}: {what}");
            await Task.Delay(100);
        }
    }
}
