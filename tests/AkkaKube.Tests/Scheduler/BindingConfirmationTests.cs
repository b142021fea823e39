using System.Text.Json.Nodes;
using AkkaKube.Actors.Scheduler;

namespace AkkaKube.Tests.Scheduler;

/// <summary>
/// When the informer reports our own binding and nothing else changed, the scheduler confirms the assumed pod
/// without parsing it again (<see cref="SchedulerActor.OnlyBindingChanged"/>); any other change takes the full path.
/// </summary>
public class BindingConfirmationTests
{
    private const string Pending = """
        {"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"default","uid":"u1","resourceVersion":"7","labels":{"app":"web"},
          "managedFields":[{"manager":"kubectl"}]},
         "spec":{"containers":[{"name":"c","image":"pause","resources":{"requests":{"cpu":"100m"}}}]},
         "status":{"phase":"Pending"}}
        """;

    private static JsonObject Bound(Action<JsonObject>? change = null)
    {
        var o = JsonNode.Parse(Pending)!.AsObject();
        o["metadata"]!["resourceVersion"] = "8";
        o["metadata"]!["managedFields"] = new JsonArray(new JsonObject { ["manager"] = "scheduler" });
        o["spec"]!["nodeName"] = "n1";
        o["status"] = new JsonObject { ["phase"] = "Pending", ["conditions"] = new JsonArray(new JsonObject { ["type"] = "PodScheduled", ["status"] = "True" }) };
        change?.Invoke(o);
        return o;
    }

    public static TheoryData<string, Action<JsonObject>?, string, string?, bool> Cases => new()
    {
        { "only the binding, its condition, resourceVersion and managedFields changed", null, "n1", "7", true },
        { "bound to another node than the one assumed", null, "n2", "7", false },
        { "the version before the binding is not the one the scheduler parsed", null, "n1", "6", false },
        { "no parsed version to compare", null, "n1", null, false },
        { "a label changed as well", o => o["metadata"]!["labels"]!["app"] = "api", "n1", "7", false },
        { "a deletion timestamp appeared", o => o["metadata"]!["deletionTimestamp"] = "2026-01-01T00:00:00Z", "n1", "7", false },
        { "a request changed", o => o["spec"]!["containers"]![0]!["resources"]!["requests"]!["cpu"] = "2", "n1", "7", false },
        { "a spec field was added", o => o["spec"]!["priority"] = 5, "n1", "7", false },
        { "the pod already finished", o => o["status"]!["phase"] = "Succeeded", "n1", "7", false },
        { "not bound at all", o => o["spec"]!.AsObject().Remove("nodeName"), "n1", "7", false },
    };

    [Theory, MemberData(nameof(Cases))]
    public void Only_a_pure_binding_of_the_parsed_version_is_confirmed_without_parsing(
        string name, Action<JsonObject>? change, string assumedNode, string? parsedVersion, bool expected)
    {
        Assert.NotEmpty(name);
        var old = JsonNode.Parse(Pending)!.AsObject();
        Assert.Equal(expected, SchedulerActor.OnlyBindingChanged(old, Bound(change), assumedNode, parsedVersion));
    }
}
