using System.Text.Json.Nodes;
using AkkaKube.Actors.Controllers.Job;

namespace AkkaKube.Tests.Controllers.Job;

/// <summary>The Job controller's decisions over cached objects: counting, back-off, terminal conditions, Indexed, policies.</summary>
public class JobLogicTests
{
    private static readonly DateTime Now = new(2026, 1, 1, 12, 0, 0, DateTimeKind.Utc);
    private static readonly JobBackoff Backoff = JobBackoff.Default;

    private static JsonObject Job(string spec = "", string status = "{}")
    {
        var o = JsonNode.Parse($$$"""
        {"apiVersion":"batch/v1","kind":"Job",
         "metadata":{"name":"pi","namespace":"default","uid":"job-uid","resourceVersion":"5","creationTimestamp":"2026-01-01T11:00:00Z"},
         "spec":{"parallelism":2,"completions":5,"backoffLimit":6,"completionMode":"NonIndexed","suspend":false,
                 "template":{"metadata":{"labels":{"batch.kubernetes.io/job-name":"pi"}},"spec":{"restartPolicy":"Never","containers":[{"name":"c","image":"akkakube/echo"}]} } },
         "status":{{{status}}}}
        """)!.AsObject();
        // spec overrides (",\"key\":value" fragments) replace the defaults above
        foreach (var (k, v) in JsonNode.Parse("{" + spec.TrimStart(',') + "}")!.AsObject().ToList()) o["spec"]![k] = v?.DeepClone();
        return o;
    }

    private static int _n;

    /// <summary>A pod of the Job; finished ones end at <paramref name="finished"/> minutes before Now.</summary>
    private static JsonObject Pod(string phase, bool finalizer = true, int? index = null, int exitCode = 1, double finished = 60, bool deleting = false, string? uid = null)
    {
        var name = $"pi-{++_n}";
        var pod = new JsonObject
        {
            ["metadata"] = new JsonObject
            {
                ["name"] = name, ["namespace"] = "default", ["uid"] = uid ?? name + "-uid",
                ["creationTimestamp"] = JobLogic.Timestamp(Now.AddMinutes(-120 + _n % 50)),
                ["finalizers"] = finalizer ? new JsonArray(JobLogic.TrackingFinalizer) : new JsonArray(),
                ["annotations"] = index is { } i ? new JsonObject { [JobLogic.CompletionIndexAnnotation] = i.ToString(System.Globalization.CultureInfo.InvariantCulture) } : new JsonObject(),
                ["ownerReferences"] = new JsonArray(new JsonObject { ["apiVersion"] = "batch/v1", ["kind"] = "Job", ["name"] = "pi", ["uid"] = "job-uid", ["controller"] = true }),
            },
            ["status"] = new JsonObject { ["phase"] = phase },
        };
        if (deleting) pod["metadata"]!["deletionTimestamp"] = JobLogic.Timestamp(Now);
        if (phase is "Succeeded" or "Failed")
            pod["status"]!["containerStatuses"] = new JsonArray(new JsonObject
            {
                ["name"] = "c",
                ["state"] = new JsonObject { ["terminated"] = new JsonObject { ["exitCode"] = phase == "Succeeded" ? 0 : exitCode, ["finishedAt"] = JobLogic.Timestamp(Now.AddSeconds(-finished)) } },
            });
        return pod;
    }

    private static string Condition(JsonObject? status, string type) =>
        (status?["conditions"] as JsonArray)?.OfType<JsonObject>().FirstOrDefault(c => c["type"]!.GetValue<string>() == type)?["reason"]?.GetValue<string>() ?? "";

    private static string[] Uncounted(JsonObject status, string which) =>
        (status["uncountedTerminatedPods"]?[which] as JsonArray)?.Select(u => u!.GetValue<string>()).ToArray() ?? [];

