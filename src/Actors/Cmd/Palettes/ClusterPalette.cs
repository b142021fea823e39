using System.Collections.Immutable;
using Akka.Actor;
using Akka.Cluster;
using AkkaCluster = Akka.Cluster.Cluster;
using Akka.Cluster.Sharding;

namespace AkkaKube.Actors.Cmd.Palettes;

/// <summary>`cluster`: membership as this node sees it, and membership operations (Petabridge.Cmd's cluster palette).</summary>
public sealed class ClusterPalette(CmdSettings settings) : ICmdPalette
{
    public string Name => "cluster";

    public string Description => "cluster membership: show, leave, join, down, tail, leader, singletons, shards";

    public IReadOnlyList<CmdCommand> Commands =>
    [
        new("show", "members: address, roles, zone, status, reachability, app-version; then the count", [], Show),
        new("leave", "gracefully leave the cluster (this node, or the member at [address])", [CmdArg.Positional("address", "member address (akka.tcp://akkakube@host:port or host:port)", required: false)], Leave),
        new("join", "join this node to the cluster of the node at <address>", [CmdArg.Positional("address", "akka.tcp://akkakube@host:port of a member")], Join),
        new("down", "mark the member at <address> as Down", [CmdArg.Positional("address", "member address (akka.tcp://akkakube@host:port or host:port)")], Down),
        new("down-unreachable", "mark every unreachable member as Down", [], DownUnreachable),
        new("tail", "stream membership and reachability events until the client disconnects", [], Tail),
        new("leader", "the cluster leader and the leader of each role", [], Leader),
        new("singletons", "where each cluster singleton runs (probes every control-plane member)", [], Singletons),
        new("shards", "shard regions: shards and entities per member (Cluster Sharding stats)", [CmdArg.Option("type", "shard type name (default: every region, store first)", "-t")], Shards),
    ];

    internal static IReadOnlyList<string> Row(Member m, ClusterEvent.CurrentClusterState state)
    {
        var unreachable = state.Unreachable.Contains(m);
        return
        [
            m.Address.ToString(),
            string.Join(",", m.Roles.Where(r => !r.StartsWith(AkkaKubeNames.Roles.ZonePrefix, StringComparison.Ordinal) && !r.StartsWith(AkkaKubeNames.Roles.RegionPrefix, StringComparison.Ordinal)).OrderBy(r => r, StringComparer.Ordinal)),
            AkkaKubeNames.Roles.ZoneOf(m.Roles) ?? "",
            m.Status.ToString(),
            unreachable ? "unreachable" : "reachable",
            m.AppVersion.ToString(),
        ];
    }

    public static readonly IReadOnlyList<string> ShowColumns = ["address", "roles", "zone", "status", "reachability", "app-version"];

    private static Task Show(CmdCall call)
    {
        var state = AkkaCluster.Get(call.System).State;
        var members = state.Members.OrderBy(m => m.Address.ToString(), StringComparer.Ordinal).ToList();
        call.Output.Table(ShowColumns, members.Select(m => Row(m, state)));
        call.Output.Text($"Count: {members.Count} nodes");
        return Task.CompletedTask;
    }

    /// <summary>Full Akka address or host:port of a member (host:port needs the member to be known).</summary>
    internal static Address ResolveAddress(ActorSystem system, string text, bool mustBeMember)
    {
        var cluster = AkkaCluster.Get(system);
        var known = cluster.State.Members.Select(m => m.Address).Concat(cluster.State.Unreachable.Select(m => m.Address)).Distinct().ToList();
        Address? address = null;
        if (text.Contains("://", StringComparison.Ordinal))
        {
            try
            {
                // akka.tcp:// and akka.ssl.tcp:// name the same node: take the scheme of this node's own transport
                address = Address.Parse(AkkaKubeNames.Remoting.WithScheme(text, cluster.SelfAddress.Protocol == AkkaKubeNames.Remoting.TlsScheme));
            }
            catch (Exception)
            {
                throw new CmdException($"'{text}' is not an Akka address like akka.ssl.tcp://akkakube@127.1.0.1:4053");
            }
            if (address.Host is null || address.Port is null)
                throw new CmdException($"'{text}' needs a host and a port");
        }
        else
        {
            address = known.FirstOrDefault(a => $"{a.Host}:{a.Port}" == text);
            if (address is null)
                throw new CmdException($"no member at '{text}'{Closest.DidYouMean(text, known.Select(a => $"{a.Host}:{a.Port}").ToList())}");
        }
        if (mustBeMember && !known.Contains(address))
            throw new CmdException($"'{text}' is not a member{Closest.DidYouMean(text, known.Select(a => a.ToString()).ToList())}");
        return address;
    }

