using System.Text.Json.Nodes;
using AkkaKube.Actors.Controllers.Deployment;
using AkkaKube.Actors.Controllers.ReplicaSet;

namespace AkkaKube.Tests.Controllers;

public class ControllerLogicTests
{
    private static JsonObject Pod(string name, string? node = null, string phase = "Pending", bool ready = false, string created = "2026-01-01T00:00:00Z") =>
        JsonNode.Parse($$$"""
        {"metadata":{"name":"{{{name}}}","creationTimestamp":"{{{created}}}"},
         "spec":{{{{(node is null ? "" : $"\"nodeName\":\"{node}\"")}}}},
         "status":{"phase":"{{{phase}}}","conditions":[{"type":"Ready","status":"{{{(ready ? "True" : "False")}}}","lastTransitionTime":"2026-01-01T00:00:00Z"}]}}
        """)!.AsObject();

    [Fact]
    public void Surplus_pods_are_deleted_unscheduled_first_then_pending_then_not_ready_then_newest()
    {
        var pods = new[]
        {
            Pod("ready-old", "n", "Running", true, "2026-01-01T00:00:00Z"),
            Pod("ready-new", "n", "Running", true, "2026-01-01T00:05:00Z"),
            Pod("running-not-ready", "n", "Running"),
            Pod("pending-on-node", "n"),
            Pod("unscheduled"),
        };
        Assert.Equal(["unscheduled", "pending-on-node", "running-not-ready", "ready-new", "ready-old"],
            ReplicaSetLogic.RankForDeletion(pods).Select(p => p["metadata"]!["name"]!.GetValue<string>()));
    }

    [Theory]
    [InlineData("25 % of 10 rounds surge up and unavailable down", "25%", "25%", 10, 3, 2)]
    [InlineData("absolute values are taken as they are", "2", "1", 10, 2, 1)]
    [InlineData("0 and 0 becomes unavailable 1 so a rollout can progress", "0", "0", 3, 0, 1)]
    [InlineData("percentages of 3 replicas: surge 1, unavailable 0", "25%", "25%", 3, 1, 0)]
    public void Rolling_update_fenceposts_resolve_like_kubernetes(string name, string surge, string unavailable, int replicas, int expectedSurge, int expectedUnavailable)
    {
        var d = JsonNode.Parse("""{"spec":{"strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":"SURGE","maxUnavailable":"UNAVAILABLE"}}}}"""
            .Replace("SURGE", surge).Replace("UNAVAILABLE", unavailable))!.AsObject();
        Assert.True((expectedSurge, expectedUnavailable) == DeploymentLogic.ResolveFenceposts(d, replicas), name);
    }

    private static JsonObject Deployment(string image, int replicas = 3, string strategy = """{"type":"RollingUpdate","rollingUpdate":{"maxSurge":0,"maxUnavailable":1}}""") =>
        JsonNode.Parse("""
        {"apiVersion":"apps/v1","kind":"Deployment",
         "metadata":{"name":"web","namespace":"default","uid":"d-uid","generation":1},
         "spec":{"replicas":REPLICAS,"selector":{"matchLabels":{"app":"web"}},"strategy":STRATEGY,
                 "template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"c","image":"IMAGE"}]}}}}
        """.Replace("REPLICAS", replicas.ToString(System.Globalization.CultureInfo.InvariantCulture)).Replace("STRATEGY", strategy).Replace("IMAGE", image))!.AsObject();

    private static JsonObject WithStatus(JsonObject rs, int replicas, int available, string created)
    {
        rs["metadata"]!["uid"] = Guid.NewGuid().ToString();
        rs["metadata"]!["creationTimestamp"] = created;
        rs["status"] = new JsonObject { ["replicas"] = replicas, ["readyReplicas"] = available, ["availableReplicas"] = available };
        return rs;
    }

