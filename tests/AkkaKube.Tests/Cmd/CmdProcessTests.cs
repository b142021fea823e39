using AkkaKube.Actors.Cmd;
using AkkaKube.Cli;
using AkkaKube.Tests.Infrastructure;

namespace AkkaKube.Tests.Cmd;

/// <summary>The command host in real node processes (2 control-plane + 2 workers), driven by the real `akkakube cmd`.</summary>
public sealed class CmdProcessTests(CmdProcessTests.Cluster cluster) : IClassFixture<CmdProcessTests.Cluster>
{
    /// <summary>Two control-plane nodes, so "singletons run on exactly one control-plane node" means something.</summary>
    public sealed class Cluster : LocalCluster
    {
        public override int ControlPlanes => 2;
    }

    private IEnumerable<NodeState> Workers => cluster.State.Nodes.Where(n => n.Name.StartsWith("worker-", StringComparison.Ordinal));

    // `akkakube cmd` reads the command host token from the cluster's data directory, as a user's does
    private Task<ProcessResult> Cmd(NodeState node, params string[] args) =>
        ProcessRunner.RunAsync(ProcessRunner.Akkakube, ["cmd", $"127.0.0.1:{node.CmdPort}", "--data-dir", cluster.DataDirectory, .. args]);

    [Fact]
    public async Task Cluster_show_on_any_node_lists_every_member()
    {
        foreach (var n in cluster.State.Nodes)
        {
            var r = await Cmd(n, "cluster", "show");
            Assert.True(r.ExitCode == 0, r.Output);
            foreach (var m in cluster.State.Nodes)
                Assert.Contains(m.Address, r.Stdout);
            Assert.Contains($"Count: {cluster.State.Nodes.Count} nodes", r.Stdout);
        }
    }

    [Fact]
    public async Task Cmd_resolves_node_names_and_prints_json_lines()
    {
        var r = await ProcessRunner.RunAsync(ProcessRunner.Akkakube, ["cmd", "worker-a1", "cluster", "show", "--json", "--data-dir", cluster.DataDirectory]);
        Assert.True(r.ExitCode == 0, r.Output);
        var replies = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(CmdWire.ParseReply).ToList();
        Assert.Equal(CmdReply.Kinds.Done, replies[^1].Type);
        Assert.Equal(cluster.State.Nodes.Count, replies.Single(x => x.Type == CmdReply.Kinds.Table).Rows!.Count);
    }

    [Fact]
    public async Task Actor_hierarchy_of_a_worker_shows_the_node_info_actor_and_the_kubelet()
    {
        foreach (var worker in Workers)
        {
            var r = await Cmd(worker, "actor", "hierarchy", "-d", "3");
            Assert.True(r.ExitCode == 0, r.Output);
            Assert.Contains("node-info", r.Stdout);
            Assert.Contains("── kubelet", r.Stdout);
        }
        var cp = await Cmd(cluster.Node("cp-1"), "actor", "hierarchy", "-d", "1");
        Assert.DoesNotContain("── kubelet", cp.Stdout);
    }

    [Fact]
    public async Task Singletons_run_on_exactly_one_control_plane_node_and_every_node_agrees_where()
    {
        string? host = null;
        await CmdHandlerTests.AwaitAssert(async () =>
        {
            var hosting = new List<string>();
            foreach (var n in cluster.State.Nodes)
            {
                var r = await Cmd(n, "actor", "hierarchy", "-s", "/user", "-d", "2");
                Assert.True(r.ExitCode == 0, r.Output);
                // The singleton managers run on every control-plane node; the instance (/user/scheduler/scheduler,
                // /user/controller-manager/controller-manager) only where the singleton is hosted.
                var scheduler = System.Text.RegularExpressions.Regex.IsMatch(r.Stdout, @"(?m)^(│   |    )[├└]── scheduler$");
                var manager = System.Text.RegularExpressions.Regex.IsMatch(r.Stdout, @"(?m)^(│   |    )[├└]── controller-manager$");
                Assert.Equal(scheduler, manager);
                if (scheduler) hosting.Add(n.Name);
            }
            host = Assert.Single(hosting);
            Assert.StartsWith("cp-", host);
        }, seconds: 60);
        foreach (var n in cluster.State.Nodes)
        {
            var r = await Cmd(n, "cluster", "singletons", "--json");
            Assert.True(r.ExitCode == 0, r.Output);
            var replies = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(CmdWire.ParseReply).ToList();
            var rows = replies.Single(x => x.Type == CmdReply.Kinds.Table).Rows!;
            Assert.Contains(rows, row => row[0] == "scheduler" && row[1] == cluster.Node(host!).Address && row[2] == "/user/scheduler/scheduler");
            Assert.Contains(rows, row => row[0] == "controller-manager" && row[1] == cluster.Node(host!).Address);
            Assert.Contains(replies, x => x.Text == $"oldest control-plane member (singleton host): {cluster.Node(host!).Address}");
        }
    }

