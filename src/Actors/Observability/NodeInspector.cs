using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Hosting;
using AkkaKube.Actors.ApiServer;
using AkkaKube.Actors.Cluster;
using AkkaKube.Actors.Cmd;
using AkkaKube.Actors.Cmd.Palettes;
using AkkaKube.Actors.Serialization;
using AkkaCluster = Akka.Cluster.Cluster;

namespace AkkaKube.Actors.Observability;

/// <summary>Messages of <see cref="NodeInspector"/>; they cross nodes (the apiserver asks every member).</summary>
public static class NodeInspectorProtocol
{
    /// <summary>Asks for this node's report; <paramref name="Depth"/> levels of its actor tree below /user and /system (0: none).</summary>
    public sealed record Inspect(int Depth, int MaxActors = 2000) : IAkkaKubeMessage;

    /// <summary>One actor of the tree: its path, how many live children it has, and its supervised failures since the node started.</summary>
    public sealed record ActorEntry(string Path, int Children, int Failures, string? LastError);

    /// <summary>
    /// What runs on one node: which singleton instances and store partitions it hosts, its supervised failures, the
    /// totals of its apiserver's request counters (the web view turns two reports into a rate and a mean latency),
    /// and (when asked for) its actor tree.
    /// </summary>
    public sealed record NodeReport(
        string NodeName, string Address, IReadOnlyList<string> Roles, string Zone,
        IReadOnlyList<string> Singletons, IReadOnlyList<string> StorePartitions,
        int Failures, double ApiRequests, double ApiRequestSeconds, double ApiTimedRequests,
        IReadOnlyList<ActorEntry> Actors, bool ActorsTruncated, DateTime At) : IAkkaKubeMessage;
}

/// <summary>
/// Every node's answer to the web view (/ui/): reads the node's own state in process — the live children of its actors
/// (exact, no Identify round), <see cref="NodeDiagnostics"/>' failure counts and the local store shard region — so one
/// remote ask per member gives the cluster's placement.
/// </summary>
public sealed class NodeInspector : ReceiveActor
{
    private static readonly TimeSpan RegionTimeout = TimeSpan.FromSeconds(1);

    public NodeInspector(NodeOptions node)
    {
        ReceiveAsync<NodeInspectorProtocol.Inspect>(async ask =>
        {
            var sender = Sender;
            sender.Tell(await ReportAsync(Context.System, node, ask));
        });
    }

    public static Props Props(NodeOptions node) => Akka.Actor.Props.Create(() => new NodeInspector(node));

    internal static async Task<NodeInspectorProtocol.NodeReport> ReportAsync(ActorSystem system, NodeOptions node, NodeInspectorProtocol.Inspect ask)
    {
        var cluster = AkkaCluster.Get(system);
        var failures = NodeDiagnostics.Get(system).Restarts.ToDictionary(r => r.Path, StringComparer.Ordinal);
        var ext = (ExtendedActorSystem)system;
        var singletons = Children(ext.Guardian)
            .SelectMany(Children)
            .Where(a => ClusterPalette.IsSingletonInstance(a.Path))
            .Select(a => a.Path.Parent.Name)
            .OrderBy(n => n, StringComparer.Ordinal)
            .ToList();
        var actors = new List<NodeInspectorProtocol.ActorEntry>();
        var truncated = false;
        if (ask.Depth > 0)
        {
            var max = Math.Clamp(ask.MaxActors, 1, 20_000);
            foreach (var root in new[] { ext.Guardian, ext.SystemGuardian })
                truncated |= !Walk(root, ask.Depth, failures, actors, max);
        }
        var (requests, seconds, timed) = ApiTotals();
        return new NodeInspectorProtocol.NodeReport(
            node.NodeName, cluster.SelfAddress.ToString(),
            cluster.SelfRoles.Where(r => !r.StartsWith(AkkaKubeNames.Roles.ZonePrefix, StringComparison.Ordinal) && !r.StartsWith(AkkaKubeNames.Roles.RegionPrefix, StringComparison.Ordinal))
                .OrderBy(r => r, StringComparer.Ordinal).ToList(),
            node.Zone, singletons, await StorePartitionsAsync(system),
            failures.Values.Sum(r => r.Count), requests, seconds, timed, actors, truncated, DateTime.UtcNow);
    }

    private static IEnumerable<IActorRef> Children(IActorRef actor) =>
        actor is ActorRefWithCell cell ? cell.Children : [];

    /// <summary>Depth-first, children by name; false when <paramref name="max"/> entries were reached.</summary>
    private static bool Walk(IActorRef actor, int depth, IReadOnlyDictionary<string, RestartRecord> failures, List<NodeInspectorProtocol.ActorEntry> into, int max)
    {
        if (into.Count >= max) return false;
        var children = Children(actor).OrderBy(c => c.Path.Name, StringComparer.Ordinal).ToList();
        var path = actor.Path.ToStringWithoutAddress();
        failures.TryGetValue(path, out var record);
        into.Add(new NodeInspectorProtocol.ActorEntry(path, children.Count, record?.Count ?? 0, record?.LastError));
        if (depth == 0) return true;
        foreach (var child in children)
            if (!Walk(child, depth - 1, failures, into, max)) return false;
        return true;
    }

    private static async Task<IReadOnlyList<string>> StorePartitionsAsync(ActorSystem system)
    {
        var sharding = ClusterSharding.Get(system);
        if (!sharding.ShardTypeNames.Contains(AkkaKubeNames.Actors.Store)) return [];
        try
        {
            var state = await sharding.ShardRegion(AkkaKubeNames.Actors.Store).Ask<CurrentShardRegionState>(GetShardRegionState.Instance, RegionTimeout);
            return state.Shards.SelectMany(s => s.EntityIds).OrderBy(e => e, StringComparer.Ordinal).ToList();
        }
        catch (Exception e) when (e is AskTimeoutException or ArgumentException or TaskCanceledException)
        {
            return []; // a region that is starting or shutting down hosts nothing it could answer for
        }
    }

    /// <summary>apiserver_request_total and apiserver_request_duration_seconds summed over their labels (this process).</summary>
    private static (double Requests, double Seconds, double Timed) ApiTotals()
    {
        double requests = 0, seconds = 0, timed = 0;
        foreach (var labels in ApiServerMetrics.Requests.GetAllLabelValues())
            requests += ApiServerMetrics.Requests.WithLabels(labels).Value;
        foreach (var labels in ApiServerMetrics.RequestDuration.GetAllLabelValues())
        {
            var h = ApiServerMetrics.RequestDuration.WithLabels(labels);
            seconds += h.Sum;
            timed += h.Count;
        }
        return (requests, seconds, timed);
    }
}

public static class NodeInspectorHosting
{
    public static AkkaConfigurationBuilder AddNodeInspector(this AkkaConfigurationBuilder builder, NodeOptions node) =>
        builder.WithActors((system, registry) => registry.Register<NodeInspector>(system.ActorOf(NodeInspector.Props(node), AkkaKubeNames.Actors.NodeInspector)));
}
