using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Dns;
using AkkaKube.Actors.Machinery;
using AkkaKube.Tests.Infrastructure;
using DnsClient;
using DnsClient.Protocol;
using Arsoft = ARSoft.Tools.Net;

namespace AkkaKube.Tests.Dns;

/// <summary>
/// The node's DNS actor for real: informers over an in-memory API feed the zone, real UDP and TCP queries from
/// DnsClient.NET get the cluster's records, and names outside the zone go to a fake upstream on loopback (counted, so
/// the cache is seen to answer the second time).
/// </summary>
public sealed class DnsServerTests : TestKit, IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);
    private readonly InMemoryKubeApi _api = new();
    private readonly IPEndPoint _dns = new(IPAddress.Loopback, FreePort.Next());
    private readonly IPEndPoint _upstreamAt = new(IPAddress.Loopback, FreePort.Next());
    private Arsoft.Dns.DnsServer _upstream = null!;
    private int _upstreamQueries;

    private static JsonObject J(string json) => JsonNode.Parse(json)!.AsObject();

    public async Task InitializeAsync()
    {
        _upstream = new Arsoft.Dns.DnsServer(new Arsoft.Dns.UdpServerTransport(_upstreamAt, 2000), new Arsoft.Dns.TcpServerTransport(_upstreamAt, 2000, 2000));
        _upstream.QueryReceived += (_, e) =>
        {
            Interlocked.Increment(ref _upstreamQueries);
            var query = (Arsoft.Dns.DnsMessage)e.Query;
            var response = query.CreateResponseInstance();
            var q = query.Questions[0];
            if (q.Name.ToString().TrimEnd('.') == "outside.example" && q.RecordType == Arsoft.Dns.RecordType.A)
                response.AnswerRecords.Add(new Arsoft.Dns.ARecord(q.Name, 60, IPAddress.Parse("192.0.2.7")));
            else
                response.ReturnCode = Arsoft.Dns.ReturnCode.NxDomain;
            e.Response = response;
            return Task.CompletedTask;
        };
        _upstream.Start();

        await _api.CreateAsync(ApiResource.Services, "shop", J("""
            {"apiVersion":"v1","kind":"Service","metadata":{"name":"web","namespace":"shop"},
             "spec":{"clusterIP":"10.96.0.20","clusterIPs":["10.96.0.20"],"ports":[{"name":"http","port":80,"protocol":"TCP"}]}}
            """));
        await _api.CreateAsync(ApiResource.Services, "shop", J("""
            {"apiVersion":"v1","kind":"Service","metadata":{"name":"search","namespace":"shop"},
             "spec":{"type":"ExternalName","externalName":"search.example.com"}}
            """));
        await _api.CreateAsync(ApiResource.EndpointSlices, "shop", J("""
            {"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice","addressType":"IPv4",
             "metadata":{"name":"web-1","namespace":"shop","labels":{"kubernetes.io/service-name":"web"}},
             "ports":[{"name":"http","port":8080,"protocol":"TCP"}],
             "endpoints":[{"addresses":["10.244.1.5"],"conditions":{"ready":true}}]}
            """));
        var settings = DnsSettings.Default with { Upstreams = [_upstreamAt], MaxConcurrentQueries = 4 };
        Sys.ActorOf(DnsActor.Props(_api, settings, [_dns]), "dns");
    }

    public Task DisposeAsync()
    {
        _upstream.Stop();
        return Task.CompletedTask;
    }

    // A generous per-query timeout: on a loaded CI machine a first TCP connection to the server took over the 1 s it
    // had before. No retries over UDP, so a forwarded query reaches the upstream exactly once (the cache test counts
    // them). Over TCP one retry, as every stub resolver does: DnsClient reuses a pooled connection, and a connection
    // the server has already closed (RFC 7766 lets it) fails the query at once instead of reconnecting.
    private LookupClient Client(bool tcp) => new(new LookupClientOptions(new NameServer(_dns))
    {
        UseCache = false, UseTcpOnly = tcp, Retries = tcp ? 1 : 0, Timeout = TimeSpan.FromSeconds(10), ThrowDnsErrors = false, ContinueOnDnsError = false,
    });

    /// <summary>The server starts once the informers synced; until then nothing answers.</summary>
    private async Task<IDnsQueryResponse> EventuallyAsync(LookupClient client, string name, QueryType type, Func<IDnsQueryResponse, bool> good)
    {
        var deadline = DateTime.UtcNow + Wait;
        IDnsQueryResponse? last = null;
        Exception? error = null;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                last = await client.QueryAsync(name, type);
                if (good(last)) return last;
            }
            catch (DnsResponseException e) { error = e; }
            await Task.Delay(100);
        }
        throw new TimeoutException($"{name} {type}: {last?.Header.ResponseCode.ToString() ?? error?.Message} ({string.Join(", ", last?.Answers.Select(a => a.ToString()) ?? [])})");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Cluster_names_are_answered_over_udp_and_tcp(bool tcp)
    {
        var client = Client(tcp);
        var a = await EventuallyAsync(client, "web.shop.svc.cluster.local", QueryType.A, r => r.Answers.ARecords().Any());
        Assert.Equal(["10.96.0.20"], a.Answers.ARecords().Select(r => r.Address.ToString()));
        Assert.True(a.Header.HasAuthorityAnswer);

        var srv = await client.QueryAsync("_http._tcp.web.shop.svc.cluster.local", QueryType.SRV);
        var record = Assert.Single(srv.Answers.SrvRecords());
        Assert.Equal((80, "web.shop.svc.cluster.local."), (record.Port, record.Target.Value));

        var ptr = await client.QueryReverseAsync(IPAddress.Parse("10.96.0.20"));
        Assert.Equal("web.shop.svc.cluster.local.", Assert.Single(ptr.Answers.PtrRecords()).PtrDomainName.Value);

        var cname = await client.QueryAsync("search.shop.svc.cluster.local", QueryType.A);
        Assert.Equal("search.example.com.", Assert.Single(cname.Answers.CnameRecords()).CanonicalName.Value);

        var missing = await client.QueryAsync("nope.shop.svc.cluster.local", QueryType.A);
        Assert.Equal(DnsHeaderResponseCode.NotExistentDomain, missing.Header.ResponseCode);
        var soa = Assert.Single(missing.Authorities.SoaRecords());
        Assert.Equal("cluster.local.", soa.DomainName.Value);
    }

    [Fact]
    public async Task Other_names_are_forwarded_to_the_upstream_and_cached_for_their_ttl()
    {
        var client = Client(tcp: false);
        await EventuallyAsync(client, "web.shop.svc.cluster.local", QueryType.A, r => r.Answers.ARecords().Any());
        var before = Volatile.Read(ref _upstreamQueries);
        var first = await client.QueryAsync("outside.example", QueryType.A);
        Assert.Equal(["192.0.2.7"], first.Answers.ARecords().Select(r => r.Address.ToString()));
        var second = await Client(tcp: true).QueryAsync("outside.example", QueryType.A);
        Assert.Equal(["192.0.2.7"], second.Answers.ARecords().Select(r => r.Address.ToString()));
        Assert.Equal(1, Volatile.Read(ref _upstreamQueries) - before); // the second came from the cache

        var unknown = await client.QueryAsync("missing.example", QueryType.A);
        Assert.Equal(DnsHeaderResponseCode.NotExistentDomain, unknown.Header.ResponseCode);
    }

    [Fact]
    public async Task A_service_created_later_is_answered_once_the_informer_sees_it()
    {
        var client = Client(tcp: false);
        await EventuallyAsync(client, "web.shop.svc.cluster.local", QueryType.A, r => r.Answers.ARecords().Any());
        await _api.CreateAsync(ApiResource.Services, "shop", J("""
            {"apiVersion":"v1","kind":"Service","metadata":{"name":"cart","namespace":"shop"},
             "spec":{"clusterIP":"10.96.0.21","clusterIPs":["10.96.0.21"],"ports":[{"name":"grpc","port":7070,"protocol":"TCP"}]}}
            """));
        var a = await EventuallyAsync(client, "cart.shop.svc.cluster.local", QueryType.A, r => r.Answers.ARecords().Any());
        Assert.Equal(["10.96.0.21"], a.Answers.ARecords().Select(r => r.Address.ToString()));
    }

    [Fact]
    public async Task Malformed_and_hostile_queries_get_an_error_code_and_the_server_keeps_answering()
    {
        var client = Client(tcp: false);
        await EventuallyAsync(client, "web.shop.svc.cluster.local", QueryType.A, r => r.Answers.ARecords().Any());
        using var udp = new UdpClient(AddressFamily.InterNetwork);
        udp.Connect(_dns);

        // Garbage: a header promising 5 questions and carrying none, and random bytes. No answer or FORMERR, never a crash.
        await udp.SendAsync(new byte[] { 0x12, 0x34, 0x01, 0x00, 0x00, 0x05, 0, 0, 0, 0, 0, 0 });
        await udp.SendAsync(Enumerable.Range(0, 700).Select(i => (byte)(i * 37)).ToArray());

        // Two questions in one query: FORMERR (Kubernetes' resolvers never send these).
        var two = await ExchangeAsync(udp, Message(0x4242, ("a.example", 1), ("b.example", 1)));
        Assert.Equal(0x4242, two[0] << 8 | two[1]);
        Assert.Equal(1, two[3] & 0x0f); // RCODE 1 = FORMERR

        // A zone transfer: REFUSED.
        var axfr = await ExchangeAsync(udp, Message(0x4343, ("cluster.local", 252)));
        Assert.Equal(5, axfr[3] & 0x0f); // RCODE 5 = REFUSED

        var after = await Client(tcp: true).QueryAsync("web.shop.svc.cluster.local", QueryType.A);
        Assert.Equal(["10.96.0.20"], after.Answers.ARecords().Select(r => r.Address.ToString()));
    }

    /// <summary>Sends <paramref name="query"/> and returns the response with the same ID (skipping any late answer to the garbage).</summary>
    private static async Task<byte[]> ExchangeAsync(UdpClient udp, byte[] query)
    {
        await udp.SendAsync(query);
        using var cts = new CancellationTokenSource(Wait);
        while (true)
        {
            var r = await udp.ReceiveAsync(cts.Token);
            if (r.Buffer.Length >= 12 && r.Buffer[0] == query[0] && r.Buffer[1] == query[1]) return r.Buffer;
        }
    }

    private static byte[] Message(ushort id, params (string Name, ushort Type)[] questions)
    {
        var bytes = new List<byte> { (byte)(id >> 8), (byte)id, 0x01, 0x00, 0, (byte)questions.Length, 0, 0, 0, 0, 0, 0 };
        foreach (var (name, type) in questions)
        {
            foreach (var label in name.Split('.'))
            {
                bytes.Add((byte)label.Length);
                bytes.AddRange(System.Text.Encoding.ASCII.GetBytes(label));
            }
            bytes.AddRange(new byte[] { 0, (byte)(type >> 8), (byte)type, 0, 1 });
        }
        return bytes.ToArray();
    }
}
