using AkkaKube.Actors.Cloud;
using k8s.Models;

namespace AkkaKube.Tests.Cloud;

public sealed class LocalCloudProviderTests
{
    private static V1Service Lb(string name, string? requested = null, string? ingress = null) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "default" },
        Spec = new V1ServiceSpec { Type = "LoadBalancer", LoadBalancerIP = requested },
        Status = ingress is null ? null : new V1ServiceStatus { LoadBalancer = new V1LoadBalancerStatus { Ingress = [new V1LoadBalancerIngress { Ip = ingress }] } },
    };

    [Fact]
    public async Task Each_load_balancer_gets_its_own_address_in_the_range_and_keeps_it()
    {
        var lbs = new LocalLoadBalancers("127.200.0.0/16");
        var a = (await lbs.EnsureAsync(Lb("a"))).Ingress[0].Ip;
        var b = (await lbs.EnsureAsync(Lb("b"))).Ingress[0].Ip;
        Assert.NotEqual(a, b);
        Assert.StartsWith("127.200.", a);
        Assert.Equal(a, (await lbs.EnsureAsync(Lb("a"))).Ingress[0].Ip);
    }

    [Fact]
    public async Task Addresses_in_the_services_status_are_adopted_after_a_restart()
    {
        var lbs = new LocalLoadBalancers("127.200.0.0/16");
        lbs.Adopt([Lb("a", ingress: "127.200.0.1")]);
        Assert.Equal("127.200.0.1", (await lbs.EnsureAsync(Lb("a"))).Ingress[0].Ip);
        Assert.NotEqual("127.200.0.1", (await lbs.EnsureAsync(Lb("b"))).Ingress[0].Ip);
    }

    [Fact]
    public async Task A_requested_address_is_honoured_and_a_deleted_balancer_frees_its_address()
    {
        var lbs = new LocalLoadBalancers("127.200.0.0/16");
        Assert.Equal("127.200.5.5", (await lbs.EnsureAsync(Lb("a", requested: "127.200.5.5"))).Ingress[0].Ip);
        Assert.NotEqual("127.200.5.5", (await lbs.EnsureAsync(Lb("b", requested: "127.200.5.5"))).Ingress[0].Ip);
        await lbs.EnsureDeletedAsync(Lb("a"));
        Assert.Equal("127.200.5.5", (await lbs.EnsureAsync(Lb("c", requested: "127.200.5.5"))).Ingress[0].Ip);
    }

    [Fact]
    public void A_bad_range_names_the_option()
    {
        var e = Assert.Throws<ArgumentException>(() => new LocalLoadBalancers("127.200.0.0"));
        Assert.Contains("akkakube.cloud.load-balancer-cidr", e.Message);
    }
}
