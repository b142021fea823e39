using Akka.Actor;
using Akka.Hosting;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Cluster;
using AkkaKube.Actors.Proxy;

namespace AkkaKube.Actors.Netpol;

/// <summary>Registry key of this node's NetworkPolicy actor.</summary>
public sealed class NetpolActorKey;

public static class NetpolHostingExtensions
{
    /// <summary>
    /// Why a node in <paramref name="mode"/> with <paramref name="runtime"/> cannot enforce NetworkPolicy, or null when it
    /// can (kube-proxy's nftables mode: pods in their own network namespaces, routed through the host's forward hook).
    /// </summary>
    public static string? NotEnforcedReason(ProxyModeDecision mode, string runtime) => mode.Mode == ProxyMode.Nftables ? null : runtime switch
    {
        "process" => "the process runtime runs pods as host processes on loopback addresses without network namespaces of their own, " +
                     "so no packet path of a pod can be filtered (policies are enforced by the cri runtime: `akkakube up --runtime containerd`)",
        "cri" => (mode.Unavailable ?? "kube-proxy runs in the userspace mode (akkakube.proxy.mode)") + "; policies are enforced only in the nftables mode",
        _ => $"the {runtime} runtime has no pod network",
    };

    /// <summary>
    /// The NetworkPolicy agent on worker nodes (docs/network-policy.md): in kube-proxy's nftables mode it programs the node's
    /// policy table; otherwise it reports every policy NotEnforced. <paramref name="api"/> as in AddProxy.
    /// </summary>
    public static AkkaConfigurationBuilder AddNetworkPolicy(this AkkaConfigurationBuilder builder, NodeOptions node,
        Func<ActorSystem, IActorRegistry, IKubeApi>? api = null)
    {
        if (!node.Worker) return builder;
        return builder.WithActors((system, registry, _) =>
        {
            var kubeApi = Security.ComponentIdentities.As(api?.Invoke(system, registry) ?? ApiServer.KubeApi.Get(system).Api,
                Security.ComponentIdentities.NetworkPolicy);
            var config = system.Settings.Config;
            var mode = ProxyModes.Resolve(config);
            var reason = NotEnforcedReason(mode, config.GetString("akkakube.kubelet.runtime", "process"));
            registry.Register<NetpolActorKey>(system.ActorOf(
                NetpolActor.Props(kubeApi, ProxySettings.Create(config), new NetpolNode(NetpolRules.TableFor(node.NodeName), node.NodeName),
                    reason is null ? new NftCommand() : null, reason),
                AkkaKubeNames.Actors.Netpol));
        });
    }
}
