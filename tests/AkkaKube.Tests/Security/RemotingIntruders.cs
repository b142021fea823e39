using Akka.Actor;
using Akka.Cluster;
using Akka.Remote;

namespace AkkaKube.Tests.Security;

/// <summary>What the remoting security tests check of a process that tried to join: a failed association, no membership.</summary>
internal static class RemotingIntruders
{
    /// <summary>Completes when <paramref name="system"/>'s remoting reports a failed association (the refused handshake).</summary>
    public static Task AssociationFailure(ActorSystem system)
    {
        var failed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var listener = system.ActorOf(Props.Create(() => new AssociationListener(failed)));
        system.EventStream.Subscribe(listener, typeof(AssociationErrorEvent));
        system.EventStream.Subscribe(listener, typeof(DisassociatedEvent));
        return failed.Task;
    }

    public static void AssertNotMember(ActorSystem seed, ActorSystem intruder)
    {
        var self = Akka.Cluster.Cluster.Get(intruder).SelfAddress;
        Assert.DoesNotContain(Akka.Cluster.Cluster.Get(seed).State.Members, m => m.Address.Equals(self));
        Assert.DoesNotContain(Akka.Cluster.Cluster.Get(intruder).State.Members, m => m.Status == MemberStatus.Up);
    }

    private sealed class AssociationListener : ReceiveActor
    {
        public AssociationListener(TaskCompletionSource failed)
        {
            Receive<AssociationErrorEvent>(_ => failed.TrySetResult());
            Receive<DisassociatedEvent>(_ => failed.TrySetResult());
        }
    }
}
