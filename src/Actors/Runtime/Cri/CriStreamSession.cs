using System.IO.Pipelines;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using AkkaKube.Actors.ApiServer.Streaming;

namespace AkkaKube.Actors.Runtime.Cri;

/// <summary>
/// A client of the CRI streaming server (the URL CRI Exec or Attach answers; containerd serves it on its
/// stream_server_address): the kubelet's remote-command protocol v4.channel.k8s.io over an HTTP upgrade to SPDY/3.1,
/// as the Kubernetes apiserver's proxy to the kubelet speaks it. One SPDY stream per channel (error, stdin, stdout,
/// stderr, resize with a terminal), so closing stdin is a FIN on its own stream — which the WebSocket variant of v4
/// cannot say, and `kubectl cp` into a container (tar reading stdin to its end) needs. The end is a metav1.Status on
/// the error stream: Success, or NonZeroExitCode with the code.
/// </summary>
public sealed class CriStreamSession : IExecProcess
{
    private const string Protocol = "v4.channel.k8s.io";
    private const uint ErrorId = 1, StdinId = 3, StdoutId = 5, StderrId = 7, ResizeId = 9;
    private const int ChunkBytes = 32 * 1024;

    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly SemaphoreSlim _send = new(1, 1);
    private readonly Spdy.HeaderCompressor _deflate = new();
    private readonly Spdy.HeaderDecompressor _inflate = new();
    private readonly Pipe _stdout = new();
    private readonly Pipe? _stderr;
    private readonly MemoryStream _error = new();
    private readonly TaskCompletionSource _replied = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<int> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly int _expectedReplies;
    private int _replies;
    private bool _stdoutDone, _stderrDone;

