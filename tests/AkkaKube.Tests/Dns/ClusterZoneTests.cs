using AkkaKube.Actors.Dns;
using k8s.Models;

namespace AkkaKube.Tests.Dns;

/// <summary>The cluster zone's records, computed from informer contents (Kubernetes' DNS specification, CoreDNS's behaviour).</summary>
public sealed class ClusterZoneTests
{
    private static V1Service Svc(string name, string ns = "shop", string? clusterIp = "10.96.0.20", string type = "ClusterIP",
        string? externalName = null, params V1ServicePort[] ports) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns },
        Spec = new V1ServiceSpec
        {
            Type = type, ClusterIP = clusterIp, ClusterIPs = clusterIp is null ? null : [clusterIp], ExternalName = externalName,
            Ports = ports.Length > 0 ? ports : [new V1ServicePort { Name = "http", Port = 80, Protocol = "TCP" }],
        },
    };

    private static V1Endpoint Ep(string ip, bool ready = true, string? hostname = null) => new()
    {
        Addresses = [ip], Hostname = hostname, Conditions = new V1EndpointConditions { Ready = ready },
    };

    private static V1EndpointSlice Slice(string service, string ns = "shop", params V1Endpoint[] endpoints) => new()
    {
        Metadata = new V1ObjectMeta { Name = service + "-x", NamespaceProperty = ns, Labels = new Dictionary<string, string> { ["kubernetes.io/service-name"] = service } },
        AddressType = "IPv4",
        Endpoints = endpoints,
        Ports = [new Discoveryv1EndpointPort { Name = "http", Port = 8080, Protocol = "TCP" }],
    };

    private static readonly ClusterZone Zone = ClusterZone.Build("cluster.local", 5, 7,
        [
            Svc("web", clusterIp: "10.96.0.20"),
            Svc("nginx", clusterIp: "None"),
            Svc("db", clusterIp: "None"),
            Svc("search", type: "ExternalName", clusterIp: null, externalName: "search.example.com"),
        ],
        [
            Slice("web", "shop", Ep("10.244.1.5"), Ep("10.244.1.6")),
            Slice("nginx", "shop", Ep("10.244.1.7", hostname: "web-0"), Ep("10.244.2.8", hostname: "web-1"), Ep("10.244.2.9", ready: false, hostname: "web-2")),
            Slice("db", "shop", Ep("10.244.3.3")),
        ]);

    private static string Show(ZoneAnswer a) => a.Code + ":" + string.Join(",", a.Answers.Select(r => $"{r.Type}={r.Data}{(r.Port > 0 ? ":" + r.Port : "")}"));

    public static TheoryData<string, string, DnsType, string> Cases => new()
    {
        { "a ClusterIP service answers its cluster IP", "web.shop.svc.cluster.local", DnsType.A, "NoError:A=10.96.0.20" },
        { "names are case-insensitive and may end in a dot", "WEB.Shop.svc.cluster.local.", DnsType.A, "NoError:A=10.96.0.20" },
        { "an IPv4-only service has no AAAA (NODATA)", "web.shop.svc.cluster.local", DnsType.Aaaa, "NoError:" },
        { "a headless service answers its ready endpoints' IPs", "nginx.shop.svc.cluster.local", DnsType.A, "NoError:A=10.244.1.7,A=10.244.2.8" },
        { "a StatefulSet pod by its hostname under the governing service", "web-0.nginx.shop.svc.cluster.local", DnsType.A, "NoError:A=10.244.1.7" },
        { "a not-ready pod's hostname does not exist", "web-2.nginx.shop.svc.cluster.local", DnsType.A, "NxDomain:" },
        { "an endpoint without hostname by its dashed IP", "10-244-3-3.db.shop.svc.cluster.local", DnsType.A, "NoError:A=10.244.3.3" },
        { "SRV of a named port of a ClusterIP service targets the service", "_http._tcp.web.shop.svc.cluster.local", DnsType.Srv, "NoError:Srv=web.shop.svc.cluster.local:80" },
        { "SRV of a headless service: one per endpoint, its own name and port", "_http._tcp.nginx.shop.svc.cluster.local", DnsType.Srv,
            "NoError:Srv=web-0.nginx.shop.svc.cluster.local:8080,Srv=web-1.nginx.shop.svc.cluster.local:8080" },
        { "SRV of a port the service does not have is NXDOMAIN", "_grpc._tcp.web.shop.svc.cluster.local", DnsType.Srv, "NxDomain:" },
        { "SRV of the wrong protocol is NXDOMAIN", "_http._udp.web.shop.svc.cluster.local", DnsType.Srv, "NxDomain:" },
        { "an ExternalName service is a CNAME", "search.shop.svc.cluster.local", DnsType.A, "NoError:Cname=search.example.com" },
        { "a missing service is NXDOMAIN", "nope.shop.svc.cluster.local", DnsType.A, "NxDomain:" },
        { "a namespace with services exists (NODATA)", "shop.svc.cluster.local", DnsType.A, "NoError:" },
        { "a namespace without services does not", "other.svc.cluster.local", DnsType.A, "NxDomain:" },
        { "a name under neither svc nor pod is NXDOMAIN", "web.shop.cluster.local", DnsType.A, "NxDomain:" },
        { "a pod by its dashed IP", "10-244-1-5.shop.pod.cluster.local", DnsType.A, "NoError:A=10.244.1.5" },
        { "a dashed name that is no IPv4 address is NXDOMAIN", "10-244-1.shop.pod.cluster.local", DnsType.A, "NxDomain:" },
        { "the zone apex has an SOA", "cluster.local", DnsType.Soa, "NoError:Soa=ns.dns.cluster.local" },
        { "PTR of a ClusterIP names the service", "20.0.96.10.in-addr.arpa", DnsType.Ptr, "NoError:Ptr=web.shop.svc.cluster.local" },
        { "PTR of a StatefulSet pod names its hostname", "7.1.244.10.in-addr.arpa", DnsType.Ptr, "NoError:Ptr=web-0.nginx.shop.svc.cluster.local" },
        { "PTR of an endpoint without hostname names its dashed IP", "3.3.244.10.in-addr.arpa", DnsType.Ptr, "NoError:Ptr=10-244-3-3.db.shop.svc.cluster.local" },
        { "PTR of an address the cluster does not know is forwarded", "8.8.8.8.in-addr.arpa", DnsType.Ptr, "NotInZone:" },
        { "a name outside the zone is forwarded", "example.com", DnsType.A, "NotInZone:" },
        { "a name that merely ends like the zone is forwarded", "notcluster.local", DnsType.A, "NotInZone:" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Answers(string because, string name, DnsType type, string expected) =>
        Assert.True(Show(Zone.Answer(name, type)) == expected, $"{because}: {name} {type} → {Show(Zone.Answer(name, type))}, expected {expected}");

    [Fact]
    public void Srv_answers_carry_the_targets_addresses_as_additional_records()
    {
        var answer = Zone.Answer("_http._tcp.nginx.shop.svc.cluster.local", DnsType.Srv);
        Assert.Equal(["web-0.nginx.shop.svc.cluster.local=10.244.1.7", "web-1.nginx.shop.svc.cluster.local=10.244.2.8"],
            answer.Additional.Select(r => $"{r.Name}={r.Data}").Order().ToList());
    }

    [Fact]
    public void The_domain_is_configurable()
    {
        var zone = ClusterZone.Build("corp.example", 5, 1, [Svc("web")], []);
        Assert.Equal("NoError:A=10.96.0.20", Show(zone.Answer("web.shop.svc.corp.example", DnsType.A)));
        Assert.Equal(ZoneCode.NotInZone, zone.Answer("web.shop.svc.cluster.local", DnsType.A).Code);
    }

    [Theory]
    [InlineData("4.3.2.1.in-addr.arpa", "1.2.3.4")]
    [InlineData("01.3.2.1.in-addr.arpa", null)]
    [InlineData("3.2.1.in-addr.arpa", null)]
    [InlineData("300.3.2.1.in-addr.arpa", null)]
    [InlineData("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa", "::1")]
    [InlineData("x.0.ip6.arpa", null)]
    public void Reverse_names_parse_strictly(string name, string? ip) => Assert.Equal(ip, ClusterZone.FromReverseName(name));
}
