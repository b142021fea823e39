using System.Text.Json.Nodes;
using Akka.Actor;
using Akka.Event;
using Akka.Hosting;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Cluster;
using k8s.Models;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.Proxy;

/// <summary>
/// kube-proxy of one worker node (<c>/user/proxy</c>): watches Services and EndpointSlices through informers and, in
/// the user-space mode, computes the frontends this node serves (<see cref="ProxyRules"/>) and keeps one
/// <see cref="ServiceListenerActor"/> per frontend: new frontends bind, changed endpoints are swapped
/// into the running listener, vanished frontends stop (their established connections keep running).
/// In the nftables mode (<see cref="ProxyModes"/>) it instead writes the node's nftables table (<see cref="NftRules"/>)
/// as one transaction per sync, retries a failed one with back-off, and removes the table when it stops.
/// </summary>
public sealed class ProxyActor : ReceiveActor, IWithTimers
{
    private const string SyncTimer = "sync";
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly NodeOptions _node;
    private readonly IKubeApi _api;
    private readonly ProxySettings _settings;
    private readonly ConnectionSet _connections = new();
    private readonly Dictionary<string, V1Service> _services = new(StringComparer.Ordinal);
    private readonly Dictionary<string, V1EndpointSlice> _slices = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (IActorRef Actor, ListenerSpec Spec)> _listeners = new(StringComparer.Ordinal);
    private bool _servicesSynced;
    private bool _slicesSynced;
    private readonly ProxyModeDecision _mode;
    private readonly INftables? _nft;
    private readonly NftNode? _nftNode;
    private string? _applied; // the transaction the kernel holds
    private bool _applying;
    private bool _dirty;
    private int _failures;
    private readonly HashSet<string> _networkDone = new(StringComparer.Ordinal);

    public ITimerScheduler Timers { get; set; } = null!;

    public ProxyActor(NodeOptions node, IKubeApi api, ProxySettings settings)
        : this(node, api, settings, new ProxyModeDecision(ProxyMode.Userspace, ProxyMode.Userspace, null), null, null)
    {
    }

    public ProxyActor(NodeOptions node, IKubeApi api, ProxySettings settings, ProxyModeDecision mode, INftables? nft, NftNode? nftNode)
    {
        _node = node;
        _api = api;
        _settings = settings;
        _mode = nft is not null && nftNode is not null ? mode : mode with { Mode = ProxyMode.Userspace };
        _nft = nft;
        _nftNode = nftNode;
        Receive<InformerProtocol.Synced>(synced =>
        {
            if (synced.Resource == ApiResource.Services)
            {
                _services.Clear();
                foreach (var (key, obj) in synced.Objects) Put(_services, key, obj, ProxyRules.ToService);
                _servicesSynced = true;
            }
            else
            {
                _slices.Clear();
                foreach (var (key, obj) in synced.Objects) Put(_slices, key, obj, ProxyRules.ToSlice);
                _slicesSynced = true;
            }
            ScheduleSync();
        });
        Receive<InformerProtocol.Added>(e => Changed(e.Resource, e.Key, e.Object));
        Receive<InformerProtocol.Updated>(e => Changed(e.Resource, e.Key, e.New));
        Receive<InformerProtocol.Deleted>(e =>
        {
            if (e.Resource == ApiResource.Services) _services.Remove(e.Key);
            else _slices.Remove(e.Key);
            ScheduleSync();
        });
        Receive<SyncNow>(_ => Sync());
        Receive<NftApplied>(Applied);
        Receive<ProxyProtocol.GetMode>(_ => Sender.Tell(new ProxyProtocol.ModeStatus(_mode, _nftNode?.Table, _applied is not null, _failures)));
        Receive<ProxyProtocol.GetListeners>(_ => Sender.Tell(new ProxyProtocol.Listeners(
            _listeners.Values.Select(l => l.Spec).OrderBy(s => s.Key, StringComparer.Ordinal).ToList(), _connections.Active)));
        Receive<Terminated>(t =>
        {
            foreach (var (key, entry) in _listeners.Where(l => l.Value.Actor.Equals(t.ActorRef)).ToList())
                _listeners.Remove(key);
            ScheduleSync();
        });
    }

    public static Props Props(NodeOptions node, IKubeApi api, ProxySettings settings) =>
        Akka.Actor.Props.Create(() => new ProxyActor(node, api, settings));

    public static Props Props(NodeOptions node, IKubeApi api, ProxySettings settings, ProxyModeDecision mode, INftables? nft, NftNode? nftNode) =>
        Akka.Actor.Props.Create(() => new ProxyActor(node, api, settings, mode, nft, nftNode));

    private sealed class SyncNow
    {
        public static readonly SyncNow Instance = new();
    }

    private sealed record NftApplied(string Script, NftResult Result, int ServicePorts, TimeSpan Took);

