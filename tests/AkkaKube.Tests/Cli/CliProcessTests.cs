using AkkaKube.Actors.Security;
using System.Net;
using System.Net.Sockets;
using AkkaKube.Cli;
using AkkaKube.Tests.Infrastructure;

namespace AkkaKube.Tests.Cli;

/// <summary>The real `akkakube` binary: up → status → down on a small topology, every process checked by PID.</summary>
public sealed class CliProcessTests
{
    [Fact]
    public async Task Up_forms_the_cluster_status_lists_every_member_up_with_its_zone_and_down_leaves_no_process()
    {
        using var dir = new TempDir();
        var data = Path.Combine(dir.Path, "data");
        var apiPort = FreePort.Next();
        ClusterState? state = null;
        try
        {
            var up = await ProcessRunner.RunAsync(ProcessRunner.Akkakube,
                ["up", "--address-block", TestAddressBlocks.Next().ToString(), "--control-planes", "1", "--workers", "2", "--data-dir", data, "--api-port", apiPort.ToString(), "--timeout", "120"],
                TimeSpan.FromMinutes(3));
            state = ClusterState.Load(data);
            Assert.True(up.ExitCode == 0, up.Output);
            Assert.NotNull(state);
            Assert.Equal(["cp-1", "worker-a1", "worker-b1"], state!.Nodes.Select(n => n.Name));
            Assert.All(state.Nodes, n => Assert.True(NodeProcesses.IsNodeAlive(n.Pid, n.Name), $"{n.Name} pid {n.Pid} not alive after up"));
            Assert.Contains($"export KUBECONFIG={Path.Combine(data, "kubeconfig")}", up.Stdout);
            Assert.Contains($"server: https://127.0.0.1:{apiPort}", await File.ReadAllTextAsync(Path.Combine(data, "kubeconfig")));
            // only the cluster's user reads its keys, tokens and store
            Assert.Equal<UnixFileMode?>(PrivateFiles.DirectoryMode, PrivateFiles.ModeOf(data));
            foreach (var file in new[] { "kubeconfig", "cmd-token", "pki/ca.key", "store.db" })
                Assert.True(PrivateFiles.ModeOf(Path.Combine(data, file)) == PrivateFiles.FileMode, $"{file}: {PrivateFiles.ModeOf(Path.Combine(data, file))}");
            Assert.All(state.Nodes, n => Assert.True(File.Exists(Path.Combine(data, "logs", $"{n.Name}.log"))));

            // A second `up` on the same data directory is refused.
            var again = await ProcessRunner.RunAsync(ProcessRunner.Akkakube, ["up", "--control-planes", "1", "--workers", "0", "--data-dir", data, "--api-port", FreePort.Next().ToString()]);
            ProcessRunner.AssertOneLineError(again, "already running");

            var status = await ProcessRunner.RunAsync(ProcessRunner.Akkakube, ["status", "--data-dir", data]);
            Assert.True(status.ExitCode == 0, status.Output);
            foreach (var (name, zone) in new[] { ("cp-1", "zone-a"), ("worker-a1", "zone-a"), ("worker-b1", "zone-b") })
            {
                // the member table's row (the health table below it names the node too)
                var line = status.Stdout.Split('\n').SingleOrDefault(l => l.Contains($" {name} ") && l.Contains("akka.tcp://"));
                Assert.True(line is not null, $"no row for {name} in:\n{status.Stdout}");
                Assert.Contains(" Up ", line);
                Assert.Contains($" {zone} ", line);
                var health = status.Stdout.Split('\n').SingleOrDefault(l => l.Contains($" {name} ") && l.Contains("/metrics"));
                Assert.True(health is not null, $"no health row for {name} in:\n{status.Stdout}");
                Assert.Matches(@" ok .* ok ", health);
            }

            var down = await ProcessRunner.RunAsync(ProcessRunner.Akkakube, ["down", "--data-dir", data], TimeSpan.FromMinutes(1));
            Assert.True(down.ExitCode == 0, down.Output);
            Assert.All(state.Nodes, n => Assert.False(NodeProcesses.IsNodeAlive(n.Pid, n.Name), $"{n.Name} pid {n.Pid} still alive after down"));
            Assert.True(Directory.Exists(data), "down keeps the data directory");
            Assert.False(File.Exists(ClusterState.PathIn(data)));
        }
        finally
        {
            if (state is not null)
                foreach (var n in state.Nodes.Where(n => NodeProcesses.IsNodeAlive(n.Pid, n.Name)))
                    NodeProcesses.Signal(n.Pid, NodeProcesses.SigKill);
        }
    }
}

