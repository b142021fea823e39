using Akka.Actor;
using Akka.Hosting;
using AkkaKube.Actors.Store;
using AkkaKube.Tests.Infrastructure;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using static AkkaKube.Actors.Store.StoreProtocol;

namespace AkkaKube.Tests.Store;

/// <summary>One real control-plane node (NodeHost, SQLite in a temp dir), shared by the tests of this class.</summary>
public sealed class SingleStoreNode : IAsyncLifetime
{
    private readonly TempDir _dir = new();
    private IHost? _host;

    public ActorSystem System => _host!.Services.GetRequiredService<ActorSystem>();

    public async Task InitializeAsync()
    {
        var port = FreePort.Next();
        _host = await StoreNode.StartAsync("node-1", _dir.Path, port, [$"akka.tcp://akkakube@127.0.0.1:{port}"]);
        var up = new TaskCompletionSource();
        Akka.Cluster.Cluster.Get(System).RegisterOnMemberUp(() => up.TrySetResult());
        await up.Task.WaitAsync(TimeSpan.FromSeconds(60));
    }

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.StopAsync(TimeSpan.FromSeconds(20));
            _host.Dispose();
        }
        SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }
}

/// <summary>The store as a real node wires it: the sharded region registered under <see cref="StoreRegion"/>.</summary>
public sealed class StoreRegionSpecs(SingleStoreNode node) : IClassFixture<SingleStoreNode>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_node_serves_create_get_list_and_conflicts_through_the_store_region()
    {
        // A namespace no Namespace object names: the node's controllers (the root-CA publisher writes kube-root-ca.crt
        // into every namespace) never write there, so the list holds exactly what this test created.
        const string ns = "store-region-spec";
        var region = await ActorRegistry.For(node.System).GetAsync<StoreRegion>();
        var created = await region.Ask<ObjectReply>(new CreateObject("configmaps", Objects.ConfigMap("a").Namespace(ns).Data("k", "v").Json), Timeout);
        var got = await region.Ask<ObjectReply>(new GetObject("configmaps", ns, "a"), Timeout);
        Assert.Equal(created.ObjectJson, got.ObjectJson);
        var list = await region.Ask<ListReply>(new ListObjects("configmaps", ns, null, null), Timeout);
        Assert.Equal([created.ObjectJson], list.Items);

        var conflict = await region.Ask<object>(
            new UpdateObject("configmaps", Objects.ConfigMap("a").Namespace(ns).ResourceVersion("999").Json), Timeout);
        Assert.Equal(409, Assert.IsType<StoreFailure>(conflict).Code);
    }
}
