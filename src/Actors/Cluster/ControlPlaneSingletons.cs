using Akka.Actor;
using Akka.Cluster.Hosting;
using Akka.DependencyInjection;
using Akka.Hosting;

namespace AkkaKube.Actors.Cluster;

/// <summary>Where a control-plane singleton's proxy is registered (its registry key resolves to it).</summary>
public enum SingletonProxy
{
    /// <summary>No proxy: nothing on any node talks to the singleton by its key.</summary>
    None,
    /// <summary>A proxy on control-plane nodes only.</summary>
    ControlPlane,
    /// <summary>A proxy on every node (workers too), e.g. for the command host's inspections.</summary>
    EveryNode,
}

public static class ControlPlaneSingletons
{
    /// <summary>
    /// A cluster singleton on the control-plane role. Only control-plane nodes run its manager: a manager on a
    /// node without the role logs an ERROR ("doesn't have the role") at start-up and can never host it, so other
    /// nodes get at most the proxy.
    /// </summary>
    public static AkkaConfigurationBuilder WithControlPlaneSingleton<TKey>(this AkkaConfigurationBuilder builder, NodeOptions node,
        string name, Func<ActorSystem, IActorRegistry, IDependencyResolver, Props> props, SingletonProxy proxy)
    {
        var options = new ClusterSingletonOptions { Role = AkkaKubeNames.Roles.ControlPlane };
        if (node.ControlPlane) return builder.WithSingleton<TKey>(name, props, options, createProxyToo: proxy != SingletonProxy.None);
        return proxy == SingletonProxy.EveryNode ? builder.WithSingletonProxy<TKey>(name, options) : builder;
    }
}
