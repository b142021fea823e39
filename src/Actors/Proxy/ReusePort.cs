using System.Net;
using System.Net.Sockets;

namespace AkkaKube.Actors.Proxy;

/// <summary>
/// Listening sockets that several proxies (processes or listeners) may bind on the same IP:port at once.
/// Linux SO_REUSEPORT: the kernel spreads new connections over every socket bound to the address, and a
/// closed socket (a stopped listener, a dead node process) simply drops out of the group.
/// </summary>
public static class ReusePort
{
    private const int SolSocket = 1;
    private const int SoReusePort = 15;

    public static Socket Listen(IPEndPoint endpoint, int backlog = 512)
    {
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (OperatingSystem.IsLinux())
                socket.SetRawSocketOption(SolSocket, SoReusePort, BitConverter.GetBytes(1));
            else
                socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            socket.NoDelay = true;
            socket.Bind(endpoint);
            socket.Listen(backlog);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
