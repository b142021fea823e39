using System.CommandLine;
using System.Net;

namespace AkkaKube.Cli;

/// <summary>
/// `akkakube node add`: one more worker process joins a running local cluster (as `minikube node add`), so that what
/// Kubernetes does for a new machine can be watched: the Node registers, DaemonSets place a pod on it, the scheduler
/// starts using it. The worker is started like the ones `up` started (same data directory, seeds, address block, TLS,
/// store and credentials) and recorded in DATA/cluster.json, so `down` and `status` include it.
/// </summary>
public static class NodeAdd
{
    /// <summary>Starts the worker and returns the cluster state with it (saved); it is not yet Up or Ready.</summary>
    public static (ClusterState State, NodeState Node) Start(string dataDir, string? zone)
    {
        var state = ClusterState.Load(dataDir) ?? throw new CliException($"no cluster in '{dataDir}' (start one with akkakube up)");
        var alive = LocalClusterLauncher.Alive(state);
        if (!alive.Any(n => n.ControlPlane))
            throw new CliException($"the cluster in '{dataDir}' has no running control-plane node; start it with akkakube up");
        // The new worker is started with the command line of a worker `up` started (or of a control-plane node, made a
        // worker): it carries every setting the cluster was started with.
        var template = state.Nodes.FirstOrDefault(n => n.Worker && n.HollowNodes == 0 && !n.ControlPlane)
                       ?? state.Nodes.First(n => n.ControlPlane);
        if (template.ContainerdDirectory is not null || template.Command.Contains("--runtime"))
            throw new CliException("node add starts process-runtime workers only; this cluster runs containerd workers (akkakube up --runtime containerd --workers N)");

        var zones = state.Nodes.Select(n => n.Zone).Distinct().ToList();
        if (zone is null)
            zone = zones.OrderBy(z => state.Nodes.Count(n => n.Worker && n.Zone == z)).ThenBy(zones.IndexOf).First();
        else if (!Host.NodeCommandLine.IsDns1123Label(zone))
            throw new CliException($"--zone '{zone}' must be a DNS-1123 label (lower-case letters, digits, '-')");

        var ordinal = state.Nodes.Max(n => n.Ordinal) + 1;
        if (ordinal - Actors.Cluster.AddressBlocks.OrdinalBase(state.AddressBlock) > 250)
            throw new CliException("at most 250 nodes in a local cluster");
        var prefix = $"worker-{(zone.StartsWith("zone-", StringComparison.Ordinal) ? zone["zone-".Length..] : zone)}";
        var taken = state.Nodes.Select(n => n.Name).ToHashSet(StringComparer.Ordinal);
        var name = Enumerable.Range(1, 1000).Select(i => prefix + i).First(n => !taken.Contains(n));
        var ip = Actors.Cluster.NodeOptions.NodeIpFor(ordinal).ToString();
        var podCidr = Actors.Cluster.NodeOptions.PodCidrFor(ordinal);
        var remoting = LocalClusterLauncher.FreePort(IPAddress.Parse(ip));
        var cmd = LocalClusterLauncher.FreePort(IPAddress.Loopback);
        var metrics = LocalClusterLauncher.FreePort(IPAddress.Parse(ip));

        var command = Rewrite(template.Command, new Dictionary<string, string>
        {
            ["--node-name"] = name, ["--roles"] = "worker", ["--zone"] = zone, ["--node-ip"] = ip, ["--port"] = remoting.ToString(),
            ["--pod-cidr"] = podCidr, ["--cmd-port"] = cmd.ToString(), ["--metrics-port"] = metrics.ToString(),
        });
        var log = Path.Combine(LocalClusterLauncher.LogDirectory(dataDir), $"{name}.log");
        File.AppendAllText(log, $"---- {DateTime.UtcNow:O} akkakube node add: {string.Join(' ', command)}\n");
        var pid = NodeProcesses.StartDetached(command, log);
        var node = new NodeState
        {
            Name = name, Ordinal = ordinal, Roles = "worker", Zone = zone, Ip = ip, Port = remoting, CmdPort = cmd, MetricsPort = metrics,
            PodCidr = podCidr, LogFile = log, Command = command, Pid = pid, RemotingTls = template.RemotingTls,
        };
        var updated = state with { Nodes = [.. state.Nodes, node] };
        updated.Save();
        return (updated, node);
    }

    /// <summary>Until the new worker is an Up member (beside the nodes still alive; chaos may have killed some) and its Node is Ready.</summary>
    public static async Task WaitUntilReadyAsync(ClusterState state, NodeState node, TimeSpan timeout, CancellationToken ct = default)
    {
        await LocalClusterLauncher.WaitUntilUpAsync(state with { Nodes = [.. LocalClusterLauncher.Alive(state).Where(n => n.Name != node.Name), node] }, timeout, ct: ct);
        await LocalClusterLauncher.WaitUntilNodesReadyAsync(state with { Nodes = [node] }, timeout, ct: ct);
    }

    /// <summary>The template's command line with the node's own values replaced and the control-plane-only flags dropped.</summary>
    private static List<string> Rewrite(IReadOnlyList<string> template, IReadOnlyDictionary<string, string> values)
    {
        var result = new List<string>();
        for (var i = 0; i < template.Count; i++)
        {
            var arg = template[i];
            if (arg == "--token-auth-file" && i + 1 < template.Count) { i++; continue; }
            result.Add(arg);
            if (values.TryGetValue(arg, out var value) && i + 1 < template.Count)
            {
                result.Add(value);
                i++;
            }
        }
        foreach (var (flag, value) in values)
            if (!result.Contains(flag)) result.AddRange([flag, value]);
        return result;
    }

    public static Command Describe(Option<string> dataDir)
    {
        var zone = new Option<string?>("--zone") { Description = "The new worker's zone (default: the zone with the fewest workers)" };
        var timeout = new Option<int>("--timeout") { Description = "Seconds to wait until the worker is an Up member and its Node is Ready", DefaultValueFactory = _ => 120 };
        var add = new Command("add", "Start one more worker process and join it to the running local cluster (its Node registers; DaemonSets place a pod on it)") { dataDir, zone, timeout };
        add.SetAction(async (parse, ct) =>
        {
            var dir = Path.GetFullPath(parse.GetValue(dataDir)!);
            var (state, node) = Start(dir, parse.GetValue(zone));
            Console.WriteLine($"started {node.Name} (zone {node.Zone}, {node.Ip}, pid {node.Pid}); log: {node.LogFile}");
            var wait = TimeSpan.FromSeconds(Math.Max(1, parse.GetValue(timeout)));
            await WaitUntilReadyAsync(state, node, wait, ct);
            Console.WriteLine($"node {node.Name} is Ready");
            return 0;
        });
        var cmd = new Command("node", "Nodes of the local cluster");
        cmd.Subcommands.Add(add);
        return cmd;
    }
}
