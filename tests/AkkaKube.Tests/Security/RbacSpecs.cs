using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using AkkaKube.Actors.Security;
using AkkaKube.Tests.ApiServer;
using AkkaKube.Tests.Infrastructure;
using AkkaKube.Tests.Kubectl;

namespace AkkaKube.Tests.Security;

/// <summary>An apiserver with the clusterrole-aggregation controller (admin, edit and view get their rules) and nothing else writing.</summary>
public sealed class RbacNode : IAsyncLifetime
{
    private readonly TempDir _kubectlDir = new();
    public InProcessNode Node { get; } = new ApiOnlyNode("akkakube.controllers.enabled = [clusterrole-aggregation, serviceaccount]\n");
    public HttpClient Admin { get; private set; } = null!;
    public KubectlRunner Kubectl { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await Node.InitializeAsync();
        Admin = Node.NewHttpClient();
        Kubectl = new KubectlRunner(_kubectlDir.Path);
        Kubectl.UseKubeconfig(Node.KubeconfigPath);
        foreach (var ns in new[] { "team-a", "team-b" })
            await Until(async () => (await Admin.PostAsync("/api/v1/namespaces", Json(new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Namespace", ["metadata"] = new JsonObject { ["name"] = ns } }.ToJsonString()))).StatusCode
                is HttpStatusCode.Created or HttpStatusCode.Conflict, $"namespace {ns} created");
        // view aggregated from system:aggregate-to-view by the controller
        await Until(async () => (await GetJson(Admin, "/apis/rbac.authorization.k8s.io/v1/clusterroles/view"))?["rules"] is JsonArray { Count: > 0 }, "view aggregated");
    }

    public static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    public static async Task<JsonNode?> GetJson(HttpClient http, string path)
    {
        using var r = await http.GetAsync(path);
        return r.IsSuccessStatusCode ? JsonNode.Parse(await r.Content.ReadAsStringAsync()) : null;
    }

    /// <summary>Polls a condition the informer-fed authorizer reaches asynchronously (bounded, with the reason on failure).</summary>
    public static async Task Until(Func<Task<bool>> condition, string what, int seconds = 60)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"not reached within {seconds}s: {what}");
            await Task.Delay(100);
        }
    }

    /// <summary>An HttpClient on <paramref name="node"/>'s API presenting only <paramref name="token"/> (no client certificate).</summary>
    public static HttpClient BearerClient(InProcessNode node, string token)
    {
        var handler = node.Credentials.CreateHandler();
        handler.SslOptions.ClientCertificates = null;
        var http = new HttpClient(handler) { BaseAddress = node.Credentials.Server, Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        return http;
    }

    /// <summary>An HttpClient authenticated by a client certificate the cluster CA issues to <paramref name="user"/>.</summary>
    public HttpClient ClientFor(string user, params string[] groups)
    {
        using var ca = ClusterCa.LoadOrCreate(Node.Options.DataDirectory);
        var certificate = ca.Issue(user, groups, CertificateUse.Client, validity: TimeSpan.FromHours(1));
        var handler = Node.Credentials.CreateHandler();
        handler.SslOptions.ClientCertificates = [certificate];
        return new HttpClient(handler) { BaseAddress = Node.Credentials.Server, Timeout = TimeSpan.FromSeconds(30) };
    }

    public async Task DisposeAsync()
    {
        Admin?.Dispose();
        await Node.DisposeAsync();
        _kubectlDir.Dispose();
    }
}

/// <summary>
/// RBAC as a user meets it: a user bound to `view` in one namespace reads there and nothing more, 403s in Kubernetes'
/// words, `kubectl auth can-i` (with --as impersonation) agreeing with what the user really gets, escalation refused.
/// </summary>
public sealed class RbacSpecs(RbacNode rbac) : IClassFixture<RbacNode>
{
    private HttpClient Admin => rbac.Admin;

