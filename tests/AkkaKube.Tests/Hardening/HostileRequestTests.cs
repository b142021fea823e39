using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using AkkaKube.Actors.ApiServer;
using AkkaKube.Bench;
using AkkaKube.Tests.Infrastructure;

namespace AkkaKube.Tests.Hardening;

/// <summary>Three control-plane node processes (no workers): every apiserver, whichever node hosts a partition.</summary>
public sealed class ThreeApiServersCluster : LocalCluster
{
    public override int ControlPlanes => 3;
    public override int Workers => 0;
    public override TimeSpan StartTimeout => TimeSpan.FromSeconds(240);
}

/// <summary>
/// The hostile and careless requests of issue 23, over HTTPS against real node processes: each gets its Kubernetes
/// 4xx Status naming the field, nothing is written, and no process dies. The 1.5 MB ConfigMap of `&lt;` reads back
/// identically through every apiserver. Then the seeded fuzzer: no 5xx, no write behind a refusal, no actor restarts.
/// </summary>
public sealed class HostileRequestTests(ThreeApiServersCluster cluster) : IClassFixture<ThreeApiServersCluster>
{
    private const string ConfigMaps = "/api/v1/namespaces/default/configmaps";
    private const string Pods = "/api/v1/namespaces/default/pods";

    private async Task<(int Code, JsonObject Body)> Send(HttpMethod method, string path, string? body = null, string contentType = "application/json")
    {
        using var http = cluster.NewHttpClient();
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8);
            request.Content.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse(contentType);
        }
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, JsonNode.Parse(text) as JsonObject ?? new JsonObject());
    }

    private void AllNodesAlive()
    {
        foreach (var (name, pid) in cluster.Pids)
        {
            using var p = System.Diagnostics.Process.GetProcessById(pid);
            Assert.False(p.HasExited, $"{name} (pid {pid}) exited");
        }
    }

    private static void AssertStatus(int expected, (int Code, JsonObject Body) r, string mentions)
    {
        Assert.True(r.Code == expected, $"expected {expected}, got {r.Code}: {r.Body.ToJsonString()}");
        Assert.Equal("Status", r.Body["kind"]?.GetValue<string>());
        Assert.Equal(expected, r.Body["code"]?.GetValue<int>());
        var messages = string.Join("\n", new[] { r.Body["message"] }.Concat(r.Body["details"]?["causes"]?.AsArray().Select(c => c?["message"]) ?? []).Select(m => m?.GetValue<string>()));
        Assert.Contains(mentions, messages, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_yaml_body_of_deeply_nested_brackets_is_a_400_and_every_node_lives()
    {
        var body = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: deep\ndata:\n  a: " + new string('[', 100_000);
        AssertStatus(400, await Send(HttpMethod.Post, ConfigMaps, body, "application/yaml"), "nested deeper than 100 levels");
        AssertStatus(400, await Send(HttpMethod.Post, ConfigMaps, new string('[', 100_000), "application/json"), "not valid JSON");
        Assert.Equal(404, (await Send(HttpMethod.Get, ConfigMaps + "/deep")).Code);
        AllNodesAlive();
    }

    [Theory]
    [InlineData("""{"requests":{"cpu":"10E"}}""", "spec.containers[0].resources.requests[cpu]", "must be less than or equal to")]
    [InlineData("""{"requests":{"cpu":"-64"}}""", "spec.containers[0].resources.requests[cpu]", "must be greater than or equal to 0")]
    [InlineData("""{"limits":{"memory":"-1Gi"}}""", "spec.containers[0].resources.limits[memory]", "must be greater than or equal to 0")]
    [InlineData("""{"requests":{"cpu":"2"},"limits":{"cpu":"1"}}""", "spec.containers[0].resources.requests", "must be less than or equal to cpu limit of 1")]
    [InlineData("""{"requests":{"example.com/gpu":"0.5"},"limits":{"example.com/gpu":"0.5"}}""", "spec.containers[0].resources.requests[example.com/gpu]", "must be an integer")]
    [InlineData("""{"requests":{"bogus":"1"}}""", "spec.containers[0].resources.requests[bogus]", "must be a standard resource for containers")]
    public async Task A_pod_with_an_invalid_quantity_is_a_422_naming_the_field_and_is_not_stored(string resources, string field, string message)
    {
        var name = "q-" + Guid.NewGuid().ToString("N")[..8];
        var pod = """{"apiVersion":"v1","kind":"Pod","metadata":{"name":"NAME"},"spec":{"containers":[{"name":"c","image":"busybox","resources":RESOURCES}]}}"""
            .Replace("NAME", name).Replace("RESOURCES", resources);
        var r = await Send(HttpMethod.Post, Pods, pod);
        AssertStatus(422, r, message);
        Assert.Contains(r.Body["details"]!["causes"]!.AsArray(), c => c!["field"]?.GetValue<string>() == field);
        Assert.Equal(404, (await Send(HttpMethod.Get, $"{Pods}/{name}")).Code);
    }

    [Fact]
    public async Task A_pod_with_a_quantity_that_does_not_parse_is_a_400_as_a_decoding_error()
    {
        var pod = """{"apiVersion":"v1","kind":"Pod","metadata":{"name":"q-syntax"},"spec":{"containers":[{"name":"c","image":"busybox","resources":{"requests":{"cpu":"1.2.3"}}}]}}""";
        AssertStatus(400, await Send(HttpMethod.Post, Pods, pod), "Unable to parse quantity \"1.2.3\"");
        Assert.Equal(404, (await Send(HttpMethod.Get, $"{Pods}/q-syntax")).Code);
    }

    [Fact]
    public async Task Requests_default_to_limits_and_a_valid_quantity_is_accepted()
    {
        var pod = """{"apiVersion":"v1","kind":"Pod","metadata":{"name":"limits-only"},"spec":{"containers":[{"name":"c","image":"busybox","resources":{"limits":{"cpu":"500m","memory":"1Gi"}}}]}}""";
        var (code, body) = await Send(HttpMethod.Post, Pods, pod);
        Assert.True(code == 201, body.ToJsonString());
        var requests = body["spec"]!["containers"]![0]!["resources"]!["requests"]!;
        Assert.Equal("500m", requests["cpu"]!.GetValue<string>());
        Assert.Equal("1Gi", requests["memory"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_configmap_with_a_key_that_is_no_config_key_is_a_422_naming_the_key()
    {
        var r = await Send(HttpMethod.Post, ConfigMaps, """{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"keys"},"data":{"x[abc]":"1","x":"2"}}""");
        AssertStatus(422, r, "a valid config key must consist of alphanumeric characters");
        Assert.Contains(r.Body["details"]!["causes"]!.AsArray(), c => c!["field"]?.GetValue<string>() == "data[x[abc]]");
        Assert.Equal(404, (await Send(HttpMethod.Get, ConfigMaps + "/keys")).Code);
    }

    [Theory]
    [InlineData("""{"$patch":1}""", "\"$patch\" must be a string")]
    [InlineData("""{"$retainKeys":[1]}""", "invalid patch format of retainKeys")]
    [InlineData("""{"data":{"$patch":["x"]}}""", "\"$patch\" must be a string")]
    [InlineData("""{"$setElementOrder/data":"x"}""", "invalid patch format of setElementOrder list")]
    public async Task A_malformed_strategic_merge_patch_is_a_400_and_changes_nothing(string patch, string message)
    {
        var name = "smp-" + Guid.NewGuid().ToString("N")[..8];
        var (created, before) = await Send(HttpMethod.Post, ConfigMaps, """{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"NAME"},"data":{"x":"2"}}""".Replace("NAME", name));
        Assert.Equal(201, created);
        AssertStatus(400, await Send(HttpMethod.Patch, $"{ConfigMaps}/{name}", patch, "application/strategic-merge-patch+json"), message);
        var (_, after) = await Send(HttpMethod.Get, $"{ConfigMaps}/{name}");
        Assert.Equal(before["metadata"]!["resourceVersion"]!.GetValue<string>(), after["metadata"]!["resourceVersion"]!.GetValue<string>());
        Assert.True(JsonNode.DeepEquals(before["data"], after["data"]));
    }

    [Theory]
    [InlineData("application/merge-patch+json", """{"metadata":"x"}""")]
    [InlineData("application/strategic-merge-patch+json", """{"metadata":7}""")]
    [InlineData("application/json-patch+json", """[{"op":"replace","path":"/metadata","value":[]}]""")]
    [InlineData("application/apply-patch+yaml", """{"apiVersion":"v1","kind":"Service","metadata":"x"}""")]
    public async Task A_patch_that_makes_metadata_no_object_is_a_400_and_changes_nothing(string contentType, string patch)
    {
        var name = "meta-" + Guid.NewGuid().ToString("N")[..8];
        var (created, before) = await Send(HttpMethod.Post, "/api/v1/namespaces/default/services",
            """{"apiVersion":"v1","kind":"Service","metadata":{"name":"NAME"},"spec":{"ports":[{"port":80}]}}""".Replace("NAME", name));
        Assert.True(created == 201, before.ToJsonString());
        AssertStatus(400, await Send(HttpMethod.Patch, $"/api/v1/namespaces/default/services/{name}?fieldManager=fuzz", patch, contentType), "metadata must be an object");
        var (_, after) = await Send(HttpMethod.Get, $"/api/v1/namespaces/default/services/{name}");
        Assert.Equal(before["metadata"]!["resourceVersion"]!.GetValue<string>(), after["metadata"]!["resourceVersion"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("fieldSelector", "spec.nodeName===x", "unescaped '='")]
    [InlineData("fieldSelector", "spec.nodeName=a!b", "unescaped '!'")]
    [InlineData("fieldSelector", "spec.nodeName", "has no operator")]
    [InlineData("labelSelector", "a in (b", "unable to parse label selector")]
    [InlineData("labelSelector", "!!a", "unable to parse label selector")]
    [InlineData("labelSelector", "a==b==c", "unable to parse label selector")]
    public async Task A_malformed_selector_is_a_400_on_list_and_watch(string parameter, string selector, string message)
    {
        AssertStatus(400, await Send(HttpMethod.Get, $"/api/v1/pods?{parameter}={Uri.EscapeDataString(selector)}"), message);
        AssertStatus(400, await Send(HttpMethod.Get, $"/api/v1/pods?watch=true&timeoutSeconds=1&{parameter}={Uri.EscapeDataString(selector)}"), message);
    }

    [Fact]
    public async Task A_watch_from_a_future_resource_version_ends_with_too_large_resource_version()
    {
        using var http = cluster.NewHttpClient();
        using var watch = await http.GetAsync(ConfigMaps + "?watch=true&resourceVersion=999999999&timeoutSeconds=10", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, watch.StatusCode);
        var line = await new StreamReader(await watch.Content.ReadAsStreamAsync()).ReadLineAsync();
        var ev = JsonNode.Parse(line!)!;
        Assert.Equal("ERROR", ev["type"]!.GetValue<string>());
        Assert.Equal(504, ev["object"]!["code"]!.GetValue<int>());
        Assert.StartsWith("Too large resource version: 999999999", ev["object"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("ResourceVersionTooLarge", ev["object"]!["details"]!["causes"]![0]!["reason"]!.GetValue<string>());
    }

    [Fact]
    public async Task An_escaped_field_selector_value_is_accepted()
    {
        var (code, body) = await Send(HttpMethod.Get, "/api/v1/pods?fieldSelector=" + Uri.EscapeDataString("spec.nodeName=\\=x"));
        Assert.True(code == 200, body.ToJsonString());
    }

    [Fact]
    public async Task A_configmap_of_one_and_a_half_megabytes_of_angle_brackets_reads_back_identically_through_every_apiserver()
    {
        var value = new string('<', 1_500_000);
        var created = await Send(HttpMethod.Post, ConfigMaps, new JsonObject
        {
            ["apiVersion"] = "v1", ["kind"] = "ConfigMap", ["metadata"] = new JsonObject { ["name"] = "big" }, ["data"] = new JsonObject { ["a"] = value },
        }.ToJsonString(new System.Text.Json.JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }));
        Assert.True(created.Code == 201, $"{created.Code}: {created.Body.ToJsonString()[..Math.Min(500, created.Body.ToJsonString().Length)]}");

        // The control planes share one address (SO_REUSEPORT): fresh connections reach each of them in turn; the
        // response header names the one that answered.
        var servedBy = new HashSet<string>();
        using var http = cluster.NewHttpClient(TimeSpan.FromSeconds(60));
        for (var attempt = 0; attempt < 200 && servedBy.Count < cluster.ControlPlanes; attempt++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, ConfigMaps + "/big");
            request.Headers.ConnectionClose = true;
            using var response = await http.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
            Assert.Equal(value, body["data"]!["a"]!.GetValue<string>());
            servedBy.Add(response.Headers.GetValues(ApiHttpFront.ServedByHeader).Single());
        }
        Assert.Equal(cluster.ControlPlanes, servedBy.Count);

        var (listCode, list) = await Send(HttpMethod.Get, ConfigMaps);
        Assert.Equal(200, listCode);
        Assert.Equal(value, list["items"]!.AsArray().Single(i => i!["metadata"]!["name"]!.GetValue<string>() == "big")!["data"]!["a"]!.GetValue<string>());

        // A watch from the list's resourceVersion 0 delivers it as an ADDED event, whole.
        using var watchRequest = new HttpRequestMessage(HttpMethod.Get, ConfigMaps + "?watch=true&resourceVersion=0&timeoutSeconds=5");
        using var watch = await http.SendAsync(watchRequest, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, watch.StatusCode);
        using var reader = new StreamReader(await watch.Content.ReadAsStreamAsync());
        string? line;
        var seen = false;
        while (!seen && (line = await reader.ReadLineAsync()) is not null)
        {
            var ev = JsonNode.Parse(line)!;
            seen = ev["object"]?["metadata"]?["name"]?.GetValue<string>() == "big" && ev["object"]!["data"]!["a"]!.GetValue<string>() == value;
        }
        Assert.True(seen, "no watch event carried the big ConfigMap");
    }

    [Fact]
    public async Task Seeded_fuzzing_of_every_served_resource_and_verb_gives_no_5xx_no_write_behind_a_refusal_and_no_restarts()
    {
        var health = new FuzzClusterHealth(cluster.State);
        var failuresBefore = await health.ActorFailuresAsync(CancellationToken.None);
        using var http = cluster.NewHttpClient(TimeSpan.FromSeconds(90), h => h.MaxConnectionsPerServer = 16);
        using var bound = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        var result = await new ApiFuzzer(http, seed: 23).RunAsync(requests: 5000, concurrency: 8, bound.Token);

        Assert.True(result.ServerErrorCount == 0, $"{result.ServerErrorCount} 5xx ({result.StatusSummary}):\n{string.Join("\n", result.ServerErrors)}");
        Assert.True(result.Requests >= 5000, $"only {result.Requests} requests: {result.StatusSummary}");
        Assert.True(result.Targets > 40, $"discovery listed only {result.Targets} resources");
        Assert.True(result.WrittenOnRefusal.Count == 0, string.Join("\n", result.WrittenOnRefusal));
        AllNodesAlive();
        var failures = await health.ActorFailuresAsync(CancellationToken.None) - failuresBefore;
        Assert.True(failures == 0, $"{failures} actor failures during the run");
    }
}
