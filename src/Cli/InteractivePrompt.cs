using System.Text;
using AkkaKube.Actors.Cmd;

namespace AkkaKube.Cli;

/// <summary>
/// `akkakube cmd host:port` with no command: a prompt that runs one command per line on one connection, with
/// `help`, `exit`, history (↑/↓) and Tab completion of palette and command names (from the node's `help --json`).
/// Ctrl-C stops a running command (e.g. a tail) and returns to the prompt; Ctrl-D or `exit` leaves.
/// </summary>
public static class InteractivePrompt
{
    public static async Task<int> RunAsync(string host, int port, string? token)
    {
        var palettes = await LoadPalettesAsync(host, port, token);
        var editor = new LineEditor(line => Complete(line, palettes));
        Console.WriteLine($"connected to {host}:{port} — `help` lists commands, Tab completes, `exit` leaves");
        CancellationTokenSource? running = null;
        Console.CancelKeyPress += (_, e) =>
        {
            if (running is { } r)
            {
                e.Cancel = true;
                r.Cancel();
            }
        };
        while (true)
        {
            var line = editor.ReadLine($"{host}:{port}> ");
            if (line is null) return 0;
            var words = Split(line);
            if (words.Count == 0) continue;
            if (words[0] is "exit" or "quit") return 0;
            var request = words[0] == "help" && words.Count == 1
                ? new CmdRequest("help", Token: token)
                : new CmdRequest(words[0], words.Count > 1 ? words[1] : null, words.Skip(2).ToList(), token);
            running = new CancellationTokenSource();
            try
            {
                // One connection per command: closing it is how a streaming command is cancelled.
                await using var client = await CmdClient.ConnectAsync(host, port, TimeSpan.FromSeconds(5), running.Token);
                await CmdCli.StreamAsync(client, request, json: false, running.Token);
            }
            catch (CliException e)
            {
                Console.Error.WriteLine($"error: {e.Message}");
            }
            catch (OperationCanceledException)
            {
            }
            finally
            {
                running.Dispose();
                running = null;
            }
        }
    }

    private static async Task<Dictionary<string, List<string>>> LoadPalettesAsync(string host, int port, string? token)
    {
        var replies = await CmdClient.RunAsync(host, port, new CmdRequest("help", Args: ["--json"], Token: token), TimeSpan.FromSeconds(10));
        var result = new Dictionary<string, List<string>> { ["help"] = [], ["exit"] = [] };
        if (replies.FirstOrDefault(r => r.Type == CmdReply.Kinds.Json)?.Json?["palettes"]?.AsObject() is { } obj)
            foreach (var (name, commands) in obj)
                result[name] = commands?.AsArray().Select(c => c!.GetValue<string>()).ToList() ?? [];
        return result;
    }

    /// <summary>Completions for the word being typed: palette names first, then that palette's commands.</summary>
    internal static IReadOnlyList<string> Complete(string line, IReadOnlyDictionary<string, List<string>> palettes)
    {
        var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).ToList();
        var typingNew = line.EndsWith(' ') || words.Count == 0;
        var prefix = typingNew ? "" : words[^1];
        var index = typingNew ? words.Count : words.Count - 1;
        IEnumerable<string> candidates = index switch
        {
            0 => palettes.Keys,
            1 when palettes.TryGetValue(words[0], out var commands) => commands,
            _ => [],
        };
        return candidates.Where(c => c.StartsWith(prefix, StringComparison.Ordinal)).OrderBy(c => c, StringComparer.Ordinal).ToList();
    }

    /// <summary>Splits a line into words; "double" or 'single' quotes keep spaces.</summary>
    internal static List<string> Split(string line)
    {
        var words = new List<string>();
        var current = new StringBuilder();
        char? quote = null;
        var inWord = false;
        foreach (var c in line)
        {
            if (quote is { } q)
            {
                if (c == q) quote = null; else current.Append(c);
            }
            else if (c is '"' or '\'') { quote = c; inWord = true; }
            else if (char.IsWhiteSpace(c))
            {
                if (inWord) { words.Add(current.ToString()); current.Clear(); inWord = false; }
            }
            else { current.Append(c); inWord = true; }
        }
        if (inWord) words.Add(current.ToString());
        return words;
    }
}

/// <summary>A small line editor: ←/→, Home/End, Backspace/Delete, ↑/↓ history, Tab completion; plain ReadLine when input is redirected.</summary>
public sealed class LineEditor(Func<string, IReadOnlyList<string>> complete)
{
    private readonly List<string> _history = [];

    public string? ReadLine(string prompt)
    {
        Console.Write(prompt);
        if (Console.IsInputRedirected) return Console.ReadLine();
        var buffer = new StringBuilder();
        var cursor = 0;
        var historyIndex = _history.Count;
        void Redraw()
        {
            Console.Write("\r" + prompt + buffer + "\u001b[K");
            var back = buffer.Length - cursor;
            if (back > 0) Console.Write($"\u001b[{back}D");
        }
        while (true)
        {
            var key = Console.ReadKey(intercept: true);
            switch (key.Key)
            {
                case ConsoleKey.Enter:
                    Console.WriteLine();
                    var line = buffer.ToString();
                    if (line.Trim().Length > 0 && (_history.Count == 0 || _history[^1] != line)) _history.Add(line);
                    return line;
                case ConsoleKey.Backspace when cursor > 0:
                    buffer.Remove(--cursor, 1);
                    break;
                case ConsoleKey.Delete when cursor < buffer.Length:
                    buffer.Remove(cursor, 1);
                    break;
                case ConsoleKey.LeftArrow when cursor > 0:
                    cursor--;
                    break;
                case ConsoleKey.RightArrow when cursor < buffer.Length:
                    cursor++;
                    break;
                case ConsoleKey.Home:
                    cursor = 0;
                    break;
                case ConsoleKey.End:
                    cursor = buffer.Length;
                    break;
                case ConsoleKey.UpArrow when historyIndex > 0:
                    buffer.Clear().Append(_history[--historyIndex]);
                    cursor = buffer.Length;
                    break;
                case ConsoleKey.DownArrow when historyIndex < _history.Count:
                    historyIndex++;
                    buffer.Clear().Append(historyIndex < _history.Count ? _history[historyIndex] : "");
                    cursor = buffer.Length;
                    break;
                case ConsoleKey.Tab:
                    var text = buffer.ToString(0, cursor);
                    var options = complete(text);
                    var partial = text.Split(' ').Last();
                    if (options.Count == 1)
                    {
                        var add = options[0][partial.Length..] + " ";
                        buffer.Insert(cursor, add);
                        cursor += add.Length;
                    }
                    else if (options.Count > 1)
                    {
                        var common = options.Aggregate((a, b) => new string(a.TakeWhile((c, i) => i < b.Length && b[i] == c).ToArray()));
                        if (common.Length > partial.Length)
                        {
                            buffer.Insert(cursor, common[partial.Length..]);
                            cursor += common.Length - partial.Length;
                        }
                        else
                        {
                            Console.WriteLine();
                            Console.WriteLine(string.Join("  ", options));
                        }
                    }
                    break;
                case ConsoleKey.D when key.Modifiers.HasFlag(ConsoleModifiers.Control) && buffer.Length == 0:
                    Console.WriteLine();
                    return null;
                default:
                    if (!char.IsControl(key.KeyChar))
                        buffer.Insert(cursor++, key.KeyChar);
                    break;
            }
            Redraw();
        }
    }
}
