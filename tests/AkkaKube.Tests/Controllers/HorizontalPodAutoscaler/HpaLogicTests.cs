using AkkaKube.Actors.Controllers.HorizontalPodAutoscaler;

namespace AkkaKube.Tests.Controllers.HorizontalPodAutoscaler;

/// <summary>Kubernetes' autoscaling/v2 arithmetic: ratios, tolerance, missing and unready pods, windows and policies.</summary>
public sealed class HpaLogicTests
{
    private static readonly DateTime T0 = new(2026, 12, 7, 0, 0, 0, DateTimeKind.Utc);

    private static PodSample Pod(string name, decimal requestCores, decimal? usageCores, bool ready = true) =>
        new(name, ready, new Dictionary<string, decimal> { ["cpu"] = requestCores, ["memory"] = 64 * 1024 * 1024 },
            usageCores is { } u ? new Dictionary<string, decimal> { ["cpu"] = u, ["memory"] = 32 * 1024 * 1024 } : null);

    public static TheoryData<string, int, PodSample[], int, int> Utilization => new()
    {
        // case, current, pods, target %, expected replicas
        { "at target", 2, [Pod("a", 0.1m, 0.05m), Pod("b", 0.1m, 0.05m)], 50, 2 },
        { "within the 10% tolerance", 2, [Pod("a", 0.1m, 0.054m), Pod("b", 0.1m, 0.054m)], 50, 2 },
        { "double the target doubles", 2, [Pod("a", 0.1m, 0.1m), Pod("b", 0.1m, 0.1m)], 50, 4 },
        { "a fraction rounds up", 3, [Pod("a", 0.1m, 0.07m), Pod("b", 0.1m, 0.07m), Pod("c", 0.1m, 0.07m)], 50, 5 },
        { "idle halves", 4, [Pod("a", 0.1m, 0.01m), Pod("b", 0.1m, 0.01m), Pod("c", 0.1m, 0.01m), Pod("d", 0.1m, 0.01m)], 50, 1 },
        // A pod without metrics counts as at target on a scale-down: 2 × 10% + 1 × 50% over 3 pods → 23% / 50% → ceil(0.47 × 3) = 2.
        { "missing pod held at target on scale-down", 3, [Pod("a", 0.1m, 0.01m), Pod("b", 0.1m, 0.01m), Pod("c", 0.1m, null)], 50, 2 },
        // On a scale-up a missing pod counts as idle: (100% + 100% + 0) / 3 = 67% / 50% → ceil(1.33 × 3) = 4.
        { "missing pod idle on scale-up", 3, [Pod("a", 0.1m, 0.1m), Pod("b", 0.1m, 0.1m), Pod("c", 0.1m, null)], 50, 4 },
        // An unready pod counts as idle against a scale-up only: (200%+0)/2 = 100% / 50% → 4.
        { "unready pod idle on scale-up", 2, [Pod("a", 0.1m, 0.2m), Pod("b", 0.1m, 0.2m, ready: false)], 50, 4 },
    };

    [Theory]
    [MemberData(nameof(Utilization))]
    public void Utilization_targets_propose_Kubernetes_replica_counts(string @case, int current, PodSample[] pods, int target, int expected)
    {
        var result = HpaLogic.ForResource("cpu", current, pods, target, null);
        Assert.True(expected == result.DesiredReplicas, $"{@case}: expected {expected}, got {result.DesiredReplicas}");
    }

    [Fact]
    public void An_average_value_target_compares_usage_per_pod()
    {
        var result = HpaLogic.ForResource("cpu", 2, [Pod("a", 0.1m, 0.3m), Pod("b", 0.1m, 0.3m)], null, 0.1m);
        Assert.Equal(6, result.DesiredReplicas);
        Assert.Null(result.Utilization);
        Assert.Equal("300m", HpaLogic.FormatValue("cpu", result.AverageValue));
    }

    [Fact]
    public void A_pod_without_a_request_makes_utilization_undefined()
    {
        var pods = new[] { Pod("a", 0.1m, 0.1m), new PodSample("b", true, new Dictionary<string, decimal> { ["cpu"] = 0 }, new Dictionary<string, decimal> { ["cpu"] = 0.1m }) };
        var e = Assert.Throws<HpaException>(() => HpaLogic.ForResource("cpu", 2, pods, 50, null));
        Assert.Equal("FailedGetResourceMetric", e.Reason);
        Assert.Contains("missing request for cpu in pod b", e.Message);
    }

