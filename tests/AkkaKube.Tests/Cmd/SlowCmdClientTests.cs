using System.Net;
using System.Net.Sockets;
using System.Text;
using AkkaKube.Actors.Cmd;
using AkkaKube.Cli;
using AkkaKube.Tests.Infrastructure;

namespace AkkaKube.Tests.Cmd;

/// <summary>A node whose command host keeps at most 64 KiB of replies for a client, and gives a cut-off client 30 s to take its error line.</summary>
public sealed class SlowCmdNode() : ApiOnlyNode("akkakube.cmd.max-output-buffer-bytes = 65536\nakkakube.cmd.output-cutoff-grace = 30s\n");

/// <summary>
/// A command-host client that does not read its replies is cut off once they pass the output buffer: the command is
/// stopped, the client finds one final "error" line naming the bound, the connection closes, and the host serves others.
/// </summary>
public sealed class SlowCmdClientTests(SlowCmdNode node) : IClassFixture<SlowCmdNode>
{
    [Fact]
    public async Task A_client_that_does_not_read_a_streaming_command_is_cut_off_with_an_error_line()
    {
        var flood = new FloodPalette();
        CmdPaletteRegistry.Get(node.System).Register(flood);

        using var tcp = new TcpClient { ReceiveBufferSize = 4096 };
        await tcp.ConnectAsync(IPAddress.Loopback, node.Options.CmdPort);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.UTF8.GetBytes(CmdWire.Serialize(new CmdRequest("flood", "lines", Token: node.CmdToken)) + "\n"));

        // The command stops although the client is still connected: only the output bound can have stopped it.
        var stopped = await flood.Stopped.Task.WaitAsync(TimeSpan.FromSeconds(90));

        // Reading now: the lines that were on their way, then the error line, then the end of the connection.
        using var reader = new StreamReader(stream, Encoding.UTF8);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var replies = new List<CmdReply>();
        while (await reader.ReadLineAsync(cts.Token) is { } line) replies.Add(CmdWire.ParseReply(line));
        Assert.True(replies.Count > 1);
        Assert.All(replies.Take(replies.Count - 1), r => Assert.Equal(CmdReply.Kinds.Text, r.Type));
        Assert.True(replies.Count - 1 < stopped, "every line produced was kept for the client");
        var last = replies[^1];
        Assert.Equal(CmdReply.Kinds.Error, last.Type);
        Assert.Contains("output cut off", last.Message);
        Assert.Contains("65536 bytes", last.Message);

        // The host serves the next client.
        var show = await CmdClient.RunAsync("127.0.0.1", node.Options.CmdPort, new CmdRequest("cluster", "show"), TimeSpan.FromSeconds(30), token: node.CmdToken);
        Assert.Equal(CmdReply.Kinds.Done, show[^1].Type);
    }

    /// <summary>`flood lines`: a 4 KiB line about every millisecond (as a busy `log tail` streams), until the command is cancelled.</summary>
    private sealed class FloodPalette : ICmdPalette
    {
        public TaskCompletionSource<int> Stopped { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public string Name => "flood";
        public string Description => "test palette: unbounded output";
        public IReadOnlyList<CmdCommand> Commands =>
        [
            new("lines", "4 KiB lines until cancelled", [], async call =>
            {
                var line = new string('x', 4096);
                var n = 0;
                try
                {
                    while (!call.Cancelled.IsCancellationRequested)
                    {
                        call.Output.Text(line);
                        n++;
                        await Task.Delay(1, call.Cancelled);
                    }
                }
                catch (OperationCanceledException) { }
                Stopped.TrySetResult(n);
            }),
        ];
    }
}

public sealed class OutputBudgetTests
{
    [Fact]
    public void Replies_fit_until_the_bound_then_the_connection_is_cut_off_and_one_reply_alone_always_fits()
    {
        var budget = new CmdConnectionActor.OutputBudget(maxBytes: 100);
        Assert.True(budget.TryAdd(60));
        Assert.True(budget.TryAdd(40));
        Assert.False(budget.TryAdd(1));
        Assert.True(budget.IsCutOff);
        Assert.False(budget.TryAdd(1));

        var big = new CmdConnectionActor.OutputBudget(maxBytes: 100);
        Assert.True(big.TryAdd(5000)); // a table larger than the bound still goes out when nothing else waits
        big.Taken(5000);
        Assert.True(big.TryAdd(100));
        Assert.False(big.IsCutOff);
    }
}