    [Fact]
    public void A_new_deployment_creates_its_replica_set_named_by_the_template_hash_at_revision_1()
    {
        var plan = DeploymentLogic.Plan(Deployment("nginx:1"), [], DateTime.UtcNow);
        var create = Assert.Single(plan.Steps.OfType<DeploymentStep.CreateReplicaSet>()).ReplicaSet;
        var hash = create["metadata"]!["labels"]![DeploymentLogic.HashLabel]!.GetValue<string>();
        Assert.Equal($"web-{hash}", create["metadata"]!["name"]!.GetValue<string>());
        Assert.Equal("1", create["metadata"]!["annotations"]![DeploymentLogic.RevisionAnnotation]!.GetValue<string>());
        Assert.Equal(3, create["spec"]!["replicas"]!.GetValue<int>());
        Assert.Equal(hash, create["spec"]!["selector"]!["matchLabels"]![DeploymentLogic.HashLabel]!.GetValue<string>());
        Assert.Contains(plan.Steps, s => s is DeploymentStep.SetDeploymentRevision { Revision: "1" });
    }

    [Fact]
    public void A_rolling_update_with_max_unavailable_1_and_no_surge_first_scales_the_old_set_down_by_one()
    {
        var old = WithStatus(DeploymentLogic.NewReplicaSet(Deployment("nginx:1"), "old", 3, 1, 0), 3, 3, "2026-01-01T00:00:00Z");
        var plan = DeploymentLogic.Plan(Deployment("nginx:2"), [old], DateTime.UtcNow);
        var create = Assert.Single(plan.Steps.OfType<DeploymentStep.CreateReplicaSet>()).ReplicaSet;
        Assert.Equal(0, create["spec"]!["replicas"]!.GetValue<int>());
        Assert.Equal("2", create["metadata"]!["annotations"]![DeploymentLogic.RevisionAnnotation]!.GetValue<string>());
        var scale = Assert.Single(plan.Steps.OfType<DeploymentStep.UpdateReplicaSet>());
        Assert.Equal((3, 2), (scale.From, scale.To));
    }

    [Fact]
    public void Going_back_to_an_old_template_makes_its_replica_set_the_newest_revision()
    {
        var v1 = WithStatus(DeploymentLogic.NewReplicaSet(Deployment("nginx:1"), "h1", 0, 1, 0), 0, 0, "2026-01-01T00:00:00Z");
        var v2 = WithStatus(DeploymentLogic.NewReplicaSet(Deployment("nginx:2"), "h2", 3, 2, 0), 3, 3, "2026-01-01T00:01:00Z");
        var plan = DeploymentLogic.Plan(Deployment("nginx:1"), [v1, v2], DateTime.UtcNow);
        Assert.Empty(plan.Steps.OfType<DeploymentStep.CreateReplicaSet>());
        var up = plan.Steps.OfType<DeploymentStep.UpdateReplicaSet>().Single(u => u.ReplicaSet["metadata"]!["name"]!.GetValue<string>() == "web-h1");
        Assert.Equal("3", up.ReplicaSet["metadata"]!["annotations"]![DeploymentLogic.RevisionAnnotation]!.GetValue<string>());
        Assert.Contains(plan.Steps, s => s is DeploymentStep.SetDeploymentRevision { Revision: "3" });
    }

    [Fact]
    public void Recreate_scales_every_old_set_to_zero_before_creating_the_new_one()
    {
        var old = WithStatus(DeploymentLogic.NewReplicaSet(Deployment("nginx:1"), "old", 3, 1, 0), 3, 3, "2026-01-01T00:00:00Z");
        var plan = DeploymentLogic.Plan(Deployment("nginx:2", strategy: """{"type":"Recreate"}"""), [old], DateTime.UtcNow);
        Assert.Empty(plan.Steps.OfType<DeploymentStep.CreateReplicaSet>());
        Assert.Equal(0, Assert.Single(plan.Steps.OfType<DeploymentStep.UpdateReplicaSet>()).To);
    }

