using Akka.Actor;
using Akka.Event;
using AkkaKube.Actors.Cmd;
using AkkaKube.Cli;
using AkkaKube.Tests.Infrastructure;

namespace AkkaKube.Tests.Cmd;

/// <summary>Each palette through a real node's command host (in-process node, real TCP, the CLI's client).</summary>
public sealed class CmdHandlerTests(InProcessNode node) : IClassFixture<InProcessNode>
{
    private Task<IReadOnlyList<CmdReply>> Run(string palette, string? command = null, params string[] args) =>
        CmdClient.RunAsync("127.0.0.1", node.Options.CmdPort, new CmdRequest(palette, command, args), TimeSpan.FromSeconds(30), token: node.CmdToken);

    private static string Texts(IEnumerable<CmdReply> replies) =>
        string.Join("\n", replies.Where(r => r.Type == CmdReply.Kinds.Text).Select(r => r.Text));

    [Fact]
    public async Task Cluster_show_lists_this_node_up_with_roles_zone_and_a_count()
    {
        var replies = await Run("cluster", "show");
        var table = replies.Single(r => r.Type == CmdReply.Kinds.Table);
        Assert.Equal(["address", "roles", "zone", "status", "reachability", "app-version"], table.Columns);
        var row = Assert.Single(table.Rows!);
        Assert.Equal("control-plane,worker", row[1]);
        Assert.Equal("zone-a", row[2]);
        Assert.Equal("Up", row[3]);
        Assert.Equal("reachable", row[4]);
        Assert.Contains("Count: 1 nodes", Texts(replies));
    }

    [Fact]
    public async Task Cluster_leader_and_singletons_name_this_node()
    {
        var self = Akka.Cluster.Cluster.Get(node.System).SelfAddress.ToString();
        var leader = (await Run("cluster", "leader")).Single(r => r.Type == CmdReply.Kinds.Table);
        Assert.Contains(leader.Rows!, r => r[0] == "(cluster)" && r[1] == self);
        Assert.Contains($"singleton host): {self}", Texts(await Run("cluster", "singletons")));
    }

    [Fact]
    public async Task Cluster_shards_answers_whether_or_not_a_region_runs()
    {
        var replies = await Run("cluster", "shards");
        Assert.Equal(CmdReply.Kinds.Done, replies[^1].Type);
        Assert.True(replies.Any(r => r.Type == CmdReply.Kinds.Table) || Texts(replies).Contains("no shard region"));
    }

    [Fact]
    public async Task Cluster_down_of_an_unknown_address_is_an_error_naming_the_members()
    {
        var e = await Assert.ThrowsAsync<CliException>(() => Run("cluster", "down", "127.9.9.9:1"));
        Assert.Contains("no member at '127.9.9.9:1'", e.Message);
        Assert.Contains("known:", e.Message);
    }

    [Fact]
    public async Task Cluster_tail_streams_until_the_client_disconnects()
    {
        await using var client = await CmdClient.ConnectAsync("127.0.0.1", node.Options.CmdPort, TimeSpan.FromSeconds(5), token: node.CmdToken);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using var replies = client.SendAsync(new CmdRequest("cluster", "tail"), cts.Token).GetAsyncEnumerator(cts.Token);
        Assert.True(await replies.MoveNextAsync());
        Assert.Contains("watching 1 members", replies.Current.Text);
        // Leaving the connection ends the command on the node; the host keeps serving others.
        await client.DisposeAsync();
        await AwaitAssert(async () => Assert.Contains("Count: 1 nodes", Texts(await Run("cluster", "show"))));
    }

    [Fact]
    public async Task Actor_hierarchy_shows_the_node_info_actor_and_honours_depth_and_path()
    {
        var tree = Texts(await Run("actor", "hierarchy"));
        Assert.StartsWith("/user", tree);
        Assert.Contains("node-info", tree);
        Assert.Contains("cmd", tree);
        var shallow = Texts(await Run("actor", "hierarchy", "-d", "0"));
        Assert.DoesNotContain("node-info", shallow);
        var sub = Texts(await Run("actor", "hierarchy", "-s", "/user/cmd"));
        Assert.StartsWith("/user/cmd", sub);
        Assert.Contains("listener", sub);
        var e = await Assert.ThrowsAsync<CliException>(() => Run("actor", "hierarchy", "-s", "/user/nodeinfo"));
        Assert.Contains("no actor at '/user/nodeinfo'", e.Message);
        Assert.Contains("/user/node-info", e.Message);
    }

