using System.Net;
using AkkaKube.Actors.Proxy;
using AkkaKube.Tests.Infrastructure;

namespace AkkaKube.Tests.Proxy;

public sealed class ForwardingListenerTests : IAsyncLifetime
{
    private readonly List<IAsyncDisposable> _owned = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var owned in Enumerable.Reverse(_owned))
            await owned.DisposeAsync();
    }

    /// <summary>A frontend address of its own per test (a service IP in 127.128.0.0/16) and a free port on it.</summary>
    private static IPEndPoint NewFrontend()
    {
        var ip = new IPAddress([127, 128, (byte)Random.Shared.Next(100, 250), (byte)Random.Shared.Next(2, 250)]);
        return new IPEndPoint(ip, FreePort.Next(ip));
    }

    private EchoBackend Backend(string name)
    {
        var b = new EchoBackend(name);
        _owned.Add(b);
        return b;
    }

    private ForwardingListener Listen(IPEndPoint frontend, BalancerRules rules, ConnectionSet? connections = null)
    {
        var l = ForwardingListener.Start(frontend, rules, connections);
        _owned.Add(l);
        return l;
    }

    private static Backend ToBackend(EchoBackend b) => new(b.EndPoint.Address, b.EndPoint.Port);

    /// <summary>An endpoint on which nothing listens: connecting to it is refused at once.</summary>
    private static Backend Refusing() => new(IPAddress.Loopback, FreePort.Next());

    [Fact]
    public async Task Connections_are_spread_round_robin_over_three_backends()
    {
        var backends = new[] { Backend("a"), Backend("b"), Backend("c") };
        var frontend = NewFrontend();
        Listen(frontend, new BalancerRules(backends.Select(ToBackend).ToList()));

        var seen = new List<string?>();
        for (var i = 0; i < 9; i++)
            seen.Add(await LineClient.GreetingAsync(frontend));

        Assert.Equal(3, seen.Count(s => s == "a"));
        Assert.Equal(3, seen.Count(s => s == "b"));
        Assert.Equal(3, seen.Count(s => s == "c"));
        // strict rotation: each window of three consecutive connections hits all three
        for (var i = 0; i + 3 <= seen.Count; i += 3)
            Assert.Equal(3, seen.Skip(i).Take(3).Distinct().Count());
    }

    [Fact]
    public async Task A_refusing_backend_is_skipped_and_every_connection_is_served()
    {
        var a = Backend("a");
        var b = Backend("b");
        var frontend = NewFrontend();
        Listen(frontend, new BalancerRules([ToBackend(a), Refusing(), ToBackend(b), Refusing()]));

        for (var i = 0; i < 12; i++)
            Assert.Contains(await LineClient.GreetingAsync(frontend), new[] { "a", "b" });
        Assert.True(a.Connections > 0 && b.Connections > 0);
    }

    [Theory]
    [InlineData(0)]  // the async pump
    [InlineData(16)] // the threaded pump (Linux): new connections of this set take it
    public async Task Bytes_flow_both_ways_and_a_half_close_still_gets_the_backends_answer(int maxThreadedConnections)
    {
        var a = Backend("a");
        var frontend = NewFrontend();
        Listen(frontend, new BalancerRules([ToBackend(a)]), new ConnectionSet { MaxThreadedConnections = maxThreadedConnections });

        using var client = await LineClient.ConnectAsync(frontend);
        Assert.Equal("a", await client.ReadLineAsync());
        var big = new string('x', 200_000);
        await client.SendLineAsync(big);
        Assert.Equal(big, await client.ReadLineAsync());
        client.ShutdownSend();
        Assert.Equal("bye a after 200001 bytes", await client.ReadLineAsync());
        Assert.Null(await client.ReadLineAsync());
    }

    [Fact]
    public async Task Swapping_the_listener_and_its_endpoints_keeps_an_established_connection_alive()
    {
        var old = Backend("old");
        var fresh = Backend("new");
        var frontend = NewFrontend();
        var connections = new ConnectionSet();
        var first = Listen(frontend, new BalancerRules([ToBackend(old)]), connections);

        using var established = await LineClient.ConnectAsync(frontend);
        Assert.Equal("old", await established.ReadLineAsync());

        // make-before-break: the replacement binds the same IP:port, then the first one stops
        Listen(frontend, new BalancerRules([ToBackend(fresh)]), connections);
        await first.DisposeAsync();

        await established.SendLineAsync("still here");
        Assert.Equal("still here", await established.ReadLineAsync());
        for (var i = 0; i < 5; i++)
            Assert.Equal("new", await LineClient.GreetingAsync(frontend));
        await established.SendLineAsync("and now");
        Assert.Equal("and now", await established.ReadLineAsync());
        // The five short connections leave the set when their pumps finish, a moment after the client saw EOF.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (connections.Active != 1 && DateTime.UtcNow < deadline) await Task.Delay(20);
        Assert.Equal(1, connections.Active);
    }

    [Fact]
    public async Task Updating_the_endpoints_in_place_keeps_an_established_connection_alive()
    {
        var old = Backend("old");
        var fresh = Backend("new");
        var frontend = NewFrontend();
        var listener = Listen(frontend, new BalancerRules([ToBackend(old)]));

        using var established = await LineClient.ConnectAsync(frontend);
        Assert.Equal("old", await established.ReadLineAsync());
        listener.Update(new BalancerRules([ToBackend(fresh)]));

        Assert.Equal("new", await LineClient.GreetingAsync(frontend));
        await established.SendLineAsync("ping");
        Assert.Equal("ping", await established.ReadLineAsync());
    }

    [Fact]
    public async Task Two_proxies_on_one_address_keep_the_service_answering_when_one_stops()
    {
        var a = Backend("a");
        var frontend = NewFrontend();
        var proxy1 = Listen(frontend, new BalancerRules([ToBackend(a)]));
        var proxy2 = Listen(frontend, new BalancerRules([ToBackend(a)]));
        for (var i = 0; i < 4; i++)
            Assert.Equal("a", await LineClient.GreetingAsync(frontend));

        await proxy1.DisposeAsync();
        for (var i = 0; i < 20; i++)
            Assert.Equal("a", await LineClient.GreetingAsync(frontend));
        GC.KeepAlive(proxy2);
    }

    [Fact]
    public async Task Client_ip_affinity_keeps_each_client_on_one_backend()
    {
        var backends = new[] { Backend("a"), Backend("b"), Backend("c") };
        var frontend = NewFrontend();
        Listen(frontend, new BalancerRules(backends.Select(ToBackend).ToList(), TimeSpan.FromMinutes(10)));

        var clients = new[] { IPAddress.Parse("127.77.0.1"), IPAddress.Parse("127.77.0.2"), IPAddress.Parse("127.77.0.3") };
        foreach (var client in clients)
        {
            var first = await LineClient.GreetingAsync(frontend, client);
            for (var i = 0; i < 5; i++)
                Assert.Equal(first, await LineClient.GreetingAsync(frontend, client));
        }
    }

    [Fact]
    public async Task A_frontend_without_endpoints_rejects_the_connection()
    {
        var frontend = NewFrontend();
        Listen(frontend, BalancerRules.Empty);
        // the reset may surface at connect or at the first read, depending on timing
        await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            using var client = await LineClient.ConnectAsync(frontend);
            if (await client.ReadLineAsync() is null) throw new IOException("closed");
        });
    }

    [Fact]
    public async Task Closing_the_connection_set_ends_established_connections_even_while_their_pumps_wait_for_data()
    {
        var a = Backend("a");
        var frontend = NewFrontend();
        var connections = new ConnectionSet();
        Listen(frontend, new BalancerRules([ToBackend(a)]), connections);
        foreach (var mode in new[] { 0, 16 }) // the async pump, then the threaded pump (blocked in recv)
        {
            connections.MaxThreadedConnections = mode;
            using var client = await LineClient.ConnectAsync(frontend);
            Assert.Equal("a", await client.ReadLineAsync());
            Assert.Equal(1, connections.Active);

            connections.CloseAll(); // both pumps wait for data: the proxy stopping must still end the flow

            try { Assert.Null(await client.ReadLineAsync()); } // within the client's 10 s read bound
            catch (IOException) { } // a reset is as good as an EOF here
            var deadline = DateTime.UtcNow.AddSeconds(10); // the pump leaves the set just after the client sees the end
            while (connections.Active != 0 && DateTime.UtcNow < deadline) await Task.Delay(20);
            Assert.Equal(0, connections.Active);
        }
    }
}
