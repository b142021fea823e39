using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Akka.Actor;
using Akka.Event;
using AkkaKube.Actors.Cluster;

namespace AkkaKube.Actors.Cmd;

/// <summary>
/// One client connection of the command host. A reader task turns request lines into messages to this actor;
/// a writer task drains a channel of reply lines to the socket. One command runs at a time; its output goes
/// through this actor (so replies are ordered) and it ends with one "done" or "error" line. The client closing
/// the connection cancels the running command and stops this actor. Replies are counted in bytes from the moment a
/// command produces them until they are on the socket: a client that does not read is cut off (its command stopped,
/// one "error" line, the connection closed) once <see cref="CmdSettings.MaxOutputBufferBytes"/> are waiting.
/// </summary>
public sealed class CmdConnectionActor : ReceiveActor
{
    private sealed record LineIn(string Line);
    private sealed record ClientGone(string Reason);
    private sealed record Finished(int CallId, Exception? Error);
    internal sealed record Out(int CallId, string Line, int Bytes);
    private sealed class CutOff
    {
        public static readonly CutOff Instance = new();
    }

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly TcpClient _client;
    private readonly NodeOptions _node;
    private readonly CmdSettings _settings;
    private readonly Channel<(string Line, int Bytes)> _outbox = Channel.CreateUnbounded<(string, int)>(new UnboundedChannelOptions { SingleReader = true });
    private readonly OutputBudget _budget;
    /// <summary>Cancelled <see cref="CmdSettings.OutputCutOffGrace"/> after a cut-off: the writer's last chance to send.</summary>
    private readonly CancellationTokenSource _cutOffDeadline = new();
    private readonly CancellationTokenSource _connectionCts = new();
    private CancellationTokenSource? _writeCts;
    private bool _cutOffSent;
    private CancellationTokenSource? _callCts;
    private int _callId;
    private bool _running;

    public CmdConnectionActor(TcpClient client, NodeOptions node, CmdSettings settings)
    {
        _client = client;
        _node = node;
        _settings = settings;
        _budget = new OutputBudget(settings.MaxOutputBufferBytes);

        Receive<LineIn>(l =>
        {
            if (!_budget.IsCutOff) OnRequest(l.Line);
        });
        Receive<Out>(o =>
        {
            if (o.CallId == _callId && _running && !_budget.IsCutOff) _outbox.Writer.TryWrite((o.Line, o.Bytes));
            else _budget.Taken(o.Bytes);
        });
        Receive<CutOff>(_ =>
        {
            if (_cutOffSent) return;
            _cutOffSent = true;
            _log.Info("command client cut off: more than {0} bytes of replies not read", _settings.MaxOutputBufferBytes);
            _callCts?.Cancel();
            _running = false;
            // Queued replies are dropped by the writer; this line goes out once what is on the wire now is taken.
            _outbox.Writer.TryWrite(Line(CmdReply.Fail(
                $"output cut off: this client read too slowly (more than {_settings.MaxOutputBufferBytes} bytes of replies waiting, " +
                "akkakube.cmd.max-output-buffer-bytes); the command was stopped")));
            _outbox.Writer.TryComplete();
            _cutOffDeadline.CancelAfter(_settings.OutputCutOffGrace);
        });
        Receive<Finished>(f =>
        {
            if (f.CallId != _callId || !_running) return;
            _running = false;
            Send(f.Error switch
            {
                null => CmdReply.Done,
                CmdException e => CmdReply.Fail(e.Message),
                OperationCanceledException => CmdReply.Done,
                _ => CmdReply.Fail($"command failed: {f.Error.GetType().Name}: {f.Error.Message.Split('\n')[0]}"),
            });
        });
        Receive<ClientGone>(g =>
        {
            _log.Debug("command client left: {0}", g.Reason);
            Context.Stop(Self);
        });
    }

