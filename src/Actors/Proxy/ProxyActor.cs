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
/// kube-proxy of one worker node (<c>/user/proxy</c>): watches Services and EndpointSlices through
/// informers, computes the frontends this node serves (<see cref="ProxyRules"/>) and keeps one
/// <see cref="ServiceListenerActor"/> per frontend: new frontends bind, changed endpoints are swapped
/// into the running listener, vanished frontends stop (their established connections keep running).
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

    public ITimerScheduler Timers { get; set; } = null!;

    public ProxyActor(NodeOptions node, IKubeApi api, ProxySettings settings)
    {
        _node = node;
        _api = api;
        _settings = settings;
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

    private sealed class SyncNow
    {
        public static readonly SyncNow Instance = new();
    }

    protected override void PreStart()
    {
        SharedInformers.Get(Context.System).Subscribe(_api, new InformerOptions(ApiResource.Services), Self);
        SharedInformers.Get(Context.System).Subscribe(_api, new InformerOptions(ApiResource.EndpointSlices), Self);
    }

    protected override void PostStop() => _connections.CloseAll();

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
}

/// <summary>Registry key of this node's proxy actor.</summary>
public sealed class ProxyActorKey;

public static class ProxyHostingExtensions
{
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
            registry.Register<ProxyActorKey>(system.ActorOf(ProxyActor.Props(node, kubeApi, settings), AkkaKubeNames.Actors.Proxy));
        });
    }
}
