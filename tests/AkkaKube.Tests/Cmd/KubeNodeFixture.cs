using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using AkkaKube.Tests.Infrastructure;

namespace AkkaKube.Tests.Cmd;

/// <summary>
/// An all-in-one node (process runtime, kubelet metrics sampled every 500 ms) running one scheduled `akkakube/pause`
/// pod with cpu/memory requests, plus a kubeconfig for the real kubectl. Shared by the `kube` palette and metrics API tests.
/// </summary>
public sealed class KubeNodeFixture : IAsyncLifetime
{
    public const string PodName = "kube-pause";
    private readonly TempDir _dir = new();
    public InProcessNode Node { get; private set; } = null!;
    public HttpClient Http { get; private set; } = null!;
    public string Dir => _dir.Path;
    public string NodeName => Node.Options.NodeName;

    public async Task InitializeAsync()
    {
        var file = Path.Combine(_dir.Path, "kube-test.conf");
        await File.WriteAllTextAsync(file, "akkakube.kubelet { metrics-interval = 500ms, lease-interval = 500ms }\n");
        Node = new InProcessNode { Configure = o => o with { ConfigFiles = [file] } };
        await Node.InitializeAsync();
        Http = Node.NewHttpClient(configure: h => h.UseProxy = false);
        await Eventually(async () =>
        {
            using var ns = await Http.GetAsync("/api/v1/namespaces/default");
            using var node = await Http.GetAsync($"/api/v1/nodes/{NodeName}");
            using var account = await Http.GetAsync("/api/v1/namespaces/default/serviceaccounts/default");
            return ns.IsSuccessStatusCode && node.IsSuccessStatusCode && account.IsSuccessStatusCode;
        }, "namespace default, the Node and the default ServiceAccount exist");
        await CreatePod(PodName, new JsonObject { ["cpu"] = "100m", ["memory"] = "16Mi" });
        await Eventually(async () => (await GetPod(PodName))?["status"]?["podIP"] is not null && (await GetPod(PodName))?["status"]?["phase"]?.GetValue<string>() == "Running",
            $"pod {PodName} runs");
        File.Copy(Node.KubeconfigPath, Path.Combine(Dir, "kubeconfig"), overwrite: true);
    }

    public async Task CreatePod(string name, JsonObject? requests = null, JsonObject? nodeSelector = null)
    {
        var container = new JsonObject { ["name"] = "main", ["image"] = "akkakube/pause" };
        if (requests is not null) container["resources"] = new JsonObject { ["requests"] = requests };
        var spec = new JsonObject { ["terminationGracePeriodSeconds"] = 2, ["containers"] = new JsonArray(container) };
        if (nodeSelector is not null) spec["nodeSelector"] = nodeSelector;
        var pod = new JsonObject
        {
            ["apiVersion"] = "v1", ["kind"] = "Pod",
            ["metadata"] = new JsonObject { ["name"] = name, ["labels"] = new JsonObject { ["app"] = "kube-test" } },
            ["spec"] = spec,
        };
        using var response = await Http.PostAsync("/api/v1/namespaces/default/pods", new StringContent(pod.ToJsonString(), Encoding.UTF8, "application/json"));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    public async Task<JsonObject?> GetPod(string name)
    {
        using var response = await Http.GetAsync($"/api/v1/namespaces/default/pods/{name}");
        if (response.StatusCode == HttpStatusCode.NotFound) return null;
        return JsonNode.Parse(await response.Content.ReadAsStringAsync()) as JsonObject;
    }

    public static async Task Eventually(Func<Task<bool>> condition, string what, int seconds = 60)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"not within {seconds} s: {what}");
            await Task.Delay(100);
        }
    }

    public async Task DisposeAsync()
    {
        await Node.DisposeAsync();
        Http.Dispose();
        _dir.Dispose();
    }
}
