using AkkaKube.Cli;
using AkkaKube.Cli.Chaos;
using AkkaKube.Cli.History;
using AkkaKube.Tests.Cli;
using AkkaKube.Tests.Failover;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;

namespace AkkaKube.Tests.Chaos;

/// <summary>
/// Partial partitions, a lossy worker and fencing on the shared 3+2 netns cluster (issue 22; docs/failover.md,
/// "Partitions" and "Fencing"): the control-plane downing keeps the control-plane majority whatever the workers observe,
/// and a frozen store host that wakes up after its partition moved writes nothing.
/// </summary>
[Collection(NetnsCollection.Name)]
public sealed class HostPartitionTests(NetnsCluster cluster, ITestOutputHelper output)
{
    private void SkipUnlessRunning()
    {
        Skip.If(cluster.SkipReason is not null, cluster.SkipReason);
        Skip.If(HostNetwork.Which("nft") is null, "needs nft (apt-get install nftables)");
    }

    private HostChaosRunner Runner(TimeSpan hold, Func<CancellationToken, Task<bool>>? until = null) => new()
    {
        DataDirectory = cluster.DataDirectory, Hold = hold, Timeout = TimeSpan.FromSeconds(90), Progress = output.WriteLine, HoldUntil = until,
    };

    private static Dictionary<string, int> ControlPlanePids(ClusterState state) => state.Nodes.Where(n => n.ControlPlane).ToDictionary(n => n.Name, n => n.Pid);

    [SkippableFact]
    public async Task A_partial_partition_of_one_control_plane_downs_only_it_while_the_other_two_keep_serving()
    {
        SkipUnlessRunning();
        var state = ClusterState.Load(cluster.DataDirectory)!;
        using var view = new ClusterView(state, TimeSpan.FromSeconds(5));
        var singletons = await ChaosRunner.SingletonHostAsync(state, view, new HashSet<string>(), CancellationToken.None);
        var cps = state.Nodes.Where(n => n.ControlPlane).ToList();
        // Not the singleton host: what is measured is the downing decision, not a hand-over.
        var cut = cps.Last(n => n.Name != singletons?.Name);
        var rest = cps.Where(n => n.Name != cut.Name).ToList();
        var before = ControlPlanePids(state);

        // cut / the other control planes; the workers are in neither group, so they still reach both sides (Akka's SBR
        // called all three control planes "indirectly connected" here and downed them all).
        var report = await Runner(TimeSpan.FromSeconds(2), _ => Task.FromResult(!NodeProcesses.IsNodeAlive(cut.Pid, cut.Name)))
            .RunAsync(s => HostChaosCli.Partition(s, [[cut], rest], oneWay: false), CancellationToken.None);
        output.WriteLine(report.ToText());

        Assert.True(report.Recovered, report.ToText());
        Assert.Contains(report.Timeline, t => t.Event == "hold condition met"); // the cut-off control plane exited (downed itself)
        Assert.Contains(report.Timeline, t => t.Event == "process started again" && t.Detail.StartsWith(cut.Name, StringComparison.Ordinal));
        var healed = report.Timeline.Single(t => t.Event == "healed").Seconds;
        Assert.Contains(report.Timeline, t => t.Event == "new pod bound" && t.Seconds < healed); // the majority scheduled during the partition
        Assert.DoesNotContain(report.Notes, n => n.StartsWith("LOST", StringComparison.Ordinal));
        // The other two never went down: same processes, Up members.
        var after = ClusterState.Load(cluster.DataDirectory)!;
        var members = await LocalClusterLauncher.QueryMembersAsync(after, TimeSpan.FromSeconds(10));
        foreach (var n in rest)
        {
            Assert.Equal(before[n.Name], after.Nodes.Single(x => x.Name == n.Name).Pid);
            Assert.True(NodeProcesses.IsNodeAlive(n.Pid, n.Name), $"{n.Name} is alive");
            Assert.Contains(members!, m => m.Address == n.Address && m.Status == "Up");
        }
    }