    [Fact]
    public void A_new_job_starts_parallelism_pods_carrying_the_tracking_finalizer_labels_and_owner()
    {
        var plan = JobLogic.Decide(Job(), [], Now, Backoff, expectationsSatisfied: true);
        Assert.Equal(2, plan.Create.Count);
        var meta = plan.Create[0]["metadata"]!;
        Assert.Equal("pi-", meta["generateName"]!.GetValue<string>());
        Assert.Contains(JobLogic.TrackingFinalizer, meta["finalizers"]!.AsArray().Select(f => f!.GetValue<string>()));
        Assert.Equal("job-uid", meta["labels"]![JobLogic.ControllerUidLabel]!.GetValue<string>());
        Assert.Equal("pi", meta["labels"]![JobLogic.JobNameLabel]!.GetValue<string>());
        Assert.Equal("job-uid", meta["ownerReferences"]![0]!["uid"]!.GetValue<string>());
        Assert.Equal(JobLogic.Timestamp(Now), plan.Status!["startTime"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("no pods yet, 5 to do, parallelism 2", 0, 0, 2)]
    [InlineData("one running: one more", 1, 0, 1)]
    [InlineData("4 succeeded (counted): only one left to run", 0, 4, 1)]
    [InlineData("3 counted, 2 running: nothing to add", 2, 3, 0)]
    public void Pods_to_create_follow_completions_minus_succeeded_capped_by_parallelism(string name, int running, int succeeded, int expected)
    {
        var pods = Enumerable.Range(0, running).Select(_ => Pod("Running")).ToList();
        var plan = JobLogic.Decide(Job(status: $$"""{"succeeded":{{succeeded}},"startTime":"2026-01-01T11:00:00Z"}"""), pods, Now, Backoff, true);
        Assert.True(expected == plan.Create.Count, name);
    }

    [Fact]
    public void Unsatisfied_expectations_create_nothing()
    {
        Assert.Empty(JobLogic.Decide(Job(), [], Now, Backoff, expectationsSatisfied: false).Create);
    }

    [Fact]
    public void A_finished_pod_is_counted_once_first_as_uncounted_then_after_its_finalizer_is_gone()
    {
        var pod = Pod("Succeeded");
        var first = JobLogic.Decide(Job(), [pod], Now, Backoff, true);
        Assert.Equal([pod["metadata"]!["uid"]!.GetValue<string>()], Uncounted(first.Status!, "succeeded"));
        Assert.Null(first.Status!["succeeded"]); // Kubernetes omits zero counters
        Assert.Single(first.ReleaseFinalizer);

        // the status was stored, the finalizer not yet removed: same count, release again, no double count
        var stored = Job(status: first.Status!.ToJsonString());
        var again = JobLogic.Decide(stored, [pod], Now, Backoff, true);
        Assert.Null(again.Status);
        Assert.Single(again.ReleaseFinalizer);

        // finalizer gone: moved into succeeded
        pod["metadata"]!["finalizers"] = new JsonArray();
        var flushed = JobLogic.Decide(stored, [pod], Now, Backoff, true);
        Assert.Equal(1, flushed.Status!["succeeded"]!.GetValue<int>());
        Assert.Empty(Uncounted(flushed.Status!, "succeeded"));

        // and never again
        var done = JobLogic.Decide(Job(status: flushed.Status!.ToJsonString()), [pod], Now, Backoff, true);
        Assert.Equal(1, (done.Status ?? Job(status: flushed.Status!.ToJsonString())["status"]!.AsObject())["succeeded"]!.GetValue<int>());
    }

    [Fact]
    public void Reaching_completions_sets_success_criteria_then_complete_with_completion_time_once_nothing_runs()
    {
        var status = """{"succeeded":4,"startTime":"2026-01-01T11:00:00Z","uncountedTerminatedPods":{"succeeded":["last-uid"],"failed":[]}}""";
        var last = Pod("Succeeded", finalizer: false, uid: "last-uid");
        var plan = JobLogic.Decide(Job(status: status), [last], Now, Backoff, true);
        Assert.Equal(JobLogic.CompletionsReached, Condition(plan.Status, JobLogic.SuccessCriteriaMet));
        Assert.Equal(JobLogic.CompletionsReached, Condition(plan.Status, JobLogic.Complete));
        Assert.Equal(JobLogic.Timestamp(Now), plan.Status!["completionTime"]!.GetValue<string>());
        Assert.Equal(5, plan.Status!["succeeded"]!.GetValue<int>());
        Assert.Empty(plan.Create);
    }

    [Fact]
    public void Complete_waits_for_a_still_running_pod_which_is_deleted()
    {
        var running = Pod("Running");
        var plan = JobLogic.Decide(Job(status: """{"succeeded":5,"startTime":"2026-01-01T11:00:00Z"}"""), [running], Now, Backoff, true);
        Assert.Equal(JobLogic.CompletionsReached, Condition(plan.Status, JobLogic.SuccessCriteriaMet));
        Assert.Equal("", Condition(plan.Status, JobLogic.Complete));
        Assert.Equal([running], plan.Delete);
    }

    [Fact]
    public void More_failures_than_backoff_limit_fail_the_job_with_backoff_limit_exceeded()
    {
        var job = Job(spec: ""","backoffLimit":1""", status: """{"failed":1,"startTime":"2026-01-01T11:00:00Z"}""");
        var plan = JobLogic.Decide(job, [Pod("Failed")], Now, Backoff, true);
        Assert.Equal(JobLogic.BackoffLimitExceeded, Condition(plan.Status, JobLogic.FailureTarget));
        Assert.Empty(plan.Create);
        // counted and nothing runs: Failed
        var next = JobLogic.Decide(Job(spec: ""","backoffLimit":1""", status: """{"failed":2,"startTime":"2026-01-01T11:00:00Z","conditions":[{"type":"FailureTarget","status":"True","reason":"BackoffLimitExceeded","message":"Job has reached the specified backoff limit"}]}"""),
            [], Now, Backoff, true);
        Assert.Equal(JobLogic.BackoffLimitExceeded, Condition(next.Status, JobLogic.Failed));
        Assert.Null(next.Status!["completionTime"]);
    }

    [Fact]
    public void With_restart_policy_on_failure_container_restarts_count_against_the_backoff_limit()
    {
        var job = Job(spec: ""","backoffLimit":2""", status: """{"startTime":"2026-01-01T11:00:00Z"}""");
        job["spec"]!["template"]!["spec"]!["restartPolicy"] = "OnFailure";
        var pod = Pod("Running");
        pod["status"]!["containerStatuses"] = new JsonArray(new JsonObject { ["name"] = "c", ["restartCount"] = 3, ["state"] = new JsonObject { ["running"] = new JsonObject() } });
        var plan = JobLogic.Decide(job, [pod], Now, Backoff, true);
        Assert.Equal(JobLogic.BackoffLimitExceeded, Condition(plan.Status, JobLogic.FailureTarget));
        Assert.Equal([pod], plan.Delete);
    }

    [Theory]
    [InlineData("first failure: 10 s after it", 1, 5, 5)]
    [InlineData("second failure: 20 s", 2, 5, 15)]
    [InlineData("third failure: 40 s", 3, 5, 35)]
    [InlineData("long past: no wait", 1, 60, 0)]
    public void Replacement_pods_wait_for_the_exponential_back_off(string name, int failures, double secondsAgo, double expectedWait)
    {
        var pods = Enumerable.Range(0, failures).Select(i => Pod("Failed", finalizer: false, finished: secondsAgo + i * 0.001)).ToList();
        Assert.True(TimeSpan.FromSeconds(expectedWait) - JobLogic.BackoffRemaining(pods, Backoff, Now) < TimeSpan.FromMilliseconds(10), name);
        var plan = JobLogic.Decide(Job(status: $$"""{"failed":{{failures}},"startTime":"2026-01-01T11:00:00Z"}"""), pods, Now, Backoff, true);
        if (expectedWait > 0)
        {
            Assert.Empty(plan.Create);
            Assert.NotNull(plan.RequeueAfter);
        }
        else Assert.Equal(2, plan.Create.Count);
    }

    [Theory]
    [InlineData(1, 10)]
    [InlineData(2, 20)]
    [InlineData(6, 320)]
    [InlineData(7, 360)]
    [InlineData(30, 360)]
    public void Back_off_doubles_from_10_seconds_to_a_6_minute_cap(int failures, int seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), JobBackoff.Default.After(failures));

    [Fact]
    public void Active_deadline_fails_the_job_and_deletes_its_pods()
    {
        var running = Pod("Running");
        var job = Job(spec: ""","activeDeadlineSeconds":60""", status: """{"startTime":"2026-01-01T11:58:00Z"}""");
        var plan = JobLogic.Decide(job, [running], Now, Backoff, true);
        Assert.Equal(JobLogic.DeadlineExceeded, Condition(plan.Status, JobLogic.FailureTarget));
        Assert.Equal([running], plan.Delete);
        var before = JobLogic.Decide(Job(spec: ""","activeDeadlineSeconds":600""", status: """{"startTime":"2026-01-01T11:58:00Z"}"""), [running], Now, Backoff, true);
        Assert.Equal(TimeSpan.FromSeconds(480), before.RequeueAfter);
    }

    [Theory]
    [InlineData("exit code 42 in FailJob list", """[{"action":"FailJob","onExitCodes":{"operator":"In","values":[42]}}]""", 42, "FailJob")]
    [InlineData("exit code 1 not in FailJob list", """[{"action":"FailJob","onExitCodes":{"operator":"In","values":[42]}}]""", 1, null)]
    [InlineData("NotIn matches everything else", """[{"action":"Ignore","onExitCodes":{"operator":"NotIn","values":[1]}}]""", 3, "Ignore")]
    [InlineData("first matching rule wins", """[{"action":"Count","onExitCodes":{"operator":"In","values":[5]}},{"action":"FailJob","onExitCodes":{"operator":"In","values":[5]}}]""", 5, "Count")]
    [InlineData("other container name does not match", """[{"action":"FailJob","onExitCodes":{"containerName":"other","operator":"In","values":[42]}}]""", 42, null)]
    public void Pod_failure_policy_rules_match_on_exit_codes(string name, string rules, int exitCode, string? expected)
    {
        var job = Job(spec: $$""","podFailurePolicy":{"rules":{{rules}}}""");
        Assert.True(expected == JobLogic.MatchFailurePolicy(job, Pod("Failed", exitCode: exitCode)).Action, name);
    }

    [Fact]
    public void Pod_failure_policy_matches_the_disruption_target_condition_and_ignored_pods_do_not_count()
    {
        var job = Job(spec: ""","podFailurePolicy":{"rules":[{"action":"Ignore","onPodConditions":[{"type":"DisruptionTarget"}]}]}""");
        var pod = Pod("Failed");
        pod["status"]!["conditions"] = new JsonArray(new JsonObject { ["type"] = "DisruptionTarget", ["status"] = "True" });
        var plan = JobLogic.Decide(job, [pod], Now, Backoff, true);
        Assert.Equal([pod], plan.ReleaseFinalizer);
        Assert.Empty(Uncounted(plan.Status!, "failed"));
    }

    [Fact]
    public void A_fail_job_rule_fails_the_job_with_reason_pod_failure_policy()
    {
        var job = Job(spec: ""","podFailurePolicy":{"rules":[{"action":"FailJob","onExitCodes":{"operator":"In","values":[42]}}]}""");
        var plan = JobLogic.Decide(job, [Pod("Failed", exitCode: 42), Pod("Running")], Now, Backoff, true);
        Assert.Equal(JobLogic.PodFailurePolicyReason, Condition(plan.Status, JobLogic.FailureTarget));
        Assert.Single(plan.Delete);
    }

    [Fact]
    public void Indexed_jobs_create_the_lowest_pending_indexes_with_annotation_hostname_and_env()
    {
        var job = Job(spec: ""","completionMode":"Indexed","parallelism":3""", status: """{"completedIndexes":"0,2","startTime":"2026-01-01T11:00:00Z"}""");
        var plan = JobLogic.Decide(job, [Pod("Running", index: 1)], Now, Backoff, true);
        Assert.Equal(["3", "4"], plan.Create.Select(p => p["metadata"]!["annotations"]![JobLogic.CompletionIndexAnnotation]!.GetValue<string>()));
        var pod = plan.Create[0];
        Assert.Equal("pi-3-", pod["metadata"]!["generateName"]!.GetValue<string>());
        Assert.Equal("pi-3", pod["spec"]!["hostname"]!.GetValue<string>());
        var env = pod["spec"]!["containers"]![0]!["env"]![0]!;
        Assert.Equal(JobLogic.CompletionIndexEnv, env["name"]!.GetValue<string>());
        Assert.Equal($"metadata.annotations['{JobLogic.CompletionIndexAnnotation}']", env["valueFrom"]!["fieldRef"]!["fieldPath"]!.GetValue<string>());
    }

    [Fact]
    public void Indexed_success_records_completed_indexes_and_completes_when_all_are_done()
    {
        var job = Job(spec: ""","completionMode":"Indexed","completions":3""", status: """{"completedIndexes":"0,2","succeeded":2,"startTime":"2026-01-01T11:00:00Z"}""");
        var plan = JobLogic.Decide(job, [Pod("Succeeded", index: 1)], Now, Backoff, true);
        Assert.Equal("0-2", plan.Status!["completedIndexes"]!.GetValue<string>());
        Assert.Equal(JobLogic.CompletionsReached, Condition(plan.Status, JobLogic.SuccessCriteriaMet));
    }

    [Fact]
    public void An_indexed_pod_for_a_completed_index_or_a_duplicate_index_is_surplus()
    {
        var job = Job(spec: ""","completionMode":"Indexed","parallelism":5""", status: """{"completedIndexes":"0","startTime":"2026-01-01T11:00:00Z"}""");
        var done = Pod("Running", index: 0);
        var a = Pod("Running", index: 1);
        var dup = Pod("Running", index: 1);
        var plan = JobLogic.Decide(job, [done, a, dup], Now, Backoff, true);
        Assert.Equal(2, plan.Delete.Count);
        Assert.DoesNotContain(a, plan.Delete);
    }

    [Theory]
    [InlineData("", new int[0])]
    [InlineData("1,3-5,7", new[] { 1, 3, 4, 5, 7 })]
    [InlineData("0-2", new[] { 0, 1, 2 })]
    [InlineData("1,2,4-6", new[] { 1, 2, 4, 5, 6 })]
    public void Completed_indexes_round_trip_in_kubernetes_interval_form(string text, int[] indexes)
    {
        Assert.Equal(indexes, JobLogic.ParseIndexes(text));
        Assert.Equal(text, JobLogic.FormatIndexes(indexes));
    }

    [Fact]
    public void Suspending_deletes_active_pods_without_counting_them_and_resuming_restarts_the_clock()
    {
        var running = Pod("Running");
        var plan = JobLogic.Decide(Job(spec: ""","suspend":true""", status: """{"startTime":"2026-01-01T11:00:00Z"}"""), [running], Now, Backoff, true);
        Assert.Equal("JobSuspended", Condition(plan.Status, JobLogic.Suspended));
        Assert.Equal([running], plan.Delete);
        running["metadata"]!["deletionTimestamp"] = JobLogic.Timestamp(Now);
        var stillSuspended = JobLogic.Decide(Job(spec: ""","suspend":true""", status: plan.Status!.ToJsonString()), [running], Now, Backoff, true);
        Assert.Empty(Uncounted(stillSuspended.Status ?? plan.Status!, "failed"));
        var resumed = JobLogic.Decide(Job(status: plan.Status!.ToJsonString()), [], Now.AddMinutes(5), Backoff, true);
        Assert.Equal("JobResumed", Condition(resumed.Status, JobLogic.Suspended));
        Assert.Equal(JobLogic.Timestamp(Now.AddMinutes(5)), resumed.Status!["startTime"]!.GetValue<string>());
        Assert.Equal(2, resumed.Create.Count);
    }

    [Fact]
    public void A_finished_job_past_its_ttl_is_deleted_and_before_it_is_requeued()
    {
        var status = """{"succeeded":5,"completionTime":"2026-01-01T11:59:00Z","conditions":[{"type":"Complete","status":"True","reason":"CompletionsReached"}]}""";
        Assert.True(JobLogic.Decide(Job(spec: ""","ttlSecondsAfterFinished":30""", status: status), [], Now, Backoff, true).DeleteJob);
        var early = JobLogic.Decide(Job(spec: ""","ttlSecondsAfterFinished":100""", status: status), [], Now, Backoff, true);
        Assert.False(early.DeleteJob);
        Assert.Equal(TimeSpan.FromSeconds(40), early.RequeueAfter);
    }

    [Fact]
    public void A_work_queue_job_without_completions_completes_after_one_success_once_nothing_runs()
    {
        var job = JsonNode.Parse(Job().ToJsonString())!.AsObject();
        job["spec"]!.AsObject().Remove("completions");
        var status = """{"succeeded":1,"startTime":"2026-01-01T11:00:00Z"}""";
        job["status"] = JsonNode.Parse(status);
        var running = Pod("Running");
        var plan = JobLogic.Decide(job, [running], Now, Backoff, true);
        Assert.Empty(plan.Create);
        Assert.Equal("", Condition(plan.Status, JobLogic.SuccessCriteriaMet));
        var done = JobLogic.Decide(job, [], Now, Backoff, true);
        Assert.Equal(JobLogic.CompletionsReached, Condition(done.Status, JobLogic.Complete));
    }
}
