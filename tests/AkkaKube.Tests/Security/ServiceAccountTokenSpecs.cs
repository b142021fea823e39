using System.Net;
using System.Text.Json.Nodes;
using AkkaKube.Tests.Infrastructure;
using AkkaKube.Tests.Kubectl;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace AkkaKube.Tests.Security;

/// <summary>
/// ServiceAccount tokens as a workload uses them: `kubectl create token`, the token as a bearer credential doing what
/// its Role allows and nothing more, whoami, verification outside through OIDC discovery, and death with its account.
/// </summary>
public sealed class ServiceAccountTokenSpecs(RbacNode rbac) : IClassFixture<RbacNode>
{
    private HttpClient Admin => rbac.Admin;

    private HttpClient Bearer(string token) => RbacNode.BearerClient(rbac.Node, token);

    private async Task Post(string path, string json)
    {
        var r = await Admin.PostAsync(path, RbacNode.Json(json));
        Assert.True(r.StatusCode is HttpStatusCode.Created or HttpStatusCode.Conflict, await r.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Every_namespace_gets_a_default_service_account()
    {
        await RbacNode.Until(async () => await RbacNode.GetJson(Admin, "/api/v1/namespaces/team-b/serviceaccounts/default") is not null, "default ServiceAccount in team-b");
        Assert.Equal(HttpStatusCode.OK, (await Admin.DeleteAsync("/api/v1/namespaces/team-b/serviceaccounts/default")).StatusCode);
        await RbacNode.Until(async () => await RbacNode.GetJson(Admin, "/api/v1/namespaces/team-b/serviceaccounts/default") is not null, "default ServiceAccount re-created");
    }

    [SkippableFact]
    public async Task A_token_from_kubectl_create_token_does_what_its_role_allows_and_dies_with_its_account()
    {
        Skip.If(KubectlRunner.KubectlPath is null, "kubectl is not on PATH");
        await Post("/api/v1/namespaces/team-a/serviceaccounts", """{"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"robot"}}""");
        await Post("/apis/rbac.authorization.k8s.io/v1/namespaces/team-a/roles",
            """{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"Role","metadata":{"name":"pod-reader"},"rules":[{"apiGroups":[""],"resources":["pods"],"verbs":["get","list","watch"]}]}""");
        await Post("/apis/rbac.authorization.k8s.io/v1/namespaces/team-a/rolebindings",
            """{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"RoleBinding","metadata":{"name":"robot-reads-pods"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"Role","name":"pod-reader"},"subjects":[{"kind":"ServiceAccount","name":"robot","namespace":"team-a"}]}""");

        var created = await rbac.Kubectl.Run("create token robot -n team-a --duration=1h");
        Assert.True(created.Exit == 0, created.Out + created.Err);
        var token = created.Out.Trim();
        Assert.Equal(3, token.Split('.').Length);

        using var robot = Bearer(token);
        await RbacNode.Until(async () => (await robot.GetAsync("/api/v1/namespaces/team-a/pods")).StatusCode == HttpStatusCode.OK, "the binding reached the authorizer");
        using var other = await robot.GetAsync("/api/v1/namespaces/team-b/pods");
        Assert.Equal(HttpStatusCode.Forbidden, other.StatusCode);
        Assert.Equal("pods is forbidden: User \"system:serviceaccount:team-a:robot\" cannot list resource \"pods\" in API group \"\" in the namespace \"team-b\"",
            JsonNode.Parse(await other.Content.ReadAsStringAsync())!["message"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.Forbidden, (await robot.PostAsync("/api/v1/namespaces/team-a/configmaps",
            RbacNode.Json("""{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"robot"}}"""))).StatusCode);

        using var whoami = await robot.PostAsync("/apis/authentication.k8s.io/v1/selfsubjectreviews", RbacNode.Json("""{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}"""));
        var user = JsonNode.Parse(await whoami.Content.ReadAsStringAsync())!["status"]!["userInfo"]!;
        Assert.Equal("system:serviceaccount:team-a:robot", user["username"]!.GetValue<string>());
        Assert.Equal(["system:serviceaccounts", "system:serviceaccounts:team-a", "system:authenticated"], user["groups"]!.AsArray().Select(g => g!.GetValue<string>()).ToArray());
        var account = await RbacNode.GetJson(Admin, "/api/v1/namespaces/team-a/serviceaccounts/robot");
        Assert.Equal(account!["metadata"]!["uid"]!.GetValue<string>(), user["uid"]!.GetValue<string>());

        // verifiable outside the cluster: OIDC discovery and JWKS (readable by ServiceAccounts)
        var discovery = JsonNode.Parse(await robot.GetStringAsync("/.well-known/openid-configuration"))!;
        Assert.Equal("https://kubernetes.default.svc.cluster.local", discovery["issuer"]!.GetValue<string>());
        var jwks = new JsonWebKeySet(await robot.GetStringAsync("/openid/v1/jwks"));
        var validated = await new JsonWebTokenHandler().ValidateTokenAsync(token, new TokenValidationParameters
        {
            ValidIssuer = discovery["issuer"]!.GetValue<string>(),
            ValidAudience = discovery["issuer"]!.GetValue<string>(),
            IssuerSigningKeys = jwks.GetSigningKeys(),
        });
        Assert.True(validated.IsValid, validated.Exception?.Message);

        // a tampered token and a token whose account is gone are 401
        using var tampered = Bearer(token[..^4] + (token.EndsWith("AAAA", StringComparison.Ordinal) ? "BBBB" : "AAAA"));
        Assert.Equal(HttpStatusCode.Unauthorized, (await tampered.GetAsync("/api/v1/namespaces/team-a/pods")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Admin.DeleteAsync("/api/v1/namespaces/team-a/serviceaccounts/robot")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await robot.GetAsync("/api/v1/namespaces/team-a/pods")).StatusCode);
    }
}
