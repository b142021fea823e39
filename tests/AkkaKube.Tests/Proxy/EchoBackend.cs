using System.Net;
using System.Net.Sockets;
using System.Text;

namespace AkkaKube.Tests.Proxy;

/// <summary>
/// A test backend on a loopback address: greets each connection with "name\n", then echoes every line
/// back; on EOF from the client it answers "bye name after N bytes\n" and closes (to check half-close).
/// </summary>
public sealed class EchoBackend : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private int _connections;

    public EchoBackend(string name, IPAddress? address = null)
    {
        Name = name;
        _listener = new TcpListener(address ?? IPAddress.Loopback, 0);
        _listener.Start();
        EndPoint = (IPEndPoint)_listener.LocalEndpoint;
        _loop = Task.Run(AcceptAsync);
    }

    public string Name { get; }
    public IPEndPoint EndPoint { get; }
    public int Connections => Volatile.Read(ref _connections);

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try { socket = await _listener.AcceptSocketAsync(_stop.Token); }
            catch (Exception) { return; }
            Interlocked.Increment(ref _connections);
            _ = Task.Run(() => ServeAsync(socket));
        }
    }

    private async Task ServeAsync(Socket socket)
    {
        try
        {
            await using var stream = new NetworkStream(socket, ownsSocket: true);
            await stream.WriteAsync(Encoding.ASCII.GetBytes(Name + "\n"));
            var buffer = new byte[8192];
            long total = 0;
            while (true)
            {
                var read = await stream.ReadAsync(buffer, _stop.Token);
                if (read == 0) break;
                total += read;
                await stream.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
            }
            await stream.WriteAsync(Encoding.ASCII.GetBytes($"bye {Name} after {total} bytes\n"));
            socket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception)
        {
            // a test closed the connection abruptly
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        try { await _loop; } catch (Exception) { }
        _stop.Dispose();
    }
}

/// <summary>A client connection through a proxy frontend, line-oriented.</summary>
public sealed class LineClient : IDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly StreamReader _reader;

    private LineClient(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        _reader = new StreamReader(_stream, Encoding.ASCII);
    }

    public static async Task<LineClient> ConnectAsync(IPEndPoint frontend, IPAddress? source = null)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        if (source is not null) socket.Bind(new IPEndPoint(source, 0));
        await socket.ConnectAsync(frontend).WaitAsync(TimeSpan.FromSeconds(10));
        return new LineClient(socket);
    }

    public async Task<string?> ReadLineAsync() => await _reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(10));

    public async Task SendLineAsync(string line) => await _stream.WriteAsync(Encoding.ASCII.GetBytes(line + "\n"));

    public void ShutdownSend() => _socket.Shutdown(SocketShutdown.Send);

    /// <summary>Connects, reads the greeting (the backend's name), closes.</summary>
    public static async Task<string?> GreetingAsync(IPEndPoint frontend, IPAddress? source = null)
    {
        using var client = await ConnectAsync(frontend, source);
        return await client.ReadLineAsync();
    }

    public void Dispose()
    {
        _reader.Dispose();
        _stream.Dispose();
    }
}
