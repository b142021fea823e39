using System.Globalization;
using System.Text.Json.Nodes;
using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Sharding;
using Akka.Hosting;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Controllers;
using AkkaKube.Actors.Scheduler;
using AkkaKube.Actors.Store;
using k8s.Models;
using AkkaCluster = Akka.Cluster.Cluster;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.Cmd.Palettes;

/// <summary>
/// `kube`: what only AkkaKube knows, from any node. Nodes and pods are read through the in-cluster API
/// (<see cref="IKubeApi"/>, the same path the kubelets use); the store is asked partition by partition through the
/// store's shard region on each control-plane member; the scheduler and the controller-manager through their
/// singleton proxies, wherever the singletons run.
/// </summary>
public sealed class KubePalette(CmdSettings settings, IActorRegistry registry) : ICmdPalette
{
    /// <summary>How long a singleton may take to answer (the proxy buffers while the singleton moves).</summary>
    public static readonly TimeSpan SingletonTimeout = TimeSpan.FromSeconds(5);

    public string Name => "kube";

    public string Description => "the Kubernetes layer: nodes, pods, store partitions, scheduler, controllers";

    public IReadOnlyList<CmdCommand> Commands =>
    [
        new("nodes", "nodes per zone: ready, pods, cpu and memory requested vs allocatable", [], Nodes),
        new("pods", "pods: namespace, name, phase, node, pod IP, restarts",
        [
            CmdArg.Option("node", "only pods bound to this node", "-N"),
            CmdArg.Option("zone", "only pods on nodes of this zone", "-z"),
            CmdArg.Option("namespace", "only this namespace (default: all)", "-n"),
        ], Pods),
        new("store", "store partitions: host, revision, objects, journal length, last snapshot, live watchers", [], Store),
        new("scheduler", "scheduler queues (active, backoff, unschedulable), counters and the last decisions",
            [CmdArg.Option("last", "how many recent decisions (default 20)", "-n")], Scheduler),
        new("controllers", "each controller of the controller-manager: state, restarts, last sync, queue", [], Controllers),
    ];

    private static IKubeApi Api(CmdCall call)
    {
        try
        {
            return ApiServer.KubeApi.Get(call.System).Api;
        }
        catch (InvalidOperationException e)
        {
            throw new CmdException(e.Message);
        }
    }

    private static async Task<IReadOnlyList<JsonObject>> ListAll(IKubeApi api, ApiResource resource, CancellationToken ct, string? ns = null, string? fieldSelector = null)
    {
        try
        {
            return (await api.ListAsync(resource, ns, new ListOptions(FieldSelector: fieldSelector), ct)).Items;
        }
        catch (KubeApiException e)
        {
            throw new CmdException($"listing {resource.Partition} failed: {e.Code} {e.Reason}: {e.Message}");
        }
    }

    // ------------------------------------------------------------------ nodes

    public static readonly IReadOnlyList<string> NodeColumns = ["zone", "node", "ready", "pods", "cpu requested/allocatable", "memory requested/allocatable"];

    private static async Task Nodes(CmdCall call)
    {
        var api = Api(call);
        var nodes = await ListAll(api, ApiResource.Nodes, call.Cancelled);
        var pods = await ListAll(api, ApiResource.Pods, call.Cancelled);
        if (nodes.Count == 0)
        {
            call.Output.Text("no nodes registered (no worker has joined yet?)");
            return;
        }
        var rows = NodeRows(nodes, pods);
        call.Output.Table(NodeColumns, rows);
        foreach (var zone in rows.GroupBy(r => r[0]))
            call.Output.Text($"{(zone.Key.Length == 0 ? "(no zone)" : zone.Key)}: {zone.Count()} nodes, {zone.Count(r => r[2] == "True")} ready, {zone.Sum(r => int.Parse(r[3], CultureInfo.InvariantCulture))} pods");
    }

