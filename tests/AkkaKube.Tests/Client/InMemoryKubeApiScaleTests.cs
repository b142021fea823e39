using System.Text.Json.Nodes;
using AkkaKube.Actors.ApiServer.CustomResources;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Machinery;
using AkkaKube.Tests.Controllers.HorizontalPodAutoscaler;

namespace AkkaKube.Tests.Client;

/// <summary>The in-memory API's scale subresource: the apiserver's Scale view, at the paths a stored CRD declares.</summary>
public sealed class InMemoryKubeApiScaleTests
{
    private static readonly ApiResource Widgets = new("example.com", "v1", "widgets", "Widget", true);

    private static async Task<InMemoryKubeApi> WithWidget()
    {
        var api = new InMemoryKubeApi();
        await api.CreateAsync(CustomResourceDefinitionSpec.Resource, null, ScaleTargetsTests.Crd("example.com", "Widget", "widgets", versions: [("v1", true, true, true), ("v2", true, false, false)]));
        await api.CreateAsync(Widgets, "default", JsonNode.Parse("""
            {"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w"},"spec":{"size":2},"status":{"size":1,"selector":"app=w"}}
            """)!.AsObject());
        return api;
    }

    [Fact]
    public async Task A_custom_resource_scale_reads_and_writes_the_declared_paths()
    {
        var api = await WithWidget();
        var scale = await api.GetAsync(Widgets, "default", "w", "scale");
        Assert.Equal("Scale", Meta.Str(scale["kind"]));
        Assert.Equal(2, (int?)scale["spec"]?["replicas"]);
        Assert.Equal(1, (int?)scale["status"]?["replicas"]);
        Assert.Equal("app=w", Meta.Str(scale["status"]?["selector"]));

        var patched = await api.PatchAsync(Widgets, "default", "w", PatchType.Merge, """{"spec":{"replicas":4}}""", "scale");
        Assert.Equal(4, (int?)patched["spec"]?["replicas"]);
        Assert.Equal(4, (int?)api.Peek(Widgets, "default", "w")!["spec"]!["size"]);

        scale["spec"]!["replicas"] = 5; // a stale resourceVersion: Kubernetes' optimistic concurrency
        var e = await Assert.ThrowsAsync<KubeApiException>(() => api.UpdateAsync(Widgets, "default", scale, "scale"));
        Assert.True(e.IsConflict, e.Message);
        var fresh = await api.GetAsync(Widgets, "default", "w", "scale");
        fresh["spec"]!["replicas"] = 5;
        await api.UpdateAsync(Widgets, "default", fresh, "scale");
        Assert.Equal(5, (int?)api.Peek(Widgets, "default", "w")!["spec"]!["size"]);
        Assert.Equal(1, (int?)api.Peek(Widgets, "default", "w")!["status"]!["size"]);
    }

    [Fact]
    public async Task A_version_without_scale_and_a_kind_without_scale_are_404()
    {
        var api = await WithWidget();
        var e = await Assert.ThrowsAsync<KubeApiException>(() => api.GetAsync(Widgets with { Version = "v2" }, "default", "w", "scale"));
        Assert.True(e.IsNotFound, e.Message);
        await api.CreateAsync(ApiResource.ConfigMaps, "default", JsonNode.Parse("""{"metadata":{"name":"c"}}""")!.AsObject());
        e = await Assert.ThrowsAsync<KubeApiException>(() => api.GetAsync(ApiResource.ConfigMaps, "default", "c", "scale"));
        Assert.True(e.IsNotFound, e.Message);
    }

    [Fact]
    public async Task A_deployment_scale_shows_its_selector_as_a_string()
    {
        var api = new InMemoryKubeApi();
        await api.CreateAsync(ApiResource.Deployments, "default", JsonNode.Parse("""
            {"metadata":{"name":"d"},"spec":{"replicas":3,"selector":{"matchLabels":{"app":"d"},"matchExpressions":[{"key":"tier","operator":"In","values":["a","b"]}]}}}
            """)!.AsObject());
        var scale = await api.GetAsync(ApiResource.Deployments, "default", "d", "scale");
        Assert.Equal(3, (int?)scale["spec"]?["replicas"]);
        Assert.Equal("app=d,tier in (a,b)", Meta.Str(scale["status"]?["selector"]));
    }
}
