using System.Globalization;
using System.Text.Json.Nodes;
using AkkaKube.Actors.Controllers.Job;
using static AkkaKube.Actors.Controllers.ControllerBase;

namespace AkkaKube.Actors.Controllers.CronJob;

/// <summary>One reconcile of a CronJob (pure decision; the controller performs it in this order: deletes, create, status).</summary>
public sealed record CronJobPlan
{
    /// <summary>The status to write (active refs, lastScheduleTime, lastSuccessfulTime); the created Job's ref is appended after its create.</summary>
    public JsonObject? Status { get; init; }
    /// <summary>The Job to create for <see cref="ScheduledTime"/>; its name is deterministic, so AlreadyExists means it was created before.</summary>
    public JsonObject? Create { get; init; }
    public DateTime? ScheduledTime { get; init; }
    /// <summary>Jobs to delete (Replace policy, history limits), with background propagation.</summary>
    public IReadOnlyList<JsonObject> Delete { get; init; } = [];
    /// <summary>Names in status.active the cache does not hold: checked with a live GET before trusting either view.</summary>
    public IReadOnlyList<string> Unverified { get; init; } = [];
    public TimeSpan? RequeueAfter { get; init; }
    public IReadOnlyList<(string Type, string Reason, string Message)> Events { get; init; } = [];
}

/// <summary>The CronJob controller's decisions (Kubernetes' cronjob controllerv2), pure over JSON objects.</summary>
public static class CronJobLogic
{
    public const string ScheduledTimestampAnnotation = "batch.kubernetes.io/cronjob-scheduled-timestamp";
    /// <summary>More missed start times than this are reported (Kubernetes' TooManyMissedTimes).</summary>
    public const int MissedLimit = 100;
    /// <summary>A little after the scheduled minute, so the clock has surely passed it when the key runs again.</summary>
    public static readonly TimeSpan Slack = TimeSpan.FromMilliseconds(100);

    /// <summary>Kubernetes' name of the Job for a scheduled time: &lt;cronjob&gt;-&lt;minutes since the epoch&gt;.</summary>
    public static string JobName(string cronJob, DateTime scheduledUtc) =>
        $"{cronJob}-{(long)(DateTime.SpecifyKind(scheduledUtc, DateTimeKind.Utc) - DateTime.UnixEpoch).TotalMinutes:0}";

    public static bool IsFinished(JsonObject job) => JobLogic.IsFinished(job);

    public static bool Succeeded(JsonObject job) => JobLogic.HasTrueCondition(job, JobLogic.Complete);

    public static JsonObject JobRef(JsonObject job) => new()
    {
        ["apiVersion"] = "batch/v1",
        ["kind"] = "Job",
        ["name"] = NameOf(job),
        ["namespace"] = NamespaceOf(job),
        ["uid"] = UidOf(job),
        ["resourceVersion"] = Str(Meta(job)["resourceVersion"]),
    };

    /// <summary>The Job for a scheduled time: the job template's metadata and spec, the scheduled-timestamp annotation, the controller ref.</summary>
    public static JsonObject JobFromTemplate(JsonObject cronJob, DateTime scheduledUtc, TimeZoneInfo zone)
    {
        var template = cronJob["spec"]?["jobTemplate"] as JsonObject ?? new JsonObject();
        var tmeta = template["metadata"] as JsonObject;
        var annotations = tmeta?["annotations"]?.DeepClone().AsObject() ?? new JsonObject();
        var local = TimeZoneInfo.ConvertTime(new DateTimeOffset(DateTime.SpecifyKind(scheduledUtc, DateTimeKind.Utc)), zone);
        annotations[ScheduledTimestampAnnotation] = local.Offset == TimeSpan.Zero
            ? local.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)
            : local.ToString("yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture);
        var meta = new JsonObject
        {
            ["name"] = JobName(NameOf(cronJob), scheduledUtc),
            ["namespace"] = NamespaceOf(cronJob),
            ["annotations"] = annotations,
            ["ownerReferences"] = new JsonArray(OwnerRef(cronJob, "batch/v1", "CronJob")),
        };
        if (tmeta?["labels"] is JsonObject labels) meta["labels"] = labels.DeepClone();
        return new JsonObject { ["apiVersion"] = "batch/v1", ["kind"] = "Job", ["metadata"] = meta, ["spec"] = template["spec"]?.DeepClone() ?? new JsonObject() };
    }

