using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using Akka.Cluster;
using Akka.Configuration;
using Akka.Event;
using Akka.Hosting;
using Akka.Remote;

namespace AkkaKube.Actors.Cluster;

/// <summary>Settings of <see cref="RefusedMemberDowning"/> (HOCON `akkakube.cluster.down-refused-members`).</summary>
public sealed record RefusedMemberDowningSettings(bool Enabled, TimeSpan ProbeInterval, int RefusalsToDown, TimeSpan WatchAfterDisassociation, TimeSpan ConnectTimeout)
{
    public static RefusedMemberDowningSettings Create(Config config)
    {
        var c = config.GetConfig("akkakube.cluster.down-refused-members")
            ?? throw new ConfigurationException("akkakube.cluster.down-refused-members is missing (hocon/base.conf)");
        var settings = new RefusedMemberDowningSettings(
            c.GetBoolean("enabled", true),
            c.GetTimeSpan("probe-interval", TimeSpan.FromMilliseconds(100)),
            c.GetInt("refusals-to-down", 2),
            c.GetTimeSpan("watch-after-disassociation", TimeSpan.FromSeconds(3)),
            c.GetTimeSpan("connect-timeout", TimeSpan.FromMilliseconds(500)));
        if (settings.ProbeInterval <= TimeSpan.Zero) throw new ConfigurationException("akkakube.cluster.down-refused-members.probe-interval must be > 0");
        if (settings.RefusalsToDown < 1) throw new ConfigurationException("akkakube.cluster.down-refused-members.refusals-to-down must be >= 1");
        if (settings.ConnectTimeout <= TimeSpan.Zero) throw new ConfigurationException("akkakube.cluster.down-refused-members.connect-timeout must be > 0");
        return settings;
    }
}

/// <summary>
/// Pure bookkeeping of <see cref="RefusedMemberDowning"/>: which members are suspects, how many refusals in a row
/// each has, and whether it is time to down one. A suspect is a member whose association dropped or which the
/// failure detector calls unreachable; it stays a suspect while unreachable, or for a window after a drop.
/// </summary>
public sealed class RefusalTracker(int refusalsToDown, TimeSpan watchAfterDisassociation)
{
    private sealed class Suspect
    {
        public int Refusals;
        public bool Unreachable;
        public DateTime WatchUntil;
    }

    private readonly Dictionary<Address, Suspect> _suspects = new();

    public IReadOnlyCollection<Address> Suspects => _suspects.Keys;

    public void Disassociated(Address address, DateTime now)
    {
        var s = Get(address);
        s.WatchUntil = Max(s.WatchUntil, now + watchAfterDisassociation);
    }

    public void Unreachable(Address address) => Get(address).Unreachable = true;

    public void Reachable(Address address)
    {
        if (!_suspects.TryGetValue(address, out var s)) return;
        s.Unreachable = false;
        s.Refusals = 0;
    }

    public void Forget(Address address) => _suspects.Remove(address);

    /// <summary>Records a probe's result; true when the member has now refused <c>refusalsToDown</c> times in a row.</summary>
    public bool Probed(Address address, bool refused)
    {
        if (!_suspects.TryGetValue(address, out var s)) return false;
        s.Refusals = refused ? s.Refusals + 1 : 0;
        return s.Refusals >= refusalsToDown;
    }

    /// <summary>Drops suspects whose watch window ran out while reachable; returns those to probe now.</summary>
    public IReadOnlyList<Address> DueForProbe(DateTime now)
    {
        foreach (var (address, s) in _suspects.ToList())
            if (!s.Unreachable && s.WatchUntil <= now) _suspects.Remove(address);
        return _suspects.Keys.ToList();
    }

    private Suspect Get(Address address)
    {
        if (!_suspects.TryGetValue(address, out var s)) _suspects[address] = s = new Suspect();
        return s;
    }

    private static DateTime Max(DateTime a, DateTime b) => a > b ? a : b;
}

/// <summary>
/// Downs a cluster member at once when its process is provably gone: on loopback, a TCP connect to the member's
/// remoting port that is refused (RST) means no socket listens there, so the incarnation that held it has exited
/// (a stalled or overloaded process still accepts: its kernel completes the handshake). That is fencing by
/// evidence instead of by time, so it is safe where the Split Brain Resolver has to wait (`stable-after`) for a
/// failure detector that cannot tell a dead process from a slow one. It only speeds up the kill -9 case; a
/// frozen process, a stalled one, or a member on a non-loopback address is left to the failure detector and SBR.
/// Probes start when an association to the member drops or the failure detector reports it unreachable.
/// Runs on control-plane nodes; every one may down (Down is idempotent).
/// </summary>
public sealed class RefusedMemberDowning : ReceiveActor, IWithTimers
{
    private sealed record Tick
    {
        public static readonly Tick Instance = new();
    }

    private sealed record ProbeResult(Address Address, bool Refused, string Detail);

    /// <summary>Published on the local event stream after every probe (what the log says at debug, for tests and diagnostics).</summary>
    public sealed record Probed(Address Address, bool Refused, string Detail);

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Akka.Cluster.Cluster _cluster = Akka.Cluster.Cluster.Get(Context.System);
    private readonly RefusedMemberDowningSettings _settings;
    private readonly RefusalTracker _tracker;
    private readonly HashSet<Address> _probing = [];
    private readonly HashSet<Address> _downed = [];

    public ITimerScheduler Timers { get; set; } = null!;

