using Akka.Actor;
using Akka.Event;
using Akka.Hosting;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Cluster;
using AkkaKube.Actors.Runtime;

namespace AkkaKube.Actors.Kubelet;

/// <summary>Actor-registry key of the hollow kubelets' parent.</summary>
public sealed class HollowKubelets;

public static class KubeletHostingExtensions
{
    /// <summary>
    /// The kubelet of a worker node at /user/kubelet with the runtime HOCON chooses
    /// (<c>akkakube.kubelet.runtime</c>); with <c>akkakube.kubelet.hollow-nodes = N</c> (or AKKAKUBE_HOLLOW_NODES)
    /// instead N hollow kubelets (simulated runtime) named &lt;node&gt;-hollow-&lt;i&gt; at /user/kubelet-hollow-&lt;i&gt;.
    /// Runs only on worker nodes. <paramref name="apiFactory"/> overrides how the in-cluster API is found (default: DI,
    /// then the apiserver's <c>KubeApi</c> extension — so AddApiServer must come first).
    /// </summary>
    public static AkkaConfigurationBuilder AddKubelet(this AkkaConfigurationBuilder builder, NodeOptions node,
        Func<ActorSystem, IActorRegistry, IKubeApi?>? apiFactory = null) =>
        builder.WithActors((system, registry, resolver) =>
        {
            // enabled = off: a worker that runs kube-proxy but no pods (its pods are driven by hand in tests).
            if (!node.Worker || !system.Settings.Config.GetBoolean("akkakube.kubelet.enabled", true)) return;
            var log = Logging.GetLogger(system, "kubelet");
            var settings = WithDns(KubeletSettings.Create(system.Settings.Config), system.Settings.Config, node);
            IKubeApi? api = apiFactory?.Invoke(system, registry) ?? resolver.GetService<IKubeApi>();
            if (api is null)
            {
                try { api = ApiServer.KubeApi.Get(system).Api; }
                catch (InvalidOperationException) { api = null; }
            }
            if (api is null)
            {
                log.Error("no in-cluster API (IKubeApi) is available on node {0}; the kubelet does not start", node.NodeName);
                return;
            }
            foreach (var (name, props) in KubeletProps(system, node, settings, api))
            {
                var actor = system.ActorOf(props, name);
                if (name == AkkaKubeNames.Actors.Kubelet) registry.Register<KubeletActor>(actor);
            }
        });

    /// <summary>The kubelet actors a worker node runs (name → props); public for tests and the bench.</summary>
    public static IEnumerable<(string Name, Props Props)> KubeletProps(ActorSystem system, NodeOptions node, KubeletSettings settings, IKubeApi api)
    {
        var address = ((ExtendedActorSystem)system).Provider.DefaultAddress.ToString();
        var nodeOrdinal = OrdinalOf(node);
        var podCidr = node.PodCidr ?? NodeOptions.PodCidrFor(nodeOrdinal);
        if (settings.HollowNodes == 0)
        {
            IContainerRuntime runtime = settings.Runtime switch
            {
                "simulated" => new SimulatedRuntime(settings.RuntimeSettings, system.Scheduler),
                "cri" => Cri(system, settings.ContainerRuntimeEndpoint!, node.NodeName),
                _ => new ProcessRuntime(settings.RuntimeSettings),
            };
            // kube-proxy may not patch Nodes (system:node-proxier reads them): the kubelet reports its mode, decided the same way.
            var proxyMode = Proxy.ProxyModes.Resolve(system.Settings.Config);
            var identity = Identity(node, node.NodeName, podCidr, address, "/user/" + AkkaKubeNames.Actors.Kubelet, settings, runtime.Name, hollow: false,
                dnsEndpoint: DnsSettingsOf(system) is { Enabled: true } dns ? Dns.KubeDnsServiceReconciler.Announce(node.NodeIp, dns.Port) : null)
                with { ProxyMode = proxyMode.Name, ProxyModeUnavailable = proxyMode.Unavailable };
            yield return (AkkaKubeNames.Actors.Kubelet, KubeletActor.Props(identity, settings, Security.ComponentIdentities.As(api, Security.UserInfo.Node(identity.NodeName)), runtime, node.DataDirectory));
            yield break;
        }
        var simulated = new SimulatedRuntime(settings.RuntimeSettings, system.Scheduler);
        for (var i = 0; i < settings.HollowNodes; i++)
        {
            var ordinal = settings.HollowCidrOffset + (nodeOrdinal * 1000 + i) % Math.Max(1, 16384 - settings.HollowCidrOffset);
            var actorName = $"{AkkaKubeNames.Actors.Kubelet}-hollow-{i}";
            var identity = Identity(node, $"{node.NodeName}-hollow-{i}", NodeOptions.PodCidrFor(ordinal), address, "/user/" + actorName, settings, simulated.Name, hollow: true);
            yield return (actorName, KubeletActor.Props(identity, settings, Security.ComponentIdentities.As(api, Security.UserInfo.Node(identity.NodeName)), simulated, node.DataDirectory, settings.HollowLeaseInterval));
        }
    }

