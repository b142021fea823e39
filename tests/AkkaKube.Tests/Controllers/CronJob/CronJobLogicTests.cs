using System.Globalization;
using System.Text.Json.Nodes;
using AkkaKube.Actors.Controllers.CronJob;
using AkkaKube.Actors.Controllers.Job;

namespace AkkaKube.Tests.Controllers.CronJob;

/// <summary>Cron schedules (syntax, next times, time zones and DST) and the CronJob controller's decisions.</summary>
public class CronJobLogicTests
{
    private static DateTime Utc(string s) => DateTime.Parse(s, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);

    [Theory]
    [InlineData("every minute", "* * * * *", "2026-03-04T10:15:30Z", "2026-03-04T10:16:00Z")]
    [InlineData("step", "*/15 * * * *", "2026-03-04T10:15:00Z", "2026-03-04T10:30:00Z")]
    [InlineData("range with step", "10-40/10 * * * *", "2026-03-04T10:35:00Z", "2026-03-04T10:40:00Z")]
    [InlineData("list", "5,50 9 * * *", "2026-03-04T09:06:00Z", "2026-03-04T09:50:00Z")]
    [InlineData("month names", "0 0 1 JAN,jul *", "2026-03-04T00:00:00Z", "2026-07-01T00:00:00Z")]
    [InlineData("day names, weekdays only", "30 8 * * MON-FRI", "2026-03-06T09:00:00Z", "2026-03-09T08:30:00Z")]
    [InlineData("both day fields restricted: either matches (the 13th or a Friday)", "0 0 13 * FRI", "2026-03-07T00:00:00Z", "2026-03-13T00:00:00Z")]
    [InlineData("both day fields restricted: a Friday comes first", "0 0 20 * FRI", "2026-03-07T00:00:00Z", "2026-03-13T00:00:00Z")]
    [InlineData("day-of-month step restricts the day field (OR with Sunday)", "0 0 */10 * SUN", "2026-03-02T00:00:00Z", "2026-03-08T00:00:00Z")]
    [InlineData("question mark is unrestricted", "0 12 ? * *", "2026-03-04T12:00:00Z", "2026-03-05T12:00:00Z")]
    [InlineData("@hourly", "@hourly", "2026-03-04T10:15:00Z", "2026-03-04T11:00:00Z")]
    [InlineData("@daily", "@daily", "2026-03-04T10:15:00Z", "2026-03-05T00:00:00Z")]
    [InlineData("@midnight", "@midnight", "2026-03-04T10:15:00Z", "2026-03-05T00:00:00Z")]
    [InlineData("@weekly (Sunday)", "@weekly", "2026-03-04T10:15:00Z", "2026-03-08T00:00:00Z")]
    [InlineData("@monthly", "@monthly", "2026-03-04T10:15:00Z", "2026-04-01T00:00:00Z")]
    [InlineData("@yearly", "@yearly", "2026-03-04T10:15:00Z", "2027-01-01T00:00:00Z")]
    [InlineData("@annually", "@annually", "2026-03-04T10:15:00Z", "2027-01-01T00:00:00Z")]
    [InlineData("@every 90m", "@every 1h30m", "2026-03-04T10:15:00Z", "2026-03-04T11:45:00Z")]
    [InlineData("Feb 29 waits for a leap year", "0 0 29 2 *", "2026-03-04T00:00:00Z", "2028-02-29T00:00:00Z")]
    public void Next_times_in_utc(string name, string schedule, string after, string expected)
    {
        var s = CronSchedule.Parse(schedule);
        Assert.True(Utc(expected) == s.Next(Utc(after), TimeZoneInfo.Utc), $"{name}: got {s.Next(Utc(after), TimeZoneInfo.Utc):O}");
    }