    [Fact]
    public void No_metrics_at_all_is_an_error_not_a_scale_to_zero()
    {
        var e = Assert.Throws<HpaException>(() => HpaLogic.ForResource("cpu", 2, [Pod("a", 0.1m, null)], 50, null));
        Assert.Equal("FailedGetResourceMetric", e.Reason);
    }

    [Fact]
    public void Scale_up_is_limited_by_the_default_policies_to_double_or_four_more_per_period()
    {
        var history = new HpaHistory();
        var (replicas, reason, limited, _) = HpaLogic.Normalize(2, 20, 1, 50, HpaLogic.DefaultScaleUp, HpaLogic.DefaultScaleDown, history, T0);
        Assert.Equal(6, replicas); // max(2 × 2, 2 + 4)
        Assert.True(limited);
        Assert.Equal("ScaleUpLimit", reason);

        // Within the same 15 s period, what was added counts against the limit.
        HpaLogic.RecordScale(history, 2, 6, T0);
        var (again, _, _, _) = HpaLogic.Normalize(6, 20, 1, 50, HpaLogic.DefaultScaleUp, HpaLogic.DefaultScaleDown, history, T0.AddSeconds(5));
        Assert.Equal(6, again); // period start 2: limit max(4, 6) = 6
        var (later, _, _, _) = HpaLogic.Normalize(6, 20, 1, 50, HpaLogic.DefaultScaleUp, HpaLogic.DefaultScaleDown, history, T0.AddSeconds(16));
        Assert.Equal(12, later);
    }

    [Fact]
    public void Scale_down_waits_for_the_stabilization_window_and_takes_the_highest_recent_proposal()
    {
        var history = new HpaHistory();
        HpaLogic.Normalize(5, 5, 1, 10, HpaLogic.DefaultScaleUp, HpaLogic.DefaultScaleDown, history, T0);
        var (held, _, _, able) = HpaLogic.Normalize(5, 2, 1, 10, HpaLogic.DefaultScaleUp, HpaLogic.DefaultScaleDown, history, T0.AddSeconds(60));
        Assert.Equal(5, held);
        Assert.Equal("ScaleDownStabilized", able);
        HpaLogic.Normalize(5, 3, 1, 10, HpaLogic.DefaultScaleUp, HpaLogic.DefaultScaleDown, history, T0.AddSeconds(200));
        // 301 s after the proposal of 5, the highest proposal in the window is 3.
        var (down, _, _, _) = HpaLogic.Normalize(5, 2, 1, 10, HpaLogic.DefaultScaleUp, HpaLogic.DefaultScaleDown, history, T0.AddSeconds(301));
        Assert.Equal(3, down);
    }

    [Fact]
    public void Min_and_max_replicas_bound_the_result_and_say_so()
    {
        var noWindow = HpaLogic.DefaultScaleDown with { StabilizationWindowSeconds = 0 };
        var (low, lowReason, lowLimited, _) = HpaLogic.Normalize(3, 0, 2, 10, HpaLogic.DefaultScaleUp, noWindow, new HpaHistory(), T0);
        Assert.Equal((2, "TooFewReplicas", true), (low, lowReason, lowLimited));
        var (high, highReason, _, _) = HpaLogic.Normalize(3, 5, 1, 4, HpaLogic.DefaultScaleUp, noWindow, new HpaHistory(), T0);
        Assert.Equal((4, "TooManyReplicas"), (high, highReason));
    }

    [Fact]
    public void Behavior_rules_replace_the_defaults_and_a_disabled_direction_never_moves()
    {
        var rules = HpaLogic.RulesOf(System.Text.Json.Nodes.JsonNode.Parse("""{"stabilizationWindowSeconds":0,"selectPolicy":"Disabled"}"""), HpaLogic.DefaultScaleDown);
        Assert.Equal(0, rules.StabilizationWindowSeconds);
        var (replicas, _, _, _) = HpaLogic.Normalize(5, 1, 1, 10, HpaLogic.DefaultScaleUp, rules, new HpaHistory(), T0);
        Assert.Equal(5, replicas);
    }
}
