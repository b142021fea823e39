using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using AkkaKube.Actors.Security;
using AkkaKube.Cli.History;

namespace AkkaKube.Cli.Chaos;

/// <summary>
/// `akkakube chaos jepsen`: a <see cref="HistoryClient"/> history (read / create / compare-and-set / delete on ConfigMaps,
/// clients spread over the control planes' apiservers) and a ledger of unique creates run while a nemesis injects a
/// seeded random schedule of faults, one at a time, each through <see cref="HostChaosRunner"/> (steady check, inject,
/// hold, undo, downed nodes started again, whole again). Afterwards: every fault undone and every dead node started
/// again (also on Ctrl-C), the cluster steady, each key read once more, the history checked by
/// <see cref="LinearizabilityChecker"/> and every acknowledged ledger write read back.
/// </summary>
public sealed class JepsenRunner
{
    public static readonly IReadOnlyList<string> HostFaults = ["partition", "isolate", "freeze", "kill"];
    public static readonly IReadOnlyList<string> LoopbackFaults = ["freeze", "kill"];

    public required string DataDirectory { get; init; }
    public int Operations { get; init; } = 10_000;
    public int Clients { get; init; } = 8;
    public int Keys { get; init; } = 8;
    public TimeSpan Duration { get; init; } = TimeSpan.FromMinutes(5);
    /// <summary>Null: every fault the cluster allows.</summary>
    public IReadOnlyList<string>? Faults { get; init; }
    public int Seed { get; init; } = 1;
    /// <summary>At most this many faults (0: as many as fit while the history runs); once done, the history ends after <see cref="Tail"/>.</summary>
    public int MaxFaults { get; init; }
    public TimeSpan HoldMin { get; init; } = TimeSpan.FromSeconds(3);
    public TimeSpan HoldMax { get; init; } = TimeSpan.FromSeconds(10);
    public TimeSpan GapMin { get; init; } = TimeSpan.FromSeconds(2);
    public TimeSpan GapMax { get; init; } = TimeSpan.FromSeconds(6);
    public TimeSpan Tail { get; init; } = TimeSpan.FromSeconds(2);
    public TimeSpan ThinkTime { get; init; } = TimeSpan.FromMilliseconds(10);
    public TimeSpan FaultTimeout { get; init; } = TimeSpan.FromSeconds(90);
    public Action<string>? Progress { get; init; }

    private const string ConfigMaps = "/api/v1/namespaces/default/configmaps";

    /// <summary>The faults this cluster allows, or a one-line refusal naming the ones it does not.</summary>
    public static IReadOnlyList<string> Allowed(ClusterState state, IReadOnlyList<string>? requested)
    {
        var available = state.Hosts == "netns" ? HostFaults : LoopbackFaults;
        if (requested is null or { Count: 0 }) return available;
        if (requested.FirstOrDefault(f => !HostFaults.Contains(f)) is { } unknown)
            throw new CliException($"chaos jepsen: unknown fault '{unknown}' (one of {string.Join(", ", HostFaults)})", 2);
        if (requested.FirstOrDefault(f => !available.Contains(f)) is { } missing)
            throw new CliException($"chaos jepsen: '{missing}' needs nodes on their own hosts (`akkakube up --hosts netns`); a loopback cluster allows {string.Join(" and ", LoopbackFaults)} only", 2);
        return requested.Distinct().ToList();
    }

