using System.Text.Json.Nodes;
namespace AkkaKube.Tests.Kubectl;

/// <summary>kubectl explain and apply validation over the generated OpenAPI documents (one node per class).</summary>
public class KubectlOpenApiSpecs(KubectlNode k) : IClassFixture<KubectlNode>
{
    private void SkipWithoutKubectl() => Skip.If(KubectlNode.KubectlPath is null, "kubectl is not on PATH");

    [SkippableFact]
    public async Task Explain_deployment_spec_strategy_prints_its_fields()
    {
        SkipWithoutKubectl();
        var r = await k.Run("explain deployment.spec.strategy");
        Assert.True(r.Exit == 0, r.Err);
        Assert.Contains("GROUP:      apps", r.Out);
        Assert.Contains("KIND:       Deployment", r.Out);
        Assert.Contains("FIELD: strategy <DeploymentStrategy>", r.Out);
        Assert.Matches(@"rollingUpdate\s+<RollingUpdateDeployment>", r.Out);
        Assert.Matches(@"type\s+<string>", r.Out);
        Assert.Contains("The deployment strategy to use to replace existing pods with new ones.", r.Out);
        var surge = await k.Run("explain deployment.spec.strategy.rollingUpdate.maxSurge");
        Assert.Contains("FIELD: maxSurge <IntOrString>", surge.Out);
    }

    [SkippableFact]
    public async Task Explain_pod_spec_containers_resources_prints_limits_and_requests()
    {
        SkipWithoutKubectl();
        var r = await k.Run("explain pod.spec.containers.resources");
        Assert.True(r.Exit == 0, r.Err);
        Assert.Contains("KIND:       Pod", r.Out);
        Assert.Contains("FIELD: resources <ResourceRequirements>", r.Out);
        Assert.Matches(@"limits\s+<map\[string\]Quantity>", r.Out);
        Assert.Matches(@"requests\s+<map\[string\]Quantity>", r.Out);
        var containers = await k.Run("explain pod.spec.containers");
        Assert.Matches(@"name\s+<string> -required-", containers.Out);
    }

    [SkippableFact]
    public async Task Explain_a_field_that_does_not_exist_is_an_error()
    {
        SkipWithoutKubectl();
        var r = await k.Run("explain deployment.spec.strategee");
        Assert.NotEqual(0, r.Exit);
        Assert.Contains("field \"strategee\" does not exist", r.Err);
    }

    [SkippableFact]
    public async Task Explain_recursive_walks_the_whole_service_schema()
    {
        SkipWithoutKubectl();
        var r = await k.Run("explain service --recursive");
        Assert.True(r.Exit == 0, r.Err);
        Assert.Matches(@"\n\s+targetPort\s+<IntOrString>", r.Out);
        Assert.Matches(@"\n\s+ownerReferences\s+<\[\]OwnerReference>", r.Out);
    }

    private const string Manifest = """
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: validated}
        data: {a: b}
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: validated}
        spec:
          replicas: 1
          selector: {matchLabels: {app: validated}}
          template:
            metadata: {labels: {app: validated}}
            spec:
              containers:
              - name: c
                image: busybox:1.36
                command: ["sleep", "3600"]
                resources: {limits: {cpu: 100m, memory: 64Mi}}
        """;

    [SkippableFact]
    public async Task Apply_with_default_validation_downloads_openapi_and_succeeds()
    {
        SkipWithoutKubectl();
        var r = await k.Run("apply -f -", Manifest);
        Assert.True(r.Exit == 0, r.Err);
        Assert.DoesNotContain("openapi", r.Err);
        Assert.Contains("configmap/validated created", r.Out);
        Assert.Contains("deployment.apps/validated created", r.Out);
        // the second apply patches: kubectl reads /openapi/v2 in protobuf, finds no strategic merge among the PATCH
        // content types and computes the patch from its compiled-in types
        var again = await k.Run("apply -f -", Manifest.Replace("replicas: 1", "replicas: 2"));
        Assert.True(again.Exit == 0, again.Err);
        Assert.Contains("deployment.apps/validated configured", again.Out);
        Assert.Equal("", again.Err);
    }

    [SkippableFact]
    public async Task A_kind_without_PATCH_is_validated_against_the_protobuf_v2_document()
    {
        SkipWithoutKubectl();
        // kubectl validates a kind whose v3 document has no PATCH operation client-side, from /openapi/v2 in protobuf
        const string review = "apiVersion: authorization.k8s.io/v1\nkind: SelfSubjectRulesReview\nspec:\n  namespace: default\n";
        var r = await k.Run("create -o json -f -", review);
        Assert.True(r.Exit == 0, r.Err);
        Assert.Equal("SelfSubjectRulesReview", (string?)JsonNode.Parse(r.Out)!["kind"]);
        var bad = await k.Run("create --validate=strict -o json -f -", review + "  bogus: 1\n");
        Assert.NotEqual(0, bad.Exit);
        Assert.Contains("unknown field \"bogus\" in io.k8s.api.authorization.v1.SelfSubjectRulesReviewSpec", bad.Err);
    }

    [SkippableFact]
    public async Task Apply_with_strict_validation_reports_an_unknown_field()
    {
        SkipWithoutKubectl();
        var bad = Manifest.Replace("name: validated", "name: strict").Replace("app: validated", "app: strict").Replace("  replicas: 1", "  replicaz: 1");
        var r = await k.Run("apply --validate=strict -f -", bad);
        Assert.NotEqual(0, r.Exit);
        Assert.Contains("unknown field \"spec.replicaz\"", r.Err);
        Assert.Contains("NotFound", (await k.Run("get deployment strict")).Err);
        var warn = await k.Run("apply --validate=warn -f -", bad);
        Assert.True(warn.Exit == 0, warn.Err);
        Assert.Contains("unknown field \"spec.replicaz\"", warn.Err);
    }
}
