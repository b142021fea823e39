using System.Net.Sockets;
using AkkaKube.Actors.ApiServer.Streaming;
using AkkaKube.Actors.Runtime;

namespace AkkaKube.Actors.Kubelet;

/// <summary>
/// One port-forwarded connection as an exec-like session: "stdin" is what the client sends to the pod (closing it
/// half-closes the connection), "stdout" what the pod answers; it "exits" 0 once the pod closed its side.
/// </summary>
public sealed class TcpForward : IExecProcess
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;

    private TcpForward(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: false);
        Stdin = new HalfClose(_stream, socket);
    }

    public static async Task<IExecProcess> ConnectAsync(string ip, int port, string pod, CancellationToken ct)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(System.Net.IPAddress.Parse(ip), port, ct);
            return new TcpForward(socket);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            // the kubelet's words for a port nobody listens on
            throw new StreamingUnavailableException($"error forwarding port {port} to pod {pod}: failed to connect to {ip}:{port}: {e.Message}");
        }
    }

    public Stream? Stdin { get; }
    public Stream Stdout => _stream;
    public Stream? Stderr => null;
    public Task<int> Exited { get; } = Task.FromResult(0); // the session ends when the pod's side of the stream does

    public void Kill() => _socket.Dispose();

    public void Dispose()
    {
        _stream.Dispose();
        _socket.Dispose();
    }

    /// <summary>Writes to the connection; Close shuts down sending only, so the pod still answers.</summary>
    private sealed class HalfClose(NetworkStream stream, Socket socket) : WriteOnlyStream
    {
        public override void Write(byte[] buffer, int offset, int count) => stream.Write(buffer, offset, count);
        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken ct = default) => stream.WriteAsync(buffer, ct);

        protected override void Dispose(bool disposing)
        {
            if (disposing)
                try { socket.Shutdown(SocketShutdown.Send); } catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
            base.Dispose(disposing);
        }
    }
}
