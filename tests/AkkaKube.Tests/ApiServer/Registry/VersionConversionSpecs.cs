using System.Net;
using System.Text.Json.Nodes;
using AkkaKube.Actors.ApiServer.Registry.Autoscaling;
using AkkaKube.Actors.ApiServer.Registry.Events;

namespace AkkaKube.Tests.ApiServer.Registry;

/// <summary>
/// Several versions of one kind on one partition: autoscaling/v1 and v2 HorizontalPodAutoscalers, and
/// events.k8s.io/v1 as a view of core/v1 events — pure conversions, and over HTTP (written in one version,
/// read in the other).
/// </summary>
public class VersionConversionSpecs(ApiNode api) : IClassFixture<ApiNode>
{
    [Fact]
    public void An_hpa_v1_target_is_a_v2_cpu_metric_and_back()
    {
        var v1 = (JsonObject)JsonNode.Parse("""
            {"apiVersion":"autoscaling/v1","kind":"HorizontalPodAutoscaler","metadata":{"name":"h"},
             "spec":{"scaleTargetRef":{"apiVersion":"apps/v1","kind":"Deployment","name":"web"},"minReplicas":1,"maxReplicas":5,"targetCPUUtilizationPercentage":60},
             "status":{"currentReplicas":2,"desiredReplicas":2,"currentCPUUtilizationPercentage":40}}
            """)!;
        var v2 = HorizontalPodAutoscalerV1Strategy.ToV2(v1);
        Assert.Equal("autoscaling/v2", v2["apiVersion"]!.GetValue<string>());
        Assert.Null(v2["spec"]!["targetCPUUtilizationPercentage"]);
        Assert.Equal(60, v2["spec"]!["metrics"]![0]!["resource"]!["target"]!["averageUtilization"]!.GetValue<int>());
        Assert.Equal("cpu", v2["spec"]!["metrics"]![0]!["resource"]!["name"]!.GetValue<string>());
        Assert.Equal(40, v2["status"]!["currentMetrics"]![0]!["resource"]!["current"]!["averageUtilization"]!.GetValue<int>());
        Assert.True(JsonNode.DeepEquals(v1, HorizontalPodAutoscalerV1Strategy.ToV1(v2)));
    }

    [Fact]
    public void What_v1_cannot_say_survives_a_round_trip_in_annotations()
    {
        var v2 = (JsonObject)JsonNode.Parse("""
            {"apiVersion":"autoscaling/v2","kind":"HorizontalPodAutoscaler","metadata":{"name":"h"},
             "spec":{"scaleTargetRef":{"kind":"Deployment","name":"web"},"maxReplicas":5,
               "metrics":[{"type":"Resource","resource":{"name":"memory","target":{"type":"AverageValue","averageValue":"100Mi"}}}],
               "behavior":{"scaleDown":{"stabilizationWindowSeconds":60}}},
             "status":{"conditions":[{"type":"AbleToScale","status":"True"}]}}
            """)!;
        var v1 = HorizontalPodAutoscalerV1Strategy.ToV1(v2);
        Assert.Null(v1["spec"]!["metrics"]);
        Assert.Null(v1["spec"]!["targetCPUUtilizationPercentage"]);
        Assert.NotNull(v1["metadata"]!["annotations"]![HorizontalPodAutoscalerV1Strategy.MetricsAnnotation]);
        Assert.True(JsonNode.DeepEquals(v2, HorizontalPodAutoscalerV1Strategy.ToV2(v1)));
    }

    [Fact]
    public void An_events_v1_event_is_a_core_event_with_renamed_fields()
    {
        var v1 = (JsonObject)JsonNode.Parse("""
            {"apiVersion":"events.k8s.io/v1","kind":"Event","metadata":{"name":"e","namespace":"default"},
             "eventTime":"2026-01-01T00:00:00.000000Z","reportingController":"example.com/ctl","reportingInstance":"ctl-1",
             "action":"Scale","reason":"Scaled","type":"Normal","note":"scaled up",
             "regarding":{"kind":"Deployment","name":"web","namespace":"default"},"deprecatedCount":3}
            """)!;
        var core = EventStrategy.ToCore(v1);
        Assert.Equal("v1", core["apiVersion"]!.GetValue<string>());
        Assert.Equal("scaled up", core["message"]!.GetValue<string>());
        Assert.Equal("web", core["involvedObject"]!["name"]!.GetValue<string>());
        Assert.Equal("example.com/ctl", core["reportingComponent"]!.GetValue<string>());
        Assert.Equal(3, core["count"]!.GetValue<int>());
        Assert.Null(core["note"]);
        Assert.True(JsonNode.DeepEquals(v1, EventStrategy.ToEventsV1(core)));
    }