    [Theory]
    [InlineData("0 9 * * *", "America/New_York", "2026-01-10T00:00:00Z", "2026-01-10T14:00:00Z")] // EST = UTC-5
    [InlineData("0 9 * * *", "America/New_York", "2026-07-10T00:00:00Z", "2026-07-10T13:00:00Z")] // EDT = UTC-4
    [InlineData("0 9 * * *", "Asia/Kolkata", "2026-07-10T00:00:00Z", "2026-07-10T03:30:00Z")]
    // spring forward in New York (2026-03-08 02:00 → 03:00): 02:30 does not exist and is skipped, as Kubernetes' cron library does
    [InlineData("30 2 * * *", "America/New_York", "2026-03-08T05:00:00Z", "2026-03-09T06:30:00Z")]
    [InlineData("0 * * * *", "America/New_York", "2026-03-08T06:30:00Z", "2026-03-08T07:00:00Z")]
    // fall back (2026-11-01 02:00 → 01:00): 01:30 happens twice, a daily job runs once
    [InlineData("30 1 * * *", "America/New_York", "2026-11-01T05:00:00Z", "2026-11-01T05:30:00Z")]
    [InlineData("30 1 * * *", "America/New_York", "2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z")]
    public void Next_times_in_a_time_zone_across_daylight_saving(string schedule, string zone, string after, string expected)
    {
        var next = CronSchedule.Parse(schedule).Next(Utc(after), CronSchedule.FindZone(zone)!);
        Assert.True(Utc(expected) == next, $"got {next:O}");
    }

    [Theory]
    [InlineData("* * * *", "expected exactly 5 fields")]
    [InlineData("* * * * * *", "expected exactly 5 fields")]
    [InlineData("61 * * * *", "")]
    [InlineData("* * * FOO *", "failed to parse")]
    [InlineData("0 0 L * *", "failed to parse")]
    [InlineData("0 0 * * 5#3", "failed to parse")]
    [InlineData("@fortnightly", "unrecognized descriptor")]
    [InlineData("TZ=UTC * * * * *", "use timeZone field")]
    [InlineData("@every soon", "failed to parse duration")]
    public void Invalid_schedules_are_refused_with_a_reason(string schedule, string reason)
    {
        Assert.False(CronSchedule.TryParse(schedule, out _, out var error));
        Assert.Contains(reason, error);
    }

    [Theory]
    [InlineData("Europe/Berlin", true)]
    [InlineData("UTC", true)]
    [InlineData("Mars/Olympus_Mons", false)]
    [InlineData("Local", false)]
    [InlineData("", false)]
    public void Time_zones_are_iana_names(string zone, bool valid) => Assert.Equal(valid, CronSchedule.FindZone(zone) is not null);

    [Fact]
    public void The_most_recent_missed_time_is_found_and_missed_runs_counted_even_over_a_long_gap()
    {
        var s = CronSchedule.Parse("*/1 * * * *");
        var (recent, missed, next) = s.MostRecent(Utc("2026-03-04T10:00:30Z"), Utc("2026-03-04T10:03:10Z"), TimeZoneInfo.Utc);
        Assert.Equal(Utc("2026-03-04T10:03:00Z"), recent);
        Assert.Equal(3, missed);
        Assert.Equal(Utc("2026-03-04T10:04:00Z"), next);
        var (longRecent, longMissed, _) = s.MostRecent(Utc("2026-01-01T00:00:00Z"), Utc("2026-03-04T10:03:10Z"), TimeZoneInfo.Utc);
        Assert.Equal(Utc("2026-03-04T10:03:00Z"), longRecent);
        Assert.True(longMissed > CronJobLogic.MissedLimit);
    }

    // ---- the controller's decisions ----

    private static readonly DateTime Now = Utc("2026-03-04T10:03:05Z");