    public async Task<JepsenReport> RunAsync(CancellationToken ct)
    {
        var dataDir = Path.GetFullPath(DataDirectory);
        var state = ClusterState.Load(dataDir) ?? throw new CliException($"no cluster in '{dataDir}' (akkakube up)");
        var faults = Allowed(state, Faults);
        var steadyRunner = new ChaosRunner { DataDirectory = dataDir, SteadyTimeout = FaultTimeout };
        using (var view = new ClusterView(state, TimeSpan.FromSeconds(3)))
        {
            Progress?.Invoke("checking that the cluster is steady …");
            await steadyRunner.WaitSteadyAsync(state, view, ct);
        }

        var credentials = KubeconfigCredentials.Load(LocalClusterLauncher.KubeconfigPath(dataDir));
        var servers = state.Hosts == "netns"
            ? state.Nodes.Where(n => n.ControlPlane).Select(n => new Uri($"{credentials.Server.Scheme}://{n.Ip}:{state.ApiPort}")).ToList()
            : [credentials.Server];
        var run = $"jepsen-{DateTime.UtcNow:HHmmss}-{Seed}";
        var report = new JepsenReport
        {
            Run = run, Seed = Seed, Faults = faults.ToList(), Clients = Clients, Hosts = state.Hosts ?? "loopback",
            Servers = servers.Select(s => s.Authority).ToList(), LoadBefore = LoadAverage(),
        };
        if (state.Hosts != "netns")
            report.Notes.Add($"loopback cluster: faults {string.Join(" and ", LoopbackFaults)} only (partition and isolate need `akkakube up --hosts netns`)");
        Progress?.Invoke($"{run}: {Operations} operations max, {Clients} clients over {string.Join(", ", report.Servers)}, faults {string.Join(",", faults)}, seed {Seed}");

        report.StartedAt = DateTime.UtcNow;
        var clock = Stopwatch.StartNew();
        var history = new HistoryClient(credentials, keyPrefix: run)
        {
            Clients = Clients, Keys = Keys, MaxOperations = Operations, MaxDuration = Duration, Seed = Seed, Servers = servers, Clock = clock,
            // ≈ 30 calls per key per generation: a call with an unknown outcome keeps a bounded window open for the checker.
            OpsPerKeyGeneration = Keys * 30,
            UnknownBackoff = TimeSpan.FromSeconds(1), ThinkTime = ThinkTime, CallTimeout = TimeSpan.FromSeconds(12),
        };
        using var stopHistory = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var recording = history.RunAsync(stopHistory.Token);
        var ledger = new Ledger(credentials, servers, run, clock);
        var writing = ledger.RunAsync(stopHistory.Token);
        try
        {
            await NemesisAsync(dataDir, faults, report, clock, recording, ct);
            // The nemesis is done (all its faults, the history's end, or a failure): a few calls after the last fault, then stop.
            if (!recording.IsCompleted) await Task.WhenAny(recording, Task.Delay(Tail, ct));
            await stopHistory.CancelAsync();
            report.Operations = (await recording).ToList();
        }
        finally
        {
            await stopHistory.CancelAsync();
            // Whatever happened (Ctrl-C, a failed step): no fault left behind, no node left dead.
            foreach (var undone in NetworkFaults.HealAll(ClusterState.Load(dataDir) ?? state))
                report.Notes.Add($"undone at the end: {undone}");
            foreach (var restarted in RestartDead(dataDir, "jepsen"))
                report.Notes.Add($"started again at the end: {restarted}");
        }
        await writing;
        report.HistorySeconds = clock.Elapsed.TotalSeconds;

        // The end state: steady again, then every key read once more and every acknowledged ledger write looked up.
        state = ClusterState.Load(dataDir)!;
        using (var view = new ClusterView(state, TimeSpan.FromSeconds(3)))
        {
            try
            {
                await steadyRunner.WaitSteadyAsync(state, view, ct);
                report.SteadyAtEnd = true;
            }
            catch (CliException e)
            {
                report.Notes.Add(e.Message);
            }
        }
        using var http = credentials.CreateClient(TimeSpan.FromSeconds(15));
        var finalReads = await FinalReadsAsync(http, report.Operations.Select(o => o.Key).Distinct().ToList(), clock, ct);
        report.FinalReads = finalReads.Count;
        // A read without an answer constrains nothing (it has no effect): left out of the history, as in the failover tests.
        var checkedOps = report.Operations.Concat(finalReads).Where(o => !(o.Kind == OpKind.Get && o.Outcome == OpOutcome.Unknown)).ToList();
        var sw = Stopwatch.StartNew();
        var verdict = LinearizabilityChecker.Check(checkedOps);
        report.CheckSeconds = sw.Elapsed.TotalSeconds;
        report.Linearizable = verdict.Linearizable;
        report.KeysChecked = verdict.KeysChecked;
        if (!verdict.Linearizable) report.Notes.Add($"NOT LINEARIZABLE: key {verdict.Key}: {verdict.Explanation}");

        report.LedgerAcknowledged = ledger.Acknowledged.Count;
        report.LedgerUnknown = ledger.Unknown;
        report.LedgerRefused = ledger.Refused;
        report.Lost = await LostAsync(http, ledger.Acknowledged, ct);
        if (report.Lost.Count > 0) report.Notes.Add($"LOST: {report.Lost.Count} acknowledged writes are missing: {string.Join(", ", report.Lost.Take(5))}");
        report.Ledger = ledger.Calls.ToList();

        // Everything this run wrote carries its label: remove it so repeated runs do not pile up ConfigMaps.
        foreach (var selector in new[] { $"{HistoryClient.Label}%3D{run}", $"{Ledger.LabelKey}%3D{run}" })
        {
            try
            {
                using var _ = await http.DeleteAsync($"{ConfigMaps}?labelSelector={selector}", ct);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                report.Notes.Add($"could not delete the run's ConfigMaps ({selector}): {e.Message}");
            }
        }
        report.LoadAfter = LoadAverage();
        report.Finish(Stopwatch.Frequency);
        report.WriteFiles(Path.Combine(dataDir, "chaos"));
        return report;
    }

