using AkkaKube.Cli;
using AkkaKube.Cli.Chaos;
using AkkaKube.Tests.Cli;
using Xunit.Abstractions;

namespace AkkaKube.Tests.Chaos;

/// <summary>
/// Faults only hosts allow (issue 22), on the shared 3+2 netns cluster: isolating the singleton host (a clean
/// partition) makes the majority schedule again while the cut-off apiserver refuses writes; after heal the old node
/// comes back as a new incarnation and every nftables rule is gone.
/// </summary>
[Collection(NetnsCollection.Name)]
public sealed class HostChaosTests(NetnsCluster cluster, ITestOutputHelper output)
{
    [SkippableFact]
    public async Task Isolating_the_singleton_host_lets_the_majority_schedule_while_its_apiserver_refuses_writes_and_it_rejoins_after_heal()
    {
        Skip.If(cluster.SkipReason is not null, cluster.SkipReason);
        Skip.If(HostNetwork.Which("nft") is null, "needs nft (apt-get install nftables)");
        var state = ClusterState.Load(cluster.DataDirectory)!;
        using var view = new ClusterView(state, TimeSpan.FromSeconds(5));
        var host = await ChaosRunner.SingletonHostAsync(state, view, new HashSet<string>(), CancellationToken.None)
                   ?? throw new InvalidOperationException("no singleton host");
        var runner = new HostChaosRunner { DataDirectory = cluster.DataDirectory, Hold = TimeSpan.FromSeconds(3), Timeout = TimeSpan.FromSeconds(120), Progress = output.WriteLine };

        var report = await runner.RunAsync(s => HostChaosCli.Partition(s, HostChaosCli.Groups(s, [host.Name]), oneWay: false, "isolate"), CancellationToken.None);
        output.WriteLine(report.ToText());

        Assert.True(report.Recovered, "the cluster is whole again after heal");
        Assert.Contains(report.Timeline, t => t.Event == "singletons moved" && t.Detail.StartsWith(host.Name + " →", StringComparison.Ordinal));
        Assert.Contains(report.Timeline, t => t.Event == "new pod bound");
        // The cut-off apiserver answers with a server error (the store's partitions are out of its reach), never a stale 2xx
        // that the majority does not see: any write it did acknowledge must be readable from the majority afterwards.
        Assert.Contains(report.Timeline, t => t.Event == "cut-off apiserver refused a write" && t.Detail.Contains("HTTP 5", StringComparison.Ordinal));
        Assert.DoesNotContain(report.Notes, n => n.StartsWith("LOST", StringComparison.Ordinal));
        Assert.Contains(report.Timeline, t => t.Event == "process started again" && t.Detail.StartsWith(host.Name, StringComparison.Ordinal));

        var after = ClusterState.Load(cluster.DataDirectory)!;
        var again = after.Nodes.Single(n => n.Name == host.Name);
        Assert.NotEqual(host.Pid, again.Pid);
        Assert.True(NodeProcesses.IsNodeAlive(again.Pid, again.Name));
        var members = await LocalClusterLauncher.QueryMembersAsync(after, TimeSpan.FromSeconds(10));
        Assert.Contains(members!, m => m.Address == again.Address && m.Status == "Up");
        foreach (var n in after.Nodes)
            Assert.DoesNotContain(NetworkFaults.TablePrefix, HostNetwork.Run("nsenter", [$"--net=/run/netns/{n.Namespace}", "--", "nft", "list", "tables"]).Output);
    }

    [SkippableFact]
    public async Task A_frozen_worker_is_thawed_when_the_hold_ends()
    {
        Skip.If(cluster.SkipReason is not null, cluster.SkipReason);
        var state = ClusterState.Load(cluster.DataDirectory)!;
        var worker = state.Nodes.First(n => n.Worker);
        var frozen = false;
        var runner = new HostChaosRunner { DataDirectory = cluster.DataDirectory, Hold = TimeSpan.FromSeconds(2), Timeout = TimeSpan.FromSeconds(90) };
        var report = await runner.RunAsync(s => new HostFault("freeze", [worker], $"SIGSTOP {worker.Name}",
            () => { NodeProcesses.Signal(worker.Pid, NetworkFaults.SigStop); frozen = WaitUntil(() => NetworkFaults.IsStopped(worker.Pid)); },
            () => NodeProcesses.Signal(worker.Pid, NetworkFaults.SigCont)), CancellationToken.None);
        output.WriteLine(report.ToText());
        Assert.True(frozen, "the node process was stopped (state T) while frozen");
        Assert.False(NetworkFaults.IsStopped(worker.Pid));
        Assert.True(report.Recovered);
    }

    private static bool WaitUntil(Func<bool> condition)
    {
        for (var i = 0; i < 50 && !condition(); i++) Thread.Sleep(20);
        return condition();
    }

    [Fact]
    public void Partition_groups_name_every_node_once_and_one_group_stands_against_the_rest()
    {
        NodeState Node(string name, string ip, string roles) => new()
        {
            Name = name, Ordinal = 1, Roles = roles, Zone = "zone-a", Ip = ip, Port = 7100, CmdPort = 7101, PodCidr = ip[..^1] + "0/24",
            LogFile = "", Command = [], Namespace = "akk-t-" + name,
        };
        var state = new ClusterState
        {
            DataDirectory = "/nonexistent", ApiPort = 6443,
            Nodes = [Node("cp-1", "198.18.0.1", "control-plane"), Node("cp-2", "198.18.0.2", "control-plane"), Node("worker-a1", "198.18.0.3", "worker")],
        };
        var groups = HostChaosCli.Groups(state, ["cp-1", "/", "cp-2,worker-a1"]);
        Assert.Equal(["cp-1"], groups[0].Select(n => n.Name));
        Assert.Equal(["cp-2", "worker-a1"], groups[1].Select(n => n.Name));
        Assert.Equal(["cp-2", "worker-a1"], HostChaosCli.Groups(state, ["cp-1"])[1].Select(n => n.Name));
        Assert.Throws<CliException>(() => HostChaosCli.Groups(state, ["cp-1 / cp-1"]));
        Assert.Throws<CliException>(() => HostChaosCli.Groups(state, ["cp-9"]));
        // A loopback cluster refuses network faults in one line.
        var e = Assert.Throws<CliException>(() => HostChaosCli.Partition(state, groups, oneWay: false));
        Assert.Contains("--hosts netns", e.Message);
        Assert.Equal(1_000_000, NetworkFaults.ParseRate("1mbit"));
        Assert.Equal(500_000, NetworkFaults.ParseRate("500kbit"));
        Assert.Null(NetworkFaults.ParseRate("fast"));
    }
}
