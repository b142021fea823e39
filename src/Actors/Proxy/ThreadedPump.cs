using System.Buffers;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace AkkaKube.Actors.Proxy;

/// <summary>
/// The fast copy path of <see cref="ForwardingListener"/> (Linux): one dedicated thread per direction doing
/// blocking recv(2)/send(2) on the raw descriptors. Compared with async socket calls this saves, per message,
/// the epoll wake-up, the thread-pool hand-off and the extra recv that ends in EAGAIN: the kernel wakes the
/// pumping thread itself when data arrives. Used for up to <see cref="ConnectionSet.MaxThreadedConnections"/>
/// connections per process; beyond that the listener falls back to the async pump.
/// Safety: each pump holds a reference on both SafeHandles while it runs, so a concurrent Dispose cannot close a
/// descriptor under a blocked call (or let the number be reused); waking a blocked pump is done with
/// Socket.Shutdown(Both), which makes its recv return.
/// </summary>
internal static class ThreadedPump
{
    private const int FGetFl = 3;
    private const int FSetFl = 4;
    private const int ONonBlock = 0x800;
    private const int MsgNoSignal = 0x4000;
    private const int EIntr = 4;

    [DllImport("libc", EntryPoint = "recv", SetLastError = true)]
    private static extern nint Recv(int fd, ref byte buffer, nint length, int flags);

    [DllImport("libc", EntryPoint = "send", SetLastError = true)]
    private static extern nint Send(int fd, ref byte buffer, nint length, int flags);

    [DllImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static extern int Fcntl(int fd, int command, int argument);

    public static bool Supported => OperatingSystem.IsLinux() && (RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.Arm64);

    /// <summary>Puts the socket's descriptor in blocking mode (the async engine is not used on it afterwards).</summary>
    public static bool TryMakeBlocking(Socket socket)
    {
        var added = false;
        try
        {
            socket.SafeHandle.DangerousAddRef(ref added);
            var fd = (int)socket.SafeHandle.DangerousGetHandle();
            var flags = Fcntl(fd, FGetFl, 0);
            if (flags < 0) return false;
            return (flags & ONonBlock) == 0 || Fcntl(fd, FSetFl, flags & ~ONonBlock) == 0;
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
        finally
        {
            if (added) socket.SafeHandle.DangerousRelease();
        }
    }

    /// <summary>
    /// Copies from → to on the calling (dedicated) thread until EOF, then half-closes towards <paramref name="to"/>.
    /// Returns false when the flow broke (a reset, an error, a disposed socket): then both sockets were shut down,
    /// which also wakes the opposite pump.
    /// </summary>
    public static bool Pump(Socket from, Socket to, int bufferSize)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(bufferSize);
        bool fromRef = false, toRef = false;
        try
        {
            from.SafeHandle.DangerousAddRef(ref fromRef);
            to.SafeHandle.DangerousAddRef(ref toRef);
            var fromFd = (int)from.SafeHandle.DangerousGetHandle();
            var toFd = (int)to.SafeHandle.DangerousGetHandle();
            while (true)
            {
                var read = Recv(fromFd, ref buffer[0], buffer.Length, 0);
                if (read == 0) break;
                if (read < 0)
                {
                    if (Marshal.GetLastPInvokeError() == EIntr) continue;
                    return Broken(from, to);
                }
                nint sent = 0;
                while (sent < read)
                {
                    var n = Send(toFd, ref buffer[(int)sent], read - sent, MsgNoSignal);
                    if (n < 0)
                    {
                        if (Marshal.GetLastPInvokeError() == EIntr) continue;
                        return Broken(from, to);
                    }
                    sent += n;
                }
            }
            try { to.Shutdown(SocketShutdown.Send); }
            catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
            return true;
        }
        catch (ObjectDisposedException)
        {
            return Broken(from, to);
        }
        finally
        {
            if (fromRef) from.SafeHandle.DangerousRelease();
            if (toRef) to.SafeHandle.DangerousRelease();
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static bool Broken(Socket a, Socket b)
    {
        Wake(a);
        Wake(b);
        return false;
    }

    /// <summary>Makes a recv blocked on <paramref name="socket"/> return (shutdown of both directions).</summary>
    public static void Wake(Socket socket)
    {
        try { socket.Shutdown(SocketShutdown.Both); }
        catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
    }
}
