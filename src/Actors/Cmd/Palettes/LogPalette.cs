using Akka.Event;

namespace AkkaKube.Actors.Cmd.Palettes;

/// <summary>`log`: this node's recent log events (a bounded in-memory ring) and a live tail.</summary>
public sealed class LogPalette : ICmdPalette
{
    public string Name => "log";

    public string Description => "this node's log: recent events and a live tail";

    public IReadOnlyList<CmdCommand> Commands =>
    [
        new("recent", "the newest log events (oldest first)",
        [
            CmdArg.Option("count", "how many (default 50)", "-n"),
            CmdArg.Option("level", "minimum level: debug, info, warning, error (default debug)", "-l"),
        ], Recent),
        new("tail", "stream log events until the client disconnects",
            [CmdArg.Option("level", "minimum level: debug, info, warning, error (default debug)", "-l")], Tail),
    ];

    internal static LogLevel ParseLevel(string? s) => s?.ToLowerInvariant() switch
    {
        null or "debug" => LogLevel.DebugLevel,
        "info" or "information" => LogLevel.InfoLevel,
        "warning" or "warn" => LogLevel.WarningLevel,
        "error" => LogLevel.ErrorLevel,
        _ => throw new CmdException($"--level '{s}' is not a level{Closest.DidYouMean(s, ["debug", "info", "warning", "error"])}"),
    };

    internal static string Format(LogEntry e) =>
        $"{e.Timestamp:yyyy-MM-ddTHH:mm:ss.fffZ} {Short(e.Level)} {e.Source} {e.Message}{(e.Error is null ? "" : " | " + e.Error)}";

    private static string Short(LogLevel level) => level switch
    {
        LogLevel.DebugLevel => "DBG",
        LogLevel.InfoLevel => "INF",
        LogLevel.WarningLevel => "WRN",
        _ => "ERR",
    };

    private static Task Recent(CmdCall call)
    {
        var n = call.Args.GetInt("count", 50, 1, 100_000);
        var level = ParseLevel(call.Args.Get("level"));
        var entries = NodeDiagnostics.Get(call.System).Recent(n, level);
        foreach (var e in entries) call.Output.Text(Format(e));
        if (entries.Count == 0) call.Output.Text("no log events at that level in the ring");
        return Task.CompletedTask;
    }

    private static async Task Tail(CmdCall call)
    {
        var level = ParseLevel(call.Args.Get("level"));
        using var subscription = NodeDiagnostics.Get(call.System).Subscribe(e =>
        {
            if (e.Level >= level) call.Output.Text(Format(e));
        });
        try
        {
            await Task.Delay(Timeout.Infinite, call.Cancelled);
        }
        catch (OperationCanceledException)
        {
        }
    }
}
