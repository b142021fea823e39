using Akka.Serialization;
using AkkaKube.Actors.Serialization;
using static AkkaKube.Actors.Store.StoreProtocol;

using static AkkaKube.Actors.Machinery.WatchProtocol;

namespace AkkaKube.Tests.Store;

/// <summary>Every store message crosses nodes or is persisted: it must round-trip through the AkkaKube JSON serializer.</summary>
public sealed class StoreProtocolSpecs() : Akka.TestKit.Xunit2.TestKit(StoreTestConfig.Sqlite("unused.db"), "store-protocol-specs")
{
    [Fact]
    public void Every_store_message_round_trips_through_the_json_serializer()
    {
        var probe = CreateTestProbe();
        object[] messages =
        [
            new CreateObject("pods", "{}", DryRun: true),
            new UpdateObject("pods", "{}"),
            new DeleteObject("pods", "ns", "n", "uid", "7", true),
            new GetObject("pods", null, "n"),
            new ListObjects("pods", "ns", "a=b", "status.phase=Running", 10, "tok"),
            new StartWatch("pods", "w", probe.Ref, "ns", "a", "b", 5, true),
            new CancelWatch("pods", "w"),
            new ObjectReply("{}", 3),
            new ListReply(["{}", "{\"a\":1}"], 4, "c", 9),
            new StoreFailure(409, "Conflict", "m"),
            new WatchStarted("w", 1),
            new WatchEvent("w", "ADDED", "{}", 2),
            new WatchEnded("w", 410, "Expired", "too old"),
            new ObjectCreated("{}", 1),
            new ObjectUpdated("{}", 2),
            new ObjectDeleted("{}", 3),
            new PartitionSnapshot(3, ["{}"], "Pod", "v1"),
        ];
        foreach (var message in messages)
        {
            var serializer = (SerializerWithStringManifest)Sys.Serialization.FindSerializerFor(message);
            Assert.IsType<AkkaKubeJsonSerializer>(serializer);
            var back = serializer.FromBinary(serializer.ToBinary(message), serializer.Manifest(message));
            switch (message)
            {
                case ListReply l:
                    var lb = Assert.IsType<ListReply>(back);
                    Assert.Equal(l.Items, lb.Items);
                    Assert.Equal((l.Revision, l.Continue, l.RemainingItemCount), (lb.Revision, lb.Continue, lb.RemainingItemCount));
                    break;
                case PartitionSnapshot s:
                    var sb = Assert.IsType<PartitionSnapshot>(back);
                    Assert.Equal(s.Objects, sb.Objects);
                    Assert.Equal((s.Revision, s.Kind, s.ApiVersion), (sb.Revision, sb.Kind, sb.ApiVersion));
                    break;
                default:
                    Assert.Equal(message, back);
                    break;
            }
        }
    }
}