    // The worker the rule downs may never hear of its Down through the loss; it must still exit on its own (a control plane
    // refuses it as quarantined once packets flow, and it downs itself: docs/failover.md, "A downed member exits") so the
    // runner starts it again — before that fix it stayed alive outside the cluster in 2 of 5 loaded runs.
    [SkippableFact(Skip = "flaky on a loaded machine: in the lead's CI run of 2026-12-08 (other tests loading both cores) a control "
        + "plane outside the fault (cp-3, most likely the new incarnation the partial-partition test had just started) exited during 50% "
        + "loss on worker-a1; here 4 of 5 alone (the failure: a rejoined worker that one control plane never heard, downed again) and "
        + "3 of 3 in class order, no control plane down. Open in issue 22 (docs/failover.md, \"Looked at again\").")]
    public async Task A_lossy_worker_never_downs_a_control_plane()
    {
        SkipUnlessRunning();
        var state = ClusterState.Load(cluster.DataDirectory)!;
        var worker = state.Nodes.First(n => n.Worker);
        var before = ControlPlanePids(state);

        var report = await Runner(TimeSpan.FromSeconds(12)).RunAsync(s => new HostFault("loss", [worker], $"{worker.Name} drops 50% of its packets each way",
            () => NetworkFaults.Loss(s, worker, 50), () => NetworkFaults.HealAll(s)), CancellationToken.None);
        output.WriteLine(report.ToText());

        Assert.True(report.Recovered, report.ToText());
        // Whether or not it was downed this time, the worker was never left alive outside the cluster: the runner's backstop
        // (kill a removed process that is still alive 30 s after heal) did not have to act.
        Assert.DoesNotContain(report.Timeline, t => t.Event == "removed process killed");
        if (report.Has("removed"))
            Assert.Contains(report.Timeline, t => t.Event == "process started again" && t.Detail.StartsWith(worker.Name, StringComparison.Ordinal));
        var after = ClusterState.Load(cluster.DataDirectory)!;
        var members = await LocalClusterLauncher.QueryMembersAsync(after, TimeSpan.FromSeconds(10));
        foreach (var (name, pid) in before)
        {
            var n = after.Nodes.Single(x => x.Name == name);
            Assert.Equal(pid, n.Pid);
            Assert.True(NodeProcesses.IsNodeAlive(pid, name), $"{name} is alive");
            Assert.Contains(members!, m => m.Address == n.Address && m.Status == "Up");
        }
    }

    /// <summary>
    /// An isolated worker hears nothing of its Down: it keeps running (and with it its pods, as a kubelet cut off from the
    /// apiserver does) while the majority downs and removes it, and exits on its own once the network heals and a control
    /// plane refuses its quarantined incarnation; the runner then starts it again and the new incarnation joins.
    /// </summary>
    [SkippableFact]
    public async Task An_isolated_worker_runs_on_while_cut_off_and_exits_by_itself_after_heal_once_removed()
    {
        SkipUnlessRunning();
        var state = ClusterState.Load(cluster.DataDirectory)!;
        var worker = state.Nodes.Last(n => n.Worker);
        using var view = new ClusterView(state, TimeSpan.FromSeconds(5));
        var outside = new HashSet<string> { worker.Name };
        var logBefore = new FileInfo(worker.LogFile).Length;

        // Held until the majority has removed the worker (downed without the worker knowing), then healed.
        var report = await Runner(TimeSpan.FromSeconds(2), async ct =>
                await view.MembersAsync(outside, ct) is { } members && members.All(m => m.Address != worker.Address))
            .RunAsync(s => HostChaosCli.Partition(s, HostChaosCli.Groups(s, [worker.Name]), oneWay: false, "isolate"), CancellationToken.None);
        output.WriteLine(report.ToText());

        Assert.True(report.Recovered, report.ToText());
        Assert.Contains(report.Timeline, t => t.Event == "hold condition met");
        var healed = report.Timeline.Single(t => t.Event == "healed").Seconds;
        // Alive all through the isolation (a process runtime's pods die only with their node process) …
        Assert.DoesNotContain(report.Timeline, t => t.Event == "process exited" && t.Seconds < healed);
        // … and out on its own after heal, before the runner's backstop for a removed process that stays alive.
        Assert.DoesNotContain(report.Timeline, t => t.Event == "removed process killed");
        Assert.Contains(report.Timeline, t => t.Event == "process started again" && t.Detail.StartsWith(worker.Name, StringComparison.Ordinal));
        using (var log = new FileStream(worker.LogFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite))
        {
            log.Seek(logBefore, SeekOrigin.Begin);
            Assert.Contains("quarantined this incarnation", await new StreamReader(log).ReadToEndAsync());
        }
    }

