using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using Akka.Hosting;

namespace AkkaKube.Actors.Cluster;

/// <summary>
/// Logs this node's membership view (one line per member event), so each node's log file
/// tells the cluster's story as that node saw it.
/// </summary>
public sealed class NodeInfoActor : ReceiveActor
{
    private readonly ILoggingAdapter _log = Context.GetLogger();

    public NodeInfoActor(NodeOptions node)
    {
        var cluster = Akka.Cluster.Cluster.Get(Context.System);
        Receive<ClusterEvent.MemberUp>(e => _log.Info("member up: {0} roles [{1}]", e.Member.Address, string.Join(",", e.Member.Roles)));
        Receive<ClusterEvent.MemberRemoved>(e => _log.Info("member removed: {0} (was {1})", e.Member.Address, e.PreviousStatus));
        Receive<ClusterEvent.UnreachableMember>(e => _log.Warning("member unreachable: {0}", e.Member.Address));
        Receive<ClusterEvent.ReachableMember>(e => _log.Info("member reachable again: {0}", e.Member.Address));
        Receive<ClusterEvent.IMemberEvent>(_ => { });
        cluster.RegisterOnMemberUp(() => _log.Info("node {0} is Up in the cluster as {1}", node.NodeName, cluster.SelfAddress));
        cluster.Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents,
            typeof(ClusterEvent.IMemberEvent), typeof(ClusterEvent.IReachabilityEvent));
    }

    public static Props Props(NodeOptions node) => Akka.Actor.Props.Create(() => new NodeInfoActor(node));
}

public static class NodeInfoHostingExtensions
{
    public static AkkaConfigurationBuilder AddNodeInfo(this AkkaConfigurationBuilder builder, NodeOptions node) =>
        builder.WithActors((system, registry) =>
            registry.Register<NodeInfoActor>(system.ActorOf(NodeInfoActor.Props(node), AkkaKubeNames.Actors.NodeInfo)));
}
