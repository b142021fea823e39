using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using AkkaKube.Tests.Cmd;
using AkkaKube.Tests.Kubectl;

namespace AkkaKube.Tests.Metrics;

/// <summary>metrics.k8s.io/v1beta1 served from the kubelets' samples: the HTTP shapes, and the real `kubectl top`.</summary>
public sealed class MetricsApiTests(KubeNodeFixture fixture) : IClassFixture<KubeNodeFixture>
{
    private HttpClient Http => fixture.Http;

    private async Task<(HttpStatusCode Code, JsonObject Body)> Get(string path, string? accept = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (accept is not null) request.Headers.TryAddWithoutValidation("Accept", accept);
        using var response = await Http.SendAsync(request);
        return (response.StatusCode, (JsonObject)JsonNode.Parse(await response.Content.ReadAsStringAsync())!);
    }

    private static long Memory(JsonNode? usage) => (long)new k8s.Models.ResourceQuantity(usage!["memory"]!.GetValue<string>()).ToDecimal();

    [Fact]
    public async Task Discovery_lists_the_metrics_group_with_nodes_and_pods_in_legacy_and_aggregated_form()
    {
        var (_, legacy) = await Get("/apis");
        Assert.Contains(legacy["groups"]!.AsArray(), g => g!["name"]!.GetValue<string>() == "metrics.k8s.io" && g["preferredVersion"]!["version"]!.GetValue<string>() == "v1beta1");
        var (_, aggregated) = await Get("/apis", "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json");
        var group = aggregated["items"]!.AsArray().Single(g => g!["metadata"]!["name"]?.GetValue<string>() == "metrics.k8s.io")!;
        var resources = group["versions"]![0]!["resources"]!.AsArray();
        Assert.Contains(resources, r => r!["resource"]!.GetValue<string>() == "nodes" && r["scope"]!.GetValue<string>() == "Cluster" && r["responseKind"]!["kind"]!.GetValue<string>() == "NodeMetrics");
        Assert.Contains(resources, r => r!["resource"]!.GetValue<string>() == "pods" && r["scope"]!.GetValue<string>() == "Namespaced");
        var (code, list) = await Get("/apis/metrics.k8s.io/v1beta1");
        Assert.Equal(HttpStatusCode.OK, code);
        Assert.Equal(["nodes", "pods"], list["resources"]!.AsArray().Select(r => r!["name"]!.GetValue<string>()));
        Assert.Equal(HttpStatusCode.NotFound, (await Get("/apis/metrics.k8s.io/v1")).Code);
    }

    [Fact]
    public async Task Node_metrics_list_and_get_carry_timestamp_window_and_usage()
    {
        await KubeNodeFixture.Eventually(async () =>
        {
            var (code, list) = await Get("/apis/metrics.k8s.io/v1beta1/nodes");
            return code == HttpStatusCode.OK && list["items"]!.AsArray().Any(i => Memory(i!["usage"]) > 0);
        }, "node metrics with memory usage");
        var (_, nodes) = await Get("/apis/metrics.k8s.io/v1beta1/nodes");
        Assert.Equal("NodeMetricsList", nodes["kind"]!.GetValue<string>());
        var item = nodes["items"]!.AsArray().Single()!;
        Assert.Equal(fixture.NodeName, item["metadata"]!["name"]!.GetValue<string>());
        Assert.Equal("500ms", item["window"]!.GetValue<string>());
        Assert.EndsWith("Z", item["timestamp"]!.GetValue<string>());
        Assert.EndsWith("n", item["usage"]!["cpu"]!.GetValue<string>());

        var (code, one) = await Get($"/apis/metrics.k8s.io/v1beta1/nodes/{fixture.NodeName}");
        Assert.Equal(HttpStatusCode.OK, code);
        Assert.Equal("NodeMetrics", one["kind"]!.GetValue<string>());
        Assert.Equal("metrics.k8s.io/v1beta1", one["apiVersion"]!.GetValue<string>());
        var (missing, status) = await Get("/apis/metrics.k8s.io/v1beta1/nodes/no-such-node");
        Assert.Equal(HttpStatusCode.NotFound, missing);
        Assert.Equal("NotFound", status["reason"]!.GetValue<string>());
    }

