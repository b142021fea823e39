using Akka.Actor;
using Akka.Cluster;
using Akka.Configuration;
using Akka.Event;
using Akka.Remote;
using AkkaKube.Actors.Serialization;

namespace AkkaKube.Actors.Cluster;

/// <summary>Settings of <see cref="ControlPlaneDowning"/>: `stable-after` is the Split Brain Resolver's (both failover
/// profiles set it), the rest is `akkakube.cluster.control-plane-downing` (hocon/base.conf).</summary>
public sealed record ControlPlaneDowningSettings(TimeSpan StableAfter, TimeSpan ViewInterval, TimeSpan ViewTtl)
{
    public static ControlPlaneDowningSettings Create(Config config)
    {
        var c = config.GetConfig("akkakube.cluster.control-plane-downing");
        var settings = new ControlPlaneDowningSettings(
            config.GetTimeSpan("akka.cluster.split-brain-resolver.stable-after", TimeSpan.FromSeconds(20)),
            c?.GetTimeSpan("view-interval", TimeSpan.FromMilliseconds(500)) ?? TimeSpan.FromMilliseconds(500),
            c?.GetTimeSpan("view-ttl", TimeSpan.FromSeconds(3)) ?? TimeSpan.FromSeconds(3));
        if (settings.ViewInterval <= TimeSpan.Zero) throw new ConfigurationException("akkakube.cluster.control-plane-downing.view-interval must be > 0");
        if (settings.ViewTtl <= settings.ViewInterval) throw new ConfigurationException("akkakube.cluster.control-plane-downing.view-ttl must be longer than view-interval");
        return settings;
    }
}

/// <summary>
/// The cluster's downing provider (`akka.cluster.downing-provider-class`), replacing Akka's Split Brain Resolver: Akka's
/// SBR downs every "indirectly connected" member whatever its strategy, so a partition between control planes that the
/// workers bridge, or one lossy worker, downed the whole control plane (docs/failover.md, "Partitions"). This one decides
/// over control-plane links only (<see cref="ControlPlaneDowningRule"/>). Akka creates its actor as a child of the cluster
/// daemon on every node.
/// </summary>
public sealed class ControlPlaneDowningProvider(ActorSystem system, Akka.Cluster.Cluster cluster) : IDowningProvider
{
    /// <summary>Akka's own `down-removal-margin` (1 ms here, docs/failover.md "Fencing"), read from the config because the
    /// cluster settings' property is obsolete.</summary>
    public TimeSpan DownRemovalMargin
    {
        get
        {
            var value = system.Settings.Config.GetString("akka.cluster.down-removal-margin", "off");
            return value is "off" or "" ? TimeSpan.Zero : system.Settings.Config.GetTimeSpan("akka.cluster.down-removal-margin");
        }
    }

    public Props DowningActorProps => ControlPlaneDowning.Props(ControlPlaneDowningSettings.Create(system.Settings.Config), cluster);
}

/// <summary>
/// Every node sends, every `view-interval`, the members its own failure detector finds unreachable to every control
/// plane. A control plane combines its own view with the fresh views of the members it reaches, waits until they have
/// not changed for `stable-after`, and applies <see cref="ControlPlaneDowningRule"/>: outside the control-plane majority
/// it downs itself; as the majority's decider it downs the cut-off control planes and workers.
/// </summary>
public sealed class ControlPlaneDowning : ReceiveActor, IWithTimers
{
    /// <summary>The members <paramref name="Observer"/> (incarnation <paramref name="Uid"/>) finds unreachable.</summary>
    public sealed record View(string Observer, long Uid, string[] Unreachable) : IAkkaKubeMessage;

    /// <summary>Published on the local event stream when this node acts (for tests and diagnostics).</summary>
    public sealed record Decided(DowningDecision Decision);

    private sealed record Tick
    {
        public static readonly Tick Instance = new();
    }