    [SkippableFact]
    public async Task A_frozen_store_host_thawed_after_its_partition_moved_writes_nothing_and_loses_no_acknowledged_write()
    {
        SkipUnlessRunning();
        const string partition = "configmaps";
        var state = ClusterState.Load(cluster.DataDirectory)!;
        using var view = new ClusterView(state, TimeSpan.FromSeconds(5));
        var hosts = await ChaosRunner.PartitionHostsAsync(state, view, new HashSet<string>(), CancellationToken.None);
        // A partition no request has reached yet runs nowhere: a write starts it.
        if (hosts is null || !hosts.ContainsKey(partition))
        {
            using var http = cluster.NewHttpClient(TimeSpan.FromSeconds(10));
            using var _ = await http.GetAsync("/api/v1/namespaces/default/configmaps");
            hosts = await ChaosRunner.PartitionHostsAsync(state, view, new HashSet<string>(), CancellationToken.None);
        }
        var host = state.Nodes.Single(n => n.Name == hosts![partition]);
        var majority = state.Nodes.First(n => n.ControlPlane && n.Name != host.Name);

        // Writes to the partition all along, through a majority apiserver: some are in flight to the host when it freezes.
        var history = new HistoryClient(cluster.Credentials.WithServer(new Uri($"https://{majority.Ip}:{state.ApiPort}")), keyPrefix: "fence")
        {
            Clients = 4, Keys = 40, UnknownBackoff = TimeSpan.FromSeconds(1), ThinkTime = TimeSpan.FromMilliseconds(40),
            // bounded by the fault, not by a count: a fast machine must still be writing when the partition has moved
            MaxOperations = 6_000, MaxDuration = TimeSpan.FromSeconds(80),
        };
        using var stop = new CancellationTokenSource();
        var eventsBefore = JournalWriters(partition).Count;
        var recording = history.RunAsync(stop.Token);
        ChaosReport report;
        List<string> beforeFreeze = [];
        try
        {
            // The journal as the freeze finds it, once the writes reached it: its last event is then the host's own copy's.
            await FailoverSupport.EventuallyAsync(() => Task.FromResult((beforeFreeze = JournalWriters(partition)).Count > eventsBefore + 5),
                TimeSpan.FromSeconds(60), $"the writes reach store-{partition}'s journal");
            // Frozen until the partition runs on another node (the host was downed and removed meanwhile), then thawed.
            report = await Runner(TimeSpan.FromSeconds(1), async ct =>
                    (await ChaosRunner.PartitionHostsAsync(state, view, new HashSet<string> { host.Name }, ct))?.GetValueOrDefault(partition) is { } now && now != host.Name)
                .RunAsync(_ => new HostFault("freeze", [host], $"SIGSTOP {host.Name} pid {host.Pid}",
                    () => NodeProcesses.Signal(host.Pid, NetworkFaults.SigStop), () => NodeProcesses.Signal(host.Pid, NetworkFaults.SigCont)), CancellationToken.None);
            // The writes go on until the moved partition's new copy has written (fencing is about who writes after the
            // move, not how soon): with one SQLite file for every control plane, the frozen process may hold its write
            // lock until the thaw, so the new copy's first writes can wait out a busy timeout and a restart.
            var frozen = beforeFreeze.LastOrDefault();
            await FailoverSupport.EventuallyAsync(() => Task.FromResult(JournalWriters(partition).Skip(beforeFreeze.Count).Any(w => w != frozen)),
                TimeSpan.FromSeconds(60), $"a new writer of store-{partition} after the move");
        }
        finally
        {
            stop.CancelAfter(TimeSpan.FromSeconds(3));
        }
        var ops = await recording;
        output.WriteLine(report.ToText());

        Assert.True(report.Recovered, report.ToText());
        Assert.Contains(report.Timeline, t => t.Event == "hold condition met");
        Assert.Contains(report.Timeline, t => t.Event == "process started again" && t.Detail.StartsWith(host.Name, StringComparison.Ordinal));
        // Every write the thawed host's own apiserver acknowledged is visible from the majority (none was, in practice).
        Assert.DoesNotContain(report.Notes, n => n.StartsWith("LOST", StringComparison.Ordinal));
        // The journal: one writer per incarnation of the partition, and once a newer one wrote, an older one never again —
        // the thawed host's stale copy could not add an event (the journal's unique sequence numbers refused it).
        var writers = JournalWriters(partition);
        var runs = writers.Where((w, i) => i == 0 || writers[i - 1] != w).ToList();
        output.WriteLine($"journal of store-{partition}: {writers.Count} events by {runs.Count} writer runs");
        Assert.NotEmpty(beforeFreeze);
        var frozenWriter = beforeFreeze[^1];
        var after = writers.Skip(beforeFreeze.Count).ToList();
        var firstOther = after.FindIndex(w => w != frozenWriter);
        Assert.True(firstOther >= 0, "the partition moved: a new writer appended to its journal");
        // The partition may come back to a node that hosted it before (same process, same writer), but never to the frozen
        // copy: that process is downed, exits, and its successor is a new writer.
        Assert.DoesNotContain(frozenWriter, after.Skip(firstOther));
        // The history through the majority (no acknowledged write lost, no stale read) is linearizable.
        Assert.True(ops.Count > 50, $"only {ops.Count} operations recorded");
        var result = LinearizabilityChecker.Check(ops.Where(o => !(o.Kind == OpKind.Get && o.Outcome == OpOutcome.Unknown)));
        Assert.True(result.Linearizable, $"key {result.Key}: {result.Explanation} (outcomes: {string.Join(", ", ops.GroupBy(o => o.Outcome).Select(g => $"{g.Key}={g.Count()}"))})");
    }

    /// <summary>The writer (persistent actor incarnation) of every event of a store partition, in sequence-number order.</summary>
    private List<string> JournalWriters(string partition)
    {
        using var db = new SqliteConnection($"Data Source={Path.Combine(cluster.DataDirectory, "store.db")};Mode=ReadOnly");
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = "SELECT writer_uuid FROM journal WHERE persistence_id = $id ORDER BY sequence_number";
        cmd.Parameters.AddWithValue("$id", "store-" + partition);
        var writers = new List<string>();
        using var reader = cmd.ExecuteReader();
        while (reader.Read()) writers.Add(reader.IsDBNull(0) ? "" : reader.GetString(0));
        return writers;
    }
}
