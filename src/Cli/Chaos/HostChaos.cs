using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using AkkaKube.Actors.Security;

namespace AkkaKube.Cli.Chaos;

/// <summary>A fault held for a while and then undone: the nodes it cuts off (or freezes), and how to inject and undo it.</summary>
public sealed record HostFault(string Kind, IReadOnlyList<NodeState> Affected, string Detail, Action Inject, Action Revert);

/// <summary>
/// Runs a <see cref="HostFault"/> (partition, isolate, freeze, loss, bandwidth, delay): checks the cluster is steady,
/// injects, watches from the unaffected side for <see cref="Hold"/> (longer, up to <see cref="Timeout"/>, until scheduling
/// works again when a control plane is cut off), undoes the fault, starts again the nodes the control-plane downing
/// downed (their process exits when downed, as a supervisor such as systemd would restart it), and waits until the
/// cluster is whole. Writes go to the affected control planes' own apiservers all along: the timeline shows whether
/// each refused (5xx) or accepted them, and an accepted write must still be readable from the majority afterwards.
/// The fault is undone on every exit path, Ctrl-C included.
/// </summary>
public sealed class HostChaosRunner
{
    public required string DataDirectory { get; init; }
    public TimeSpan Hold { get; init; } = TimeSpan.FromSeconds(20);
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(90);
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(300);
    public Action<string>? Progress { get; init; }
    /// <summary>Held beyond <see cref="Hold"/> (up to <see cref="Timeout"/>) until this is true, e.g. until a frozen host's
    /// store partition has moved; checked every poll, reported as `hold condition met`.</summary>
    public Func<CancellationToken, Task<bool>>? HoldUntil { get; init; }
    /// <summary>When a control plane is cut off, hold (up to <see cref="Timeout"/>) until a probe pod is bound through the majority;
    /// false: only <see cref="Hold"/> (a caller measuring something else, such as `chaos jepsen`'s history, keeps its faults short).</summary>
    public bool WaitForScheduling { get; init; } = true;

    private const string Probes = "/api/v1/namespaces/default/configmaps";

    public ClusterState LoadState() =>
        ClusterState.Load(Path.GetFullPath(DataDirectory)) ?? throw new CliException($"no cluster in '{Path.GetFullPath(DataDirectory)}' (akkakube up)");

