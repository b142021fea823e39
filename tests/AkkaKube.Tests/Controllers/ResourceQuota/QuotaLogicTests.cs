using System.Text.Json.Nodes;
using AkkaKube.Actors.Controllers.ResourceQuota;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Tests.Controllers.ResourceQuota;

public class QuotaLogicTests
{
    private static JsonObject Pod(string containers, string phase = "Running") => JsonNode.Parse($$$"""
        {"metadata":{"name":"p","namespace":"ns"},"spec":{"containers":[{{{containers}}}]},"status":{"phase":"{{{phase}}}"}}
        """)!.AsObject();

    private static JsonObject Quota(string hard, string used = "null") => JsonNode.Parse($$$"""
        {"metadata":{"name":"compute","namespace":"ns"},"spec":{"hard":{{{hard}}}},"status":{"used":{{{used}}}}}
        """)!.AsObject();

    private const string Small = """{"name":"a","resources":{"requests":{"cpu":"250m","memory":"64Mi"},"limits":{"cpu":"500m","memory":"128Mi"}}}""";

    [Fact]
    public void A_pod_uses_its_count_and_the_sum_of_its_containers_requests_and_limits()
    {
        var usage = QuotaLogic.Usage(ApiResource.Pods, Pod(Small + "," + Small.Replace("\"a\"", "\"b\"")));
        Assert.Equal(1m, usage["pods"]);
        Assert.Equal(1m, usage["count/pods"]);
        Assert.Equal(0.5m, usage["requests.cpu"]);
        Assert.Equal(0.5m, usage["cpu"]);
        Assert.Equal(1m, usage["limits.cpu"]);
        Assert.Equal(256m * 1024 * 1024, usage["limits.memory"]);
    }

    [Fact]
    public void A_terminal_pod_uses_no_compute_and_no_pod_count()
    {
        var usage = QuotaLogic.Usage(ApiResource.Pods, Pod(Small, "Succeeded"));
        Assert.False(usage.ContainsKey("pods"));
        Assert.False(usage.ContainsKey("requests.cpu"));
    }

    [Fact]
    public void Other_kinds_count_as_count_slash_resource_dot_group()
    {
        Assert.Equal(1m, QuotaLogic.Usage(ApiResource.Deployments, new JsonObject())["count/deployments.apps"]);
        var claim = JsonNode.Parse("""{"spec":{"storageClassName":"standard","resources":{"requests":{"storage":"1Gi"}}}}""")!.AsObject();
        var usage = QuotaLogic.Usage(ApiResource.PersistentVolumeClaims, claim);
        Assert.Equal(1m, usage["persistentvolumeclaims"]);
        Assert.Equal(1024m * 1024 * 1024, usage["requests.storage"]);
        Assert.Equal(1m, usage["standard.storageclass.storage.k8s.io/persistentvolumeclaims"]);
    }

    public static TheoryData<string, string, string, string?> AdmissionCases => new()
    {
        { "room left: admitted", """{"pods":"2"}""", """{"pods":"1"}""", null },
        { "the last pod fits exactly", """{"pods":"2"}""", """{"pods":"1"}""", null },
        { "at the limit: refused with Kubernetes' message", """{"pods":"1"}""", """{"pods":"1"}""",
            "exceeded quota: compute, requested: pods=1, used: pods=1, limited: pods=1" },
        { "cpu quantities add up in millicores", """{"requests.cpu":"1","pods":"10"}""", """{"requests.cpu":"900m","pods":"1"}""",
            "exceeded quota: compute, requested: requests.cpu=250m, used: requests.cpu=900m, limited: requests.cpu=1" },
        { "memory prints in binary suffixes, several resources sorted", """{"limits.memory":"256Mi","limits.cpu":"1"}""", """{"limits.memory":"200Mi","limits.cpu":"600m"}""",
            "exceeded quota: compute, requested: limits.cpu=500m,limits.memory=128Mi, used: limits.cpu=600m,limits.memory=200Mi, limited: limits.cpu=1,limits.memory=256Mi" },
        { "resources the pod does not use are not checked", """{"count/configmaps":"0"}""", """{"count/configmaps":"0"}""", null },
    };

    [Theory]
    [MemberData(nameof(AdmissionCases))]
    public void Quota_admission_compares_used_plus_requested_with_hard(string name, string hard, string used, string? refusal)
    {
        var quota = Quota(hard, used);
        var requested = QuotaLogic.Usage(ApiResource.Pods, Pod(Small));
        var exceeded = QuotaLogic.Exceeded(quota, requested);
        Assert.True(refusal == (exceeded.Count == 0 ? null : QuotaLogic.ExceededMessage(quota, requested, exceeded)),
            $"{name}: got {(exceeded.Count == 0 ? "admitted" : QuotaLogic.ExceededMessage(quota, requested, exceeded))}");
    }

    [Fact]
    public void Charging_adds_the_usage_in_the_hard_limits_format()
    {
        var quota = Quota("""{"requests.cpu":"2","requests.memory":"1Gi","pods":"5"}""", """{"requests.cpu":"500m","requests.memory":"512Mi","pods":"1"}""");
        var used = QuotaLogic.Charge(quota, QuotaLogic.Usage(ApiResource.Pods, Pod(Small)));
        Assert.Equal("750m", used["requests.cpu"]!.GetValue<string>());
        Assert.Equal("576Mi", used["requests.memory"]!.GetValue<string>());
        Assert.Equal("2", used["pods"]!.GetValue<string>());
    }

    [Fact]
    public void A_quota_without_computed_usage_is_unknown_and_a_compute_quota_needs_declared_resources()
    {
        var requested = QuotaLogic.Usage(ApiResource.Pods, Pod(Small));
        Assert.Equal(["pods"], QuotaLogic.Unknown(Quota("""{"pods":"1"}"""), requested));
        var bare = Pod("""{"name":"bare"}""");
        Assert.Equal(["limits.cpu for: bare", "requests.memory for: bare"], QuotaLogic.MissingDeclarations(bare, ["limits.cpu", "requests.memory", "pods"]));
    }

    [Fact]
    public void The_status_sums_usage_for_the_limited_resources_only()
    {
        var total = new Dictionary<string, decimal>();
        QuotaLogic.Add(total, QuotaLogic.Usage(ApiResource.Pods, Pod(Small)));
        QuotaLogic.Add(total, QuotaLogic.Usage(ApiResource.Pods, Pod(Small)));
        var status = QuotaLogic.Status(Quota("""{"pods":"10","requests.cpu":"4"}"""), total);
        Assert.Equal("""{"hard":{"pods":"10","requests.cpu":"4"},"used":{"pods":"2","requests.cpu":"500m"}}""", status.ToJsonString());
    }
}
