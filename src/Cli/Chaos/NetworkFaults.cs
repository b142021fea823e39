using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace AkkaKube.Cli.Chaos;

/// <summary>
/// The faults only hosts allow (`up --hosts netns`), injected inside the nodes' network namespaces: nftables tables
/// named akkakube-chaos-* (a partition drops the other side's node and pod addresses in the input and output hooks,
/// loss drops a share of packets with `numgen random`) and qdiscs on the node's veth (tbf for bandwidth, netem for
/// delay where the kernel has it). The host's own address (your shell, kubectl, the chaos runner) is never cut: it is
/// the operator's out-of-band access. Every fault is undone by <see cref="HealAll"/>, which removes all of them.
/// Freezing (SIGSTOP/SIGCONT of the node process) needs no namespace and works in loopback mode too.
/// </summary>
public static partial class NetworkFaults
{
    public const string TablePrefix = "akkakube-chaos-";
    public const int SigStop = 19, SigCont = 18;

    /// <summary>A one-line refusal when <paramref name="state"/> is not a netns cluster.</summary>
    public static void RequireHosts(ClusterState state, string fault)
    {
        if (state.Hosts != "netns")
            throw new CliException($"chaos {fault} needs nodes on their own hosts: start the cluster with `akkakube up --hosts netns` (loopback nodes share one network stack)", 2);
        if (HostNetwork.Missing() is { } why) throw new CliException($"chaos {fault} {why}", 2);
        if (HostNetwork.Which("nft") is null) throw new CliException($"chaos {fault} needs `nft` on PATH (apt-get install nftables)", 2);
    }

    private static string Addresses(IEnumerable<NodeState> nodes) => string.Join(", ", nodes.SelectMany(n => new[] { n.Ip, n.PodCidr }));

    /// <summary>
    /// Packets from <paramref name="from"/> to <paramref name="to"/> are dropped (in the senders' output and the
    /// receivers' input hooks); call it both ways for a full partition.
    /// </summary>
    public static void Cut(IReadOnlyList<NodeState> from, IReadOnlyList<NodeState> to, Dictionary<string, (List<NodeState> In, List<NodeState> Out)> rules)
    {
        foreach (var f in from) Rules(rules, f).Out.AddRange(to);
        foreach (var t in to) Rules(rules, t).In.AddRange(from);
    }

    private static (List<NodeState> In, List<NodeState> Out) Rules(Dictionary<string, (List<NodeState> In, List<NodeState> Out)> rules, NodeState n) =>
        rules.TryGetValue(n.Name, out var r) ? r : rules[n.Name] = ([], []);

    /// <summary>Writes the partition table of every node <paramref name="rules"/> names (replacing an earlier partition there).</summary>
    public static void ApplyPartition(ClusterState state, Dictionary<string, (List<NodeState> In, List<NodeState> Out)> rules)
    {
        foreach (var (name, (input, output)) in rules)
        {
            var node = state.Nodes.Single(n => n.Name == name);
            var body = new StringBuilder();
            if (input.Count > 0) body.Append($"  chain input {{ type filter hook input priority -300; policy accept; ip saddr {{ {Addresses(input)} }} drop; }}\n");
            if (output.Count > 0) body.Append($"  chain output {{ type filter hook output priority -300; policy accept; ip daddr {{ {Addresses(output)} }} drop; }}\n");
            Table(node, "partition", body.ToString());
        }
    }

    /// <summary>Drops <paramref name="percent"/>% of the node's packets each way (not those of the host's address).</summary>
    public static void Loss(ClusterState state, NodeState node, int percent)
    {
        var host = HostNetwork.HostAddress(state.HostsCidr ?? HostNetwork.DefaultCidr);
        Table(node, "loss",
            $"  chain input {{ type filter hook input priority -300; policy accept; ip saddr != {host} numgen random mod 100 < {percent} drop; }}\n" +
            $"  chain output {{ type filter hook output priority -300; policy accept; ip daddr != {host} numgen random mod 100 < {percent} drop; }}\n");
    }

    private static void Table(NodeState node, string kind, string chains)
    {
        var table = $"inet {TablePrefix}{kind}";
        // Declaring then deleting makes the script replace a table that may or may not exist, in one transaction.
        Nft(node, $"table {table}\ndelete table {table}\ntable {table} {{\n  comment \"akkakube chaos {kind}, undone by `akkakube chaos heal`\"\n{chains}}}\n");
    }

    private static HostNetwork.Result Nft(NodeState node, string script, bool check = true) =>
        HostNetwork.Run("nsenter", [$"--net=/run/netns/{node.Namespace}", "--", "nft", "-f", "-"], check, script);

