using System.Collections.Concurrent;
using Akka.Actor;
using Akka.Event;

namespace AkkaKube.Actors.Cmd;

/// <summary>One log event as the `log` palette shows it.</summary>
public sealed record LogEntry(DateTime Timestamp, LogLevel Level, string Source, string Message, string? Error);

/// <summary>Failures seen for one actor path: how often, when last, and the last exception.</summary>
public sealed record RestartRecord(string Path, int Count, DateTime Last, string LastError);

/// <summary>
/// Per-node diagnostics the command host serves (an ActorSystem extension): a bounded ring of recent log
/// events with live subscribers (`log recent`, `log tail`) and supervision failure counts per actor (`actor restarts`).
/// Fed by <see cref="DiagnosticsListener"/>, an actor subscribed to Akka's event stream for every
/// <see cref="LogEvent"/> (so it sees exactly what Akka's loggers see, at the configured akka.loglevel).
/// </summary>
public sealed class NodeDiagnostics : IExtension
{
    private readonly object _gate = new();
    private readonly LogEntry[] _ring;
    private int _next;
    private int _count;
    private long _subscriberIds;
    private readonly ConcurrentDictionary<long, Action<LogEntry>> _subscribers = new();
    private readonly ConcurrentDictionary<string, RestartRecord> _restarts = new(StringComparer.Ordinal);

    public NodeDiagnostics(int capacity)
    {
        _ring = new LogEntry[Math.Max(16, capacity)];
        StartedAt = DateTime.UtcNow;
    }

    public static NodeDiagnostics Get(ActorSystem system) => system.WithExtension<NodeDiagnostics, NodeDiagnosticsProvider>();

    public DateTime StartedAt { get; }

    public int Capacity => _ring.Length;

    public void Add(LogEntry entry)
    {
        lock (_gate)
        {
            _ring[_next] = entry;
            _next = (_next + 1) % _ring.Length;
            if (_count < _ring.Length) _count++;
        }
        foreach (var s in _subscribers.Values)
            s(entry);
    }

    /// <summary>The newest <paramref name="n"/> entries at or above <paramref name="minLevel"/>, oldest first.</summary>
    public IReadOnlyList<LogEntry> Recent(int n, LogLevel minLevel = LogLevel.DebugLevel)
    {
        var result = new List<LogEntry>();
        lock (_gate)
        {
            for (var i = 1; i <= _count && result.Count < n; i++)
            {
                var e = _ring[(_next - i + _ring.Length) % _ring.Length];
                if (e.Level >= minLevel) result.Add(e);
            }
        }
        result.Reverse();
        return result;
    }

    /// <summary>Calls <paramref name="onEntry"/> for every new entry until the returned handle is disposed.</summary>
    public IDisposable Subscribe(Action<LogEntry> onEntry)
    {
        var id = Interlocked.Increment(ref _subscriberIds);
        _subscribers[id] = onEntry;
        return new Unsubscriber(() => _subscribers.TryRemove(id, out _));
    }

    /// <summary>
    /// Records a supervised failure. Akka's supervisor strategies log every Restart/Stop/Escalate decision as an
    /// Error event whose LogSource is the failed actor's path and whose Cause is the exception; those feed this table.
    /// </summary>
    public void RecordFailure(string path, DateTime at, string error) =>
        _restarts.AddOrUpdate(path, _ => new RestartRecord(path, 1, at, error), (_, r) => r with { Count = r.Count + 1, Last = at, LastError = error });

    public IReadOnlyList<RestartRecord> Restarts =>
        _restarts.Values.OrderByDescending(r => r.Count).ThenByDescending(r => r.Last).ToList();

    private sealed class Unsubscriber(Action dispose) : IDisposable
    {
        private int _done;
        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0) dispose();
        }
    }
}

public sealed class NodeDiagnosticsProvider : ExtensionIdProvider<NodeDiagnostics>
{
    public override NodeDiagnostics CreateExtension(ExtendedActorSystem system) =>
        new(CmdSettings.Create(system.Settings.Config).LogRingSize);
}

/// <summary>Subscribed to the event stream for every <see cref="LogEvent"/>; feeds <see cref="NodeDiagnostics"/>.</summary>
public sealed class DiagnosticsListener : ReceiveActor
{
    public DiagnosticsListener()
    {
        var diagnostics = NodeDiagnostics.Get(Context.System);
        Receive<LogEvent>(e =>
        {
            var cause = e is Error { Cause: { } c } ? c : null;
            var message = e.Message?.ToString() ?? "";
            var error = cause is null ? null : $"{cause.GetType().Name}: {FirstLine(cause.Message)}";
            diagnostics.Add(new LogEntry(e.Timestamp, e.LogLevel(), e.LogSource ?? "", message, error));
            if (cause is not null && e.LogSource is { } source && source.Contains("://", StringComparison.Ordinal))
                diagnostics.RecordFailure(PathOnly(source), e.Timestamp, error!);
        });
    }

    protected override void PreStart() => Context.System.EventStream.Subscribe(Self, typeof(LogEvent));

    protected override void PostStop() => Context.System.EventStream.Unsubscribe(Self);

    private static string FirstLine(string s) => s.Split('\n', 2)[0].Trim();

    /// <summary>"akka.tcp://akkakube@127.1.0.1:4053/user/x#123" → "/user/x" (uid dropped so restarts of one path add up).</summary>
    internal static string PathOnly(string source)
    {
        var hash = source.IndexOf('#');
        if (hash >= 0) source = source[..hash];
        var scheme = source.IndexOf("://", StringComparison.Ordinal);
        var slash = scheme >= 0 ? source.IndexOf('/', scheme + 3) : -1;
        return slash >= 0 ? source[slash..] : source;
    }

    public static Props Props() => Akka.Actor.Props.Create<DiagnosticsListener>();
}
