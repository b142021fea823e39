using System.Text.Json.Nodes;
using AkkaKube.Actors.Chaos;
using AkkaKube.Cli;
using AkkaKube.Cli.Chaos;
using AkkaKube.Tests.Infrastructure;

namespace AkkaKube.Tests.Chaos;

public class ChaosLogicTests
{
    [Theory]
    [InlineData("replicaset", "replicaset")]
    [InlineData("/user/controller-manager/controller-manager/replicaset", "replicaset")]
    [InlineData("akka.tcp://akkakube@127.1.0.1:4053/user/controller-manager/controller-manager/deployment/", "deployment")]
    [InlineData("/user/kubelet/replicaset", null)]
    [InlineData("replicasets", null)]
    public void Crash_targets_are_controller_names_or_paths_below_the_controller_manager(string path, string? controller) =>
        Assert.Equal(controller, ChaosPalette.ControllerOf(path));

    /// <summary>
    /// A node outside the fault that exits gets its reason in the runner's note, from the logs written since the fault:
    /// its own last exit line and the control-plane downing decision that named it (not an earlier fault's, and not one
    /// that downed another member). Lines as the nodes log them (issue 22: the CI note said only "exited (downed)").
    /// </summary>
    [Fact]
    public void A_bystanders_exit_is_explained_by_its_own_log_and_the_decision_that_named_it_since_the_fault()
    {
        using var dir = new TempDir();
        NodeState Node(string name, string roles, string ip) => new()
        {
            Name = name, Ordinal = 1, Roles = roles, Zone = "zone-a", Ip = ip, Port = 7100, CmdPort = 7101, PodCidr = "198.22.1.0/24",
            LogFile = Path.Combine(dir.Path, name + ".log"), Command = ["akkakube-node"],
        };
        var cp1 = Node("cp-1", "control-plane", "198.22.0.1");
        var cp3 = Node("cp-3", "control-plane", "198.22.0.3");
        var state = new ClusterState { DataDirectory = dir.Path, ApiPort = 1, Nodes = [cp1, cp3] };
        const string Prefix = "info: Akka.Actor.ActorSystem[0] [WARNING][12/08/2026 02:08:06.390Z][Thread 0020][akka.tcp://akkakube@198.22.0.1:7100/system/cluster/core/daemon/downingProvider] ";
        File.WriteAllLines(cp1.LogFile,
        [
            "2026-12-08T01:00:00.000Z " + Prefix + "control-plane downing: keeping control planes [a, b], downing [akka.tcp://akkakube@198.22.0.3:7100] (an earlier fault); observations: x",
            "2026-12-08T02:08:06.000Z " + Prefix + "control-plane downing: keeping control planes [akka.tcp://akkakube@198.22.0.1:7100, akka.tcp://akkakube@198.22.0.2:7100], downing [akka.tcp://akkakube@198.22.0.3:7100] (akka.tcp://akkakube@198.22.0.3:7100: control plane outside the majority); observations: cp-2>cp-3",
            "2026-12-08T02:08:07.000Z " + Prefix + "control-plane downing: keeping control planes [akka.tcp://akkakube@198.22.0.1:7100], downing [akka.tcp://akkakube@198.22.0.4:7100] (another member)",
        ]);
        File.WriteAllLines(cp3.LogFile,
        [
            "2026-12-08T02:08:08.000Z info: Akka.Actor.ActorSystem[0] [INFO][12/08/2026 02:08:08.000Z][Thread 0020][Cluster (akka://akkakube)] Cluster Node [akka.tcp://akkakube@198.22.0.3:7100] - Node has been marked as DOWN. Shutting down myself",
            "2026-12-08T02:08:08.100Z info: Akka.Actor.ActorSystem[0] [INFO][12/08/2026 02:08:08.100Z][Thread 0020][akka.tcp://akkakube@198.22.0.3:7100/user/x] unrelated",
        ]);

        var why = HostChaosRunner.ExitEvidence(state, cp3, new DateTime(2026, 12, 8, 2, 0, 0, DateTimeKind.Utc));

        Assert.Equal("cp-3: Cluster Node [akka.tcp://akkakube@198.22.0.3:7100] - Node has been marked as DOWN. Shutting down myself"
                     + " | cp-1: control-plane downing: keeping control planes [akka.tcp://akkakube@198.22.0.1:7100, akka.tcp://akkakube@198.22.0.2:7100], "
                     + "downing [akka.tcp://akkakube@198.22.0.3:7100] (akka.tcp://akkakube@198.22.0.3:7100: control plane outside the majority); observations: cp-2>cp-3", why);
        Assert.Equal("no exit reason logged", HostChaosRunner.ExitEvidence(state, cp3, new DateTime(2026, 12, 8, 3, 0, 0, DateTimeKind.Utc)));
    }