    [Fact]
    public async Task An_hpa_written_as_v1_reads_as_v2_and_the_other_way()
    {
        var (created, body, _) = await api.Post("/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers", """
            {"apiVersion":"autoscaling/v1","kind":"HorizontalPodAutoscaler","metadata":{"name":"from-v1"},
             "spec":{"scaleTargetRef":{"apiVersion":"apps/v1","kind":"Deployment","name":"web"},"maxReplicas":4,"targetCPUUtilizationPercentage":70}}
            """);
        Assert.True(created == HttpStatusCode.Created, body?.ToJsonString());
        Assert.Equal("autoscaling/v1", body!["apiVersion"]!.GetValue<string>());
        Assert.Equal(70, body["spec"]!["targetCPUUtilizationPercentage"]!.GetValue<int>());
        var (_, v2, _) = await api.Get("/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers/from-v1");
        Assert.Equal("autoscaling/v2", v2!["apiVersion"]!.GetValue<string>());
        Assert.Equal(70, v2["spec"]!["metrics"]![0]!["resource"]!["target"]!["averageUtilization"]!.GetValue<int>());

        var (created2, _, _) = await api.Post("/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers", """
            {"apiVersion":"autoscaling/v2","kind":"HorizontalPodAutoscaler","metadata":{"name":"from-v2"},
             "spec":{"scaleTargetRef":{"apiVersion":"apps/v1","kind":"Deployment","name":"web"},"maxReplicas":4}}
            """);
        Assert.Equal(HttpStatusCode.Created, created2);
        var (_, list, _) = await api.Get("/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers");
        Assert.Equal("HorizontalPodAutoscalerList", list!["kind"]!.GetValue<string>());
        var item = ((JsonArray)list["items"]!).Single(i => i!["metadata"]!["name"]!.GetValue<string>() == "from-v2")!;
        Assert.Equal("autoscaling/v1", item["apiVersion"]!.GetValue<string>());
        Assert.Equal(80, item["spec"]!["targetCPUUtilizationPercentage"]!.GetValue<int>()); // v2's default metric
        var (invalid, status, _) = await api.Post("/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers", """
            {"apiVersion":"autoscaling/v1","kind":"HorizontalPodAutoscaler","metadata":{"name":"bad"},
             "spec":{"scaleTargetRef":{"kind":"Deployment","name":"web"},"maxReplicas":4,"targetCPUUtilizationPercentage":0}}
            """);
        Assert.Equal((HttpStatusCode)422, invalid);
        Assert.Contains((JsonArray)status!["details"]!["causes"]!, c => c!["field"]!.GetValue<string>() == "spec.targetCPUUtilizationPercentage");
    }

    [Fact]
    public async Task An_event_written_through_events_k8s_io_is_a_core_event()
    {
        var (created, body, _) = await api.Post("/apis/events.k8s.io/v1/namespaces/default/events", """
            {"apiVersion":"events.k8s.io/v1","kind":"Event","metadata":{"name":"scaled"},
             "eventTime":"2026-01-01T00:00:00.000000Z","reportingController":"example.com/ctl","reportingInstance":"ctl-1",
             "action":"Scale","reason":"Scaled","type":"Normal","note":"scaled up","regarding":{"kind":"Deployment","name":"web","namespace":"default"}}
            """);
        Assert.True(created == HttpStatusCode.Created, body?.ToJsonString());
        Assert.Equal("scaled up", body!["note"]!.GetValue<string>());
        var (_, core, _) = await api.Get("/api/v1/namespaces/default/events/scaled");
        Assert.Equal("v1", core!["apiVersion"]!.GetValue<string>());
        Assert.Equal("scaled up", core["message"]!.GetValue<string>());
        Assert.Equal("web", core["involvedObject"]!["name"]!.GetValue<string>());
        var (invalid, status, _) = await api.Post("/apis/events.k8s.io/v1/namespaces/default/events", """
            {"apiVersion":"events.k8s.io/v1","kind":"Event","metadata":{"name":"incomplete"},"type":"Normal","note":"?"}
            """);
        Assert.Equal((HttpStatusCode)422, invalid);
        var fields = ((JsonArray)status!["details"]!["causes"]!).Select(c => c!["field"]!.GetValue<string>()).ToList();
        Assert.Contains("eventTime", fields);
        Assert.Contains("reportingController", fields);
    }
}
