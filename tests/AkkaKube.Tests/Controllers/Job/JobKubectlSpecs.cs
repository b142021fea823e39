using System.Text.Json.Nodes;
using AkkaKube.Tests.Failover;
using AkkaKube.Tests.Infrastructure;
using AkkaKube.Tests.Kubectl;

namespace AkkaKube.Tests.Controllers.Job;

/// <summary>
/// Jobs and CronJobs on a real multi-process cluster (pods are host processes on the worker) through the real kubectl:
/// completions with parallelism, an Indexed Job reading its index, backoffLimit, podFailurePolicy, a CronJob every
/// minute with its history limit, and `kubectl create job --from=cronjob/…`.
/// </summary>
public sealed class JobKubectlSpecs(JobKubectlSpecs.Cluster cluster) : IClassFixture<JobKubectlSpecs.Cluster>
{
    public sealed class Cluster : LocalCluster
    {
        public override int Workers => 1;

        public Task<ProcessResult> KubectlAsync(params string[] args) =>
            ProcessRunner.RunAsync("kubectl", ["--cache-dir", Path.Combine(DataDirectory, "kubectl-cache"), .. args], TimeSpan.FromSeconds(240),
                env: new Dictionary<string, string> { ["KUBECONFIG"] = KubeconfigPath, ["HOME"] = DataDirectory });
    }

    private static void SkipWithoutKubectl() => Skip.If(KubectlRunner.KubectlPath is null, "kubectl is not on PATH");

    private async Task<string> Kubectl(params string[] args)
    {
        var r = await cluster.KubectlAsync(args);
        Assert.True(r.ExitCode == 0, $"kubectl {string.Join(' ', args)} exited {r.ExitCode}: {r.Stderr}{r.Stdout}");
        return r.Stdout;
    }

    private async Task Apply(string name, string manifest)
    {
        var file = Path.Combine(cluster.DataDirectory, name + ".yaml");
        await File.WriteAllTextAsync(file, manifest);
        // the first write of a kind waits for its store partition to start; kubectl apply does not retry a 504
        await FailoverSupport.EventuallyAsync(async () => (await cluster.KubectlAsync("apply", "-f", file)).ExitCode == 0,
            TimeSpan.FromSeconds(60), $"kubectl apply {name}");
    }

    private static string Job(string name, string command, string spec = "", string podSpec = "") => $$"""
        apiVersion: batch/v1
        kind: Job
        metadata: {name: {{name}}}
        spec:
        {{spec}}
          template:
            spec:
              restartPolicy: Never
              terminationGracePeriodSeconds: 2
        {{podSpec}}
              containers:
              - name: work
                image: busybox
                command: ["sh", "-c", "{{command}}"]
        """;

    private async Task<List<JsonObject>> Items(string kind, string selector)
    {
        var json = await Kubectl("get", kind, "-l", selector, "-o", "json");
        return JsonNode.Parse(json)!["items"]!.AsArray().OfType<JsonObject>().ToList();
    }

    private static string S(JsonNode? n) => n?.GetValue<string>() ?? "";

    [SkippableFact]
    public async Task A_job_of_5_completions_with_parallelism_2_completes_with_exactly_5_pods_and_kubectl_wait_sees_it()
    {
        SkipWithoutKubectl();
        await Apply("five", Job("five", "echo done; sleep 1", "  completions: 5\n  parallelism: 2"));
        await Kubectl("wait", "--for=condition=complete", "job/five", "--timeout=180s");
        var job = JsonNode.Parse(await Kubectl("get", "job", "five", "-o", "json"))!;
        Assert.Equal(5, job["status"]!["succeeded"]!.GetValue<int>());
        Assert.Null(job["status"]!["failed"]); // Kubernetes omits zero counters
        Assert.NotNull(job["status"]!["completionTime"]);
        // finished pods are kept, exactly one per completion, none left holding the tracking finalizer
        var pods = await Items("pods", "batch.kubernetes.io/job-name=five");
        Assert.Equal(5, pods.Count);
        Assert.All(pods, p => Assert.Equal("Succeeded", S(p["status"]!["phase"])));
        Assert.All(pods, p => Assert.DoesNotContain("batch.kubernetes.io/job-tracking", p["metadata"]!["finalizers"]?.AsArray().Select(S) ?? []));
        Assert.All(pods, p => Assert.Equal(S(job["metadata"]!["uid"]), S(p["metadata"]!["labels"]!["batch.kubernetes.io/controller-uid"])));
        var table = await Kubectl("get", "jobs", "five");
        Assert.Matches(@"NAME\s+STATUS\s+COMPLETIONS\s+DURATION\s+AGE", table);
        Assert.Matches(@"five\s+Complete\s+5/5\s+", table);
    }