    private static JsonObject Pod(string name, string node, bool ready, string rs = "web-abc12", string hash = "abc12", bool deleting = false)
    {
        var meta = new JsonObject
        {
            ["name"] = name, ["namespace"] = "default",
            ["labels"] = new JsonObject { ["pod-template-hash"] = hash },
            ["ownerReferences"] = new JsonArray(new JsonObject { ["kind"] = "ReplicaSet", ["name"] = rs }),
        };
        if (deleting) meta["deletionTimestamp"] = "2026-01-01T00:00:00Z";
        return new JsonObject
        {
            ["metadata"] = meta,
            ["spec"] = new JsonObject { ["nodeName"] = node },
            ["status"] = new JsonObject
            {
                ["phase"] = "Running",
                ["conditions"] = new JsonArray(new JsonObject { ["type"] = "Ready", ["status"] = ready ? "True" : "False" }),
            },
        };
    }

    [Theory]
    [InlineData("0.412s (37 events)", 0.412, 37L)]
    [InlineData("12s (0 events)", 12.0, 0L)]
    [InlineData("recovering", null, null)]
    [InlineData("?", null, null)]
    public void A_partitions_recovery_column_parses_back_to_seconds_and_events(string text, double? seconds, long? events) =>
        Assert.Equal((seconds, events), ChaosRunner.ParseRecovery(text));

    [Fact]
    public void A_hand_over_is_split_into_start_and_recovery_after_the_fault()
    {
        var fault = new DateTime(2026, 12, 7, 10, 0, 0, DateTimeKind.Utc);
        var moves = new Dictionary<string, ChaosRunner.PartitionPlacement>
        {
            ["pods"] = new("cp-2", fault.AddSeconds(3.1), 0.25, 120),
            ["leases"] = new("cp-3", fault.AddSeconds(3.3), 0.05, 4),
            ["unknown"] = new("cp-3", null, null, null),
        };
        var handovers = ChaosRunner.Handovers(moves, fault);
        Assert.Equal(new PartitionHandover("cp-2", 3.1, 3.35, 0.25, 120), handovers["pods"]);
        Assert.Equal(new PartitionHandover("cp-3", null, null, null, null), handovers["unknown"]);
        Assert.Equal(" (started +3.10–3.30 s, recovered by +3.35 s; recovery 0.05–0.25 s each)", ChaosRunner.HandoverSummary(handovers));
        Assert.Equal("", ChaosRunner.HandoverSummary(ChaosRunner.Handovers(new Dictionary<string, ChaosRunner.PartitionPlacement> { ["x"] = new("cp-1", null, null, null) }, fault)));
    }

    [Fact]
    public void The_store_hand_over_steps_are_read_from_what_the_survivors_logged_after_the_kill()
    {
        using var dir = new AkkaKube.Tests.Infrastructure.TempDir();
        const string dead = "akka.tcp://akkakube@127.1.0.1:4053";
        static string Line(string time, string text) => $"2026-12-07T16:11:26.000Z info: Akka.Actor.ActorSystem[0] [INFO][12/07/2026 {time}Z][Thread 0017][{text}";
        var cp2 = Path.Combine(dir.Path, "cp-2.log");
        var cp3 = Path.Combine(dir.Path, "cp-3.log");
        File.WriteAllLines(cp2, [Line("16:11:20.000", $"Cluster (akka://akkakube)] Marking node [{dead}] as [Down]")]); // an earlier run, before the offset
        var offset = new FileInfo(cp2).Length;
        File.AppendAllLines(cp2, [
            Line("16:11:25.563", $"Cluster (akka://akkakube)] Cluster Node [akka.tcp://akkakube@127.1.0.2:4053] - Marking node [{dead}] as [Down]"),
            Line("16:11:26.092", $"akka.tcp://akkakube@127.1.0.2:4053/user/node-info] member removed: {dead} (was Down)"),
            Line("16:11:26.106", "akka.tcp://akkakube@127.1.0.2:4053/system/sharding/storeCoordinator] Singleton manager started singleton actor [akka://akkakube/system/sharding/storeCoordinator/singleton] "),
            Line("16:11:27.395", "akka.tcp://akkakube@127.1.0.2:4053/system/sharding/storeCoordinator/singleton/coordinator] store: ShardCoordinator was moved to the active state with [16] shards"),
        ]);
        File.WriteAllLines(cp3, [Line("16:11:25.540", $"Cluster (akka://akkakube)] Marking node [{dead}] as [Down]")]);
        var kill = new DateTime(2026, 12, 7, 16, 11, 25, 380, DateTimeKind.Utc);

        var log = HandoverBreakdown.ReadSurvivorLogs([("cp-2", cp2), ("cp-3", cp3)], new Dictionary<string, long> { ["cp-2"] = offset }, [dead], kill);

        Assert.Equal(kill.AddMilliseconds(160), log.Down); // the earliest survivor to mark it
        Assert.Equal(kill.AddMilliseconds(712), log.Removed);
        Assert.Equal(kill.AddMilliseconds(726), log.CoordinatorStarted);
        Assert.Equal("cp-2", log.CoordinatorNode);
        Assert.Equal(kill.AddMilliseconds(2015), log.CoordinatorActive);
        var breakdown = new HandoverBreakdown { DownAfterSeconds = 0.16, RemovedAfterSeconds = 0.71, CoordinatorStartedAfterSeconds = 0.73, CoordinatorActiveAfterSeconds = 2.02, LastPartitionStartedAfterSeconds = 2.7, AllPartitionsRecoveredAfterSeconds = 3.0 };
        Assert.Equal([0.16, 0.55, 0.02, 1.29, 0.68, 0.3], breakdown.Phases().Select(p => p.Seconds!.Value).ToArray());
        // The coordinator did not move: allocation counts from the removal.
        var spared = breakdown with { CoordinatorStartedAfterSeconds = null, CoordinatorActiveAfterSeconds = null };
        Assert.Equal(1.99, spared.Phases().ElementAt(4).Seconds);
        // The journal-backed coordinator (state-store-mode = persistence) logs no activation: its recovery counts with the allocation.
        var journalBacked = breakdown with { CoordinatorActiveAfterSeconds = null };
        Assert.Null(journalBacked.Phases().ElementAt(3).Seconds);
        Assert.Equal(1.97, journalBacked.Phases().ElementAt(4).Seconds);
    }