    public async Task<ChaosReport> RunAsync(Func<ClusterState, HostFault> plan, CancellationToken ct)
    {
        var state = LoadState();
        var fault = plan(state);
        using var view = new ClusterView(state, TimeSpan.FromSeconds(2));
        Progress?.Invoke("checking that the cluster is steady …");
        await new ChaosRunner { DataDirectory = DataDirectory }.WaitSteadyAsync(state, view, ct);

        var affected = fault.Affected.Select(n => n.Name).ToHashSet();
        var report = new ChaosReport { Fault = fault.Kind, Targets = fault.Affected.Select(n => n.Name).ToList(), TimeoutSeconds = Timeout.TotalSeconds };
        var majorityCp = state.Nodes.FirstOrDefault(n => n.ControlPlane && !affected.Contains(n.Name))
                         ?? throw new CliException($"chaos {fault.Kind}: no control plane outside the fault to watch from", 2);
        var scheme = KubeconfigCredentials.Load(LocalClusterLauncher.KubeconfigPath(state.DataDirectory)).Server.Scheme;
        Uri ApiOf(NodeState n) => new($"{scheme}://{(state.Hosts is null ? "127.0.0.1" : n.Ip)}:{state.ApiPort}");
        using var majority = new ClusterView(state, TimeSpan.FromSeconds(3), ApiOf(majorityCp));
        var minorityCps = fault.Affected.Where(n => n.ControlPlane).ToList();
        // Longer than the store's own 10 s timeout: the cut-off apiserver's answer, not our impatience, goes on the timeline.
        var minority = minorityCps.ToDictionary(n => n.Name, n => new ClusterView(state, TimeSpan.FromSeconds(15), ApiOf(n)));
        var oldSingletonHost = await ChaosRunner.SingletonHostAsync(state, view, affected, ct);
        var accepted = new List<(string Node, string Name)>();

        var clock = new Stopwatch();
        void Once(string ev, string detail = "")
        {
            lock (report.Timeline)
            {
                if (report.Timeline.Any(t => t.Event == ev && t.Detail == detail)) return;
                report.Add(clock.Elapsed.TotalSeconds, ev, detail);
            }
            Progress?.Invoke($"+{clock.Elapsed.TotalSeconds:0.00}s {ev} {detail}");
        }

        var reverted = false;
        void Revert()
        {
            if (reverted) return;
            reverted = true;
            fault.Revert();
        }
        using var stopWrites = CancellationTokenSource.CreateLinkedTokenSource(ct);
        try
        {
            report.InjectedAt = DateTime.UtcNow;
            clock.Start();
            fault.Inject();
            Once("injected", fault.Detail);
            var writes = WriteProbesAsync(majority, minority, report, clock, Once, accepted, stopWrites.Token);
            var deadline = clock.Elapsed + Timeout;
            var probePod = WaitForScheduling && (minorityCps.Count > 0 || (oldSingletonHost is not null && affected.Contains(oldSingletonHost.Name)))
                ? ChaosRunner.CreateProbePodAsync(majority, clock, report, deadline, ct)
                : null;

            // A cut-off singleton host: hold until the watch has also seen the singletons move (the probe pod can be bound
            // by the new scheduler before the next membership poll names its host).
            var singletonCut = oldSingletonHost is not null && affected.Contains(oldSingletonHost.Name);
            var held = HoldUntil is null;
            while (clock.Elapsed < deadline && (clock.Elapsed < Hold || probePod is { IsCompleted: false } || !held || (singletonCut && !report.Has("singletons moved"))))
            {
                await WatchAsync(state, view, fault, affected, oldSingletonHost, Once, ct);
                if (!held && await HoldUntil!(ct))
                {
                    held = true;
                    Once("hold condition met");
                }
                await Task.Delay(PollInterval, ct);
            }
            if (!held) report.Notes.Add("the hold condition was not met within the timeout");
            if (probePod is { IsFaulted: true }) report.Notes.Add($"probe pod: {probePod.Exception?.InnerException?.Message}");
            Revert();
            var healedAt = clock.Elapsed.TotalSeconds;
            Once("healed", "fault undone");

            var restarted = new HashSet<string>();
            var starts = new Dictionary<string, int>();
            var removedSince = new Dictionary<string, TimeSpan>();
            while (clock.Elapsed < deadline + Timeout)
            {
                // A supervisor's last resort: a process the majority removed exits on its own (a downed node shuts down; one
                // that never heard of its Down does once a control plane refuses it as quarantined, docs/failover.md "A downed
                // member exits"). If it is still alive and no member RemovedGrace after heal, kill it so it starts again below.
                await KillRemovedAsync(view, fault, affected, restarted, removedSince, clock, Once, report, ct);
                // A node the majority downed exits (a thawed one once it learns so): start it again with the same
                // arguments, as a supervisor would; a new incarnation joins.
                // Every node, not only the fault's: the rule may down a bystander (e.g. the other end of a lossy worker's
                // broken worker-to-worker link), and a supervisor restarts whatever exited.
                // Again if the new incarnation exits too (a supervisor restarts every exit; bounded): a rejoined member can be
                // downed once more when a peer's path to it does not work yet (docs/failover.md, "A rejoined control plane").
                foreach (var t in state.Nodes.Where(t => starts.GetValueOrDefault(t.Name) < MaxStartsAfterHeal && !NodeProcesses.IsNodeAlive(t.Pid, t.Name)))
                {
                    if (starts.GetValueOrDefault(t.Name) > 0)
                        report.Notes.Add($"{t.Name} exited again after it was started again, and was started again; why, from the logs: {ExitEvidence(state, t, report.InjectedAt)}");
                    else if (!affected.Contains(t.Name))
                        report.Notes.Add($"{t.Name}, outside the fault, exited and was started again; why, from the logs: {ExitEvidence(state, t, report.InjectedAt)}");
                    starts[t.Name] = starts.GetValueOrDefault(t.Name) + 1;
                    restarted.Add(t.Name);
                    var command = ChaosRunner.RejoinCommand(t.Command, t.Address);
                    File.AppendAllText(t.LogFile, $"---- {DateTime.UtcNow:O} akkakube chaos {fault.Kind}: started again after heal: {string.Join(' ', command)}\n");
                    var pid = NodeProcesses.StartDetached(command, t.LogFile);
                    state = state with { Nodes = state.Nodes.Select(n => n.Name == t.Name ? n with { Pid = pid } : n).ToList() };
                    state.Save();
                    Once("process started again", $"{t.Name} pid {pid} (new incarnation)");
                }
                if (await ChaosRunner.WhyNotSteady(state, view, ct) is not { } why)
                {
                    report.Recovered = true;
                    report.RecoveredAfterSeconds = Math.Round(clock.Elapsed.TotalSeconds, 2);
                    Once("whole again", $"every member Up and reachable, every Node Ready ({clock.Elapsed.TotalSeconds - healedAt:0.00} s after heal)");
                    break;
                }
                report.Notes.RemoveAll(n => n.StartsWith("not whole: ", StringComparison.Ordinal));
                report.Notes.Add($"not whole: {why}");
                await Task.Delay(PollInterval, ct);
            }
            if (report.Recovered) report.Notes.RemoveAll(n => n.StartsWith("not whole: ", StringComparison.Ordinal));
            stopWrites.Cancel();
            await writes;
            await CheckAcceptedAsync(majority, accepted, report, ct);
            // The probe writes are labelled: remove them (best effort) so repeated runs do not pile them up.
            try
            {
                using var _ = await majority.Http.DeleteAsync($"{Probes}?labelSelector=akkakube.io%2Fchaos-probe%3Dtrue", ct);
            }
            catch (HttpRequestException)
            {
            }
        }
        finally
        {
            stopWrites.Cancel();
            Revert();
            foreach (var v in minority.Values) v.Dispose();
        }
        await ChaosRecord.WriteAsync(DataDirectory, report, CancellationToken.None);
        return report;
    }