    [SkippableFact]
    public async Task An_indexed_job_gives_each_pod_its_completion_index_and_records_completed_indexes()
    {
        SkipWithoutKubectl();
        await Apply("indexed", Job("indexed", "echo index=$JOB_COMPLETION_INDEX", "  completions: 3\n  parallelism: 3\n  completionMode: Indexed"));
        await Kubectl("wait", "--for=condition=complete", "job/indexed", "--timeout=180s");
        Assert.Equal("0-2", await Kubectl("get", "job", "indexed", "-o", "jsonpath={.status.completedIndexes}"));
        var seen = new List<string>();
        foreach (var pod in await Items("pods", "batch.kubernetes.io/job-name=indexed"))
        {
            var index = S(pod["metadata"]!["annotations"]!["batch.kubernetes.io/job-completion-index"]);
            Assert.Equal($"indexed-{index}", S(pod["spec"]!["hostname"]));
            var log = (await Kubectl("logs", S(pod["metadata"]!["name"]))).Trim();
            Assert.Equal($"index={index}", log);
            seen.Add(index);
        }
        Assert.Equal(["0", "1", "2"], seen.Order());
    }

    [SkippableFact]
    public async Task A_failing_job_is_retried_with_back_off_and_fails_after_its_backoff_limit()
    {
        SkipWithoutKubectl();
        await Apply("failing", Job("failing", "exit 3", "  backoffLimit: 1"));
        await Kubectl("wait", "--for=condition=failed", "job/failing", "--timeout=180s");
        var job = JsonNode.Parse(await Kubectl("get", "job", "failing", "-o", "json"))!;
        Assert.Equal(2, job["status"]!["failed"]!.GetValue<int>());
        var failed = job["status"]!["conditions"]!.AsArray().Single(c => S(c!["type"]) == "Failed");
        Assert.Equal("BackoffLimitExceeded", S(failed!["reason"]));
        Assert.Equal(2, (await Items("pods", "batch.kubernetes.io/job-name=failing")).Count);
        Assert.Matches(@"failing\s+Failed\s+0/1\s+", await Kubectl("get", "jobs", "failing"));
    }

    [SkippableFact]
    public async Task A_pod_failure_policy_fail_job_rule_ends_the_job_at_the_first_matching_exit_code()
    {
        SkipWithoutKubectl();
        await Apply("policy", Job("policy", "exit 42", """
              backoffLimit: 6
              podFailurePolicy:
                rules:
                - action: FailJob
                  onExitCodes: {operator: In, values: [42]}
            """));
        await Kubectl("wait", "--for=condition=failed", "job/policy", "--timeout=120s");
        var job = JsonNode.Parse(await Kubectl("get", "job", "policy", "-o", "json"))!;
        var failed = job["status"]!["conditions"]!.AsArray().Single(c => S(c!["type"]) == "Failed");
        Assert.Equal("PodFailurePolicy", S(failed!["reason"]));
        Assert.Contains("exit code 42", S(failed!["message"]));
        Assert.Single(await Items("pods", "batch.kubernetes.io/job-name=policy"));
    }

    [SkippableFact]
    public async Task Job_controller_crashes_mid_run_neither_create_extra_pods_nor_count_a_pod_twice()
    {
        SkipWithoutKubectl();
        await Apply("sturdy", Job("sturdy", "sleep 2", "  completions: 6\n  parallelism: 3"));
        async Task<int> Pods(string? phase = null) =>
            (await Items("pods", "batch.kubernetes.io/job-name=sturdy")).Count(p => phase is null || S(p["status"]?["phase"]) == phase);
        await FailoverSupport.EventuallyAsync(async () => await Pods() >= 1, TimeSpan.FromSeconds(90), "the first pods of job sturdy");
        await cluster.CmdAsync("cp-1", "chaos", "crash", "job"); // restarted alone, it re-lists and resumes from the stored status
        await FailoverSupport.EventuallyAsync(async () => await Pods("Succeeded") >= 2, TimeSpan.FromSeconds(120), "two pods of job sturdy succeeded");
        await cluster.CmdAsync("cp-1", "chaos", "crash", "job");
        await Kubectl("wait", "--for=condition=complete", "job/sturdy", "--timeout=180s");
        Assert.Equal(6, await Pods());
        Assert.Equal(6, await Pods("Succeeded"));
        Assert.Equal("6", await Kubectl("get", "job", "sturdy", "-o", "jsonpath={.status.succeeded}"));
        Assert.Equal("", await Kubectl("get", "job", "sturdy", "-o", "jsonpath={.status.failed}"));
    }