    protected override void PreStart()
    {
        if (_mode.Unavailable is not null) _log.Warning("kube-proxy runs in the userspace mode: {0}", _mode.Unavailable);
        else _log.Info("kube-proxy runs in the {0} mode{1}", _mode.Name, _nftNode is null ? "" : $" (table ip {_nftNode.Table})");
        if (_nftNode is { ServiceCidr: null })
            _log.Warning("kube-proxy in the nftables mode with a loopback service CIDR: pods cannot reach loopback ClusterIPs, so none is programmed (a cri cluster's range is 10.96.0.0/16-like: akkakube.services.service-cidr, `up --runtime containerd` sets it)");
        SharedInformers.Get(Context.System).Subscribe(_api, new InformerOptions(ApiResource.Services), Self);
        SharedInformers.Get(Context.System).Subscribe(_api, new InformerOptions(ApiResource.EndpointSlices), Self);
    }

    protected override void PostStop()
    {
        _connections.CloseAll();
        if (_nft is null || _nftNode is null || _mode.Mode != ProxyMode.Nftables) return;
        // `down` and graceful stops leave no rules behind; a kill -9 leaves them, and the next start rewrites them.
        try
        {
            var result = _nft.ApplyAsync(NftRules.Remove(_nftNode.Table)).Wait(TimeSpan.FromSeconds(10)) ? "removed" : "removal timed out";
            _log.Info("nftables table {0} {1}", _nftNode.Table, result);
        }
        catch (AggregateException e)
        {
            _log.Warning("removing nftables table {0} failed: {1}", _nftNode.Table, e.GetBaseException().Message);
        }
    }

    private void Changed(ApiResource resource, string key, JsonObject obj)
    {
        if (resource == ApiResource.Services) Put(_services, key, obj, ProxyRules.ToService);
        else Put(_slices, key, obj, ProxyRules.ToSlice);
        ScheduleSync();
    }

    private void Put<T>(Dictionary<string, T> into, string key, JsonObject obj, Func<JsonObject, T> convert)
    {
        try
        {
            into[key] = convert(obj);
        }
        catch (System.Text.Json.JsonException e)
        {
            _log.Warning("ignoring unreadable object {0}: {1}", key, e.Message);
        }
    }

    private void ScheduleSync()
    {
        if (!_servicesSynced || !_slicesSynced) return;
        if (!Timers.IsTimerActive(SyncTimer))
            Timers.StartSingleTimer(SyncTimer, SyncNow.Instance, _settings.MinSyncPeriod);
    }

