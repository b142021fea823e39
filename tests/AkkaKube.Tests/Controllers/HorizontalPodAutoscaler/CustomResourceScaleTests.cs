using System.Text.Json.Nodes;
using Akka.Actor;
using AkkaKube.Actors.ApiServer.CustomResources;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Controllers;
using AkkaKube.Actors.Controllers.HorizontalPodAutoscaler;
using AkkaKube.Actors.Kubelet;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Tests.Controllers.HorizontalPodAutoscaler;

/// <summary>
/// The HPA controller actor scaling custom resources through their scale subresource, against the in-memory API (which
/// serves /scale at the paths the stored CRD declares) and a kubelet stand-in that reports the pods' usage.
/// </summary>
public sealed class CustomResourceScaleTests : Akka.TestKit.Xunit2.TestKit
{
    private static readonly ApiResource Widgets = new("example.com", "v1", "widgets", "Widget", true);

    private readonly InMemoryKubeApi _api = new();

    public CustomResourceScaleTests() : base("akka.loglevel = WARNING") { }

    /// <summary>Answers GetMetrics with every pod of the node burning <paramref name="cores"/>.</summary>
    private sealed class Kubelet : ReceiveActor
    {
        public Kubelet(InMemoryKubeApi api, decimal cores) =>
            Receive<KubeletProtocol.GetMetrics>(_ => Sender.Tell(new KubeletProtocol.NodeMetrics("n1", DateTimeOffset.UtcNow, 1, 0, 0,
                api.All(ApiResource.Pods).Select(p => new KubeletProtocol.PodMetrics("default", Meta.Name(p) ?? "", Meta.Field(p, "uid") ?? "", DateTimeOffset.UtcNow, 1,
                    [new KubeletProtocol.ContainerMetrics("main", (long)(cores * 1_000_000_000m), 16 << 20)])).ToList())));
    }

    private async Task Cluster(string kind, string? selector, decimal cores)
    {
        Sys.ActorOf(Props.Create(() => new Kubelet(_api, cores)), "kubelet");
        await _api.CreateAsync(CustomResourceDefinitionSpec.Resource, null, ScaleTargetsTests.Crd("example.com", "Widget", "widgets", versions: [("v1", true, true, true)]));
        await _api.CreateAsync(CustomResourceDefinitionSpec.Resource, null, ScaleTargetsTests.Crd("example.com", "Plain", "plains", versions: [("v1", true, true, false)]));
        await _api.CreateAsync(ApiResource.Nodes, null, new JsonObject
        {
            ["metadata"] = new JsonObject
            {
                ["name"] = "n1",
                ["annotations"] = new JsonObject
                {
                    [NodeObjects.AkkaAddressAnnotation] = ((ExtendedActorSystem)Sys).Provider.DefaultAddress.ToString(),
                    [NodeObjects.KubeletPathAnnotation] = "/user/kubelet",
                },
            },
        });
        foreach (var name in new[] { "w-a", "w-b" })
            await _api.CreateAsync(ApiResource.Pods, "default", new JsonObject
            {
                ["metadata"] = new JsonObject { ["name"] = name, ["labels"] = new JsonObject { ["app"] = "w" } },
                ["spec"] = new JsonObject
                {
                    ["nodeName"] = "n1",
                    ["containers"] = new JsonArray(new JsonObject
                    {
                        ["name"] = "main", ["image"] = "busybox",
                        ["resources"] = new JsonObject { ["requests"] = new JsonObject { ["cpu"] = "100m", ["memory"] = "16Mi" } },
                    }),
                },
                ["status"] = new JsonObject
                {
                    ["phase"] = "Running",
                    ["conditions"] = new JsonArray(new JsonObject { ["type"] = "Ready", ["status"] = "True" }),
                },
            });
        var status = new JsonObject { ["size"] = 2 };
        if (selector is not null) status["selector"] = selector;
        await _api.CreateAsync(new ApiResource("example.com", "v1", kind == "Widget" ? "widgets" : "plains", kind, true), "default", new JsonObject
        {
            ["apiVersion"] = "example.com/v1", ["kind"] = kind,
            ["metadata"] = new JsonObject { ["name"] = "w" },
            ["spec"] = new JsonObject { ["size"] = 2 },
            ["status"] = status,
        });
        await _api.CreateAsync(ApiResource.HorizontalPodAutoscalers, "default", JsonNode.Parse("""
            {"apiVersion":"autoscaling/v2","kind":"HorizontalPodAutoscaler","metadata":{"name":"w"},
             "spec":{"scaleTargetRef":{"apiVersion":"example.com/v1","kind":"KIND","name":"w"},"minReplicas":1,"maxReplicas":5,
               "metrics":[{"type":"Resource","resource":{"name":"cpu","target":{"type":"Utilization","averageUtilization":50}}}]}}
            """.Replace("KIND", kind, StringComparison.Ordinal))!.AsObject());
        Sys.ActorOf(HorizontalPodAutoscalerController.Props(_api, new ControllerSettings { HpaSyncPeriod = TimeSpan.FromMilliseconds(300) }), "hpa");
    }