    /// <summary>How long after heal a process of the fault that the majority no longer lists as a member may stay alive
    /// before the runner kills it (then starts it again as it does an exited one). A removed node exits on its own within
    /// seconds of reaching a control plane again; this is the backstop, reported as a note when it acts.</summary>
    public TimeSpan RemovedGrace { get; init; } = TimeSpan.FromSeconds(30);

    private async Task KillRemovedAsync(ClusterView view, HostFault fault, IReadOnlySet<string> affected, HashSet<string> restarted,
        Dictionary<string, TimeSpan> removedSince, Stopwatch clock, Action<string, string> once, ChaosReport report, CancellationToken ct)
    {
        var alive = fault.Affected.Where(t => !restarted.Contains(t.Name) && NodeProcesses.IsNodeAlive(t.Pid, t.Name)).ToList();
        if (alive.Count == 0 || await view.MembersAsync(affected, ct) is not { } members) return;
        foreach (var t in alive)
        {
            if (members.Any(m => m.Address == t.Address && m.Status is not ("Down" or "Removed")))
            {
                removedSince.Remove(t.Name);
                continue;
            }
            var since = removedSince.TryGetValue(t.Name, out var s) ? s : removedSince[t.Name] = clock.Elapsed;
            if (clock.Elapsed - since < RemovedGrace) continue;
            NodeProcesses.Signal(t.Pid, SigKill);
            once("removed process killed", $"{t.Name} pid {t.Pid}");
            report.Notes.Add($"{t.Name} was alive but no longer a member {RemovedGrace.TotalSeconds:0} s after heal: killed it to start it again (it should exit on its own)");
            removedSince.Remove(t.Name);
        }
    }

    private const int SigKill = 9;

    /// <summary>How often the runner starts one node again after heal before it leaves it down (reported as not whole).</summary>
    private const int MaxStartsAfterHeal = 3;

    /// <summary>
    /// Why a node exited, from the logs: the last exit reason in its own log (seen its Down, downed itself, refused as
    /// quarantined) and the last control-plane downing decision naming it in any control plane's log, with the
    /// observations it was based on — so a bystander's exit says whether a rule downed it and on whose view.
    /// </summary>
    internal static string ExitEvidence(ClusterState state, NodeState exited, DateTime since)
    {
        string[] own = ["Shutting down myself", "downing myself", "quarantined this incarnation", "CoordinatedShutdown invoked due to"];
        var found = new List<string>();
        if (LastMatching(exited.LogFile, since, l => own.Any(m => l.Contains(m, StringComparison.Ordinal))) is { } mine) found.Add($"{exited.Name}: {mine}");
        foreach (var cp in state.Nodes.Where(n => n.Name != exited.Name && n.ControlPlane))
            if (LastMatching(cp.LogFile, since, l => l.Contains("control-plane downing: keeping", StringComparison.Ordinal)
                    && l.Contains(", downing [", StringComparison.Ordinal) && DownedIn(l, exited.Address)) is { } decision)
                found.Add($"{cp.Name}: {decision}");
        return found.Count == 0 ? "no exit reason logged" : string.Join(" | ", found);
    }