    /// <summary>
    /// Pods' cluster DNS (Kubernetes' --cluster-dns/--cluster-domain): akkakube.kubelet.cluster-dns when given, else this
    /// node's own DNS server (docs/dns.md), none when cluster DNS is off (pods then use the host's resolver).
    /// </summary>
    public static KubeletSettings WithDns(KubeletSettings settings, Akka.Configuration.Config config, NodeOptions node)
    {
        var dns = Dns.DnsSettings.Create(config);
        var configured = config.GetStringList("akkakube.kubelet.cluster-dns") ?? [];
        foreach (var ip in configured)
            if (!System.Net.IPAddress.TryParse(ip, out _))
                throw new Akka.Configuration.ConfigurationException($"akkakube.kubelet.cluster-dns: '{ip}' is not an IP address");
        IReadOnlyList<string> servers = configured.Count > 0 ? configured.ToList()
            : dns.Enabled ? [Dns.ClusterDnsAddresses.PodNameserver(node, settings.Runtime).ToString()] : [];
        return settings with { Dns = new PodDnsSettings(servers, dns.ClusterDomain, dns.ResolvConf) };
    }

    private static Dns.DnsSettings DnsSettingsOf(ActorSystem system) => Dns.DnsSettings.Create(system.Settings.Config);

    /// <summary>
    /// The CRI client of this node, closed with the actor system; each pod's cgroup under /akkakube/&lt;node&gt;. Before any
    /// pod worker starts, it takes back what the runtime still runs for this node (a restarted node process re-adopts its
    /// containers); a runtime that does not answer yet is logged, and its pods start from scratch.
    /// </summary>
    private static Runtime.Cri.CriRuntime Cri(ActorSystem system, string endpoint, string nodeName)
    {
        var cri = new Runtime.Cri.CriRuntime(endpoint, nodeName, $"/akkakube/{nodeName}",
            system.Settings.Config.GetInt("akkakube.kubelet.cri-parallel-starts", 0));
        system.RegisterOnTermination(cri.Dispose);
        var log = Logging.GetLogger(system, "kubelet");
        try
        {
            var recovered = cri.RecoverAsync().WaitAsync(TimeSpan.FromSeconds(30)).GetAwaiter().GetResult();
            if (recovered > 0) log.Info("cri: {0} running container(s) of this node found in the runtime, to be re-adopted by their pod workers", recovered);
        }
        catch (Exception e) when (e is Grpc.Core.RpcException or TimeoutException or HttpRequestException)
        {
            log.Warning("cri: listing what the runtime runs for this node failed ({0}); nothing is re-adopted", e.Message);
        }
        return cri;
    }

    private static int OrdinalOf(NodeOptions node)
    {
        var b = node.NodeIp.GetAddressBytes();
        return b.Length == 4 && b[0] == 127 && b[1] == 1 ? b[2] * 256 + b[3] : 0;
    }

    private static NodeIdentity Identity(NodeOptions node, string name, string podCidr, string address, string path, KubeletSettings settings, string runtime, bool hollow, string? dnsEndpoint = null) => new()
    {
        NodeName = name,
        NodeIp = node.NodeIp.ToString(),
        PodCidr = podCidr,
        Zone = node.Zone,
        Region = node.Region,
        ControlPlane = node.ControlPlane && !hollow,
        Hollow = hollow,
        AkkaAddress = address,
        KubeletPath = path,
        Cpu = settings.CapacityCpu ?? NodeObjects.MachineCpu(),
        Memory = settings.CapacityMemory ?? NodeObjects.MachineMemory(),
        Pods = settings.CapacityPods,
        RuntimeName = runtime,
        VolumesDirectory = VolumeManager.VolumesDirectory(node.DataDirectory, name),
        DnsEndpoint = hollow ? null : dnsEndpoint,
    };
}
