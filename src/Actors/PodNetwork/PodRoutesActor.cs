using System.Net;
using System.Text.Json.Nodes;
using Akka.Actor;
using Akka.Event;
using Akka.Hosting;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Cluster;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.PodNetwork;

/// <summary>Messages of <see cref="PodRoutesActor"/>.</summary>
public static class PodRoutesProtocol
{
    /// <summary>Compare the kernel's routes with the Nodes' pod ranges now (a timer sends it for the periodic resync).</summary>
    public sealed record Reconcile
    {
        public static readonly Reconcile Instance = new();
    }

    /// <summary>A finished pass: what was changed, or why it failed (retried on the next pass).</summary>
    public sealed record Reconciled(int Added, int Removed, string? Error);
}

/// <summary>
/// The routed pod network of one node (<c>/user/pod-routes</c>, with <c>--pod-routes</c>), as a host-gateway CNI agent
/// (flannel's host-gw backend, kube-router) does it: from the Nodes' <c>spec.podCIDR</c> and InternalIP it keeps one
/// kernel route per other node, "podCIDR via nodeIP", adds those of new Nodes, changes those whose address changed,
/// removes those of deleted Nodes, and every resync puts back what someone removed by hand. It manages only routes marked
/// with its own protocol number, so routes of the host or of another agent are never touched. Needs the nodes on one L2
/// segment (the next hop must be directly reachable), as host-gw does; docs/hosts.md.
/// </summary>
public sealed class PodRoutesActor : ReceiveActor, IWithTimers
{
    private const string ResyncTimer = "resync";
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly NodeOptions _node;
    private readonly IKubeApi _api;
    private readonly IPodRouteTable _table;
    private readonly TimeSpan _resync;
    private InformerStore? _nodes;
    private bool _running;
    private bool _dirty;

    public ITimerScheduler Timers { get; set; } = null!;

    public PodRoutesActor(NodeOptions node, IKubeApi api, IPodRouteTable table, TimeSpan resync)
    {
        _node = node;
        _api = api;
        _table = table;
        _resync = resync;
        Receive<InformerProtocol.Synced>(s => Changed(s.Store));
        Receive<InformerProtocol.Added>(e => Changed(e.Store));
        Receive<InformerProtocol.Updated>(e => Changed(e.Store));
        Receive<InformerProtocol.Deleted>(e => Changed(e.Store));
        Receive<PodRoutesProtocol.Reconcile>(_ => Start());
        Receive<PodRoutesProtocol.Reconciled>(r =>
        {
            _running = false;
            if (r.Error is not null) _log.Warning("pod routes: {0} (retried at the next resync)", r.Error);
            else if (r.Added + r.Removed > 0) _log.Info("pod routes: {0} added or changed, {1} removed", r.Added, r.Removed);
            if (_dirty) Start();
        });
    }

    public static Props Props(NodeOptions node, IKubeApi api, IPodRouteTable table, TimeSpan resync) =>
        Akka.Actor.Props.Create(() => new PodRoutesActor(node, api, table, resync));

    protected override void PreStart()
    {
        SharedInformers.Get(Context.System).Subscribe(_api, new InformerOptions(ApiResource.Nodes), Self);
        Timers.StartPeriodicTimer(ResyncTimer, PodRoutesProtocol.Reconcile.Instance, _resync);
    }

    private void Changed(InformerStore store)
    {
        _nodes = store;
        Start();
    }

    private void Start()
    {
        if (_nodes is null) return; // not synced yet: routes from a partial list would remove the others'
        if (_running)
        {
            _dirty = true;
            return;
        }
        _running = true;
        _dirty = false;
        var desired = Desired(_nodes.Objects.Values, _node);
        ApplyAsync(_table, desired).PipeTo(Self, failure: e => new PodRoutesProtocol.Reconciled(0, 0, e.GetBaseException().Message));
    }

    /// <summary>"podCIDR via InternalIP" of every other Node with a routable pod range and address.</summary>
    public static IReadOnlyDictionary<string, PodRoute> Desired(IEnumerable<JsonObject> nodes, NodeOptions self)
    {
        var desired = new Dictionary<string, PodRoute>(StringComparer.Ordinal);
        foreach (var n in nodes)
        {
            if ((string?)n["metadata"]?["name"] == self.NodeName) continue;
            var cidr = (string?)n["spec"]?["podCIDR"];
            if (!PodRouteTable.IsRoutable(cidr, out var normalized) || normalized == self.PodCidr) continue;
            var ip = (n["status"]?["addresses"] as JsonArray)?.OfType<JsonObject>()
                .Where(a => (string?)a["type"] == "InternalIP").Select(a => (string?)a["address"]).FirstOrDefault();
            if (ip is null || !IPAddress.TryParse(ip, out var address) || IPAddress.IsLoopback(address) || address.Equals(self.NodeIp)) continue;
            // A pod range covering a node address (this one's or the next hop's) would replace the route to the nodes
            // themselves: a wrong or hostile Node object must not cut this node off.
            if (Contains(normalized, self.NodeIp) || Contains(normalized, address)) continue;
            desired[normalized] = new PodRoute(normalized, address.ToString());
        }
        return desired;
    }

    private static bool Contains(string cidr, IPAddress address)
    {
        var parts = cidr.Split('/');
        var bits = int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture);
        var network = BitConverter.ToUInt32(IPAddress.Parse(parts[0]).GetAddressBytes().Reverse().ToArray());
        var host = BitConverter.ToUInt32(address.MapToIPv4().GetAddressBytes().Reverse().ToArray());
        var mask = bits == 0 ? 0u : uint.MaxValue << (32 - bits);
        return (network & mask) == (host & mask);
    }

    private static async Task<PodRoutesProtocol.Reconciled> ApplyAsync(IPodRouteTable table, IReadOnlyDictionary<string, PodRoute> desired)
    {
        var actual = await table.ListAsync();
        var added = 0;
        var removed = 0;
        foreach (var route in desired.Values.Where(d => !actual.Contains(d)))
        {
            await table.ReplaceAsync(route);
            added++;
        }
        foreach (var route in actual.Where(a => !desired.TryGetValue(a.Cidr, out var d) || d != a))
        {
            // A changed next hop was replaced above (same destination): only routes no Node wants any more go.
            if (desired.ContainsKey(route.Cidr)) continue;
            await table.DeleteAsync(route);
            removed++;
        }
        return new PodRoutesProtocol.Reconciled(added, removed, null);
    }
}

/// <summary>Akka.Hosting wiring of <see cref="PodRoutesActor"/>.</summary>
public static class PodRoutesHosting
{
    public static AkkaConfigurationBuilder AddPodRoutes(this AkkaConfigurationBuilder builder, NodeOptions node,
        Func<ActorSystem, IActorRegistry, IKubeApi>? api = null, IPodRouteTable? table = null)
    {
        if (!node.PodRoutes) return builder;
        return builder.WithActors((system, registry, _) =>
        {
            // Nodes are read with kube-proxy's identity: system:node-proxier may list and watch them, as a CNI agent's account does.
            var kubeApi = Security.ComponentIdentities.As(api?.Invoke(system, registry) ?? ApiServer.KubeApi.Get(system).Api, Security.ComponentIdentities.KubeProxy);
            var resync = system.Settings.Config.GetTimeSpan("akkakube.pod-routes.resync-interval", TimeSpan.FromSeconds(30));
            system.ActorOf(PodRoutesActor.Props(node, kubeApi, table ?? new PodRouteTable(), resync), AkkaKubeNames.Actors.PodRoutes);
        });
    }
}
