using System.Text.Json.Nodes;
using Akka.Actor;
using AkkaKube.Actors.Cluster;

namespace AkkaKube.Actors.Cmd;

/// <summary>
/// A named group of commands served by every node's command host (like a Petabridge.Cmd palette).
/// A new palette is one class implementing this interface, registered at start-up with
/// <c>builder.AddCmdPalette(...)</c> (see <see cref="CmdHostingExtensions"/>) or at any time with
/// <see cref="CmdPaletteRegistry.Register"/>.
/// </summary>
public interface ICmdPalette
{
    /// <summary>Lower-case name the client types first, e.g. "cluster".</summary>
    string Name { get; }

    string Description { get; }

    IReadOnlyList<CmdCommand> Commands { get; }
}

/// <summary>
/// One command of a palette. <see cref="Run"/> writes replies to <see cref="CmdCall.Output"/> and returns when done;
/// a streaming command awaits <see cref="CmdCall.Cancelled"/> (the client disconnected). Throw
/// <see cref="CmdException"/> for a user error: its message becomes the final "error" reply.
/// </summary>
public sealed record CmdCommand(string Name, string Description, IReadOnlyList<CmdArg> Args, Func<CmdCall, Task> Run)
{
    public string Usage =>
        string.Join(" ", new[] { Name }.Concat(Args.Select(a => a.Usage)));
}

public enum CmdArgKind
{
    /// <summary>A positional value, e.g. &lt;address&gt;.</summary>
    Positional,
    /// <summary>A flag with a value, e.g. -d 3 / --depth 3 / --depth=3.</summary>
    Option,
    /// <summary>A flag without a value, e.g. --all.</summary>
    Switch,
}

/// <summary>An argument of a command. Name is the long name without dashes ("depth"); Short is e.g. "-d".</summary>
public sealed record CmdArg(string Name, CmdArgKind Kind, string Description, string? Short = null, bool Required = false)
{
    public static CmdArg Positional(string name, string description, bool required = true) => new(name, CmdArgKind.Positional, description, Required: required);
    public static CmdArg Option(string name, string description, string? shortName = null) => new(name, CmdArgKind.Option, description, shortName);
    public static CmdArg Switch(string name, string description, string? shortName = null) => new(name, CmdArgKind.Switch, description, shortName);

    public string Long => "--" + Name;

    public string Usage => Kind switch
    {
        CmdArgKind.Positional => Required ? $"<{Name}>" : $"[{Name}]",
        CmdArgKind.Option => $"[{(Short is null ? Long : Short + "|" + Long)} <{Name}>]",
        _ => $"[{(Short is null ? Long : Short + "|" + Long)}]",
    };
}

/// <summary>Where a command writes its replies. Thread-safe: callable from any thread or actor.</summary>
public interface ICmdOutput
{
    void Text(string line);
    void Table(IReadOnlyList<string> columns, IEnumerable<IReadOnlyList<string>> rows);
    void Json(JsonNode? payload);
}

/// <summary>Everything a running command gets: the node's actor system and options, its parsed arguments, the output and a cancellation token.</summary>
public sealed record CmdCall(ActorSystem System, NodeOptions Node, CmdArgs Args, ICmdOutput Output, CancellationToken Cancelled);

/// <summary>Parsed arguments of one call, checked against the command's <see cref="CmdArg"/> list.</summary>
public sealed class CmdArgs
{
    private readonly Dictionary<string, string?> _values;

    private CmdArgs(Dictionary<string, string?> values) => _values = values;

    public static CmdArgs Empty { get; } = new(new Dictionary<string, string?>());

    public bool Has(string name) => _values.ContainsKey(name);

    public string? Get(string name) => _values.GetValueOrDefault(name);

    public int GetInt(string name, int defaultValue, int min = int.MinValue, int max = int.MaxValue)
    {
        var s = Get(name);
        if (s is null) return defaultValue;
        if (!int.TryParse(s, out var v) || v < min || v > max)
            throw new CmdException($"--{name} '{s}' must be a whole number between {min} and {max}");
        return v;
    }

