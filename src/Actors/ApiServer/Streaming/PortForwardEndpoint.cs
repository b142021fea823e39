using System.Net.WebSockets;
using System.Threading.Channels;
using Akka.Actor;
using AkkaKube.Actors.Machinery;
using Microsoft.AspNetCore.Http;
using static AkkaKube.Actors.Kubelet.KubeletProtocol;

namespace AkkaKube.Actors.ApiServer.Streaming;

/// <summary>
/// pods/{name}/portforward as kubectl v1.32 speaks it: a WebSocket with subprotocol "SPDY/3.1+portforward.k8s.io"
/// carrying a SPDY/3.1 connection (<see cref="Spdy"/>). Each forwarded local connection opens two streams with the same
/// requestid header: "error" (text of a failure, then FIN) and "data" (the bytes). A data stream becomes a
/// <see cref="StartPortForward"/> session on the pod's kubelet through a <see cref="StreamRelay"/>, as exec's does.
/// </summary>
public static class PortForwardEndpoint
{
    public const string Protocol = "SPDY/3.1+portforward.k8s.io";

    public static async Task ServeAsync(HttpContext ctx, ActorSystem system, string ns, string name)
    {
        var (_, nodeName, kubelet) = await PodLogEndpoint.KubeletOfPodAsync(system, ns, name, ctx.RequestAborted);
        if (kubelet is null) throw PodLogEndpoint.NoKubelet(nodeName);
        if (!ctx.WebSockets.IsWebSocketRequest)
            throw ApiException.BadRequest("port-forward is served over WebSocket (SPDY/3.1+portforward.k8s.io), not SPDY/3.1 upgrades; leave KUBECTL_PORT_FORWARD_WEBSOCKETS unset or true");
        if (!ctx.WebSockets.WebSocketRequestedProtocols.Contains(Protocol))
            throw ApiException.BadRequest($"unable to upgrade: none of the requested subprotocols [{string.Join(", ", ctx.WebSockets.WebSocketRequestedProtocols)}] is served (serving {Protocol})");

        // .NET refuses '/' in a subprotocol (not an RFC 6455 token), kubectl sends it: the header is set by hand instead
        ctx.Response.Headers.SecWebSocketProtocol = Protocol;
        using var socket = await ctx.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext { KeepAliveInterval = TimeSpan.FromSeconds(30) });
        await using var connection = new Connection(socket, system, kubelet, ns, name, ctx.RequestAborted);
        await connection.RunAsync();
    }

    /// <summary>One SPDY connection: its frames in, its forwarded connections (by requestid), one writer at a time.</summary>
    private sealed class Connection(WebSocket socket, ActorSystem system, ActorSelection kubelet, string ns, string pod, CancellationToken aborted) : IAsyncDisposable
    {
        private readonly SemaphoreSlim _send = new(1, 1);
        private readonly Spdy.HeaderDecompressor _inflate = new();
        private readonly Spdy.HeaderCompressor _deflate = new();
        private readonly Dictionary<string, Forward> _byRequest = new(StringComparer.Ordinal);
        private readonly Dictionary<uint, Forward> _byData = new();
        private readonly CancellationTokenSource _done = CancellationTokenSource.CreateLinkedTokenSource(aborted);

        private sealed class Forward
        {
            public uint ErrorStream;
            public uint DataStream;
            public IActorRef? Relay;
            public readonly SemaphoreSlim Window = new(StreamWindow, StreamWindow);
        }

        public async Task RunAsync()
        {
            await using var input = new WebSocketInput(socket);
            try
            {
                while (await Spdy.ReadFrameAsync(input, _done.Token) is { } frame)
                {
                    if (!frame.Control) await OnDataAsync(frame);
                    else if (frame.Type == Spdy.SynStream) await OnSynStreamAsync(frame);
                    else if (frame.Type == Spdy.RstStream && _byData.Remove(frame.StreamId, out var reset) && reset.Relay is { } r) system.Stop(r);
                    else if (frame.Type == Spdy.Ping) await SendAsync(Spdy.ControlFrame(Spdy.Ping, 0, frame.Payload));
                    else if (frame.Type == Spdy.GoAway) break;
                    // SETTINGS, HEADERS, WINDOW_UPDATE: nothing to do (no flow control on either side)
                }
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException or InvalidDataException) { }
        }

        private async Task OnSynStreamAsync(Spdy.Frame frame)
        {
            var headers = Spdy.ParseHeaderBlock(_inflate.Decompress(Spdy.SynStreamHeaderBlock(frame).Span));
            await SendAsync(Spdy.ControlFrame(Spdy.SynReply, 0, [.. StreamIdBytes(frame.StreamId), .. _deflate.Compress(Spdy.HeaderBlock(new Dictionary<string, string>()))]));
            var requestId = headers.GetValueOrDefault("requestid") ?? "";
            if (!_byRequest.TryGetValue(requestId, out var forward)) _byRequest[requestId] = forward = new Forward();
            var type = headers.GetValueOrDefault("streamtype");
            if (type == "error") forward.ErrorStream = frame.StreamId;
            else if (type == "data")
            {
                forward.DataStream = frame.StreamId;
                _byData[frame.StreamId] = forward;
                if (!int.TryParse(headers.GetValueOrDefault("port"), out var port) || port is < 1 or > 65535)
                {
                    await FailAsync(forward, $"invalid port header \"{headers.GetValueOrDefault("port")}\"");
                    return;
                }
                var toClient = Channel.CreateUnbounded<object>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
                forward.Relay = system.ActorOf(StreamRelay.Props(toClient.Writer, forward.Window, kubelet, new StartPortForward(ns, pod, port)));
                _ = PumpAsync(forward, toClient.Reader);
            }
        }

        private async Task OnDataAsync(Spdy.Frame frame)
        {
            if (!_byData.TryGetValue(frame.StreamId, out var forward) || forward.Relay is not { } relay) return; // error stream's FIN, or ended
            if (frame.Payload.Length > 0)
            {
                await forward.Window.WaitAsync(_done.Token);
                relay.Tell(new StreamRelay.ToKubelet(new StreamData(RemoteCommand.Stdin, frame.Payload)));
            }
            if (frame.Fin) relay.Tell(new StreamRelay.ToKubelet(StreamCloseStdin.Instance));
        }

        /// <summary>Kubelet → client for one forwarded connection: DATA frames, then FIN on data and error streams.</summary>
        private async Task PumpAsync(Forward forward, ChannelReader<object> fromKubelet)
        {
            try
            {
                await foreach (var message in fromKubelet.ReadAllAsync(_done.Token))
                {
                    switch (message)
                    {
                        case StreamData d:
                            await SendAsync(Spdy.DataFrame(forward.DataStream, d.Data, fin: false));
                            forward.Relay?.Tell(new StreamRelay.ToKubelet(StreamAck.Instance));
                            break;
                        case StreamRefused refused:
                            await FailAsync(forward, refused.Message);
                            return;
                    }
                }
                await SendAsync(Spdy.DataFrame(forward.DataStream, [], fin: true));
                if (forward.ErrorStream != 0) await SendAsync(Spdy.DataFrame(forward.ErrorStream, [], fin: true));
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException) { }
            finally
            {
                if (forward.Relay is { } relay) system.Stop(relay);
            }
        }

        /// <summary>The failure's text on the error stream (kubectl prints it), then both streams finished.</summary>
        private async Task FailAsync(Forward forward, string message)
        {
            if (forward.ErrorStream != 0) await SendAsync(Spdy.DataFrame(forward.ErrorStream, System.Text.Encoding.UTF8.GetBytes(message), fin: true));
            await SendAsync(Spdy.DataFrame(forward.DataStream, [], fin: true));
        }

        private static byte[] StreamIdBytes(uint id) => [(byte)(id >> 24 & 0x7f), (byte)(id >> 16), (byte)(id >> 8), (byte)id];

        private async Task SendAsync(byte[] frame)
        {
            await _send.WaitAsync(_done.Token);
            try { await socket.SendAsync(frame, WebSocketMessageType.Binary, true, _done.Token); }
            finally { _send.Release(); }
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var f in _byRequest.Values)
                if (f.Relay is { } relay) system.Stop(relay);
            await _done.CancelAsync();
            if (socket.State == WebSocketState.Open)
                try { await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None); } catch (WebSocketException) { }
            _inflate.Dispose();
            _done.Dispose();
        }
    }

    /// <summary>The WebSocket's binary messages read as one byte stream (the tunneled SPDY connection); 0 at its close.</summary>
    private sealed class WebSocketInput(WebSocket socket) : ReadOnlyStream
    {
        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default)
        {
            while (true)
            {
                if (socket.State is not (WebSocketState.Open or WebSocketState.CloseSent)) return 0;
                var r = await socket.ReceiveAsync(buffer, ct);
                if (r.MessageType == WebSocketMessageType.Close) return 0;
                if (r.Count > 0) return r.Count;
            }
        }

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();
    }
}