    private sealed record Received(View View, DateTime At);

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Akka.Cluster.Cluster _cluster;
    private readonly ControlPlaneDowningSettings _settings;
    private readonly Dictionary<string, Received> _views = new();
    private string _signature = "";
    private DateTime _stableSince = DateTime.UtcNow;
    private bool _downedOnQuarantine;

    public ITimerScheduler Timers { get; set; } = null!;

    public ControlPlaneDowning(ControlPlaneDowningSettings settings, Akka.Cluster.Cluster cluster)
    {
        _settings = settings;
        _cluster = cluster;
        Receive<View>(v => _views[v.Observer] = new Received(v, DateTime.UtcNow));
        Receive<Tick>(_ => OnTick());
        Receive<ThisActorSystemQuarantinedEvent>(OnQuarantined);
    }

    protected override void PreStart()
    {
        Timers.StartPeriodicTimer("tick", Tick.Instance, _settings.ViewInterval);
        Context.System.EventStream.Subscribe<ThisActorSystemQuarantinedEvent>(Self);
    }

    protected override void PostStop() => Context.System.EventStream.Unsubscribe(Self);

    /// <summary>
    /// A control plane refused this incarnation because it quarantined it: the cluster removed this node after a Down
    /// that never reached it (e.g. lost on a lossy link, or sent while it was cut off). A quarantine is final — no member
    /// will talk to this incarnation again — so the only way back is a new incarnation: down ourselves, which shuts the
    /// process down (`run-coordinated-shutdown-when-down`), and a supervisor starts it again (docs/failover.md, "A
    /// downed member exits"). Akka's own SBR acts on no such signal (akka.net #8482; Akka JVM's SBR does:
    /// DownSelfQuarantinedByRemote). Only control planes are trusted, as only they decide, and only while we see them Up.
    /// </summary>
    private void OnQuarantined(ThisActorSystemQuarantinedEvent e)
    {
        var self = _cluster.SelfMember;
        if (_downedOnQuarantine || self.Status is MemberStatus.Down or MemberStatus.Exiting or MemberStatus.Removed) return;
        var by = _cluster.State.Members.FirstOrDefault(m => m.Address.Equals(e.RemoteAddress));
        if (by is not { Status: MemberStatus.Up or MemberStatus.Leaving } || !by.HasRole(AkkaKubeNames.Roles.ControlPlane) || by.Equals(self))
        {
            _log.Info("control-plane downing: quarantined by {0}, which is not a control plane this node sees Up: ignored", e.RemoteAddress);
            return;
        }
        _log.Warning("control-plane downing: control plane {0} quarantined this incarnation (the cluster removed it; its Down never "
                     + "reached us): downing myself so that the process exits and a new incarnation can join", e.RemoteAddress);
        _downedOnQuarantine = true; // every control plane refuses us at about the same time: act once
        var decision = new DowningDecision([], [self.Address.ToString()], $"quarantined by control plane {e.RemoteAddress}");
        Context.System.EventStream.Publish(new Decided(decision));
        _cluster.Down(self.Address);
        // A removed node cannot converge with members that no longer answer it, so do not wait for its own gossip to act on
        // the Down: shut down now (the same reason Akka gives when a member sees itself Down).
        CoordinatedShutdown.Get(Context.System).Run(CoordinatedShutdown.ClusterDowningReason.Instance);
    }

    /// <summary>The downing actor's path on every node (Akka names it; a child of the cluster daemon).</summary>
    public static string PathOn(Address node) => $"{node}/system/cluster/core/daemon/downingProvider";