    [Fact]
    public async Task Actor_system_reports_name_address_and_pid()
    {
        var table = (await Run("actor", "system")).Single(r => r.Type == CmdReply.Kinds.Table);
        Assert.Contains(table.Rows!, r => r[0] == "system" && r[1] == "akkakube");
        Assert.Contains(table.Rows!, r => r[0] == "pid" && r[1] == Environment.ProcessId.ToString());
    }

    [Fact]
    public async Task Actor_restarts_counts_supervised_failures_per_actor_most_first()
    {
        var crasher = node.System.ActorOf(Props.Create(() => new Crasher()), "crasher-" + Guid.NewGuid().ToString("N")[..6]);
        crasher.Tell("boom");
        crasher.Tell("boom");
        await AwaitAssert(async () =>
        {
            var table = (await Run("actor", "restarts")).Single(r => r.Type == CmdReply.Kinds.Table);
            var row = table.Rows!.Single(r => r[0] == crasher.Path.ToStringWithoutAddress());
            Assert.Equal("2", row[1]);
            Assert.Contains("InvalidOperationException: boom", row[3]);
        });
        node.System.Stop(crasher);
    }

    [Fact]
    public async Task Log_recent_filters_by_level_and_count()
    {
        var marker = "marker-" + Guid.NewGuid().ToString("N");
        node.System.Log.Warning("test warning {0}", marker);
        await AwaitAssert(async () => Assert.Contains(marker, Texts(await Run("log", "recent", "--level", "warning", "-n", "20"))));
        var one = (await Run("log", "recent", "-n", "1")).Count(r => r.Type == CmdReply.Kinds.Text);
        Assert.Equal(1, one);
        var e = await Assert.ThrowsAsync<CliException>(() => Run("log", "recent", "--level", "loud"));
        Assert.Contains("not a level", e.Message);
    }

    [Fact]
    public async Task Log_tail_streams_new_events()
    {
        await using var client = await CmdClient.ConnectAsync("127.0.0.1", node.Options.CmdPort, TimeSpan.FromSeconds(5), token: node.CmdToken);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var marker = "tail-" + Guid.NewGuid().ToString("N");
        var seen = Task.Run(async () =>
        {
            await foreach (var r in client.SendAsync(new CmdRequest("log", "tail", ["--level", "info"]), cts.Token))
                if (r.Text?.Contains(marker) == true) return true;
            return false;
        });
        // Log until the tail (subscribed asynchronously) has seen one.
        while (!seen.IsCompleted && !cts.IsCancellationRequested)
        {
            node.System.Log.Info("log line {0}", marker);
            await Task.WhenAny(seen, Task.Delay(200));
        }
        Assert.True(await seen);
    }

    [Fact]
    public async Task Unknown_palette_command_and_argument_name_the_closest_names()
    {
        var p = await Assert.ThrowsAsync<CliException>(() => Run("clustr", "show"));
        Assert.Contains("did you mean 'cluster'", p.Message);
        var c = await Assert.ThrowsAsync<CliException>(() => Run("cluster", "shwo"));
        Assert.Contains("did you mean 'show'", c.Message);
        var a = await Assert.ThrowsAsync<CliException>(() => Run("actor", "hierarchy", "--dpth", "2"));
        Assert.Contains("did you mean '--depth'", a.Message);
        var m = await Assert.ThrowsAsync<CliException>(() => Run("cluster", "join"));
        Assert.Contains("needs <address>", m.Message);
    }

    [Fact]
    public async Task Help_lists_every_palette_and_a_json_payload_for_completion()
    {
        var table = (await Run("help")).Single(r => r.Type == CmdReply.Kinds.Table);
        Assert.Contains(table.Rows!, r => r[0] == "cluster" && r[1] == "show");
        Assert.Contains(table.Rows!, r => r[0] == "log" && r[1] == "tail");
        var json = (await Run("help", null, "--json")).Single(r => r.Type == CmdReply.Kinds.Json);
        Assert.Contains("hierarchy", json.Json!["palettes"]!["actor"]!.ToJsonString());
    }

