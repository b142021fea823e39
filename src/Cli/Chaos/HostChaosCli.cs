using System.CommandLine;
using System.Globalization;

namespace AkkaKube.Cli.Chaos;

/// <summary>
/// `akkakube chaos partition|isolate|freeze|loss|bandwidth|delay …` (held for --hold seconds, then undone, reported on the
/// chaos timeline) and `chaos heal` / `thaw` (undo whatever is left at once). All but freeze need `up --hosts netns`.
/// </summary>
public static class HostChaosCli
{
    public static void AddTo(Command chaos, Option<string> dataDir)
    {
        var groups = new Argument<string[]>("groups") { Description = "node groups separated by '/', e.g. `cp-1 / cp-2,cp-3` (one group: it against all other nodes)", Arity = ArgumentArity.OneOrMore };
        var oneWay = new Option<bool>("--one-way") { Description = "drop only the packets from the first group to the second (an asymmetric partition)" };
        chaos.Subcommands.Add(Held("partition", "Partition the hosts into groups that cannot reach each other (nftables drops inside their namespaces; --hosts netns), hold, heal, report", dataDir, [groups], [oneWay],
            (parse, state) => Partition(state, Groups(state, parse.GetValue(groups)!), parse.GetValue(oneWay))));

        var node = NodeArgument();
        chaos.Subcommands.Add(Held("isolate", "Cut one host off from every other node (the host's shell and kubectl still reach it), hold, heal, report", dataDir, [node], [],
            (parse, state) => Partition(state, [[ChaosRunner.FindNode(state, parse.GetValue(node)!)], state.Nodes.Where(n => n.Name != parse.GetValue(node)).ToList()], false, "isolate")));

        var freezeNode = NodeArgument();
        chaos.Subcommands.Add(Held("freeze", "SIGSTOP a node process (a GC pause or a hung VM: its sockets stay open, nothing refuses a connection), hold, SIGCONT, report; works on loopback too", dataDir, [freezeNode], [],
            (parse, state) =>
            {
                var n = ChaosRunner.FindNode(state, parse.GetValue(freezeNode)!);
                return new HostFault("freeze", [n], $"SIGSTOP {n.Name} pid {n.Pid}",
                    () => NodeProcesses.Signal(n.Pid, NetworkFaults.SigStop), () => NodeProcesses.Signal(n.Pid, NetworkFaults.SigCont));
            }));

        var lossNode = NodeArgument();
        var percent = new Argument<string>("percent") { Description = "share of packets dropped each way, e.g. 20%" };
        chaos.Subcommands.Add(Held("loss", "Drop a share of a host's packets each way (nftables numgen random), hold, undo, report", dataDir, [lossNode, percent], [],
            (parse, state) =>
            {
                NetworkFaults.RequireHosts(state, "loss");
                var n = ChaosRunner.FindNode(state, parse.GetValue(lossNode)!);
                var text = parse.GetValue(percent)!.TrimEnd('%');
                if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var p) || p is < 1 or > 100)
                    throw new CliException($"chaos loss: '{parse.GetValue(percent)}' must be a percentage from 1% to 100%", 2);
                return new HostFault("loss", [n], $"{n.Name} drops {p}% of its packets each way", () => NetworkFaults.Loss(state, n, p), () => NetworkFaults.HealAll(state));
            }));

        var bwNode = NodeArgument();
        var rate = new Argument<string>("rate") { Description = "e.g. 1mbit, 500kbit" };
        chaos.Subcommands.Add(Held("bandwidth", "Limit a host's traffic each way (tbf qdisc on both ends of its veth), hold, undo, report", dataDir, [bwNode, rate], [],
            (parse, state) =>
            {
                NetworkFaults.RequireHosts(state, "bandwidth");
                var n = ChaosRunner.FindNode(state, parse.GetValue(bwNode)!);
                var bits = NetworkFaults.ParseRate(parse.GetValue(rate)!) ?? throw new CliException($"chaos bandwidth: '{parse.GetValue(rate)}' is not a rate like 1mbit or 500kbit", 2);
                return new HostFault("bandwidth", [n], $"{n.Name} limited to {parse.GetValue(rate)}", () => NetworkFaults.Bandwidth(n, bits), () => NetworkFaults.HealAll(state));
            }));

        var delayNode = NodeArgument();
        var delay = new Argument<string>("delay") { Description = "e.g. 200ms or 200ms±50ms (jitter)" };
        chaos.Subcommands.Add(Held("delay", "Delay a host's outgoing packets (netem qdisc; only where the kernel has netem), hold, undo, report", dataDir, [delayNode, delay], [],
            (parse, state) =>
            {
                NetworkFaults.RequireHosts(state, "delay");
                var n = ChaosRunner.FindNode(state, parse.GetValue(delayNode)!);
                var parts = parse.GetValue(delay)!.Split(['±', '~'], 2);
                return new HostFault("delay", [n], $"{n.Name} delayed {parse.GetValue(delay)}",
                    () => NetworkFaults.Delay(n, parts[0], parts.Length > 1 ? parts[1] : null), () => NetworkFaults.HealAll(state));
            }));

        chaos.Subcommands.Add(Undo("heal", "Undo every partition, loss, bandwidth or delay fault left on the hosts, and thaw frozen nodes", dataDir));
        chaos.Subcommands.Add(Undo("thaw", "SIGCONT every frozen node process (and undo any network fault left)", dataDir));
    }

    private static Argument<string> NodeArgument() => new("node") { Description = "node name, e.g. worker-a1 or cp-2" };

    private static Command Held(string name, string description, Option<string> dataDir, Argument[] arguments, Option[] options, Func<ParseResult, ClusterState, HostFault> plan)
    {
        var (json, timeout, output) = ChaosCli.Common();
        var hold = new Option<int>("--hold") { Description = "seconds the fault stays (longer while a cut-off control plane's work has not moved yet, up to --timeout)", DefaultValueFactory = _ => 20 };
        var cmd = new Command(name, description) { dataDir, json, timeout, output, hold };
        foreach (var a in arguments) cmd.Arguments.Add(a);
        foreach (var o in options) cmd.Options.Add(o);
        cmd.SetAction(async (parse, ct) =>
        {
            var asJson = ChaosCli.AsJson(parse, json, output);
            var runner = new HostChaosRunner
            {
                DataDirectory = parse.GetValue(dataDir)!,
                Hold = TimeSpan.FromSeconds(Math.Max(1, parse.GetValue(hold))),
                Timeout = TimeSpan.FromSeconds(Math.Max(1, parse.GetValue(timeout))),
                Progress = asJson ? null : Console.WriteLine,
            };
            var report = await runner.RunAsync(state => plan(parse, state), ct);
            return ChaosCli.Print(report, asJson);
        });
        return cmd;
    }

    private static Command Undo(string name, string description, Option<string> dataDir)
    {
        var cmd = new Command(name, description) { dataDir };
        cmd.SetAction(parse =>
        {
            var state = new HostChaosRunner { DataDirectory = parse.GetValue(dataDir)! }.LoadState();
            var undone = NetworkFaults.HealAll(state);
            Console.WriteLine(undone.Count == 0 ? "nothing to undo" : $"undone: {string.Join("; ", undone)}");
            return 0;
        });
        return cmd;
    }

    /// <summary>`cp-1 / cp-2,cp-3` (as one or several arguments) → the node groups; one group: it against all the others.</summary>
    public static IReadOnlyList<IReadOnlyList<NodeState>> Groups(ClusterState state, IReadOnlyList<string> args)
    {
        var text = string.Join(" ", args);
        var groups = text.Split('/').Select(g => g.Split([',', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(n => ChaosRunner.FindNode(state, n)).ToList()).ToList();
        if (groups.Any(g => g.Count == 0)) throw new CliException($"chaos partition: an empty group in '{text}' (e.g. `cp-1 / cp-2,cp-3`)", 2);
        var all = groups.SelectMany(g => g).ToList();
        if (all.Select(n => n.Name).Distinct().Count() != all.Count) throw new CliException($"chaos partition: a node is in two groups in '{text}'", 2);
        if (groups.Count == 1)
        {
            var rest = state.Nodes.Where(n => !all.Contains(n)).ToList();
            if (rest.Count == 0) throw new CliException("chaos partition: the group holds every node; name the nodes to cut off", 2);
            groups.Add(rest);
        }
        return groups;
    }

    /// <summary>
    /// Every group cut off from every other (with <paramref name="oneWay"/>: only the first group's packets to the others
    /// dropped). The affected side, watched from the others, is the group with the fewest control planes.
    /// </summary>
    public static HostFault Partition(ClusterState state, IReadOnlyList<IReadOnlyList<NodeState>> groups, bool oneWay, string kind = "partition")
    {
        NetworkFaults.RequireHosts(state, kind);
        var rules = new Dictionary<string, (List<NodeState> In, List<NodeState> Out)>();
        for (var i = 0; i < groups.Count; i++)
            for (var j = 0; j < groups.Count; j++)
                if (i != j && (!oneWay || i == 0))
                    NetworkFaults.Cut(groups[i].ToList(), groups[j].ToList(), rules);
        var affected = oneWay ? groups[0] : groups.OrderBy(g => g.Count(n => n.ControlPlane)).ThenBy(g => g.Count).First();
        var detail = string.Join(oneWay ? " -/-> " : " / ", groups.Select(g => string.Join(",", g.Select(n => n.Name))));
        return new HostFault(kind, affected, detail, () => NetworkFaults.ApplyPartition(state, rules), () => NetworkFaults.HealAll(state));
    }
}
