using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using AkkaKube.Actors.Cmd;

namespace AkkaKube.Cli.Chaos;

/// <summary>
/// The process faults. RestartKubelet kills only the node process and starts it again: its containerd (cri) and the
/// containers keep running and are re-adopted; Kill, KillZone, KillLeader and Restart (a reboot) take the node's
/// containerd and its containers down with it, as a machine that dies.
/// </summary>
public enum FaultKind { Kill, Stop, Restart, KillZone, KillLeader, RestartKubelet }

/// <summary>
/// Runs one process fault against the local cluster: checks the cluster is steady, injects the fault by PID, confirms
/// it took effect, then watches (members from a surviving command host, objects and an API probe every 200 ms) and
/// builds the recovery timeline until the cluster is back to its desired state or the timeout passes.
/// </summary>
public sealed class ChaosRunner
{
    public required string DataDirectory { get; init; }
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(60);
    public TimeSpan SteadyTimeout { get; init; } = TimeSpan.FromSeconds(30);
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(300);
    public TimeSpan ProbeInterval { get; init; } = TimeSpan.FromMilliseconds(200);
    /// <summary>Progress lines (text mode); null = quiet.</summary>
    public Action<string>? Progress { get; init; }

    private ClusterState LoadState() =>
        ClusterState.Load(Path.GetFullPath(DataDirectory))
        ?? throw new CliException($"no cluster in '{Path.GetFullPath(DataDirectory)}' (start one with `akkakube up`)");

    public static NodeState FindNode(ClusterState state, string name) =>
        state.Nodes.FirstOrDefault(n => n.Name == name)
        ?? throw new CliException($"no node '{name}' in the local cluster{Closest.DidYouMean(name, state.Nodes.Select(n => n.Name).ToList())}");

    /// <summary>Waits until every node is alive, an Up reachable member, and every Deployment has its desired ready replicas.</summary>
    public async Task WaitSteadyAsync(ClusterState state, ClusterView view, CancellationToken ct, IReadOnlySet<string>? exclude = null)
    {
        var deadline = DateTime.UtcNow + SteadyTimeout;
        string why;
        while (true)
        {
            why = await WhyNotSteady(state, view, ct, exclude) ?? "";
            if (why.Length == 0) return;
            if (DateTime.UtcNow > deadline) break;
            await Task.Delay(500, ct);
        }
        throw new CliException($"the cluster is not steady, no fault injected: {why}", 2);
    }

    /// <summary>Why the cluster is not steady (null = steady), ignoring the nodes in <paramref name="exclude"/> (known to be down).</summary>
    public static async Task<string?> WhyNotSteady(ClusterState state, ClusterView view, CancellationToken ct, IReadOnlySet<string>? exclude = null)
    {
        exclude ??= new HashSet<string>();
        var expected = state.Nodes.Where(n => !exclude.Contains(n.Name)).ToList();
        var dead = expected.Where(n => !NodeProcesses.IsNodeAlive(n.Pid, n.Name)).ToList();
        if (dead.Count > 0)
            return $"node process not running: {string.Join(", ", dead.Select(n => n.Name))} (bring it back with `akkakube chaos restart <node>`)"
                   + string.Concat(dead.Select(n => $"\n  {n.Name}'s log ends ({n.LogFile}):\n" + string.Join("\n", LogTail(n.LogFile, 6).Select(l => "    " + l))));
        var snap = await view.SnapshotAsync(exclude, ct);
        if (snap.Members is null) return "no command host answered `cluster show`";
        var byAddress = snap.Members.ToDictionary(m => m.Address);
        foreach (var n in expected)
        {
            if (!byAddress.TryGetValue(n.Address, out var m)) return $"{n.Name} is not a member";
            if (m.Status != "Up" || m.Reachability != "reachable") return $"{n.Name} is {m.Status}/{m.Reachability}";
        }
        var addresses = expected.Select(n => n.Address).ToHashSet();
        if (exclude.Count == 0 && snap.Members.FirstOrDefault(m => !addresses.Contains(m.Address)) is { } stranger) return $"{stranger.Address} is a member but not in cluster.json";
        if (snap.Deployments is null || snap.Pods is null) return "the API did not answer the Deployment/pod lists";
        var lagging = snap.Deployments.Where(d => d.Ready < d.Desired || snap.ReadyElsewhere(d, exclude) < d.Desired).ToList();
        if (lagging.Count > 0) return "Deployments not at their desired ready replicas: " + string.Join(", ", lagging.Select(d => $"{d.Key} {d.Ready}/{d.Desired}"));
        if (snap.Nodes?.FirstOrDefault(n => !exclude.Contains(n.Name) && n.Ready != "True") is { } nr) return $"Node {nr.Name} is Ready={nr.Ready}";
        return null;
    }

