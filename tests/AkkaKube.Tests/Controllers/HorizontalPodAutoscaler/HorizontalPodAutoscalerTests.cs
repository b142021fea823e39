using System.Text.Json.Nodes;
using AkkaKube.Tests.Infrastructure;
using AkkaKube.Tests.Kubectl;

namespace AkkaKube.Tests.Controllers.HorizontalPodAutoscaler;

/// <summary>An all-in-one node whose kubelet samples usage every 500 ms and whose HPAs sync every second.</summary>
public sealed class HpaNode : IAsyncLifetime
{
    private readonly TempDir _dir = new();
    public InProcessNode Node { get; private set; } = null!;
    public KubectlRunner Kubectl { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var file = Path.Combine(_dir.Path, "hpa-test.conf");
        await File.WriteAllTextAsync(file, "akkakube.kubelet { metrics-interval = 500ms }\nakkakube.controllers.hpa-sync-period = 1s\n");
        Node = new InProcessNode { Configure = o => o with { ConfigFiles = [file] } };
        await Node.InitializeAsync();
        Kubectl = new KubectlRunner(_dir.Path);
        Kubectl.UseKubeconfig(Node.KubeconfigPath);
    }

    public async Task DisposeAsync()
    {
        await Node.DisposeAsync();
        _dir.Dispose();
    }
}

