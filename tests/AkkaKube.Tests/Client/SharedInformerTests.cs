using System.Text.Json.Nodes;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Tests.Client;

/// <summary>
/// One informer per resource per process: subscribers share its watch and its parsed objects, a restarted
/// subscriber is handed the cache again, and nobody left means the watch is closed.
/// </summary>
public sealed class SharedInformerTests : TestKit
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private static JsonObject Pod(string name, string owner, string? node = null)
    {
        var pod = new JsonObject
        {
            ["apiVersion"] = "v1", ["kind"] = "Pod",
            ["metadata"] = new JsonObject
            {
                ["name"] = name, ["namespace"] = "default",
                ["ownerReferences"] = new JsonArray(new JsonObject { ["apiVersion"] = "apps/v1", ["kind"] = "ReplicaSet", ["name"] = "rs", ["uid"] = owner, ["controller"] = true }),
            },
            ["spec"] = new JsonObject { ["containers"] = new JsonArray(new JsonObject { ["name"] = "c", ["image"] = "akkakube/pause" }) },
        };
        if (node is not null) pod["spec"]!["nodeName"] = node;
        return pod;
    }

    [Fact]
    public async Task Two_subscribers_share_one_informer_one_list_and_the_same_parsed_objects()
    {
        var api = new InMemoryKubeApi();
        await api.CreateAsync(ApiResource.Pods, "default", Pod("a", "uid-1"));
        var informers = SharedInformers.Get(Sys);
        var first = CreateTestProbe();
        var second = CreateTestProbe();
        informers.Subscribe(api, new InformerOptions(ApiResource.Pods), first.Ref);
        informers.Subscribe(api, new InformerOptions(ApiResource.Pods), second.Ref);

        var synced1 = first.ExpectMsg<InformerProtocol.Synced>(Wait);
        var synced2 = second.ExpectMsg<InformerProtocol.Synced>(Wait);
        Assert.Same(synced1.Objects["default/a"], synced2.Objects["default/a"]);

        await api.CreateAsync(ApiResource.Pods, "default", Pod("b", "uid-1", "node-1"));
        var added1 = first.ExpectMsg<InformerProtocol.Added>(Wait);
        var added2 = second.ExpectMsg<InformerProtocol.Added>(Wait);
        Assert.Equal("default/b", added1.Key);
        Assert.Same(added1.Object, added2.Object);
        // The store travels with the event and is indexed.
        Assert.Equal(["default/a", "default/b"], added1.Store.By(InformerIndex.OwnerUid, "uid-1").Select(Informer.KeyOf).Order());
        Assert.Equal(["default/b"], added1.Store.By(InformerIndex.NodeName, "node-1").Select(Informer.KeyOf));

        var listed = await informers.ListAsync(Wait);
        var pods = Assert.Single(listed.Items, i => i.Resource == ApiResource.Pods.Partition && i.FieldSelector is null);
        Assert.Equal(2, pods.Subscribers);
        // One list for both subscribers.
        Assert.Single(api.Calls, c => c == "list pods");
    }

    [Fact]
    public async Task A_subscriber_that_subscribes_again_is_handed_the_whole_cache_again()
    {
        var api = new InMemoryKubeApi();
        await api.CreateAsync(ApiResource.Pods, "default", Pod("a", "uid-1"));
        var informers = SharedInformers.Get(Sys);
        var probe = CreateTestProbe();
        informers.Subscribe(api, new InformerOptions(ApiResource.Pods), probe.Ref);
        probe.ExpectMsg<InformerProtocol.Synced>(Wait);

        informers.Subscribe(api, new InformerOptions(ApiResource.Pods), probe.Ref); // as a restarted actor does
        var again = probe.ExpectMsg<InformerProtocol.Synced>(Wait);
        Assert.Contains("default/a", again.Objects.Keys);
    }

    [Fact]
    public async Task An_informer_whose_subscribers_all_stopped_is_stopped_and_a_new_subscriber_gets_a_fresh_one()
    {
        var api = new InMemoryKubeApi();
        var informers = SharedInformers.Get(Sys);
        var options = new InformerOptions(ApiResource.ConfigMaps, Namespace: "default");
        var probe = CreateTestProbe();
        informers.Subscribe(api, options, probe.Ref);
        probe.ExpectMsg<InformerProtocol.Synced>(Wait);
        Sys.Stop(probe.Ref);

        var deadline = DateTime.UtcNow + InformerFactory.IdleLinger + Wait;
        while ((await informers.ListAsync(Wait)).Items.Any(i => i.Resource == ApiResource.ConfigMaps.Partition))
        {
            Assert.True(DateTime.UtcNow < deadline, "the informer without subscribers was not stopped");
            await Task.Delay(200);
        }

        var late = CreateTestProbe();
        informers.Subscribe(api, options, late.Ref);
        late.ExpectMsg<InformerProtocol.Synced>(Wait);
    }

    [Fact]
    public void The_store_keeps_its_indexes_through_updates_and_removals()
    {
        var store = InformerStore.Of([new("default/a", Pod("a", "uid-1", "n1")), new("default/b", Pod("b", "uid-2", "n1"))]);
        Assert.Equal(2, store.By(InformerIndex.NodeName, "n1").Count());
        Assert.Equal(2, store.By(InformerIndex.Namespace, "default").Count());

        var moved = store.Set("default/a", Pod("a", "uid-2", "n2"));
        Assert.Empty(moved.KeysBy(InformerIndex.OwnerUid, "uid-1"));
        Assert.Equal(["default/a", "default/b"], moved.KeysBy(InformerIndex.OwnerUid, "uid-2").Order());
        Assert.Equal(["default/b"], moved.KeysBy(InformerIndex.NodeName, "n1"));
        // The earlier value is untouched: subscribers holding it read a consistent cache.
        Assert.Equal(["default/a"], store.KeysBy(InformerIndex.OwnerUid, "uid-1"));

        var removed = moved.Remove("default/b");
        Assert.Empty(removed.KeysBy(InformerIndex.NodeName, "n1"));
        Assert.Single(removed.Objects);
        Assert.Same(removed, removed.Remove("default/missing"));
    }

    [Fact]
    public void A_malformed_object_is_stored_and_indexed_by_what_can_be_read()
    {
        // spec as a list, an owner reference as a number: a stored object the informer must still carry.
        var odd = (JsonObject)JsonNode.Parse("""{"metadata":{"name":"odd","namespace":"default","ownerReferences":[7,{"uid":"u"}]},"spec":[1,2]}""")!;
        var store = InformerStore.Empty.Set(Informer.KeyOf(odd), odd);
        Assert.Equal(["default/odd"], store.KeysBy(InformerIndex.OwnerUid, "u"));
        Assert.Equal(["default/odd"], store.KeysBy(InformerIndex.Namespace, "default"));
        Assert.Equal("odd", Informer.KeyOf((JsonObject)JsonNode.Parse("""{"metadata":{"name":"odd","namespace":5}}""")!));
    }
}
