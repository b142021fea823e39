using AkkaKube.Actors.ApiServer.Audit;

namespace AkkaKube.Tests.ApiServer.Audit;

/// <summary>The audit policy as kube-apiserver reads and applies it: the first matching rule decides the level.</summary>
public sealed class AuditPolicyTests
{
    private const string Policy = """
        apiVersion: audit.k8s.io/v1
        kind: Policy
        omitStages: [RequestReceived]
        rules:
          - level: None
            users: ["system:kube-proxy"]
            verbs: ["watch"]
          - level: None
            userGroups: ["system:nodes"]
            verbs: ["get"]
            resources: [{group: "", resources: ["nodes", "nodes/status"]}]
          - level: None
            nonResourceURLs: ["/healthz*", "/version"]
          - level: Metadata
            resources: [{group: "", resources: ["secrets", "configmaps"]}]
          - level: Request
            namespaces: ["kube-system"]
          - level: RequestResponse
            resources: [{group: "apps", resources: ["deployments/*"]}, {group: "", resources: ["*/log"]}]
          - level: Metadata
            resources: [{group: "", resources: ["pods"], resourceNames: ["watched"]}]
            omitStages: [ResponseComplete]
          - level: Request
            verbs: ["create", "update", "patch", "delete"]
          - level: Metadata
            userGroups: ["system:authenticated"]
        """;

    private static readonly AuditPolicy Parsed = AuditPolicy.Parse(Policy);

    private static AuditAttributes Resource(string verb, string group, string resource, string? ns = "default", string? name = null, string? sub = null,
        string user = "jane", params string[] groups) =>
        new(user, groups.Length == 0 ? ["system:authenticated"] : groups, verb, true, group, resource, sub, ns, name, "/api/v1/…");

    private static AuditAttributes Path(string path, string user = "jane") => new(user, ["system:authenticated"], "get", false, "", "", null, null, null, path);

    public static TheoryData<string, AuditAttributes, AuditLevel> Cases => new()
    {
        { "kube-proxy's watches are not logged", Resource("watch", "", "endpoints", user: "system:kube-proxy"), AuditLevel.None },
        { "kube-proxy's other verbs fall through to the catch-all", Resource("list", "", "endpoints", user: "system:kube-proxy"), AuditLevel.Metadata },
        { "a node reading its Node status is not logged", Resource("get", "", "nodes", null, "n1", "status", "system:node:n1", "system:nodes"), AuditLevel.None },
        { "a node reading another resource is", Resource("get", "", "pods", groups: ["system:nodes", "system:authenticated"]), AuditLevel.Metadata },
        { "health checks are not logged (trailing *)", Path("/healthz/ping"), AuditLevel.None },
        { "an exact non-resource URL", Path("/version"), AuditLevel.None },
        { "another non-resource URL reaches the catch-all", Path("/metrics"), AuditLevel.Metadata },
        { "secrets at Metadata whatever the verb", Resource("create", "", "secrets"), AuditLevel.Metadata },
        { "a kube-system write is a Request", Resource("list", "", "pods", "kube-system"), AuditLevel.Request },
        { "a cluster-scoped resource is not in any listed namespace", Resource("list", "", "nodes", null), AuditLevel.Metadata },
        { "res/* matches the resource's subresources", Resource("update", "apps", "deployments", name: "d", sub: "scale"), AuditLevel.RequestResponse },
        { "*/log matches the log subresource of any resource", Resource("get", "", "pods", name: "p", sub: "log"), AuditLevel.RequestResponse },
        { "res/* matches the resource itself too (as Kubernetes' checker)", Resource("update", "apps", "deployments", name: "d"), AuditLevel.RequestResponse },
        { "the group must match", Resource("get", "extensions", "deployments", name: "d", sub: "scale"), AuditLevel.Metadata },
        { "omitStages ResponseComplete drops the event", Resource("get", "", "pods", name: "watched"), AuditLevel.None },
        { "resourceNames narrow the rule", Resource("get", "", "pods", name: "other"), AuditLevel.Metadata },
        { "writes are Requests", Resource("delete", "", "services", name: "s"), AuditLevel.Request },
        { "no rule matches an unauthenticated read", new AuditAttributes("system:anonymous", ["system:unauthenticated"], "get", false, "", "", null, null, null, "/api"), AuditLevel.None },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void The_first_matching_rule_decides(string why, AuditAttributes request, AuditLevel level) =>
        Assert.True(Parsed.LevelOf(request) == level, $"{why}: expected {level}, got {Parsed.LevelOf(request)}");

    [Theory]
    [InlineData("apiVersion: v1\nkind: Policy\nrules: []", "apiVersion: Unsupported value: \"v1\"")]
    [InlineData("apiVersion: audit.k8s.io/v1\nkind: Pod", "kind: Unsupported value: \"Pod\"")]
    [InlineData("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: [{level: Verbose}]", "rules[0].level: Unsupported value: \"Verbose\"")]
    [InlineData("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: [{level: None, omitStages: [Done]}]", "rules[0].omitStages: Unsupported value: \"Done\"")]
    [InlineData("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: [{level: None, nonResourceURLs: [/x], resources: [{group: \"\"}]}]", "rules[0].nonResourceURLs: Invalid value")]
    [InlineData("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: [{level: None, resources: [{resources: [\"*\"], resourceNames: [a]}]}]", "rules[0].resources[0].resourceNames: Invalid value")]
    [InlineData("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: [{level: None, users: jane}]", "rules[0].users: must be a list of strings")]
    [InlineData("[1, 2", "not a YAML or JSON document")]
    public void A_bad_policy_is_refused_naming_the_field(string text, string message) =>
        Assert.Contains(message, Assert.Throws<AuditPolicyException>(() => AuditPolicy.Parse(text)).Message);

    [Fact]
    public void A_policy_without_rules_logs_nothing_and_json_policies_parse_too()
    {
        Assert.Equal(AuditLevel.None, AuditPolicy.Parse("{\"apiVersion\":\"audit.k8s.io/v1\",\"kind\":\"Policy\"}").LevelOf(Path("/api")));
        Assert.Equal(AuditLevel.RequestResponse,
            AuditPolicy.Parse("{\"apiVersion\":\"audit.k8s.io/v1\",\"kind\":\"Policy\",\"rules\":[{\"level\":\"RequestResponse\"}]}").LevelOf(Path("/api")));
        Assert.Equal(AuditLevel.None, AuditPolicy.Parse("apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [ResponseComplete]\nrules: [{level: Metadata}]").LevelOf(Path("/api")));
    }
}