    /// <summary>One row per node, ordered by zone then name; requests are summed over the node's non-terminated pods.</summary>
    internal static List<IReadOnlyList<string>> NodeRows(IReadOnlyList<JsonObject> nodes, IReadOnlyList<JsonObject> pods)
    {
        var byNode = pods
            .Where(p => Str(p, "spec", "nodeName").Length > 0 && Str(p, "status", "phase") is not ("Succeeded" or "Failed"))
            .GroupBy(p => Str(p, "spec", "nodeName"))
            .ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        return nodes
            .Select(n =>
            {
                var name = Str(n, "metadata", "name");
                var onNode = byNode.GetValueOrDefault(name) ?? [];
                var cpu = onNode.Sum(p => Requests(p, "cpu"));
                var memory = onNode.Sum(p => Requests(p, "memory"));
                var ready = (n["status"]?["conditions"] as JsonArray)?.OfType<JsonObject>().FirstOrDefault(c => Str(c, "type") == "Ready") is { } rc
                    ? Str(rc, "status") : "Unknown";
                if (n["spec"]?["unschedulable"]?.GetValueKind() == System.Text.Json.JsonValueKind.True) ready += ",SchedulingDisabled";
                return (IReadOnlyList<string>)
                [
                    Str(n, "metadata", "labels", AkkaKubeNames.Labels.Zone),
                    name,
                    ready,
                    onNode.Count.ToString(CultureInfo.InvariantCulture),
                    $"{Cpu(cpu)}/{Cpu(Quantity(Str(n, "status", "allocatable", "cpu")))}{Percent(cpu, Quantity(Str(n, "status", "allocatable", "cpu")))}",
                    $"{Bytes(memory)}/{Bytes(Quantity(Str(n, "status", "allocatable", "memory")))}{Percent(memory, Quantity(Str(n, "status", "allocatable", "memory")))}",
                ];
            })
            .OrderBy(r => r[0], StringComparer.Ordinal).ThenBy(r => r[1], StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>A pod's request of one resource: the sum over its containers (as the scheduler counts it).</summary>
    internal static decimal Requests(JsonObject pod, string resource) =>
        (pod["spec"]?["containers"] as JsonArray ?? []).OfType<JsonObject>().Sum(c => Quantity(Str(c, "resources", "requests", resource)));

    internal static decimal Quantity(string text)
    {
        if (text.Length == 0) return 0;
        try
        {
            return new ResourceQuantity(text).ToDecimal();
        }
        catch (Exception e) when (e is FormatException or ArgumentException or OverflowException)
        {
            return 0;
        }
    }

    internal static string Cpu(decimal cores) =>
        cores == Math.Floor(cores) ? cores.ToString("0", CultureInfo.InvariantCulture) : $"{Math.Round(cores * 1000):0}m";

    internal static string Bytes(decimal bytes) => bytes switch
    {
        >= 1L << 30 => $"{bytes / (1L << 30):0.#}Gi",
        >= 1L << 20 => $"{bytes / (1L << 20):0.#}Mi",
        >= 1L << 10 => $"{bytes / (1L << 10):0.#}Ki",
        _ => $"{bytes:0}",
    };

    private static string Percent(decimal used, decimal of) => of > 0 ? $" ({used * 100 / of:0}%)" : "";

    // ------------------------------------------------------------------ pods

    public static readonly IReadOnlyList<string> PodColumns = ["namespace", "name", "phase", "node", "pod-ip", "restarts"];

    private static async Task Pods(CmdCall call)
    {
        var api = Api(call);
        var node = call.Args.Get("node");
        var zone = call.Args.Get("zone");
        if (node is not null && zone is not null) throw new CmdException("give --node or --zone, not both");
        var nodes = node is not null || zone is not null ? await ListAll(api, ApiResource.Nodes, call.Cancelled) : [];
        HashSet<string>? allowed = null;
        if (node is not null)
        {
            var names = nodes.Select(n => Str(n, "metadata", "name")).ToList();
            if (!names.Contains(node)) throw new CmdException($"no node '{node}'{Closest.DidYouMean(node, names)}");
            allowed = [node];
        }
        else if (zone is not null)
        {
            var zones = nodes.Select(n => Str(n, "metadata", "labels", AkkaKubeNames.Labels.Zone)).Where(z => z.Length > 0).Distinct().ToList();
            if (!zones.Contains(zone)) throw new CmdException($"no node in zone '{zone}'{Closest.DidYouMean(zone, zones)}");
            allowed = nodes.Where(n => Str(n, "metadata", "labels", AkkaKubeNames.Labels.Zone) == zone).Select(n => Str(n, "metadata", "name")).ToHashSet(StringComparer.Ordinal);
        }
        var pods = await ListAll(api, ApiResource.Pods, call.Cancelled, call.Args.Get("namespace"), node is null ? null : $"spec.nodeName={node}");
        var rows = PodRows(pods.Where(p => allowed is null || allowed.Contains(Str(p, "spec", "nodeName"))));
        if (rows.Count == 0)
        {
            call.Output.Text("no pods" + (node is not null ? $" on node {node}" : zone is not null ? $" in zone {zone}" : ""));
            return;
        }
        call.Output.Table(PodColumns, rows);
        call.Output.Text($"Count: {rows.Count} pods");
    }

    internal static List<IReadOnlyList<string>> PodRows(IEnumerable<JsonObject> pods) =>
        pods.Select(p => (IReadOnlyList<string>)
            [
                Str(p, "metadata", "namespace"),
                Str(p, "metadata", "name"),
                (Str(p, "status", "phase") is { Length: > 0 } phase ? phase : "Pending") + (p["metadata"]?["deletionTimestamp"] is not null ? " (terminating)" : ""),
                Str(p, "spec", "nodeName") is { Length: > 0 } n ? n : "<none>",
                Str(p, "status", "podIP") is { Length: > 0 } ip ? ip : "<none>",
                (p["status"]?["containerStatuses"] as JsonArray ?? []).OfType<JsonObject>()
                    .Sum(c => c["restartCount"] is JsonValue v && v.TryGetValue<int>(out var r) ? r : 0).ToString(CultureInfo.InvariantCulture),
            ])
            .OrderBy(r => r[0], StringComparer.Ordinal).ThenBy(r => r[1], StringComparer.Ordinal)
            .ToList();

    // ------------------------------------------------------------------ store

    public static readonly IReadOnlyList<string> StoreColumns =
        ["partition", "node", "shard", "revision", "objects", "seq-nr", "journal", "since-start", "snapshot", "snapshot-time", "watchers", "started", "recovery"];

    /// <summary>
    /// Asks the store's shard region on every Up control-plane member for the partitions it hosts
    /// (<see cref="GetShardRegionState"/>), then each partition for its <see cref="StoreProtocol.PartitionInfo"/>
    /// through that region. Works from workers too: the regions are reached by their path on each member.
    /// </summary>
    private async Task Store(CmdCall call)
    {
        var members = AkkaCluster.Get(call.System).State.Members
            .Where(m => m.Status == MemberStatus.Up && m.HasRole(AkkaKubeNames.Roles.ControlPlane))
            .OrderBy(m => m.Address.ToString(), StringComparer.Ordinal)
            .ToList();
        if (members.Count == 0) throw new CmdException("no control-plane member is Up: the store runs on control-plane nodes");
        var timeout = settings.ProbeTimeout * 2;
        var perMember = await Task.WhenAll(members.Select(async m =>
        {
            var region = call.System.ActorSelection($"{m.Address}/system/sharding/{AkkaKubeNames.Actors.Store}");
            CurrentShardRegionState state;
            try
            {
                state = await region.Ask<CurrentShardRegionState>(GetShardRegionState.Instance, timeout, call.Cancelled);
            }
            catch (AskTimeoutException)
            {
                return (Rows: new List<IReadOnlyList<string>>(), Note: (string?)$"{m.Address}: the store region did not answer within {timeout.TotalSeconds:0} s");
            }
            var infos = await Task.WhenAll(state.Shards.SelectMany(sh => sh.EntityIds.Select(e => (Shard: sh.ShardId, Partition: e))).Select(async e =>
            {
                try
                {
                    var info = await region.Ask<StoreProtocol.PartitionInfo>(new StoreProtocol.GetPartitionInfo(e.Partition), timeout, call.Cancelled);
                    return StoreRow(info, m.Address.ToString(), e.Shard);
                }
                catch (AskTimeoutException)
                {
                    return (IReadOnlyList<string>)[e.Partition, m.Address.ToString(), e.Shard, "?", "?", "?", "?", "?", "?", "?", "?", "?", "?"];
                }
            }));
            return (Rows: infos.ToList(), Note: (string?)null);
        }));
        var rows = perMember.SelectMany(x => x.Rows).OrderBy(r => r[0], StringComparer.Ordinal).ToList();
        if (rows.Count > 0) call.Output.Table(StoreColumns, rows);
        else call.Output.Text("no store partition has started yet");
        foreach (var note in perMember.Select(x => x.Note).OfType<string>()) call.Output.Text(note);
        call.Output.Text($"Count: {rows.Count} partitions on {members.Count} control-plane members");
    }

    internal static IReadOnlyList<string> StoreRow(StoreProtocol.PartitionInfo i, string node, string shard) =>
    [
        i.Partition, node, shard,
        i.Revision.ToString(CultureInfo.InvariantCulture),
        i.Objects.ToString(CultureInfo.InvariantCulture),
        i.SequenceNr.ToString(CultureInfo.InvariantCulture),
        i.JournalLength.ToString(CultureInfo.InvariantCulture),
        i.EventsSinceStart.ToString(CultureInfo.InvariantCulture),
        i.SnapshotSequenceNr?.ToString(CultureInfo.InvariantCulture) ?? "none",
        i.SnapshotTime is { } t ? Time(t) : "-",
        i.Watchers.ToString(CultureInfo.InvariantCulture),
        // ISO 8601 with milliseconds: `akkakube chaos` reads it back to time the hand-over
        i.StartedAt.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
        i.RecoveredAt is { } r ? $"{(r - i.StartedAt).TotalSeconds.ToString("0.000", CultureInfo.InvariantCulture)}s ({i.EventsReplayed} events)" : "recovering",
    ];

    // ------------------------------------------------------------------ scheduler

    private async Task Scheduler(CmdCall call)
    {
        var last = call.Args.GetInt("last", 20, 0, SchedulerActor.DecisionHistory);
        var proxy = registry.TryGet<SchedulerActor>(out var p) ? p
            : throw new CmdException("the scheduler proxy does not run on this node (no control-plane role in this cluster?)");
        SchedulerProtocol.Status status;
        try
        {
            status = await proxy.Ask<SchedulerProtocol.Status>(new SchedulerProtocol.GetStatus(last), SingletonTimeout, call.Cancelled);
        }
        catch (AskTimeoutException)
        {
            throw new CmdException($"the scheduler singleton did not answer within {SingletonTimeout.TotalSeconds:0} s (starting, or moving to another control-plane node)");
        }
        var s = status.Stats;
        call.Output.Table(["active", "backoff", "unschedulable", "binding", "nodes", "cached-pods", "scheduled", "bound", "failed", "bind-errors"],
        [
            [s.Active.ToString(CultureInfo.InvariantCulture), s.Backoff.ToString(CultureInfo.InvariantCulture), s.Unschedulable.ToString(CultureInfo.InvariantCulture),
                s.InFlightBindings.ToString(CultureInfo.InvariantCulture), s.Nodes.ToString(CultureInfo.InvariantCulture), s.CachedPods.ToString(CultureInfo.InvariantCulture),
                s.Scheduled.ToString(CultureInfo.InvariantCulture), s.Bound.ToString(CultureInfo.InvariantCulture), s.FailedAttempts.ToString(CultureInfo.InvariantCulture),
                s.BindErrors.ToString(CultureInfo.InvariantCulture)],
        ]);
        if (status.Recent.Count == 0)
        {
            call.Output.Text("no scheduling decisions yet");
            return;
        }
        call.Output.Table(["time", "pod", "outcome", "node / reason"],
            status.Recent.Select(d => (IReadOnlyList<string>)[Time(d.Time), d.Pod, d.Outcome,
                d.Outcome == SchedulerProtocol.Outcomes.Bound ? d.Node ?? "" : (d.Node is null ? "" : d.Node + ": ") + (d.Reason ?? "")]));
    }

    // ------------------------------------------------------------------ controllers

    public static readonly IReadOnlyList<string> ControllerColumns = ["controller", "state", "restarts", "synced", "last-sync", "queued", "failing"];

    private async Task Controllers(CmdCall call)
    {
        var proxy = registry.TryGet<ControllerManager>(out var p) ? p
            : throw new CmdException("the controller-manager proxy does not run on this node (no control-plane role in this cluster?)");
        ControllerManagerProtocol.Controllers controllers;
        try
        {
            controllers = await proxy.Ask<ControllerManagerProtocol.Controllers>(new ControllerManagerProtocol.GetControllers(), SingletonTimeout, call.Cancelled);
        }
        catch (AskTimeoutException)
        {
            throw new CmdException($"the controller-manager singleton did not answer within {SingletonTimeout.TotalSeconds:0} s (starting, or moving to another control-plane node)");
        }
        call.Output.Table(ControllerColumns, controllers.Items.OrderBy(c => c.Name, StringComparer.Ordinal).Select(c => (IReadOnlyList<string>)
        [
            c.Name, c.State, c.Restarts.ToString(CultureInfo.InvariantCulture),
            c.SyncedAt is { } s ? Time(s) : "-", c.LastSync is { } l ? Time(l) : "-",
            c.Queued.ToString(CultureInfo.InvariantCulture), c.Failing.ToString(CultureInfo.InvariantCulture),
        ]));
    }

    // ------------------------------------------------------------------ helpers

    /// <summary>UTC time with the age, e.g. "2026-11-24T03:40:12Z (5s ago)".</summary>
    internal static string Time(DateTime t)
    {
        var utc = t.Kind == DateTimeKind.Local ? t.ToUniversalTime() : t;
        var age = DateTime.UtcNow - utc;
        var ago = age < TimeSpan.Zero ? "now"
            : age.TotalSeconds < 120 ? $"{(int)age.TotalSeconds}s ago"
            : age.TotalMinutes < 120 ? $"{(int)age.TotalMinutes}m ago"
            : $"{(int)age.TotalHours}h ago";
        return $"{utc.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture)} ({ago})";
    }

    private static string Str(JsonNode? node, params string[] path)
    {
        foreach (var p in path) node = node is JsonObject o ? o[p] : null;
        return node is JsonValue v && v.TryGetValue<string>(out var s) ? s : "";
    }
}

public static class KubePaletteHostingExtensions
{
    /// <summary>Registers the `kube` command-host palette (every node; it reads through the in-cluster API and the singleton proxies, so it comes after AddApiServer, AddScheduler and AddControllerManager).</summary>
    /// <remarks>
    /// `kube store` asks the store's shard regions with Cluster Sharding's own messages, so every node (workers too,
    /// which start no shard region) needs the sharding serializer bindings: they are added here as a fallback.
    /// </remarks>
    public static AkkaConfigurationBuilder AddKubePalette(this AkkaConfigurationBuilder builder) =>
        builder
            .AddHocon(ClusterSharding.DefaultConfig(), HoconAddMode.Append)
            .AddCmdPalette((system, registry) => new KubePalette(CmdSettings.Create(system.Settings.Config), registry));
}
