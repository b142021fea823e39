using System.Text.Json.Nodes;
using AkkaKube.Actors.ApiServer.Admission;
using AkkaKube.Actors.ApiServer.Registry.Core;

namespace AkkaKube.Tests.ApiServer.Admission;

public class LimitRangeLogicTests
{
    private static JsonObject Range(string item)
    {
        var range = JsonNode.Parse($$$"""{"spec":{"limits":[{{{item}}}]}}""")!.AsObject();
        new LimitRangeStrategy().Default(range);
        return range;
    }

    private static JsonObject Pod(string resources) => JsonNode.Parse($$$"""
        {"metadata":{"name":"p"},"spec":{"containers":[{"name":"c","resources":{{{resources}}}}]}}
        """)!.AsObject();

    private static string? Res(JsonObject pod, string kind, string name) => pod["spec"]!["containers"]![0]!["resources"]?[kind]?[name]?.GetValue<string>();

    [Fact]
    public void Missing_limits_and_requests_come_from_default_and_defaultRequest_and_are_annotated()
    {
        var pod = Pod("{}");
        var note = LimitRangeLogic.ApplyDefaults(pod, [Range("""{"type":"Container","default":{"cpu":"200m","memory":"64Mi"},"defaultRequest":{"cpu":"100m"}}""")]);
        Assert.Equal(("200m", "64Mi", "100m", "64Mi"), (Res(pod, "limits", "cpu"), Res(pod, "limits", "memory"), Res(pod, "requests", "cpu"), Res(pod, "requests", "memory")));
        Assert.Equal("LimitRanger plugin set: cpu, memory request for container c; cpu, memory limit for container c", note);
    }

    [Fact]
    public void What_a_container_sets_is_kept()
    {
        var pod = Pod("""{"limits":{"cpu":"1"},"requests":{"cpu":"300m"}}""");
        var note = LimitRangeLogic.ApplyDefaults(pod, [Range("""{"type":"Container","default":{"cpu":"200m"}}""")]);
        Assert.Equal(("1", "300m"), (Res(pod, "limits", "cpu"), Res(pod, "requests", "cpu")));
        Assert.Null(note);
    }

    [Fact]
    public void A_range_with_only_max_defaults_limits_and_requests_to_the_max()
    {
        var pod = Pod("{}");
        LimitRangeLogic.ApplyDefaults(pod, [Range("""{"type":"Container","max":{"cpu":"2"}}""")]);
        Assert.Equal(("2", "2"), (Res(pod, "limits", "cpu"), Res(pod, "requests", "cpu")));
    }

    public static TheoryData<string, string, string, string[]> ValidationCases => new()
    {
        { "within min and max: admitted", """{"type":"Container","min":{"cpu":"100m"},"max":{"cpu":"1"}}""",
            """{"requests":{"cpu":"200m"},"limits":{"cpu":"500m"}}""", [] },
        { "a limit over max", """{"type":"Container","max":{"cpu":"1"}}""", """{"limits":{"cpu":"2"}}""",
            ["maximum cpu usage per Container is 1, but limit is 2"] },
        { "no limit under a max", """{"type":"Container","max":{"memory":"1Gi"}}""", """{"requests":{"memory":"1Mi"}}""",
            ["maximum memory usage per Container is 1Gi.  No limit is specified"] },
        { "a request under min", """{"type":"Container","min":{"cpu":"100m"}}""", """{"requests":{"cpu":"50m"}}""",
            ["minimum cpu usage per Container is 100m, but request is 50m"] },
        { "no request above a min", """{"type":"Container","min":{"cpu":"100m"}}""", """{"limits":{"cpu":"50m"}}""",
            ["minimum cpu usage per Container is 100m.  No request is specified"] },
        { "a limit/request ratio over the maximum", """{"type":"Container","maxLimitRequestRatio":{"cpu":"2"}}""", """{"requests":{"cpu":"100m"},"limits":{"cpu":"500m"}}""",
            ["cpu max limit to request ratio per Container is 2, but provided ratio is 5.000000"] },
        { "the pod's sum over a Pod max", """{"type":"Pod","max":{"cpu":"400m"}}""", """{"requests":{"cpu":"100m"},"limits":{"cpu":"500m"}}""",
            ["maximum cpu usage per Pod is 400m, but limit is 500m"] },
    };

    [Theory]
    [MemberData(nameof(ValidationCases))]
    public void Pods_outside_the_ranges_are_refused_with_kubernetes_messages(string name, string item, string resources, string[] errors) =>
        Assert.True(errors.SequenceEqual(LimitRangeLogic.ValidatePod(Pod(resources), [JsonNode.Parse($$$"""{"spec":{"limits":[{{{item}}}]}}""")!.AsObject()])),
            $"{name}: got [{string.Join("; ", LimitRangeLogic.ValidatePod(Pod(resources), [JsonNode.Parse($$$"""{"spec":{"limits":[{{{item}}}]}}""")!.AsObject()]))}]");

    [Fact]
    public void Several_errors_print_as_kubernetes_aggregates()
    {
        Assert.Equal("a", LimitRangeLogic.Aggregate(["a"]));
        Assert.Equal("[a, b]", LimitRangeLogic.Aggregate(["a", "b"]));
    }
}
