using System.Text.Json.Nodes;
using AkkaKube.Actors.ApiServer;
using AkkaKube.Actors.ApiServer.Registry;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Tests.ApiServer.Registry;

/// <summary>The strategies of the kinds served before the registry redesign: defaulting, validation, field validation.</summary>
public class BuiltInStrategySpecs
{
    private static readonly ApiRegistry Registry = ApiRegistry.CreateBuiltIn();

    private static JsonObject J(string s) => (JsonObject)JsonNode.Parse(s)!;

    private static ResourceStrategy Strategy(string kind) => Registry.Registrations.First(x => x.Resource.Kind == kind).Strategy;

    private const string GoodDeployment = """
        {"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},
         "spec":{"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"c","image":"nginx"}]}}}}
        """;

    public static TheoryData<string, string, string, string> InvalidCases => new()
    {
        { "a deployment whose selector does not match its template", "Deployment",
            """{"metadata":{"name":"web"},"spec":{"selector":{"matchLabels":{"app":"x"}},"template":{"metadata":{"labels":{"app":"y"}},"spec":{"containers":[{"name":"c","image":"i"}]}}}}""",
            "spec.template.metadata.labels" },
        { "a deployment without selector", "Deployment",
            """{"metadata":{"name":"web"},"spec":{"template":{"metadata":{"labels":{"app":"y"}},"spec":{"containers":[{"name":"c","image":"i"}]}}}}""",
            "spec.selector" },
        { "a pod without containers", "Pod", """{"metadata":{"name":"p"},"spec":{}}""", "spec.containers" },
        { "a container without image", "Pod", """{"metadata":{"name":"p"},"spec":{"containers":[{"name":"c"}]}}""", "spec.containers[0].image" },
        { "a container without name", "Pod", """{"metadata":{"name":"p"},"spec":{"containers":[{"image":"i"}]}}""", "spec.containers[0].name" },
        { "an upper-case name", "ConfigMap", """{"metadata":{"name":"Bad"}}""", "metadata.name" },
        { "a missing name", "ConfigMap", """{"metadata":{}}""", "metadata.name" },
        { "a namespace name with a dot", "Namespace", """{"metadata":{"name":"a.b"}}""", "metadata.name" },
        { "an invalid label value", "ConfigMap", """{"metadata":{"name":"c","labels":{"a":"-x-"}}}""", "metadata.labels" },
        { "a service port out of range", "Service", """{"metadata":{"name":"s"},"spec":{"ports":[{"port":70000}]}}""", "spec.ports[0].port" },
        { "negative replicas", "Deployment",
            """{"metadata":{"name":"web"},"spec":{"replicas":-1,"selector":{"matchLabels":{"app":"y"}},"template":{"metadata":{"labels":{"app":"y"}},"spec":{"containers":[{"name":"c","image":"i"}]}}}}""",
            "spec.replicas" },
    };

    [Theory]
    [MemberData(nameof(InvalidCases))]
    public void Invalid_objects_name_the_field(string name, string kind, string json, string field)
    {
        _ = name;
        var causes = Strategy(kind).ValidateWrite(J(json), null);
        Assert.Contains(causes, c => c.Field == field);
    }

    [Fact]
    public void A_good_deployment_is_valid_and_defaulted()
    {
        var d = J(GoodDeployment);
        Strategy("Deployment").Default(d);
        Assert.Empty(Strategy("Deployment").ValidateWrite(d, null));
        Assert.Equal(1, d["spec"]!["replicas"]!.GetValue<int>());
        Assert.Equal("RollingUpdate", d["spec"]!["strategy"]!["type"]!.GetValue<string>());
        Assert.Equal("Always", d["spec"]!["template"]!["spec"]!["restartPolicy"]!.GetValue<string>());
        Assert.Equal("Always", d["spec"]!["template"]!["spec"]!["containers"]![0]!["imagePullPolicy"]!.GetValue<string>());
    }

