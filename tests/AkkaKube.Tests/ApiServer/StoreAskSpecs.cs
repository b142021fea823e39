using Akka.Actor;
using AkkaKube.Actors.ApiServer;
using Objects = AkkaKube.Tests.Store.Objects;
using static AkkaKube.Actors.Store.StoreProtocol;

namespace AkkaKube.Tests.ApiServer;

/// <summary>
/// The apiserver's ask of the store while a partition moves (issue 25): a command routed to a killed control plane is
/// lost, so reads and uid-carrying creates are sent again; updates and deletes never are.
/// </summary>
public sealed class StoreAskSpecs : Akka.TestKit.Xunit2.TestKit
{
    private static readonly ApiServerSettings Settings = new() { StoreTimeout = TimeSpan.FromSeconds(3), StoreRetryAfter = TimeSpan.FromMilliseconds(300) };

    /// <summary>A partition that loses the first copy of every command (as the dead node's region did) and counts them.</summary>
    private sealed class LosesFirstCopy : ReceiveActor
    {
        public LosesFirstCopy(List<IPartitionCommand> seen)
        {
            Receive<IPartitionCommand>(c =>
            {
                seen.Add(c);
                if (seen.Count > 1) Sender.Tell(new ObjectReply("{}", seen.Count));
            });
        }
    }

    [Fact]
    public async Task A_create_with_its_uid_and_a_read_are_sent_again_and_answered_by_the_second_copy()
    {
        foreach (var command in new IPartitionCommand[]
                 {
                     new CreateObject("configmaps", Objects.ConfigMap("c").Json, Uid: "u-1"),
                     new GetObject("configmaps", "default", "c"),
                     new ListObjects("configmaps", null, null, null),
                 })
        {
            var seen = new List<IPartitionCommand>();
            var store = Sys.ActorOf(Props.Create(() => new LosesFirstCopy(seen)));
            var reply = Assert.IsType<ObjectReply>(await StoreAsk.AskAsync(store, command, Settings, CancellationToken.None));
            Assert.Equal(2L, reply.Revision);
            Assert.Equal([command, command], seen);
        }
    }

    [Fact]
    public async Task An_update_is_sent_once_and_times_out_rather_than_being_applied_twice()
    {
        var seen = new List<IPartitionCommand>();
        var store = Sys.ActorOf(Props.Create(() => new LosesFirstCopy(seen)));
        await Assert.ThrowsAsync<AskTimeoutException>(() =>
            StoreAsk.AskAsync(store, new UpdateObject("configmaps", Objects.ConfigMap("c").Json), Settings, CancellationToken.None));
        Assert.Single(seen);
    }
}
