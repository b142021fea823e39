using System.CommandLine;

namespace AkkaKube.Cli.Chaos;

/// <summary>
/// `akkakube chaos kill|stop|restart|restart-kubelet &lt;node&gt;`, `kill-zone &lt;zone&gt;`, `kill-leader`, `crash-actor|stop-actor &lt;node&gt; &lt;path&gt;`:
/// inject a fault into the local cluster and print the recovery report (exit 0 recovered, 3 not recovered within
/// --timeout, 2 not steady beforehand / usage, 1 other errors).
/// </summary>
public static class ChaosCli
{
    public const int NotRecovered = 3;

    public static Command Describe(Option<string> dataDir)
    {
        var chaos = new Command("chaos", "Inject a fault into the local cluster and report how it recovers (timeline, API availability)");
        chaos.Subcommands.Add(Fault("kill", "SIGKILL a node process, then watch the cluster recover", FaultKind.Kill, "node", dataDir));
        chaos.Subcommands.Add(Fault("stop", "SIGTERM a node process (graceful leave), then watch the cluster recover", FaultKind.Stop, "node", dataDir));
        chaos.Subcommands.Add(Fault("restart", "SIGKILL a node process and start it again with the same arguments (a reboot); wait until it is Up again", FaultKind.Restart, "node", dataDir));
        chaos.Subcommands.Add(Fault("restart-kubelet", "SIGKILL only a worker's node process (its kubelet) and start it again: under --runtime containerd its containers keep running and are re-adopted (same container IDs, restart counts); on the process runtime they die with it and start again", FaultKind.RestartKubelet, "node", dataDir));
        chaos.Subcommands.Add(Fault("kill-zone", "SIGKILL every worker of a zone, then watch the workloads re-spread", FaultKind.KillZone, "zone", dataDir));
        chaos.Subcommands.Add(Fault("kill-leader", "SIGKILL the control-plane node hosting the singletons (scheduler, controller-manager)", FaultKind.KillLeader, null, dataDir));
        chaos.Subcommands.Add(ActorFault(dataDir, stop: false));
        chaos.Subcommands.Add(ActorFault(dataDir, stop: true));
        HostChaosCli.AddTo(chaos, dataDir);
        chaos.Subcommands.Add(JepsenCli.Describe(dataDir));
        return chaos;
    }

    internal static (Option<bool> Json, Option<int> Timeout, Option<string> Output) Common()
    {
        var output = new Option<string>("--output", "-o") { Description = "text (default) or json: the report as one JSON object (fault, targets, timeline, recovery, API availability)", DefaultValueFactory = _ => "text" };
        output.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<string>() is not ("text" or "json"))
                r.AddError($"--output: unknown format '{r.GetValueOrDefault<string>()}' (expected text or json)");
        });
        output.CompletionSources.Add("text", "json");
        return (new Option<bool>("--json") { Description = "same as --output json" },
            new Option<int>("--timeout") { Description = "seconds to wait for recovery (non-zero exit when exceeded)", DefaultValueFactory = _ => 60 },
            output);
    }

    internal static bool AsJson(ParseResult parse, Option<bool> json, Option<string> output) =>
        parse.GetValue(json) || parse.GetValue(output) == "json";

    private static Command Fault(string name, string description, FaultKind kind, string? argName, Option<string> dataDir)
    {
        var (json, timeout, output) = Common();
        var cmd = new Command(name, description) { dataDir, json, timeout, output };
        Argument<string>? arg = null;
        if (argName is not null)
        {
            arg = new Argument<string>(argName) { Description = argName == "zone" ? "zone name, e.g. zone-a" : "node name, e.g. worker-a1 or cp-2" };
            cmd.Arguments.Add(arg);
        }
        cmd.SetAction(async (parse, ct) =>
        {
            var asJson = AsJson(parse, json, output);
            var runner = new ChaosRunner
            {
                DataDirectory = parse.GetValue(dataDir)!,
                Timeout = TimeSpan.FromSeconds(Math.Max(1, parse.GetValue(timeout))),
                Progress = asJson ? null : Console.WriteLine,
            };
            var report = await runner.RunAsync(kind, arg is null ? null : parse.GetValue(arg), ct);
            return Print(report, asJson);
        });
        return cmd;
    }

    private static Command ActorFault(Option<string> dataDir, bool stop)
    {
        var (json, timeout, output) = Common();
        var node = new Argument<string>("node")
        {
            Description = stop
                ? "node the actor runs on (its command host stops it)"
                : "node the actor runs on (any node for controllers: they are reached through the singleton proxy)",
        };
        var path = new Argument<string>("path")
        {
            Description = stop
                ? "store/<partition>, pod/<namespace>/<name> (its PodWorker) or an actor path, e.g. /system/sharding/store/3/pods"
                : "a controller (replicaset, or /user/controller-manager/controller-manager/replicaset), store/<partition>, pod/<namespace>/<name> (its PodWorker), scheduler, or an actor path (`akkakube cmd <node> actor hierarchy`)",
        };
        var cmd = stop
            ? new Command("stop-actor", "Stop an actor (a store partition, a PodWorker) and watch its parent re-create it") { dataDir, json, timeout, output, node, path }
            : new Command("crash-actor", "Make an actor throw (a controller, a store partition, a PodWorker, the scheduler) and watch its supervisor restart it") { dataDir, json, timeout, output, node, path };
        cmd.SetAction(async (parse, ct) =>
        {
            var asJson = AsJson(parse, json, output);
            var runner = new ChaosRunner
            {
                DataDirectory = parse.GetValue(dataDir)!,
                Timeout = TimeSpan.FromSeconds(Math.Max(1, parse.GetValue(timeout))),
                Progress = asJson ? null : Console.WriteLine,
            };
            var report = stop
                ? await runner.StopActorAsync(parse.GetValue(node)!, parse.GetValue(path)!, ct)
                : await runner.CrashActorAsync(parse.GetValue(node)!, parse.GetValue(path)!, ct);
            return Print(report, asJson);
        });
        return cmd;
    }

    internal static int Print(ChaosReport report, bool json)
    {
        Console.WriteLine(json ? report.ToJson() : report.ToText());
        return report.Recovered ? 0 : NotRecovered;
    }
}
