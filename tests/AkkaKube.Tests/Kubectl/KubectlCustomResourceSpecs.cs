using AkkaKube.Tests.Infrastructure;

namespace AkkaKube.Tests.Kubectl;

/// <summary>
/// The Kubernetes docs' CronTab CustomResourceDefinition (stable.example.com) end to end with the real kubectl,
/// over one node for the class; the tests run in declaration order (the CRD is created first, deleted last).
/// </summary>
[TestCaseOrderer(DeclarationOrderer.TypeName, DeclarationOrderer.AssemblyName)]
public class KubectlCustomResourceSpecs(KubectlNode k) : IClassFixture<KubectlNode>
{
    public const string CronTabDefinition = """
        apiVersion: apiextensions.k8s.io/v1
        kind: CustomResourceDefinition
        metadata:
          name: crontabs.stable.example.com
        spec:
          group: stable.example.com
          versions:
            - name: v1
              served: true
              storage: true
              schema:
                openAPIV3Schema:
                  type: object
                  properties:
                    spec:
                      type: object
                      description: The schedule and what runs.
                      properties:
                        cronSpec:
                          type: string
                          description: A cron schedule.
                          pattern: '^(\d+|\*)(/\d+)?(\s+(\d+|\*)(/\d+)?){4}$'
                        image:
                          type: string
                        replicas:
                          type: integer
                          minimum: 1
                          maximum: 10
                          default: 1
                    status:
                      type: object
                      properties:
                        replicas:
                          type: integer
                        labelSelector:
                          type: string
              subresources:
                status: {}
                scale:
                  specReplicasPath: .spec.replicas
                  statusReplicasPath: .status.replicas
                  labelSelectorPath: .status.labelSelector
              additionalPrinterColumns:
              - name: Spec
                type: string
                description: The cron spec defining the interval a CronJob is run
                jsonPath: .spec.cronSpec
              - name: Replicas
                type: integer
                description: The number of jobs launched by the CronJob
                jsonPath: .spec.replicas
              - name: Age
                type: date
                jsonPath: .metadata.creationTimestamp
          scope: Namespaced
          names:
            plural: crontabs
            singular: crontab
            kind: CronTab
            shortNames:
            - ct
            categories:
            - all
        """;

    private const string CronTab = """
        apiVersion: "stable.example.com/v1"
        kind: CronTab
        metadata:
          name: my-new-cron-object
          labels: {tier: batch}
        spec:
          cronSpec: "* * * * */5"
          image: my-awesome-cron-image
        """;

    private void SkipWithoutKubectl() => Skip.If(KubectlNode.KubectlPath is null, "kubectl is not on PATH");

    /// <summary>kubectl waits for Established; the kind is then served by this apiserver.</summary>
    private async Task CreateDefinition()
    {
        var r = await k.Run("apply -f -", CronTabDefinition);
        Assert.True(r.Exit == 0, r.Err);
        var wait = await k.Run("wait --for condition=established --timeout=30s crd/crontabs.stable.example.com", timeoutSeconds: 45);
        Assert.True(wait.Exit == 0, wait.Err);
    }

    [SkippableFact]
    public async Task A_definition_is_created_established_and_its_resource_discovered()
    {
        SkipWithoutKubectl();
        // discovery is cached by kubectl before the definition exists: the new kind must show up after invalidation
        Assert.DoesNotContain("crontabs", (await k.Run("api-resources")).Out);
        await CreateDefinition();
        var crd = await k.Run("get crd");
        Assert.Matches(@"NAME\s+CREATED AT", crd.Out);
        Assert.Contains("crontabs.stable.example.com", crd.Out);
        var conditions = await k.Run("get crd crontabs.stable.example.com -o jsonpath={.status.conditions[*].type}={.status.conditions[*].status}");
        Assert.Contains("NamesAccepted", conditions.Out);
        Assert.Contains("Established", conditions.Out);
        Assert.DoesNotContain("False", conditions.Out);
        var resources = await k.Run("api-resources --api-group=stable.example.com");
        Assert.True(resources.Exit == 0, resources.Err);
        Assert.Matches(@"crontabs\s+ct\s+stable.example.com/v1\s+true\s+CronTab", resources.Out);
    }

    [SkippableFact]
    public async Task An_invalid_definition_is_422_naming_the_field()
    {
        SkipWithoutKubectl();
        var bad = CronTabDefinition.Replace("name: crontabs.stable.example.com", "name: wrong.stable.example.com").Replace("scope: Namespaced", "scope: Everywhere");
        var r = await k.Run("apply -f -", bad);
        Assert.NotEqual(0, r.Exit);
        Assert.Contains("The CustomResourceDefinition \"wrong.stable.example.com\" is invalid", r.Err);
        Assert.Contains("spec.scope: Unsupported value: \"Everywhere\"", r.Err);
        Assert.Contains("metadata.name", r.Err);
    }