    /// <summary>Whether the "downing [...]" list of a decision line names <paramref name="address"/>.</summary>
    private static bool DownedIn(string line, string address)
    {
        var start = line.IndexOf(", downing [", StringComparison.Ordinal) + ", downing [".Length;
        var end = line.IndexOf(']', start);
        return end > start && line[start..end].Split(", ").Contains(address);
    }

    /// <summary>Akka's log prefix up to the message: "…[Thread 0020][akka.tcp://…/path] ".</summary>
    private static readonly System.Text.RegularExpressions.Regex LogPrefix = new(@"\]\[Thread \d+\]\[[^\]]*\] ", System.Text.RegularExpressions.RegexOptions.Compiled);

    /// <summary>The last line of the log's last 512 KiB, logged at or after <paramref name="since"/> (UTC; the log is shared
    /// by every incarnation and every earlier fault), that matches: from its message on (the logger's prefix cut), or null.</summary>
    private static string? LastMatching(string path, DateTime since, Func<string, bool> match)
    {
        try
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            if (file.Length > 512 * 1024) file.Seek(-512 * 1024, SeekOrigin.End);
            using var reader = new StreamReader(file);
            var line = reader.ReadToEnd().Split('\n').LastOrDefault(l => LoggedAt(l) >= since && match(l));
            if (line is null) return null;
            var prefix = LogPrefix.Match(line);
            var message = prefix.Success ? line[(prefix.Index + prefix.Length)..] : line;
            return message.Length > 600 ? message[..600] + "…" : message.TrimEnd();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The timestamp that starts a node's log line ("2026-12-08T02:08:06.393Z info: …"), or DateTime.MinValue.</summary>
    private static DateTime LoggedAt(string line) =>
        line.IndexOf(' ') is var space and > 0 && DateTime.TryParse(line[..space], System.Globalization.CultureInfo.InvariantCulture,
            System.Globalization.DateTimeStyles.AdjustToUniversal | System.Globalization.DateTimeStyles.AssumeUniversal, out var at)
            ? at
            : DateTime.MinValue;

    private async Task WatchAsync(ClusterState state, ClusterView view, HostFault fault, IReadOnlySet<string> affected, NodeState? oldSingletonHost,
        Action<string, string> once, CancellationToken ct)
    {
        if (await view.MembersAsync(affected, ct) is { } members)
            foreach (var t in fault.Affected)
            {
                var m = members.FirstOrDefault(m => m.Address == t.Address);
                if (m is null) once("removed", $"{t.Name} is no longer a member (seen from the majority)");
                else if (m.Reachability != "reachable") once("unreachable", $"{t.Name} ({m.Status})");
                if (m is { Status: "Down" }) once("downed", t.Name);
            }
        foreach (var t in fault.Affected.Where(t => !NodeProcesses.IsNodeAlive(t.Pid, t.Name)))
            once("process exited", $"{t.Name} (downed: its process exits)");
        if (oldSingletonHost is not null && affected.Contains(oldSingletonHost.Name)
            && await ChaosRunner.SingletonHostAsync(state, view, affected, ct) is { } now && now.Name != oldSingletonHost.Name)
            once("singletons moved", $"{oldSingletonHost.Name} → {now.Name}");
    }

    /// <summary>
    /// Once a second: a ConfigMap write through the majority's apiserver (its failures are the API outage), and beside it
    /// one through each cut-off control plane's own apiserver, whose answer (refused with a 5xx, or accepted) goes on the
    /// timeline. Each target in its own loop, so a slow refusal (the store's 10 s timeout) does not slow the others.
    /// </summary>
    private static Task WriteProbesAsync(ClusterView majority, Dictionary<string, ClusterView> minority, ChaosReport report, Stopwatch clock,
        Action<string, string> once, List<(string Node, string Name)> accepted, CancellationToken stop)
    {
        var seq = 0;
        var failures = new Dictionary<string, int>();
        string Name(string who) => $"chaos-write-{who}-{DateTime.UtcNow:HHmmss}-{Interlocked.Increment(ref seq)}";
        var cutOff = minority.Select(kv => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var name = Name(kv.Key);
                var code = await WriteAsync(kv.Value, name, stop);
                if (stop.IsCancellationRequested) break;
                if (code is >= 200 and < 300)
                {
                    lock (accepted) accepted.Add((kv.Key, name));
                    once("cut-off apiserver accepted a write", $"{kv.Key}: {name}");
                }
                else once("cut-off apiserver refused a write", $"{kv.Key}: {(code is null ? "no answer (connection refused or timed out)" : $"HTTP {code}")}");
                await Pause(stop);
            }
        }, CancellationToken.None));
        var main = Task.Run(async () =>
        {
            double? outageStart = null;
            while (!stop.IsCancellationRequested)
            {
                var code = await WriteAsync(majority, Name("majority"), stop);
                var ok = code is >= 200 and < 300;
                if (stop.IsCancellationRequested) break;
                if (!ok) lock (failures) failures[code is null ? "no answer" : $"HTTP {code}"] = failures.GetValueOrDefault(code is null ? "no answer" : $"HTTP {code}") + 1;
                var now = clock.Elapsed.TotalSeconds;
                lock (report)
                {
                    report.ApiProbes++;
                    if (!ok) report.ApiFailures++;
                    if (!ok && outageStart is null) outageStart = now;
                    if (ok && outageStart is { } s)
                    {
                        report.LongestApiOutageSeconds = Math.Max(report.LongestApiOutageSeconds, Math.Round(now - s, 2));
                        outageStart = null;
                    }
                }
                await Pause(stop);
            }
            if (outageStart is { } open) lock (report) report.LongestApiOutageSeconds = Math.Max(report.LongestApiOutageSeconds, Math.Round(clock.Elapsed.TotalSeconds - open, 2));
        }, CancellationToken.None);
        return Task.WhenAll(cutOff.Append(main)).ContinueWith(_ =>
        {
            if (failures.Count > 0)
                report.Notes.Add("failed writes through the majority's apiserver: " + string.Join(", ", failures.Select(f => $"{f.Key} ×{f.Value}")));
        }, TaskScheduler.Default);

        static async Task Pause(CancellationToken stop)
        {
            try { await Task.Delay(TimeSpan.FromSeconds(1), stop); } catch (OperationCanceledException) { }
        }
    }

    private static async Task<int?> WriteAsync(ClusterView api, string name, CancellationToken ct)
    {
        var body = new JsonObject
        {
            ["apiVersion"] = "v1", ["kind"] = "ConfigMap",
            ["metadata"] = new JsonObject { ["name"] = name, ["labels"] = new JsonObject { ["akkakube.io/chaos-probe"] = "true" } },
            ["data"] = new JsonObject { ["at"] = DateTime.UtcNow.ToString("O") },
        }.ToJsonString();
        try
        {
            using var content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
            using var response = await api.Http.PostAsync(Probes, content, ct);
            return (int)response.StatusCode;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return null;
        }
    }

    /// <summary>Every write a cut-off apiserver acknowledged must be readable from the majority once the cluster is whole.</summary>
    private static async Task CheckAcceptedAsync(ClusterView majority, List<(string Node, string Name)> accepted, ChaosReport report, CancellationToken ct)
    {
        var lost = new List<string>();
        foreach (var (node, name) in accepted)
        {
            using var r = await majority.Http.GetAsync($"{Probes}/{name}", ct);
            if (r.StatusCode == HttpStatusCode.NotFound) lost.Add($"{node}: {name}");
        }
        if (accepted.Count > 0)
            report.Notes.Add(lost.Count == 0
                ? $"{accepted.Count} writes acknowledged by cut-off apiservers, all readable from the majority afterwards"
                : $"LOST: {lost.Count} of {accepted.Count} writes acknowledged by a cut-off apiserver are missing: {string.Join(", ", lost.Take(5))}");
        if (lost.Count > 0) report.Recovered = false;
    }
}
