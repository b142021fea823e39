using System.Text.Json.Nodes;
using AkkaKube.Cli.Chaos;
using AkkaKube.Tests.Failover;
using Xunit.Abstractions;

namespace AkkaKube.Tests.Controllers.Job;

/// <summary>
/// Process-level hand-over: SIGKILL of the node hosting the controller-manager singleton while a Job runs (3 control
/// planes, 1 worker). The Job's pods run on the worker throughout; the job controller that takes over on a survivor
/// resumes from the stored status and finishes with exactly its completions: no extra pod, no pod counted twice.
/// </summary>
public sealed class JobHandoverTests(ControlPlaneFailoverCluster cluster, ITestOutputHelper output) : IClassFixture<ControlPlaneFailoverCluster>
{
    private const string Jobs = "/apis/batch/v1/namespaces/default/jobs";

    private static JsonObject SleepyJob(string name) => JsonNode.Parse($$"""
        {"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"{{name}}"},
         "spec":{"completions":8,"parallelism":2,"backoffLimit":0,
                 "template":{"spec":{"restartPolicy":"Never","terminationGracePeriodSeconds":2,
                   "containers":[{"name":"work","image":"busybox","command":["sh","-c","sleep 3"]}]} } } }
        """)!.AsObject();

    private static async Task<List<JsonObject>> JobPods(HttpClient http, string job) =>
        ((await FailoverSupport.SendAsync(http, HttpMethod.Get, $"/api/v1/namespaces/default/pods?labelSelector=batch.kubernetes.io/job-name%3D{job}"))?["items"] as JsonArray)
        ?.OfType<JsonObject>().ToList() ?? [];

    private static string? Phase(JsonObject pod) => pod["status"]?["phase"]?.GetValue<string>();

    [SkippableFact]
    public async Task A_job_running_through_a_kill_of_the_controller_manager_host_completes_with_exactly_its_completions()
    {
        Skip.If(cluster.SkipReason is not null, cluster.SkipReason);
        await FailoverSupport.EnsureAllUpAsync(cluster);
        using var http = FailoverSupport.Http(cluster);
        await FailoverSupport.CreateAsync(http, Jobs, SleepyJob("handover"));
        await FailoverSupport.EventuallyAsync(async () => (await JobPods(http, "handover")).Count(p => Phase(p) == "Succeeded") >= 2,
            TimeSpan.FromSeconds(120), "two pods of job handover succeeded");

        var report = await FailoverSupport.Runner(cluster, 120).RunAsync(FaultKind.KillLeader, null, CancellationToken.None);
        output.WriteLine(report.ToText());
        Assert.Contains(report.Timeline, t => t.Event == "singletons moved");

        await FailoverSupport.EventuallyAsync(async () =>
        {
            var job = await FailoverSupport.SendAsync(http, HttpMethod.Get, $"{Jobs}/handover");
            return (job?["status"]?["conditions"] as JsonArray)?.Any(c => c?["type"]?.GetValue<string>() == "Complete" && c["status"]?.GetValue<string>() == "True") == true;
        }, TimeSpan.FromSeconds(240), "job handover Complete after the hand-over");
        var done = (await FailoverSupport.SendAsync(http, HttpMethod.Get, $"{Jobs}/handover"))!;
        Assert.Equal(8, done["status"]!["succeeded"]!.GetValue<int>());
        Assert.Null(done["status"]!["failed"]);
        var pods = await JobPods(http, "handover");
        Assert.Equal(8, pods.Count);
        Assert.All(pods, p => Assert.Equal("Succeeded", Phase(p)));
    }
}