    [Fact]
    public void Pod_spec_changes_other_than_image_are_forbidden()
    {
        var old = J("""{"metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"a"}]}}""");
        var imageOnly = J("""{"metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"b"}]}}""");
        var command = J("""{"metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"a","command":["x"]}]}}""");
        Assert.Empty(Strategy("Pod").ValidateWrite(imageOnly, old));
        Assert.Contains(Strategy("Pod").ValidateWrite(command, old), c => c.Field == "spec" && c.Reason == "FieldValueForbidden");
    }

    [Theory]
    [InlineData("binding sets the volume name", """{"volumeName":"pv-1"}""", null)]
    [InlineData("the default class given to a claim without one", """{"storageClassName":"standard"}""", null)]
    [InlineData("access modes", """{"accessModes":["ReadWriteMany"]}""", "spec")]
    [InlineData("a smaller request", """{"resources":{"requests":{"storage":"500Mi"}}}""", "spec.resources.requests.storage")]
    [InlineData("a larger request (no class expands)", """{"resources":{"requests":{"storage":"2Gi"}}}""", "spec.resources.requests.storage")]
    public void A_claim_spec_is_immutable_but_for_binding(string name, string change, string? forbiddenField)
    {
        var old = J("""{"metadata":{"name":"c"},"spec":{"accessModes":["ReadWriteOnce"],"volumeMode":"Filesystem","resources":{"requests":{"storage":"1Gi"}}}}""");
        var updated = old.DeepClone().AsObject();
        foreach (var (k, v) in J(change)) updated["spec"]![k] = v?.DeepClone();
        var causes = Strategy("PersistentVolumeClaim").ValidateWrite(updated, old).ToList();
        if (forbiddenField is null) Assert.True(causes.Count == 0, $"{name}: {string.Join("; ", causes.Select(c => c.Message))}");
        else Assert.True(causes.Any(c => c.Field == forbiddenField && c.Reason == "FieldValueForbidden"), $"{name}: {string.Join("; ", causes.Select(c => c.Field + " " + c.Message))}");
        var bound = J("""{"metadata":{"name":"c"},"spec":{"accessModes":["ReadWriteOnce"],"volumeName":"pv-1","resources":{"requests":{"storage":"1Gi"}}}}""");
        var rebound = bound.DeepClone().AsObject();
        rebound["spec"]!["volumeName"] = "pv-2";
        Assert.Contains(Strategy("PersistentVolumeClaim").ValidateWrite(rebound, bound), c => c.Field == "spec");
    }

    [Fact]
    public void The_deployment_selector_is_immutable()
    {
        var old = J(GoodDeployment);
        var changed = J(GoodDeployment.Replace("\"app\":\"web\"", "\"app\":\"other\""));
        Assert.Contains(Strategy("Deployment").ValidateWrite(changed, old), c => c.Field == "spec.selector");
    }

    [Fact]
    public void Unknown_fields_are_found_by_path()
    {
        var unknown = TypedFields.UnknownFields(Strategy("Deployment").Model, "Deployment", J("""{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"x"},"spec":{"replicas":1,"bogus":2,"template":{"spec":{"containers":[{"name":"c","imagee":"x"}]}}},"extra":true}"""));
        Assert.Equal(new[] { "extra", "spec.bogus", "spec.template.spec.containers[0].imagee" }, unknown.OrderBy(x => x, StringComparer.Ordinal));
    }

    [Fact]
    public void A_wrong_json_type_is_a_bad_request()
    {
        var e = Assert.Throws<ApiException>(() => TypedFields.UnknownFields(Strategy("Deployment").Model, "Deployment", J("""{"spec":{"replicas":"three"}}""")));
        Assert.Equal(400, e.Code);
    }

    [Fact]
    public void Every_builtin_kind_has_a_model_for_field_validation()
    {
        Assert.All(Registry.Registrations, r => Assert.NotNull(r.Strategy.Model));
    }

    [Theory]
    [InlineData("Service", "port")]
    [InlineData("Deployment", "containerPort")]
    public void Ports_merge_by_the_key_of_their_kind(string kind, string key)
    {
        var path = kind == "Service" ? new[] { "spec", "ports" } : ["spec", "template", "spec", "containers", "ports"];
        Assert.Equal(key, Strategy(kind).MergeKey(path));
    }
}