/// <summary>
/// The horizontal pod autoscaler through the real kubectl against real pods: a pod that burns CPU against a
/// 10m request is far above a 50 % target (scale up to max), idle pods are far below it (scale down to min).
/// </summary>
public sealed class HorizontalPodAutoscalerTests(HpaNode fixture) : IClassFixture<HpaNode>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(120);

    private static string Deployment(string name, int replicas, string cpuRequest, string[] command) => new JsonObject
    {
        ["apiVersion"] = "apps/v1", ["kind"] = "Deployment",
        ["metadata"] = new JsonObject { ["name"] = name },
        ["spec"] = new JsonObject
        {
            ["replicas"] = replicas,
            ["selector"] = new JsonObject { ["matchLabels"] = new JsonObject { ["app"] = name } },
            ["template"] = new JsonObject
            {
                ["metadata"] = new JsonObject { ["labels"] = new JsonObject { ["app"] = name } },
                ["spec"] = new JsonObject
                {
                    ["terminationGracePeriodSeconds"] = 1,
                    ["containers"] = new JsonArray(new JsonObject
                    {
                        ["name"] = "main", ["image"] = "busybox",
                        ["command"] = new JsonArray([.. command.Select(c => (JsonNode)c)]),
                        ["resources"] = new JsonObject { ["requests"] = new JsonObject { ["cpu"] = cpuRequest, ["memory"] = "16Mi" } },
                    }),
                },
            },
        },
    }.ToJsonString();

    private async Task<string> Ok(string args, string? stdin = null)
    {
        var r = await fixture.Kubectl.Run(args, stdin);
        Assert.True(r.Exit == 0, $"kubectl {args}: {r.Err}{r.Out}");
        return r.Out;
    }

    /// <summary>A namespaced CustomResourceDefinition of group hpa.example.com with one version, once Established.</summary>
    private async Task Crd(string plural, string kind, string version)
    {
        var crd = new JsonObject
        {
            ["apiVersion"] = "apiextensions.k8s.io/v1", ["kind"] = "CustomResourceDefinition",
            ["metadata"] = new JsonObject { ["name"] = $"{plural}.hpa.example.com" },
            ["spec"] = new JsonObject
            {
                ["group"] = "hpa.example.com", ["scope"] = "Namespaced",
                ["names"] = new JsonObject { ["plural"] = plural, ["singular"] = kind.ToLowerInvariant(), ["kind"] = kind },
                ["versions"] = new JsonArray(JsonNode.Parse(version)),
            },
        };
        await Ok("apply -f -", crd.ToJsonString());
        await Ok($"wait --for=condition=Established crd/{plural}.hpa.example.com --timeout=60s");
    }

    /// <summary>Deletes what a test made, without waiting (the node outlives the class's tests).</summary>
    private async Task Delete(params string[] objects)
    {
        foreach (var o in objects) await fixture.Kubectl.Run($"delete {o} --wait=false");
    }

    private async Task<JsonObject> Get(string what) => (JsonObject)JsonNode.Parse(await Ok($"get {what} -o json"))!;

    private async Task Until(Func<Task<bool>> condition, Func<Task<string>> explain)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail(await explain());
            await Task.Delay(500);
        }
    }

    [SkippableFact]
    public async Task Kubectl_autoscale_scales_a_deployment_whose_pods_burn_cpu_up_to_max()
    {
        Skip.If(KubectlRunner.KubectlPath is null, "kubectl is not on PATH");
        await Ok("apply -f -", Deployment("burn", 1, "10m", ["sh", "-c", "while :; do :; done"]));
        try
        {
            await Ok("autoscale deployment burn --cpu-percent=50 --min=1 --max=2");
            await Until(async () => (int)(await Get("deployment burn"))["spec"]!["replicas"]! == 2,
                async () => "the HPA did not scale burn to 2:\n" + await Ok("get hpa burn -o yaml") + await Ok("get events --field-selector involvedObject.name=burn"));

            var hpa = await Get("hpa burn");
            var metric = hpa["status"]!["currentMetrics"]![0]!["resource"]!;
            Assert.Equal("cpu", (string)metric["name"]!);
            Assert.True((int)metric["current"]!["averageUtilization"]! > 50, hpa.ToJsonString());
            Assert.Contains(hpa["status"]!["conditions"]!.AsArray(), c => (string)c!["type"]! == "ScalingActive" && (string)c["status"]! == "True");
            // kubectl's own columns: TARGETS shows current/target, REPLICAS the current count.
            var table = await Ok("get hpa burn");
            Assert.Matches(@"burn\s+Deployment/burn\s+cpu: \d+%/50%\s+1\s+2\s+\d", table);
            Assert.Contains("SuccessfulRescale", await Ok("get events --field-selector involvedObject.kind=HorizontalPodAutoscaler,involvedObject.name=burn"));
        }
        finally
        {
            await Delete("deployment burn", "hpa burn");
        }
    }

    /// <summary>
    /// A custom resource that runs pods (as an operator's would: here the pods come from a Deployment the test stands in
    /// for the operator with) declares a scale subresource whose labelSelectorPath names those pods. The HPA reads its
    /// Scale, measures the pods and writes the custom object's spec.replicas through /scale.
    /// </summary>
    [SkippableFact]
    public async Task An_hpa_scales_a_custom_resource_through_the_scale_subresource_its_definition_declares()
    {
        Skip.If(KubectlRunner.KubectlPath is null, "kubectl is not on PATH");
        try
        {
            await Crd("burners", "Burner", """
                {"name":"v1","served":true,"storage":true,
                 "subresources":{"status":{},"scale":{"specReplicasPath":".spec.replicas","statusReplicasPath":".status.replicas","labelSelectorPath":".status.selector"}},
                 "schema":{"openAPIV3Schema":{"type":"object","properties":{
                   "spec":{"type":"object","properties":{"replicas":{"type":"integer","minimum":0}}},
                   "status":{"type":"object","properties":{"replicas":{"type":"integer"},"selector":{"type":"string"}}}}}}}
                """);
            await Ok("apply -f -", Deployment("crd-burn", 1, "10m", ["sh", "-c", "while :; do :; done"]));
            await Ok("apply -f -", """{"apiVersion":"hpa.example.com/v1","kind":"Burner","metadata":{"name":"crd-burn"},"spec":{"replicas":1}}""");
            // What the Burner's operator would report: its pods and how many run.
            await Ok("""patch burner crd-burn --subresource=status --type=merge -p '{"status":{"replicas":1,"selector":"app=crd-burn"}}'""");
            var scale = (JsonObject)JsonNode.Parse(await Ok("get --raw /apis/hpa.example.com/v1/namespaces/default/burners/crd-burn/scale"))!;
            Assert.Equal("app=crd-burn", (string?)scale["status"]?["selector"]);

            await Ok("apply -f -", """
                {"apiVersion":"autoscaling/v2","kind":"HorizontalPodAutoscaler","metadata":{"name":"crd-burn"},
                 "spec":{"scaleTargetRef":{"apiVersion":"hpa.example.com/v1","kind":"Burner","name":"crd-burn"},"minReplicas":1,"maxReplicas":3,
                   "metrics":[{"type":"Resource","resource":{"name":"cpu","target":{"type":"Utilization","averageUtilization":50}}}]}}
                """);
            await Until(async () => (int?)(await Get("burner crd-burn"))["spec"]?["replicas"] == 3,
                async () => "the HPA did not scale the Burner to 3:\n" + await Ok("get hpa crd-burn -o yaml") + await Ok("get events --field-selector involvedObject.name=crd-burn"));
            await Until(async () => (int?)(await Get("hpa crd-burn"))["status"]?["desiredReplicas"] == 3,
                async () => "the HPA status did not show the scale-up:\n" + await Ok("get hpa crd-burn -o yaml"));

            // The reason of the scale-up, not the utilization now: the busy pod's latest sample may already be another.
            Assert.Matches(@"crd-burn\s+Burner/crd-burn\s+cpu: \d+%/50%\s+1\s+3\s+\d", await Ok("get hpa crd-burn"));
            Assert.Contains("cpu resource utilization (percentage of request) above target",
                await Ok("get events --field-selector involvedObject.kind=HorizontalPodAutoscaler,involvedObject.name=crd-burn,reason=SuccessfulRescale"));
            // Only spec.replicas moved: the status is the (absent) operator's, the Deployment is not the HPA's target.
            var burner = await Get("burner crd-burn");
            Assert.Equal(1, (int?)burner["status"]?["replicas"]);
            Assert.Equal(1, (int?)(await Get("deployment crd-burn"))["spec"]?["replicas"]);
        }
        finally
        {
            await Delete("hpa crd-burn", "deployment crd-burn", "crd burners.hpa.example.com");
        }
    }

    [SkippableFact]
    public async Task An_hpa_on_a_custom_resource_without_a_scale_subresource_reports_FailedGetScale()
    {
        Skip.If(KubectlRunner.KubectlPath is null, "kubectl is not on PATH");
        try
        {
            await Crd("statics", "Static", """
                {"name":"v1","served":true,"storage":true,"schema":{"openAPIV3Schema":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}}
                """);
            await Ok("apply -f -", """{"apiVersion":"hpa.example.com/v1","kind":"Static","metadata":{"name":"fixed"},"spec":{"replicas":1}}""");
            // (kubectl autoscale refuses a kind without /scale in discovery: the HPA is applied as a manifest would be)
            await Ok("apply -f -", """
                {"apiVersion":"autoscaling/v2","kind":"HorizontalPodAutoscaler","metadata":{"name":"fixed"},
                 "spec":{"scaleTargetRef":{"apiVersion":"hpa.example.com/v1","kind":"Static","name":"fixed"},"minReplicas":1,"maxReplicas":3,
                   "metrics":[{"type":"Resource","resource":{"name":"cpu","target":{"type":"Utilization","averageUtilization":50}}}]}}
                """);
            await Until(async () => (await Get("hpa fixed"))["status"]?["conditions"]?.AsArray()
                    .Any(c => (string?)c!["type"] == "AbleToScale" && (string?)c["status"] == "False" && (string?)c["reason"] == "FailedGetScale") == true,
                async () => "no FailedGetScale condition:\n" + await Ok("get hpa fixed -o yaml"));
            Assert.Contains("FailedGetScale", await Ok("get events --field-selector involvedObject.kind=HorizontalPodAutoscaler,involvedObject.name=fixed"));
            Assert.Matches(@"fixed\s+Static/fixed\s+cpu: <unknown>/50%", await Ok("get hpa fixed"));
        }
        finally
        {
            await Delete("hpa fixed", "crd statics.hpa.example.com");
        }
    }

    [SkippableFact]
    public async Task Idle_pods_are_scaled_down_to_min_once_the_stabilization_window_allows()
    {
        Skip.If(KubectlRunner.KubectlPath is null, "kubectl is not on PATH");
        await Ok("apply -f -", Deployment("idle", 3, "200m", ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"]));
        try
        {
            await Until(async () => (int?)(await Get("deployment idle"))["status"]?["readyReplicas"] == 3,
                async () => "idle did not become ready:\n" + await Ok("get pods -o wide"));
            await Ok("apply -f -", """
                {"apiVersion":"autoscaling/v2","kind":"HorizontalPodAutoscaler","metadata":{"name":"idle"},
                 "spec":{"scaleTargetRef":{"apiVersion":"apps/v1","kind":"Deployment","name":"idle"},"minReplicas":1,"maxReplicas":3,
                   "metrics":[{"type":"Resource","resource":{"name":"cpu","target":{"type":"Utilization","averageUtilization":50}}}],
                   "behavior":{"scaleDown":{"stabilizationWindowSeconds":0}}}}
                """);
            await Until(async () => (int)(await Get("deployment idle"))["spec"]!["replicas"]! == 1,
                async () => "the HPA did not scale idle down to 1:\n" + await Ok("get hpa idle -o yaml"));
            // The status is written after the scale: wait for it to say so (currentMetrics and a valid metric).
            await Until(async () =>
            {
                var status = (await Get("hpa idle"))["status"];
                return (int?)status?["desiredReplicas"] == 1
                       && status?["conditions"]?.AsArray().Any(c => (string?)c!["type"] == "ScalingActive" && (string?)c["status"] == "True") == true
                       && (int?)status?["currentMetrics"]?[0]?["resource"]?["current"]?["averageUtilization"] < 50;
            }, async () => "the HPA status did not show the scale-down:\n" + await Ok("get hpa idle -o yaml"));
            // The same object read through autoscaling/v1 shows the utilization there.
            var v1 = await Get("horizontalpodautoscalers.v1.autoscaling idle");
            Assert.Equal(50, (int)v1["spec"]!["targetCPUUtilizationPercentage"]!);
        }
        finally
        {
            await Delete("deployment idle", "hpa idle");
        }
    }
}