    private static JsonObject CronJob(string spec = "", string status = "{}")
    {
        var o = JsonNode.Parse($$$"""
        {"apiVersion":"batch/v1","kind":"CronJob",
         "metadata":{"name":"tick","namespace":"default","uid":"cj-uid","creationTimestamp":"2026-03-04T10:00:30Z"},
         "spec":{"schedule":"*/1 * * * *","concurrencyPolicy":"Allow","suspend":false,"successfulJobsHistoryLimit":3,"failedJobsHistoryLimit":1,
                 "jobTemplate":{"metadata":{"labels":{"app":"tick"}},"spec":{"template":{"spec":{"restartPolicy":"Never","containers":[{"name":"c","image":"akkakube/echo"}]} } } }},
         "status":{{{status}}}}
        """)!.AsObject();
        // spec overrides (",\"key\":value" fragments) replace the defaults above
        foreach (var (k, v) in JsonNode.Parse("{" + spec.TrimStart(',') + "}")!.AsObject().ToList()) o["spec"]![k] = v?.DeepClone();
        return o;
    }

    private static JsonObject Job(string scheduled, string? condition = null, string? uid = null)
    {
        var t = Utc(scheduled);
        var job = new JsonObject
        {
            ["metadata"] = new JsonObject
            {
                ["name"] = CronJobLogic.JobName("tick", t), ["namespace"] = "default", ["uid"] = uid ?? "uid-" + scheduled,
                ["creationTimestamp"] = JobLogic.Timestamp(t),
                ["ownerReferences"] = new JsonArray(new JsonObject { ["kind"] = "CronJob", ["name"] = "tick", ["uid"] = "cj-uid", ["controller"] = true }),
            },
            ["status"] = new JsonObject { ["startTime"] = JobLogic.Timestamp(t) },
        };
        if (condition is not null)
        {
            job["status"]!["conditions"] = new JsonArray(new JsonObject { ["type"] = condition, ["status"] = "True" });
            if (condition == "Complete") job["status"]!["completionTime"] = JobLogic.Timestamp(t.AddSeconds(5));
        }
        return job;
    }

    private static string Ref(JsonObject job) =>
        $$"""{"apiVersion":"batch/v1","kind":"Job","name":"{{job["metadata"]!["name"]}}","namespace":"default","uid":"{{job["metadata"]!["uid"]}}"}""";

    [Fact]
    public void Job_names_are_the_cronjob_name_and_the_scheduled_minutes_since_the_epoch() =>
        Assert.Equal("tick-29543643", CronJobLogic.JobName("tick", Utc("2026-03-04T10:03:00Z")));

    [Fact]
    public void The_most_recent_due_time_gets_a_job_from_the_template_owned_by_the_cronjob_and_the_next_time_is_awaited()
    {
        var plan = CronJobLogic.Decide(CronJob(), [], Now);
        Assert.Equal(Utc("2026-03-04T10:03:00Z"), plan.ScheduledTime);
        var meta = plan.Create!["metadata"]!;
        Assert.Equal("tick-29543643", meta["name"]!.GetValue<string>());
        Assert.Equal("2026-03-04T10:03:00Z", meta["annotations"]![CronJobLogic.ScheduledTimestampAnnotation]!.GetValue<string>());
        Assert.Equal("tick", meta["labels"]!["app"]!.GetValue<string>());
        Assert.Equal("CronJob", meta["ownerReferences"]![0]!["kind"]!.GetValue<string>());
        Assert.Equal("2026-03-04T10:03:00Z", plan.Status!["lastScheduleTime"]!.GetValue<string>());
        Assert.Equal(TimeSpan.FromSeconds(55) + CronJobLogic.Slack, plan.RequeueAfter);
    }

