using System.Collections.Concurrent;
using System.Net;
using System.Text.Json.Nodes;
using Akka.TestKit.Xunit2;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Cluster;
using AkkaKube.Actors.Machinery;
using AkkaKube.Actors.PodNetwork;

namespace AkkaKube.Tests.PodNetwork;

/// <summary>
/// The node's routed pod network against a route table held in memory (the kernel side is proven on netns hosts by
/// HostsNetnsTests): a route per other Node from its podCIDR and InternalIP, changed with the Node, removed with it, put
/// back after a hand removal, and never one for this node, a loopback range or a Node without an address.
/// </summary>
public sealed class PodRoutesActorTests : TestKit
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);
    private readonly InMemoryKubeApi _api = new();
    private readonly FakeRouteTable _table = new();
    private static readonly NodeOptions Self = new() { NodeName = "worker-a1", NodeIp = IPAddress.Parse("198.18.0.4"), PodCidr = "198.18.4.0/24", PodRoutes = true, DataDirectory = "unused" };

    private static JsonObject Node(string name, string? podCidr, string? ip)
    {
        var addresses = new JsonArray();
        if (ip is not null) addresses.Add(new JsonObject { ["type"] = "InternalIP", ["address"] = ip });
        addresses.Add(new JsonObject { ["type"] = "Hostname", ["address"] = name });
        var spec = new JsonObject();
        if (podCidr is not null) spec["podCIDR"] = podCidr;
        return new JsonObject
        {
            ["apiVersion"] = "v1", ["kind"] = "Node", ["metadata"] = new JsonObject { ["name"] = name },
            ["spec"] = spec, ["status"] = new JsonObject { ["addresses"] = addresses },
        };
    }

    private void AwaitRoutes(params string[] expected) =>
        AwaitAssert(() => Assert.Equal(expected.Order(), _table.Routes.Select(r => $"{r.Key} via {r.Value}").Order()), Wait, TimeSpan.FromMilliseconds(50));

    [Fact]
    public async Task Routes_follow_the_nodes_pod_ranges_and_addresses()
    {
        _table.Routes["10.99.0.0/24"] = "198.18.0.99"; // left by an earlier incarnation for a Node that no longer exists
        await _api.CreateAsync(ApiResource.Nodes, null, Node("worker-a1", "198.18.4.0/24", "198.18.0.4"));
        await _api.CreateAsync(ApiResource.Nodes, null, Node("worker-b1", "198.18.5.0/24", "198.18.0.5"));
        await _api.CreateAsync(ApiResource.Nodes, null, Node("hollow", "127.64.9.0/24", "127.1.0.9"));
        await _api.CreateAsync(ApiResource.Nodes, null, Node("no-address", "198.18.7.0/24", null));
        await _api.CreateAsync(ApiResource.Nodes, null, Node("no-range", null, "198.18.0.8"));
        // A range over the nodes' own subnet would replace the route to the nodes themselves.
        await _api.CreateAsync(ApiResource.Nodes, null, Node("hostile", "198.18.0.0/16", "198.18.0.9"));
        Sys.ActorOf(PodRoutesActor.Props(Self, _api, _table, TimeSpan.FromMilliseconds(300)));

        // Only worker-b1: not itself, not a loopback range, not a Node without address or range, not one over the nodes' subnet; the stale one removed.
        AwaitRoutes("198.18.5.0/24 via 198.18.0.5");

        await _api.CreateAsync(ApiResource.Nodes, null, Node("worker-c1", "198.18.6.0/24", "198.18.0.6"));
        AwaitRoutes("198.18.5.0/24 via 198.18.0.5", "198.18.6.0/24 via 198.18.0.6");

        // A Node's new address moves the next hop; a deleted Node takes its route with it.
        var c1 = await _api.GetAsync(ApiResource.Nodes, null, "worker-c1");
        c1["status"]!["addresses"]![0]!["address"] = "198.18.0.16";
        await _api.UpdateAsync(ApiResource.Nodes, null, c1, "status");
        AwaitRoutes("198.18.5.0/24 via 198.18.0.5", "198.18.6.0/24 via 198.18.0.16");
        await _api.DeleteAsync(ApiResource.Nodes, null, "worker-b1");
        AwaitRoutes("198.18.6.0/24 via 198.18.0.16");

        // Removed by hand: the periodic resync puts it back.
        _table.Routes.TryRemove("198.18.6.0/24", out _);
        AwaitRoutes("198.18.6.0/24 via 198.18.0.16");
    }

    [Fact]
    public async Task A_failing_route_table_is_retried_at_the_next_resync()
    {
        _table.FailuresLeft = 2;
        await _api.CreateAsync(ApiResource.Nodes, null, Node("worker-b1", "198.18.5.0/24", "198.18.0.5"));
        Sys.ActorOf(PodRoutesActor.Props(Self, _api, _table, TimeSpan.FromMilliseconds(200)));
        AwaitRoutes("198.18.5.0/24 via 198.18.0.5");
        Assert.Equal(0, _table.FailuresLeft);
    }

    [Theory]
    [InlineData("198.18.6.0/24 via 198.18.0.6 dev eth0 proto 177 ", "198.18.6.0/24", "198.18.0.6")]
    [InlineData("10.1.2.3 via 10.0.0.1 dev eth0 proto 177", "10.1.2.3/32", "10.0.0.1")]
    public void Ip_route_lines_are_parsed(string line, string cidr, string via) =>
        Assert.Equal(new PodRoute(cidr, via), Assert.Single(PodRouteTable.Parse(line + "\nlocal 198.18.4.0/24 dev lo proto 177 scope host\n")));

    private sealed class FakeRouteTable : IPodRouteTable
    {
        public readonly ConcurrentDictionary<string, string> Routes = new();
        public int FailuresLeft;

        public Task<IReadOnlyList<PodRoute>> ListAsync(CancellationToken ct = default)
        {
            if (FailuresLeft > 0 && Interlocked.Decrement(ref FailuresLeft) >= 0) throw new InvalidOperationException("RTNETLINK answers: Operation not permitted");
            return Task.FromResult<IReadOnlyList<PodRoute>>(Routes.Select(r => new PodRoute(r.Key, r.Value)).ToList());
        }

        public Task ReplaceAsync(PodRoute route, CancellationToken ct = default)
        {
            Routes[route.Cidr] = route.Via;
            return Task.CompletedTask;
        }

        public Task DeleteAsync(PodRoute route, CancellationToken ct = default)
        {
            Routes.TryRemove(new KeyValuePair<string, string>(route.Cidr, route.Via));
            return Task.CompletedTask;
        }
    }
}