    private void Sync()
    {
        if (_mode.Mode == ProxyMode.Nftables)
        {
            SyncNftables();
            return;
        }
        var desired = ProxyRules.Compute(
            _services.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => s.Value),
            _slices.Values, _node.NodeName, _node.NodeIp);
        foreach (var (key, entry) in _listeners.ToList())
        {
            if (!desired.ContainsKey(key))
            {
                Context.Unwatch(entry.Actor);
                Context.Stop(entry.Actor);
                _listeners.Remove(key);
                _log.Info("stopped serving {0} ({1})", key, entry.Spec.Service);
            }
        }
        foreach (var (key, spec) in desired)
        {
            if (_listeners.TryGetValue(key, out var running))
            {
                if (running.Spec != spec)
                {
                    if (!running.Spec.SameRules(spec))
                        _log.Info("{0} ({1}) → [{2}]", key, spec.Service, string.Join(", ", spec.Rules.Backends));
                    running.Actor.Tell(new ProxyProtocol.UpdateListener(spec));
                    _listeners[key] = (running.Actor, spec);
                }
                continue;
            }
            var actor = Context.ActorOf(ServiceListenerActor.Props(spec, _connections, _settings),
                "listener-" + Uri.EscapeDataString(key.Replace(':', '-')));
            Context.Watch(actor);
            _listeners[key] = (actor, spec);
        }
    }

    /// <summary>
    /// Renders the table and applies it unless the kernel holds exactly that already; one transaction at a time (a sync
    /// asked for meanwhile runs when it ends), so a burst of changes within min-sync-period is one transaction.
    /// </summary>
    private void SyncNftables()
    {
        if (_applying)
        {
            _dirty = true;
            return;
        }
        EnsureNodeNetwork();
        var rules = NftRules.Compute(_services.Values, _slices.Values, _node.NodeName);
        var script = NftRules.Render(_nftNode!, rules);
        if (script == _applied) return;
        _applying = true;
        var nft = _nft!;
        var table = _nftNode!.Table;
        var started = DateTime.UtcNow;
        async Task<NftResult> Apply()
        {
            // The rewrite replaces the whole table: clients' affinity entries are carried over into the new one.
            var carried = script.Contains("set affinity-", StringComparison.Ordinal)
                ? NftRules.CarryOverAffinity(table, await nft.ListTableJsonAsync("ip", table).ConfigureAwait(false), script)
                : "";
            return await nft.ApplyAsync(script + carried).ConfigureAwait(false);
        }
        Apply().PipeTo(Self,
            success: r => new NftApplied(script, r, rules.Count, DateTime.UtcNow - started),
            failure: e => new NftApplied(script, new NftResult(false, e.GetBaseException().Message), rules.Count, DateTime.UtcNow - started));
    }

    private void Applied(NftApplied a)
    {
        _applying = false;
        if (a.Result.Ok)
        {
            if (_failures > 0) _log.Info("nftables table {0} written after {1} failed attempts", _nftNode!.Table, _failures);
            _failures = 0;
            _applied = a.Script;
            _log.Info("nftables table {0}: {1} service ports ({2} ms)", _nftNode!.Table, a.ServicePorts, (int)a.Took.TotalMilliseconds);
        }
        else
        {
            _failures++;
            var retry = TimeSpan.FromTicks(Math.Min(_settings.NftMaxRetry.Ticks, _settings.NftMinRetry.Ticks << Math.Min(_failures - 1, 16)));
            var head = string.Join("\n", a.Script.Split('\n').Take(6));
            _log.Warning("nft failed (attempt {0}; retrying in {1}): {2}\ntransaction began:\n{3}", _failures, retry, a.Result.Error, head);
            Timers.StartSingleTimer(SyncTimer, SyncNow.Instance, retry);
            return;
        }
        if (_dirty)
        {
            _dirty = false;
            ScheduleSync();
        }
    }

    /// <summary>route_localnet on this node's pod bridge once it exists, bridge-nf-call-iptables once (see <see cref="NodeNetwork"/>).</summary>
    private void EnsureNodeNetwork()
    {
        if (!OperatingSystem.IsLinux() || !Environment.IsPrivilegedProcess || _nftNode!.PodCidr is null) return;
        if (_networkDone.Add("bridge-nf") && NodeNetwork.EnsureSysctl("net/bridge/bridge-nf-call-iptables", "1") is { } done)
            _log.Info("host network: {0}", done);
        if (NodeNetwork.Gateway(_nftNode.PodCidr) is not { } gateway || NodeNetwork.InterfaceWith(gateway) is not { } bridge) return;
        if (_networkDone.Add(bridge) && NodeNetwork.EnsureSysctl($"net/ipv4/conf/{bridge}/route_localnet", "1") is { } set)
            _log.Info("host network: {0}", set);
    }
}

/// <summary>Registry key of this node's proxy actor.</summary>
public sealed class ProxyActorKey;

public static class ProxyHostingExtensions
{
    /// <summary>
    /// What this node's table is written for: NodePorts on the node IP and its pod bridge's gateway; the service CIDR is
    /// closed only when it is not loopback (a loopback range is a process-runtime cluster's, perhaps another one on this host).
    /// </summary>
    public static NftNode NftNodeOf(NodeOptions node, ProxySettings settings, Akka.Configuration.Config config)
    {
        var ips = new List<System.Net.IPAddress> { node.NodeIp };
        if (NodeNetwork.Gateway(node.PodCidr) is { } gateway) ips.Add(gateway);
        var serviceCidr = Services.ServiceNetworkSettings.Create(config).ServiceCidr;
        return new NftNode(NftRules.TableFor(node.NodeName), node.NodeName, ips, node.PodCidr, settings.ClusterCidr,
            serviceCidr.StartsWith("127.", StringComparison.Ordinal) ? null : serviceCidr);
    }

    /// <summary>
    /// Runs kube-proxy on worker nodes. <paramref name="api"/> gives the in-cluster API (the apiserver's
    /// <c>IKubeApi</c>); when null it is the KubeApi extension (AddApiServer).
    /// </summary>
    public static AkkaConfigurationBuilder AddProxy(this AkkaConfigurationBuilder builder, NodeOptions node,
        Func<ActorSystem, IActorRegistry, IKubeApi>? api = null)
    {
        if (!node.Worker) return builder;
        return builder.WithActors((system, registry, resolver) =>
        {
            var kubeApi = Security.ComponentIdentities.As(api?.Invoke(system, registry) ?? AkkaKube.Actors.ApiServer.KubeApi.Get(system).Api, Security.ComponentIdentities.KubeProxy);
            var settings = ProxySettings.Create(system.Settings.Config);
            var mode = ProxyModes.Resolve(system.Settings.Config);
            var nftNode = mode.Mode == ProxyMode.Nftables ? NftNodeOf(node, settings, system.Settings.Config) : null;
            registry.Register<ProxyActorKey>(system.ActorOf(
                ProxyActor.Props(node, kubeApi, settings, mode, nftNode is null ? null : new NftCommand(), nftNode), AkkaKubeNames.Actors.Proxy));
        });
    }
}
