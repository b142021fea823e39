using System.Net;
using System.Net.Sockets;

namespace AkkaKube.Tests.Infrastructure;

public static class FreePort
{
    /// <summary>A port the OS just handed out on the given address (127.0.0.1 by default).</summary>
    public static int Next(IPAddress? address = null)
    {
        using var listener = new TcpListener(address ?? IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

public sealed class TempDir : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("akkakube-test-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