    private async Task Bind(string ns, string name, string roleKind, string role, string subjectKind, string subject)
    {
        var subjectJson = new JsonObject { ["kind"] = subjectKind, ["name"] = subject };
        if (subjectKind == "ServiceAccount") subjectJson["namespace"] = ns;
        var body = new JsonObject
        {
            ["apiVersion"] = "rbac.authorization.k8s.io/v1", ["kind"] = "RoleBinding", ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns },
            ["roleRef"] = new JsonObject { ["apiGroup"] = "rbac.authorization.k8s.io", ["kind"] = roleKind, ["name"] = role },
            ["subjects"] = new JsonArray(subjectJson),
        }.ToJsonString();
        var r = await Admin.PostAsync($"/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/rolebindings", RbacNode.Json(body));
        Assert.True(r.StatusCode is HttpStatusCode.Created or HttpStatusCode.Conflict, await r.Content.ReadAsStringAsync());
    }

    private static async Task<(HttpStatusCode Code, JsonNode? Body)> Send(HttpClient http, HttpMethod method, string path, string? body = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : RbacNode.Json(body) };
        using var r = await http.SendAsync(request);
        var text = await r.Content.ReadAsStringAsync();
        return (r.StatusCode, text.Length > 0 && text[0] == '{' ? JsonNode.Parse(text) : null);
    }

    [Fact]
    public async Task A_user_bound_to_view_in_one_namespace_reads_there_and_gets_403_elsewhere_and_for_writes()
    {
        await Bind("team-a", "viewer-view", "ClusterRole", "view", "User", "viewer");
        using var viewer = rbac.ClientFor("viewer", "dev");
        await RbacNode.Until(async () => (await viewer.GetAsync("/api/v1/namespaces/team-a/pods")).StatusCode == HttpStatusCode.OK, "the binding reached the authorizer");

        var (code, status) = await Send(viewer, HttpMethod.Get, "/api/v1/namespaces/team-b/pods");
        Assert.Equal(HttpStatusCode.Forbidden, code);
        Assert.Equal(("Status", "Failure", "Forbidden", 403), (status!["kind"]!.GetValue<string>(), status["status"]!.GetValue<string>(), status["reason"]!.GetValue<string>(), status["code"]!.GetValue<int>()));
        Assert.Equal("pods is forbidden: User \"viewer\" cannot list resource \"pods\" in API group \"\" in the namespace \"team-b\"", status["message"]!.GetValue<string>());
        Assert.Equal("pods", status["details"]!["kind"]!.GetValue<string>());

        (code, status) = await Send(viewer, HttpMethod.Post, "/api/v1/namespaces/team-a/configmaps", """{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"nope"}}""");
        Assert.Equal(HttpStatusCode.Forbidden, code);
        Assert.Equal("configmaps is forbidden: User \"viewer\" cannot create resource \"configmaps\" in API group \"\" in the namespace \"team-a\"", status!["message"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.NotFound, (await Admin.GetAsync("/api/v1/namespaces/team-a/configmaps/nope")).StatusCode);
        // view reads no secrets and no cluster-scoped nodes
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.GetAsync("/api/v1/namespaces/team-a/secrets")).StatusCode);
        (code, status) = await Send(viewer, HttpMethod.Get, "/api/v1/nodes");
        Assert.Equal("nodes is forbidden: User \"viewer\" cannot list resource \"nodes\" in API group \"\" at the cluster scope", status!["message"]!.GetValue<string>());
        // deployments and their status, through the same rules; discovery through system:discovery
        Assert.Equal(HttpStatusCode.OK, (await viewer.GetAsync("/apis/apps/v1/namespaces/team-a/deployments")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await viewer.GetAsync("/apis")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await viewer.GetAsync("/version")).StatusCode);
    }

    [SkippableFact]
    public async Task Kubectl_auth_can_i_as_the_user_matches_what_the_user_gets()
    {
        Skip.If(KubectlRunner.KubectlPath is null, "kubectl is not on PATH");
        await Bind("team-a", "lister-view", "ClusterRole", "view", "User", "lister");
        using var lister = rbac.ClientFor("lister");
        await RbacNode.Until(async () => (await lister.GetAsync("/api/v1/namespaces/team-a/pods")).StatusCode == HttpStatusCode.OK, "the binding reached the authorizer");

        var can = await rbac.Kubectl.Run("auth can-i list pods --as=lister -n team-a");
        Assert.True(can.Exit == 0, can.Out + can.Err);
        Assert.Equal("yes", can.Out.Trim());
        var cannot = await rbac.Kubectl.Run("auth can-i delete pods --as=lister -n team-a");
        Assert.Equal(("no", 1), (cannot.Out.Trim(), cannot.Exit));
        Assert.Equal("no", (await rbac.Kubectl.Run("auth can-i list pods --as=lister -n team-b")).Out.Trim());

        var list = await rbac.Kubectl.Run("auth can-i --list --as=lister -n team-a");
        Assert.True(list.Exit == 0, list.Out + list.Err);
        var lines = list.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Contains(lines, l => l.StartsWith("pods ", StringComparison.Ordinal) && l.EndsWith("[get list watch]", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("selfsubjectaccessreviews.authorization.k8s.io", StringComparison.Ordinal) && l.EndsWith("[create]", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.StartsWith("secrets ", StringComparison.Ordinal));

        // the same question asked by the user itself (its own SelfSubjectRulesReview) gives the same rules
        var (code, own) = await Send(lister, HttpMethod.Post, "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
            """{"apiVersion":"authorization.k8s.io/v1","kind":"SelfSubjectRulesReview","spec":{"namespace":"team-a"}}""");
        Assert.Equal(HttpStatusCode.Created, code);
        var (_, asAdmin) = await Send(Admin, HttpMethod.Post, "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
            """{"apiVersion":"authorization.k8s.io/v1","kind":"SelfSubjectRulesReview","spec":{"namespace":"team-a"}}""");
        Assert.NotEqual(own!["status"]!.ToJsonString(), asAdmin!["status"]!.ToJsonString());
        // --validate=false as with Kubernetes: kubectl validates a kind without a PATCH operation client-side and first
        // checks whether it is a CRD, which "lister" may not list
        var impersonated = await rbac.Kubectl.Run("create -o json --validate=false --as=lister -f -", """{"apiVersion":"authorization.k8s.io/v1","kind":"SelfSubjectRulesReview","spec":{"namespace":"team-a"}}""");
        Assert.True(impersonated.Exit == 0, impersonated.Out + impersonated.Err);
        Assert.True(JsonNode.DeepEquals(own["status"], JsonNode.Parse(impersonated.Out)!["status"]), impersonated.Out);
    }

    [Fact]
    public async Task Subject_access_reviews_answer_for_another_user_and_self_subject_review_names_the_caller()
    {
        await Bind("team-b", "auditor-view", "ClusterRole", "view", "Group", "auditors");
        await RbacNode.Until(async () =>
        {
            var (_, review) = await Send(Admin, HttpMethod.Post, "/apis/authorization.k8s.io/v1/subjectaccessreviews",
                """{"apiVersion":"authorization.k8s.io/v1","kind":"SubjectAccessReview","spec":{"user":"ann","groups":["auditors"],"resourceAttributes":{"namespace":"team-b","verb":"list","resource":"pods"}}}""");
            return review?["status"]?["allowed"]?.GetValue<bool>() == true;
        }, "the group binding reached the authorizer");
        var (_, denied) = await Send(Admin, HttpMethod.Post, "/apis/authorization.k8s.io/v1/subjectaccessreviews",
            """{"apiVersion":"authorization.k8s.io/v1","kind":"SubjectAccessReview","spec":{"user":"ann","groups":["auditors"],"resourceAttributes":{"namespace":"team-b","verb":"delete","resource":"pods"}}}""");
        Assert.False(denied!["status"]!["allowed"]!.GetValue<bool>());
        // not stored: a review has no list
        Assert.Equal(HttpStatusCode.MethodNotAllowed, (await Admin.GetAsync("/apis/authorization.k8s.io/v1/subjectaccessreviews")).StatusCode);

        using var ann = rbac.ClientFor("ann", "auditors");
        var (code, whoami) = await Send(ann, HttpMethod.Post, "/apis/authentication.k8s.io/v1/selfsubjectreviews",
            """{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}""");
        Assert.Equal(HttpStatusCode.Created, code);
        Assert.Equal("ann", whoami!["status"]!["userInfo"]!["username"]!.GetValue<string>());
        Assert.Equal(["auditors", UserInfo.AuthenticatedGroup], whoami["status"]!["userInfo"]!["groups"]!.AsArray().Select(g => g!.GetValue<string>()).ToArray());
        // an ordinary user may not ask about others
        Assert.Equal(HttpStatusCode.Forbidden, (await Send(ann, HttpMethod.Post, "/apis/authorization.k8s.io/v1/subjectaccessreviews",
            """{"apiVersion":"authorization.k8s.io/v1","kind":"SubjectAccessReview","spec":{"user":"x","resourceAttributes":{"verb":"get","resource":"pods"}}}""")).Code);
    }

    [Fact]
    public async Task Granting_what_you_do_not_hold_is_refused_unless_you_may_escalate_or_bind()
    {
        var role = """
            {"apiVersion":"rbac.authorization.k8s.io/v1","kind":"Role","metadata":{"name":"delegator","namespace":"team-a"},
             "rules":[{"apiGroups":["rbac.authorization.k8s.io"],"resources":["roles","rolebindings"],"verbs":["create","get"]},
                      {"apiGroups":[""],"resources":["pods"],"verbs":["get","list"]}]}
            """;
        var created = await Admin.PostAsync("/apis/rbac.authorization.k8s.io/v1/namespaces/team-a/roles", RbacNode.Json(role));
        Assert.True(created.StatusCode is HttpStatusCode.Created or HttpStatusCode.Conflict);
        await Bind("team-a", "delegator", "Role", "delegator", "User", "lead");
        using var lead = rbac.ClientFor("lead");
        await RbacNode.Until(async () => (await lead.GetAsync("/api/v1/namespaces/team-a/pods")).StatusCode == HttpStatusCode.OK, "the binding reached the authorizer");

        var (code, status) = await Send(lead, HttpMethod.Post, "/apis/rbac.authorization.k8s.io/v1/namespaces/team-a/roles", """
            {"apiVersion":"rbac.authorization.k8s.io/v1","kind":"Role","metadata":{"name":"deleter"},"rules":[{"apiGroups":[""],"resources":["pods"],"verbs":["get","delete"]}]}
            """);
        Assert.Equal(HttpStatusCode.Forbidden, code);
        var message = status!["message"]!.GetValue<string>();
        Assert.StartsWith("roles.rbac.authorization.k8s.io \"deleter\" is forbidden: user \"lead\"", message);
        Assert.Contains("is attempting to grant RBAC permissions not currently held:\n{APIGroups:[\"\"], Resources:[\"pods\"], Verbs:[\"delete\"]}", message);
        Assert.Equal(HttpStatusCode.NotFound, (await Admin.GetAsync("/apis/rbac.authorization.k8s.io/v1/namespaces/team-a/roles/deleter")).StatusCode);

        // what the user holds, it may grant
        (code, _) = await Send(lead, HttpMethod.Post, "/apis/rbac.authorization.k8s.io/v1/namespaces/team-a/roles", """
            {"apiVersion":"rbac.authorization.k8s.io/v1","kind":"Role","metadata":{"name":"reader"},"rules":[{"apiGroups":[""],"resources":["pods"],"verbs":["get"]}]}
            """);
        Assert.Equal(HttpStatusCode.Created, code);
        // binding `edit` grants far more than the user holds; binding `reader` does not
        (code, status) = await Send(lead, HttpMethod.Post, "/apis/rbac.authorization.k8s.io/v1/namespaces/team-a/rolebindings", """
            {"apiVersion":"rbac.authorization.k8s.io/v1","kind":"RoleBinding","metadata":{"name":"friend-edit"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"edit"},"subjects":[{"kind":"User","name":"friend"}]}
            """);
        Assert.Equal(HttpStatusCode.Forbidden, code);
        Assert.StartsWith("rolebindings.rbac.authorization.k8s.io \"friend-edit\" is forbidden", status!["message"]!.GetValue<string>());
        (code, _) = await Send(lead, HttpMethod.Post, "/apis/rbac.authorization.k8s.io/v1/namespaces/team-a/rolebindings", """
            {"apiVersion":"rbac.authorization.k8s.io/v1","kind":"RoleBinding","metadata":{"name":"friend-reader"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"Role","name":"reader"},"subjects":[{"kind":"User","name":"friend"}]}
            """);
        Assert.Equal(HttpStatusCode.Created, code);
    }

    [Fact]
    public async Task Impersonation_needs_the_impersonate_verb()
    {
        await Bind("team-a", "mallory-view", "ClusterRole", "view", "User", "mallory");
        using var mallory = rbac.ClientFor("mallory");
        await RbacNode.Until(async () => (await mallory.GetAsync("/api/v1/namespaces/team-a/pods")).StatusCode == HttpStatusCode.OK, "the binding reached the authorizer");
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/namespaces");
        request.Headers.Add("Impersonate-User", UserInfo.AdminName);
        request.Headers.Add("Impersonate-Group", UserInfo.MastersGroup);
        using var r = await mallory.SendAsync(request);
        Assert.Equal(HttpStatusCode.Forbidden, r.StatusCode);
        var status = JsonNode.Parse(await r.Content.ReadAsStringAsync())!;
        Assert.Equal($"users \"{UserInfo.AdminName}\" is forbidden: User \"mallory\" cannot impersonate resource \"users\" in API group \"\" at the cluster scope",
            status["message"]!.GetValue<string>());

        // the admin may: and then is the impersonated user, 403 included
        using var asMallory = new HttpRequestMessage(HttpMethod.Get, "/api/v1/namespaces/team-b/pods");
        asMallory.Headers.Add("Impersonate-User", "mallory");
        using var r2 = await Admin.SendAsync(asMallory);
        Assert.Equal(HttpStatusCode.Forbidden, r2.StatusCode);
    }

    [Fact]
    public async Task Bootstrap_roles_exist_and_aggregation_follows_labelled_cluster_roles()
    {
        foreach (var name in new[] { "cluster-admin", "admin", "edit", "view", "system:basic-user", "system:discovery", "system:public-info-viewer" })
        {
            var role = await RbacNode.GetJson(Admin, $"/apis/rbac.authorization.k8s.io/v1/clusterroles/{name}");
            Assert.True(role is not null, name);
            Assert.Equal("true", role!["metadata"]!["annotations"]!["rbac.authorization.kubernetes.io/autoupdate"]!.GetValue<string>());
        }
        // The bootstrap writes the roles before the bindings: the binding may land a moment after the roles.
        JsonNode? binding = null;
        await RbacNode.Until(async () => (binding = await RbacNode.GetJson(Admin, "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/cluster-admin")) is not null,
            "the cluster-admin ClusterRoleBinding exists");
        Assert.Equal(UserInfo.MastersGroup, binding!["subjects"]![0]!["name"]!.GetValue<string>());

        var widgets = """
            {"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole","metadata":{"name":"widget-viewer","labels":{"rbac.authorization.k8s.io/aggregate-to-view":"true"}},
             "rules":[{"apiGroups":["example.com"],"resources":["widgets"],"verbs":["get","list"]}]}
            """;
        var created = await Admin.PostAsync("/apis/rbac.authorization.k8s.io/v1/clusterroles", RbacNode.Json(widgets));
        Assert.True(created.StatusCode is HttpStatusCode.Created or HttpStatusCode.Conflict);
        static bool HasWidgets(JsonNode? role) => role?["rules"] is JsonArray rules && rules.Any(r => r!["resources"]!.AsArray().Any(x => x!.GetValue<string>() == "widgets"));
        // view aggregates it, and edit and admin aggregate view's rules in turn
        foreach (var name in new[] { "view", "edit", "admin" })
            await RbacNode.Until(async () => HasWidgets(await RbacNode.GetJson(Admin, $"/apis/rbac.authorization.k8s.io/v1/clusterroles/{name}")), $"{name} aggregated widgets");
    }

    [Fact]
    public async Task Anonymous_callers_reach_health_and_version_only()
    {
        var handler = rbac.Node.Credentials.CreateHandler();
        handler.SslOptions.ClientCertificates = null;
        using var anonymous = new HttpClient(handler) { BaseAddress = rbac.Node.Credentials.Server };
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/version")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/healthz")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/api/v1/namespaces")).StatusCode);
    }
}