/// <summary>Bad input to both binaries: one line naming the problem, non-zero exit, never a stack trace.</summary>
public sealed class CliBadInputTests
{
    [Fact]
    public async Task Akkakube_rejects_an_unknown_flag_in_one_line()
    {
        var r = await ProcessRunner.RunAsync(ProcessRunner.Akkakube, ["up", "--wrokers", "3"]);
        ProcessRunner.AssertOneLineError(r, "--wrokers");
    }

    [Fact]
    public async Task Akkakube_up_rejects_an_unknown_failover_profile_in_one_line()
    {
        var r = await ProcessRunner.RunAsync(ProcessRunner.Akkakube, ["up", "--failover", "turbo"]);
        ProcessRunner.AssertOneLineError(r, "turbo");
    }

    [Fact]
    public async Task Akkakube_node_rejects_an_unknown_flag_in_one_line()
    {
        var r = await ProcessRunner.RunAsync(ProcessRunner.AkkakubeNode, ["--node-name", "n1", "--bogus"]);
        ProcessRunner.AssertOneLineError(r, "--bogus");
    }

    [Fact]
    public async Task Akkakube_up_refuses_an_api_port_in_use()
    {
        using var dir = new TempDir();
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var r = await ProcessRunner.RunAsync(ProcessRunner.Akkakube, ["up", "--data-dir", dir.Path, "--api-port", port.ToString()]);
        ProcessRunner.AssertOneLineError(r, $"127.0.0.1:{port} is already in use");
        Assert.Null(ClusterState.Load(dir.Path));
    }

    [Fact]
    public async Task Akkakube_node_refuses_a_port_in_use()
    {
        using var dir = new TempDir();
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var r = await ProcessRunner.RunAsync(ProcessRunner.AkkakubeNode,
            ["--node-name", "n1", "--port", port.ToString(), "--data-dir", dir.Path, "--cmd-port", FreePort.Next().ToString()]);
        ProcessRunner.AssertOneLineError(r, "already in use");
    }

    [Fact]
    public async Task Akkakube_node_rejects_a_bad_seed_address()
    {
        using var dir = new TempDir();
        var r = await ProcessRunner.RunAsync(ProcessRunner.AkkakubeNode, ["--node-name", "n1", "--seed", "not-an-address", "--data-dir", dir.Path]);
        ProcessRunner.AssertOneLineError(r, "--seed 'not-an-address'");
    }

    [Fact]
    public async Task Akkakube_cmd_rejects_a_bad_target_address()
    {
        var r = await ProcessRunner.RunAsync(ProcessRunner.Akkakube, ["cmd", "127.0.0.1:notaport", "cluster", "show"]);
        ProcessRunner.AssertOneLineError(r, "not a command host address");
    }

    [Fact]
    public async Task Akkakube_up_rejects_a_data_directory_that_is_a_file()
    {
        using var dir = new TempDir();
        var file = Path.Combine(dir.Path, "not-a-dir");
        await File.WriteAllTextAsync(file, "x");
        var r = await ProcessRunner.RunAsync(ProcessRunner.Akkakube, ["up", "--data-dir", file, "--api-port", FreePort.Next().ToString()]);
        ProcessRunner.AssertOneLineError(r, "is a file");
        var s = await ProcessRunner.RunAsync(ProcessRunner.Akkakube, ["status", "--data-dir", file]);
        ProcessRunner.AssertOneLineError(s, "is a file");
    }