    [Fact]
    public async Task A_malformed_request_line_gets_an_error_reply_and_the_connection_stays_usable()
    {
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync("127.0.0.1", node.Options.CmdPort);
        var stream = tcp.GetStream();
        var writer = new StreamWriter(stream) { AutoFlush = true, NewLine = "\n" };
        var reader = new StreamReader(stream);
        await writer.WriteLineAsync("{not json");
        var error = CmdWire.ParseReply((await reader.ReadLineAsync())!);
        Assert.Equal(CmdReply.Kinds.Error, error.Type);
        Assert.Contains("not valid JSON", error.Message);
        await writer.WriteLineAsync(CmdWire.Serialize(new CmdRequest("cluster", "leader", Token: node.CmdToken)));
        Assert.Equal(CmdReply.Kinds.Table, CmdWire.ParseReply((await reader.ReadLineAsync())!).Type);
        Assert.Equal(CmdReply.Kinds.Done, CmdWire.ParseReply((await reader.ReadLineAsync())!).Type);
    }

    [Fact]
    public async Task A_palette_registered_by_another_component_is_served()
    {
        CmdPaletteRegistry.Get(node.System).Register(new EchoPalette());
        var replies = await Run("echo", "say", "hello");
        Assert.Equal("hello", replies.Single(r => r.Type == CmdReply.Kinds.Text).Text);
    }

    private sealed class EchoPalette : ICmdPalette
    {
        public string Name => "echo";
        public string Description => "test palette";
        public IReadOnlyList<CmdCommand> Commands =>
        [
            new("say", "echo a word", [CmdArg.Positional("word", "the word")], call =>
            {
                call.Output.Text(call.Args.Get("word")!);
                return Task.CompletedTask;
            }),
        ];
    }

    private sealed class Crasher : ReceiveActor
    {
        public Crasher() => Receive<string>(s => throw new InvalidOperationException(s));
    }

    internal static async Task AwaitAssert(Func<Task> assertion, int seconds = 20)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            try
            {
                await assertion();
                return;
            }
            catch (Exception) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(200);
            }
        }
    }
}

public sealed class CmdArgsTests
{
    private static readonly CmdCommand Hierarchy = new("hierarchy", "", [CmdArg.Option("depth", "", "-d"), CmdArg.Option("path", "", "-s"), CmdArg.Switch("all", "")], _ => Task.CompletedTask);

    [Theory]
    [InlineData("-d 3", "depth", "3")]
    [InlineData("--depth=5", "depth", "5")]
    [InlineData("-s /user/x", "path", "/user/x")]
    [InlineData("--all", "all", "true")]
    public void Flags_parse_in_short_long_and_equals_forms(string tokens, string name, string value)
    {
        var args = CmdArgs.Parse("actor", Hierarchy, tokens.Split(' '));
        Assert.Equal(value, args.Get(name));
    }

    [Fact]
    public void A_flag_without_its_value_is_an_error_showing_usage()
    {
        var e = Assert.Throws<CmdException>(() => CmdArgs.Parse("actor", Hierarchy, ["-d"]));
        Assert.Contains("needs a value", e.Message);
        Assert.Contains("usage: actor hierarchy", e.Message);
    }

    [Fact]
    public void A_non_numeric_depth_is_an_error_naming_the_flag()
    {
        var args = CmdArgs.Parse("actor", Hierarchy, ["-d", "deep"]);
        Assert.Contains("--depth 'deep'", Assert.Throws<CmdException>(() => args.GetInt("depth", 4, 0, 64)).Message);
    }

    [Fact]
    public void Closest_names_prefer_prefixes_then_small_edit_distances()
    {
        Assert.Equal(["cluster"], Closest.Names("clus", ["cluster", "actor", "log"]));
        Assert.Equal(["log"], Closest.Names("lgo", ["cluster", "actor", "log"]));
        Assert.Empty(Closest.Names("zzzzzzzz", ["cluster", "actor", "log"]));
    }

    [Fact]
    public void Interactive_completion_offers_palettes_then_commands()
    {
        var palettes = new Dictionary<string, List<string>> { ["cluster"] = ["show", "shards", "leave"], ["actor"] = ["system"] };
        Assert.Equal(["cluster"], InteractivePrompt.Complete("cl", palettes));
        Assert.Equal(["shards", "show"], InteractivePrompt.Complete("cluster sh", palettes));
        Assert.Equal(["leave", "shards", "show"], InteractivePrompt.Complete("cluster ", palettes));
        Assert.Equal(["a b", "c"], InteractivePrompt.Split("\"a b\" c"));
    }

    [Fact]
    public void Log_levels_parse_and_unknown_ones_name_the_closest()
    {
        Assert.Equal(LogLevel.WarningLevel, AkkaKube.Actors.Cmd.Palettes.LogPalette.ParseLevel("warning"));
        Assert.Contains("'warning'", Assert.Throws<CmdException>(() => AkkaKube.Actors.Cmd.Palettes.LogPalette.ParseLevel("warnig")).Message);
    }
}