    [Fact]
    public async Task Pod_metrics_report_the_running_container_per_namespace_across_namespaces_and_by_name()
    {
        var pod = $"/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/{KubeNodeFixture.PodName}";
        await KubeNodeFixture.Eventually(async () => (await Get(pod)).Code == HttpStatusCode.OK, "pod metrics of the pause pod");
        var (_, one) = await Get(pod);
        Assert.Equal("PodMetrics", one["kind"]!.GetValue<string>());
        Assert.Equal("default", one["metadata"]!["namespace"]!.GetValue<string>());
        var container = one["containers"]!.AsArray().Single()!;
        Assert.Equal("main", container["name"]!.GetValue<string>());
        Assert.True(Memory(container["usage"]) > 0, "a real process has a resident set");

        foreach (var path in new[] { "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods", "/apis/metrics.k8s.io/v1beta1/pods", "/apis/metrics.k8s.io/v1beta1/pods?labelSelector=app%3Dkube-test" })
        {
            var (code, list) = await Get(path);
            Assert.Equal(HttpStatusCode.OK, code);
            Assert.Equal("PodMetricsList", list["kind"]!.GetValue<string>());
            Assert.Contains(list["items"]!.AsArray(), i => i!["metadata"]!["name"]!.GetValue<string>() == KubeNodeFixture.PodName);
        }
        var (_, none) = await Get("/apis/metrics.k8s.io/v1beta1/pods?labelSelector=app%3Dnothing");
        Assert.Empty(none["items"]!.AsArray());
        Assert.Equal(HttpStatusCode.NotFound, (await Get("/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/no-such-pod")).Code);
        Assert.Equal(HttpStatusCode.BadRequest, (await Get("/apis/metrics.k8s.io/v1beta1/pods?labelSelector=%3D%3D%3D")).Code);
        using var post = await Http.PostAsync("/apis/metrics.k8s.io/v1beta1/pods", new StringContent("{}"));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, post.StatusCode);
    }

    private async Task<(int Exit, string Out, string Err)> Kubectl(string args)
    {
        var psi = new ProcessStartInfo(KubectlNode.KubectlPath!) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add("--cache-dir");
        psi.ArgumentList.Add(Path.Combine(fixture.Dir, "cache"));
        foreach (var a in args.Split(' ')) psi.ArgumentList.Add(a);
        psi.Environment["KUBECONFIG"] = Path.Combine(fixture.Dir, "kubeconfig");
        psi.Environment["HOME"] = fixture.Dir;
        using var p = Process.Start(psi)!;
        try
        {
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await p.WaitForExitAsync(cts.Token);
            return (p.ExitCode, await stdout, await stderr);
        }
        finally
        {
            if (!p.HasExited) p.Kill(entireProcessTree: true);
        }
    }

    [Fact]
    public async Task Kubectl_top_nodes_and_top_pods_print_rows_for_the_node_and_the_running_pod()
    {
        if (KubectlNode.KubectlPath is null) return; // no kubectl on this machine
        await KubeNodeFixture.Eventually(async () =>
            (await Get($"/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/{KubeNodeFixture.PodName}")).Code == HttpStatusCode.OK, "pod metrics");

        var nodes = await Kubectl("top nodes");
        Assert.True(nodes.Exit == 0, nodes.Out + nodes.Err);
        var nodeLines = nodes.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Matches(@"^NAME\s+CPU\(cores\)\s+CPU(\(%\)|%)\s+MEMORY\(bytes\)\s+MEMORY(\(%\)|%)", nodeLines[0]);
        Assert.Matches($@"^{fixture.NodeName}\s+\d+m\s+\d+%\s+\d+Mi\s+\d+%", nodeLines[1]);

        var pods = await Kubectl("top pods");
        Assert.True(pods.Exit == 0, pods.Out + pods.Err);
        Assert.Matches($@"(?m)^{KubeNodeFixture.PodName}\s+\d+m\s+\d+Mi", pods.Out);

        var all = await Kubectl("top pods -A");
        Assert.True(all.Exit == 0, all.Out + all.Err);
        Assert.Matches(@"^NAMESPACE\s+NAME", all.Out);
        Assert.Matches($@"(?m)^default\s+{KubeNodeFixture.PodName}\s+\d+m\s+\d+Mi", all.Out);

        var containers = await Kubectl($"top pod {KubeNodeFixture.PodName} --containers");
        Assert.True(containers.Exit == 0, containers.Out + containers.Err);
        Assert.Matches($@"(?m)^{KubeNodeFixture.PodName}\s+main\s+\d+m\s+\d+Mi", containers.Out);
    }
}