    private async Task NemesisAsync(string dataDir, IReadOnlyList<string> faults, JepsenReport report, Stopwatch clock, Task recording, CancellationToken ct)
    {
        var rng = new Random(Seed);
        // Every allowed fault once (in a seeded order) before any comes again.
        var order = new List<string>();
        for (var i = 0; !recording.IsCompleted && !ct.IsCancellationRequested && (MaxFaults == 0 || i < MaxFaults); i++)
        {
            if (order.Count == 0) order = faults.OrderBy(_ => rng.Next()).ToList();
            var kind = order[0];
            order.RemoveAt(0);
            var gap = Between(rng, GapMin, GapMax);
            var hold = Between(rng, HoldMin, HoldMax);
            var pick = rng.Next();
            if (await Task.WhenAny(recording, Task.Delay(gap, ct)) == recording) break;
            var startedAt = clock.Elapsed.TotalSeconds;
            var state = ClusterState.Load(dataDir) ?? throw new CliException($"no cluster in '{dataDir}'");
            var fault = Plan(kind, state, new Random(pick));
            var runner = new HostChaosRunner
            {
                DataDirectory = dataDir, Hold = hold, Timeout = FaultTimeout, WaitForScheduling = false,
                Progress = Progress is null ? null : line => Progress($"  [{kind}] {line}"),
                // A killed node comes back only once the survivors removed its old incarnation, as after a real reboot (`chaos
                // restart`): a new incarnation joining while the old one is merely unreachable once left both workers downed.
                HoldUntil = kind == "kill" ? async c => await LocalClusterLauncher.QueryMembersAsync(state, TimeSpan.FromSeconds(5), c) is { } members
                                                         && members.All(m => m.Address != fault.Affected[0].Address) : null,
            };
            Progress?.Invoke($"+{clock.Elapsed.TotalSeconds:0.0}s fault {i + 1}: {kind} (hold {hold.TotalSeconds:0.0} s)");
            try
            {
                var chaos = await runner.RunAsync(_ => fault, ct);
                var window = FaultWindow.From(chaos, report.StartedAt, startedAt);
                report.Windows.Add(window);
                Progress?.Invoke($"+{clock.Elapsed.TotalSeconds:0.0}s fault {i + 1}: {window.Kind} {string.Join(",", window.Targets)} " +
                                 $"+{window.InjectedAt:0.0}s … healed +{window.HealedAt:0.0}s, {(window.Recovered ? $"whole +{window.WholeAt:0.0}s" : "NOT whole")}");
                if (!chaos.Recovered) break;
            }
            catch (CliException e)
            {
                report.Notes.Add($"fault {i + 1} ({kind}) not run: {e.Message}");
                report.NemesisFailed = true;
                break;
            }
        }
    }

