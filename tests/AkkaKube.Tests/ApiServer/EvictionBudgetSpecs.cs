using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using AkkaKube.Tests.Infrastructure;

namespace AkkaKube.Tests.ApiServer;

/// <summary>The eviction subresource honours PodDisruptionBudgets: 429 while a budget blocks, 201 once it allows.</summary>
public class EvictionBudgetSpecs(InProcessNode node) : IClassFixture<InProcessNode>
{
    private HttpClient Http() => node.NewHttpClient();

    private static async Task CreateReadyPod(HttpClient http, string ns, string name, string app)
    {
        // A scheduler name nobody serves keeps the pod unbound, so no kubelet runs it in this test.
        var pod = JsonNode.Parse($$$"""
            {"apiVersion":"v1","kind":"Pod","metadata":{"name":"{{{name}}}","labels":{"app":"{{{app}}}"}},
             "spec":{"schedulerName":"nobody","containers":[{"name":"c","image":"akkakube/pause"}]}}
            """)!;
        var created = await http.PostAsJsonAsync($"/api/v1/namespaces/{ns}/pods", pod);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var obj = (await created.Content.ReadFromJsonAsync<JsonObject>())!;
        obj["status"] = JsonNode.Parse("""{"phase":"Running","conditions":[{"type":"Ready","status":"True"}]}""");
        var status = await http.PutAsJsonAsync($"/api/v1/namespaces/{ns}/pods/{name}/status", obj);
        Assert.Equal(HttpStatusCode.OK, status.StatusCode);
    }

    private static Task<HttpResponseMessage> Evict(HttpClient http, string ns, string name) =>
        http.PostAsync($"/api/v1/namespaces/{ns}/pods/{name}/eviction", new StringContent(
            $$$"""{"apiVersion":"policy/v1","kind":"Eviction","metadata":{"name":"{{{name}}}","namespace":"{{{ns}}}"}}""", Encoding.UTF8, "application/json"));

    [Fact]
    public async Task An_eviction_that_would_break_a_budget_is_refused_with_429_and_allowed_once_the_budget_permits_it()
    {
        using var http = Http();
        const string ns = "default";
        await CreateReadyPod(http, ns, "pdb-a", "guarded");
        await CreateReadyPod(http, ns, "pdb-b", "guarded");
        var pdb = JsonNode.Parse("""
            {"apiVersion":"policy/v1","kind":"PodDisruptionBudget","metadata":{"name":"guard"},
             "spec":{"minAvailable":2,"selector":{"matchLabels":{"app":"guarded"}}}}
            """)!;
        Assert.Equal(HttpStatusCode.Created, (await http.PostAsJsonAsync($"/apis/policy/v1/namespaces/{ns}/poddisruptionbudgets", pdb)).StatusCode);

        var refused = await Evict(http, ns, "pdb-a");
        Assert.Equal((HttpStatusCode)429, refused.StatusCode);
        var status = (await refused.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal("TooManyRequests", status["reason"]!.GetValue<string>());
        Assert.Contains("disruption budget", status["message"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"/api/v1/namespaces/{ns}/pods/pdb-a")).StatusCode);

        var patch = new StringContent("""{"spec":{"minAvailable":1}}""", Encoding.UTF8, "application/merge-patch+json");
        Assert.Equal(HttpStatusCode.OK, (await http.PatchAsync($"/apis/policy/v1/namespaces/{ns}/poddisruptionbudgets/guard", patch)).StatusCode);

        var allowed = await Evict(http, ns, "pdb-a");
        Assert.Equal(HttpStatusCode.Created, allowed.StatusCode);
        // The second pod is now the last healthy one the budget needs.
        Assert.Equal((HttpStatusCode)429, (await Evict(http, ns, "pdb-b")).StatusCode);
        var budget = (await http.GetFromJsonAsync<JsonObject>($"/apis/policy/v1/namespaces/{ns}/poddisruptionbudgets/guard"))!;
        Assert.NotNull(budget["status"]?["disruptedPods"]?["pdb-a"]);
    }
}