    [Fact]
    public void A_complete_rollout_reports_NewReplicaSetAvailable_and_minimum_availability()
    {
        var d = Deployment("nginx:1");
        var rs = WithStatus(DeploymentLogic.NewReplicaSet(d, "h1", 3, 1, 0), 3, 3, "2026-01-01T00:00:00Z");
        d["status"] = new JsonObject { ["conditions"] = new JsonArray(JsonNode.Parse("""{"type":"Progressing","status":"True","reason":"ReplicaSetUpdated","lastUpdateTime":"2026-01-01T00:00:00Z"}""")) };
        var status = Assert.Single(DeploymentLogic.Plan(d, [rs], DateTime.UtcNow).Steps.OfType<DeploymentStep.UpdateStatus>()).Status;
        var conditions = status["conditions"]!.AsArray();
        Assert.Contains(conditions, c => c!["type"]!.GetValue<string>() == "Progressing" && c["reason"]!.GetValue<string>() == "NewReplicaSetAvailable");
        Assert.Contains(conditions, c => c!["type"]!.GetValue<string>() == "Available" && c["status"]!.GetValue<string>() == "True");
        Assert.Equal(3, status["updatedReplicas"]!.GetValue<int>());
        Assert.Equal(1, status["observedGeneration"]!.GetValue<long>());
    }

    [Fact]
    public void A_rollout_that_makes_no_progress_past_its_deadline_reports_ProgressDeadlineExceeded()
    {
        var d = Deployment("nginx:1");
        d["spec"]!["progressDeadlineSeconds"] = 10;
        var rs = WithStatus(DeploymentLogic.NewReplicaSet(d, "h1", 3, 1, 0), 3, 0, "2026-01-01T00:00:00Z");
        d["status"] = new JsonObject
        {
            ["replicas"] = 3, ["updatedReplicas"] = 3,
            ["conditions"] = new JsonArray(JsonNode.Parse("""{"type":"Progressing","status":"True","reason":"ReplicaSetUpdated","lastUpdateTime":"2026-01-01T00:00:00Z"}""")),
        };
        var status = Assert.Single(DeploymentLogic.Plan(d, [rs], new DateTime(2026, 1, 1, 0, 0, 11, DateTimeKind.Utc)).Steps.OfType<DeploymentStep.UpdateStatus>()).Status;
        Assert.Contains(status["conditions"]!.AsArray(), c => c!["reason"]!.GetValue<string>() == "ProgressDeadlineExceeded" && c["status"]!.GetValue<string>() == "False");
    }

    [Fact]
    public void Expectations_hold_back_until_observed_or_expired()
    {
        var now = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        var e = new Expectations(TimeSpan.FromMinutes(5), () => now);
        Assert.True(e.Satisfied("ns/rs"));
        e.Expect("ns/rs", 2, 0);
        Assert.False(e.Satisfied("ns/rs"));
        e.CreationObserved("ns/rs");
        Assert.False(e.Satisfied("ns/rs"));
        e.CreationObserved("ns/rs");
        Assert.True(e.Satisfied("ns/rs"));
        e.Expect("ns/rs", 0, 1);
        now += TimeSpan.FromMinutes(6);
        Assert.True(e.Satisfied("ns/rs"));
    }

    [Fact]
    public void The_pod_template_hash_ignores_property_order_and_the_hash_label()
    {
        var a = JsonNode.Parse("""{"metadata":{"labels":{"app":"x"}},"spec":{"containers":[{"name":"c","image":"i"}]}}""");
        var b = JsonNode.Parse("""{"spec":{"containers":[{"image":"i","name":"c"}]},"metadata":{"labels":{"pod-template-hash":"zzz","app":"x"}}}""");
        Assert.Equal(DeploymentLogic.PodTemplateHash(a, 0), DeploymentLogic.PodTemplateHash(b, 0));
        Assert.NotEqual(DeploymentLogic.PodTemplateHash(a, 0), DeploymentLogic.PodTemplateHash(a, 1));
        Assert.True(DeploymentLogic.TemplatesEqual(a, b));
    }
}
