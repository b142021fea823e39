using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using AkkaKube.Tests.Infrastructure;

namespace AkkaKube.Tests.ApiServer;

public class RestartSpecs
{
    private static async Task<HttpClient> Ready(InProcessNode node)
    {
        var http = node.NewHttpClient();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                using var r = await http.GetAsync("/api/v1/namespaces/default");
                if (r.StatusCode == HttpStatusCode.OK) return http;
            }
            catch (HttpRequestException) { }
            if (DateTime.UtcNow > deadline) throw new TimeoutException("apiserver not ready within 60s");
            await Task.Delay(200);
        }
    }

    [Fact]
    public async Task A_whole_cluster_restart_keeps_every_object()
    {
        using var data = new TempDir();
        var names = Enumerable.Range(0, 10).Select(i => $"keep-{i}").ToList();
        var first = new InProcessNode { Configure = o => o with { DataDirectory = data.Path } };
        await first.InitializeAsync();
        try
        {
            using var http = await Ready(first);
            await http.PostAsync("/api/v1/namespaces", Json("""{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"kept"}}"""));
            foreach (var name in names)
            {
                var r = await http.PostAsync("/api/v1/namespaces/kept/configmaps", Json("""{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"NAME"},"data":{"n":"NAME"}}""".Replace("NAME", name)));
                Assert.Equal(HttpStatusCode.Created, r.StatusCode);
            }
        }
        finally
        {
            await first.DisposeAsync();
        }

        var second = new InProcessNode { Configure = o => o with { DataDirectory = data.Path } };
        await second.InitializeAsync();
        try
        {
            using var http = await Ready(second);
            var list = JsonNode.Parse(await http.GetStringAsync("/api/v1/namespaces/kept/configmaps"))!;
            // the root-ca-cert-publisher's kube-root-ca.crt is the cluster's, not the test's
            var kept = list["items"]!.AsArray().Select(i => i!["metadata"]!["name"]!.GetValue<string>()).Where(n => n != "kube-root-ca.crt").Order().ToList();
            Assert.Equal(names.Order().ToList(), kept);
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/api/v1/namespaces/kept")).StatusCode);
        }
        finally
        {
            await second.DisposeAsync();
        }
    }

    private static StringContent Json(string s) => new(s, Encoding.UTF8, "application/json");
}