    public RefusedMemberDowning(RefusedMemberDowningSettings settings)
    {
        _settings = settings;
        _tracker = new RefusalTracker(settings.RefusalsToDown, settings.WatchAfterDisassociation);
        Receive<DisassociatedEvent>(e => Suspect(e.RemoteAddress, "association dropped", unreachable: false));
        Receive<AssociationErrorEvent>(e => Suspect(e.RemoteAddress, "association error", unreachable: false));
        Receive<ClusterEvent.UnreachableMember>(e => Suspect(e.Member.Address, "unreachable", unreachable: true));
        Receive<ClusterEvent.ReachableMember>(e => _tracker.Reachable(e.Member.Address));
        Receive<ClusterEvent.MemberRemoved>(e =>
        {
            _tracker.Forget(e.Member.Address);
            _downed.Remove(e.Member.Address);
        });
        Receive<ClusterEvent.IClusterDomainEvent>(_ => { });
        Receive<Tick>(_ => ProbeDue());
        Receive<ProbeResult>(OnProbeResult);
    }

    protected override void PreStart()
    {
        Context.System.EventStream.Subscribe(Self, typeof(DisassociatedEvent));
        Context.System.EventStream.Subscribe(Self, typeof(AssociationErrorEvent));
        _cluster.Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents,
            typeof(ClusterEvent.IReachabilityEvent), typeof(ClusterEvent.MemberRemoved));
        Timers.StartPeriodicTimer("probe", Tick.Instance, _settings.ProbeInterval);
    }

    protected override void PostStop()
    {
        Context.System.EventStream.Unsubscribe(Self);
        _cluster.Unsubscribe(Self);
    }

    private void Suspect(Address address, string why, bool unreachable)
    {
        // Only members whose process can be probed on loopback, and never ourselves.
        if (address.Equals(_cluster.SelfAddress) || !ProbeableMember(address)) return;
        if (unreachable) _tracker.Unreachable(address);
        else _tracker.Disassociated(address, DateTime.UtcNow);
        _log.Debug("probing {0}'s remoting port ({1})", address, why);
        ProbeDue();
    }

    /// <summary>A member that is Up/Joining/WeaklyUp (a leaving one hands over on its own) at a loopback IP address.</summary>
    private bool ProbeableMember(Address address)
    {
        var member = _cluster.State.Members.FirstOrDefault(m => m.Address.Equals(address));
        if (member is null || member.Status is not (MemberStatus.Up or MemberStatus.Joining or MemberStatus.WeaklyUp)) return false;
        return address.Host is { } host && IPAddress.TryParse(host, out var ip) && IPAddress.IsLoopback(ip) && address.Port is > 0;
    }

    private void ProbeDue()
    {
        foreach (var address in _tracker.DueForProbe(DateTime.UtcNow))
        {
            if (_probing.Contains(address) || _downed.Contains(address)) continue;
            if (!ProbeableMember(address))
            {
                _tracker.Forget(address);
                continue;
            }
            _probing.Add(address);
            ProbeAsync(address, _settings.ConnectTimeout).PipeTo(Self);
        }
    }

    private static async Task<ProbeResult> ProbeAsync(Address address, TimeSpan timeout)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await socket.ConnectAsync(IPAddress.Parse(address.Host!), address.Port!.Value, cts.Token).ConfigureAwait(false);
            return new ProbeResult(address, false, "accepted");
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
        {
            return new ProbeResult(address, true, "refused");
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            // A timeout or any other error is no proof of death.
            return new ProbeResult(address, false, e is OperationCanceledException ? "timed out" : ((SocketException)e).SocketErrorCode.ToString());
        }
    }

    private void OnProbeResult(ProbeResult result)
    {
        _probing.Remove(result.Address);
        Context.System.EventStream.Publish(new Probed(result.Address, result.Refused, result.Detail));
        if (!_tracker.Probed(result.Address, result.Refused)) return;
        if (!ProbeableMember(result.Address)) return;
        _downed.Add(result.Address);
        _tracker.Forget(result.Address);
        _log.Warning("downing {0}: its remoting port refused {1} connections in a row, so its process is gone", result.Address, _settings.RefusalsToDown);
        // Quarantining the dead incarnation makes the cluster mark it Terminated in the reachability table at once, so
        // the leader removes it right after the Down instead of waiting for the failure detector's verdict.
        if (_cluster.State.Members.FirstOrDefault(m => m.Address.Equals(result.Address)) is { } member)
            ((IRemoteActorRefProvider)((ExtendedActorSystem)Context.System).Provider).Quarantine(member.Address, member.UniqueAddress.Uid);
        _cluster.Down(result.Address);
    }

    public static Props Props(RefusedMemberDowningSettings settings) => Akka.Actor.Props.Create(() => new RefusedMemberDowning(settings));
}

public static class RefusedMemberDowningHostingExtensions
{
    /// <summary>Starts <see cref="RefusedMemberDowning"/> on control-plane nodes when `akkakube.cluster.down-refused-members.enabled`.</summary>
    public static AkkaConfigurationBuilder AddRefusedMemberDowning(this AkkaConfigurationBuilder builder, NodeOptions node) =>
        !node.ControlPlane
            ? builder
            : builder.WithActors((system, _) =>
            {
                var settings = RefusedMemberDowningSettings.Create(system.Settings.Config);
                if (settings.Enabled) system.ActorOf(RefusedMemberDowning.Props(settings), AkkaKubeNames.Actors.RefusedMemberDowning);
            });
}
