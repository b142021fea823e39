using System.Globalization;
using System.Text.Json.Nodes;
using AkkaKube.Actors.Controllers.History;
using AkkaKube.Actors.Controllers.StatefulSet;

namespace AkkaKube.Tests.Controllers.StatefulSet;

public class StatefulSetLogicTests
{
    private static readonly DateTime Now = new(2026, 1, 1, 0, 10, 0, DateTimeKind.Utc);

    private static JsonObject Set(string image = "v2", int replicas = 3, string policy = "OrderedReady", string strategy = """{"type":"RollingUpdate","rollingUpdate":{"partition":0}}""",
        string claims = "", string retention = """{"whenDeleted":"Retain","whenScaled":"Retain"}""") =>
        JsonNode.Parse("""
        {"apiVersion":"apps/v1","kind":"StatefulSet",
         "metadata":{"name":"web","namespace":"default","uid":"set-uid","generation":4},
         "spec":{"replicas":REPLICAS,"serviceName":"svc","podManagementPolicy":"POLICY","updateStrategy":STRATEGY,
                 "persistentVolumeClaimRetentionPolicy":RETENTION,
                 "selector":{"matchLabels":{"app":"web"}},
                 CLAIMS
                 "template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"c","image":"IMAGE"}]}}}}
        """.Replace("REPLICAS", replicas.ToString(CultureInfo.InvariantCulture)).Replace("POLICY", policy).Replace("STRATEGY", strategy)
            .Replace("RETENTION", retention).Replace("CLAIMS", claims.Length > 0 ? $"\"volumeClaimTemplates\":[{claims}]," : "").Replace("IMAGE", image))!.AsObject();

    private static JsonObject Revision(string image, long number)
    {
        var r = ControllerHistory.NewRevision(Set(image), "StatefulSet", number, 0);
        r["metadata"]!["uid"] = "rev-" + image;
        return r;
    }

    /// <summary>"1R" ordinal 1 Running+Ready at the update revision; suffix "o" = old revision; P pending, T terminating, F failed.</summary>
    private static JsonObject Pod(string spec, string oldRevision, string newRevision)
    {
        var ordinal = int.Parse(spec[..1], CultureInfo.InvariantCulture);
        var state = spec[1];
        var revision = spec.EndsWith('o') ? oldRevision : newRevision;
        var pod = new JsonObject
        {
            ["metadata"] = new JsonObject
            {
                ["name"] = $"web-{ordinal}", ["namespace"] = "default", ["uid"] = $"uid-{ordinal}",
                ["labels"] = new JsonObject { ["app"] = "web", [ControllerHistory.HashLabel] = revision },
            },
            ["spec"] = new JsonObject(),
            ["status"] = new JsonObject
            {
                ["phase"] = state switch { 'R' or 'T' => "Running", 'F' => "Failed", _ => "Pending" },
                ["conditions"] = new JsonArray(new JsonObject
                {
                    ["type"] = "Ready", ["status"] = state is 'R' or 'T' ? "True" : "False", ["lastTransitionTime"] = "2026-01-01T00:00:00Z",
                }),
            },
        };
        if (state == 'T') pod["metadata"]!["deletionTimestamp"] = "2026-01-01T00:09:00Z";
        return pod;
    }

    private static string Summary(SetPlan plan) => string.Join(", ", plan.Steps.Select(s => s switch
    {
        SetStep.CreatePod c => "create " + c.Pod["metadata"]!["name"],
        SetStep.DeletePod d => "delete " + d.Name,
        SetStep.CreateClaim c => "claim " + c.Claim["metadata"]!["name"],
        SetStep.UpdateClaim u => "own " + u.Claim["metadata"]!["name"],
        SetStep.CreateRevision => "revision",
        SetStep.UpdateRevision => "renumber",
        SetStep.DeleteRevision d => "drop " + d.Name,
        _ => null,
    }).Where(s => s is not null));

    private static (SetPlan Plan, string Old, string New) Run(JsonObject set, string pods, bool rollingFromOld = false)
    {
        var old = Revision("v1", 1);
        var fresh = Revision("v2", 2);
        set["status"] = new JsonObject { ["currentRevision"] = rollingFromOld ? old["metadata"]!["name"]!.DeepClone() : fresh["metadata"]!["name"]!.DeepClone() };
        var oldName = old["metadata"]!["name"]!.GetValue<string>();
        var newName = fresh["metadata"]!["name"]!.GetValue<string>();
        var list = pods.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(p => Pod(p, oldName, newName)).ToList();
        return (StatefulSetLogic.Plan(set, list, new Dictionary<string, JsonObject>(), [old, fresh], Now), oldName, newName);
    }