    [Fact]
    public async Task Akkakube_node_rejects_a_data_directory_that_is_a_file()
    {
        using var dir = new TempDir();
        var file = Path.Combine(dir.Path, "not-a-dir");
        await File.WriteAllTextAsync(file, "x");
        var r = await ProcessRunner.RunAsync(ProcessRunner.AkkakubeNode, ["--node-name", "n1", "--data-dir", file, "--cmd-port", FreePort.Next().ToString()]);
        ProcessRunner.AssertOneLineError(r, "is a file");
    }

    [Fact]
    public async Task Akkakube_cmd_to_a_closed_port_is_a_one_line_error()
    {
        var r = await ProcessRunner.RunAsync(ProcessRunner.Akkakube, ["cmd", $"127.0.0.1:{FreePort.Next()}", "cluster", "show"]);
        ProcessRunner.AssertOneLineError(r, "connection refused");
    }

    [Fact]
    public async Task Akkakube_up_rejects_a_bad_zone_list()
    {
        using var dir = new TempDir();
        var r = await ProcessRunner.RunAsync(ProcessRunner.Akkakube, ["up", "--data-dir", dir.Path, "--zones", "Zone_A", "--api-port", FreePort.Next().ToString()]);
        ProcessRunner.AssertOneLineError(r, "DNS-1123");
    }

    [Fact]
    public async Task Akkakube_up_rejects_an_invalid_postgres_connection_string_in_one_line_and_starts_nothing()
    {
        using var dir = new TempDir();
        var r = await ProcessRunner.RunAsync(ProcessRunner.Akkakube, ["up", "--data-dir", dir.Path, "--api-port", FreePort.Next().ToString(), "--postgres", "Hots=127.0.0.1;Port=5432"]);
        ProcessRunner.AssertOneLineError(r, "--postgres: invalid connection string");
        Assert.Null(ClusterState.Load(dir.Path));
    }

    [Fact]
    public async Task Akkakube_up_rejects_an_unreachable_postgres_from_the_environment_in_one_line_and_starts_nothing()
    {
        using var dir = new TempDir();
        var port = FreePort.Next(); // nothing listens there
        var r = await ProcessRunner.RunAsync(ProcessRunner.Akkakube, ["up", "--data-dir", dir.Path, "--api-port", FreePort.Next().ToString()],
            env: new Dictionary<string, string> { ["AKKAKUBE_POSTGRES"] = $"Host=127.0.0.1;Port={port};Username=akkakube;Password=secret-pw;Database=akkakube" });
        ProcessRunner.AssertOneLineError(r, $"--postgres: cannot use PostgreSQL at 127.0.0.1:{port}/akkakube");
        Assert.DoesNotContain("secret-pw", r.Output);
        Assert.Null(ClusterState.Load(dir.Path));
    }

    [Fact]
    public async Task Akkakube_status_falls_back_to_the_pids_when_no_node_answers()
    {
        using var dir = new TempDir();
        new ClusterState
        {
            DataDirectory = dir.Path,
            ApiPort = 6443,
            Nodes =
            [
                new NodeState
                {
                    Name = "cp-1", Ordinal = 1, Roles = "control-plane", Zone = "zone-a", Ip = "127.1.0.1", Port = FreePort.Next(),
                    CmdPort = FreePort.Next(), PodCidr = "127.64.1.0/24", LogFile = "cp-1.log", Command = ["akkakube-node"], Pid = Environment.ProcessId,
                },
            ],
        }.Save();
        var r = await ProcessRunner.RunAsync(ProcessRunner.Akkakube, ["status", "--data-dir", dir.Path]);
        ProcessRunner.AssertOneLineError(r, "is not running");
        Assert.Contains("not running", r.Stdout);
        Assert.Contains("cp-1", r.Stdout);
    }

