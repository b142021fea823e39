using System.CommandLine;
using System.Text.Json;
using AkkaKube.Actors.Cmd;
using Spectre.Console;

namespace AkkaKube.Cli;

/// <summary>
/// `akkakube cmd &lt;host:port|node-name&gt; [palette command args…] [--json] [--token T]`: one command, or an
/// interactive prompt (help, history, tab completion) when no command is given. Arguments after the target are
/// passed to the node untouched (except --json, --token and --data-dir), so palette flags need no escaping.
/// </summary>
public static class CmdCli
{
    public static Command Describe()
    {
        var cmd = new Command("cmd", "Run a command on a node's command host, or open an interactive prompt (help, history, tab completion)");
        cmd.Arguments.Add(new Argument<string>("target") { Description = "host:port of a command host, or a node name of the local cluster (cp-1)" });
        cmd.Arguments.Add(new Argument<string[]>("command") { Description = "palette command [args…], e.g. cluster show; none → interactive prompt", Arity = ArgumentArity.ZeroOrMore });
        cmd.Options.Add(new Option<bool>("--json") { Description = "print the replies as JSON lines (for scripts)" });
        cmd.Options.Add(new Option<string>("--token") { Description = "the command host's token (default: DATA/cmd-token of --data-dir, written by `up`). Env: AKKAKUBE_CMD_TOKEN" });
        cmd.Options.Add(new Option<string>("--data-dir") { Description = "data directory used to resolve node names (default .akkakube)" });
        return cmd;
    }

    public static async Task<int> RunAsync(string[] args)
    {
        var json = false;
        string? token = Environment.GetEnvironmentVariable("AKKAKUBE_CMD_TOKEN");
        var dataDir = Environment.GetEnvironmentVariable("AKKAKUBE_DATA_DIR") ?? ".akkakube";
        string? target = null;
        var words = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            var a = args[i];
            if (a == "--json") json = true;
            else if (a == "--token" || a == "--data-dir")
            {
                if (i + 1 >= args.Length) throw new CliException($"{a} needs a value", 2);
                if (a == "--token") token = args[++i]; else dataDir = args[++i];
            }
            else if (target is null)
            {
                if (a.StartsWith('-')) throw new CliException($"unknown option '{a}' for cmd (usage: akkakube cmd <host:port> [palette command args…] [--json] [--token T])", 2);
                target = a;
            }
            else words.Add(a);
        }
        if (target is null) throw new CliException("cmd needs a target: akkakube cmd <host:port> [palette command args…]", 2);
        var (host, port) = ResolveTarget(target, dataDir);
        // the local cluster's token unless one was given: reading it needs the data directory's owner
        token ??= CmdTokenFile.TryRead(Path.GetFullPath(dataDir));

        if (words.Count == 0)
            return await InteractivePrompt.RunAsync(host, port, token);

        var request = new CmdRequest(words[0], words.Count > 1 ? words[1] : null, words.Skip(2).ToList(), token);
        using var cts = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cts.Cancel();
        };
        return await RunOneAsync(host, port, request, json, cts.Token);
    }

    internal static (string Host, int Port) ResolveTarget(string target, string dataDir)
    {
        if (target.Contains(':') || target.All(char.IsAsciiDigit)) return CmdClient.ParseEndpoint(target);
        var state = ClusterState.Load(Path.GetFullPath(dataDir))
                    ?? throw new CliException($"'{target}' is not host:port, and there is no local cluster in '{Path.GetFullPath(dataDir)}' to look a node name up in");
        var node = state.Nodes.FirstOrDefault(n => n.Name == target)
                   ?? throw new CliException($"no node '{target}' in the local cluster{Closest.DidYouMean(target, state.Nodes.Select(n => n.Name).ToList())}");
        return (node.CmdAddress, node.CmdPort);
    }

    /// <summary>Streams one command's replies to the console; 0 on "done", 1 on "error" (printed as one line on stderr).</summary>
    public static async Task<int> RunOneAsync(string host, int port, CmdRequest request, bool json, CancellationToken ct)
    {
        await using var client = await CmdClient.ConnectAsync(host, port, TimeSpan.FromSeconds(5), ct);
        return await StreamAsync(client, request, json, ct);
    }

    internal static async Task<int> StreamAsync(CmdClient client, CmdRequest request, bool json, CancellationToken ct)
    {
        try
        {
            await foreach (var reply in client.SendAsync(request, ct))
            {
                if (json)
                {
                    Console.WriteLine(CmdWire.Serialize(reply));
                    if (reply.Type == CmdReply.Kinds.Error) return 1;
                    continue;
                }
                switch (reply.Type)
                {
                    case CmdReply.Kinds.Text:
                        Console.WriteLine(reply.Text);
                        break;
                    case CmdReply.Kinds.Table:
                        var table = new Table();
                        foreach (var c in reply.Columns ?? []) table.AddColumn(Markup.Escape(c));
                        foreach (var r in reply.Rows ?? []) table.AddRow(r.Select(Markup.Escape).ToArray());
                        AnsiConsole.Write(table);
                        break;
                    case CmdReply.Kinds.Json:
                        Console.WriteLine(reply.Json?.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) ?? "null");
                        break;
                    case CmdReply.Kinds.Error:
                        Console.Error.WriteLine($"akkakube: error: {reply.Message}");
                        return 1;
                }
            }
            return 0;
        }
        catch (OperationCanceledException)
        {
            return 0; // Ctrl-C ends a streaming command (tail) normally
        }
    }
}
