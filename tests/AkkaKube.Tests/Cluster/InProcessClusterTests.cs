using Akka.Actor;
using Akka.Cluster;
using AkkaKube.Actors;
using AkkaKube.Actors.Cluster;
using AkkaKube.Actors.Security;
using AkkaKube.Host;
using AkkaKube.Tests.Infrastructure;

namespace AkkaKube.Tests.ClusterSpecs;

/// <summary>Three ActorSystems (port 0) built from the node's real HOCON layers and remoting TLS join one cluster.</summary>
public sealed class InProcessClusterTests : IAsyncLifetime
{
    private readonly TempDir _dir = new();
    private readonly List<ActorSystem> _systems = [];

    public Task InitializeAsync()
    {
        var specs = new[] { ("cp-1", true, false, "zone-a"), ("worker-a1", false, true, "zone-a"), ("worker-b1", false, true, "zone-b") };
        foreach (var (name, cp, worker, zone) in specs)
        {
            var options = new NodeOptions
            {
                NodeName = name, ControlPlane = cp, Worker = worker, Zone = zone,
                NodeIp = System.Net.IPAddress.Loopback, RemotingPort = 0, DataDirectory = _dir.Path, RemotingTls = true,
            };
            _systems.Add(ActorSystem.Create(AkkaKubeNames.SystemName, RemotingTls.SystemSetup(options, NodeConfig.Build(options, NodeHost.HoconDirectory))));
        }
        var first = Akka.Cluster.Cluster.Get(_systems[0]).SelfAddress;
        foreach (var s in _systems) Akka.Cluster.Cluster.Get(s).Join(first);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Three_systems_join_one_cluster_and_every_member_sees_every_role_and_zone()
    {
        var expected = new Dictionary<string, (string Role, string Zone)>
        {
            [Akka.Cluster.Cluster.Get(_systems[0]).SelfAddress.ToString()] = ("control-plane", "zone-a"),
            [Akka.Cluster.Cluster.Get(_systems[1]).SelfAddress.ToString()] = ("worker", "zone-a"),
            [Akka.Cluster.Cluster.Get(_systems[2]).SelfAddress.ToString()] = ("worker", "zone-b"),
        };
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                foreach (var s in _systems)
                {
                    var members = Akka.Cluster.Cluster.Get(s).State.Members.Where(m => m.Status == MemberStatus.Up).ToList();
                    Assert.Equal(3, members.Count);
                    foreach (var m in members)
                    {
                        var (role, zone) = expected[m.Address.ToString()];
                        Assert.Contains(role, m.Roles);
                        Assert.Contains(AkkaKubeNames.Roles.Zone(zone), m.Roles);
                        Assert.Equal(zone, AkkaKubeNames.Roles.ZoneOf(m.Roles));
                        Assert.Equal("local", AkkaKubeNames.Roles.RegionOf(m.Roles));
                    }
                }
                return;
            }
            catch (Exception) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(200);
            }
        }
    }

    public async Task DisposeAsync()
    {
        await Task.WhenAll(_systems.Select(s => s.Terminate().WaitAsync(TimeSpan.FromSeconds(20))));
        _dir.Dispose();
    }
}
