using System.Text.Json.Nodes;
using AkkaKube.Actors.Machinery;
using AkkaKube.Actors.ApiServer;
using AkkaKube.Actors.ApiServer.CustomResources;

namespace AkkaKube.Tests.ApiServer.CustomResources;

/// <summary>Pruning, defaulting and validation of a CronTab in Kubernetes' order, and the 422 it answers.</summary>
public class CustomResourceAdmissionTests
{
    private static readonly (Actors.Machinery.ApiResource Resource, CrdVersion Version) V1 = CronTab();

    private static (Actors.Machinery.ApiResource, CrdVersion) CronTab()
    {
        var crd = JsonNode.Parse(CustomResourceDefinitionSpecTests.CronTabCrd)!.AsObject();
        var schema = crd["spec"]!["versions"]![0]!["schema"]!["openAPIV3Schema"]!["properties"]!["spec"]!.AsObject();
        schema["properties"]!["replicas"]!["default"] = 1;
        schema["properties"]!["replicas"]!["minimum"] = 1;
        CustomResourceDefinitionSpec.SetDefaults(crd);
        return CustomResourceDefinitionSpec.Parse(crd).Served().First();
    }

    private static JsonObject Obj(string spec) =>
        JsonNode.Parse($$"""{"apiVersion":"stable.example.com/v1","kind":"CronTab","metadata":{"name":"my-cron"},"spec":{{spec}}}""")!.AsObject();

    [Fact]
    public void Unknown_fields_are_reported_without_changing_the_object()
    {
        var obj = Obj("""{"cronSpec":"* * * * */5","colour":"red"}""");
        Assert.Equal(["spec.colour"], CustomResourceAdmission.UnknownFields(obj, V1.Version));
        Assert.Equal("red", (string?)obj["spec"]!["colour"]);
    }

    [Fact]
    public void Admission_prunes_then_defaults()
    {
        var obj = Obj("""{"cronSpec":"* * * * */5","colour":"red"}""");
        CustomResourceAdmission.Admit(obj, V1.Resource, V1.Version);
        Assert.Equal("""{"cronSpec":"* * * * */5","replicas":1}""", obj["spec"]!.ToJsonString());
    }

    [Fact]
    public void A_schema_violation_is_422_naming_the_kind_object_and_field()
    {
        var e = Assert.Throws<ApiException>(() => CustomResourceAdmission.Admit(Obj("""{"cronSpec":5,"replicas":0}"""), V1.Resource, V1.Version));
        Assert.Equal(422, e.Code);
        Assert.Equal("Invalid", e.Reason);
        Assert.StartsWith("CronTab \"my-cron\" is invalid: ", e.Message);
        Assert.Contains("spec.cronSpec: Invalid value: \"integer\": spec.cronSpec in body must be of type string: \"integer\"", e.Message);
        Assert.Contains("spec.replicas: Invalid value: 0: spec.replicas in body should be greater than or equal to 1", e.Message);
        Assert.Equal(["spec.cronSpec", "spec.replicas"], e.Details!["causes"]!.AsArray().Select(c => (string?)c!["field"]));
    }
}
