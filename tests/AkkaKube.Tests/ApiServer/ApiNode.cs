using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using AkkaKube.Tests.Infrastructure;

namespace AkkaKube.Tests.ApiServer;

/// <summary>One in-process all-in-one node per test class, with an HttpClient on its apiserver; ready once the bootstrap namespaces exist.</summary>
public class ApiNode : IAsyncLifetime
{
    private readonly string _hocon;

    // a small watch window so a 410 is reachable in a test
    public ApiNode() : this("akkakube.store.watch-window = 5\n") { }

    /// <summary>A node configured with <paramref name="hocon"/> (after the quiet API-only settings).</summary>
    protected ApiNode(string hocon) => _hocon = hocon;

    public InProcessNode Node { get; private set; } = null!;
    public HttpClient Http { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Node = new ApiOnlyNode(_hocon);
        await Node.InitializeAsync();
        Http = Node.NewHttpClient();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                // Bootstrap is over once the namespaces and the `kubernetes` service exist: nothing else writes after.
                using var r = await Http.GetAsync("/api/v1/namespaces/kube-node-lease");
                using var s = await Http.GetAsync("/api/v1/namespaces/default/services/kubernetes");
                if (r.StatusCode == HttpStatusCode.OK && s.StatusCode == HttpStatusCode.OK) return;
            }
            catch (HttpRequestException) { }
            if (DateTime.UtcNow > deadline) throw new TimeoutException("the apiserver did not bootstrap its namespaces and the kubernetes service within 60s");
            await Task.Delay(200);
        }
    }

    public async Task DisposeAsync()
    {
        Http?.Dispose();
        await Node.DisposeAsync();
    }

    public async Task<(HttpStatusCode Code, JsonNode? Body, HttpResponseMessage Response)> Send(HttpMethod method, string path, string? body = null,
        string contentType = "application/json", string? accept = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8);
            request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        }
        if (accept is not null) request.Headers.TryAddWithoutValidation("Accept", accept);
        var response = await Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        JsonNode? node = null;
        try { node = text.Length == 0 ? null : JsonNode.Parse(text); } catch (System.Text.Json.JsonException) { }
        return (response.StatusCode, node, response);
    }

    public Task<(HttpStatusCode Code, JsonNode? Body, HttpResponseMessage Response)> Get(string path, string? accept = null) => Send(HttpMethod.Get, path, accept: accept);
    public Task<(HttpStatusCode Code, JsonNode? Body, HttpResponseMessage Response)> Post(string path, string body, string contentType = "application/json") => Send(HttpMethod.Post, path, body, contentType);
}