    protected override void PreStart()
    {
        var self = Self;
        var stream = _client.GetStream();
        var token = _connectionCts.Token;
        var maxBytes = _settings.MaxRequestBytes;
        _ = Task.Run(async () =>
        {
            var reason = "closed";
            try
            {
                using var reader = new StreamReader(stream, new UTF8Encoding(false), false, 4096, leaveOpen: true);
                var buffer = new StringBuilder();
                var chars = new char[4096];
                while (!token.IsCancellationRequested)
                {
                    var n = await reader.ReadAsync(chars.AsMemory(), token);
                    if (n == 0) break;
                    for (var i = 0; i < n; i++)
                    {
                        if (chars[i] == '\n')
                        {
                            var line = buffer.ToString().TrimEnd('\r');
                            buffer.Clear();
                            if (line.Trim().Length > 0) self.Tell(new LineIn(line));
                        }
                        else if (buffer.Length >= maxBytes)
                            throw new IOException($"request line longer than {maxBytes} bytes");
                        else
                            buffer.Append(chars[i]);
                    }
                }
            }
            catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
            {
                reason = e.Message;
            }
            if (!token.IsCancellationRequested) self.Tell(new ClientGone(reason));
        }, CancellationToken.None);

        var budget = _budget;
        _writeCts = CancellationTokenSource.CreateLinkedTokenSource(token, _cutOffDeadline.Token);
        var writeToken = _writeCts.Token;
        _ = Task.Run(async () =>
        {
            try
            {
                await foreach (var (line, count) in _outbox.Reader.ReadAllAsync(token))
                {
                    // after a cut-off only the final error line (the last one queued) is still sent
                    var skip = budget.IsCutOff && _outbox.Reader.TryPeek(out _);
                    if (!skip) await stream.WriteAsync(Encoding.UTF8.GetBytes(line + "\n"), writeToken);
                    budget.Taken(count);
                }
                if (budget.IsCutOff && !token.IsCancellationRequested) self.Tell(new ClientGone("cut off: it did not read its replies"));
            }
            catch (Exception e)
            {
                if (!token.IsCancellationRequested) self.Tell(new ClientGone(budget.IsCutOff ? "cut off: it did not read its replies" : e.Message));
            }
        }, CancellationToken.None);
    }

    protected override void PostStop()
    {
        _callCts?.Cancel();
        _connectionCts.Cancel();
        _outbox.Writer.TryComplete();
        _client.Dispose();
        _callCts?.Dispose();
        _connectionCts.Dispose();
        _writeCts?.Dispose();
        _cutOffDeadline.Dispose();
    }

    private static (string Line, int Bytes) Line(CmdReply reply)
    {
        var line = CmdWire.Serialize(reply);
        return (line, Encoding.UTF8.GetByteCount(line) + 1);
    }

    /// <summary>A reply of this actor's own (a final done/error line): counted, never refused, as a command's last word.</summary>
    private void Send(CmdReply reply)
    {
        if (_budget.IsCutOff) return;
        var line = Line(reply);
        _budget.Force(line.Bytes);
        _outbox.Writer.TryWrite(line);
    }

    private void OnRequest(string line)
    {
        if (_running)
        {
            // A second request while one runs is a client error; the running command keeps its stream.
            Send(CmdReply.Fail("a command is still running on this connection; wait for its final reply or reconnect"));
            return;
        }
        CmdRequest request;
        try
        {
            request = CmdWire.ParseRequest(line);
        }
        catch (CmdException e)
        {
            Send(CmdReply.Fail(e.Message));
            return;
        }

        if (!TokenOk(request.Token))
        {
            Send(CmdReply.Fail(request.Token is null
                ? "this command host needs a token (the data directory's cmd-token, which `akkakube cmd` reads; or --token, AKKAKUBE_CMD_TOKEN)"
                : "token refused"));
            return;
        }

        CmdCommand command;
        CmdArgs args;
        try
        {
            (command, args) = Resolve(request);
        }
        catch (CmdException e)
        {
            Send(CmdReply.Fail(e.Message));
            return;
        }

        var callId = ++_callId;
        _running = true;
        _callCts?.Dispose();
        _callCts = CancellationTokenSource.CreateLinkedTokenSource(_connectionCts.Token);
        var self = Self;
        var call = new CmdCall(Context.System, _node, args, new ActorOutput(self, callId, _budget), _callCts.Token);
        Task.Run(() => command.Run(call), CancellationToken.None)
            .ContinueWith(t => new Finished(callId, t.Exception?.GetBaseException() ?? (t.IsCanceled ? new OperationCanceledException() : null)),
                TaskScheduler.Default)
            .PipeTo(self);
    }