    /// <summary>`1mbit`, `500kbit`, `2gbit`, `64000bit` → bits per second; null when not a rate.</summary>
    public static long? ParseRate(string rate)
    {
        var m = RateRegex().Match(rate.Trim().ToLowerInvariant());
        if (!m.Success || !double.TryParse(m.Groups[1].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || v <= 0) return null;
        return (long)(v * m.Groups[2].Value switch { "k" => 1e3, "m" => 1e6, "g" => 1e9, _ => 1 });
    }

    [GeneratedRegex(@"^([0-9]+(?:\.[0-9]+)?)([kmg]?)bit$")]
    private static partial Regex RateRegex();

    /// <summary>Limits the node's traffic both ways to <paramref name="bitsPerSecond"/> with a tbf qdisc on each end of its veth.</summary>
    public static void Bandwidth(NodeState node, long bitsPerSecond)
    {
        // Enough burst for 20 ms at the rate, never below a few full frames.
        var burst = Math.Max(4096, bitsPerSecond / 8 / 50);
        var args = new[] { "root", "tbf", "rate", $"{bitsPerSecond}bit", "burst", burst.ToString(CultureInfo.InvariantCulture), "latency", "400ms" };
        HostNetwork.Ip(["-n", node.Namespace!, "link", "show", "eth0"]);
        HostNetwork.Run("tc", ["-n", node.Namespace!, "qdisc", "replace", "dev", "eth0", .. args]);
        HostNetwork.Run("tc", ["qdisc", "replace", "dev", HostVeth(node), .. args]);
    }

    /// <summary>Delays the node's outgoing packets with netem; a one-line refusal where the kernel has no netem.</summary>
    public static void Delay(NodeState node, string delay, string? jitter)
    {
        string[] args = ["-n", node.Namespace!, "qdisc", "replace", "dev", "eth0", "root", "netem", "delay", delay, .. jitter is null ? Array.Empty<string>() : [jitter]];
        var r = HostNetwork.Run("tc", args, check: false);
        if (r.Exit != 0)
            throw new CliException(r.Error.Contains("unknown", StringComparison.OrdinalIgnoreCase) || r.Error.Contains("No such file", StringComparison.Ordinal)
                ? "chaos delay needs the kernel's netem qdisc (sch_netem), which this kernel does not have; loss and bandwidth work without it"
                : $"tc netem: {r.Error.Trim().Split('\n')[0]}", 2);
    }

    /// <summary>The host end of the node's veth: eth0@ifN in the namespace names its peer's index N.</summary>
    private static string HostVeth(NodeState node)
    {
        var line = HostNetwork.Ip(["-n", node.Namespace!, "-o", "link", "show", "eth0"]).Output;
        var m = Regex.Match(line, @"eth0@if(\d+)");
        if (!m.Success) throw new CliException($"cannot find the host end of {node.Name}'s veth ({line.Trim()})");
        var index = m.Groups[1].Value;
        var host = HostNetwork.Ip(["-o", "link", "show"]).Output.Split('\n').FirstOrDefault(l => l.StartsWith(index + ": ", StringComparison.Ordinal))
                   ?? throw new CliException($"no host link with index {index} ({node.Name}'s veth)");
        return host.Split(':')[1].Trim().Split('@')[0];
    }

    /// <summary>Undoes every network fault on every node (tables, qdiscs) and thaws every frozen node; returns what it undid.</summary>
    public static IReadOnlyList<string> HealAll(ClusterState state)
    {
        var undone = new List<string>();
        foreach (var n in state.Nodes)
        {
            if (n.Namespace is not null && HostNetwork.NamespaceExists(n.Namespace))
            {
                var tables = HostNetwork.Run("nsenter", [$"--net=/run/netns/{n.Namespace}", "--", "nft", "list", "tables"], check: false).Output;
                foreach (var table in tables.Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith("table inet " + TablePrefix, StringComparison.Ordinal)))
                {
                    Nft(n, $"delete {table}\n");
                    undone.Add($"{n.Name}: {table["table inet ".Length..]}");
                }
                if (HostNetwork.Run("tc", ["-n", n.Namespace, "qdisc", "del", "dev", "eth0", "root"], check: false).Exit == 0) undone.Add($"{n.Name}: qdisc");
                try
                {
                    HostNetwork.Run("tc", ["qdisc", "del", "dev", HostVeth(n), "root"], check: false);
                }
                catch (CliException)
                {
                }
            }
            if (NodeProcesses.IsNodeAlive(n.Pid, n.Name) && IsStopped(n.Pid))
            {
                NodeProcesses.Signal(n.Pid, SigCont);
                undone.Add($"{n.Name}: thawed");
            }
        }
        return undone;
    }

    /// <summary>True when the process is stopped (state T): frozen by `chaos freeze`.</summary>
    public static bool IsStopped(int pid) => NodeProcesses.StateOf(pid) is 'T' or 't';
}