    private static TimeSpan Between(Random rng, TimeSpan min, TimeSpan max) =>
        max <= min ? min : min + TimeSpan.FromMilliseconds(rng.NextDouble() * (max - min).TotalMilliseconds);

    /// <summary>
    /// partition: one control plane from the other two (the workers in neither group: they still reach both sides, the
    /// partial partition Akka's own resolver got wrong); isolate: one node from every other; freeze: SIGSTOP / SIGCONT;
    /// kill: SIGKILL (the runner starts the node again, as a supervisor would).
    /// </summary>
    public static HostFault Plan(string kind, ClusterState state, Random rng)
    {
        var cps = state.Nodes.Where(n => n.ControlPlane).ToList();
        NodeState Any() => state.Nodes[rng.Next(state.Nodes.Count)];
        switch (kind)
        {
            case "partition":
                var cut = cps[rng.Next(cps.Count)];
                return HostChaosCli.Partition(state, [[cut], cps.Where(n => n != cut).ToList()], oneWay: false);
            case "isolate":
                var alone = Any();
                return HostChaosCli.Partition(state, [[alone], state.Nodes.Where(n => n != alone).ToList()], oneWay: false, "isolate");
            case "freeze":
                var frozen = Any();
                return new HostFault("freeze", [frozen], $"SIGSTOP {frozen.Name} pid {frozen.Pid}",
                    () => NodeProcesses.Signal(frozen.Pid, NetworkFaults.SigStop), () => NodeProcesses.Signal(frozen.Pid, NetworkFaults.SigCont));
            case "kill":
                var killed = Any();
                // Nothing to undo: the runner starts a node whose process is gone again.
                return new HostFault("kill", [killed], $"SIGKILL {killed.Name} pid {killed.Pid}", () => NodeProcesses.Signal(killed.Pid, NodeProcesses.SigKill), () => { });
            default:
                throw new CliException($"chaos jepsen: unknown fault '{kind}'", 2);
        }
    }

    /// <summary>Starts every node of cluster.json whose process is gone again (rejoining, a new incarnation); the names started.</summary>
    public static IReadOnlyList<string> RestartDead(string dataDir, string why)
    {
        var state = ClusterState.Load(dataDir);
        if (state is null) return [];
        var started = new List<string>();
        foreach (var t in state.Nodes.Where(n => !NodeProcesses.IsNodeAlive(n.Pid, n.Name)).ToList())
        {
            var command = ChaosRunner.RejoinCommand(t.Command, t.Address);
            File.AppendAllText(t.LogFile, $"---- {DateTime.UtcNow:O} akkakube chaos {why}: started again at the end of the run: {string.Join(' ', command)}\n");
            var pid = NodeProcesses.StartDetached(command, t.LogFile);
            state = state with { Nodes = state.Nodes.Select(n => n.Name == t.Name ? n with { Pid = pid } : n).ToList() };
            state.Save();
            started.Add($"{t.Name} pid {pid}");
        }
        return started;
    }

    private static async Task<List<Operation>> FinalReadsAsync(HttpClient http, IReadOnlyList<string> keys, Stopwatch clock, CancellationToken ct)
    {
        var reads = new List<Operation>();
        foreach (var key in keys)
        {
            var invoke = clock.ElapsedTicks;
            for (var attempt = 0; ; attempt++)
            {
                try
                {
                    using var r = await http.GetAsync($"{ConfigMaps}/{key}", ct);
                    if ((int)r.StatusCode >= 500 && attempt < 5)
                    {
                        await Task.Delay(1000, ct);
                        continue;
                    }
                    var json = r.IsSuccessStatusCode ? JsonNode.Parse(await r.Content.ReadAsStringAsync(ct)) : null;
                    reads.Add(r.StatusCode switch
                    {
                        HttpStatusCode.OK => new Operation(0, key, OpKind.Get, invoke, clock.ElapsedTicks, OpOutcome.Ok,
                            json?["data"]?["v"]?.GetValue<string>(), null, json?["metadata"]?["resourceVersion"]?.GetValue<string>()),
                        HttpStatusCode.NotFound => new Operation(0, key, OpKind.Get, invoke, clock.ElapsedTicks, OpOutcome.NotFound),
                        _ => new Operation(0, key, OpKind.Get, invoke, 0, OpOutcome.Unknown),
                    });
                    break;
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested && attempt < 5)
                {
                    await Task.Delay(1000, ct);
                }
            }
        }
        return reads;
    }

