using AkkaKube.Actors.Services;
using k8s.Models;

namespace AkkaKube.Tests.Services;

public sealed class ServiceEnvTests
{
    private static V1Service Svc(string ns, string name, string? ip, params (string? Name, int Port)[] ports) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns },
        Spec = new V1ServiceSpec { ClusterIP = ip, Ports = ports.Select(p => new V1ServicePort { Name = p.Name, Port = p.Port, Protocol = "TCP" }).ToList() },
    };

    private static readonly V1Service[] Services =
    [
        Svc("default", "kubernetes", "127.128.0.1", ("https", 443)),
        Svc("shop", "redis-primary", "127.128.3.4", ("redis", 6379), ("metrics", 9121)),
        Svc("shop", "headless", "None", ("x", 80)),
        Svc("other", "elsewhere", "127.128.9.9", (null, 80)),
    ];

    [Fact]
    public void Services_of_the_pods_namespace_get_kubernetes_style_variables()
    {
        var env = ServiceEnv.For("shop", true, Services).ToDictionary();
        Assert.Equal("127.128.3.4", env["REDIS_PRIMARY_SERVICE_HOST"]);
        Assert.Equal("6379", env["REDIS_PRIMARY_SERVICE_PORT"]);
        Assert.Equal("6379", env["REDIS_PRIMARY_SERVICE_PORT_REDIS"]);
        Assert.Equal("9121", env["REDIS_PRIMARY_SERVICE_PORT_METRICS"]);
        Assert.Equal("tcp://127.128.3.4:6379", env["REDIS_PRIMARY_PORT"]);
        Assert.Equal("tcp://127.128.3.4:9121", env["REDIS_PRIMARY_PORT_9121_TCP"]);
        Assert.Equal("tcp", env["REDIS_PRIMARY_PORT_6379_TCP_PROTO"]);
        Assert.Equal("6379", env["REDIS_PRIMARY_PORT_6379_TCP_PORT"]);
        Assert.Equal("127.128.3.4", env["REDIS_PRIMARY_PORT_6379_TCP_ADDR"]);
        Assert.Equal("127.128.0.1", env["KUBERNETES_SERVICE_HOST"]);
        Assert.Equal("443", env["KUBERNETES_SERVICE_PORT"]);
        Assert.DoesNotContain(env.Keys, k => k.StartsWith("HEADLESS_", StringComparison.Ordinal) || k.StartsWith("ELSEWHERE_", StringComparison.Ordinal));
    }

    [Fact]
    public void Without_service_links_only_the_kubernetes_service_is_injected()
    {
        var env = ServiceEnv.For("shop", false, Services).ToDictionary();
        Assert.Contains("KUBERNETES_SERVICE_HOST", env.Keys);
        Assert.DoesNotContain(env.Keys, k => k.StartsWith("REDIS_", StringComparison.Ordinal));
    }

    [Fact]
    public void The_containers_own_variables_win()
    {
        var merged = ServiceEnv.Merge(ServiceEnv.For("shop", true, Services), [new("REDIS_PRIMARY_SERVICE_HOST", "mine")]);
        Assert.Equal("mine", merged["REDIS_PRIMARY_SERVICE_HOST"]);
    }
}
