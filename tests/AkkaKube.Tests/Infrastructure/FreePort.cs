using System.Net;
using System.Net.Sockets;

namespace AkkaKube.Tests.Infrastructure;

public static class FreePort
{
    /// <summary>
    /// A free port on the given address (127.0.0.1 by default), below the kernel's ephemeral range so that no
    /// outgoing connection of a parallel test takes it before the node under test binds it.
    /// </summary>
    public static int Next(IPAddress? address = null) => AkkaKube.Cli.LocalClusterLauncher.FreePort(address ?? IPAddress.Loopback);
}

public sealed class TempDir : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("akkakube-test-").FullName;

    /// <summary>AKKAKUBE_TEST_KEEP_DATA=1 keeps every data directory (node logs, journals) for a post-mortem.</summary>
    private static readonly bool Keep = Environment.GetEnvironmentVariable("AKKAKUBE_TEST_KEEP_DATA") == "1";

    public void Dispose()
    {
        if (Keep) return;
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