    private bool TokenOk(string? token)
    {
        if (_node.CmdToken is null) return true;
        if (token is null) return false;
        return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(token), Encoding.UTF8.GetBytes(_node.CmdToken));
    }

    private (CmdCommand, CmdArgs) Resolve(CmdRequest request)
    {
        var registry = CmdPaletteRegistry.Get(Context.System);
        if (request.Palette == "help")
            return (HelpCommand(registry, (request.Args ?? []).Contains("--json")), CmdArgs.Empty);
        var palette = registry.Find(request.Palette);
        if (palette is null)
            throw new CmdException($"unknown palette '{request.Palette}'{Closest.DidYouMean(request.Palette, registry.All.Select(p => p.Name).Append("help").ToList())}");
        var commandNames = palette.Commands.Select(c => c.Name).ToList();
        if (string.IsNullOrEmpty(request.Command))
            throw new CmdException($"palette '{palette.Name}' needs a command: {string.Join(", ", commandNames)}");
        var command = palette.Commands.FirstOrDefault(c => c.Name == request.Command)
            ?? throw new CmdException($"unknown command '{request.Command}' in palette '{palette.Name}'{Closest.DidYouMean(request.Command, commandNames)}");
        return (command, CmdArgs.Parse(palette.Name, command, request.Args ?? []));
    }

    /// <summary>`help`: a table of every palette's commands; `help --json`: a JSON payload {palettes: {name: [commands]}} for tab completion.</summary>
    private static CmdCommand HelpCommand(CmdPaletteRegistry registry, bool json) => new("help", "list palettes and commands", [], call =>
    {
        var palettes = registry.All;
        if (json)
        {
            var payload = new JsonObject();
            foreach (var p in palettes)
                payload[p.Name] = new JsonArray(p.Commands.Select(c => (JsonNode?)JsonValue.Create(c.Name)).ToArray());
            call.Output.Json(new JsonObject { ["palettes"] = payload });
            return Task.CompletedTask;
        }
        call.Output.Table(["palette", "command", "usage", "description"],
            palettes.SelectMany(p => p.Commands.Select(c => (IReadOnlyList<string>)[p.Name, c.Name, $"{p.Name} {c.Usage}", c.Description])));
        return Task.CompletedTask;
    });

    /// <summary>
    /// Serializes on the command's thread and counts the bytes before they reach this actor's mailbox, so a command
    /// that outruns its client is stopped whether its replies wait in the mailbox, the outbox or the socket.
    /// </summary>
    private sealed class ActorOutput(IActorRef connection, int callId, OutputBudget budget) : ICmdOutput
    {
        private void Emit(CmdReply reply)
        {
            if (budget.IsCutOff) return;
            var (line, bytes) = Line(reply);
            if (budget.TryAdd(bytes)) connection.Tell(new Out(callId, line, bytes));
            else connection.Tell(CutOff.Instance);
        }

        public void Text(string line) => Emit(CmdReply.Line(line));

        public void Table(IReadOnlyList<string> columns, IEnumerable<IReadOnlyList<string>> rows) => Emit(CmdReply.MakeTable(columns, rows.ToList()));

        public void Json(JsonNode? payload) => Emit(CmdReply.Payload(payload));
    }

    /// <summary>Reply bytes produced and not yet written to the socket, with the bound that cuts a connection off.</summary>
    internal sealed class OutputBudget(long maxBytes)
    {
        private long _bytes;
        private volatile bool _cutOff;

        public bool IsCutOff => _cutOff;

        /// <summary>False (and the connection is cut off) when these bytes would pass the bound; one reply alone always fits.</summary>
        public bool TryAdd(int bytes)
        {
            if (_cutOff) return false;
            var after = Interlocked.Add(ref _bytes, bytes);
            if (after <= maxBytes || after == bytes) return true;
            Interlocked.Add(ref _bytes, -bytes);
            _cutOff = true;
            return false;
        }

        public void Force(int bytes) => Interlocked.Add(ref _bytes, bytes);

        public void Taken(int bytes) => Interlocked.Add(ref _bytes, -bytes);
    }

    public static Props Props(TcpClient client, NodeOptions node, CmdSettings settings) =>
        Akka.Actor.Props.Create(() => new CmdConnectionActor(client, node, settings));
}
