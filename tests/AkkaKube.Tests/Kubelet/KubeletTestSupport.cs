using System.Text.Json.Nodes;
using Akka.Actor;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Kubelet;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Tests.Kubelet;

/// <summary>Fluent pod fixtures: MakePod("p").Container("c", "test/run").RestartPolicy("Never").Build().</summary>
public sealed class PodBuilder
{
    private readonly JsonObject _pod;
    private readonly JsonArray _containers = new();
    private readonly JsonArray _init = new();

    private PodBuilder(string name)
    {
        _pod = new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Pod",
            ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = "default" },
            ["spec"] = new JsonObject { ["nodeName"] = "node-a", ["containers"] = _containers },
        };
    }

    public static PodBuilder MakePod(string name) => new(name);

    public PodBuilder Node(string node) { _pod["spec"]!["nodeName"] = node; return this; }
    public PodBuilder RestartPolicy(string policy) { _pod["spec"]!["restartPolicy"] = policy; return this; }
    public PodBuilder Grace(long seconds) { _pod["spec"]!["terminationGracePeriodSeconds"] = seconds; return this; }

    public PodBuilder Container(string name, string image, Action<JsonObject>? configure = null)
    {
        var c = new JsonObject { ["name"] = name, ["image"] = image };
        configure?.Invoke(c);
        _containers.Add(c);
        return this;
    }

    public PodBuilder Init(string name, string image, Action<JsonObject>? configure = null)
    {
        var c = new JsonObject { ["name"] = name, ["image"] = image };
        configure?.Invoke(c);
        _init.Add(c);
        _pod["spec"]!["initContainers"] = _init;
        return this;
    }

    public JsonObject Build() => (JsonObject)_pod.DeepClone();
}

public static class KubeletTestSupport
{
    public static KubeletSettings FastSettings => new()
    {
        Backoff = new BackoffSettings(TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(400), 0.0, TimeSpan.FromMinutes(10)),
        LeaseInterval = TimeSpan.FromMilliseconds(200),
        NodeStatusInterval = TimeSpan.FromSeconds(1),
        RegisterRetry = TimeSpan.FromMilliseconds(100),
        StatusCoalesce = TimeSpan.FromMilliseconds(10),
        MetricsInterval = TimeSpan.FromMilliseconds(200),
        LogFollowPoll = TimeSpan.FromMilliseconds(50),
    };

    public static NodeIdentity Node(string name = "node-a", string cidr = "127.64.7.0/24") => new()
    {
        NodeName = name,
        NodeIp = "127.1.0.7",
        PodCidr = cidr,
        Zone = "zone-a",
        Region = "local",
        AkkaAddress = "akka.tcp://akkakube@127.1.0.7:4053",
        KubeletPath = "/user/kubelet",
        Cpu = "4",
        Memory = "8Gi",
    };

    public static JsonObject? Pod(this InMemoryKubeApi api, string name) => api.Peek(ApiResource.Pods, "default", name);

    public static string? Phase(this JsonObject? pod) => pod?["status"]?["phase"]?.GetValue<string>();

    public static JsonObject? ContainerStatus(this JsonObject? pod, string name, bool init = false) =>
        (pod?["status"]?[init ? "initContainerStatuses" : "containerStatuses"] as JsonArray)?
            .OfType<JsonObject>().FirstOrDefault(c => c["name"]?.GetValue<string>() == name);

    public static string? Waiting(this JsonObject? status) => status?["state"]?["waiting"]?["reason"]?.GetValue<string>();

    public static int RestartCount(this JsonObject? status) => status?["restartCount"]?.GetValue<int>() ?? -1;

    public static string? Condition(this JsonObject? pod, string type) =>
        (pod?["status"]?["conditions"] as JsonArray)?.OfType<JsonObject>()
            .FirstOrDefault(c => c["type"]?.GetValue<string>() == type)?["status"]?.GetValue<string>();
}

public static class InMemoryKubeApiSync
{
    public static void CreateNow(this InMemoryKubeApi api, ApiResource r, JsonObject obj) => api.CreateAsync(r, "default", obj).GetAwaiter().GetResult();
    public static void DeleteNow(this InMemoryKubeApi api, ApiResource r, string name, DeleteOptions? options = null) =>
        api.DeleteAsync(r, "default", name, options).GetAwaiter().GetResult();
}
