using System.Text.Json.Nodes;
using AkkaKube.Actors.Machinery;
using AkkaKube.Actors.ApiServer.CustomResources;
using AkkaKube.Actors.ApiServer.OpenApi;

namespace AkkaKube.Tests.ApiServer.CustomResources;

/// <summary>Reading, defaulting and validating CustomResourceDefinitions, and printer column cells.</summary>
public class CustomResourceDefinitionSpecTests
{
    internal const string CronTabCrd = """
        {"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition",
         "metadata":{"name":"crontabs.stable.example.com"},
         "spec":{"group":"stable.example.com","scope":"Namespaced",
          "names":{"plural":"crontabs","kind":"CronTab","shortNames":["ct"],"categories":["all"]},
          "versions":[
           {"name":"v1","served":true,"storage":true,
            "schema":{"openAPIV3Schema":{"type":"object","properties":{
              "spec":{"type":"object","properties":{"cronSpec":{"type":"string"},"image":{"type":"string"},"replicas":{"type":"integer"}}},
              "status":{"type":"object","properties":{"replicas":{"type":"integer"},"labelSelector":{"type":"string"}}}}}},
            "subresources":{"status":{},"scale":{"specReplicasPath":".spec.replicas","statusReplicasPath":".status.replicas","labelSelectorPath":".status.labelSelector"}},
            "additionalPrinterColumns":[
              {"name":"Spec","type":"string","jsonPath":".spec.cronSpec"},
              {"name":"Replicas","type":"integer","jsonPath":".spec.replicas"},
              {"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}]},
           {"name":"v1beta1","served":true,"storage":false,
            "schema":{"openAPIV3Schema":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}}]}}
        """;

    private static JsonObject Crd(Action<JsonObject>? change = null)
    {
        var crd = JsonNode.Parse(CronTabCrd)!.AsObject();
        change?.Invoke(crd);
        CustomResourceDefinitionSpec.SetDefaults(crd);
        return crd;
    }

    [Fact]
    public void The_CronTab_CRD_is_valid_and_serves_two_versions()
    {
        var crd = Crd();
        Assert.Empty(CustomResourceDefinitionSpec.Validate(crd));
        Assert.Equal("crontab", (string?)crd["spec"]!["names"]!["singular"]);
        Assert.Equal("CronTabList", (string?)crd["spec"]!["names"]!["listKind"]);
        Assert.Equal("None", (string?)crd["spec"]!["conversion"]!["strategy"]);
        var spec = CustomResourceDefinitionSpec.Parse(crd);
        Assert.Equal("v1", spec.StorageVersion.Name);
        var served = spec.Served().ToList();
        Assert.Equal(["v1", "v1beta1"], served.Select(s => s.Resource.Version));
        var v1 = served[0].Resource;
        Assert.Equal(("stable.example.com", "crontabs", "CronTab", true), (v1.Group, v1.Resource, v1.Kind, v1.Namespaced));
        Assert.Equal(["ct"], v1.ShortNames);
        Assert.Equal(["all"], v1.Categories);
        Assert.Equal(["scale", "status"], v1.Subresources.Select(s => s.Name));
        Assert.Empty(served[1].Resource.Subresources);
        Assert.Equal(".status.labelSelector", served[0].Version.Scale!.LabelSelectorPath);
        Assert.Equal(["Spec", "Replicas", "Age"], served[0].Version.Columns.Select(c => c.Name));
    }

    [Fact]
    public void Selectable_fields_become_the_field_labels_of_the_custom_resource()
    {
        var crd = Crd(c => c["spec"]!["versions"]![0]!["selectableFields"] = new JsonArray(new JsonObject { ["jsonPath"] = ".spec.cronSpec" }));
        var served = CustomResourceDefinitionSpec.Parse(crd).Served().ToList();
        var v1 = new CustomResourceStrategy(CustomResourceDefinitionSpec.Parse(crd), served[0].Version);
        Assert.Equal(["metadata.name", "metadata.namespace", "spec.cronSpec"], v1.FieldLabels);
        Assert.Equal(["metadata.name", "metadata.namespace"], new CustomResourceStrategy(CustomResourceDefinitionSpec.Parse(crd), served[1].Version).FieldLabels);
    }

