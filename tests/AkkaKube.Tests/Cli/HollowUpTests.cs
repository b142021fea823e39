using AkkaKube.Cli;
using AkkaKube.Tests.Infrastructure;

namespace AkkaKube.Tests.Cli;

/// <summary>`akkakube up --hollow-nodes N`: the real binaries, hollow-only worker processes, Nodes checked through the API and kubectl.</summary>
public sealed class HollowUpTests
{
    [Fact]
    public async Task Up_with_six_hollow_nodes_registers_six_Ready_hollow_Nodes_two_per_zone_and_status_counts_them()
    {
        using var dir = new TempDir();
        var data = Path.Combine(dir.Path, "data");
        var apiPort = FreePort.Next();
        ClusterState? state = null;
        try
        {
            var up = await ProcessRunner.RunAsync(ProcessRunner.Akkakube,
                ["up", "--address-block", TestAddressBlocks.Next().ToString(), "--control-planes", "1", "--workers", "0", "--hollow-nodes", "6", "--data-dir", data, "--api-port", apiPort.ToString(), "--timeout", "150"],
                TimeSpan.FromMinutes(4));
            state = ClusterState.Load(data);
            Assert.True(up.ExitCode == 0, up.Output);
            Assert.NotNull(state);
            Assert.Equal(["cp-1", "hollow-a1", "hollow-b1", "hollow-c1"], state!.Nodes.Select(n => n.Name));
            Assert.Equal([0, 2, 2, 2], state.Nodes.Select(n => n.HollowNodes));
            Assert.Contains("Nodes Ready 6/6", up.Stdout);

            // `up` returned only when all were Ready, so the API shows them at once.
            using var http = LocalClusterLauncher.ApiClient(data, TimeSpan.FromSeconds(30));
            var nodes = await LocalClusterLauncher.ListNodesAsync(http);
            Assert.NotNull(nodes);
            Assert.Equal(6, nodes!.Count);
            Assert.All(nodes, n => Assert.True(n.Ready && n.Hollow, $"{n.Name}: ready={n.Ready} hollow={n.Hollow}"));
            Assert.Equal(
                ["hollow-a1-hollow-0", "hollow-a1-hollow-1", "hollow-b1-hollow-0", "hollow-b1-hollow-1", "hollow-c1-hollow-0", "hollow-c1-hollow-1"],
                nodes.Select(n => n.Name).Order(StringComparer.Ordinal));
            Assert.Equal([("zone-a", 2), ("zone-b", 2), ("zone-c", 2)],
                nodes.GroupBy(n => n.Zone).Select(g => (g.Key, g.Count())).OrderBy(x => x.Key, StringComparer.Ordinal));

            if (KubectlPath is { } kubectl)
            {
                var get = await ProcessRunner.RunAsync(kubectl,
                    ["--kubeconfig", Path.Combine(data, "kubeconfig"), "get", "nodes", "-l", "akkakube.io/hollow=true", "--no-headers"], TimeSpan.FromMinutes(1));
                Assert.True(get.ExitCode == 0, get.Output);
                var lines = get.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
                Assert.Equal(6, lines.Length);
                Assert.All(lines, l => Assert.Contains(" Ready ", l));
            }

            var status = await ProcessRunner.RunAsync(ProcessRunner.Akkakube, ["status", "--data-dir", data]);
            Assert.True(status.ExitCode == 0, status.Output);
            Assert.Contains("Nodes: 6 (6 hollow), 6 Ready; zone-a 2, zone-b 2, zone-c 2", status.Stdout);

            var down = await ProcessRunner.RunAsync(ProcessRunner.Akkakube, ["down", "--data-dir", data], TimeSpan.FromMinutes(1));
            Assert.True(down.ExitCode == 0, down.Output);
            Assert.All(state.Nodes, n => Assert.False(NodeProcesses.IsNodeAlive(n.Pid, n.Name), $"{n.Name} pid {n.Pid} still alive after down"));
        }
        finally
        {
            if (state is not null)
                foreach (var n in state.Nodes.Where(n => NodeProcesses.IsNodeAlive(n.Pid, n.Name)))
                    NodeProcesses.Signal(n.Pid, NodeProcesses.SigKill);
        }
    }

    [Fact]
    public async Task Up_rejects_a_negative_hollow_node_count_in_one_line()
    {
        using var dir = new TempDir();
        var r = await ProcessRunner.RunAsync(ProcessRunner.Akkakube, ["up", "--hollow-nodes", "-1", "--data-dir", dir.Path, "--api-port", FreePort.Next().ToString()]);
        ProcessRunner.AssertOneLineError(r, "--hollow-nodes");
    }

    [Fact]
    public void Layout_spreads_hollow_nodes_over_the_zones_in_processes_of_at_most_a_thousand()
    {
        var plan = ClusterLayout.Plan(3, 3, ["zone-a", "zone-b", "zone-c"], 5000);
        var hollow = plan.Where(p => p.HollowNodes > 0).ToList();
        Assert.Equal(5000, hollow.Sum(p => p.HollowNodes));
        Assert.All(hollow, p => Assert.InRange(p.HollowNodes, 1, ClusterLayout.MaxHollowPerProcess));
        Assert.Equal(5, hollow.Count);
        Assert.Equal(["zone-a", "zone-b", "zone-c", "zone-a", "zone-b"], hollow.Select(p => p.Zone));
        Assert.Equal(["hollow-a1", "hollow-b1", "hollow-c1", "hollow-a2", "hollow-b2"], hollow.Select(p => p.Name));
        Assert.Equal(5003, plan.SelectMany(p => p.NodeNames).Count());
        Assert.Equal(2, ClusterLayout.Plan(1, 0, ["zone-a", "zone-b", "zone-c"], 2).Count(p => p.HollowNodes > 0));
    }

    private static string? KubectlPath { get; } = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':')
        .Select(p => Path.Combine(p, "kubectl")).FirstOrDefault(File.Exists);
}