    [Fact]
    public void A_job_for_that_time_that_exists_already_is_not_created_again()
    {
        var plan = CronJobLogic.Decide(CronJob(), [Job("2026-03-04T10:03:00Z")], Now);
        Assert.Null(plan.Create);
        Assert.Equal("2026-03-04T10:03:00Z", plan.Status!["lastScheduleTime"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("Allow", true, 0)]
    [InlineData("Forbid", false, 0)]
    [InlineData("Replace", true, 1)]
    public void Concurrency_policy_with_a_job_still_running(string policy, bool creates, int deletes)
    {
        var running = Job("2026-03-04T10:02:00Z");
        var cj = CronJob(spec: $$""","concurrencyPolicy":"{{policy}}" """, status: $$"""{"lastScheduleTime":"2026-03-04T10:02:00Z","active":[{{Ref(running)}}]}""");
        var plan = CronJobLogic.Decide(cj, [running], Now);
        Assert.Equal(creates, plan.Create is not null);
        Assert.Equal(deletes, plan.Delete.Count);
        if (policy == "Replace") Assert.DoesNotContain(plan.Status!["active"]?.AsArray() ?? [], r => r!["name"]!.GetValue<string>() == "tick-29543642");
    }

    [Fact]
    public void Suspended_cronjobs_start_nothing()
    {
        Assert.Null(CronJobLogic.Decide(CronJob(spec: ""","suspend":true"""), [], Now).Create);
    }

    [Fact]
    public void A_time_missed_by_more_than_starting_deadline_seconds_is_skipped()
    {
        var late = Utc("2026-03-04T10:03:50Z");
        var plan = CronJobLogic.Decide(CronJob(spec: ""","startingDeadlineSeconds":30"""), [], late);
        Assert.Null(plan.Create);
        Assert.NotNull(CronJobLogic.Decide(CronJob(spec: ""","startingDeadlineSeconds":60"""), [], late).Create);
    }

    [Fact]
    public void Finished_jobs_leave_active_update_last_successful_time_and_beyond_the_history_limits_are_deleted()
    {
        var ok = new[] { "10:00", "10:01", "10:02" }.Select(m => Job($"2026-03-04T{m}:00Z", "Complete")).ToList();
        var bad = new[] { "09:58", "09:59" }.Select(m => Job($"2026-03-04T{m}:00Z", "Failed")).ToList();
        var cj = CronJob(spec: ""","successfulJobsHistoryLimit":2""",
            status: $$"""{"lastScheduleTime":"2026-03-04T10:03:00Z","active":[{{Ref(ok[2])}}]}""");
        var plan = CronJobLogic.Decide(cj, [.. ok, .. bad], Now);
        Assert.Null(plan.Status!["active"]);
        Assert.Equal("2026-03-04T10:02:05Z", plan.Status!["lastSuccessfulTime"]!.GetValue<string>());
        Assert.Equal([ok[0], bad[0]], plan.Delete.OrderBy(j => j["metadata"]!["name"]!.GetValue<string>()).Reverse().ToList());
        Assert.Contains(plan.Events, e => e.Reason == "SawCompletedJob");
    }

    [Fact]
    public void An_active_job_the_cache_does_not_know_is_verified_before_anything_is_started()
    {
        var cj = CronJob(status: """{"lastScheduleTime":"2026-03-04T10:02:00Z","active":[{"kind":"Job","name":"tick-29543642","uid":"x"}]}""");
        var plan = CronJobLogic.Decide(cj, [], Now);
        Assert.Equal(["tick-29543642"], plan.Unverified);
        Assert.Null(plan.Create);
    }

    [Fact]
    public void A_time_zone_shifts_the_schedule_and_the_scheduled_timestamp_annotation_carries_its_offset()
    {
        var cj = CronJob(spec: ""","timeZone":"Asia/Kolkata" """);
        cj["spec"]!["schedule"] = "30 15 * * *";
        cj["metadata"]!["creationTimestamp"] = "2026-03-04T00:00:00Z";
        var plan = CronJobLogic.Decide(cj, [], Now); // 15:30 IST = 10:00 UTC
        Assert.Equal(Utc("2026-03-04T10:00:00Z"), plan.ScheduledTime);
        Assert.Equal("2026-03-04T15:30:00+05:30", plan.Create!["metadata"]!["annotations"]![CronJobLogic.ScheduledTimestampAnnotation]!.GetValue<string>());
    }

    [Fact]
    public void An_unknown_time_zone_is_a_warning_event_and_no_job()
    {
        var plan = CronJobLogic.Decide(CronJob(spec: ""","timeZone":"Nowhere/Land" """), [], Now);
        Assert.Null(plan.Create);
        Assert.Contains(plan.Events, e => e.Reason == "UnknownTimeZone");
    }
}
