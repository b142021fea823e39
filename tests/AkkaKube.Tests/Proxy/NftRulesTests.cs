using System.Net;
using AkkaKube.Actors.Proxy;
using AkkaKube.Tests.Infrastructure;
using k8s.Models;

namespace AkkaKube.Tests.Proxy;

/// <summary>
/// The nftables rule generator, case by case against golden text (tests/AkkaKube.Tests/Proxy/golden/&lt;case&gt;.nft).
/// AKKAKUBE_UPDATE_GOLDEN=1 rewrites the files from the generator (then read the diff before committing it).
/// NftNetnsTests loads the same cases into a real kernel.
/// </summary>
public sealed class NftRulesTests
{
    public static readonly NftNode Node = new(NftRules.TableFor("node-1"), "node-1",
        [IPAddress.Parse("127.1.0.1"), IPAddress.Parse("10.244.1.1")], "10.244.1.0/24", "10.244.0.0/16", "10.96.0.0/22");

    public static V1Service Svc(string name, string type = "ClusterIP", string? etp = null, string? itp = null, int? affinitySeconds = null,
        string? lbIp = null, string clusterIp = "10.96.0.10", params (string Name, string Protocol, int Port, int Target, int? NodePort)[] ports) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "shop" },
        Spec = new V1ServiceSpec
        {
            Type = type, ClusterIP = clusterIp, ClusterIPs = [clusterIp],
            ExternalTrafficPolicy = etp, InternalTrafficPolicy = itp,
            SessionAffinity = affinitySeconds is null ? "None" : "ClientIP",
            SessionAffinityConfig = affinitySeconds is { } s ? new V1SessionAffinityConfig { ClientIP = new V1ClientIPConfig { TimeoutSeconds = s } } : null,
            Ports = (ports.Length == 0 ? [("http", "TCP", 80, 8080, (int?)null)] : ports)
                .Select(p => new V1ServicePort { Name = p.Name, Protocol = p.Protocol, Port = p.Port, TargetPort = p.Target, NodePort = p.NodePort }).ToList(),
        },
        Status = lbIp is null ? null : new V1ServiceStatus { LoadBalancer = new V1LoadBalancerStatus { Ingress = [new V1LoadBalancerIngress { Ip = lbIp }] } },
    };

    public static V1EndpointSlice Slice(string service, IEnumerable<(string Name, string Protocol, int Port)> ports, params (string Ip, string Node, bool Ready)[] endpoints) => new()
    {
        Metadata = new V1ObjectMeta { Name = service + "-x1", NamespaceProperty = "shop", Labels = new Dictionary<string, string> { [ProxyRules.ServiceNameLabel] = service } },
        AddressType = "IPv4",
        Endpoints = endpoints.Select(e => new V1Endpoint
        {
            Addresses = [e.Ip], NodeName = e.Node, Conditions = new V1EndpointConditions { Ready = e.Ready, Serving = e.Ready, Terminating = false },
        }).ToList(),
        Ports = ports.Select(p => new Discoveryv1EndpointPort { Name = p.Name, Protocol = p.Protocol, Port = p.Port }).ToList(),
    };

    private static readonly (string, string, int)[] Http = [("http", "TCP", 8080)];

    /// <summary>The cases, by name: services and slices as the informers hold them.</summary>
    public static readonly Dictionary<string, (V1Service[] Services, V1EndpointSlice[] Slices)> Cases = new()
    {
        ["clusterip-two-endpoints"] = ([Svc("web")],
            [Slice("web", Http, ("10.244.1.5", "node-1", true), ("10.244.2.7", "node-2", true), ("10.244.2.8", "node-2", false))]),
        ["no-endpoints"] = ([Svc("web")], [Slice("web", Http)]),
        ["nodeport"] = ([Svc("web", "NodePort", ports: ("http", "TCP", 80, 8080, 30080))],
            [Slice("web", Http, ("10.244.1.5", "node-1", true), ("10.244.2.7", "node-2", true))]),
        ["affinity"] = ([Svc("web", affinitySeconds: 60)],
            [Slice("web", Http, ("10.244.1.5", "node-1", true), ("10.244.2.7", "node-2", true))]),
        ["loadbalancer-local-policy"] = ([
                Svc("here", "LoadBalancer", etp: "Local", lbIp: "10.97.0.5", ports: ("http", "TCP", 80, 8080, 30080)),
                Svc("elsewhere", "LoadBalancer", etp: "Local", lbIp: "10.97.0.6", clusterIp: "10.96.0.11", ports: ("http", "TCP", 80, 8080, 30081))],
            [Slice("here", Http, ("10.244.1.5", "node-1", true), ("10.244.2.7", "node-2", true)), Slice("elsewhere", Http, ("10.244.2.9", "node-2", true))]),
        ["udp-tcp-sctp"] = ([Svc("dns", ports: [("dns", "UDP", 53, 53, null), ("dns-tcp", "TCP", 53, 53, null), ("sig", "SCTP", 9999, 9999, null)])],
            [Slice("dns", [("dns", "UDP", 53), ("dns-tcp", "TCP", 53), ("sig", "SCTP", 9999)], ("10.244.1.5", "node-1", true), ("10.244.2.7", "node-2", true))]),
    };

    public static TheoryData<string> CaseNames => new(Cases.Keys);

    public static string Render(string name) =>
        NftRules.Render(Node, NftRules.Compute(Cases[name].Services, Cases[name].Slices, Node.NodeName));

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void The_table_of_each_case_is_its_golden_text(string name) => GoldenFiles.AssertMatches("Proxy", name, Render(name));

    [Fact]
    public void Affinity_entries_of_the_current_table_are_carried_into_a_rewrite_for_the_sets_it_keeps()
    {
        const string table = "akkakube-proxy-node-1";
        var script = Render("affinity");
        var kept = System.Text.RegularExpressions.Regex.Match(script, @"set (affinity-\S+) \{").Groups[1].Value;
        var current = $$$"""
            {"nftables":[{"metainfo":{"version":"1.0.6"}},{"table":{"family":"ip","name":"{{{table}}}"}},
             {"set":{"family":"ip","name":"{{{kept}}}","table":"{{{table}}}","type":"ipv4_addr","flags":["timeout"],"timeout":60,
                     "elem":[{"elem":{"val":"10.244.1.9","expires":42}},{"elem":{"val":"10.244.1.10","expires":900}},{"elem":{"val":"x; flush ruleset","expires":5}}]}},
             {"set":{"family":"ip","name":"affinity-GONE-old/svc/tcp/__10.0.0.1/80","table":"{{{table}}}","type":"ipv4_addr","elem":[{"elem":{"val":"10.244.1.11","expires":9}}]}},
             {"set":{"family":"ip","name":"{{{kept}}}","table":"another-table","type":"ipv4_addr","elem":[{"elem":{"val":"10.244.1.12","expires":9}}]}}]}
            """;
        var carried = NftRules.CarryOverAffinity(table, current, script);
        // The kept set's entries with their remaining time (capped at the set's 60 s timeout); nothing of a set the new
        // table drops, of another table, or that is not an address.
        Assert.Equal($"add element ip {table} {kept} {{ 10.244.1.9 timeout 60s expires 42s, 10.244.1.10 timeout 60s expires 60s }}\n", carried);
        Assert.Equal("", NftRules.CarryOverAffinity(table, null, script));
        Assert.Equal("", NftRules.CarryOverAffinity(table, "not json", script));
        Assert.Equal("", NftRules.CarryOverAffinity(table, current, Render("clusterip-two-endpoints")));
    }

    [Fact]
    public void Loopback_service_addresses_are_left_out_because_pods_cannot_reach_them_and_the_host_needs_them_for_user_space_proxies()
    {
        var svc = Svc("web", "LoadBalancer", lbIp: "127.200.0.5", clusterIp: "127.128.0.10", ports: ("http", "TCP", 80, 8080, 30080));
        Assert.Empty(NftRules.Compute([svc], [Slice("web", Http, ("10.244.1.5", "node-1", true))], "node-1"));
    }
}
