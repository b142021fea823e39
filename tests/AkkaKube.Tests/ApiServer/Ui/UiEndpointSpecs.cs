using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using AkkaKube.Tests.Infrastructure;

namespace AkkaKube.Tests.ApiServer.Ui;

/// <summary>An apiserver node with a static token file: an administrator (system:masters) and a user without it.</summary>
public sealed class UiNode : ApiOnlyNode
{
    public const string AdminToken = "admin-token-0123456789";
    public const string ViewerToken = "viewer-token-0123456789";
    public const string ReaderToken = "reader-token-0123456789";

    public UiNode()
    {
        var tokens = HoconFile($"{AdminToken},akkakube-admin,1,\"system:masters\"\n{ViewerToken},jane,2,\"viewers\"\n{ReaderToken},rita,3,\"ui-readers\"\n");
        var inner = Configure;
        Configure = o => inner(o) with { ApiTokenAuthFile = tokens };
    }
}

/// <summary>/ui/: the page is public (it holds no data), every data endpoint needs a credential of a cluster administrator.</summary>
public sealed class UiEndpointSpecs(UiNode node) : IClassFixture<UiNode>
{
    /// <summary>Until the apiserver has bootstrapped (its namespaces exist), so store partitions are running.</summary>
    private async Task BootstrappedAsync()
    {
        using var http = WithToken(UiNode.AdminToken);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            using (var r = await http.GetAsync("/api/v1/namespaces/kube-node-lease"))
                if (r.StatusCode == HttpStatusCode.OK) return;
            if (DateTime.UtcNow > deadline) throw new TimeoutException("the apiserver did not bootstrap its namespaces within 60 s");
            await Task.Delay(200);
        }
    }

    private HttpClient Anonymous() => node.NewHttpClient(configure: h => h.SslOptions.ClientCertificates = null);

    private HttpClient WithToken(string token)
    {
        var http = Anonymous();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return http;
    }

    [Fact]
    public async Task The_page_and_its_script_are_served_without_credentials_with_a_same_origin_policy()
    {
        using var http = Anonymous();
        using var page = await http.GetAsync("/ui/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.Contains("default-src 'self'", page.Headers.GetValues("Content-Security-Policy").Single());
        Assert.Contains("<script src=\"app.js\"", await page.Content.ReadAsStringAsync());
        using var script = await http.GetAsync("/ui/app.js");
        Assert.Equal(HttpStatusCode.OK, script.StatusCode);
        Assert.Contains("sessionStorage", await script.Content.ReadAsStringAsync());
        using var redirect = await new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true } })
            .GetAsync(new Uri(http.BaseAddress!, "/ui"));
        Assert.Equal(HttpStatusCode.MovedPermanently, redirect.StatusCode);
        Assert.Equal("/ui/", redirect.Headers.Location?.OriginalString);
    }

    [Theory]
    [InlineData("/ui/api/placement")]
    [InlineData("/ui/api/whoami")]
    public async Task Data_without_a_credential_or_with_a_wrong_token_is_a_401_status(string path)
    {
        using var anonymous = Anonymous();
        using var r1 = await anonymous.GetAsync(path);
        Assert.Equal(HttpStatusCode.Unauthorized, r1.StatusCode);
        Assert.Equal("Unauthorized", JsonNode.Parse(await r1.Content.ReadAsStringAsync())!["reason"]!.GetValue<string>());
        using var wrong = WithToken("not-a-token");
        using var r2 = await wrong.GetAsync(path);
        Assert.Equal(HttpStatusCode.Unauthorized, r2.StatusCode);
    }

    [Fact]
    public async Task A_user_without_a_role_for_the_ui_api_is_forbidden_the_placement()
    {
        using var http = WithToken(UiNode.ViewerToken);
        using var r = await http.GetAsync("/ui/api/placement");
        Assert.Equal(HttpStatusCode.Forbidden, r.StatusCode);
        Assert.Equal("Forbidden", JsonNode.Parse(await r.Content.ReadAsStringAsync())!["reason"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_cluster_role_granting_the_ui_api_urls_lets_a_viewer_read_the_placement()
    {
        await BootstrappedAsync();
        using var admin = WithToken(UiNode.AdminToken);
        var role = """{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole","metadata":{"name":"web-view-reader"},"rules":[{"nonResourceURLs":["/ui/api/*"],"verbs":["get"]}]}""";
        var binding = """{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRoleBinding","metadata":{"name":"web-view-readers"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"web-view-reader"},"subjects":[{"apiGroup":"rbac.authorization.k8s.io","kind":"Group","name":"ui-readers"}]}""";
        foreach (var (path, body) in new[] { ("/apis/rbac.authorization.k8s.io/v1/clusterroles", role), ("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", binding) })
            using (var created = await admin.PostAsync(path, new StringContent(body, System.Text.Encoding.UTF8, "application/json")))
                Assert.True(created.StatusCode is HttpStatusCode.Created or HttpStatusCode.Conflict, await created.Content.ReadAsStringAsync());
        using var viewer = WithToken(UiNode.ReaderToken);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        HttpStatusCode code;
        while ((code = (await viewer.GetAsync("/ui/api/placement")).StatusCode) != HttpStatusCode.OK && DateTime.UtcNow < deadline) await Task.Delay(200);
        Assert.Equal(HttpStatusCode.OK, code);
        // the role names /ui/api/* only: the rest of the API stays forbidden
        using var secrets = await viewer.GetAsync("/api/v1/secrets");
        Assert.Equal(HttpStatusCode.Forbidden, secrets.StatusCode);
    }

    [Fact]
    public async Task The_administrator_token_reads_placement_and_the_actor_tree_of_a_member()
    {
        await BootstrappedAsync();
        using var http = WithToken(UiNode.AdminToken);
        var me = JsonNode.Parse(await http.GetStringAsync("/ui/api/whoami"))!;
        Assert.Equal("akkakube-admin", me["user"]!.GetValue<string>());

        var placement = JsonNode.Parse(await http.GetStringAsync("/ui/api/placement"))!;
        var member = placement["members"]!.AsArray().Single()!;
        Assert.Equal("node-1", member["nodeName"]!.GetValue<string>());
        Assert.True(member["answered"]!.GetValue<bool>());
        Assert.Contains("control-plane", member["roles"]!.AsArray().Select(r => r!.GetValue<string>()));
        // the one node hosts every singleton and every store partition
        Assert.Equal("node-1", placement["singletons"]!["scheduler"]!.GetValue<string>());
        Assert.NotEmpty(placement["partitions"]!.AsObject());
        Assert.All(placement["partitions"]!.AsObject(), p => Assert.Equal("node-1", p.Value!.GetValue<string>()));

        var address = member["address"]!.GetValue<string>();
        var tree = JsonNode.Parse(await http.GetStringAsync($"/ui/api/actors?depth=3&member={Uri.EscapeDataString(address)}"))!;
        var paths = tree["actors"]!.AsArray().Select(a => a!["path"]!.GetValue<string>()).ToList();
        Assert.Contains("/user/apiserver", paths);
        Assert.Contains("/user/node-inspector", paths);
        Assert.Contains("/system", paths);

        using var unknown = await http.GetAsync("/ui/api/actors?member=akka.tcp://akkakube@127.0.0.1:1");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task The_web_view_is_read_only()
    {
        using var http = WithToken(UiNode.AdminToken);
        using var r = await http.PostAsync("/ui/api/placement", new StringContent("{}"));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, r.StatusCode);
    }

    [Fact]
    public async Task The_hot_actors_report_their_mailbox_depth()
    {
        await BootstrappedAsync();
        Actors.Observability.MailboxMetrics.Update(node.System);
        var labels = Actors.Observability.MailboxMetrics.Depth.GetAllLabelValues().Select(l => l[0]).ToList();
        Assert.Contains("apiserver", labels);
        Assert.Contains(labels, l => l.StartsWith("store/", StringComparison.Ordinal));
        Assert.All(labels, l => Assert.True(Actors.Observability.MailboxMetrics.Depth.WithLabels(l).Value >= 0));
    }
}
