using System.Text.Json.Nodes;
using AkkaKube.Actors.ApiServer.Registry.Core;

namespace AkkaKube.Tests.ApiServer.Registry;

public sealed class PodQosTests
{
    private static JsonObject Container(string? requests, string? limits)
    {
        var resources = new JsonObject();
        if (requests is not null) resources["requests"] = JsonNode.Parse(requests);
        if (limits is not null) resources["limits"] = JsonNode.Parse(limits);
        return new JsonObject { ["name"] = "c", ["resources"] = resources };
    }

    public static TheoryData<string, JsonObject, string> Specs => new()
    {
        { "no resources", new JsonObject { ["containers"] = new JsonArray(Container(null, null)) }, "BestEffort" },
        { "only zero quantities", new JsonObject { ["containers"] = new JsonArray(Container("""{"cpu":"0"}""", null)) }, "BestEffort" },
        { "only an extended resource", new JsonObject { ["containers"] = new JsonArray(Container("""{"example.com/gpu":"1"}""", """{"example.com/gpu":"1"}""")) }, "BestEffort" },
        { "limits equal requests for cpu and memory", new JsonObject { ["containers"] = new JsonArray(Container("""{"cpu":"1","memory":"1Gi"}""", """{"cpu":"1000m","memory":"1024Mi"}""")) }, "Guaranteed" },
        { "limits only (requests defaulted to them)", new JsonObject { ["containers"] = new JsonArray(Container(null, """{"cpu":"1","memory":"1Gi"}""")) }, "Guaranteed" },
        { "a memory limit only", new JsonObject { ["containers"] = new JsonArray(Container(null, """{"memory":"1Gi"}""")) }, "Burstable" },
        { "request below limit", new JsonObject { ["containers"] = new JsonArray(Container("""{"cpu":"500m","memory":"1Gi"}""", """{"cpu":"1","memory":"1Gi"}""")) }, "Burstable" },
        { "an init container without limits", new JsonObject
            {
                ["containers"] = new JsonArray(Container(null, """{"cpu":"1","memory":"1Gi"}""")),
                ["initContainers"] = new JsonArray(Container(null, null)),
            }, "Burstable" },
    };

    [Theory]
    [MemberData(nameof(Specs))]
    public void Classifies_like_kubernetes(string because, JsonObject spec, string expected) =>
        Assert.True(expected == PodQos.Classify(spec), $"{because}: {PodQos.Classify(spec)}, expected {expected}");
}
