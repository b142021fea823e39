using System.Net;
using Akka.Actor;
using Akka.Hosting;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Cluster;

namespace AkkaKube.Actors.Dns;

/// <summary>Where a node's cluster DNS listens, and which address a pod's resolv.conf names (docs/dns.md).</summary>
public static class ClusterDnsAddresses
{
    /// <summary>
    /// The nameserver of pods with dnsPolicy ClusterFirst on this node: the node's own DNS server, reached on port 53.
    /// Process runtime: the node IP (pods share the host's network). cri: the gateway of the node's pod CIDR (the CNI
    /// bridge's address, .1), the node address a pod's network namespace reaches.
    /// </summary>
    public static IPAddress PodNameserver(NodeOptions node, string runtime)
    {
        if (runtime == "cri" && node.PodCidr is { } cidr && IPAddress.TryParse(cidr.Split('/')[0], out var network))
        {
            var b = network.GetAddressBytes();
            b[3] = 1;
            return new IPAddress(b);
        }
        return node.NodeIp;
    }

    /// <summary>
    /// What the node serves: its IP at <see cref="DnsSettings.Port"/> always (no root needed: `dig @NODEIP -p PORT`),
    /// and port <see cref="DnsSettings.PodPort"/> (53) of <see cref="PodNameserver"/> when the process may bind it.
    /// </summary>
    public static IReadOnlyList<IPEndPoint> Endpoints(NodeOptions node, string runtime, DnsSettings settings, bool privileged)
    {
        var list = new List<IPEndPoint> { new(node.NodeIp, settings.Port) };
        if (privileged && settings.PodPort > 0)
        {
            var pod = new IPEndPoint(PodNameserver(node, runtime), settings.PodPort);
            if (!list.Contains(pod)) list.Add(pod);
        }
        return list;
    }

    public static string Runtime(Akka.Configuration.Config config) => config.GetString("akkakube.kubelet.runtime", "process");
}

/// <summary>Registry key of this node's DNS actor.</summary>
public sealed class DnsActorKey;

public static class DnsHostingExtensions
{
    /// <summary>
    /// Cluster DNS: on worker nodes the node-local DNS server (/user/dns); on control-plane nodes the reconciler that
    /// keeps the <c>kube-system/kube-dns</c> Service and its endpoints (the nodes' DNS servers). akkakube.dns.enabled = off: neither.
    /// </summary>
    public static AkkaConfigurationBuilder AddDns(this AkkaConfigurationBuilder builder, NodeOptions node,
        Func<ActorSystem, IActorRegistry, IKubeApi>? api = null)
    {
        return builder.WithActors((system, registry, _) =>
        {
            var settings = DnsSettings.Create(system.Settings.Config);
            if (!settings.Enabled) return;
            var kubeApi = api?.Invoke(system, registry) ?? ApiServer.KubeApi.Get(system).Api;
            if (node.Worker)
            {
                var endpoints = ClusterDnsAddresses.Endpoints(node, ClusterDnsAddresses.Runtime(system.Settings.Config), settings,
                    Environment.IsPrivilegedProcess);
                // Reads as the node's kube-proxy (system:node-proxier may list/watch Services and EndpointSlices): the two
                // share one informer per resource instead of watching twice (docs/decisions.md).
                var reader = Security.ComponentIdentities.As(kubeApi, Security.ComponentIdentities.KubeProxy);
                registry.Register<DnsActorKey>(system.ActorOf(DnsActor.Props(reader, settings, endpoints), AkkaKubeNames.Actors.Dns));
            }
            if (node.ControlPlane)
                system.ActorOf(KubeDnsServiceReconciler.Props(kubeApi, Services.ServiceNetworkSettings.Create(system.Settings.Config)),
                    AkkaKubeNames.Actors.KubeDnsService);
        });
    }
}