    [Fact]
    public void A_pod_belongs_to_the_deployment_named_by_its_replica_set_minus_the_template_hash()
    {
        var pod = ClusterView.ParsePod(Pod("web-abc12-x", "worker-a1", ready: true));
        Assert.Equal("default/web", pod.Owner);
        Assert.True(pod.Ready);
        Assert.Equal("worker-a1", pod.NodeName);
    }

    [Fact]
    public void Deployments_are_ready_only_with_their_desired_ready_pods_on_nodes_that_were_not_lost()
    {
        var deployment = new DeploymentView("default", "web", Desired: 2, Ready: 2);
        var pods = new[] { Pod("a", "worker-a1", true), Pod("b", "worker-b1", true), Pod("c", "worker-c1", true, deleting: true) }
            .Select(ClusterView.ParsePod).ToList();
        var snapshot = new ClusterSnapshot(null, null, pods, [deployment]);
        Assert.True(snapshot.DeploymentsReady(new HashSet<string>()));
        Assert.False(snapshot.DeploymentsReady(new HashSet<string> { "worker-b1" }));
        Assert.Equal(1, snapshot.ReadyElsewhere(deployment, new HashSet<string> { "worker-b1" }));
    }

    [Fact]
    public void The_text_report_names_every_event_the_outcome_the_api_figures_and_the_leftovers()
    {
        var report = new ChaosReport { Fault = "kill", Targets = ["worker-a1"], TimeoutSeconds = 60 };
        report.Add(0.1, "process gone", "worker-a1 pid 1");
        report.Add(3.5, "unreachable worker-a1");
        report.Recovered = true;
        report.RecoveredAfterSeconds = 9.5;
        report.ApiProbes = 40;
        report.ApiFailures = 1;
        report.Leftovers.Add("worker-a1 is not running; bring it back with `akkakube chaos restart worker-a1`");
        var text = report.ToText();
        Assert.Contains("unreachable worker-a1", text);
        Assert.Contains("recovered in 9.50 s", text);
        Assert.Contains("API: 40 probes, 1 failed", text);
        Assert.Contains("akkakube chaos restart worker-a1", text);
        var json = JsonNode.Parse(report.ToJson())!;
        Assert.True((bool)json["recovered"]!);
        Assert.Equal(2, json["timeline"]!.AsArray().Count);
    }

    [Fact]
    public void A_restarted_first_seed_node_lists_its_own_address_last_so_it_joins_the_running_cluster_instead_of_founding_one()
    {
        var self = "akka.tcp://akkakube@127.1.0.1:4001";
        string[] command = ["akkakube-node", "--node-name", "cp-1", "--seed", self, "--seed", "akka.tcp://akkakube@127.1.0.2:4002",
                            "--seed", "akka.tcp://akkakube@127.1.0.3:4003", "--extra", "x"];
        var rejoin = ChaosRunner.RejoinCommand(command, self);
        Assert.Equal(["akkakube-node", "--node-name", "cp-1", "--extra", "x",
                      "--seed", "akka.tcp://akkakube@127.1.0.2:4002", "--seed", "akka.tcp://akkakube@127.1.0.3:4003", "--seed", self], rejoin);
        // A node that is not a seed keeps its seeds in order.
        Assert.Equal(["n", "--seed", "a", "--seed", "b"], ChaosRunner.RejoinCommand(["n", "--seed", "a", "--seed", "b"], "c"));
    }
}