    [Fact]
    public async Task Kube_nodes_from_a_worker_lists_every_worker_grouped_by_zone_in_text_and_json()
    {
        var worker = cluster.Node("worker-b1");
        await CmdHandlerTests.AwaitAssert(async () =>
        {
            var r = await Cmd(worker, "kube", "nodes");
            Assert.True(r.ExitCode == 0, r.Output);
            foreach (var w in Workers) Assert.Contains(w.Name, r.Stdout);
            Assert.Contains("zone-a: 1 nodes", r.Stdout);
            Assert.Contains("zone-b: 1 nodes", r.Stdout);
        }, seconds: 60);
        var json = await Cmd(worker, "kube", "nodes", "--json");
        Assert.True(json.ExitCode == 0, json.Output);
        var replies = json.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(CmdWire.ParseReply).ToList();
        Assert.Equal(CmdReply.Kinds.Done, replies[^1].Type);
        var table = replies.Single(x => x.Type == CmdReply.Kinds.Table);
        Assert.Equal(Workers.Select(w => w.Name).Order(), table.Rows!.Select(r => r[1]).Order());
        Assert.Equal(["zone-a", "zone-b"], table.Rows!.Select(r => r[0]));
    }

    [Fact]
    public async Task Kube_store_from_a_worker_shows_the_partitions_hosted_by_the_control_plane()
    {
        var controlPlane = cluster.State.Nodes.Where(n => n.Name.StartsWith("cp-", StringComparison.Ordinal)).Select(n => n.Address).ToList();
        await CmdHandlerTests.AwaitAssert(async () =>
        {
            var r = await Cmd(cluster.Node("worker-a1"), "kube", "store", "--json");
            Assert.True(r.ExitCode == 0, r.Output);
            var replies = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(CmdWire.ParseReply).ToList();
            Assert.Contains(replies, x => x.Text == "Count: " + replies.Single(t => t.Type == CmdReply.Kinds.Table).Rows!.Count + " partitions on 2 control-plane members");
            var rows = replies.Single(x => x.Type == CmdReply.Kinds.Table).Rows!;
            foreach (var partition in new[] { "nodes", "leases.coordination.k8s.io", "namespaces" })
            {
                var row = Assert.Single(rows, x => x[0] == partition);
                Assert.Contains(row[1], controlPlane);
                Assert.True(long.Parse(row[3]) > 0, $"{partition} has a revision");
            }
        }, seconds: 60);
        var text = await Cmd(cluster.Node("worker-a1"), "kube", "store");
        Assert.True(text.ExitCode == 0, text.Output);
        Assert.Contains("partitions on 2 control-plane members", text.Stdout);
    }

    [Fact]
    public async Task Kube_scheduler_and_controllers_answer_from_a_worker_through_the_singleton_proxies()
    {
        var worker = cluster.Node("worker-a1");
        var s = await Cmd(worker, "kube", "scheduler");
        Assert.True(s.ExitCode == 0, s.Output);
        Assert.Contains("unschedulable", s.Stdout);
        await CmdHandlerTests.AwaitAssert(async () =>
        {
            var c = await Cmd(worker, "kube", "controllers");
            Assert.True(c.ExitCode == 0, c.Output);
            Assert.Contains("replicaset", c.Stdout);
            Assert.Contains("running", c.Stdout);
        }, seconds: 60);
    }

    [Fact]
    public async Task Bad_kube_input_is_a_one_line_error_with_the_closest_names()
    {
        ProcessRunner.AssertOneLineError(await Cmd(cluster.Node("cp-1"), "kube", "nodez"), "did you mean 'nodes'");
        ProcessRunner.AssertOneLineError(await Cmd(cluster.Node("cp-1"), "kube", "pods", "--zone", "zone-q"), "did you mean");
    }

    [Fact]
    public async Task A_closed_port_is_a_one_line_error()
    {
        var r = await ProcessRunner.RunAsync(ProcessRunner.Akkakube, ["cmd", $"127.0.0.1:{FreePort.Next()}", "cluster", "show"]);
        ProcessRunner.AssertOneLineError(r, "connection refused");
    }