    /// <summary>Parses raw tokens for <paramref name="command"/> of <paramref name="palette"/>; unknown or missing arguments throw <see cref="CmdException"/>.</summary>
    public static CmdArgs Parse(string palette, CmdCommand command, IReadOnlyList<string> tokens)
    {
        var values = new Dictionary<string, string?>();
        var positionals = command.Args.Where(a => a.Kind == CmdArgKind.Positional).ToList();
        var flags = command.Args.Where(a => a.Kind != CmdArgKind.Positional).ToList();
        var where = $"'{palette} {command.Name}'";
        var nextPositional = 0;
        for (var i = 0; i < tokens.Count; i++)
        {
            var token = tokens[i];
            if (token.StartsWith('-') && token.Length > 1 && !char.IsAsciiDigit(token[1]))
            {
                var eq = token.IndexOf('=');
                var flagName = eq > 0 ? token[..eq] : token;
                var flag = flags.FirstOrDefault(f => f.Long == flagName || f.Short == flagName);
                if (flag is null)
                {
                    var names = flags.SelectMany(f => f.Short is null ? new[] { f.Long } : [f.Short, f.Long]).ToList();
                    throw new CmdException(names.Count == 0
                        ? $"unknown argument '{flagName}' for {where}: it takes no flags (usage: {palette} {command.Usage})"
                        : $"unknown argument '{flagName}' for {where}{Closest.DidYouMean(flagName, names)} (usage: {palette} {command.Usage})");
                }
                if (flag.Kind == CmdArgKind.Switch)
                {
                    if (eq > 0) throw new CmdException($"{flag.Long} takes no value");
                    values[flag.Name] = "true";
                }
                else if (eq > 0)
                    values[flag.Name] = token[(eq + 1)..];
                else if (i + 1 < tokens.Count)
                    values[flag.Name] = tokens[++i];
                else
                    throw new CmdException($"{flagName} needs a value <{flag.Name}> (usage: {palette} {command.Usage})");
                continue;
            }
            if (nextPositional >= positionals.Count)
                throw new CmdException($"unexpected argument '{token}' for {where} (usage: {palette} {command.Usage})");
            values[positionals[nextPositional++].Name] = token;
        }
        foreach (var p in positionals.Skip(nextPositional).Where(p => p.Required))
            throw new CmdException($"{where} needs <{p.Name}> (usage: {palette} {command.Usage})");
        return new CmdArgs(values);
    }
}

/// <summary>Closest-name suggestions for unknown palettes, commands and flags (Levenshtein distance).</summary>
public static class Closest
{
    public static IReadOnlyList<string> Names(string input, IEnumerable<string> candidates, int max = 3)
    {
        var list = candidates.Distinct().ToList();
        var scored = list
            .Select(c => (c, d: c.StartsWith(input, StringComparison.OrdinalIgnoreCase) ? 0 : Distance(input.ToLowerInvariant(), c.ToLowerInvariant())))
            .Where(x => x.d <= Math.Max(2, x.c.Length / 2))
            .OrderBy(x => x.d).ThenBy(x => x.c, StringComparer.Ordinal)
            .Take(max)
            .Select(x => x.c)
            .ToList();
        return scored;
    }

    /// <summary>"; did you mean 'x'? (known: a, b, c)" — always lists the known names.</summary>
    public static string DidYouMean(string input, IReadOnlyCollection<string> known)
    {
        var close = Names(input, known);
        var hint = close.Count > 0 ? $"; did you mean {string.Join(" or ", close.Select(c => $"'{c}'"))}?" : "";
        return $"{hint} (known: {string.Join(", ", known.OrderBy(k => k, StringComparer.Ordinal))})";
    }

    public static int Distance(string a, string b)
    {
        var prev = new int[b.Length + 1];
        var cur = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++) prev[j] = j;
        for (var i = 1; i <= a.Length; i++)
        {
            cur[0] = i;
            for (var j = 1; j <= b.Length; j++)
                cur[j] = Math.Min(Math.Min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            (prev, cur) = (cur, prev);
        }
        return prev[b.Length];
    }
}
