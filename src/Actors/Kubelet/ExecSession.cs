using Akka.Actor;
using Akka.Event;
using AkkaKube.Actors.Runtime;
using static AkkaKube.Actors.Kubelet.KubeletProtocol;

namespace AkkaKube.Actors.Kubelet;

/// <summary>
/// One <c>kubectl exec</c> or port-forward connection on the kubelet (a child of the pod's worker): starts the command through the runtime (or connects), sends
/// its stdout/stderr to the apiserver's relay as <see cref="StreamData"/> (at most <see cref="StreamWindow"/> unacknowledged),
/// writes the relay's stdin to the command, and ends with one <see cref="StreamExit"/> once all output is out. It watches
/// the relay: a client gone kills the command; the command or the pod gone ends the stream.
/// </summary>
public sealed class ExecSession : ReceiveActor
{
    private const int ChunkBytes = 32 * 1024;

    private sealed record Opened(IExecProcess Process);
    private sealed record Failed(string Message);
    private sealed record OutputDone(int ExitCode);
    private sealed class StdinWritten { public static readonly StdinWritten Instance = new(); }

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Func<CancellationToken, Task<IExecProcess>> _open;
    private readonly string _what;
    private readonly IActorRef _relay;
    private readonly SemaphoreSlim _window = new(StreamWindow, StreamWindow);
    private readonly CancellationTokenSource _stop = new();
    private readonly Queue<StreamData> _stdin = new();
    private IExecProcess? _process;
    private bool _writing;
    private bool _stdinClosed;

    public ExecSession(Func<CancellationToken, Task<IExecProcess>> open, string what, IActorRef relay)
    {
        _open = open;
        _what = what;
        _relay = relay;
        Receive<Opened>(o => Run(o.Process));
        Receive<Failed>(f =>
        {
            _relay.Tell(new StreamRefused(400, "BadRequest", f.Message));
            Context.Stop(Self);
        });
        Receive<Terminated>(_ => Context.Stop(Self)); // the relay (client) is gone
    }

    /// <summary><paramref name="open"/> starts the command (or connection); <paramref name="what"/> names it in logs.</summary>
    public static Props Props(Func<CancellationToken, Task<IExecProcess>> open, string what, IActorRef relay) =>
        Akka.Actor.Props.Create(() => new ExecSession(open, what, relay));

    protected override void PreStart()
    {
        Context.Watch(_relay);
        Task<IExecProcess> opening;
        try { opening = _open(_stop.Token); }
        catch (Exception e) { opening = Task.FromException<IExecProcess>(e); } // an opener that throws before its first await
        opening.ContinueWith<object>(t =>
            t.IsCompletedSuccessfully ? new Opened(t.Result) : new Failed(t.Exception?.GetBaseException().Message ?? "exec was cancelled"),
            TaskScheduler.Default).PipeTo(Self);
    }

    protected override void PostStop()
    {
        _stop.Cancel();
        _process?.Dispose();
        _stop.Dispose();
    }

    private void Run(IExecProcess process)
    {
        if (_stop.IsCancellationRequested)
        {
            process.Dispose();
            return;
        }
        _process = process;
        _relay.Tell(StreamStarted.Instance);
        Become(Running);
        var self = Self;
        var stdout = Pump(process.Stdout, 1, self);
        var stderr = process.Stderr is { } err ? Pump(err, 2, self) : Task.CompletedTask;
        // The exit is reported after the command ended and all its output was sent (and kept in order behind it).
        Task.WhenAll(stdout, stderr, process.Exited).ContinueWith(_ => new OutputDone(process.Exited.Result), TaskScheduler.Default).PipeTo(self);
    }

    private void Running()
    {
        Receive<StreamAck>(_ => _window.Release());
        Receive<StreamData>(d =>
        {
            if (d.Channel != 0) return;
            if (_process?.Stdin is null || _stdinClosed)
            {
                _relay.Tell(StreamAck.Instance); // dropped (no stdin, as an attach to a container without one): the window moves on
                return;
            }
            _stdin.Enqueue(d);
            WriteNext();
        });
        Receive<StdinWritten>(_ =>
        {
            _writing = false;
            _relay.Tell(StreamAck.Instance);
            WriteNext();
        });
        Receive<StreamCloseStdin>(_ =>
        {
            _stdinClosed = true;
            WriteNext();
        });
        Receive<OutputDone>(d =>
        {
            _relay.Tell(new StreamExit(d.ExitCode));
            Context.Stop(Self);
        });
        Receive<Terminated>(_ => Context.Stop(Self));
    }

    /// <summary>Writes queued stdin in order, one write at a time; closes stdin after the last when the client closed it.</summary>
    private void WriteNext()
    {
        if (_writing || _process?.Stdin is not { } stdin) return;
        if (_stdin.TryDequeue(out var next))
        {
            _writing = true;
            var self = Self;
            WriteAsync(stdin, next.Data, _stop.Token).PipeTo(self, success: () => StdinWritten.Instance, failure: _ => StdinWritten.Instance);
        }
        else if (_stdinClosed)
        {
            try { stdin.Close(); } catch (IOException) { } // the command already ended
        }
    }

    private static async Task WriteAsync(Stream stdin, byte[] data, CancellationToken ct)
    {
        try
        {
            await stdin.WriteAsync(data, ct);
            await stdin.FlushAsync(ct);
        }
        catch (IOException)
        {
            // the command closed its stdin or ended: the bytes have nowhere to go
        }
    }

    /// <summary>Copies one output stream to the relay in chunks, waiting for window space before each.</summary>
    private async Task Pump(Stream source, int channel, IActorRef self)
    {
        var buffer = new byte[ChunkBytes];
        try
        {
            while (true)
            {
                var n = await source.ReadAsync(buffer, _stop.Token);
                if (n == 0) return;
                await _window.WaitAsync(_stop.Token);
                _relay.Tell(new StreamData(channel, buffer[..n]), self);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException)
        {
            _log.Debug("{0}: output {1} ended: {2}", _what, channel, e.Message);
        }
    }
}