    [SkippableFact]
    public async Task Objects_are_created_read_with_printer_columns_and_defaulted()
    {
        SkipWithoutKubectl();
        await CreateDefinition();
        var r = await k.Run("apply -f -", CronTab);
        Assert.True(r.Exit == 0, r.Err);
        Assert.Contains("crontab.stable.example.com/my-new-cron-object created", r.Out);
        var table = await k.Run("get crontabs");
        Assert.True(table.Exit == 0, table.Err);
        Assert.Matches(@"NAME\s+SPEC\s+REPLICAS\s+AGE", table.Out);
        // replicas comes from the schema's default
        Assert.Matches(@"my-new-cron-object\s+\* \* \* \* \*/5\s+1\s+\d+s", table.Out);
        var shortName = await k.Run("get ct my-new-cron-object -o jsonpath={.spec.image}");
        Assert.Equal("my-awesome-cron-image", shortName.Out);
        var all = await k.Run("get all");
        Assert.Contains("crontab.stable.example.com/my-new-cron-object", all.Out);
        var selected = await k.Run("get crontabs -l tier=batch -o name");
        Assert.Equal("crontab.stable.example.com/my-new-cron-object", selected.Out.Trim());
        Assert.Equal("", (await k.Run("get crontabs -l tier=web -o name")).Out.Trim());
        var byField = await k.Run("get crontabs --field-selector metadata.name=my-new-cron-object -o name");
        Assert.Equal("crontab.stable.example.com/my-new-cron-object", byField.Out.Trim());
    }

    [SkippableFact]
    public async Task A_schema_violation_is_422_naming_the_field()
    {
        SkipWithoutKubectl();
        await CreateDefinition();
        var r = await k.Run("apply -f -", CronTab.Replace("my-new-cron-object", "too-many").Replace("image: my-awesome-cron-image", "image: x\n  replicas: 15"));
        Assert.NotEqual(0, r.Exit);
        Assert.Contains("The CronTab \"too-many\" is invalid", r.Err);
        Assert.Contains("spec.replicas: Invalid value: 15: spec.replicas in body should be less than or equal to 10", r.Err);
        var pattern = await k.Run("apply -f -", CronTab.Replace("my-new-cron-object", "bad-spec").Replace("* * * * */5", "every minute"));
        Assert.NotEqual(0, pattern.Exit);
        Assert.Contains("spec.cronSpec", pattern.Err);
        Assert.Contains("NotFound", (await k.Run("get crontab too-many")).Err);
    }

    [SkippableFact]
    public async Task Unknown_fields_are_pruned_and_refused_with_strict_validation()
    {
        SkipWithoutKubectl();
        await CreateDefinition();
        var extra = CronTab.Replace("my-new-cron-object", "pruned").Replace("image: my-awesome-cron-image", "image: x\n  color: blue");
        var strict = await k.Run("apply --validate=strict -f -", extra);
        Assert.NotEqual(0, strict.Exit);
        Assert.Contains("unknown field \"spec.color\"", strict.Err);
        var ignore = await k.Run("apply --validate=false -f -", extra);
        Assert.True(ignore.Exit == 0, ignore.Err);
        var stored = await k.Run("get crontab pruned -o jsonpath={.spec}");
        Assert.DoesNotContain("color", stored.Out);
        Assert.Contains("\"image\":\"x\"", stored.Out);
    }

    [SkippableFact]
    public async Task Objects_are_patched_by_merge_and_json_patch_and_strategic_merge_is_refused()
    {
        SkipWithoutKubectl();
        await CreateDefinition();
        await k.Run("apply -f -", CronTab);
        var merge = await k.Run("patch crontab my-new-cron-object --type=merge -p '{\"spec\":{\"replicas\":3}}'");
        Assert.True(merge.Exit == 0, merge.Err);
        Assert.Equal("3", (await k.Run("get crontab my-new-cron-object -o jsonpath={.spec.replicas}")).Out);
        var json = await k.Run("patch crontab my-new-cron-object --type=json -p '[{\"op\":\"replace\",\"path\":\"/spec/image\",\"value\":\"patched\"}]'");
        Assert.True(json.Exit == 0, json.Err);
        Assert.Equal("patched", (await k.Run("get crontab my-new-cron-object -o jsonpath={.spec.image}")).Out);
        var strategic = await k.Run("patch crontab my-new-cron-object --type=strategic -p '{\"spec\":{\"replicas\":4}}'");
        Assert.NotEqual(0, strategic.Exit);
        Assert.Contains("application/strategic-merge-patch+json is not supported by stable.example.com/v1, Kind=CronTab", strategic.Err);
        var invalid = await k.Run("patch crontab my-new-cron-object --type=merge -p '{\"spec\":{\"replicas\":0}}'");
        Assert.NotEqual(0, invalid.Exit);
        Assert.Contains("spec.replicas", invalid.Err);
    }

