using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace AkkaKube.Actors.Proxy;

/// <summary>
/// Established proxied connections, shared by every listener of one proxy: connections outlive the listener
/// that accepted them (a listener swap or an endpoint change never drops them, as conntrack keeps flows in
/// kube-proxy's iptables mode) and end when either side closes — or when the proxy itself stops.
/// </summary>
public sealed class ConnectionSet
{
    private readonly ConcurrentDictionary<long, (Socket Client, Socket Backend)> _open = new();
    private long _ids;
    private long _accepted;

    public int Active => _open.Count;
    public long Accepted => Interlocked.Read(ref _accepted);

    internal long Add(Socket client, Socket backend)
    {
        Interlocked.Increment(ref _accepted);
        var id = Interlocked.Increment(ref _ids);
        _open[id] = (client, backend);
        ProxyMetrics.Accepted.Inc();
        ProxyMetrics.Active.Inc();
        return id;
    }

    internal void Remove(long id)
    {
        if (_open.TryRemove(id, out _)) ProxyMetrics.Active.Dec();
    }

    /// <summary>
    /// Connections of this set copied by dedicated threads (<see cref="ThreadedPump"/>, two threads each, Linux
    /// only); further connections use the async pump. 0 (the default): always the async pump. An experiment kept
    /// for the benchmark: on the shared 2-core machine it was no faster than the async pump (docs/performance.md).
    /// Per set, not per process, so two proxies (or two tests) never share the budget.
    /// </summary>
    public int MaxThreadedConnections
    {
        get => _maxThreaded;
        set => _maxThreaded = ThreadedPump.Supported ? Math.Max(0, value) : 0;
    }

    private volatile int _maxThreaded;
    private int _threadedConnections;

    /// <summary>Takes one of this set's threaded-pump slots (false when all are taken).</summary>
    internal bool TryTakeThreadSlot()
    {
        if (Interlocked.Increment(ref _threadedConnections) <= _maxThreaded) return true;
        Interlocked.Decrement(ref _threadedConnections);
        return false;
    }

    internal void ReturnThreadSlot() => Interlocked.Decrement(ref _threadedConnections);

    /// <summary>Closes every established connection (the proxy is stopping).</summary>
    public void CloseAll()
    {
        foreach (var (id, pair) in _open)
        {
            // a threaded pump blocked in recv holds the descriptors open until woken: shut both down first
            ThreadedPump.Wake(pair.Client);
            ThreadedPump.Wake(pair.Backend);
            ForwardingListener.Abort(pair.Client);
            ForwardingListener.Abort(pair.Backend);
            if (_open.TryRemove(id, out _)) ProxyMetrics.Active.Dec();
        }
    }
}

/// <summary>
/// One frontend (an IP:port a service answers on) that really forwards TCP: accepts with SO_REUSEPORT,
/// tries the balancer's candidates in order (a backend that refuses or does not answer within the connect
/// timeout is skipped), then copies bytes both ways with half-close (a FIN from one side becomes a
/// shutdown(SEND) towards the other; the pair closes when both directions ended or either side resets).
/// Usable without actors (tests, bench); <see cref="ServiceListenerActor"/> drives it in the proxy.
/// </summary>
public sealed class ForwardingListener : IAsyncDisposable
{
    private const int BufferSize = 32 * 1024;

    private readonly Socket _socket;
    private readonly EndpointBalancer _balancer;
    private readonly ConnectionSet _connections;
    private readonly TimeSpan _connectTimeout;
    private readonly Action<string>? _warn;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _acceptLoop;