    [Fact]
    public async Task Akkakube_status_without_a_cluster_says_so_in_one_line()
    {
        using var dir = new TempDir();
        var r = await ProcessRunner.RunAsync(ProcessRunner.Akkakube, ["status", "--data-dir", dir.Path]);
        ProcessRunner.AssertOneLineError(r, "no cluster");
    }
}

public sealed class ClusterLayoutTests
{
    [Fact]
    public void The_default_topology_is_three_control_planes_and_three_workers_spread_over_three_zones()
    {
        var nodes = ClusterLayout.Plan(3, 3, ["zone-a", "zone-b", "zone-c"]);
        Assert.Equal(["cp-1", "cp-2", "cp-3", "worker-a1", "worker-b1", "worker-c1"], nodes.Select(n => n.Name));
        Assert.Equal(["127.1.0.1", "127.1.0.2", "127.1.0.3", "127.1.0.4", "127.1.0.5", "127.1.0.6"], nodes.Select(n => n.Ip));
        Assert.Equal(["zone-a", "zone-b", "zone-c"], nodes.Where(n => n.Worker).Select(n => n.Zone));
        Assert.All(nodes.Take(3), n => Assert.Equal("control-plane", n.Roles));
        Assert.Equal("127.64.4.0/24", nodes[3].PodCidr);
    }

    [Fact]
    public void Workers_beyond_the_zone_count_wrap_round_robin_and_number_per_zone()
    {
        var nodes = ClusterLayout.Plan(1, 5, ["zone-a", "east"]);
        Assert.Equal(["cp-1", "worker-a1", "worker-east1", "worker-a2", "worker-east2", "worker-a3"], nodes.Select(n => n.Name));
    }

    [Fact]
    public void An_address_block_moves_node_ips_and_pod_cidrs_into_its_own_share_of_the_loopback_ranges()
    {
        var nodes = ClusterLayout.Plan(1, 2, ["zone-a", "zone-b"], addressBlock: 5);
        Assert.Equal(["127.1.5.1", "127.1.5.2", "127.1.5.3"], nodes.Select(n => n.Ip));
        Assert.Equal(["127.69.1.0/24", "127.69.2.0/24", "127.69.3.0/24"], nodes.Select(n => n.PodCidr));
        Assert.Equal("127.128.20.0/22", Actors.Cluster.AddressBlocks.ServiceCidr(5));
        Assert.Equal("127.200.20.0/22", Actors.Cluster.AddressBlocks.LoadBalancerCidr(5));
        Assert.Equal("--address-block must be between 0 and 63", Assert.Throws<CliException>(() => ClusterLayout.Plan(1, 1, ["zone-a"], addressBlock: 64)).Message);
    }

    [Fact]
    public void No_two_address_blocks_share_a_service_or_load_balancer_address_and_all_stay_inside_the_design_ranges()
    {
        // the host range of a CIDR, by the apiserver's own CIDR arithmetic
        static (uint First, uint Last) Range(string cidr)
        {
            var hosts = new Actors.Services.ServiceNetworkSettings(cidr, "30000-32767", TimeSpan.FromSeconds(1));
            return (hosts.FirstIp, hosts.LastIp);
        }
        foreach (var (ranges, design) in new[]
        {
            (Enumerable.Range(0, 64).Select(Actors.Cluster.AddressBlocks.ServiceCidr).Select(Range).ToList(), Range("127.128.0.0/16")),
            (Enumerable.Range(0, 64).Select(Actors.Cluster.AddressBlocks.LoadBalancerCidr).Select(Range).ToList(), Range("127.200.0.0/16")),
        })
        {
            Assert.All(ranges, r => Assert.True(r.First >= design.First && r.Last <= design.Last));
            var sorted = ranges.OrderBy(r => r.First).ToList();
            for (var i = 1; i < sorted.Count; i++) Assert.True(sorted[i].First > sorted[i - 1].Last);
        }
    }
}