    [Fact]
    public async Task Without_the_token_the_command_host_refuses_even_on_loopback()
    {
        var cp = cluster.Node("cp-1");
        using var elsewhere = new TempDir(); // a data directory without the cluster's token
        var none = await ProcessRunner.RunAsync(ProcessRunner.Akkakube, ["cmd", $"127.0.0.1:{cp.CmdPort}", "--data-dir", elsewhere.Path, "cluster", "down", "worker-a1"]);
        ProcessRunner.AssertOneLineError(none, "needs a token");
        var guessed = await ProcessRunner.RunAsync(ProcessRunner.Akkakube, ["cmd", $"127.0.0.1:{cp.CmdPort}", "--data-dir", elsewhere.Path, "--token", "guessed", "cluster", "show"]);
        ProcessRunner.AssertOneLineError(guessed, "token refused");
        Assert.Equal<UnixFileMode?>(Actors.Security.PrivateFiles.FileMode, Actors.Security.PrivateFiles.ModeOf(CmdTokenFile.PathIn(cluster.DataDirectory)));
        var show = await Cmd(cp, "cluster", "show");
        Assert.True(show.ExitCode == 0, show.Output);
        Assert.Contains(cluster.Node("worker-a1").Address, show.Stdout); // still a member: the refused `cluster down` did nothing
    }

    [Fact]
    public async Task Unknown_palette_is_a_one_line_error_with_the_closest_names()
    {
        var r = await Cmd(cluster.Node("cp-1"), "actr", "system");
        ProcessRunner.AssertOneLineError(r, "did you mean 'actor'");
    }

    [Fact]
    public async Task The_interactive_prompt_runs_commands_from_stdin_until_exit()
    {
        var psi = new System.Diagnostics.ProcessStartInfo(ProcessRunner.Akkakube)
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var a in new[] { "cmd", $"127.0.0.1:{cluster.Node("cp-1").CmdPort}", "--data-dir", cluster.DataDirectory }) psi.ArgumentList.Add(a);
        using var p = System.Diagnostics.Process.Start(psi)!;
        try
        {
            await p.StandardInput.WriteLineAsync("help");
            await p.StandardInput.WriteLineAsync("cluster leader");
            await p.StandardInput.WriteLineAsync("exit");
            p.StandardInput.Close();
            var stdout = p.StandardOutput.ReadToEndAsync();
            await p.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token);
            Assert.Equal(0, p.ExitCode);
            var text = await stdout;
            Assert.Contains("hierarchy", text);
            Assert.Contains("(cluster)", text);
        }
        finally
        {
            if (!p.HasExited) p.Kill();
        }
    }
}

/// <summary>A worker leaving: `cluster leave` removes it and a running `cluster tail` streams the leave.</summary>
public sealed class CmdLeaveTests(CmdLeaveTests.Cluster cluster) : IClassFixture<CmdLeaveTests.Cluster>
{
    public sealed class Cluster : LocalCluster
    {
        public override int Workers => 1;
    }

    [Fact]
    public async Task Cluster_leave_of_a_worker_removes_it_and_cluster_tail_streams_the_leave()
    {
        var worker = cluster.Node("worker-a1");
        await using var tail = await CmdClient.ConnectAsync("127.0.0.1", cluster.Node("cp-1").CmdPort, TimeSpan.FromSeconds(5), token: cluster.CmdToken);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var lines = new List<string>();
        var tailTask = Task.Run(async () =>
        {
            await foreach (var r in tail.SendAsync(new CmdRequest("cluster", "tail"), cts.Token))
            {
                lock (lines) lines.Add(r.Text ?? r.Type);
                if (r.Text is { } t && t.Contains("MemberRemoved") && t.Contains(worker.Address)) return;
            }
        });
        await CmdHandlerTests.AwaitAssert(() =>
        {
            lock (lines) Assert.Contains(lines, l => l.Contains("watching"));
            return Task.CompletedTask;
        });

        var leave = await cluster.CmdAsync("cp-1", "cluster", "leave", $"{worker.Ip}:{worker.Port}");
        Assert.Contains(leave, r => r.Text == $"leaving: {worker.Address}");

        await tailTask.WaitAsync(TimeSpan.FromSeconds(60));
        lock (lines)
        {
            Assert.Contains(lines, l => l.Contains("MemberLeft") && l.Contains(worker.Address));
            Assert.Contains(lines, l => l.Contains("MemberRemoved") && l.Contains(worker.Address));
        }
        await CmdHandlerTests.AwaitAssert(async () =>
        {
            var show = await cluster.CmdAsync("cp-1", "cluster", "show");
            Assert.DoesNotContain(show.Single(r => r.Type == CmdReply.Kinds.Table).Rows!, row => row[0] == worker.Address);
        });
    }
}
