using AkkaKube.Actors.Cluster;
using AkkaKube.Host;
using AkkaKube.Tests.Infrastructure;
using Microsoft.Extensions.Hosting;

namespace AkkaKube.Tests.Store;

/// <summary>
/// A control-plane-only node in this process (the real NodeHost). Kestrel is pinned to a free port with
/// --urls so no test depends on the default port 5000 being free.
/// </summary>
public static class StoreNode
{
    public static async Task<IHost> StartAsync(string name, string dataDirectory, int remotingPort = 0,
        IReadOnlyList<string>? seeds = null, IReadOnlyList<string>? configFiles = null)
    {
        var apiPort = FreePort.Next();
        var host = NodeHost.Build(new NodeOptions
        {
            NodeName = name,
            ControlPlane = true,
            Worker = false,
            RemotingPort = remotingPort,
            SeedNodes = seeds ?? [],
            ApiPort = apiPort,
            CmdPort = FreePort.Next(),
            DataDirectory = dataDirectory,
            ConfigFiles = configFiles ?? [],
        }, ["--urls", $"http://127.0.0.1:{apiPort}"]);
        await host.StartAsync();
        return host;
    }
}