    private void OnTick()
    {
        var state = _cluster.State;
        var self = _cluster.SelfMember;
        if (self.Status is not (MemberStatus.Up or MemberStatus.Leaving or MemberStatus.WeaklyUp)) return;
        var live = state.Members.Where(m => m.Status is not (MemberStatus.Down or MemberStatus.Exiting or MemberStatus.Removed)).ToList();
        var fd = _cluster.FailureDetector;
        var mine = live.Where(m => !m.Equals(self) && fd.IsMonitoring(m.Address) && !fd.IsAvailable(m.Address)).Select(m => m.Address.ToString()).ToHashSet();

        var view = new View(self.Address.ToString(), self.UniqueAddress.Uid, [.. mine]);
        foreach (var cp in live.Where(m => !m.Equals(self) && m.HasRole(AkkaKubeNames.Roles.ControlPlane) && !mine.Contains(m.Address.ToString())))
            Context.ActorSelection(PathOn(cp.Address)).Tell(view);
        if (!self.HasRole(AkkaKubeNames.Roles.ControlPlane)) return;

        // Trust our own view, and fresh views of the members we reach ourselves (an unreachable member's last view is old).
        var now = DateTime.UtcNow;
        var views = new Dictionary<string, IReadOnlySet<string>> { [view.Observer] = mine };
        foreach (var m in live.Where(m => !m.Equals(self)))
        {
            var a = m.Address.ToString();
            if (!mine.Contains(a) && _views.TryGetValue(a, out var r) && r.View.Uid == m.UniqueAddress.Uid && now - r.At <= _settings.ViewTtl)
                views[a] = r.View.Unreachable.Where(s => live.Any(l => l.Address.ToString() == s)).ToHashSet();
        }
        foreach (var gone in _views.Keys.Where(k => live.All(l => l.Address.ToString() != k)).ToList()) _views.Remove(gone);

        var cps = live.Where(m => m.HasRole(AkkaKubeNames.Roles.ControlPlane) && m.Status is MemberStatus.Up or MemberStatus.Leaving).Select(m => m.Address.ToString()).ToList();
        var keep = ControlPlaneDowningRule.LargestMajorityClique(cps, (a, b) => !Observed(views, a, b) && !Observed(views, b, a));
        ControlPlaneQuorum.Report(Context.System, cps.Count <= 1 || keep.Contains(view.Observer)
            ? null
            : $"this control-plane node is not in a group of control planes that reach each other and hold a majority of {cps.Count} (it sees {string.Join(", ", mine)} unreachable): it may be on the losing side of a partition; retry on another apiserver");

        var signature = string.Join(";", views.Where(kv => kv.Value.Count > 0).OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => kv.Key + ">" + string.Join(",", kv.Value.Order(StringComparer.Ordinal))));
        if (signature != _signature)
        {
            if (signature.Length > 0) _log.Info("control-plane downing: unreachability changed, deciding after {0} of no change: {1}", _settings.StableAfter, signature);
            _signature = signature;
            _stableSince = now;
        }
        if (signature.Length == 0 || now - _stableSince < _settings.StableAfter) return;

        var members = live.Select(m => new DowningMember(m.Address.ToString(), m.HasRole(AkkaKubeNames.Roles.ControlPlane), m.Status is MemberStatus.Up or MemberStatus.Leaving)).ToList();
        var decision = ControlPlaneDowningRule.Decide(self.Address.ToString(), members, views);
        if (decision.ToDown.Count == 0) return;
        _log.Warning("control-plane downing: keeping control planes [{0}], downing [{1}] ({2}); observations: {3}",
            string.Join(", ", decision.Keep), string.Join(", ", decision.ToDown), decision.Reason, signature);
        Context.System.EventStream.Publish(new Decided(decision));
        // Down ourselves last: it may shut this node down.
        foreach (var a in decision.ToDown.Where(a => a != view.Observer)) _cluster.Down(Address.Parse(a));
        if (decision.ToDown.Contains(view.Observer)) _cluster.Down(self.Address);
        _stableSince = now;
    }

    private static bool Observed(Dictionary<string, IReadOnlySet<string>> views, string observer, string subject) =>
        views.TryGetValue(observer, out var u) && u.Contains(subject);

    public static Props Props(ControlPlaneDowningSettings settings, Akka.Cluster.Cluster cluster) =>
        Akka.Actor.Props.Create(() => new ControlPlaneDowning(settings, cluster));
}