    [SkippableFact]
    public async Task Server_side_apply_scale_and_status_work()
    {
        SkipWithoutKubectl();
        await CreateDefinition();
        var ssa = await k.Run("apply --server-side -f -", CronTab.Replace("my-new-cron-object", "applied"));
        Assert.True(ssa.Exit == 0, ssa.Err);
        Assert.Contains("serverside-applied", ssa.Out);
        var scale = await k.Run("scale crontab applied --replicas=5");
        Assert.True(scale.Exit == 0, scale.Err);
        Assert.Equal("5", (await k.Run("get crontab applied -o jsonpath={.spec.replicas}")).Out);
        // status is a subresource: the main resource ignores it, /status writes only it
        var main = await k.Run("patch crontab applied --type=merge -p '{\"status\":{\"replicas\":2}}'");
        Assert.True(main.Exit == 0, main.Err);
        Assert.Equal("", (await k.Run("get crontab applied -o jsonpath={.status.replicas}")).Out);
        var status = await k.Run("patch crontab applied --subresource=status --type=merge -p '{\"status\":{\"replicas\":2}}'");
        Assert.True(status.Exit == 0, status.Err);
        Assert.Equal("2", (await k.Run("get crontab applied -o jsonpath={.status.replicas}")).Out);
    }

    [SkippableFact]
    public async Task Explain_reads_the_schema()
    {
        SkipWithoutKubectl();
        await CreateDefinition();
        var r = await k.Run("explain crontab.spec");
        Assert.True(r.Exit == 0, r.Err);
        Assert.Contains("GROUP:      stable.example.com", r.Out);
        Assert.Contains("KIND:       CronTab", r.Out);
        Assert.Matches(@"cronSpec\s+<string>", r.Out);
        Assert.Matches(@"replicas\s+<integer>", r.Out);
        Assert.Contains("A cron schedule.", r.Out);
    }

    [SkippableFact]
    public async Task Get_watch_streams_an_added_object()
    {
        SkipWithoutKubectl();
        await CreateDefinition();
        var watch = k.Run("get crontabs -w --request-timeout=8s", timeoutSeconds: 30);
        // the watch is running once its initial list printed; create until it shows up (bounded)
        var deadline = DateTime.UtcNow.AddSeconds(6);
        var n = 0;
        while (DateTime.UtcNow < deadline && !watch.IsCompleted)
        {
            await Task.Delay(500);
            await k.Run("apply -f -", CronTab.Replace("my-new-cron-object", $"watched-{n++}"));
        }
        var result = await watch;
        Assert.Matches(@"watched-\d+\s+\* \* \* \* \*/5\s+1", result.Out);
    }

    [SkippableFact]
    public async Task Deleting_an_object_then_the_definition_removes_objects_and_the_resource()
    {
        SkipWithoutKubectl();
        await CreateDefinition();
        await k.Run("apply -f -", CronTab.Replace("my-new-cron-object", "to-delete"));
        var delete = await k.Run("delete crontab to-delete");
        Assert.True(delete.Exit == 0, delete.Err);
        Assert.Contains("NotFound", (await k.Run("get crontab to-delete")).Err);

        await k.Run("apply -f -", CronTab.Replace("my-new-cron-object", "left-behind"));
        var crd = await k.Run("delete crd crontabs.stable.example.com", timeoutSeconds: 60);
        Assert.True(crd.Exit == 0, crd.Err);
        Assert.Contains("deleted", crd.Out);
        var resources = await k.Run("api-resources");
        Assert.DoesNotContain("crontabs", resources.Out);
        var get = await k.Run("get crontabs");
        Assert.NotEqual(0, get.Exit);
        Assert.Contains("the server doesn't have a resource type \"crontabs\"", get.Err);
        // created again, the kind has no objects: they were deleted with the definition
        await CreateDefinition();
        var again = await k.Run("get crontabs -o name");
        Assert.True(again.Exit == 0, again.Err);
        Assert.Equal("", again.Out.Trim());
    }
}