    private static Task Leave(CmdCall call)
    {
        var cluster = AkkaCluster.Get(call.System);
        var target = call.Args.Get("address") is { } a ? ResolveAddress(call.System, a, mustBeMember: true) : cluster.SelfAddress;
        cluster.Leave(target);
        call.Output.Text($"leaving: {target}");
        return Task.CompletedTask;
    }

    private static Task Join(CmdCall call)
    {
        var address = ResolveAddress(call.System, call.Args.Get("address")!, mustBeMember: false);
        AkkaCluster.Get(call.System).Join(address);
        call.Output.Text($"joining: {address}");
        return Task.CompletedTask;
    }

    private static Task Down(CmdCall call)
    {
        var address = ResolveAddress(call.System, call.Args.Get("address")!, mustBeMember: true);
        AkkaCluster.Get(call.System).Down(address);
        call.Output.Text($"downing: {address}");
        return Task.CompletedTask;
    }

    private static Task DownUnreachable(CmdCall call)
    {
        var cluster = AkkaCluster.Get(call.System);
        var unreachable = cluster.State.Unreachable.ToList();
        if (unreachable.Count == 0) call.Output.Text("no unreachable members");
        foreach (var m in unreachable)
        {
            cluster.Down(m.Address);
            call.Output.Text($"downing: {m.Address}");
        }
        return Task.CompletedTask;
    }

    private static async Task Tail(CmdCall call)
    {
        var tail = call.System.ActorOf(Props.Create(() => new ClusterTailActor(call.Output)));
        try
        {
            await Task.Delay(Timeout.Infinite, call.Cancelled);
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            call.System.Stop(tail);
        }
    }

    private static Task Leader(CmdCall call)
    {
        var cluster = AkkaCluster.Get(call.System);
        var state = cluster.State;
        var rows = new List<IReadOnlyList<string>>();
        rows.Add(["(cluster)", state.Leader?.ToString() ?? "none"]);
        foreach (var role in state.AllRoles.OrderBy(r => r, StringComparer.Ordinal))
            rows.Add([role, state.RoleLeader(role)?.ToString() ?? "none"]);
        call.Output.Table(["role", "leader"], rows);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Cluster singletons run on the oldest Up member of their role (control-plane here). This probes every
    /// control-plane member for the instances its singleton managers host (see <see cref="IsSingletonInstance"/>)
    /// and also reports the oldest control-plane member, which is where every
    /// singleton of that role runs once it has started.
    /// </summary>
    private async Task Singletons(CmdCall call)
    {
        var cluster = AkkaCluster.Get(call.System);
        var controlPlane = cluster.State.Members
            .Where(m => m.Status == MemberStatus.Up && m.HasRole(AkkaKubeNames.Roles.ControlPlane))
            .OrderBy(m => m, Member.AgeOrdering)
            .ToList();
        if (controlPlane.Count == 0)
        {
            call.Output.Text("no control-plane member is Up: no singleton can run");
            return;
        }
        var rows = new List<IReadOnlyList<string>>();
        var probes = controlPlane.Select(async m =>
        {
            var found = (await Probe(call.System, $"{m.Address}/user/*/*", settings.ProbeTimeout, call.Cancelled))
                .Where(IsSingletonInstance);
            return found.Select(path => (IReadOnlyList<string>)[path.Parent.Name, m.Address.ToString(), path.ToStringWithoutAddress()]).ToList();
        });
        foreach (var r in await Task.WhenAll(probes)) rows.AddRange(r);
        if (rows.Count > 0)
            call.Output.Table(["singleton", "node", "path"], rows.OrderBy(r => r[0], StringComparer.Ordinal));
        else
            call.Output.Text("no singleton instance found yet on the control-plane members");
        call.Output.Text($"oldest control-plane member (singleton host): {controlPlane[0].Address}");
    }

    /// <summary>
    /// The instance a ClusterSingletonManager hosts: Akka.Hosting's WithSingleton names it like its manager
    /// (/user/scheduler/scheduler); a manager started by hand names it "singleton" by default.
    /// </summary>
    internal static bool IsSingletonInstance(ActorPath path) =>
        path.Name == path.Parent.Name || path.Name == "singleton";

    /// <summary>Identifies every actor an (optionally wildcard) selection matches, collecting replies for up to <paramref name="timeout"/>.</summary>
    internal static async Task<IReadOnlyList<ActorPath>> Probe(ActorSystem system, string selection, TimeSpan timeout, CancellationToken ct)
    {
        var done = new TaskCompletionSource<IReadOnlyList<ActorPath>>(TaskCreationOptions.RunContinuationsAsynchronously);
        var collector = system.ActorOf(Props.Create(() => new IdentifyCollector(system.ActorSelection(selection), timeout, done)));
        await using (ct.Register(() =>
                     {
                         done.TrySetCanceled(ct);
                         system.Stop(collector);
                     }))
        {
            return await done.Task;
        }
    }

    private async Task Shards(CmdCall call)
    {
        var sharding = ClusterSharding.Get(call.System);
        var names = sharding.ShardTypeNames.OrderBy(n => n == AkkaKubeNames.Actors.Store ? 0 : 1).ThenBy(n => n, StringComparer.Ordinal).ToList();
        if (call.Args.Get("type") is { } only)
        {
            if (!names.Contains(only))
                throw new CmdException($"no shard region '{only}' on this node{Closest.DidYouMean(only, names)}");
            names = [only];
        }
        if (names.Count == 0)
        {
            call.Output.Text("no shard region runs on this node (the store starts its region on control-plane nodes)");
            return;
        }
        foreach (var name in names)
        {
            IActorRef region;
            try
            {
                region = sharding.ShardRegion(name);
            }
            catch (ArgumentException)
            {
                continue;
            }
            ClusterShardingStats stats;
            try
            {
                stats = await region.Ask<ClusterShardingStats>(new GetClusterShardingStats(settings.ProbeTimeout), settings.ProbeTimeout * 2, call.Cancelled);
            }
            catch (AskTimeoutException)
            {
                // The coordinator did not answer in time (starting, or moving after a node left): show this node's region.
                var local = await region.Ask<CurrentShardRegionState>(GetShardRegionState.Instance, settings.ProbeTimeout * 2, call.Cancelled);
                call.Output.Text($"{name}: cluster-wide stats did not answer within {(settings.ProbeTimeout * 2).TotalSeconds:0} s; this node's region:");
                call.Output.Table(["type", "node", "shards", "entities", "shard=entities"],
                [
                    [name, AkkaCluster.Get(call.System).SelfAddress.ToString(), local.Shards.Count.ToString(), local.Shards.Sum(sh => sh.EntityIds.Count).ToString(),
                        string.Join(" ", local.Shards.OrderBy(sh => sh.ShardId, StringComparer.Ordinal).Select(sh => $"{sh.ShardId}={sh.EntityIds.Count}"))],
                ]);
                continue;
            }
            var rows = stats.Regions
                .OrderBy(r => r.Key.ToString(), StringComparer.Ordinal)
                .Select(r => (IReadOnlyList<string>)[name, r.Key.ToString(), r.Value.Stats.Count.ToString(), r.Value.Stats.Values.Sum().ToString(),
                    string.Join(" ", r.Value.Stats.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => $"{s.Key}={s.Value}"))])
                .ToList();
            call.Output.Table(["type", "node", "shards", "entities", "shard=entities"], rows);
        }
    }