    [Theory]
    [InlineData("name", "metadata.name")]
    [InlineData("group", "spec.group")]
    [InlineData("plural", "spec.names.plural")]
    [InlineData("kind", "spec.names.kind")]
    [InlineData("shortName", "spec.names.shortNames[0]")]
    [InlineData("scope", "spec.scope")]
    [InlineData("storage", "spec.versions")]
    [InlineData("duplicateVersion", "spec.versions[1].name")]
    [InlineData("schema", "spec.versions[0].schema.openAPIV3Schema.properties[spec].type")]
    [InlineData("noSchema", "spec.versions[1].schema.openAPIV3Schema")]
    [InlineData("columnType", "spec.versions[0].additionalPrinterColumns[1].type")]
    [InlineData("columnPath", "spec.versions[0].additionalPrinterColumns[0].jsonPath")]
    [InlineData("scalePath", "spec.versions[0].subresources.scale.specReplicasPath")]
    [InlineData("conversion", "spec.conversion.strategy")]
    public void An_invalid_CRD_names_the_field(string breakage, string field)
    {
        var crd = Crd(c =>
        {
            var spec = c["spec"]!;
            var v0 = spec["versions"]![0]!;
            switch (breakage)
            {
                case "name": c["metadata"]!["name"] = "crontab.stable.example.com"; break;
                case "group": spec["group"] = "example"; c["metadata"]!["name"] = "crontabs.example"; break;
                case "plural": spec["names"]!["plural"] = "CronTabs"; c["metadata"]!["name"] = "CronTabs.stable.example.com"; break;
                case "kind": spec["names"]!["kind"] = "cronTab"; break;
                case "shortName": spec["names"]!["shortNames"] = new JsonArray("C T"); break;
                case "scope": spec["scope"] = "Global"; break;
                case "storage": spec["versions"]![1]!["storage"] = true; break;
                case "duplicateVersion": spec["versions"]![1]!["name"] = "v1"; break;
                case "schema": v0["schema"]!["openAPIV3Schema"]!["properties"]!["spec"]!.AsObject().Remove("type"); break;
                case "noSchema": spec["versions"]![1]!.AsObject().Remove("schema"); break;
                case "columnType": v0["additionalPrinterColumns"]![1]!["type"] = "int"; break;
                case "columnPath": v0["additionalPrinterColumns"]![0]!["jsonPath"] = "spec.cronSpec"; break;
                case "scalePath": v0["subresources"]!["scale"]!["specReplicasPath"] = ".status.replicas"; break;
                case "conversion": spec["conversion"] = new JsonObject { ["strategy"] = "Webhook" }; break;
            }
        });
        Assert.Contains(field, CustomResourceDefinitionSpec.Validate(crd).Select(c => c.Field));
    }

    [Theory]
    [InlineData(".spec.cronSpec", "string", "\"* * * * */5\"")]
    [InlineData(".spec.replicas", "integer", "3")]
    [InlineData(".spec.replicas", "string", "\"3\"")]
    [InlineData(".spec.cronSpec", "integer", null)]
    [InlineData(".metadata.labels['app.kubernetes.io/name']", "string", "\"cron\"")]
    [InlineData(".status.jobs[1].name", "string", "\"b\"")]
    [InlineData(".status.jobs[2].name", "string", null)]
    [InlineData(".spec.missing", "string", null)]
    public void A_printer_column_reads_its_json_path(string path, string type, string? expected)
    {
        var obj = JsonNode.Parse("""
            {"metadata":{"name":"c","labels":{"app.kubernetes.io/name":"cron"}},
             "spec":{"cronSpec":"* * * * */5","replicas":3},"status":{"jobs":[{"name":"a"},{"name":"b"}]}}
            """)!.AsObject();
        var cell = CustomResourceDefinitionSpec.Cell(obj, new PrinterColumn("X", type, "", "", 0, path));
        Assert.Equal(expected, cell?.ToJsonString());
    }

    [Fact]
    public void Accepted_status_has_Established_and_NamesAccepted()
    {
        var status = CustomResourceDefinitionSpec.AcceptedStatus(Crd(), new DateTime(2026, 12, 6, 18, 0, 0, DateTimeKind.Utc));
        var conditions = status["conditions"]!.AsArray();
        Assert.Equal(["NamesAccepted", "Established"], conditions.Select(c => (string?)c!["type"]));
        Assert.All(conditions, c => Assert.Equal("True", (string?)c!["status"]));
        Assert.Equal("2026-12-06T18:00:00Z", (string?)conditions[1]!["lastTransitionTime"]);
        Assert.Equal(["v1"], status["storedVersions"]!.AsArray().Select(v => (string?)v));
        Assert.Equal("crontabs", (string?)status["acceptedNames"]!["plural"]);
    }

    [Fact]
    public void Every_served_version_is_published_in_OpenAPI_with_its_schema()
    {
        var spec = CustomResourceDefinitionSpec.Parse(Crd());
        var docs = OpenApiService.For([.. OpenApiService.Served(AkkaKube.Actors.ApiServer.Registry.ApiRegistry.CreateBuiltIn()), .. spec.OpenApiKinds()]);
        var v1 = JsonNode.Parse(docs.V3["apis/stable.example.com/v1"].Content)!;
        var crontab = v1["components"]!["schemas"]!["com.example.stable.v1.CronTab"]!;
        Assert.Equal("string", (string?)crontab["properties"]!["spec"]!["properties"]!["cronSpec"]!["type"]);
        Assert.Equal("CronTab", (string?)crontab["x-kubernetes-group-version-kind"]![0]!["kind"]);
        Assert.NotNull(v1["paths"]!["/apis/stable.example.com/v1/namespaces/{namespace}/crontabs/{name}/scale"]);
        var v1beta1 = JsonNode.Parse(docs.V3["apis/stable.example.com/v1beta1"].Content)!;
        Assert.True((bool?)v1beta1["components"]!["schemas"]!["com.example.stable.v1beta1.CronTab"]!["x-kubernetes-preserve-unknown-fields"]);
        var root = JsonNode.Parse(docs.V3Root.Content)!["paths"]!.AsObject();
        Assert.True(root.ContainsKey("apis/stable.example.com/v1") && root.ContainsKey("apis/stable.example.com/v1beta1"));
        Assert.NotNull(JsonNode.Parse(docs.V2.Content)!["definitions"]!["com.example.stable.v1.CronTab"]);
    }
}
