using System.Net.Sockets;
using Akka.Actor;
using Akka.Event;

namespace AkkaKube.Actors.Proxy;

/// <summary>
/// One frontend of one service port (ClusterIP:port, NodeIP:nodePort, a LoadBalancer IP:port): owns a
/// <see cref="ForwardingListener"/>; endpoint changes swap the balancer's rules in place, so established
/// connections are never touched. A failed bind (address in use by something that is not a proxy) is
/// retried on a timer instead of failing the proxy.
/// </summary>
public sealed class ServiceListenerActor : ReceiveActor, IWithTimers
{
    private const string BindTimer = "bind";
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly ConnectionSet _connections;
    private readonly ProxySettings _settings;
    private ListenerSpec _spec;
    private ForwardingListener? _listener;

    public ITimerScheduler Timers { get; set; } = null!;

    public ServiceListenerActor(ListenerSpec spec, ConnectionSet connections, ProxySettings settings)
    {
        _spec = spec;
        _connections = connections;
        _settings = settings;
        Receive<ProxyProtocol.UpdateListener>(update =>
        {
            _spec = update.Spec;
            _listener?.Update(update.Spec.Rules);
        });
        Receive<Bind>(_ => TryBind());
        Receive<ProxyProtocol.GetListenerState>(_ => Sender.Tell(new ProxyProtocol.ListenerState(
            _spec, _listener is not null, _listener?.LocalEndPoint.Port ?? 0)));
    }

    public static Props Props(ListenerSpec spec, ConnectionSet connections, ProxySettings settings) =>
        Akka.Actor.Props.Create(() => new ServiceListenerActor(spec, connections, settings));

    private sealed class Bind
    {
        public static readonly Bind Instance = new();
    }

    protected override void PreStart() => TryBind();

    protected override void PostStop()
    {
        if (_listener is not null)
            _ = _listener.DisposeAsync().AsTask();
    }

    private bool _privilegedWarned;

    private void TryBind()
    {
        if (_listener is not null) return;
        try
        {
            var log = _log;
            _listener = ForwardingListener.Start(_spec.Frontend, _spec.Rules, _connections, _settings.ConnectTimeout,
                warn: message => log.Warning(message));
            _log.Info("serving {0} ({1} {2}) on {3} → [{4}]", _spec.Service, _spec.Kind, _spec.PortName, _spec.Frontend,
                string.Join(", ", _spec.Rules.Backends));
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AccessDenied && _spec.Frontend.Port < 1024)
        {
            // Not root: say exactly why this service port is not served here, and keep trying quietly.
            if (!_privilegedWarned)
                _log.Warning("cannot serve {0} for {1}: ports below 1024 need root or CAP_NET_BIND_SERVICE " +
                             "(or sysctl net.ipv4.ip_unprivileged_port_start={2}); use a service port >= 1024 or its NodePort meanwhile",
                    _spec.Frontend, _spec.Service, _spec.Frontend.Port);
            _privilegedWarned = true;
            Timers.StartSingleTimer(BindTimer, Bind.Instance, _settings.BindRetry * 10);
        }
        catch (SocketException e)
        {
            _log.Warning("cannot bind {0} for {1}: {2}; retrying in {3}", _spec.Frontend, _spec.Service, e.SocketErrorCode, _settings.BindRetry);
            Timers.StartSingleTimer(BindTimer, Bind.Instance, _settings.BindRetry);
        }
    }
}
