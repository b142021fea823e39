using System.Text.Json.Nodes;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using AkkaKube.Actors.ApiServer;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Store;
using k8s;
using k8s.Models;
using Microsoft.Extensions.DependencyInjection;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Tests.ApiServer;

/// <summary>The KubernetesClient C# SDK over HTTP, and IKubeApi over actor messages, against one node.</summary>
public class ClientSpecs(ApiNode api) : IClassFixture<ApiNode>
{
    // the SDK reads the kubeconfig exactly as `up` writes it (CA data, client certificate data)
    private Kubernetes Sdk() => new(KubernetesClientConfiguration.BuildConfigFromConfigFile(api.Node.KubeconfigPath));

    [Fact]
    public async Task The_csharp_sdk_lists_creates_and_watches()
    {
        using var client = Sdk();
        var namespaces = await client.CoreV1.ListNamespaceAsync();
        Assert.Contains(namespaces.Items, n => n.Metadata.Name == "kube-system");

        var list = await client.CoreV1.ListNamespacedConfigMapAsync("default");
        var seen = new TaskCompletionSource<V1ConfigMap>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var watching = Task.Run(async () =>
        {
            var stream = client.CoreV1.WatchListNamespacedConfigMapAsync("default",
                resourceVersion: list.Metadata.ResourceVersion, timeoutSeconds: 20, cancellationToken: cts.Token);
            await foreach (var (type, item) in stream)
                if (type == WatchEventType.Added && item.Metadata.Name == "from-sdk")
                {
                    seen.TrySetResult(item);
                    return;
                }
        }, cts.Token);

        V1ConfigMap? created = null;
        for (var i = 0; i < 20 && !seen.Task.IsCompleted; i++)
        {
            if (created is null)
                created = await client.CoreV1.CreateNamespacedConfigMapAsync(
                    new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "from-sdk" }, Data = new Dictionary<string, string> { ["k"] = "v" } }, "default");
            await Task.WhenAny(seen.Task, Task.Delay(500));
        }
        Assert.NotNull(created!.Metadata.Uid);
        var watched = await seen.Task.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal("v", watched.Data["k"]);
        await cts.CancelAsync();
        try { await watching; } catch (OperationCanceledException) { }
    }

    [Fact]
    public async Task The_sdk_gets_typed_errors()
    {
        using var client = Sdk();
        var e = await Assert.ThrowsAsync<k8s.Autorest.HttpOperationException>(() => client.CoreV1.ReadNamespacedSecretAsync("missing", "default"));
        Assert.Equal(System.Net.HttpStatusCode.NotFound, e.Response.StatusCode);
    }

    [Fact]
    public async Task IKubeApi_over_actors_creates_lists_patches_and_deletes()
    {
        var kube = KubeApi.Get(api.Node.System).Api;
        var obj = (JsonObject)JsonNode.Parse("""{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"via-actors"},"data":{"a":"1"}}""")!;
        var created = await kube.CreateAsync(ApiResource.ConfigMaps, "default", obj);
        Assert.False(string.IsNullOrEmpty(created["metadata"]!["uid"]!.GetValue<string>()));
        var list = await kube.ListAsync(ApiResource.ConfigMaps, "default");
        Assert.Contains(list.Items, i => i["metadata"]!["name"]!.GetValue<string>() == "via-actors");
        var patched = await kube.PatchAsync(ApiResource.ConfigMaps, "default", "via-actors", PatchType.Merge, """{"data":{"a":"2"}}""");
        Assert.Equal("2", patched["data"]!["a"]!.GetValue<string>());
        var dup = await Assert.ThrowsAsync<KubeApiException>(() => kube.CreateAsync(ApiResource.ConfigMaps, "default", obj));
        Assert.True(dup.IsAlreadyExists);
        await kube.DeleteAsync(ApiResource.ConfigMaps, "default", "via-actors");
        var gone = await Assert.ThrowsAsync<KubeApiException>(() => kube.GetAsync(ApiResource.ConfigMaps, "default", "via-actors"));
        Assert.True(gone.IsNotFound);
    }

    [Fact]
    public async Task IKubeApi_watches_deliver_events_to_the_subscriber()
    {
        var kube = KubeApi.Get(api.Node.System).Api;
        var probe = new Akka.TestKit.TestProbe(api.Node.System, new XunitAssertions());
        var list = await kube.ListAsync(ApiResource.Leases, "kube-node-lease");
        var id = await kube.WatchAsync(ApiResource.Leases, "kube-node-lease", probe.Ref, list.ResourceVersion);
        await kube.CreateAsync(ApiResource.Leases, "kube-node-lease",
            (JsonObject)JsonNode.Parse("""{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"node-x"},"spec":{"holderIdentity":"node-x","leaseDurationSeconds":40}}""")!);
        var ev = probe.FishForMessage<WatchProtocol.WatchEvent>(m => m is WatchProtocol.WatchEvent, TimeSpan.FromSeconds(20));
        Assert.Equal("ADDED", ev.Type);
        Assert.Equal(id, ev.WatchId);
        await kube.CancelWatchAsync(ApiResource.Leases, id);
    }

    [Fact]
    public async Task The_router_reaches_the_apiserver_actor()
    {
        var router = await api.Node.Services.GetRequiredService<Akka.Hosting.ActorRegistry>().GetAsync<ApiServerRouter>();
        var response = await router.Ask<ApiServerProtocol.ApiResponse>(
            new ApiServerProtocol.ApiRequest("get", "", "v1", "namespaces", null, "default", null, new Dictionary<string, string>(), null, null),
            TimeSpan.FromSeconds(20));
        Assert.Equal(200, response.Code);
    }
}