    /// <summary>Decides one reconcile of <paramref name="cronJob"/> given the Jobs it controls (by ownerReference uid).</summary>
    public static CronJobPlan Decide(JsonObject cronJob, IReadOnlyList<JsonObject> jobs, DateTime now)
    {
        var spec = cronJob["spec"] as JsonObject ?? new JsonObject();
        var old = cronJob["status"] as JsonObject ?? new JsonObject();
        var status = old.DeepClone().AsObject();
        var events = new List<(string, string, string)>();
        var byName = jobs.ToDictionary(NameOf, j => j, StringComparer.Ordinal);

        // 1. Active list: drop finished Jobs, add running children it lacks, keep the unknown for verification.
        var active = new JsonArray();
        var unverified = new List<string>();
        foreach (var r in (old["active"] as JsonArray)?.OfType<JsonObject>() ?? [])
        {
            var name = Str(r["name"]) ?? "";
            if (!byName.TryGetValue(name, out var job)) { unverified.Add(name); active.Add(r.DeepClone()); continue; }
            if (UidOf(job) != Str(r["uid"])) continue;
            if (IsFinished(job))
            {
                events.Add(("Normal", "SawCompletedJob", $"Saw completed job: {name}, condition: {(Succeeded(job) ? JobLogic.Complete : JobLogic.Failed)}"));
                continue;
            }
            active.Add(JobRef(job));
        }
        foreach (var job in jobs.Where(j => !IsFinished(j) && !IsDeleting(j)).OrderBy(CreatedAt))
            if (!active.OfType<JsonObject>().Any(r => Str(r["name"]) == NameOf(job))) active.Add(JobRef(job));
        if (active.Count > 0) status["active"] = active; else status.Remove("active");

        var lastSuccess = JobLogic.ParseTime(old["lastSuccessfulTime"]);
        foreach (var job in jobs.Where(Succeeded))
            if (JobLogic.ParseTime(job["status"]?["completionTime"]) is { } done && (lastSuccess is null || done > lastSuccess)) lastSuccess = done;
        if (lastSuccess is { } ls) status["lastSuccessfulTime"] = Same(old["lastSuccessfulTime"], ls) ?? JobLogic.Timestamp(ls);

        // 2. History limits: the oldest finished Jobs beyond each limit go.
        var delete = new List<JsonObject>();
        Prune(jobs.Where(j => IsFinished(j) && Succeeded(j) && !IsDeleting(j)), spec["successfulJobsHistoryLimit"], 3, delete);
        Prune(jobs.Where(j => IsFinished(j) && !Succeeded(j) && !IsDeleting(j)), spec["failedJobsHistoryLimit"], 1, delete);
        foreach (var j in delete) events.Add(("Normal", "SuccessfulDelete", $"Deleted job {NameOf(j)}"));

        // 3. The schedule.
        JsonObject? create = null;
        DateTime? scheduled = null;
        TimeSpan? requeue = null;
        var suspended = spec["suspend"] is JsonValue sv && sv.TryGetValue<bool>(out var s) && s;
        var zone = CronSchedule.FindZone(Str(spec["timeZone"]));
        CronSchedule? schedule = null;
        if (zone is null)
            events.Add(("Warning", "UnknownTimeZone", $"invalid timeZone: \"{Str(spec["timeZone"])}\""));
        else if (!CronSchedule.TryParse(Str(spec["schedule"]) ?? "", out schedule, out var error))
            events.Add(("Warning", "UnparseableSchedule", $"unparseable schedule: \"{Str(spec["schedule"])}\" : {error}"));
        if (schedule is not null && zone is not null && !IsDeleting(cronJob))
        {
            var earliest = JobLogic.ParseTime(old["lastScheduleTime"]) ?? CreatedAt(cronJob);
            if (spec["startingDeadlineSeconds"] is { } sds && now.AddSeconds(-Long(sds)) > earliest) earliest = now.AddSeconds(-Long(sds));
            var (recent, missed, next) = schedule.MostRecent(earliest, now, zone, MissedLimit);
            if (next is { } n) requeue = n - now + Slack;
            if (!suspended && recent is { } t && unverified.Count == 0)
            {
                if (missed > MissedLimit)
                    events.Add(("Warning", "TooManyMissedTimes", $"too many missed start times: {missed}. Set or decrease .spec.startingDeadlineSeconds or check clock skew"));
                var policy = Str(spec["concurrencyPolicy"]) ?? "Allow";
                var name = JobName(NameOf(cronJob), t);
                if (spec["startingDeadlineSeconds"] is { } deadline && t.AddSeconds(Long(deadline)) < now)
                    events.Add(("Warning", "MissSchedule", $"Missed scheduled time to start a job: {JobLogic.Timestamp(t)}"));
                else if (byName.ContainsKey(name) || jobs.Any(j => NameOf(j) == name))
                    status["lastScheduleTime"] = Same(old["lastScheduleTime"], t) ?? JobLogic.Timestamp(t); // already ran (e.g. before a hand-over)
                else if (policy == "Forbid" && active.Count > 0)
                    events.Add(("Normal", "JobAlreadyActive", "Not starting job because prior execution is running and concurrency policy is Forbid"));
                else
                {
                    if (policy == "Replace")
                        foreach (var r in active.OfType<JsonObject>().ToList())
                            if (byName.TryGetValue(Str(r["name"]) ?? "", out var running))
                            {
                                delete.Add(running);
                                active.Remove(r);
                                events.Add(("Normal", "SuccessfulDelete", $"Deleted job {NameOf(running)}"));
                            }
                    create = JobFromTemplate(cronJob, t, zone);
                    scheduled = t;
                    status["lastScheduleTime"] = JobLogic.Timestamp(t);
                    if (active.Count > 0) status["active"] = active; else status.Remove("active");
                }
            }
        }
        var changed = !JsonNode.DeepEquals(old, status);
        return new CronJobPlan
        {
            Status = changed || create is not null ? status : null,
            Create = create,
            ScheduledTime = scheduled,
            Delete = delete.DistinctBy(UidOf).ToList(),
            Unverified = unverified,
            RequeueAfter = requeue,
            Events = events,
        };
    }

    /// <summary>Keeps the newest <paramref name="limit"/> (by start, else creation); the rest are added to <paramref name="delete"/>.</summary>
    private static void Prune(IEnumerable<JsonObject> finished, JsonNode? limit, int fallback, List<JsonObject> delete)
    {
        var keep = limit is null ? fallback : (int)Long(limit);
        var ordered = finished.OrderByDescending(j => JobLogic.ParseTime(j["status"]?["startTime"]) ?? CreatedAt(j)).ThenByDescending(NameOf, StringComparer.Ordinal).ToList();
        delete.AddRange(ordered.Skip(Math.Max(0, keep)));
    }

    // The stored text when it denotes the same instant (a status rewritten only when something changed).
    private static JsonNode? Same(JsonNode? stored, DateTime t) => JobLogic.ParseTime(stored) == t ? stored!.DeepClone() : null;
}
