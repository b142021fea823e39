using Akka.Actor;
using Akka.Hosting;
using AkkaKube.Actors.Store;
using AkkaKube.Tests.Infrastructure;
using static AkkaKube.Actors.Store.StoreProtocol;

namespace AkkaKube.Tests.Store;

/// <summary>The store as a real node wires it: the sharded region registered under <see cref="StoreRegion"/>.</summary>
public sealed class StoreRegionSpecs(InProcessNode node) : IClassFixture<InProcessNode>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_node_serves_create_get_list_and_watch_through_the_store_region()
    {
        var region = await ActorRegistry.For(node.System).GetAsync<StoreRegion>();
        var created = await region.Ask<ObjectReply>(new CreateObject("configmaps", Objects.ConfigMap("a").Data("k", "v").Json), Timeout);
        var got = await region.Ask<ObjectReply>(new GetObject("configmaps", "default", "a"), Timeout);
        Assert.Equal(created.ObjectJson, got.ObjectJson);
        var list = await region.Ask<ListReply>(new ListObjects("configmaps", "default", null, null), Timeout);
        Assert.Equal([created.ObjectJson], list.Items);

        var conflict = await region.Ask<object>(
            new UpdateObject("configmaps", Objects.ConfigMap("a").ResourceVersion("999").Json), Timeout);
        Assert.Equal(409, Assert.IsType<StoreFailure>(conflict).Code);
    }
}
