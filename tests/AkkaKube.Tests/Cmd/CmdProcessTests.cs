using AkkaKube.Actors.Cmd;
using AkkaKube.Cli;
using AkkaKube.Tests.Infrastructure;

namespace AkkaKube.Tests.Cmd;

/// <summary>The command host in real node processes (1 control-plane + 2 workers), driven by the real `akkakube cmd`.</summary>
public sealed class CmdProcessTests(LocalCluster cluster) : IClassFixture<LocalCluster>
{
    [Fact]
    public async Task Cluster_show_on_any_node_lists_every_member()
    {
        foreach (var n in cluster.State.Nodes)
        {
            var r = await ProcessRunner.RunAsync(ProcessRunner.Akkakube, ["cmd", $"127.0.0.1:{n.CmdPort}", "cluster", "show"]);
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
        Assert.Equal(3, replies.Single(x => x.Type == CmdReply.Kinds.Table).Rows!.Count);
    }

    [Fact]
    public async Task Actor_hierarchy_of_a_worker_shows_the_node_info_actor()
    {
        var r = await ProcessRunner.RunAsync(ProcessRunner.Akkakube, ["cmd", $"127.0.0.1:{cluster.Node("worker-a1").CmdPort}", "actor", "hierarchy", "-d", "3"]);
        Assert.True(r.ExitCode == 0, r.Output);
        Assert.Contains("node-info", r.Stdout);
    }

    [Fact]
    public async Task Unknown_palette_is_a_one_line_error_with_the_closest_names()
    {
        var r = await ProcessRunner.RunAsync(ProcessRunner.Akkakube, ["cmd", $"127.0.0.1:{cluster.Node("cp-1").CmdPort}", "actr", "system"]);
        ProcessRunner.AssertOneLineError(r, "did you mean 'actor'");
    }

    [Fact]
    public async Task The_interactive_prompt_runs_commands_from_stdin_until_exit()
    {
        var psi = new System.Diagnostics.ProcessStartInfo(ProcessRunner.Akkakube)
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var a in new[] { "cmd", $"127.0.0.1:{cluster.Node("cp-1").CmdPort}" }) psi.ArgumentList.Add(a);
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
        await using var tail = await CmdClient.ConnectAsync("127.0.0.1", cluster.Node("cp-1").CmdPort, TimeSpan.FromSeconds(5));
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