    [Theory]
    [InlineData("OrderedReady: the first pod first", "OrderedReady", 3, "", "create web-0")]
    [InlineData("OrderedReady: the next one once the previous is Running and Ready", "OrderedReady", 3, "0R", "create web-1")]
    [InlineData("OrderedReady: nothing while the previous is not Ready", "OrderedReady", 3, "0P", "")]
    [InlineData("OrderedReady: web-2 after web-0 and web-1", "OrderedReady", 3, "0R 1R", "create web-2")]
    [InlineData("OrderedReady: a failed pod is deleted (and recreated next pass)", "OrderedReady", 2, "0F 1R", "delete web-0")]
    [InlineData("Parallel: every missing pod at once", "Parallel", 3, "", "create web-0, create web-1, create web-2")]
    [InlineData("Parallel: does not wait for Ready", "Parallel", 3, "0P", "create web-1, create web-2")]
    [InlineData("OrderedReady scale-down: highest ordinal first, one at a time", "OrderedReady", 1, "0R 1R 2R", "delete web-2")]
    [InlineData("OrderedReady scale-down: waits for the terminating one", "OrderedReady", 1, "0R 1R 2T", "")]
    [InlineData("OrderedReady scale-down: blocked by an unhealthy pod", "OrderedReady", 1, "0R 1P 2R", "")]
    [InlineData("Parallel scale-down: every condemned pod at once, highest first", "Parallel", 1, "0R 1R 2R", "delete web-2, delete web-1")]
    [InlineData("steady state: nothing to do", "OrderedReady", 3, "0R 1R 2R", "")]
    public void Pod_management_creates_and_deletes_like_kubernetes(string name, string policy, int replicas, string pods, string expected)
    {
        var (plan, _, _) = Run(Set(replicas: replicas, policy: policy), pods);
        Assert.True(expected == Summary(plan), $"{name}: expected '{expected}', planned '{Summary(plan)}'");
    }

    [Theory]
    [InlineData("RollingUpdate starts at the highest ordinal", """{"type":"RollingUpdate","rollingUpdate":{"partition":0}}""", "0Ro 1Ro 2Ro", "delete web-2")]
    [InlineData("RollingUpdate goes down once the updated pod is Ready", """{"type":"RollingUpdate","rollingUpdate":{"partition":0}}""", "0Ro 1Ro 2R", "delete web-1")]
    [InlineData("RollingUpdate waits while the updated pod is not Ready", """{"type":"RollingUpdate","rollingUpdate":{"partition":0}}""", "0Ro 1Ro 2P", "")]
    [InlineData("RollingUpdate stops at the partition", """{"type":"RollingUpdate","rollingUpdate":{"partition":2}}""", "0Ro 1Ro 2R", "")]
    [InlineData("OnDelete never deletes for an update", """{"type":"OnDelete"}""", "0Ro 1Ro 2Ro", "")]
    public void Updates_follow_the_strategy(string name, string strategy, string pods, string expected)
    {
        var (plan, _, _) = Run(Set(strategy: strategy), pods, rollingFromOld: true);
        Assert.True(expected == Summary(plan), $"{name}: expected '{expected}', planned '{Summary(plan)}'");
    }

    [Fact]
    public void A_recreated_pod_below_the_partition_keeps_the_current_revision_and_above_it_gets_the_update()
    {
        var set = Set(replicas: 3, policy: "Parallel", strategy: """{"type":"RollingUpdate","rollingUpdate":{"partition":1}}""");
        var (plan, oldName, newName) = Run(set, "", rollingFromOld: true);
        var created = plan.Steps.OfType<SetStep.CreatePod>().Select(c => c.Pod).ToDictionary(p => p["metadata"]!["name"]!.GetValue<string>());
        Assert.Equal(oldName, created["web-0"]["metadata"]!["labels"]![ControllerHistory.HashLabel]!.GetValue<string>());
        Assert.Equal("v1", created["web-0"]["spec"]!["containers"]![0]!["image"]!.GetValue<string>());
        Assert.Equal(newName, created["web-1"]["metadata"]!["labels"]![ControllerHistory.HashLabel]!.GetValue<string>());
        Assert.Equal("v2", created["web-2"]["spec"]!["containers"]![0]!["image"]!.GetValue<string>());
    }

