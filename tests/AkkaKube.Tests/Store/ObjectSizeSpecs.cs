using System.Text.Json.Nodes;
using Akka.Configuration;
using AkkaKube.Actors.Cluster;
using AkkaKube.Actors.Serialization;
using AkkaKube.Actors.Store;
using AkkaKube.Host;
using static AkkaKube.Actors.Store.StoreProtocol;

namespace AkkaKube.Tests.Store;

/// <summary>
/// Sizes in bytes end to end: Kubernetes' largest object (1.5 MiB) must travel between nodes in one remoting frame
/// as a reply and as an event; what could not travel is refused with 413 instead of stored unreadable.
/// </summary>
public sealed class ObjectSizeSpecs : Akka.TestKit.Xunit2.TestKit
{
    private static readonly Config Hocon =
        NodeConfig.Load(Path.Combine(NodeHost.HoconDirectory, "control-plane.conf"))
            .WithFallback(NodeConfig.Load(Path.Combine(NodeHost.HoconDirectory, "base.conf")));

    public ObjectSizeSpecs() : base(Hocon.WithFallback(ConfigurationFactory.ParseString("akka.actor.provider = local"))) { }

    private static long FrameSize => Hocon.GetByteSize("akka.remote.dot-netty.tcp.maximum-frame-size")!.Value;

    /// <summary>A ConfigMap of <paramref name="bytes"/> '&lt;' characters, as the apiserver hands it to the store (escaped JSON).</summary>
    private static string ConfigMapOf(string name, int bytes) => new JsonObject
    {
        ["apiVersion"] = "v1", ["kind"] = "ConfigMap",
        ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = "default" },
        ["data"] = new JsonObject { ["big"] = new string('<', bytes) },
    }.ToJsonString();

    private PartitionState State() => new("configmaps") { MaxObjectWireBytes = StoreSettings.Create(Hocon).MaxObjectWireBytes };

    [Fact]
    public void The_largest_Kubernetes_object_of_the_worst_escaping_characters_is_stored_and_its_reply_and_event_fit_one_frame()
    {
        var state = State();
        var decision = state.Process(new CreateObject("configmaps", ConfigMapOf("big", 1536 * 1024)));
        var reply = Assert.IsType<ObjectReply>(decision.Reply);
        var created = Assert.IsType<ObjectCreated>(Assert.Single(decision.Events));
        var serializer = (AkkaKubeJsonSerializer)Sys.Serialization.FindSerializerForType(typeof(ObjectReply));
        Assert.True(serializer.ToBinary(reply).Length < FrameSize, "the reply must fit one remoting frame");
        Assert.True(serializer.ToBinary(created).Length < FrameSize, "the event must fit one remoting frame");
        // Read back exactly.
        state.Apply(created);
        var read = Assert.IsType<ObjectReply>(state.Process(new GetObject("configmaps", "default", "big")).Reply);
        Assert.Equal(1536 * 1024, JsonNode.Parse(read.ObjectJson)!["data"]!["big"]!.GetValue<string>().Length);
    }

    [Fact]
    public void An_object_that_could_not_travel_between_nodes_is_refused_with_413_on_create_and_update()
    {
        var state = State();
        var tooLarge = Assert.IsType<StoreFailure>(state.Process(new CreateObject("configmaps", ConfigMapOf("huge", 3 * 1024 * 1024))).Reply);
        Assert.Equal((413, "RequestEntityTooLarge"), (tooLarge.Code, tooLarge.Reason));
        Assert.Contains("configmaps \"huge\" is too large", tooLarge.Message);

        var small = state.Process(new CreateObject("configmaps", ConfigMapOf("grows", 10)));
        foreach (var e in small.Events) state.Apply(e);
        var update = state.Process(new UpdateObject("configmaps", ConfigMapOf("grows", 3 * 1024 * 1024)));
        Assert.Equal(413, Assert.IsType<StoreFailure>(update.Reply).Code);
        Assert.Empty(update.Events);
    }

    [Fact]
    public void The_object_limit_stays_below_the_frame_size()
    {
        Assert.True(StoreSettings.Create(Hocon).MaxObjectWireBytes + 64 * 1024 <= FrameSize);
    }
}