    /// <summary>The last lines of a node's log: why a process the runner expected alive is gone.</summary>
    private static IReadOnlyList<string> LogTail(string path, int lines)
    {
        try
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            var cut = file.Length > 8192;
            if (cut) file.Seek(-8192, SeekOrigin.End);
            using var reader = new StreamReader(file);
            var text = reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
            return text.Skip(cut ? 1 : 0).TakeLast(lines).Select(l => l.Length > 300 ? l[..300] + "…" : l).ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [$"(no log: {e.Message})"];
        }
    }

    /// <summary>Resolves the targets of a fault (node names).</summary>
    public async Task<IReadOnlyList<NodeState>> TargetsAsync(ClusterState state, ClusterView view, FaultKind kind, string? argument, CancellationToken ct)
    {
        switch (kind)
        {
            case FaultKind.KillZone:
                var zone = argument!;
                var workers = state.Nodes.Where(n => n.Zone == zone && n.Roles.Split(',').Contains("worker")).ToList();
                if (workers.Count == 0)
                    throw new CliException($"no worker in zone '{zone}'{Closest.DidYouMean(zone, state.Nodes.Select(n => n.Zone).Distinct().ToList())}");
                return workers;
            case FaultKind.KillLeader:
                var host = await SingletonHostAsync(state, view, new HashSet<string>(), ct)
                           ?? throw new CliException("cannot find the singleton host (no command host answered `cluster singletons`)");
                return [host];
            default:
                return [FindNode(state, argument!)];
        }
    }

    /// <summary>The node hosting the control-plane singletons: the oldest Up control-plane member, as `cluster singletons` names it.</summary>
    public static async Task<NodeState?> SingletonHostAsync(ClusterState state, ClusterView view, IReadOnlySet<string> exclude, CancellationToken ct)
    {
        try
        {
            var replies = await view.CmdAsync(exclude, new CmdRequest("cluster", "singletons"), ct);
            const string marker = "(singleton host): ";
            var line = replies.Select(r => r.Text).OfType<string>().FirstOrDefault(t => t.Contains(marker, StringComparison.Ordinal));
            if (line is null) return null;
            var address = line[(line.IndexOf(marker, StringComparison.Ordinal) + marker.Length)..].Trim();
            return state.Nodes.FirstOrDefault(n => n.Address == address);
        }
        catch (CliException)
        {
            return null;
        }
    }

    /// <summary>
    /// Where each running store partition lives now (partition → node name), from `kube store` on a node not in
    /// <paramref name="exclude"/>; null when no node answered. Partitions that did not answer are left out.
    /// </summary>
    public static async Task<Dictionary<string, string>?> PartitionHostsAsync(ClusterState state, ClusterView view, IReadOnlySet<string> exclude, CancellationToken ct) =>
        (await PartitionPlacementsAsync(state, view, exclude, ct))?.ToDictionary(p => p.Key, p => p.Value.Node, StringComparer.Ordinal);

    /// <summary>A running partition's host and, from its `kube store` row, when it started there and how long its recovery took.</summary>
    public sealed record PartitionPlacement(string Node, DateTime? StartedAt, double? RecoverySeconds, long? EventsReplayed);

    /// <summary><see cref="PartitionHostsAsync"/> with each partition's start time and recovery duration.</summary>
    public static async Task<Dictionary<string, PartitionPlacement>?> PartitionPlacementsAsync(ClusterState state, ClusterView view, IReadOnlySet<string> exclude, CancellationToken ct)
    {
        try
        {
            var replies = await view.CmdAsync(exclude, new CmdRequest("kube", "store"), ct);
            var table = replies.FirstOrDefault(r => r.Type == CmdReply.Kinds.Table);
            if (table?.Rows is null) return replies.Count > 0 ? [] : null;
            var nameOf = state.Nodes.ToDictionary(n => n.Address, n => n.Name);
            var started = table.Columns?.ToList().IndexOf("started") ?? -1;
            var recovery = table.Columns?.ToList().IndexOf("recovery") ?? -1;
            return table.Rows.Where(row => row.Count > 3 && row[3] != "?")
                .GroupBy(row => row[0], StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g =>
                {
                    var row = g.First();
                    var (seconds, events) = recovery >= 0 && recovery < row.Count ? ParseRecovery(row[recovery]) : (null, null);
                    return new PartitionPlacement(nameOf.GetValueOrDefault(row[1], row[1]),
                        started >= 0 && started < row.Count && DateTime.TryParse(row[started], CultureInfo.InvariantCulture,
                            DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var at) ? at : null,
                        seconds, events);
                }, StringComparer.Ordinal);
        }
        catch (CliException)
        {
            return null;
        }
    }

    /// <summary>"0.412s (37 events)" as `kube store` prints a partition's recovery.</summary>
    internal static (double? Seconds, long? Events) ParseRecovery(string text)
    {
        var m = System.Text.RegularExpressions.Regex.Match(text, @"^(\d+(?:\.\d+)?)s \((\d+) events\)$");
        return m.Success
            ? (double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), long.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture))
            : (null, null);
    }

    /// <summary>Each moved partition's start and end of recovery as seconds after the fault (same machine: one clock).</summary>
    internal static Dictionary<string, PartitionHandover> Handovers(IReadOnlyDictionary<string, PartitionPlacement> moves, DateTime injectedAt) =>
        moves.ToDictionary(m => m.Key, m =>
        {
            double? started = m.Value.StartedAt is { } at ? Math.Round((at - injectedAt).TotalSeconds, 3) : null;
            double? recovered = started is { } s && m.Value.RecoverySeconds is { } r ? Math.Round(s + r, 3) : null;
            return new PartitionHandover(m.Value.Node, started, recovered, m.Value.RecoverySeconds, m.Value.EventsReplayed);
        }, StringComparer.Ordinal);

    /// <summary>" (started +3.10–3.25 s, recovered by +3.41 s; recovery 0.02–0.16 s each)", or "" without timings.</summary>
    internal static string HandoverSummary(IReadOnlyDictionary<string, PartitionHandover> handovers)
    {
        var started = handovers.Values.Select(h => h.StartedAfterSeconds).OfType<double>().ToList();
        var recovered = handovers.Values.Select(h => h.RecoveredAfterSeconds).OfType<double>().ToList();
        var recovery = handovers.Values.Select(h => h.RecoverySeconds).OfType<double>().ToList();
        if (started.Count == 0 || recovered.Count == 0) return "";
        return string.Create(CultureInfo.InvariantCulture,
            $" (started +{started.Min():0.00}–{started.Max():0.00} s, recovered by +{recovered.Max():0.00} s; recovery {recovery.Min():0.00}–{recovery.Max():0.00} s each)");
    }

    /// <summary>The store hand-over split into its steps (issue 25): membership from the timeline, the coordinator from the survivors' logs, partitions from `kube store`.</summary>
    private static HandoverBreakdown Breakdown(ChaosReport report, ClusterState state, IReadOnlySet<string> names,
        IReadOnlyDictionary<string, long> logOffsets, IReadOnlyList<WriteProbeResult> writes)
    {
        var log = HandoverBreakdown.ReadSurvivorLogs(state.Nodes.Where(n => n.ControlPlane && !names.Contains(n.Name)).Select(n => (n.Name, n.LogFile)),
            logOffsets, state.Nodes.Where(n => names.Contains(n.Name)).Select(n => n.Address).ToList(), report.InjectedAt);
        double? After(DateTime? at) => at is { } a ? Math.Round((a - report.InjectedAt).TotalSeconds, 2) : null;
        if (log.CoordinatorStarted is { } started) report.Add(After(started)!.Value, "shard coordinator started", $"on {log.CoordinatorNode}");
        if (log.CoordinatorActive is { } active) report.Add(After(active)!.Value, "shard coordinator active", "its state read, allocating the moved shards");
        var handovers = report.PartitionHandovers?.Values.ToList() ?? [];
        var starts = handovers.Select(h => h.StartedAfterSeconds).OfType<double>().ToList();
        var recovered = handovers.Select(h => h.RecoveredAfterSeconds).OfType<double>().ToList();
        var allStarted = starts.Count > 0 && starts.Count == handovers.Count && report.PartitionMoves?.Count == handovers.Count;
        return new HandoverBreakdown
        {
            DownAfterSeconds = After(log.Down),
            RemovedAfterSeconds = After(log.Removed),
            CoordinatorStartedAfterSeconds = After(log.CoordinatorStarted),
            CoordinatorActiveAfterSeconds = After(log.CoordinatorActive),
            CoordinatorNode = log.CoordinatorNode,
            FirstPartitionStartedAfterSeconds = starts.Count > 0 ? starts.Min() : null,
            LastPartitionStartedAfterSeconds = allStarted ? starts.Max() : null,
            AllPartitionsRecoveredAfterSeconds = allStarted && recovered.Count == handovers.Count ? recovered.Max() : null,
            LongestRecoverySeconds = handovers.Select(h => h.RecoverySeconds).OfType<double>().DefaultIfEmpty().Max(),
            Writes = writes,
        };
    }

    /// <summary>Injects the fault, follows the recovery, and leaves the run's record in the cluster (<see cref="ChaosRecord"/>).</summary>
    public Task<ChaosReport> RunAsync(FaultKind kind, string? argument, CancellationToken ct) =>
        RecordedAsync(RunFaultAsync(kind, argument, ct), ct);

    private async Task<ChaosReport> RecordedAsync(Task<ChaosReport> run, CancellationToken ct)
    {
        var report = await run;
        await ChaosRecord.WriteAsync(DataDirectory, report, ct);
        return report;
    }

    private async Task<ChaosReport> RunFaultAsync(FaultKind kind, string? argument, CancellationToken ct)
    {
        var state = LoadState();
        var restarts = kind is FaultKind.Restart or FaultKind.RestartKubelet;
        using var view = new ClusterView(state, TimeSpan.FromSeconds(2));
        // `restart` of a node that is already down (after `chaos kill`) only starts it again.
        var alreadyDown = restarts && argument is not null && FindNode(state, argument) is var r && !NodeProcesses.IsNodeAlive(r.Pid, r.Name)
            ? new HashSet<string> { argument } : new HashSet<string>();
        // Unknown node or zone names fail at once (one line), before the steady check.
        if (kind != FaultKind.KillLeader) await TargetsAsync(state, view, kind, argument, ct);
        Progress?.Invoke("checking that the cluster is steady …");
        await WaitSteadyAsync(state, view, ct, alreadyDown);
        var targets = await TargetsAsync(state, view, kind, argument, ct);
        var names = targets.Select(t => t.Name).ToHashSet();
        var report = new ChaosReport
        {
            Fault = kind switch { FaultKind.Kill => "kill", FaultKind.Stop => "stop", FaultKind.Restart => "restart", FaultKind.RestartKubelet => "restart-kubelet", FaultKind.KillZone => "kill-zone", _ => "kill-leader" },
            Targets = targets.Select(t => t.Name).ToList(),
            TimeoutSeconds = Timeout.TotalSeconds,
        };
        var before = await view.SnapshotAsync(new HashSet<string>(), ct);
        var podsOnTargets = before.Pods?.Where(p => p.NodeName is { } n && names.Contains(n) && !p.Deleting).Select(p => $"{p.Namespace}/{p.Name}").ToHashSet() ?? [];
        var podsElsewhere = before.Pods?.Where(p => p.NodeName is { } n && !names.Contains(n) && !p.Deleting).Select(p => $"{p.Namespace}/{p.Name}").ToHashSet() ?? [];
        var collateral = new HashSet<string>();
        var controlPlaneTarget = targets.Any(t => t.ControlPlane);
        var oldSingletonHost = controlPlaneTarget ? await SingletonHostAsync(state, view, new HashSet<string>(), ct) : null;
        var singletonTarget = oldSingletonHost is not null && names.Contains(oldSingletonHost.Name);
        // The store partitions that live on the targets: the report says where each went and when it answered again.
        var partitionsToMove = controlPlaneTarget && !restarts
            ? (await PartitionHostsAsync(state, view, new HashSet<string>(), ct) ?? []).Where(p => names.Contains(p.Value)).Select(p => p.Key).ToHashSet(StringComparer.Ordinal)
            : [];
        var partitionMoves = new SortedDictionary<string, PartitionPlacement>(StringComparer.Ordinal);

        // restart-kubelet: what runs on the targets now, to show afterwards that it kept running (same IDs, restart counts, start times).
        var containersBefore = kind == FaultKind.RestartKubelet ? await ContainersOnAsync(view, names, ct) : null;

        // API probe: GET /readyz every ProbeInterval while the fault runs; the data plane (Services behind the targets,
        // the surviving nodes' DNS) beside it.
        var clock = new Stopwatch();
        using var stopProbe = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var probe = ProbeApiAsync(view, report, clock, stopProbe.Token);
        var dataPlane = restarts ? null : await DataPlaneProbe.PrepareAsync(view, state, names, ct);

        // The survivors' log lengths now: the shard coordinator's hand-over is read from what they log after the kill.
        var logOffsets = partitionsToMove.Count == 0 ? null : state.Nodes.Where(n => n.ControlPlane && !names.Contains(n.Name))
            .ToDictionary(n => n.Name, n => File.Exists(n.LogFile) ? new FileInfo(n.LogFile).Length : 0L);

        // Inject.
        var signal = kind == FaultKind.Stop ? NodeProcesses.SigTerm : NodeProcesses.SigKill;
        report.InjectedAt = DateTime.UtcNow;
        clock.Start();
        foreach (var t in targets.Where(t => !alreadyDown.Contains(t.Name))) NodeProcesses.Signal(t.Pid, signal);
        var writeProbe = partitionsToMove.Count == 0 ? null : WriteProbe.Start(view.Http, clock, partitionsToMove, stopProbe.Token);
        if (alreadyDown.Count > 0) report.Notes.Add($"{string.Join(", ", alreadyDown)} was already down: started again only");
        else Progress?.Invoke($"sent {(signal == NodeProcesses.SigKill ? "SIGKILL" : "SIGTERM")} to {string.Join(", ", targets.Select(t => $"{t.Name} (pid {t.Pid})"))}");
        var goneBy = DateTime.UtcNow + (signal == NodeProcesses.SigKill ? TimeSpan.FromSeconds(10) : TimeSpan.FromSeconds(30));
        while (targets.Any(t => NodeProcesses.IsNodeAlive(t.Pid, t.Name)) && DateTime.UtcNow < goneBy) await Task.Delay(50, ct);
        var survivors = targets.Where(t => NodeProcesses.IsNodeAlive(t.Pid, t.Name)).ToList();
        if (survivors.Count > 0)
        {
            stopProbe.Cancel();
            await probe;
            report.Notes.Add($"the fault did not take effect: {string.Join(", ", survivors.Select(s => $"{s.Name} (pid {s.Pid})"))} still running");
            return report;
        }
        report.Add(clock.Elapsed.TotalSeconds, "process gone", string.Join(", ", targets.Select(t => $"{t.Name} pid {t.Pid}")));
        // A machine that dies (or reboots) takes its containerd and every container with it; restart-kubelet and a graceful stop do not.
        if (kind is not (FaultKind.Stop or FaultKind.RestartKubelet))
            foreach (var t in targets.Where(t => t.ContainerdDirectory is not null && !alreadyDown.Contains(t.Name)))
            {
                ContainerdNode.Stop(t.ContainerdDirectory!, t.Name, t.ContainerdPid);
                report.Add(clock.Elapsed.TotalSeconds, "containerd stopped", $"{t.Name}: its containers died with the machine");
            }

        var restarted = new Dictionary<string, int>();
        // (Without a surviving control-plane node nobody removes it: start at once.)
        if (restarts && alreadyDown.Count == 0 && state.Nodes.Any(n => n.ControlPlane && !names.Contains(n.Name)))
            await WaitUntilRemovedAsync(targets, names, view, report, clock, Timeout / 2, ct);
        if (restarts)
        {
            foreach (var t in targets)
            {
                if (t.ContainerdDirectory is { } containerdDirectory && !NodeProcesses.Mentioning(containerdDirectory).Contains(t.ContainerdPid))
                {
                    var containerd = ContainerdNode.Of(containerdDirectory, t.Name, t.PodCidr);
                    var containerdPid = containerd.Start();
                    await containerd.WaitReadyAsync(TimeSpan.FromSeconds(60), ct);
                    state = state with { Nodes = state.Nodes.Select(n => n.Name == t.Name ? n with { ContainerdPid = containerdPid } : n).ToList() };
                    state.Save();
                    report.Add(clock.Elapsed.TotalSeconds, "containerd started again", $"{t.Name} pid {containerdPid}");
                }
                File.AppendAllText(t.LogFile, $"---- {DateTime.UtcNow:O} akkakube chaos {report.Fault}: {string.Join(' ', t.Command)}\n");
                var pid = NodeProcesses.StartDetached(RejoinCommand(t.Command, t.Address), t.LogFile);
                restarted[t.Name] = pid;
                state = state with { Nodes = state.Nodes.Select(n => n.Name == t.Name ? n with { Pid = pid } : n).ToList() };
                state.Save();
                report.Add(clock.Elapsed.TotalSeconds, "process started again", $"{t.Name} pid {pid}");
            }
        }

        var lost = restarts ? new HashSet<string>() : names;
        var seenGone = new HashSet<string>();
        var deadline = clock.Elapsed + Timeout;
        string? probePod = null;
        Task<string?>? probePodCreate = null;
        if (controlPlaneTarget) probePodCreate = CreateProbePodAsync(view, clock, report, deadline, ct);

        void Once(string ev, string detail = "")
        {
            lock (report.Timeline)
            {
                if (report.Has(ev)) return;
                report.Add(clock.Elapsed.TotalSeconds, ev, detail);
            }
            Progress?.Invoke($"+{clock.Elapsed.TotalSeconds:0.00}s {ev} {detail}");
        }
        var dataPlaneProbe = dataPlane is { HasWork: true } ? dataPlane.RunAsync(report, clock, ProbeInterval, Once, stopProbe.Token) : Task.CompletedTask;

        // Watched beside the main loop (a `kube store` round can take seconds while partitions move, and must not delay
        // the timeline's other events): records when every partition of the targets answers on a survivor again.
        using var stopPartitionWatch = new CancellationTokenSource();
        var partitionWatch = partitionsToMove.Count == 0 ? Task.CompletedTask : Task.Run(async () =>
        {
            while (!stopPartitionWatch.IsCancellationRequested)
            {
                if (await PartitionPlacementsAsync(state, view, names, stopPartitionWatch.Token).ConfigureAwait(false) is { } hosts)
                    lock (partitionMoves)
                        foreach (var p in partitionsToMove.Where(p => !partitionMoves.ContainsKey(p) && hosts.TryGetValue(p, out var h) && !names.Contains(h.Node)))
                            partitionMoves[p] = hosts[p];
                lock (partitionMoves)
                    if (partitionMoves.Count == partitionsToMove.Count)
                    {
                        Once("store partitions moved", $"{partitionMoves.Count} recovered from the journal on the survivors: " +
                            string.Join(", ", partitionMoves.GroupBy(m => m.Value.Node).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{string.Join(" ", g.Select(m => m.Key))} → {g.Key}")) +
                            HandoverSummary(Handovers(partitionMoves, report.InjectedAt)));
                        return;
                    }
                try { await Task.Delay(PollInterval, stopPartitionWatch.Token).ConfigureAwait(false); } catch (OperationCanceledException) { }
            }
        }, CancellationToken.None);

        var membershipLock = new object();
        void ObserveMembers(IReadOnlyList<MemberView> members)
        {
            lock (membershipLock)
            {
                var byAddress = members.ToDictionary(m => m.Address);
                foreach (var target in targets)
                {
                    if (byAddress.TryGetValue(target.Address, out var m))
                    {
                        if (m.Reachability == "unreachable") Once($"unreachable {target.Name}");
                        if (m.Status is "Down" or "Exiting" or "Leaving") Once($"{m.Status.ToLowerInvariant()} {target.Name}");
                    }
                    else if (seenGone.Add(target.Name))
                        Once($"removed {target.Name}", "no longer a member (seen from a surviving node)");
                }
            }
        }
        bool AllGone()
        {
            lock (membershipLock) return seenGone.Count == targets.Count;
        }

        // Membership is watched beside the main loop every 100 ms (`cluster show` needs no store partition): the main
        // loop's snapshot also lists from the API, which waits while partitions move, and would time these events late.
        using var stopMemberWatch = new CancellationTokenSource();
        var memberWatch = restarts ? Task.CompletedTask : Task.Run(async () =>
        {
            try
            {
                while (!stopMemberWatch.IsCancellationRequested)
                {
                    if (await view.MembersAsync(names, stopMemberWatch.Token).ConfigureAwait(false) is { } members) ObserveMembers(members);
                    if (singletonTarget && AllGone() && !report.Has("singletons moved")
                        && await SingletonHostAsync(state, view, names, stopMemberWatch.Token).ConfigureAwait(false) is { } host && !names.Contains(host.Name))
                        Once("singletons moved", $"oldest control-plane member now {host.Name}");
                    if (AllGone() && (!singletonTarget || report.Has("singletons moved"))) return;
                    await Task.Delay(100, stopMemberWatch.Token).ConfigureAwait(false);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or CliException)
            {
                // stopped, or no command host answers: the main loop still observes the membership
            }
        }, CancellationToken.None);

        var selfUp = new HashSet<string>();
        var nextSingletonCheck = TimeSpan.Zero;
        while (clock.Elapsed < deadline)
        {
            var snap = await view.SnapshotAsync(restarts ? new HashSet<string>() : names, ct);
            var t = clock.Elapsed.TotalSeconds;
            if (snap.Members is not null) ObserveMembers(snap.Members);
            if (snap.Nodes is not null)
                foreach (var target in targets)
                {
                    if (snap.Nodes.FirstOrDefault(n => n.Name == target.Name) is not { } node) continue;
                    if (node.Ready != "True") Once($"NotReady {target.Name}", $"Ready={node.Ready}");
                    var lifecycle = node.Taints.Where(x => x.StartsWith("node.kubernetes.io/unreachable:", StringComparison.Ordinal) || x.StartsWith("node.kubernetes.io/not-ready:", StringComparison.Ordinal)).ToList();
                    var taint = lifecycle.FirstOrDefault();
                    if (taint is not null) Once($"tainted {target.Name}", string.Join(", ", lifecycle));
                    // NoExecute is what evicts; the node-lifecycle controller withholds it in a partially disrupted zone.
                    if (lifecycle.FirstOrDefault(x => x.EndsWith(":NoExecute", StringComparison.Ordinal)) is { } noExecute)
                        Once($"tainted NoExecute {target.Name}", $"{noExecute} (its pods are evicted when their tolerations run out)");
                    if (restarts && report.Has($"NotReady {target.Name}") && node.Ready == "True" && taint is null)
                        Once($"Node Ready again {target.Name}");
                }
            if (snap.Pods is not null && podsOnTargets.Count > 0 && !restarts)
            {
                var live = snap.Pods.Where(p => !p.Deleting).Select(p => $"{p.Namespace}/{p.Name}").ToHashSet();
                var evicted = podsOnTargets.Count(p => !live.Contains(p));
                if (evicted > 0) Once("first pod evicted");
                if (evicted == podsOnTargets.Count) Once("pods evicted", $"{evicted} pods of {string.Join(",", names)} deleted");
            }
            if (snap.Pods is not null)
            {
                // Pods on nodes the fault did not touch should live on; a deletion there is collateral damage (e.g. a false eviction).
                var live = snap.Pods.Where(p => !p.Deleting).Select(p => $"{p.Namespace}/{p.Name}").ToHashSet();
                foreach (var p in podsElsewhere.Where(p => !live.Contains(p) && collateral.Add(p)))
                    report.Add(clock.Elapsed.TotalSeconds, "collateral pod deletion", $"{p} (its node was not a target)");
            }
            if (snap.Deployments is not null && snap.Pods is not null)
            {
                if (podsOnTargets.Count > 0 && !restarts && snap.Deployments.All(d => snap.ReadyElsewhere(d, lost) >= d.Desired))
                    Once("replacement pods Running", "every Deployment has its desired ready pods on live nodes");
                if ((report.Has("pods evicted") || podsOnTargets.Count == 0 || restarts) && snap.DeploymentsReady(lost))
                    Once("all Deployments ready", $"{snap.Deployments.Count} Deployments");
            }
            if (restarts)
                foreach (var target in targets.Where(x => !selfUp.Contains(x.Name)))
                {
                    var self = await SelfViewAsync(target.CmdPort, Actors.Cmd.CmdTokenFile.TryRead(Path.GetFullPath(DataDirectory)), ct);
                    if (self is { Pid: var pid, Status: "Up" } && pid == restarted[target.Name])
                    {
                        selfUp.Add(target.Name);
                        Once($"Up again {target.Name}", $"pid {pid} is an Up member");
                    }
                }
            if (singletonTarget && clock.Elapsed >= nextSingletonCheck && !report.Has("singletons moved"))
            {
                nextSingletonCheck = clock.Elapsed + TimeSpan.FromSeconds(1);
                var host = await SingletonHostAsync(state, view, names, ct);
                if (host is not null && !names.Contains(host.Name)) Once("singletons moved", $"oldest control-plane member now {host.Name}");
            }
            if (probePodCreate is { IsCompleted: true } && probePod is null) probePod = probePodCreate.Result ?? "";

            var recovered = kind switch
            {
                _ when restarts => targets.All(x => selfUp.Contains(x.Name)) && report.Has("all Deployments ready")
                                     && targets.Where(x => !x.ControlPlane).All(x => report.Has($"Node Ready again {x.Name}") || !report.Has($"NotReady {x.Name}") && snap.Nodes?.FirstOrDefault(n => n.Name == x.Name)?.Ready == "True"),
                // A killed singleton host: recovered only once the report can say where the singletons went (a quick
                // hand-over binds the probe pod before the 1 s singleton check would otherwise see the move).
                _ => AllGone() && report.Has("all Deployments ready")
                     && (podsOnTargets.Count == 0 || report.Has("pods evicted"))
                     && (!controlPlaneTarget || report.Has("new pod bound"))
                     && (!singletonTarget || report.Has("singletons moved"))
                     && (dataPlane?.EndpointsSettled ?? true),
            };
            if (recovered && containersBefore is not null)
            {
                var (settled, kept) = await ContainersSettledAsync(view, targets[0], containersBefore, report, clock, ct);
                if (settled && !kept) break; // reported, not recovered
                recovered = settled;
            }
            if (recovered)
            {
                report.Recovered = true;
                report.RecoveredAfterSeconds = Math.Round(t, 2);
                break;
            }
            await Task.Delay(PollInterval, ct);
        }

        stopMemberWatch.Cancel();
        await memberWatch;
        stopProbe.Cancel();
        // Stopping the probe cancels its request in flight; that is the end of probing, not a failure.
        try { await probe; }
        catch (OperationCanceledException) when (stopProbe.IsCancellationRequested && !ct.IsCancellationRequested) { }
        try { await dataPlaneProbe; }
        catch (OperationCanceledException) when (stopProbe.IsCancellationRequested && !ct.IsCancellationRequested) { }
        if (probePodCreate is not null)
        {
            probePod ??= await probePodCreate;
            if (probePod is { Length: > 0 })
            {
                try
                {
                    using var del = await view.Http.DeleteAsync($"/api/v1/namespaces/default/pods/{probePod}", ct);
                    if (!del.IsSuccessStatusCode) report.Leftovers.Add($"probe pod default/{probePod} (delete answered {(int)del.StatusCode}; kubectl delete pod {probePod})");
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    report.Leftovers.Add($"probe pod default/{probePod} (delete failed: {e.Message}; kubectl delete pod {probePod})");
                }
            }
        }
        // Recovery does not wait for the partitions, but the report does, briefly: each starts on its first request.
        stopPartitionWatch.CancelAfter(report.Recovered ? TimeSpan.FromSeconds(10) : TimeSpan.Zero);
        try { await partitionWatch; } catch (Exception e) when (e is OperationCanceledException or CliException) { }
        if (partitionMoves.Count > 0)
        {
            report.PartitionMoves = partitionMoves.ToDictionary(m => m.Key, m => m.Value.Node, StringComparer.Ordinal);
            report.PartitionHandovers = Handovers(partitionMoves, report.InjectedAt);
        }
        if (writeProbe is not null)
            report.Handover = Breakdown(report, state, names, logOffsets!, await writeProbe.FinishAsync(report.Leftovers, ct));
        if (partitionMoves.Count < partitionsToMove.Count)
        {
            report.Notes.Add($"store partitions not answering on a survivor yet (a partition starts again on its next request): {string.Join(", ", partitionsToMove.Where(p => !partitionMoves.ContainsKey(p)).Order(StringComparer.Ordinal))}");
        }
        if (collateral.Count > 0)
            report.Notes.Add($"{collateral.Count} pods on nodes the fault did not touch were deleted (false eviction or unrelated deletion): {string.Join(", ", collateral.Take(10))}");
        report.CollateralPodDeletions = collateral.Count;
        if (!restarts)
            foreach (var target in targets)
                report.Leftovers.Add($"{target.Name} is not running; bring it back with `akkakube chaos restart {target.Name}`");
        if (!report.Recovered)
        {
            var why = await WhyNotSteady(state, view, ct, lost);
            if (why is not null) report.Notes.Add($"not recovered: {why}");
        }
        return report;
    }

    /// <summary>One container of a pod on a node, as its status shows it.</summary>
    internal sealed record ContainerView(string Pod, string PodUid, string Name, string? ContainerId, int RestartCount, string? StartedAt, bool Running);

    /// <summary>The containers of the pods bound to <paramref name="nodes"/> (not deleting), by "namespace/pod/container".</summary>
    private static async Task<Dictionary<string, ContainerView>> ContainersOnAsync(ClusterView view, IReadOnlySet<string> nodes, CancellationToken ct)
    {
        var result = new Dictionary<string, ContainerView>(StringComparer.Ordinal);
        foreach (var pod in await view.ListAsync("/api/v1/pods", ct) ?? [])
        {
            if ((string?)pod["spec"]?["nodeName"] is not { } node || !nodes.Contains(node) || pod["metadata"]?["deletionTimestamp"] is not null) continue;
            var key = $"{(string?)pod["metadata"]?["namespace"]}/{(string?)pod["metadata"]?["name"]}";
            foreach (var c in (pod["status"]?["containerStatuses"] as JsonArray)?.OfType<JsonObject>() ?? [])
                result[$"{key}/{(string?)c["name"]}"] = new ContainerView(key, (string?)pod["metadata"]?["uid"] ?? "", (string?)c["name"] ?? "", (string?)c["containerID"],
                    c["restartCount"]?.GetValue<int>() ?? 0, (string?)c["state"]?["running"]?["startedAt"], c["state"]?["running"] is not null);
        }
        return result;
    }

    /// <summary>
    /// restart-kubelet, once the node is back: Settled when every container that ran before runs again and the restarted
    /// kubelet has dealt with it — cri: each pod worker re-synced from the runtime (`chaos probe pod/…` no longer
    /// "re-adopting"); process runtime, whose containers die with the node process: each started again (a new start
    /// time). Then records which kept their container ID, restart count and start time; Kept is false when a cri
    /// node's containers did not all survive.
    /// </summary>
    private async Task<(bool Settled, bool Kept)> ContainersSettledAsync(ClusterView view, NodeState target, Dictionary<string, ContainerView> before,
        ChaosReport report, Stopwatch clock, CancellationToken ct)
    {
        var cri = target.ContainerdDirectory is not null;
        if (cri)
            foreach (var uid in before.Values.Select(c => c.PodUid).Distinct())
            {
                try
                {
                    // By actor path: `pod/<ns>/<name>` needs an apiserver on the node, which a worker does not run.
                    // On the restarted process's command port directly: the view still knows the old PID.
                    var worker = Actors.AkkaKubeNames.Actors.KubeletChildren.PodWorkerPath("/user/" + Actors.AkkaKubeNames.Actors.Kubelet, uid);
                    var replies = await CmdClient.RunAsync(target.CmdAddress, target.CmdPort, new CmdRequest("chaos", "probe", [worker]), TimeSpan.FromSeconds(5), ct,
                        Actors.Cmd.CmdTokenFile.TryRead(Path.GetFullPath(DataDirectory)));
                    if (ParseProbe(replies).Settling) return (false, false);
                }
                catch (Exception e) when (e is CliException or KeyNotFoundException or InvalidOperationException)
                {
                    return (false, false); // its worker is not there yet
                }
            }
        var now = await ContainersOnAsync(view, new HashSet<string> { target.Name }, ct);
        if (before.Keys.Any(k => !now.TryGetValue(k, out var c) || !c.Running)) return (false, false);
        bool Same(string key) => now[key] is var a && before[key] is var b && a.ContainerId == b.ContainerId && a.RestartCount == b.RestartCount && a.StartedAt == b.StartedAt;
        if (!cri && before.Keys.Any(Same)) return (false, false); // the new kubelet has not reported its new starts yet
        var changed = before.Keys.Where(k => !Same(k)).Order(StringComparer.Ordinal).ToList();
        report.Add(clock.Elapsed.TotalSeconds, cri ? "containers re-adopted" : "containers started again",
            $"{before.Count - changed.Count} of {before.Count} kept their container ID, restart count and start time" +
            (changed.Count == 0 ? "" : "; started again: " + string.Join(", ", changed.Take(10).Select(k =>
                $"{k} ({before[k].ContainerId} restarts {before[k].RestartCount} started {before[k].StartedAt} → {now[k].ContainerId} restarts {now[k].RestartCount} started {now[k].StartedAt})"))));
        if (!cri)
            report.Notes.Add($"{target.Name} runs the process runtime: its containers are processes of the node process and die with it (their stdin is its lifeline pipe, their logs pass through it); the restarted kubelet started them again. Under --runtime containerd they keep running and are re-adopted.");
        else if (changed.Count > 0)
            report.Notes.Add($"not recovered: {changed.Count} container(s) of {target.Name} did not survive the kubelet restart");
        return (true, !cri || changed.Count == 0);
    }

    /// <summary>GET /readyz every <see cref="ProbeInterval"/> until <paramref name="stop"/>: probes, failures and the longest outage go into the report.</summary>
    private Task ProbeApiAsync(ClusterView view, ChaosReport report, Stopwatch clock, CancellationToken stop) => Task.Run(async () =>
    {
        double? outageStart = null, notReadyStart = null;
        while (!stop.IsCancellationRequested)
        {
            var (ok, ready) = await view.ProbeAsync(stop);
            if (stop.IsCancellationRequested) break;
            var now = clock.Elapsed.TotalSeconds;
            lock (report)
            {
                report.ApiProbes++;
                if (!ok) report.ApiFailures++;
                if (ok && !ready) report.ApiNotReady++;
                if (ok && !ready && notReadyStart is null) notReadyStart = now;
                if (ready && notReadyStart is { } nr)
                {
                    report.LongestNotReadySeconds = Math.Max(report.LongestNotReadySeconds, Math.Round(now - nr, 2));
                    notReadyStart = null;
                }
                if (!ok && outageStart is null) outageStart = now;
                if (ok && outageStart is { } s)
                {
                    report.LongestApiOutageSeconds = Math.Max(report.LongestApiOutageSeconds, Math.Round(now - s, 2));
                    outageStart = null;
                }
            }
            try { await Task.Delay(ProbeInterval, stop); } catch (OperationCanceledException) { }
        }
        lock (report)
        {
            if (outageStart is { } open) report.LongestApiOutageSeconds = Math.Max(report.LongestApiOutageSeconds, Math.Round(clock.Elapsed.TotalSeconds - open, 2));
            if (notReadyStart is { } nr) report.LongestNotReadySeconds = Math.Max(report.LongestNotReadySeconds, Math.Round(clock.Elapsed.TotalSeconds - nr, 2));
        }
    }, CancellationToken.None);

    /// <summary>
    /// A reboot keeps the node away until the survivors have removed its old incarnation (as a real reboot, which takes
    /// longer than failure detection and downing, does). Starting the same address while a survivor still tears down
    /// the old incarnation's association can leave the new process unable to join for minutes: observed on a 1+3
    /// cluster (1 of 3 quick restarts), the survivor kept answering its InitJoin with InitJoinAcks that never arrived.
    /// Records the unreachable/down/removed events on the way; bounded by <paramref name="within"/> (then it starts anyway, noted).
    /// </summary>
    private async Task WaitUntilRemovedAsync(IReadOnlyList<NodeState> targets, IReadOnlySet<string> names, ClusterView view, ChaosReport report,
        Stopwatch clock, TimeSpan within, CancellationToken ct)
    {
        var deadline = clock.Elapsed + within;
        void Once(string ev)
        {
            if (report.Has(ev)) return;
            report.Add(clock.Elapsed.TotalSeconds, ev);
            Progress?.Invoke($"+{clock.Elapsed.TotalSeconds:0.00}s {ev}");
        }
        while (clock.Elapsed < deadline)
        {
            var members = await view.MembersAsync(names, ct);
            if (members is not null)
            {
                var present = 0;
                foreach (var t in targets)
                {
                    if (members.FirstOrDefault(m => m.Address == t.Address) is not { } m)
                    {
                        Once($"removed {t.Name}");
                        continue;
                    }
                    present++;
                    if (m.Reachability == "unreachable") Once($"unreachable {t.Name}");
                    if (m.Status is "Down" or "Exiting" or "Leaving") Once($"{m.Status.ToLowerInvariant()} {t.Name}");
                }
                if (present == 0) return;
            }
            await Task.Delay(PollInterval, ct);
        }
        report.Notes.Add($"the old incarnation of {string.Join(", ", targets.Select(t => t.Name))} was not removed within {within.TotalSeconds:0} s; started again anyway");
    }

    /// <summary>
    /// The command line that starts a node again so that it JOINS the running cluster. Akka lets the first of the
    /// seed nodes found a new cluster by itself when no other seed answers within seed-node-timeout — which a busy
    /// cluster may not — so restarting cp-1 (the first seed of `up`) with its original command line could make it
    /// a one-member island with its own singletons and store partitions over the same journal. Its own address
    /// moves to the end of its seed list: a node that is not the first seed only ever joins others.
    /// </summary>
    public static IReadOnlyList<string> RejoinCommand(IReadOnlyList<string> command, string selfAddress)
    {
        var result = new List<string>(command.Count);
        var seeds = new List<string>();
        var selfIsSeed = false;
        for (var i = 0; i < command.Count; i++)
        {
            if (command[i] == "--seed" && i + 1 < command.Count)
            {
                if (command[i + 1] == selfAddress) selfIsSeed = true;
                else seeds.Add(command[i + 1]);
                i++;
                continue;
            }
            result.Add(command[i]);
        }
        if (selfIsSeed) seeds.Add(selfAddress);
        foreach (var seed in seeds) result.AddRange(["--seed", seed]);
        return result;
    }

    /// <summary>A node's view of itself (`actor system`): its pid and member status; null when its command host does not answer.</summary>
    private static async Task<(int Pid, string Status)?> SelfViewAsync(int cmdPort, string? token, CancellationToken ct)
    {
        try
        {
            var replies = await CmdClient.RunAsync("127.0.0.1", cmdPort, new CmdRequest("actor", "system"), TimeSpan.FromSeconds(2), ct, token);
            var table = replies.FirstOrDefault(r => r.Type == CmdReply.Kinds.Table);
            if (table?.Rows is null) return null;
            var props = table.Rows.Where(r => r.Count >= 2).ToDictionary(r => r[0], r => r[1]);
            return int.TryParse(props.GetValueOrDefault("pid"), out var pid) ? (pid, props.GetValueOrDefault("status") ?? "") : null;
        }
        catch (CliException)
        {
            return null;
        }
    }

    /// <summary>
    /// Creates a bare echo pod (retrying while the API or its partition does not answer) and records when it is bound:
    /// scheduling works again.
    /// </summary>
    internal static async Task<string?> CreateProbePodAsync(ClusterView view, Stopwatch clock, ChaosReport report, TimeSpan deadline, CancellationToken ct)
    {
        var name = $"chaos-probe-{DateTime.UtcNow:HHmmss}-{Random.Shared.Next(1000, 9999)}";
        var body = new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Pod",
            ["metadata"] = new JsonObject { ["name"] = name, ["labels"] = new JsonObject { ["akkakube.io/chaos-probe"] = "true" } },
            ["spec"] = new JsonObject
            {
                ["containers"] = new JsonArray(new JsonObject { ["name"] = "echo", ["image"] = "akkakube/echo" }),
                ["terminationGracePeriodSeconds"] = 0,
            },
        }.ToJsonString();
        while (clock.Elapsed < deadline && !ct.IsCancellationRequested)
        {
            try
            {
                using var content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
                using var response = await view.Http.PostAsync("/api/v1/namespaces/default/pods", content, ct);
                if (response.IsSuccessStatusCode || (int)response.StatusCode == 409)
                {
                    report.Add(clock.Elapsed.TotalSeconds, "probe pod created", name);
                    break;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
            {
            }
            await Task.Delay(200, ct);
        }
        if (!report.Has("probe pod created")) return null;
        // Polled here, tightly, rather than in the main loop, whose snapshots can take seconds while partitions move.
        while (clock.Elapsed < deadline && !ct.IsCancellationRequested)
        {
            if (await BoundNodeAsync(view, name, ct) is { } bound)
            {
                report.Add(clock.Elapsed.TotalSeconds, "new pod bound", $"{name} → {bound} (scheduling works)");
                break;
            }
            await Task.Delay(100, ct);
        }
        return name;
    }

    private static async Task<string?> BoundNodeAsync(ClusterView view, string pod, CancellationToken ct)
    {
        try
        {
            using var response = await view.Http.GetAsync($"/api/v1/namespaces/default/pods/{pod}", ct);
            if (!response.IsSuccessStatusCode) return null;
            return (string?)JsonNode.Parse(await response.Content.ReadAsStringAsync(ct))?["spec"]?["nodeName"];
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or System.Text.Json.JsonException && !ct.IsCancellationRequested)
        {
            return null;
        }
    }

    /// <summary>
    /// `crash-actor`: controllers (by name or path below the controller-manager) go through the controller-manager
    /// singleton (<see cref="CrashControllerAsync"/>); any other actor through the target node's `chaos` palette
    /// (<see cref="ActorFaultAsync"/>).
    /// </summary>
    public Task<ChaosReport> CrashActorAsync(string nodeName, string path, CancellationToken ct) =>
        RecordedAsync(Actors.Chaos.ChaosPalette.ControllerOf(path) is not null
            ? CrashControllerAsync(nodeName, path, ct)
            : ActorFaultAsync(nodeName, path, stop: false, ct), ct);

    /// <summary>`stop-actor`: stops an actor whose parent re-creates it (store partition, PodWorker) and watches it come back.</summary>
    public Task<ChaosReport> StopActorAsync(string nodeName, string path, CancellationToken ct) =>
        RecordedAsync(ActorFaultAsync(nodeName, path, stop: true, ct), ct);

    /// <summary>
    /// Controllers: injects a crash through a node's `chaos crash` command, then waits until the controller-manager
    /// counts one more start of that controller (it was restarted) and the cluster is steady.
    /// </summary>
    private async Task<ChaosReport> CrashControllerAsync(string nodeName, string path, CancellationToken ct)
    {
        var state = LoadState();
        var node = FindNode(state, nodeName);
        using var view = new ClusterView(state, TimeSpan.FromSeconds(2));
        Progress?.Invoke("checking that the cluster is steady …");
        await WaitSteadyAsync(state, view, ct);
        var controller = Actors.Chaos.ChaosPalette.ControllerOf(path)!;
        var report = new ChaosReport { Fault = "crash-actor", Targets = [$"{node.Name}:{path}"], TimeoutSeconds = Timeout.TotalSeconds };
        report.StartsBefore = await StartsAsync(view, node.Name, ct);
        var clock = Stopwatch.StartNew();
        report.InjectedAt = DateTime.UtcNow;
        await view.CmdAsync(new HashSet<string>(), new CmdRequest("chaos", "crash", [path]), ct, onNode: node.Name);
        report.Add(clock.Elapsed.TotalSeconds, "crash injected", controller);
        var wanted = report.StartsBefore.GetValueOrDefault(controller) + 1;
        var deadline = clock.Elapsed + Timeout;
        while (clock.Elapsed < deadline)
        {
            var starts = await StartsAsync(view, node.Name, ct);
            report.StartsAfter = starts;
            if (starts.GetValueOrDefault(controller) >= wanted && !report.Has("restarted"))
                report.Add(clock.Elapsed.TotalSeconds, "restarted", $"{controller} start #{starts[controller]} (re-lists its informers)");
            if (report.Has("restarted"))
            {
                var snap = await view.SnapshotAsync(new HashSet<string>(), ct);
                if (snap.DeploymentsReady(new HashSet<string>()))
                {
                    report.Add(clock.Elapsed.TotalSeconds, "all Deployments ready", $"{snap.Deployments!.Count} Deployments");
                    report.Recovered = true;
                    report.RecoveredAfterSeconds = Math.Round(clock.Elapsed.TotalSeconds, 2);
                    break;
                }
            }
            await Task.Delay(PollInterval, ct);
        }
        var others = report.StartsBefore.Where(kv => kv.Key != controller && report.StartsAfter?.GetValueOrDefault(kv.Key) != kv.Value).Select(kv => kv.Key).ToList();
        if (others.Count > 0) report.Notes.Add($"other controllers restarted too: {string.Join(", ", others)}");
        return report;
    }

    /// <summary>What the target node's `chaos probe` says about one actor path.</summary>
    public sealed record ActorProbe(string Path, bool Alive, string Uid, string Type, int Failures, string Resynced, string RecreatedBy)
    {
        /// <summary>Still re-syncing (the summary of the new incarnation is not in yet).</summary>
        public bool Settling => Resynced is "re-adopting its containers" or "recovering from the journal" or "informers still listing" or "not answering"
                                || Resynced.EndsWith("starting its containers again", StringComparison.Ordinal);
    }

    private static async Task<ActorProbe> ProbeActorAsync(ClusterView view, string node, string path, string? mode, CancellationToken ct)
    {
        List<string> args = mode is null ? [path] : [path, "--for", mode];
        return ParseProbe(await view.CmdAsync(new HashSet<string>(), new CmdRequest("chaos", "probe", args), ct, onNode: node));
    }

    private static ActorProbe ParseProbe(IReadOnlyList<CmdReply> replies)
    {
        var rows = replies.First(r => r.Type == CmdReply.Kinds.Table).Rows!.Where(r => r.Count >= 2).ToDictionary(r => r[0], r => r[1]);
        return new ActorProbe(rows["path"], rows["alive"] == "true", rows["uid"], rows["type"], int.Parse(rows["failures"], System.Globalization.CultureInfo.InvariantCulture),
            rows["resynced"], rows["recreated-by"]);
    }

    /// <summary>
    /// `crash-actor` / `stop-actor` of one actor on one node: checks the target takes the fault (before anything else),
    /// checks the cluster is steady, records the actor's incarnation and supervised-failure count, injects, confirms the
    /// fault took effect (crash: one more supervised failure for that path; stop: the path dead or a new incarnation),
    /// waits until the actor is back (crash: the same incarnation, restarted in place; stop: a new incarnation) with
    /// what it re-synced, then until the cluster is steady again. The API is probed throughout.
    /// </summary>
    private async Task<ChaosReport> ActorFaultAsync(string nodeName, string path, bool stop, CancellationToken ct)
    {
        var state = LoadState();
        var node = FindNode(state, nodeName);
        using var view = new ClusterView(state, TimeSpan.FromSeconds(2));
        var mode = stop ? "stop" : "crash";
        // An unknown path, or an actor that does not take this fault, fails at once with the palette's one-line reason.
        var target = await ProbeActorAsync(view, node.Name, path, mode, ct);
        Progress?.Invoke("checking that the cluster is steady …");
        await WaitSteadyAsync(state, view, ct);
        var before = await ProbeActorAsync(view, node.Name, target.Path, mode, ct);
        var report = new ChaosReport
        {
            Fault = stop ? "stop-actor" : "crash-actor",
            Targets = [$"{node.Name}:{before.Path}"],
            TimeoutSeconds = Timeout.TotalSeconds,
            Actor = new ActorFaultReport { Node = node.Name, Path = before.Path, Type = before.Type, UidBefore = before.Uid, FailuresBefore = before.Failures },
        };
        var clock = new Stopwatch();
        using var stopProbe = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var apiProbe = ProbeApiAsync(view, report, clock, stopProbe.Token);
        void Once(string ev, string detail = "")
        {
            lock (report.Timeline)
            {
                if (report.Has(ev)) return;
                report.Add(clock.Elapsed.TotalSeconds, ev, detail);
            }
            Progress?.Invoke($"+{clock.Elapsed.TotalSeconds:0.00}s {ev} {detail}");
        }

        report.InjectedAt = DateTime.UtcNow;
        clock.Start();
        await view.CmdAsync(new HashSet<string>(), new CmdRequest("chaos", mode, [before.Path]), ct, onNode: node.Name);
        Once(stop ? "stop sent" : "crash injected", $"{before.Type} {before.Path} (uid {before.Uid})");
        if (stop) report.Actor.RecreatedBy = before.RecreatedBy;

        var deadline = clock.Elapsed + Timeout;
        var back = false;
        ActorProbe? last = null;
        while (clock.Elapsed < deadline)
        {
            try
            {
                last = await ProbeActorAsync(view, node.Name, before.Path, null, ct);
            }
            catch (CliException e)
            {
                // The node's command host did not answer this time (busy): try again.
                report.Actor.ProbeErrors++;
                report.Actor.LastProbeError = e.Message;
                await Task.Delay(PollInterval, ct);
                continue;
            }
            report.Actor.FailuresAfter = last.Failures;
            if (!stop)
            {
                if (last.Failures > before.Failures) Once("crashed", $"supervised failure #{last.Failures} of {before.Path} on {node.Name} (`akkakube cmd {node.Name} actor restarts`)");
                if (report.Has("crashed") && last.Alive && !last.Settling)
                {
                    if (last.Uid == before.Uid) Once("restarted", $"same incarnation (uid {last.Uid}), restarted in place by its supervisor; {last.Resynced}");
                    else Once("re-created", $"new incarnation uid {last.Uid} (its supervisor stopped it and its parent made a new one); {last.Resynced}");
                    back = true;
                }
            }
            else
            {
                if (!last.Alive || last.Uid != before.Uid) Once("stopped", $"{before.Path} uid {before.Uid} gone");
                if (last.Alive && last.Uid != before.Uid && !last.Settling)
                {
                    Once("re-created", $"new incarnation uid {last.Uid}; {last.Resynced}");
                    back = true;
                }
            }
            if (back)
            {
                report.Actor.UidAfter = last.Uid;
                report.Actor.Resynced = last.Resynced;
                var why = await WhyNotSteady(state, view, ct);
                if (why is null)
                {
                    Once("cluster steady", "every node Up, every Deployment at its desired ready replicas, every Node Ready");
                    report.Recovered = true;
                    report.RecoveredAfterSeconds = Math.Round(clock.Elapsed.TotalSeconds, 2);
                    break;
                }
            }
            await Task.Delay(PollInterval, ct);
        }
        stopProbe.Cancel();
        try { await apiProbe; }
        catch (OperationCanceledException) when (stopProbe.IsCancellationRequested && !ct.IsCancellationRequested) { }

        if (!stop && !report.Has("crashed"))
            report.Notes.Add($"the fault did not take effect: no supervised failure of {before.Path} was recorded on {node.Name} within {Timeout.TotalSeconds:0} s");
        if (!stop && report.Actor.FailuresAfter is { } fa && fa > before.Failures + 1)
            report.Notes.Add($"{before.Path} failed {fa - before.Failures} times since the injection (one expected)");
        if (!back)
            report.Notes.Add(last is { Alive: true } && last.Settling
                ? $"{before.Path} is alive but still re-syncing: {last.Resynced}"
                : $"{before.Path} is not back on {node.Name}" + (stop ? $" (expected: {before.RecreatedBy})" : ""));
        if (!report.Recovered && back)
        {
            var why = await WhyNotSteady(state, view, ct);
            if (why is not null) report.Notes.Add($"not recovered: {why}");
        }
        return report;
    }

    private static async Task<Dictionary<string, int>> StartsAsync(ClusterView view, string node, CancellationToken ct)
    {
        var replies = await view.CmdAsync(new HashSet<string>(), new CmdRequest("chaos", "starts"), ct, onNode: node);
        var table = replies.First(r => r.Type == CmdReply.Kinds.Table);
        return table.Rows!.ToDictionary(r => r[0], r => int.Parse(r[1]));
    }
}