    private static string CronJob(string name, string schedule, string extra = "") => $$"""
        apiVersion: batch/v1
        kind: CronJob
        metadata: {name: {{name}}}
        spec:
          schedule: "{{schedule}}"
        {{extra}}
          jobTemplate:
            metadata:
              labels: {cron: {{name}}}
            spec:
              template:
                metadata:
                  labels: {cron: {{name}}}
                spec:
                  restartPolicy: Never
                  containers:
                  - name: tick
                    image: busybox
                    command: ["sh", "-c", "echo tick"]
        """;

    [SkippableFact]
    public async Task Kubectl_create_job_from_a_cronjob_runs_its_template_as_a_manual_job_owned_by_the_cronjob()
    {
        SkipWithoutKubectl();
        await Apply("yearly", CronJob("yearly", "0 0 1 1 *"));
        await Kubectl("create", "job", "yearly-now", "--from=cronjob/yearly");
        await Kubectl("wait", "--for=condition=complete", "job/yearly-now", "--timeout=180s");
        var job = JsonNode.Parse(await Kubectl("get", "job", "yearly-now", "-o", "json"))!;
        Assert.Equal("manual", S(job["metadata"]!["annotations"]!["cronjob.kubernetes.io/instantiate"]));
        var owner = job["metadata"]!["ownerReferences"]![0]!;
        Assert.Equal("CronJob", S(owner["kind"]));
        Assert.Equal("yearly", S(owner["name"]));
        Assert.Equal("yearly", S(job["spec"]!["template"]!["metadata"]!["labels"]!["cron"]));
    }

    [SkippableFact]
    public async Task An_unknown_time_zone_or_a_non_standard_schedule_is_refused_by_the_apiserver()
    {
        SkipWithoutKubectl();
        await Apply("valid", CronJob("valid", "@hourly", "  timeZone: Europe/Berlin"));
        var file = Path.Combine(cluster.DataDirectory, "invalid.yaml");
        await File.WriteAllTextAsync(file, CronJob("mars", "0 0 L * *", "  timeZone: Mars/Olympus_Mons"));
        var r = await cluster.KubectlAsync("apply", "-f", file);
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("The CronJob \"mars\" is invalid", r.Stderr);
        Assert.Contains("spec.timeZone: Invalid value: \"Mars/Olympus_Mons\": unknown time zone Mars/Olympus_Mons", r.Stderr);
        Assert.Contains("spec.schedule: Invalid value: \"0 0 L * *\"", r.Stderr);
        Assert.Equal("Europe/Berlin", await Kubectl("get", "cronjob", "valid", "-o", "jsonpath={.spec.timeZone}"));
    }

    [SkippableFact]
    public async Task A_cronjob_every_minute_creates_jobs_on_schedule_and_keeps_only_its_history_limit()
    {
        SkipWithoutKubectl();
        await Apply("every", CronJob("every", "*/1 * * * *", "  successfulJobsHistoryLimit: 1\n  failedJobsHistoryLimit: 1"));
        var created = new HashSet<string>(StringComparer.Ordinal);
        // Three scheduled runs take up to three minutes of wall time; the history limit keeps the newest finished one.
        await FailoverSupport.EventuallyAsync(async () =>
        {
            foreach (var j in await Items("jobs", "cron=every")) created.Add(S(j["metadata"]!["name"]));
            return created.Count >= 3;
        }, TimeSpan.FromMinutes(5), "three scheduled jobs of cronjob every");
        var minutes = created.Select(n => long.Parse(n["every-".Length..], System.Globalization.CultureInfo.InvariantCulture)).Order().ToList();
        Assert.True(minutes.Zip(minutes.Skip(1)).All(p => p.Item2 > p.Item1), string.Join(", ", created));
        var lastSchedule = DateTime.Parse(await Kubectl("get", "cronjob", "every", "-o", "jsonpath={.status.lastScheduleTime}"),
            System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AdjustToUniversal);
        Assert.Equal(0, lastSchedule.Second);
        await FailoverSupport.EventuallyAsync(async () =>
        {
            var jobs = await Items("jobs", "cron=every");
            var complete = jobs.Count(j => j["status"]?["conditions"]?.AsArray().Any(c => S(c!["type"]) == "Complete" && S(c!["status"]) == "True") == true);
            return complete == 1 && jobs.Count <= 2;
        }, TimeSpan.FromSeconds(90), "successful history trimmed to 1");
        Assert.Matches(@"every\s+\*/1 \* \* \* \*\s+<none>\s+False\s+\d+\s+\S+\s+", await Kubectl("get", "cronjobs", "every"));
        await Kubectl("delete", "cronjob", "every");
    }
}
