using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Hosting;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Cmd;
using AkkaKube.Actors.Controllers;
using AkkaKube.Actors.Kubelet;
using AkkaKube.Actors.Store;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.Chaos;

/// <summary>
/// `chaos` palette of the command host: supervision faults for `akkakube chaos crash-actor|stop-actor`.
/// <list type="bullet">
/// <item>Controllers (a name like replicaset, or a path below /user/controller-manager): crashed through the
/// controller-manager singleton proxy, so from any node; the controller-manager restarts exactly that child, which re-lists.</item>
/// <item>Any other actor is resolved on THIS node (ActorSelection + Identify): a path (/user/…, /system/…) or a friendly
/// target — store/&lt;partition&gt;, pod/&lt;namespace&gt;/&lt;name&gt; (its PodWorker), scheduler. `crash` sends
/// <see cref="ChaosProtocol.InjectCrash"/> to actors that take it (<see cref="ITakesInjectedCrashes"/>); `stop` sends
/// a PoisonPill to actors whose parent re-creates them (<see cref="IRecreatedWhenStopped"/>). Others are refused.</item>
/// </list>
/// `probe` reports an actor's incarnation (uid), its supervised failures on this node (the `actor restarts` counter)
/// and what it re-synced on its last (re)start; the chaos runner polls it before and after the fault.
/// </summary>
public sealed class ChaosPalette(IActorRegistry registry) : ICmdPalette
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan IdentifyTimeout = TimeSpan.FromSeconds(3);

    public static readonly string CrashableKinds = $"controllers ({string.Join(", ", ControllerNames.All)}), store partitions (store/<partition>), PodWorkers (pod/<namespace>/<name>), the scheduler";
    public const string StoppableKinds = "store partitions (store/<partition>: the Shard re-creates them, remember-entities) and PodWorkers (pod/<namespace>/<name>: the kubelet re-creates them)";

    public string Name => "chaos";

    public string Description => "supervision faults: crash or stop an actor on this node, probe its restarts";

    public IReadOnlyList<CmdCommand> Commands =>
    [
        new("crash", "make the actor at <path> throw; its supervisor restarts it. Targets: " + CrashableKinds + ", or an actor path on this node",
            [CmdArg.Positional("path", "controller name, store/<partition>, pod/<namespace>/<name>, scheduler, or an actor path")], Crash),
        new("stop", "stop the actor at <path> (PoisonPill); its parent re-creates it. Targets: " + StoppableKinds,
            [CmdArg.Positional("path", "store/<partition>, pod/<namespace>/<name>, or an actor path")], Stop),
        new("probe", "an actor's incarnation, its supervised failures on this node and what it re-synced on its last (re)start",
            [CmdArg.Positional("path", "as for crash; a full path that is not alive answers alive=false"), CmdArg.Option("for", "check the target takes this fault: crash or stop")], Probe),
        new("starts", "how many times each controller has started (1 = never restarted)", [], Starts),
    ];

    /// <summary>The controller a path or name denotes, or null. Accepts "replicaset", "/user/controller-manager/controller-manager/replicaset" and full addresses.</summary>
    public static string? ControllerOf(string path)
    {
        var last = path.TrimEnd('/').Split('/').Last();
        if (!ControllerNames.All.Contains(last)) return null;
        if (!path.Contains('/')) return last;
        return path.Contains($"/{AkkaKubeNames.Actors.ControllerManager}/", StringComparison.Ordinal) ? last : null;
    }

    /// <summary>"akka.tcp://sys@host:port/user/x#12" → "/user/x"; paths are kept; anything else → null (a friendly target).</summary>
    public static string? PathOf(string target)
    {
        var t = target.Trim();
        var hash = t.IndexOf('#');
        if (hash >= 0) t = t[..hash];
        var scheme = t.IndexOf("://", StringComparison.Ordinal);
        if (scheme >= 0)
        {
            var slash = t.IndexOf('/', scheme + 3);
            return slash >= 0 ? t[slash..].TrimEnd('/') : null;
        }
        return t.StartsWith('/') ? (t.Length > 1 ? t.TrimEnd('/') : t) : null;
    }

    private IActorRef Manager() =>
        registry.TryGet<ControllerManager>(out var proxy)
            ? proxy
            : throw new CmdException("the controller-manager proxy does not run on this node (no control-plane role in this cluster?)");

    private async Task<IReadOnlyDictionary<string, int>> StartCounts(CancellationToken ct) =>
        (await Manager().Ask<ControllerManagerProtocol.Status>(new ControllerManagerProtocol.GetStatus(), AskTimeout, ct)).Starts;

    /// <summary>A target resolved to a path on this node; Actor null = nothing alive there.</summary>
    private sealed record Target(string Input, string Path, IActorRef? Actor, string? Hint);

    private async Task<Target> Resolve(CmdCall call, string input)
    {
        string path;
        string? hint = null;
        if (PathOf(input) is { } p) path = p;
        else if (input.StartsWith("store/", StringComparison.Ordinal)) path = await StorePath(call, input["store/".Length..]);
        else if (input.StartsWith("pod/", StringComparison.Ordinal)) (path, hint) = await PodPath(call, input["pod/".Length..]);
        else if (input == AkkaKubeNames.Actors.Scheduler)
        {
            path = $"/user/{AkkaKubeNames.Actors.Scheduler}/{AkkaKubeNames.Actors.Scheduler}";
            hint = "the scheduler is a singleton on the oldest control-plane node (`akkakube cmd <node> cluster singletons`); inject there";
        }
        else
            throw new CmdException($"unknown target '{input}': give an actor path on this node (/user/…, /system/…; list them with `actor hierarchy`), "
                                   + $"store/<partition>, pod/<namespace>/<name>, scheduler, or a controller name ({string.Join(", ", ControllerNames.All)})");
        var identity = await call.System.ActorSelection(path).Ask<ActorIdentity>(new Identify(path), IdentifyTimeout, call.Cancelled);
        return new Target(input, identity.Subject?.Path.ToStringWithoutAddress() ?? path, identity.Subject, hint);
    }

    private IActorRef Alive(CmdCall call, Target t)
    {
        if (t.Actor is { } a) return a;
        var close = Closest.Names(t.Path, LivePaths(call.System), 3);
        throw new CmdException($"no actor at '{t.Path}' on {call.Node.NodeName}"
                               + (t.Hint is null ? "" : $" ({t.Hint})")
                               + (close.Count > 0 ? $"; did you mean {string.Join(" or ", close.Select(c => $"'{c}'"))}?" : "")
                               + " (list the real paths with `akkakube cmd <node> actor hierarchy -s /user` or `-s /system/sharding`)");
    }

    /// <summary>Every live local actor path below /user and /system (bounded), for did-you-mean suggestions.</summary>
    private static List<string> LivePaths(ActorSystem system)
    {
        var result = new List<string>();
        if (system is not ExtendedActorSystem ext) return result;
        var stack = new Stack<(IActorRef Actor, int Depth)>();
        stack.Push((ext.Guardian, 0));
        stack.Push((ext.SystemGuardian, 0));
        while (stack.Count > 0 && result.Count < 5000)
        {
            var (actor, depth) = stack.Pop();
            result.Add(actor.Path.ToStringWithoutAddress());
            if (depth >= 8 || actor is not ActorRefWithCell cell) continue;
            foreach (var c in cell.Children) stack.Push((c, depth + 1));
        }
        return result;
    }

    private static Type? TypeOf(IActorRef actor) => actor is ActorRefWithCell cell ? cell.Underlying.Props.Type : null;

    private async Task<string> StorePath(CmdCall call, string partition)
    {
        if (!registry.TryGet<StoreRegion>(out var region))
            throw new CmdException($"no store runs on {call.Node.NodeName} (store partitions live on control-plane nodes: `akkakube cmd <node> kube store` shows where)");
        var state = await region.Ask<CurrentShardRegionState>(GetShardRegionState.Instance, AskTimeout, call.Cancelled);
        var hosted = state.Shards.SelectMany(s => s.EntityIds.Select(e => (Shard: s.ShardId, Partition: e))).ToList();
        var hit = hosted.FirstOrDefault(h => h.Partition == partition);
        if (hit.Partition is null)
            throw new CmdException($"store partition '{partition}' is not hosted on {call.Node.NodeName} (`akkakube cmd <node> kube store` shows where each runs)"
                                   + Closest.DidYouMean(partition, hosted.Select(h => h.Partition).ToList()));
        return $"/system/sharding/{AkkaKubeNames.Actors.Store}/{hit.Shard}/{Uri.EscapeDataString(partition)}";
    }

    private static async Task<(string Path, string? Hint)> PodPath(CmdCall call, string rest)
    {
        var parts = rest.Split('/');
        var (ns, name) = parts.Length switch
        {
            1 => ("default", parts[0]),
            2 => (parts[0], parts[1]),
            _ => throw new CmdException($"'pod/{rest}': give pod/<namespace>/<name> or pod/<name> (namespace default)"),
        };
        IKubeApi api;
        try { api = ApiServer.KubeApi.Get(call.System).Api; }
        catch (InvalidOperationException) { throw new CmdException($"no in-cluster API on {call.Node.NodeName}: give the PodWorker's path /user/kubelet/pods/pod-<uid>"); }
        System.Text.Json.Nodes.JsonObject pod;
        try { pod = await api.GetAsync(ApiResource.Pods, ns, name, ct: call.Cancelled); }
        catch (KubeApiException e) when (e.IsNotFound) { throw new CmdException($"pod {ns}/{name} not found"); }
        var uid = (string?)pod["metadata"]?["uid"] ?? throw new CmdException($"pod {ns}/{name} has no uid");
        var node = (string?)pod["spec"]?["nodeName"];
        return (AkkaKubeNames.Actors.KubeletChildren.PodWorkerPath("/user/" + AkkaKubeNames.Actors.Kubelet, uid),
            node == call.Node.NodeName ? null : $"pod {ns}/{name} is bound to {node ?? "no node yet"}; its PodWorker runs on that node's kubelet");
    }

    private int Failures(CmdCall call, string path) =>
        NodeDiagnostics.Get(call.System).Restarts.FirstOrDefault(r => r.Path == path)?.Count ?? 0;

    private async Task Crash(CmdCall call)
    {
        var input = call.Args.Get("path")!;
        if (ControllerOf(input) is { } controller)
        {
            var before = await StartCounts(call.Cancelled);
            var accepted = await Manager().Ask<ControllerManagerProtocol.CrashAccepted>(new ControllerManagerProtocol.CrashController(controller), AskTimeout, call.Cancelled);
            if (!accepted.Found) throw new CmdException($"controller '{controller}' is not running (not enabled, or stopped after its restart budget)");
            call.Output.Table(["controller", "starts-before", "crash"], [[controller, before.GetValueOrDefault(controller).ToString(), "injected"]]);
            return;
        }
        var target = await Resolve(call, input);
        var actor = Alive(call, target);
        var type = TypeOf(actor);
        if (type is null || !typeof(ITakesInjectedCrashes).IsAssignableFrom(type))
            throw new CmdException($"actor {target.Path} ({type?.Name ?? "unknown type"}) does not take injected crashes; crashable: {CrashableKinds}");
        var failures = Failures(call, target.Path);
        actor.Tell(ChaosProtocol.InjectCrash.Instance);
        call.Output.Table(["path", "uid", "type", "failures-before", "crash"],
            [[target.Path, actor.Path.Uid.ToString(), type.Name, failures.ToString(), "injected"]]);
    }

    private async Task Stop(CmdCall call)
    {
        var input = call.Args.Get("path")!;
        if (ControllerOf(input) is not null) throw new CmdException(ControllerStop);
        var target = await Resolve(call, input);
        var actor = Alive(call, target);
        var type = TypeOf(actor);
        if (type is null || !typeof(IRecreatedWhenStopped).IsAssignableFrom(type))
            throw new CmdException($"actor {target.Path} ({type?.Name ?? "unknown type"}) would stay stopped (nothing re-creates it), so it is not stopped; stoppable: {StoppableKinds}");
        actor.Tell(PoisonPill.Instance);
        call.Output.Table(["path", "uid", "type", "recreated-by", "stop"],
            [[target.Path, actor.Path.Uid.ToString(), type.Name, RecreatedBy(type), "sent PoisonPill"]]);
    }

    private static string ControllerStop =>
        $"controllers are not re-created after a stop (the controller-manager treats a stopped controller as out of its restart budget); use `akkakube chaos crash-actor` for them. Stoppable: {StoppableKinds}";

    /// <summary>Who brings a stopped actor of <paramref name="type"/> back.</summary>
    public static string RecreatedBy(Type type) =>
        type == typeof(StoreActor) ? "its Shard, after akka.cluster.sharding.entity-restart-backoff (remember-entities) or at its next message; it recovers from the journal"
        : type == typeof(PodWorker) ? "the kubelet, from its pod informer cache after akkakube.kubelet.worker-recreate-delay; the pod's containers stop with the worker and start again"
        : "its parent";

    private async Task Probe(CmdCall call)
    {
        var input = call.Args.Get("path")!;
        var mode = call.Args.Get("for");
        if (mode is not null and not ("crash" or "stop")) throw new CmdException($"--for '{mode}': give crash or stop");
        if (ControllerOf(input) is not null)
            throw new CmdException(mode == "stop" ? ControllerStop : "controllers are probed with `chaos starts` (they run in the controller-manager singleton)");
        var target = await Resolve(call, input);
        var alive = target.Actor;
        var type = alive is null ? null : TypeOf(alive);
        if (mode is not null)
        {
            alive = Alive(call, target);
            if (mode == "crash" && (type is null || !typeof(ITakesInjectedCrashes).IsAssignableFrom(type)))
                throw new CmdException($"actor {target.Path} ({type?.Name ?? "unknown type"}) does not take injected crashes; crashable: {CrashableKinds}");
            if (mode == "stop" && (type is null || !typeof(IRecreatedWhenStopped).IsAssignableFrom(type)))
                throw new CmdException($"actor {target.Path} ({type?.Name ?? "unknown type"}) would stay stopped (nothing re-creates it), so it is not stopped; stoppable: {StoppableKinds}");
        }
        var resync = "-";
        if (alive is not null && type is not null && typeof(ITakesInjectedCrashes).IsAssignableFrom(type))
        {
            try { resync = (await alive.Ask<ChaosProtocol.Resynced>(ChaosProtocol.GetResync.Instance, TimeSpan.FromSeconds(2), call.Cancelled)).Summary; }
            catch (AskTimeoutException) { resync = "not answering"; }
        }
        call.Output.Table(["property", "value"],
        [
            ["path", target.Path],
            ["alive", (alive is not null).ToString().ToLowerInvariant()],
            ["uid", alive?.Path.Uid.ToString() ?? "-"],
            ["type", type?.Name ?? "-"],
            ["failures", Failures(call, target.Path).ToString()],
            ["resynced", resync],
            ["recreated-by", type is null ? "-" : RecreatedBy(type)],
        ]);
    }

    private async Task Starts(CmdCall call)
    {
        var starts = await StartCounts(call.Cancelled);
        call.Output.Table(["controller", "starts"], starts.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => (IReadOnlyList<string>)[s.Key, s.Value.ToString()]));
    }
}

public static class ChaosPaletteHostingExtensions
{
    /// <summary>Registers the `chaos` command-host palette (every node; controllers are reached through the singleton proxy, other actors on the node itself).</summary>
    public static AkkaConfigurationBuilder AddChaosPalette(this AkkaConfigurationBuilder builder) =>
        builder.AddCmdPalette((_, registry) => new ChaosPalette(registry));
}