    private JsonObject? ConditionOf(string type) =>
        (_api.Peek(ApiResource.HorizontalPodAutoscalers, "default", "w")?["status"]?["conditions"] as JsonArray)?
            .OfType<JsonObject>().FirstOrDefault(c => Meta.Str(c["type"]) == type);

    private List<string> EventReasons() => _api.All(ApiResource.Events).Select(e => Meta.Str(e["reason"])).ToList();

    private async Task NotFailing()
    {
        var info = await Sys.ActorSelection("/user/hpa").Ask<ControllerProtocol.Info>(ControllerProtocol.GetInfo.Instance, TimeSpan.FromSeconds(5));
        Assert.Equal(0, info.Failing);
    }

    [Fact]
    public async Task A_custom_resource_is_scaled_through_its_scale_subresource_at_the_paths_its_definition_declares()
    {
        // Two pods at 0.3 cores of a 100m request: 300 % against 50 % → 12, capped at maxReplicas 5.
        await Cluster("Widget", "app=w", 0.3m);
        await AwaitAssertAsync(() => Assert.Equal(5, (int?)_api.Peek(Widgets, "default", "w")?["spec"]?["size"]), TimeSpan.FromSeconds(10));
        await AwaitAssertAsync(() =>
        {
            var status = _api.Peek(ApiResource.HorizontalPodAutoscalers, "default", "w")!["status"]!;
            Assert.Equal(5, (int?)status["desiredReplicas"]);
            Assert.Equal(300, (int?)status["currentMetrics"]?[0]?["resource"]?["current"]?["averageUtilization"]);
            Assert.Equal("True", Meta.Str(ConditionOf("AbleToScale")?["status"]));
            Assert.Contains("SuccessfulRescale", EventReasons());
        }, TimeSpan.FromSeconds(10));
        // The custom object was read and written through /scale only; status.size (the Scale's status.replicas) is its controller's.
        Assert.Contains("get widgets.example.com/scale", _api.Calls);
        Assert.Contains("patch widgets.example.com/scale", _api.Calls);
        Assert.Equal(2, (int?)_api.Peek(Widgets, "default", "w")!["status"]!["size"]);
        await NotFailing();
    }

    [Fact]
    public async Task A_custom_resource_without_a_scale_subresource_is_reported_not_retried_in_a_loop()
    {
        await Cluster("Plain", "app=w", 0.3m);
        await AwaitAssertAsync(() =>
        {
            var able = ConditionOf("AbleToScale");
            Assert.Equal("False", Meta.Str(able?["status"]));
            Assert.Equal("FailedGetScale", Meta.Str(able?["reason"]));
            Assert.Contains("declares no scale subresource", Meta.Str(able?["message"]));
            Assert.Contains("FailedGetScale", EventReasons());
        }, TimeSpan.FromSeconds(10));
        Assert.Equal(2, (int?)_api.Peek(new ApiResource("example.com", "v1", "plains", "Plain", true), "default", "w")!["spec"]!["size"]);
        await NotFailing();
    }

    [Fact]
    public async Task A_scale_without_a_selector_stops_scaling_with_Kubernetes_reasons()
    {
        await Cluster("Widget", null, 0.3m);
        await AwaitAssertAsync(() =>
        {
            var active = ConditionOf("ScalingActive");
            Assert.Equal("False", Meta.Str(active?["status"]));
            Assert.Equal("InvalidSelector", Meta.Str(active?["reason"]));
            Assert.Equal("the HPA target's scale is missing a selector", Meta.Str(active?["message"]));
            Assert.Equal("True", Meta.Str(ConditionOf("AbleToScale")?["status"]));
            Assert.Contains("SelectorRequired", EventReasons());
        }, TimeSpan.FromSeconds(10));
        Assert.Equal(2, (int?)_api.Peek(Widgets, "default", "w")!["spec"]!["size"]);
        await NotFailing();
    }

    [Fact]
    public async Task A_custom_object_that_does_not_exist_is_a_failed_get_scale()
    {
        await Cluster("Widget", "app=w", 0.3m);
        await _api.DeleteAsync(Widgets, "default", "w");
        await AwaitAssertAsync(() =>
        {
            var able = ConditionOf("AbleToScale");
            Assert.Equal("FailedGetScale", Meta.Str(able?["reason"]));
            Assert.Contains("\"w\" not found", Meta.Str(able?["message"]));
        }, TimeSpan.FromSeconds(10));
        await NotFailing();
    }
}