    private static async Task<List<string>> LostAsync(HttpClient http, IReadOnlyList<string> acknowledged, CancellationToken ct)
    {
        var lost = new List<string>();
        foreach (var name in acknowledged)
        {
            for (var attempt = 0; ; attempt++)
            {
                try
                {
                    using var r = await http.GetAsync($"{ConfigMaps}/{name}", ct);
                    if (r.StatusCode == HttpStatusCode.NotFound) lost.Add(name);
                    else if (!r.IsSuccessStatusCode && attempt < 5)
                    {
                        await Task.Delay(1000, ct);
                        continue;
                    }
                    else if (!r.IsSuccessStatusCode) lost.Add($"{name} (HTTP {(int)r.StatusCode})");
                    break;
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested && attempt < 5)
                {
                    await Task.Delay(1000, ct);
                }
            }
        }
        return lost;
    }

    private static double[] LoadAverage()
    {
        try
        {
            return File.ReadAllText("/proc/loadavg").Split(' ').Take(3).Select(x => double.Parse(x, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        }
        catch (Exception e) when (e is IOException or FormatException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    /// <summary>
    /// One writer per apiserver creating uniquely named ConfigMaps back to back (each a fresh write, never overwritten): every
    /// create the API acknowledged must be readable at the end. Its calls join the latency timeline.
    /// </summary>
    private sealed class Ledger(KubeconfigCredentials credentials, IReadOnlyList<Uri> servers, string run, Stopwatch clock)
    {
        public const string LabelKey = "akkakube.io/jepsen-ledger";
        public List<string> Acknowledged { get; } = [];
        public List<LedgerCall> Calls { get; } = [];
        public int Unknown;
        public int Refused;

        public Task RunAsync(CancellationToken stop) => Task.WhenAll(servers.Select((server, i) => Task.Run(async () =>
        {
            using var http = credentials.WithServer(server).CreateClient(TimeSpan.FromSeconds(12));
            http.DefaultRequestHeaders.ConnectionClose = true; // see HistoryClient: no silent re-send of a POST
            for (var n = 0; !stop.IsCancellationRequested; n++)
            {
                var name = $"{run}-w{i}-{n}";
                var body = new JsonObject
                {
                    ["apiVersion"] = "v1", ["kind"] = "ConfigMap",
                    ["metadata"] = new JsonObject { ["name"] = name, ["labels"] = new JsonObject { [LabelKey] = run } },
                    ["data"] = new JsonObject { ["n"] = n.ToString(System.Globalization.CultureInfo.InvariantCulture) },
                };
                var invoke = clock.Elapsed.TotalSeconds;
                string outcome;
                try
                {
                    using var content = new StringContent(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json");
                    using var r = await http.PostAsync(ConfigMaps, content, stop);
                    outcome = r.IsSuccessStatusCode ? "ok" : (int)r.StatusCode >= 500 ? "unknown" : "fail";
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException or OperationCanceledException or IOException)
                {
                    outcome = "unknown";
                }
                var ret = clock.Elapsed.TotalSeconds;
                lock (Calls)
                {
                    Calls.Add(new LedgerCall(invoke, ret, outcome));
                    if (outcome == "ok") Acknowledged.Add(name);
                    else if (outcome == "unknown") Unknown++;
                    else Refused++;
                }
                try { await Task.Delay(outcome == "unknown" ? 1000 : 50, stop); } catch (OperationCanceledException) { break; }
            }
        }, CancellationToken.None)));
    }
}

public sealed record LedgerCall(double Invoke, double Return, string Outcome);
