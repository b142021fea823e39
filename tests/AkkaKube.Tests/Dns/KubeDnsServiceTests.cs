using System.Text.Json.Nodes;
using AkkaKube.Actors.Dns;
using AkkaKube.Actors.Services;

namespace AkkaKube.Tests.Dns;

/// <summary>The kube-dns Service and its endpoints as the control plane keeps them (pure parts of the reconciler).</summary>
public sealed class KubeDnsServiceTests
{
    private static JsonObject Node(string name, string? dns, string ready)
    {
        var node = new JsonObject
        {
            ["metadata"] = new JsonObject { ["name"] = name, ["annotations"] = new JsonObject() },
            ["status"] = new JsonObject { ["conditions"] = new JsonArray(new JsonObject { ["type"] = "Ready", ["status"] = ready }) },
        };
        if (dns is not null) node["metadata"]!["annotations"]![KubeDnsServiceReconciler.EndpointAnnotation] = dns;
        return node;
    }

    [Fact]
    public void Only_ready_nodes_that_announce_a_dns_server_are_endpoints()
    {
        var endpoints = KubeDnsServiceReconciler.DesiredEndpoints([
            Node("worker-b", "127.1.0.3:10053", "True"),
            Node("worker-a", "127.1.0.2:10053", "True"),
            Node("worker-c", "127.1.0.4:10053", "Unknown"), // dead: NotReady/Unknown drops out
            Node("hollow-0", null, "True"),                  // no DNS server (hollow kubelet)
        ]);
        Assert.Equal([("worker-a", "127.1.0.2", 10053), ("worker-b", "127.1.0.3", 10053)], endpoints);
        var slice = KubeDnsServiceReconciler.DesiredSlice(endpoints, 10053);
        Assert.Equal("kube-dns", (string)slice["metadata"]!["labels"]!["kubernetes.io/service-name"]!);
        Assert.Equal(["UDP", "TCP"], slice["ports"]!.AsArray().Select(p => (string)p!["protocol"]!));
        Assert.Equal(["127.1.0.2", "127.1.0.3"], slice["endpoints"]!.AsArray().Select(e => (string)e!["addresses"]![0]!));
    }

    [Fact]
    public void The_service_takes_the_tenth_address_of_the_service_cidr_and_serves_53_over_udp_and_tcp()
    {
        Assert.Equal("127.128.0.10", KubeDnsServiceReconciler.ClusterIp(ServiceNetworkSettings.Default));
        Assert.Equal("10.96.0.10", KubeDnsServiceReconciler.ClusterIp(new ServiceNetworkSettings("10.96.0.0/12", "30000-32767", TimeSpan.FromSeconds(30))));
        var svc = KubeDnsServiceReconciler.DesiredService("127.128.0.10", 10053);
        Assert.Equal("kube-dns", (string)svc["metadata"]!["labels"]!["k8s-app"]!);
        Assert.Null(svc["spec"]!["selector"]);
        Assert.Equal(["dns 53/UDP→10053", "dns-tcp 53/TCP→10053"],
            svc["spec"]!["ports"]!.AsArray().Select(p => $"{p!["name"]} {p["port"]}/{p["protocol"]}→{p["targetPort"]}"));
    }
}
