using System.Net;
using System.Text.Json.Nodes;
using Akka.Actor;
using Akka.Event;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Machinery;
using k8s;
using k8s.Models;

namespace AkkaKube.Actors.Dns;

/// <summary>
/// Cluster DNS of one node (<c>/user/dns</c>), like NodeLocal DNSCache: it follows Services and EndpointSlices through
/// the process's shared informers, turns them into an immutable <see cref="ClusterZone"/> (coalesced over
/// <see cref="RebuildDelay"/>) and supervises one <see cref="DnsListenerActor"/> per address it serves, started once both
/// informers have synced — a server that answered before would hand out NXDOMAINs that clients cache.
/// A crashed listener is restarted by this actor (default one-for-one); a crash of this actor restarts it and it
/// re-subscribes, getting the whole cache again.
/// </summary>
public sealed class DnsActor : ReceiveActor, IWithTimers
{
    public static readonly TimeSpan RebuildDelay = TimeSpan.FromMilliseconds(50);
    private const string RebuildTimer = "rebuild";

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly IKubeApi _api;
    private readonly DnsSettings _settings;
    private readonly IReadOnlyList<IPEndPoint> _endpoints;
    private readonly ZoneHolder _zone;
    private readonly DnsForwarder _forwarder;
    private readonly DnsQueryHandler _handler;
    private readonly Dictionary<string, V1Service> _services = new(StringComparer.Ordinal);
    private readonly Dictionary<string, V1EndpointSlice> _slices = new(StringComparer.Ordinal);
    private readonly List<IActorRef> _listeners = [];
    private bool _servicesSynced;
    private bool _slicesSynced;
    private uint _serial = (uint)DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    public ITimerScheduler Timers { get; set; } = null!;

    public DnsActor(IKubeApi api, DnsSettings settings, IReadOnlyList<IPEndPoint> endpoints)
    {
        _api = api;
        _settings = settings;
        _endpoints = endpoints;
        _zone = new ZoneHolder(ClusterZone.Empty(settings.ClusterDomain, settings.Ttl));
        var upstreams = settings.Upstreams.Count > 0 ? settings.Upstreams : ResolvConf.Load(settings.ResolvConf).NameserverEndpoints();
        // Never forward to ourselves: a host whose resolv.conf names this node's DNS would loop.
        upstreams = upstreams.Where(u => !endpoints.Contains(u)).ToList();
        _forwarder = new DnsForwarder(upstreams, settings);
        _handler = new DnsQueryHandler(() => _zone.Current, _forwarder, settings);

        Receive<InformerProtocol.Synced>(synced =>
        {
            if (synced.Resource == ApiResource.Services)
            {
                _services.Clear();
                foreach (var (key, obj) in synced.Objects) Put(_services, key, obj);
                _servicesSynced = true;
            }
            else
            {
                _slices.Clear();
                foreach (var (key, obj) in synced.Objects) Put(_slices, key, obj);
                _slicesSynced = true;
            }
            ScheduleRebuild();
        });
        Receive<InformerProtocol.Added>(e => Changed(e.Resource, e.Key, e.Object));
        Receive<InformerProtocol.Updated>(e => Changed(e.Resource, e.Key, e.New));
        Receive<InformerProtocol.Deleted>(e =>
        {
            if (e.Resource == ApiResource.Services) _services.Remove(e.Key);
            else _slices.Remove(e.Key);
            ScheduleRebuild();
        });
        Receive<Rebuild>(_ => RebuildZone());
        ReceiveAsync<DnsProtocol.GetListening>(async _ =>
        {
            var sender = Sender;
            var listening = new List<DnsProtocol.Listening>();
            foreach (var l in _listeners)
                listening.Add(await l.Ask<DnsProtocol.Listening>(DnsProtocol.GetListening.Instance, TimeSpan.FromSeconds(5)));
            sender.Tell(new DnsProtocol.Status(_servicesSynced && _slicesSynced, _services.Count, listening));
        });
    }

    public static Props Props(IKubeApi api, DnsSettings settings, IReadOnlyList<IPEndPoint> endpoints) =>
        Akka.Actor.Props.Create(() => new DnsActor(api, settings, endpoints));

    private sealed class Rebuild
    {
        public static readonly Rebuild Instance = new();
    }

    /// <summary>The zone the server threads read; replaced whole by the actor (a reference write is atomic).</summary>
    private sealed class ZoneHolder(ClusterZone initial)
    {
        private ClusterZone _current = initial;
        public ClusterZone Current
        {
            get => Volatile.Read(ref _current);
            set => Volatile.Write(ref _current, value);
        }
    }

    protected override void PreStart()
    {
        SharedInformers.Get(Context.System).Subscribe(_api, new InformerOptions(ApiResource.Services), Self);
        SharedInformers.Get(Context.System).Subscribe(_api, new InformerOptions(ApiResource.EndpointSlices), Self);
        _log.Info("cluster DNS for {0}: upstreams [{1}]", _settings.ClusterDomain, string.Join(", ", _forwarder.Upstreams));
    }

    protected override void PostStop() => _forwarder.Dispose();

    private void Changed(ApiResource resource, string key, JsonObject obj)
    {
        if (resource == ApiResource.Services) Put(_services, key, obj);
        else Put(_slices, key, obj);
        ScheduleRebuild();
    }

    private void Put<T>(Dictionary<string, T> into, string key, JsonObject obj)
    {
        try
        {
            into[key] = KubernetesJson.Deserialize<T>(obj.ToJsonString());
        }
        catch (System.Text.Json.JsonException e)
        {
            _log.Warning("ignoring unreadable object {0}: {1}", key, e.Message);
        }
    }

    private void ScheduleRebuild()
    {
        if (!_servicesSynced || !_slicesSynced) return;
        if (!Timers.IsTimerActive(RebuildTimer)) Timers.StartSingleTimer(RebuildTimer, Rebuild.Instance, RebuildDelay);
    }

    private void RebuildZone()
    {
        _zone.Current = ClusterZone.Build(_settings.ClusterDomain, _settings.Ttl, ++_serial, _services.Values, _slices.Values);
        if (_listeners.Count > 0) return;
        foreach (var endpoint in _endpoints)
            _listeners.Add(Context.ActorOf(DnsListenerActor.Props(endpoint, _handler, _settings),
                $"listener-{endpoint.Address}-{endpoint.Port}"));
    }
}
