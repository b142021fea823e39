using System.Text.Json.Nodes;
using AkkaKube.Actors.ApiServer;
using AkkaKube.Actors.ApiServer.Registry.Apps;
using AkkaKube.Actors.ApiServer.Registry.Core;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Tests.ApiServer;

public class PatchingSpecs
{
    private static JsonNode J(string s) => JsonNode.Parse(s)!;

    private static void Same(string expected, JsonNode? actual) =>
        Assert.True(JsonNode.DeepEquals(J(expected), actual), $"expected {expected}\n     got {actual?.ToJsonString()}");

    public static TheoryData<string, string, string, string> StrategicCases => new()
    {
        { "containers merge by name and keep the others",
            """{"spec":{"containers":[{"name":"a","image":"1"},{"name":"b","image":"1"}]}}""",
            """{"spec":{"containers":[{"name":"b","image":"2"}]}}""",
            """{"spec":{"containers":[{"name":"a","image":"1"},{"name":"b","image":"2"}]}}""" },
        { "a $patch delete element removes the container",
            """{"spec":{"containers":[{"name":"a"},{"name":"b"}]}}""",
            """{"spec":{"containers":[{"name":"a","$patch":"delete"}]}}""",
            """{"spec":{"containers":[{"name":"b"}]}}""" },
        { "null deletes a key",
            """{"spec":{"unschedulable":true,"x":1}}""",
            """{"spec":{"unschedulable":null}}""",
            """{"spec":{"x":1}}""" },
        { "lists without a merge key are replaced whole",
            """{"spec":{"tolerations":[{"key":"a"}],"args":["x"]}}""",
            """{"spec":{"tolerations":[{"key":"b"}]}}""",
            """{"spec":{"tolerations":[{"key":"b"}],"args":["x"]}}""" },
        { "finalizers are a merged primitive list",
            """{"metadata":{"finalizers":["a","b"]}}""",
            """{"metadata":{"finalizers":["b","c"]}}""",
            """{"metadata":{"finalizers":["a","b","c"]}}""" },
        { "$deleteFromPrimitiveList removes finalizers",
            """{"metadata":{"finalizers":["a","b"]}}""",
            """{"metadata":{"$deleteFromPrimitiveList/finalizers":["a"]}}""",
            """{"metadata":{"finalizers":["b"]}}""" },
        { "container ports merge by containerPort, env by name",
            """{"spec":{"containers":[{"name":"a","ports":[{"containerPort":80,"name":"h"}],"env":[{"name":"X","value":"1"}]}]}}""",
            """{"spec":{"containers":[{"name":"a","ports":[{"containerPort":81}],"env":[{"name":"X","value":"2"}]}]}}""",
            """{"spec":{"containers":[{"name":"a","ports":[{"containerPort":80,"name":"h"},{"containerPort":81}],"env":[{"name":"X","value":"2"}]}]}}""" },
        { "$setElementOrder is accepted and dropped",
            """{"spec":{"containers":[{"name":"a"}]}}""",
            """{"spec":{"$setElementOrder/containers":[{"name":"a"}],"containers":[{"name":"a","image":"i"}]}}""",
            """{"spec":{"containers":[{"name":"a","image":"i"}]}}""" },
        { "$retainKeys keeps only the listed keys",
            """{"spec":{"strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":1}}}}""",
            """{"spec":{"strategy":{"$retainKeys":["type"],"type":"Recreate"}}}""",
            """{"spec":{"strategy":{"type":"Recreate"}}}""" },
        { "a map with $patch replace is replaced",
            """{"metadata":{"labels":{"a":"1","b":"2"}}}""",
            """{"metadata":{"labels":{"$patch":"replace","c":"3"}}}""",
            """{"metadata":{"labels":{"c":"3"}}}""" },
    };

    [Theory]
    [MemberData(nameof(StrategicCases))]
    public void Strategic_merge_patch(string name, string target, string patch, string expected)
    {
        _ = name;
        Same(expected, Patching.StrategicMerge(J(target), J(patch), new DeploymentStrategy().MergeKey));
    }

    [Fact]
    public void Service_ports_merge_by_port()
    {
        var result = Patching.StrategicMerge(J("""{"spec":{"ports":[{"port":80,"name":"a"}]}}"""), J("""{"spec":{"ports":[{"port":80,"targetPort":8080}]}}"""), new ServiceStrategy().MergeKey);
        Same("""{"spec":{"ports":[{"port":80,"name":"a","targetPort":8080}]}}""", result);
    }

    [Fact]
    public void Merge_patch_follows_rfc_7386()
    {
        Same("""{"a":{"c":2},"d":[1]}""", Patching.MergePatch(J("""{"a":{"b":1},"d":[0]}"""), J("""{"a":{"b":null,"c":2},"d":[1]}""")));
    }

    [Fact]
    public void Json_patch_applies_operations_in_order()
    {
        var result = Patching.JsonPatch(J("""{"a":[1,2],"b":{"c":1}}"""),
            J("""[{"op":"add","path":"/a/-","value":3},{"op":"remove","path":"/b/c"},{"op":"replace","path":"/a/0","value":9},{"op":"copy","from":"/a/0","path":"/b/x"},{"op":"test","path":"/b/x","value":9}]"""));
        Same("""{"a":[9,2,3],"b":{"x":9}}""", result);
    }

    [Theory]
    [InlineData("""{"op":"add"}""")]
    [InlineData("""[{"op":"explode","path":"/a"}]""")]
    [InlineData("""[{"op":"add","path":"no-slash","value":1}]""")]
    public void Malformed_json_patches_are_bad_requests(string patch)
    {
        var e = Assert.Throws<ApiException>(() => Patching.JsonPatch(J("""{"a":1}"""), J(patch)));
        Assert.Equal(400, e.Code);
    }

    /// <summary>Kubernetes: a well-formed JSON patch that cannot be applied to the object is 422, not 400.</summary>
    [Theory]
    [InlineData("""[{"op":"remove","path":"/missing"}]""")]
    [InlineData("""[{"op":"replace","path":"/b/c","value":1}]""")]
    [InlineData("""[{"op":"add","path":"/a/b","value":1}]""")]
    public void Json_patches_that_do_not_apply_are_unprocessable(string patch)
    {
        var e = Assert.Throws<ApiException>(() => Patching.JsonPatch(J("""{"a":1}"""), J(patch)));
        Assert.Equal(422, e.Code);
    }

    [Fact]
    public void A_failed_json_patch_test_is_invalid()
    {
        var e = Assert.Throws<ApiException>(() => Patching.JsonPatch(J("""{"a":1}"""), J("""[{"op":"test","path":"/a","value":2}]""")));
        Assert.Equal(422, e.Code);
    }
}