    private ForwardingListener(Socket socket, EndpointBalancer balancer, ConnectionSet connections, TimeSpan connectTimeout, Action<string>? warn)
    {
        _socket = socket;
        _balancer = balancer;
        _connections = connections;
        _connectTimeout = connectTimeout;
        _warn = warn;
        LocalEndPoint = (IPEndPoint)socket.LocalEndPoint!;
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    public IPEndPoint LocalEndPoint { get; }
    public EndpointBalancer Balancer => _balancer;

    /// <summary>Binds <paramref name="frontend"/> (SO_REUSEPORT) and starts accepting. Throws SocketException when the bind fails.</summary>
    public static ForwardingListener Start(
        IPEndPoint frontend, BalancerRules rules, ConnectionSet? connections = null,
        TimeSpan? connectTimeout = null, Action<string>? warn = null) =>
        new(ReusePort.Listen(frontend), new EndpointBalancer(rules), connections ?? new ConnectionSet(),
            connectTimeout ?? TimeSpan.FromSeconds(2), warn);

    public void Update(BalancerRules rules) => _balancer.Update(rules);

    /// <summary>Stops accepting; established connections keep running.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_stop.IsCancellationRequested) return;
        _stop.Cancel();
        _socket.Dispose();
        try { await _acceptLoop.ConfigureAwait(false); }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException) { }
        _stop.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        var ct = _stop.Token;
        while (!ct.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _socket.AcceptAsync(ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException e)
            {
                if (ct.IsCancellationRequested) return;
                _warn?.Invoke($"accept on {LocalEndPoint} failed: {e.SocketErrorCode}");
                continue;
            }
            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(Socket client)
    {
        client.NoDelay = true;
        var clientIp = (client.RemoteEndPoint as IPEndPoint)?.Address;
        Socket? backend = null;
        foreach (var candidate in _balancer.Candidates(clientIp))
        {
            backend = await TryConnectAsync(candidate).ConfigureAwait(false);
            if (backend is null) continue;
            _balancer.Connected(clientIp, candidate);
            break;
        }
        if (backend is null)
        {
            _warn?.Invoke($"{LocalEndPoint}: no endpoint accepted the connection from {clientIp}");
            Abort(client);
            return;
        }
        var id = _connections.Add(client, backend);
        try
        {
            if (_connections.MaxThreadedConnections > 0 && _connections.TryTakeThreadSlot())
            {
                try
                {
                    // fcntl fails only on a socket already closed: then the flow is gone anyway
                    if (ThreadedPump.TryMakeBlocking(client) && ThreadedPump.TryMakeBlocking(backend))
                        await Task.WhenAll(RunThreadedAsync(client, backend), RunThreadedAsync(backend, client)).ConfigureAwait(false);
                    else
                    {
                        Abort(client);
                        Abort(backend);
                    }
                    return;
                }
                finally
                {
                    _connections.ReturnThreadSlot();
                }
            }
            await Task.WhenAll(PumpAsync(client, backend), PumpAsync(backend, client)).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
        {
        }
        finally
        {
            _connections.Remove(id);
            client.Dispose();
            backend.Dispose();
        }
    }

    private async Task<Socket?> TryConnectAsync(Backend candidate)
    {
        var socket = new Socket(candidate.Address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var timeout = new CancellationTokenSource(_connectTimeout);
        try
        {
            await socket.ConnectAsync(candidate.EndPoint, timeout.Token).ConfigureAwait(false);
            return socket;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            socket.Dispose();
            return null;
        }
    }

    /// <summary>One direction on its own thread; a broken flow closes both sockets with a reset.</summary>
    private static Task RunThreadedAsync(Socket from, Socket to)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                if (!ThreadedPump.Pump(from, to, BufferSize))
                {
                    Abort(from);
                    Abort(to);
                }
            }
            finally
            {
                done.SetResult();
            }
        }, 256 * 1024)
        { IsBackground = true, Name = "proxy-pump" };
        thread.Start();
        return done.Task;
    }

    /// <summary>Copies from → to until EOF, then half-closes towards <paramref name="to"/>. A failure aborts both sockets.</summary>
    private static async Task PumpAsync(Socket from, Socket to)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer.AsMemory(), SocketFlags.None).ConfigureAwait(false);
                if (read == 0) break;
                var sent = 0;
                while (sent < read)
                    sent += await to.SendAsync(buffer.AsMemory(sent, read - sent), SocketFlags.None).ConfigureAwait(false);
            }
            try { to.Shutdown(SocketShutdown.Send); }
            catch (SocketException) { }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            Abort(from);
            Abort(to);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Closes with a reset (linger 0), like a rejected or broken flow.</summary>
    internal static void Abort(Socket socket)
    {
        try { socket.LingerState = new LingerOption(true, 0); }
        catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
        socket.Dispose();
    }
}
