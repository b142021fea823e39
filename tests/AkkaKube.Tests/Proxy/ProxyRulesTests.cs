using System.Net;
using AkkaKube.Actors.Proxy;
using k8s.Models;

namespace AkkaKube.Tests.Proxy;

public sealed class ProxyRulesTests
{
    private static readonly IPAddress NodeIp = IPAddress.Parse("127.1.0.1");

    private static V1Service Svc(string type = "ClusterIP", string? itp = null, string? etp = null, string? affinity = null, string? lbIp = null) => new()
    {
        Metadata = new V1ObjectMeta { Name = "web", NamespaceProperty = "default" },
        Spec = new V1ServiceSpec
        {
            Type = type, ClusterIP = "127.128.0.10", ClusterIPs = ["127.128.0.10"],
            InternalTrafficPolicy = itp, ExternalTrafficPolicy = etp, SessionAffinity = affinity,
            Ports = [new V1ServicePort { Name = "http", Port = 80, Protocol = "TCP", NodePort = type == "ClusterIP" ? null : 30080 }],
        },
        Status = lbIp is null ? null : new V1ServiceStatus { LoadBalancer = new V1LoadBalancerStatus { Ingress = [new V1LoadBalancerIngress { Ip = lbIp }] } },
    };

    private static V1Endpoint Ep(string ip, string node, bool ready = true, bool terminating = false) => new()
    {
        Addresses = [ip], NodeName = node,
        Conditions = new V1EndpointConditions { Ready = ready, Serving = ready || terminating, Terminating = terminating },
    };

    private static V1EndpointSlice Slice(params V1Endpoint[] endpoints) => new()
    {
        Metadata = new V1ObjectMeta { Name = "web-abcde", NamespaceProperty = "default", Labels = new Dictionary<string, string> { [ProxyRules.ServiceNameLabel] = "web" } },
        AddressType = "IPv4",
        Endpoints = endpoints,
        Ports = [new Discoveryv1EndpointPort { Name = "http", Port = 8080, Protocol = "TCP" }],
    };

    private static readonly V1EndpointSlice TwoNodes = Slice(Ep("127.64.0.1", "node-1"), Ep("127.64.1.1", "node-2"), Ep("127.64.1.2", "node-2", ready: false));

    private static IReadOnlyDictionary<string, ListenerSpec> Compute(V1Service svc, V1EndpointSlice? slice = null) =>
        ProxyRules.Compute([svc], [slice ?? TwoNodes], "node-1", NodeIp);

    private static string[] Backends(ListenerSpec spec) => spec.Rules.Backends.Select(b => b.ToString()).ToArray();

    [Fact]
    public void A_cluster_ip_service_is_served_on_its_cluster_ip_with_the_ready_endpoints()
    {
        var spec = Assert.Single(Compute(Svc())).Value;
        Assert.Equal("127.128.0.10:80", spec.Frontend.ToString());
        Assert.Equal(["127.64.0.1:8080", "127.64.1.1:8080"], Backends(spec));
        Assert.Null(spec.Rules.AffinityTimeout);
    }

    [Fact]
    public void Internal_traffic_policy_local_keeps_only_this_nodes_endpoints()
    {
        var spec = Assert.Single(Compute(Svc(itp: "Local"))).Value;
        Assert.Equal(["127.64.0.1:8080"], Backends(spec));
    }

    [Fact]
    public void A_node_port_is_served_on_the_node_ip_and_external_policy_local_applies_only_there()
    {
        var specs = Compute(Svc("NodePort", etp: "Local"));
        Assert.Equal(["127.64.0.1:8080", "127.64.1.1:8080"], Backends(specs["127.128.0.10:80"]));
        Assert.Equal(["127.64.0.1:8080"], Backends(specs["127.1.0.1:30080"]));
        Assert.Equal(FrontendKind.NodePort, specs["127.1.0.1:30080"].Kind);
    }

    [Fact]
    public void A_load_balancer_ingress_ip_is_served_like_a_cluster_ip()
    {
        var specs = Compute(Svc("LoadBalancer", lbIp: "127.200.0.7"));
        Assert.Equal(3, specs.Count);
        Assert.Equal(FrontendKind.LoadBalancer, specs["127.200.0.7:80"].Kind);
        Assert.Equal(2, specs["127.200.0.7:80"].Rules.Backends.Count);
    }

    [Fact]
    public void Client_ip_affinity_uses_the_default_timeout()
    {
        var spec = Assert.Single(Compute(Svc(affinity: "ClientIP"))).Value;
        Assert.Equal(TimeSpan.FromSeconds(10800), spec.Rules.AffinityTimeout);
    }

    [Fact]
    public void Serving_terminating_endpoints_are_used_only_when_none_is_ready()
    {
        var draining = Slice(Ep("127.64.0.1", "node-1", ready: false, terminating: true), Ep("127.64.0.2", "node-1", ready: false));
        Assert.Equal(["127.64.0.1:8080"], Backends(Assert.Single(Compute(Svc(), draining)).Value));
        var mixed = Slice(Ep("127.64.0.1", "node-1", ready: false, terminating: true), Ep("127.64.0.3", "node-1"));
        Assert.Equal(["127.64.0.3:8080"], Backends(Assert.Single(Compute(Svc(), mixed)).Value));
    }

    [Fact]
    public void Headless_services_and_udp_ports_get_no_listener()
    {
        var headless = Svc();
        headless.Spec.ClusterIP = "None";
        headless.Spec.ClusterIPs = ["None"];
        Assert.Empty(Compute(headless));
        var udp = Svc();
        udp.Spec.Ports[0].Protocol = "UDP";
        Assert.Empty(Compute(udp));
    }
}
