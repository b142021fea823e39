using System.Text.Json.Nodes;
using AkkaKube.Actors.Security;
using AkkaKube.Actors.Security.Rbac;

namespace AkkaKube.Tests.Security;

/// <summary>RBAC rule matching and coverage as Kubernetes' rbac authorizer and escalation check define them.</summary>
public sealed class PolicyRuleTests
{
    private static readonly UserInfo Jane = new("jane", UserInfo.Authenticated(["dev"]));

    private static PolicyRule Rule(string json) => PolicyRule.Parse(JsonNode.Parse(json)!.AsObject());

    private static AuthorizationAttributes Res(string verb, string group, string resource, string? sub = null, string? ns = "a", string? name = null) =>
        AuthorizationAttributes.ForResource(Jane, verb, group, resource, sub, ns, name);

    [Fact]
    public void A_resource_does_not_match_its_subresources_but_star_slash_sub_matches_every_one()
    {
        var pods = Rule("""{"verbs":["get"],"apiGroups":[""],"resources":["pods"]}""");
        Assert.True(pods.Allows(Res("get", "", "pods")));
        Assert.False(pods.Allows(Res("get", "", "pods", "log")));
        Assert.False(pods.Allows(Res("list", "", "pods")));
        Assert.False(pods.Allows(Res("get", "apps", "pods")));
        var status = Rule("""{"verbs":["get"],"apiGroups":["*"],"resources":["*/status"]}""");
        Assert.True(status.Allows(Res("get", "apps", "deployments", "status")));
        Assert.False(status.Allows(Res("get", "apps", "deployments")));
        Assert.True(Rule("""{"verbs":["*"],"apiGroups":["*"],"resources":["*"]}""").Allows(Res("delete", "x.io", "widgets", "scale")));
    }

    [Fact]
    public void Resource_names_restrict_to_named_objects()
    {
        var one = Rule("""{"verbs":["get","update"],"apiGroups":[""],"resources":["configmaps"],"resourceNames":["settings"]}""");
        Assert.True(one.Allows(Res("get", "", "configmaps", name: "settings")));
        Assert.False(one.Allows(Res("get", "", "configmaps", name: "other")));
        Assert.False(one.Allows(Res("list", "", "configmaps")));
    }

    [Fact]
    public void Non_resource_urls_match_exactly_or_by_a_trailing_star()
    {
        var rule = Rule("""{"verbs":["get"],"nonResourceURLs":["/healthz","/apis/*"]}""");
        Assert.True(rule.Allows(AuthorizationAttributes.ForPath(Jane, "get", "/healthz")));
        Assert.True(rule.Allows(AuthorizationAttributes.ForPath(Jane, "get", "/apis/apps/v1")));
        Assert.False(rule.Allows(AuthorizationAttributes.ForPath(Jane, "get", "/healthz/etcd")));
        Assert.False(rule.Allows(AuthorizationAttributes.ForPath(Jane, "post", "/healthz")));
        Assert.False(rule.Allows(Res("get", "", "healthz")));
    }

    [Fact]
    public void A_grant_is_covered_only_when_every_atom_of_it_is()
    {
        var held = new[] { Rule("""{"verbs":["get","list"],"apiGroups":[""],"resources":["pods","*/status"]}""") };
        bool Covered(string json) => Rule(json).Atoms().All(a => held.Any(h => h.Covers(a)));
        Assert.True(Covered("""{"verbs":["get"],"apiGroups":[""],"resources":["pods"]}"""));
        Assert.True(Covered("""{"verbs":["list"],"apiGroups":[""],"resources":["pods/status"],"resourceNames":["p"]}"""));
        Assert.False(Covered("""{"verbs":["get","delete"],"apiGroups":[""],"resources":["pods"]}"""));
        Assert.False(Covered("""{"verbs":["*"],"apiGroups":[""],"resources":["pods"]}"""));
        Assert.False(Covered("""{"verbs":["get"],"apiGroups":[""],"resources":["pods/log"]}"""));
    }

    [Fact]
    public void Forbidden_messages_have_kubernetes_shape()
    {
        Assert.Equal("pods is forbidden: User \"jane\" cannot list resource \"pods\" in API group \"\" in the namespace \"b\"",
            Res("list", "", "pods", ns: "b").ForbiddenMessage());
        Assert.Equal("deployments.apps \"web\" is forbidden: User \"jane\" cannot get resource \"deployments/scale\" in API group \"apps\" in the namespace \"b\"",
            Res("get", "apps", "deployments", "scale", "b", "web").ForbiddenMessage());
        Assert.Equal("nodes is forbidden: User \"jane\" cannot list resource \"nodes\" in API group \"\" at the cluster scope",
            Res("list", "", "nodes", ns: null).ForbiddenMessage());
        Assert.Equal("forbidden: User \"jane\" cannot get path \"/metrics\"", AuthorizationAttributes.ForPath(Jane, "get", "/metrics").ForbiddenMessage());
    }
}