    private CriStreamSession(Socket socket, bool stdin, bool stderr, bool tty)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: false);
        Stdout = _stdout.Reader.AsStream();
        if (stderr)
        {
            _stderr = new Pipe();
            Stderr = _stderr.Reader.AsStream();
        }
        Stdin = stdin ? new StdinStream(this) : null;
        _expectedReplies = 2 + (stdin ? 1 : 0) + (stderr ? 1 : 0) + (tty ? 1 : 0);
    }

    public Stream? Stdin { get; }
    public Stream Stdout { get; }
    public Stream? Stderr { get; }
    public Task<int> Exited => _exited.Task;

    /// <summary>Upgrades <paramref name="url"/> to SPDY and opens the streams the CRI request asked for (stdout always).</summary>
    public static async Task<IExecProcess> OpenAsync(string url, bool stdin, bool stderr, bool tty, CancellationToken ct)
    {
        var uri = new Uri(url);
        if (uri.Scheme != "http")
            throw new StreamingUnavailableException($"the runtime's streaming server {url} is not plain http (enable_tls_streaming is not supported)");
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(uri.Host, uri.Port, ct);
            var session = new CriStreamSession(socket, stdin, stderr, tty);
            await session.UpgradeAsync(uri, ct);
            await session.OpenStreamsAsync(stdin, stderr, tty);
            _ = session.ReadLoopAsync();
            return session;
        }
        catch (Exception e) when (e is SocketException or IOException)
        {
            socket.Dispose();
            throw new StreamingUnavailableException($"the runtime's streaming server {uri.Authority}: {e.Message}");
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private async Task UpgradeAsync(Uri uri, CancellationToken ct)
    {
        var request = $"POST {uri.PathAndQuery} HTTP/1.1\r\nHost: {uri.Authority}\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n" +
                      $"X-Stream-Protocol-Version: {Protocol}\r\nContent-Length: 0\r\n\r\n";
        await _stream.WriteAsync(Encoding.ASCII.GetBytes(request), ct);
        // the response head byte by byte: whatever follows it is already SPDY
        var head = new StringBuilder();
        var one = new byte[1];
        while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
        {
            if (await _stream.ReadAsync(one, ct) == 0) throw new IOException("the streaming server closed the connection during the upgrade");
            head.Append((char)one[0]);
            if (head.Length > 16 * 1024) throw new IOException("the streaming server's response head is too long");
        }
        var status = head.ToString().Split("\r\n")[0];
        if (!status.StartsWith("HTTP/1.1 101", StringComparison.Ordinal))
        {
            var body = new byte[4096];
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(2));
            var n = 0;
            try { n = await _stream.ReadAsync(body, timeout.Token); }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested) { }
            throw new StreamingUnavailableException($"the runtime's streaming server answered {status[9..]}: {Encoding.UTF8.GetString(body, 0, n).Trim()}");
        }
    }

    private async Task OpenStreamsAsync(bool stdin, bool stderr, bool tty)
    {
        await SynStreamAsync(ErrorId, "error");
        if (stdin) await SynStreamAsync(StdinId, "stdin");
        await SynStreamAsync(StdoutId, "stdout");
        if (stderr) await SynStreamAsync(StderrId, "stderr");
        if (tty) await SynStreamAsync(ResizeId, "resize"); // the server waits for it; sizes are not relayed
    }

    private Task SynStreamAsync(uint id, string type)
    {
        var block = _deflate.Compress(Spdy.HeaderBlock(new Dictionary<string, string> { ["streamtype"] = type }));
        // stream id, associated stream id 0, priority 0 and slot 0, then the header block
        byte[] payload = [(byte)(id >> 24), (byte)(id >> 16), (byte)(id >> 8), (byte)id, 0, 0, 0, 0, 0, 0, .. block];
        return SendAsync(Spdy.ControlFrame(Spdy.SynStream, 0, payload));
    }

    private async Task SendAsync(byte[] frame, CancellationToken ct = default)
    {
        await _send.WaitAsync(ct);
        try { await _stream.WriteAsync(frame, ct); }
        finally { _send.Release(); }
    }

    private async Task ReadLoopAsync()
    {
        try
        {
            while (await Spdy.ReadFrameAsync(_stream, CancellationToken.None) is { } frame)
            {
                if (!frame.Control) await OnDataAsync(frame);
                else if (frame.Type is Spdy.SynReply or Spdy.Headers)
                {
                    _inflate.Decompress(frame.Payload.AsSpan(4)); // every header block, to keep the zlib stream in step
                    if (frame.Type == Spdy.SynReply && ++_replies == _expectedReplies) _replied.TrySetResult();
                }
                else if (frame.Type == Spdy.RstStream) await EndStreamAsync(frame.StreamId);
                else if (frame.Type == Spdy.Ping) await SendAsync(Spdy.ControlFrame(Spdy.Ping, 0, frame.Payload));
                else if (frame.Type == Spdy.GoAway) break;
            }
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or InvalidDataException) { }
        _replied.TrySetResult();
        await FinishAsync();
        await EndStreamAsync(StdoutId);
        await EndStreamAsync(StderrId);
    }

    private async Task OnDataAsync(Spdy.Frame frame)
    {
        switch (frame.StreamId)
        {
            case StdoutId when !_stdoutDone:
                await _stdout.Writer.WriteAsync(frame.Payload); // waits while the reader is behind: the connection's backpressure
                break;
            case StderrId when _stderr is not null && !_stderrDone:
                await _stderr.Writer.WriteAsync(frame.Payload);
                break;
            case ErrorId:
                _error.Write(frame.Payload);
                break;
        }
        if (frame.Fin)
        {
            if (frame.StreamId == ErrorId) await FinishAsync();
            await EndStreamAsync(frame.StreamId);
        }
    }

    private async Task EndStreamAsync(uint id)
    {
        if (id == StdoutId && !_stdoutDone)
        {
            _stdoutDone = true;
            await _stdout.Writer.CompleteAsync();
        }
        else if (id == StderrId && _stderr is not null && !_stderrDone)
        {
            _stderrDone = true;
            await _stderr.Writer.CompleteAsync();
        }
    }

    /// <summary>The exit code from the error stream's Status; a failure without one (command not found) is told on stderr.</summary>
    private async Task FinishAsync()
    {
        if (_exited.Task.IsCompleted) return;
        var text = Encoding.UTF8.GetString(_error.ToArray()).Trim();
        if (text.Length == 0)
        {
            _exited.TrySetResult(0);
            return;
        }
        JsonNode? status = null;
        try { status = JsonNode.Parse(text); }
        catch (System.Text.Json.JsonException) { }
        if (status?["status"]?.GetValue<string>() == "Success")
        {
            _exited.TrySetResult(0);
            return;
        }
        if (status?["reason"]?.GetValue<string>() == "NonZeroExitCode"
            && status["details"]?["causes"] is JsonArray causes
            && causes.FirstOrDefault(c => c?["reason"]?.GetValue<string>() == "ExitCode")?["message"]?.GetValue<string>() is { } code
            && int.TryParse(code, out var exit))
        {
            _exited.TrySetResult(exit);
            return;
        }
        var message = status?["message"]?.GetValue<string>() ?? text;
        var failure = Encoding.UTF8.GetBytes(message + "\n");
        // the failure's words where the user sees them (stdout with a terminal), then 126: "cannot execute"
        if (_stderr is not null && !_stderrDone) await _stderr.Writer.WriteAsync(failure);
        else if (_stderr is null && !_stdoutDone) await _stdout.Writer.WriteAsync(failure);
        _exited.TrySetResult(message.Contains("not found", StringComparison.OrdinalIgnoreCase) ? 127 : 126);
    }

    private async Task WriteStdinAsync(ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        await _replied.Task.WaitAsync(ct);
        for (var offset = 0; offset < data.Length; offset += ChunkBytes)
            await SendAsync(Spdy.DataFrame(StdinId, data.Span.Slice(offset, Math.Min(ChunkBytes, data.Length - offset)), fin: false), ct);
    }

    private async Task CloseStdinAsync()
    {
        try
        {
            await _replied.Task;
            await SendAsync(Spdy.DataFrame(StdinId, [], fin: true));
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException) { }
    }

    /// <summary>Closing the connection ends the command: the streaming server cancels the exec and the runtime kills it.</summary>
    public void Kill()
    {
        try { _socket.Shutdown(SocketShutdown.Both); } catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
        _socket.Dispose();
    }

    public void Dispose()
    {
        Kill();
        _stream.Dispose();
        _inflate.Dispose();
        _exited.TrySetResult(137);
    }

    /// <summary>The command's stdin: DATA frames on the stdin stream once the server accepted every stream; Close is its FIN.</summary>
    private sealed class StdinStream(CriStreamSession session) : WriteOnlyStream
    {
        private int _closed;

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken ct = default) => new(session.WriteStdinAsync(buffer, ct));
        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken ct) => session.WriteStdinAsync(buffer.AsMemory(offset, count), ct);
        public override void Write(byte[] buffer, int offset, int count) => session.WriteStdinAsync(buffer.AsMemory(offset, count), default).GetAwaiter().GetResult();

        protected override void Dispose(bool disposing)
        {
            if (disposing && Interlocked.Exchange(ref _closed, 1) == 0) _ = session.CloseStdinAsync();
            base.Dispose(disposing);
        }
    }
}