    [Fact]
    public void A_pod_has_stable_identity_and_its_claims_are_created_before_it()
    {
        var set = Set(claims: """{"metadata":{"name":"www","labels":{"tier":"data"}},"spec":{"accessModes":["ReadWriteOnce"],"resources":{"requests":{"storage":"1Gi"}}}}""");
        var (plan, _, newName) = Run(set, "");
        Assert.Equal("claim www-web-0, create web-0", Summary(plan));
        var claim = plan.Steps.OfType<SetStep.CreateClaim>().Single().Claim;
        Assert.Equal("web", claim["metadata"]!["labels"]!["app"]!.GetValue<string>());
        Assert.Equal("data", claim["metadata"]!["labels"]!["tier"]!.GetValue<string>());
        Assert.Null(claim["metadata"]!["ownerReferences"]);
        var pod = plan.Steps.OfType<SetStep.CreatePod>().Single().Pod;
        Assert.Equal("web-0", pod["spec"]!["hostname"]!.GetValue<string>());
        Assert.Equal("svc", pod["spec"]!["subdomain"]!.GetValue<string>());
        var labels = pod["metadata"]!["labels"]!;
        Assert.Equal("web-0", labels[StatefulSetLogic.PodNameLabel]!.GetValue<string>());
        Assert.Equal("0", labels[StatefulSetLogic.PodIndexLabel]!.GetValue<string>());
        Assert.Equal(newName, labels[ControllerHistory.HashLabel]!.GetValue<string>());
        Assert.Equal("www-web-0", pod["spec"]!["volumes"]![0]!["persistentVolumeClaim"]!["claimName"]!.GetValue<string>());
        Assert.Equal("set-uid", pod["metadata"]!["ownerReferences"]![0]!["uid"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("Retain/Retain: nobody owns the claim", "Retain", "Retain", 2, "")]
    [InlineData("whenDeleted Delete: the set owns every claim", "Delete", "Retain", 3, "set-uid")]
    [InlineData("whenScaled Delete: the pod owns the claim of an ordinal scaled away", "Retain", "Delete", 2, "uid-2")]
    [InlineData("whenScaled Delete: a claim of a kept ordinal stays unowned", "Retain", "Delete", 3, "")]
    public void The_retention_policy_becomes_owner_references(string name, string whenDeleted, string whenScaled, int replicas, string owners)
    {
        var set = Set(replicas: replicas, retention: $"{{\"whenDeleted\":\"{whenDeleted}\",\"whenScaled\":\"{whenScaled}\"}}");
        var claim = JsonNode.Parse("""{"metadata":{"name":"www-web-2","namespace":"default"}}""")!.AsObject();
        var pod = Pod("2R", "a", "b");
        var refs = StatefulSetLogic.WantedClaimOwners(set, claim, 2, pod);
        Assert.True(owners == string.Join(",", refs.Select(r => r!["uid"]!.GetValue<string>())), name);
    }

    [Fact]
    public void The_status_counts_ready_current_and_updated_pods_and_completes_the_rollout_when_all_are_updated()
    {
        var (plan, oldName, newName) = Run(Set(), "0Ro 1R 2P", rollingFromOld: true);
        var status = plan.Steps.OfType<SetStep.UpdateStatus>().Single().Status;
        Assert.Equal(3, status["replicas"]!.GetValue<int>());
        Assert.Equal(2, status["readyReplicas"]!.GetValue<int>());
        Assert.Equal(1, status["currentReplicas"]!.GetValue<int>());
        Assert.Equal(2, status["updatedReplicas"]!.GetValue<int>());
        Assert.Equal(oldName, status["currentRevision"]!.GetValue<string>());
        Assert.Equal(newName, status["updateRevision"]!.GetValue<string>());
        Assert.Equal(4, status["observedGeneration"]!.GetValue<long>());

        var done = Run(Set(), "0R 1R 2R", rollingFromOld: true).Plan.Steps.OfType<SetStep.UpdateStatus>().Single().Status;
        Assert.Equal(newName, done["currentRevision"]!.GetValue<string>());
        Assert.Equal(3, done["currentReplicas"]!.GetValue<int>());
    }

    [Fact]
    public void A_template_seen_before_renumbers_its_revision_instead_of_making_a_new_one()
    {
        var v1 = Revision("v1", 1);
        var v2 = Revision("v2", 2);
        var history = ControllerHistory.Plan(Set("v1"), "StatefulSet", [v1, v2]);
        Assert.Null(history.Create);
        Assert.Equal(3, history.Renumber!["revision"]!.GetValue<long>());
        Assert.Equal(v1["metadata"]!["name"]!.GetValue<string>(), history.Update["metadata"]!["name"]!.GetValue<string>());

        var fresh = ControllerHistory.Plan(Set("v3"), "StatefulSet", [v1, v2]);
        Assert.Equal(3, fresh.Create!["revision"]!.GetValue<long>());
        Assert.Equal("replace", fresh.Create["data"]!["spec"]!["template"]!["$patch"]!.GetValue<string>());
        Assert.Equal("v3", ControllerHistory.TemplateOf(fresh.Create)["spec"]!["containers"]![0]!["image"]!.GetValue<string>());
    }
}
