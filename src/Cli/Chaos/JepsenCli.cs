using System.CommandLine;

namespace AkkaKube.Cli.Chaos;

/// <summary>
/// `akkakube chaos jepsen`: a history of API calls from several clients while a seeded nemesis injects faults; exit 0 when
/// the history is linearizable, no acknowledged write is lost, every fault recovered and the cluster is steady at the end;
/// 3 otherwise; 2 when the cluster is not steady beforehand or a fault is not available here.
/// </summary>
public static class JepsenCli
{
    public static Command Describe(Option<string> dataDir)
    {
        var ops = new Option<int>("--ops") { Description = "operations of the history at most (read, create, compare-and-set update, delete on ConfigMaps)", DefaultValueFactory = _ => 10_000 };
        var clients = new Option<int>("--clients") { Description = "concurrent clients, spread over the control planes' apiservers", DefaultValueFactory = _ => 8 };
        var keys = new Option<int>("--keys") { Description = "keys the clients share at a time (a fresh set every 30 calls per key)", DefaultValueFactory = _ => 8 };
        var duration = new Option<int>("--duration") { Description = "seconds the history runs at most", DefaultValueFactory = _ => 600 };
        var faults = new Option<string>("--faults") { Description = "faults the nemesis picks from, comma-separated: partition,isolate,freeze,kill (default: all the cluster allows; loopback clusters: freeze,kill)" };
        var maxFaults = new Option<int>("--max-faults") { Description = "faults to inject at most (0: as many as fit while the history runs); the history stops 2 s after the last" };
        var seed = new Option<int>("--seed") { Description = "seed of the nemesis (fault order, targets, holds, gaps) and the clients", DefaultValueFactory = _ => 1 };
        var hold = new Option<string>("--hold") { Description = "seconds each fault is held, MIN-MAX (longer while a cut-off control plane's work has not moved)", DefaultValueFactory = _ => "3-10" };
        var gap = new Option<string>("--gap") { Description = "seconds between a fault's recovery and the next fault, MIN-MAX", DefaultValueFactory = _ => "2-6" };
        var think = new Option<int>("--think-ms") { Description = "pause of each client between calls, in ms", DefaultValueFactory = _ => 10 };
        var (json, timeout, output) = ChaosCli.Common();
        var cmd = new Command("jepsen", "Jepsen-style run: clients record a history against the API while a seeded nemesis partitions, isolates, freezes and kills nodes; " +
                                        "then every fault is undone, the history is checked for linearizability and every acknowledged write read back; report with the latency timeline (SVG) in DATA/chaos")
        {
            dataDir, json, timeout, output, ops, clients, keys, duration, faults, maxFaults, seed, hold, gap, think,
        };
        cmd.SetAction(async (parse, ct) =>
        {
            var asJson = ChaosCli.AsJson(parse, json, output);
            var (holdMin, holdMax) = Range(parse.GetValue(hold)!, "--hold");
            var (gapMin, gapMax) = Range(parse.GetValue(gap)!, "--gap");
            if (parse.GetValue(ops) < 1 || parse.GetValue(clients) < 1 || parse.GetValue(keys) < 1)
                throw new CliException("chaos jepsen: --ops, --clients and --keys must be at least 1", 2);
            var runner = new JepsenRunner
            {
                DataDirectory = parse.GetValue(dataDir)!,
                Operations = parse.GetValue(ops),
                Clients = parse.GetValue(clients),
                Keys = parse.GetValue(keys),
                Duration = TimeSpan.FromSeconds(Math.Max(1, parse.GetValue(duration))),
                Faults = parse.GetValue(faults)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                MaxFaults = Math.Max(0, parse.GetValue(maxFaults)),
                Seed = parse.GetValue(seed),
                HoldMin = holdMin, HoldMax = holdMax, GapMin = gapMin, GapMax = gapMax,
                ThinkTime = TimeSpan.FromMilliseconds(Math.Max(0, parse.GetValue(think))),
                FaultTimeout = TimeSpan.FromSeconds(Math.Max(1, parse.GetValue(timeout))),
                Progress = asJson ? null : Console.WriteLine,
            };
            var report = await runner.RunAsync(ct);
            Console.WriteLine(asJson ? report.ToJson() : report.ToText());
            return report.Passed ? 0 : ChaosCli.NotRecovered;
        });
        return cmd;
    }

    /// <summary>"3-10" or "5" (seconds) → the range.</summary>
    public static (TimeSpan Min, TimeSpan Max) Range(string text, string option)
    {
        var parts = text.Split('-', 2, StringSplitOptions.TrimEntries);
        if (!double.TryParse(parts[0], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var min)
            || !double.TryParse(parts.Length > 1 ? parts[1] : parts[0], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var max)
            || min < 0 || max < min)
            throw new CliException($"chaos jepsen: {option} '{text}' must be seconds MIN-MAX, e.g. 3-10", 2);
        return (TimeSpan.FromSeconds(min), TimeSpan.FromSeconds(max));
    }
}