    private sealed class IdentifyCollector : ReceiveActor, IWithTimers
    {
        private readonly List<ActorPath> _found = [];

        private readonly ActorSelection _selection;
        private readonly TimeSpan _timeout;

        public IdentifyCollector(ActorSelection selection, TimeSpan timeout, TaskCompletionSource<IReadOnlyList<ActorPath>> done)
        {
            _selection = selection;
            _timeout = timeout;
            Receive<ActorIdentity>(id =>
            {
                if (id.Subject is { } subject) _found.Add(subject.Path);
            });
            ReceiveAny(_ =>
            {
                done.TrySetResult(_found.ToList());
                Context.Stop(Self);
            });
        }

        protected override void PreStart()
        {
            _selection.Tell(new Identify(null), Self);
            Timers.StartSingleTimer("timeout", "timeout", _timeout);
        }

        public ITimerScheduler Timers { get; set; } = null!;
    }

    private sealed class ClusterTailActor : ReceiveActor
    {
        public ClusterTailActor(ICmdOutput output)
        {
            var cluster = AkkaCluster.Get(Context.System);
            Receive<ClusterEvent.CurrentClusterState>(s =>
                output.Text($"{DateTime.UtcNow:HH:mm:ss.fff} watching {s.Members.Count} members ({s.Unreachable.Count} unreachable) from {cluster.SelfAddress}"));
            Receive<ClusterEvent.IMemberEvent>(e =>
                output.Text($"{DateTime.UtcNow:HH:mm:ss.fff} {e.GetType().Name} {e.Member.Address} status={e.Member.Status} roles=[{string.Join(",", e.Member.Roles.OrderBy(r => r, StringComparer.Ordinal))}]"));
            Receive<ClusterEvent.ReachabilityEvent>(e =>
                output.Text($"{DateTime.UtcNow:HH:mm:ss.fff} {e.GetType().Name} {e.Member.Address} status={e.Member.Status}"));
            ReceiveAny(_ => { });
            cluster.Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsSnapshot,
                typeof(ClusterEvent.IMemberEvent), typeof(ClusterEvent.IReachabilityEvent));
        }

        protected override void PostStop() => AkkaCluster.Get(Context.System).Unsubscribe(Self);
    }
}
