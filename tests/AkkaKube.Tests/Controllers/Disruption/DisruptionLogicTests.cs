using System.Text.Json.Nodes;
using AkkaKube.Actors.Controllers.Disruption;

namespace AkkaKube.Tests.Controllers.Disruption;

public class DisruptionLogicTests
{
    private static readonly DateTime Now = new(2026, 1, 1, 12, 0, 0, DateTimeKind.Utc);

    private static JsonObject Budget(string spec, string status = "{}") => JsonNode.Parse(
        """{"metadata":{"name":"b","namespace":"ns","generation":2},"spec":SPEC,"status":STATUS}""".Replace("SPEC", spec).Replace("STATUS", status))!.AsObject();

    private static JsonObject Pod(string name, bool ready = true, bool deleting = false) => JsonNode.Parse(
        """{"metadata":{"name":"NAME","labels":{"app":"web"}DEL},"status":{"conditions":[{"type":"Ready","status":"READY"}]}}"""
            .Replace("NAME", name).Replace("READY", ready ? "True" : "False").Replace("DEL", deleting ? ""","deletionTimestamp":"2026-01-01T11:59:00Z" """ : ""))!.AsObject();

    private static readonly JsonObject[] ThreeReady = [Pod("a"), Pod("b"), Pod("c")];

    public static TheoryData<string, string, JsonObject[], int?, (int Expected, int Desired, int Healthy, int Allowed)> Cases => new()
    {
        { "minAvailable 2 of 3 ready pods allows one disruption", """{"minAvailable":2}""", ThreeReady, null, (3, 2, 3, 1) },
        { "minAvailable equal to the ready pods allows none", """{"minAvailable":3}""", ThreeReady, null, (3, 3, 3, 0) },
        { "maxUnavailable 1 counts the controller's scale, not the pods", """{"maxUnavailable":1}""", [Pod("a"), Pod("b")], 3, (3, 2, 2, 0) },
        { "a percentage minAvailable rounds up over the scale", """{"minAvailable":"50%"}""", ThreeReady, 3, (3, 2, 3, 1) },
        { "an integer minAvailable ignores the scale", """{"minAvailable":1}""", ThreeReady, 5, (3, 1, 3, 2) },
        { "not ready and deleting pods are not healthy", """{"minAvailable":1}""", [Pod("a", ready: false), Pod("b", deleting: true), Pod("c")], null, (3, 1, 1, 0) },
        { "maxUnavailable as a percentage rounds up what may be unavailable", """{"maxUnavailable":"50%"}""", ThreeReady, 3, (3, 1, 3, 2) },
        { "an empty budget allows no disruption", "{}", ThreeReady, null, (3, 3, 3, 0) },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Budget_counts_follow_kubernetes(string name, string spec, JsonObject[] pods, int? scale, (int Expected, int Desired, int Healthy, int Allowed) want)
    {
        var c = DisruptionLogic.Compute(Budget(spec), pods, scale, Now);
        Assert.True(want == (c.ExpectedPods, c.DesiredHealthy, c.CurrentHealthy, c.DisruptionsAllowed),
            $"{name}: got expected {c.ExpectedPods}, desired {c.DesiredHealthy}, healthy {c.CurrentHealthy}, allowed {c.DisruptionsAllowed}");
    }

    [Fact]
    public void A_recently_evicted_pod_counts_as_gone_for_two_minutes()
    {
        var budget = Budget("""{"minAvailable":2}""", """{"disruptedPods":{"a":"2026-01-01T11:59:30Z","b":"2026-01-01T11:50:00Z"}}""");
        var c = DisruptionLogic.Compute(budget, ThreeReady, null, Now);
        Assert.Equal(2, c.CurrentHealthy);
        Assert.Equal(["a"], c.DisruptedPods.Keys);
    }

    [Fact]
    public void The_status_carries_the_counts_the_generation_and_the_condition()
    {
        var budget = Budget("""{"minAvailable":3}""");
        var status = DisruptionLogic.Status(budget, DisruptionLogic.Compute(budget, ThreeReady, null, Now), Now);
        Assert.Equal(0, status["disruptionsAllowed"]!.GetValue<int>());
        Assert.Equal(2L, status["observedGeneration"]!.GetValue<long>());
        var condition = status["conditions"]![0]!;
        Assert.Equal(("DisruptionAllowed", "False", "InsufficientPods"),
            (condition["type"]!.GetValue<string>(), condition["status"]!.GetValue<string>(), condition["reason"]!.GetValue<string>()));
    }
}
