using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using AkkaKube.Actors.Controllers.ReplicaSet;
using static AkkaKube.Actors.Controllers.ControllerBase;

namespace AkkaKube.Actors.Controllers.Job;

/// <summary>One reconcile of a Job, decided from the cached Job and its pods (pure; the controller performs it).</summary>
public sealed record JobPlan
{
    /// <summary>The Job's whole new status, or null when it is unchanged.</summary>
    public JsonObject? Status { get; init; }
    /// <summary>Pods to create (metadata, spec) — written after the status.</summary>
    public IReadOnlyList<JsonObject> Create { get; init; } = [];
    /// <summary>Active pods to delete (finished, suspended, failed, or surplus Jobs).</summary>
    public IReadOnlyList<JsonObject> Delete { get; init; } = [];
    /// <summary>Pods whose tracking finalizer is removed: counted in the status being written, ignored by the failure policy, or already counted.</summary>
    public IReadOnlyList<JsonObject> ReleaseFinalizer { get; init; } = [];
    /// <summary>ttlSecondsAfterFinished has passed: delete the Job (foreground, as the TTL-after-finished controller).</summary>
    public bool DeleteJob { get; init; }
    public TimeSpan? RequeueAfter { get; init; }
    public IReadOnlyList<(string Type, string Reason, string Message)> Events { get; init; } = [];
}

/// <summary>Back-off before re-creating pods after failures: Base doubling per failure, capped at Max (Kubernetes: 10 s, 6 min).</summary>
public sealed record JobBackoff(TimeSpan Base, TimeSpan Max)
{
    public static readonly JobBackoff Default = new(TimeSpan.FromSeconds(10), TimeSpan.FromMinutes(6));

    public TimeSpan After(int failures)
    {
        if (failures <= 0) return TimeSpan.Zero;
        var d = Base;
        for (var i = 1; i < failures && d < Max; i++) d += d;
        return d > Max ? Max : d;
    }
}

/// <summary>
/// The Job controller's decisions (Kubernetes' pkg/controller/job), pure over JSON objects. Finished pods are counted
/// exactly once as Kubernetes does: a pod is created with the <see cref="TrackingFinalizer"/>; when it finishes its uid
/// is first written to status.uncountedTerminatedPods (with the Job's resourceVersion, so a stale view conflicts), then
/// its finalizer is removed, then the uid moves into status.succeeded/failed. A restart or hand-over resumes from the
/// stored status and never counts a pod twice.
/// </summary>
public static class JobLogic
{
    public const string TrackingFinalizer = "batch.kubernetes.io/job-tracking";
    public const string ControllerUidLabel = "batch.kubernetes.io/controller-uid";
    public const string LegacyControllerUidLabel = "controller-uid";
    public const string JobNameLabel = "batch.kubernetes.io/job-name";
    public const string LegacyJobNameLabel = "job-name";
    public const string CompletionIndexAnnotation = "batch.kubernetes.io/job-completion-index";
    public const string CompletionIndexEnv = "JOB_COMPLETION_INDEX";

    // Condition types and reasons as Kubernetes writes them (kubectl wait/get read these).
    public const string Complete = "Complete", Failed = "Failed", Suspended = "Suspended";
    public const string FailureTarget = "FailureTarget", SuccessCriteriaMet = "SuccessCriteriaMet";
    public const string BackoffLimitExceeded = "BackoffLimitExceeded", DeadlineExceeded = "DeadlineExceeded";
    public const string PodFailurePolicyReason = "PodFailurePolicy", CompletionsReached = "CompletionsReached";

    public static bool HasFinalizer(JsonObject pod) =>
        (Meta(pod)["finalizers"] as JsonArray)?.Any(f => Str(f) == TrackingFinalizer) == true;

    public static string? Phase(JsonObject pod) => Str(pod["status"]?["phase"]);

    /// <summary>Active: not finished and not being deleted.</summary>
    public static bool IsActive(JsonObject pod) => ReplicaSetLogic.IsActive(pod);

    /// <summary>Counts as failed: phase Failed, or deleted before it succeeded (a pod removed mid-run failed its work).</summary>
    public static bool IsFailed(JsonObject pod) => Phase(pod) == "Failed" || (IsDeleting(pod) && Phase(pod) != "Succeeded");

    public static bool IsSucceeded(JsonObject pod) => Phase(pod) == "Succeeded";

    public static JsonObject? Condition(JsonObject job, string type) =>
        (job["status"]?["conditions"] as JsonArray)?.OfType<JsonObject>().FirstOrDefault(c => Str(c["type"]) == type);

    public static bool HasTrueCondition(JsonObject job, string type) => Str(Condition(job, type)?["status"]) == "True";

    public static bool IsFinished(JsonObject job) => HasTrueCondition(job, Complete) || HasTrueCondition(job, Failed);

    public static int? CompletionIndex(JsonObject pod) =>
        int.TryParse(Str(Meta(pod)["annotations"]?[CompletionIndexAnnotation]), NumberStyles.None, CultureInfo.InvariantCulture, out var i) ? i : null;

    public static string Timestamp(DateTime t) => t.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    public static DateTime? ParseTime(JsonNode? n) =>
        DateTime.TryParse(Str(n), CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var t) ? t : null;

    /// <summary>When a pod finished: its latest container finishedAt, else its Ready/other condition transitions, else its creation.</summary>
    public static DateTime FinishedAt(JsonObject pod)
    {
        var ends = (pod["status"]?["containerStatuses"] as JsonArray)?.OfType<JsonObject>()
            .Select(c => ParseTime(c["state"]?["terminated"]?["finishedAt"])).OfType<DateTime>().ToList() ?? [];
        if (ends.Count > 0) return ends.Max();
        return ParseTime(Meta(pod)["deletionTimestamp"]) ?? CreatedAt(pod);
    }

    /// <summary>Parses status.completedIndexes ("1,3-5,7") into a set; malformed parts are ignored.</summary>
    public static SortedSet<int> ParseIndexes(string? text)
    {
        var set = new SortedSet<int>();
        if (string.IsNullOrEmpty(text)) return set;
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var dash = part.IndexOf('-');
            if (dash < 0)
            {
                if (int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var v)) set.Add(v);
            }
            else if (int.TryParse(part[..dash], NumberStyles.None, CultureInfo.InvariantCulture, out var a)
                     && int.TryParse(part[(dash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var b))
                for (var i = a; i <= b; i++) set.Add(i);
        }
        return set;
    }

    /// <summary>Kubernetes' form: increasing, comma-separated, runs of three or more as "a-b" ("1,3-5,7").</summary>
    public static string FormatIndexes(IEnumerable<int> indexes)
    {
        var sb = new StringBuilder();
        int? start = null, prev = null;
        foreach (var i in indexes.Distinct().Order())
        {
            if (prev is { } p && i == p + 1) { prev = i; continue; }
            Flush();
            start = prev = i;
        }
        Flush();
        return sb.ToString();

        void Flush()
        {
            if (start is not { } s || prev is not { } e) return;
            if (sb.Length > 0) sb.Append(',');
            sb.Append(s.ToString(CultureInfo.InvariantCulture));
            // three or more consecutive indexes are compressed to "a-b"; two stay a list
            if (e > s + 1) sb.Append('-').Append(e.ToString(CultureInfo.InvariantCulture));
            else if (e == s + 1) sb.Append(',').Append(e.ToString(CultureInfo.InvariantCulture));
        }
    }

    /// <summary>What podFailurePolicy says about a failed pod: the action of the first matching rule (null = no rule: Count) and a message.</summary>
    public static (string? Action, string? Message) MatchFailurePolicy(JsonObject job, JsonObject pod)
    {
        if (job["spec"]?["podFailurePolicy"]?["rules"] is not JsonArray rules) return (null, null);
        var index = 0;
        foreach (var rule in rules.OfType<JsonObject>())
        {
            var action = Str(rule["action"]);
            if (rule["onExitCodes"] is JsonObject codes && MatchExitCodes(codes, pod) is { } container)
                return (action, $"Container {Str(container["name"])} for pod {NamespaceOf(pod)}/{NameOf(pod)} failed with exit code " +
                                $"{Long(container["state"]?["terminated"]?["exitCode"])} matching {action} rule at index {index}");
            if (rule["onPodConditions"] is JsonArray patterns && MatchConditions(patterns, pod) is { } condition)
                return (action, $"Pod {NamespaceOf(pod)}/{NameOf(pod)} has condition {condition} matching {action} rule at index {index}");
            index++;
        }
        return (null, null);
    }

    /// <summary>The first terminated container (optionally of one name) whose non-zero exit code satisfies the In/NotIn rule.</summary>
    private static JsonObject? MatchExitCodes(JsonObject rule, JsonObject pod)
    {
        var name = Str(rule["containerName"]);
        var values = (rule["values"] as JsonArray)?.Select(v => Long(v)).ToHashSet() ?? [];
        var notIn = Str(rule["operator"]) == "NotIn";
        var containers = (pod["status"]?["containerStatuses"] as JsonArray)?.OfType<JsonObject>() ?? [];
        var inits = (pod["status"]?["initContainerStatuses"] as JsonArray)?.OfType<JsonObject>() ?? [];
        foreach (var c in inits.Concat(containers))
        {
            if (name is not null && Str(c["name"]) != name) continue;
            if (c["state"]?["terminated"] is not JsonObject t) continue;
            var code = Long(t["exitCode"]);
            if (code == 0) continue; // Kubernetes never matches a successful container
            if (values.Contains(code) != notIn) return c;
        }
        return null;
    }

    private static string? MatchConditions(JsonArray patterns, JsonObject pod)
    {
        var conditions = (pod["status"]?["conditions"] as JsonArray)?.OfType<JsonObject>().ToList() ?? [];
        foreach (var p in patterns.OfType<JsonObject>())
        {
            var type = Str(p["type"]);
            var status = Str(p["status"]) ?? "True";
            if (conditions.Any(c => Str(c["type"]) == type && Str(c["status"]) == status)) return type;
        }
        return null;
    }

    /// <summary>Decides one reconcile of <paramref name="job"/> given the pods it controls (by ownerReference uid).</summary>
    public static JobPlan Decide(JsonObject job, IReadOnlyList<JsonObject> pods, DateTime now, JobBackoff backoff, bool expectationsSatisfied)
    {
        var spec = job["spec"] as JsonObject ?? new JsonObject();
        var old = job["status"] as JsonObject ?? new JsonObject();
        var status = old.DeepClone().AsObject();
        var events = new List<(string, string, string)>();
        var indexed = Str(spec["completionMode"]) == "Indexed";
        int? completions = spec["completions"] is null ? null : (int)Long(spec["completions"]);
        var parallelism = (int)Long(spec["parallelism"], 1);
        var backoffLimit = spec["backoffLimit"] is null ? 6 : (int)Long(spec["backoffLimit"]);
        var suspended = spec["suspend"] is JsonValue sv && sv.TryGetValue<bool>(out var s) && s;

        // 1. Count finished pods exactly once (uncountedTerminatedPods, finalizers).
        var uncounted = status["uncountedTerminatedPods"] as JsonObject;
        var uncSucceeded = Uids(uncounted?["succeeded"]);
        var uncFailed = Uids(uncounted?["failed"]);
        var byUid = pods.ToDictionary(UidOf, p => p, StringComparer.Ordinal);
        var succeeded = (int)Long(status["succeeded"]);
        var failed = (int)Long(status["failed"]);
        // uids whose finalizer is gone (or whose pod is gone) are counted now
        foreach (var uid in uncSucceeded.Where(u => !byUid.TryGetValue(u, out var p) || !HasFinalizer(p)).ToList()) { uncSucceeded.Remove(uid); succeeded++; }
        foreach (var uid in uncFailed.Where(u => !byUid.TryGetValue(u, out var p) || !HasFinalizer(p)).ToList()) { uncFailed.Remove(uid); failed++; }
        var completedIndexes = ParseIndexes(Str(status["completedIndexes"]));
        var release = new List<JsonObject>();
        string? failJobMessage = null;
        foreach (var pod in pods.OrderBy(CreatedAt))
        {
            if (!HasFinalizer(pod)) continue;
            var uid = UidOf(pod);
            if (uncSucceeded.Contains(uid) || uncFailed.Contains(uid)) { release.Add(pod); continue; }
            if (IsSucceeded(pod))
            {
                uncSucceeded.Add(uid);
                if (indexed && CompletionIndex(pod) is { } i && i < (completions ?? 0)) completedIndexes.Add(i);
                release.Add(pod);
            }
            else if (IsFailed(pod))
            {
                // Pods removed because the Job is suspended are not failures (Kubernetes does not count them either).
                var (action, message) = suspended && Phase(pod) != "Failed" ? ("Ignore", null) : MatchFailurePolicy(job, pod);
                if (action == "Ignore") { release.Add(pod); continue; }
                if (action == "FailJob") failJobMessage ??= message;
                uncFailed.Add(uid);
                release.Add(pod);
            }
        }
        var totalSucceeded = succeeded + uncSucceeded.Count;
        var totalFailed = failed + uncFailed.Count;
        var active = pods.Where(IsActive).ToList();
        var ready = active.Count(ReplicaSetLogic.IsReady);
        var conditions = (status["conditions"] as JsonArray)?.DeepClone().AsArray() ?? [];

        var finished = IsFinished(job);
        var toDelete = new List<JsonObject>();
        var toCreate = new List<JsonObject>();
        TimeSpan? requeue = null;
        var deleteJob = false;
        var startTime = ParseTime(status["startTime"]);

        if (!finished)
        {
            // 2. Suspend / resume.
            if (suspended)
            {
                toDelete.AddRange(active);
                startTime = null; // suspending resets the activeDeadlineSeconds clock (Kubernetes clears startTime)
                if (SetCondition(conditions, Suspended, "True", "JobSuspended", "Job suspended", now))
                    events.Add(("Normal", "Suspended", "Job suspended"));
            }
            else if (Str(ConditionIn(conditions, Suspended)?["status"]) == "True")
            {
                SetCondition(conditions, Suspended, "False", "JobResumed", "Job resumed", now);
                events.Add(("Normal", "Resumed", "Job resumed"));
                startTime = now; // Kubernetes restarts the activeDeadlineSeconds clock on resume
            }
            if (!suspended) startTime ??= now;

            // 3. Terminal decisions: failure target first (it wins over success in Kubernetes), then success.
            var failureTarget = ConditionIn(conditions, FailureTarget);
            var successTarget = ConditionIn(conditions, SuccessCriteriaMet);
            if (failureTarget is null && successTarget is null && !suspended)
            {
                (string Reason, string Message)? failure = null;
                if (failJobMessage is not null) failure = (PodFailurePolicyReason, failJobMessage);
                else if (totalFailed + RestartsInPlace(spec, active) > backoffLimit) failure = (BackoffLimitExceeded, "Job has reached the specified backoff limit");
                else if (spec["activeDeadlineSeconds"] is { } ads && startTime is { } st && st.AddSeconds(Long(ads)) <= now)
                    failure = (DeadlineExceeded, "Job was active longer than specified deadline");
                if (failure is { } f)
                {
                    SetCondition(conditions, FailureTarget, "True", f.Reason, f.Message, now);
                    events.Add(("Warning", f.Reason, f.Message));
                    failureTarget = ConditionIn(conditions, FailureTarget);
                }
                else if (SucceededAll(indexed, completions, totalSucceeded, completedIndexes, active.Count))
                {
                    SetCondition(conditions, SuccessCriteriaMet, "True", CompletionsReached, "Reached expected number of succeeded pods", now);
                    successTarget = ConditionIn(conditions, SuccessCriteriaMet);
                }
                else if (spec["activeDeadlineSeconds"] is { } ads2 && startTime is { } st2)
                    requeue = Min(requeue, st2.AddSeconds(Long(ads2)) - now);
            }

            if (failureTarget is not null || successTarget is not null)
            {
                toDelete.AddRange(active);
                // Terminal once no pod runs and every finished pod is counted.
                if (active.Count == 0 && uncSucceeded.Count == 0 && uncFailed.Count == 0)
                {
                    var target = failureTarget ?? successTarget!;
                    var type = failureTarget is not null ? Failed : Complete;
                    SetCondition(conditions, type, "True", Str(target["reason"]) ?? "", Str(target["message"]) ?? "", now);
                    if (type == Complete)
                    {
                        status["completionTime"] = Timestamp(now);
                        events.Add(("Normal", "Completed", "Job completed"));
                    }
                    finished = true;
                }
            }
            else if (!suspended)
            {
                // 4. Pods to run.
                var (create, indexes, surplus) = indexed
                    ? PlanIndexed(active, completedIndexes, completions ?? 0, parallelism)
                    : PlanNonIndexed(active, completions, parallelism, totalSucceeded);
                toDelete.AddRange(surplus);
                if (create > 0)
                {
                    var wait = BackoffRemaining(pods, backoff, now);
                    if (wait > TimeSpan.Zero) requeue = Min(requeue, wait);
                    else if (expectationsSatisfied)
                        for (var n = 0; n < create; n++) toCreate.Add(PodFromTemplate(job, indexed ? indexes[n] : null));
                }
            }
        }
        else
        {
            toDelete.AddRange(active);
        }

        if (finished && spec["ttlSecondsAfterFinished"] is { } ttl)
        {
            var finishedAt = ParseTime(status["completionTime"]) ?? ParseTime(ConditionIn(conditions, Failed)?["lastTransitionTime"]) ?? now;
            var expiry = finishedAt.AddSeconds(Long(ttl));
            if (expiry <= now && !IsDeleting(job)) deleteJob = true;
            else if (expiry > now) requeue = Min(requeue, expiry - now);
        }

        // 5. The status Kubernetes shows.
        // Kubernetes omits zero counters (omitempty); ready is a pointer and always written.
        SetCount(status, "active", active.Count - toDelete.Count(IsActive));
        status["ready"] = ready;
        SetCount(status, "succeeded", succeeded);
        SetCount(status, "failed", failed);
        if (startTime is { } start) status["startTime"] = ParseTime(status["startTime"]) == start ? status["startTime"]?.DeepClone() : Timestamp(start);
        else status.Remove("startTime");
        if (indexed) status["completedIndexes"] = FormatIndexes(completedIndexes);
        var unc = new JsonObject(); // Kubernetes writes {} when nothing is uncounted
        if (uncSucceeded.Count > 0) unc["succeeded"] = new JsonArray(uncSucceeded.Order(StringComparer.Ordinal).Select(u => (JsonNode)JsonValue.Create(u)).ToArray());
        if (uncFailed.Count > 0) unc["failed"] = new JsonArray(uncFailed.Order(StringComparer.Ordinal).Select(u => (JsonNode)JsonValue.Create(u)).ToArray());
        status["uncountedTerminatedPods"] = unc;
        if (conditions.Count > 0) status["conditions"] = conditions;
        var statusChanged = !JsonNode.DeepEquals(Normalize(old), Normalize(status));
        return new JobPlan
        {
            Status = statusChanged ? status : null,
            Create = toCreate,
            Delete = toDelete.DistinctBy(UidOf).ToList(),
            ReleaseFinalizer = release,
            DeleteJob = deleteJob,
            RequeueAfter = requeue,
            Events = events,
        };
    }

    /// <summary>With restartPolicy OnFailure the kubelet restarts failed containers in place; Kubernetes counts those restarts against backoffLimit.</summary>
    private static long RestartsInPlace(JsonObject spec, List<JsonObject> active) =>
        Str(spec["template"]?["spec"]?["restartPolicy"]) != "OnFailure" ? 0
            : active.Sum(p => (p["status"]?["containerStatuses"] as JsonArray)?.OfType<JsonObject>().Sum(c => Long(c["restartCount"])) ?? 0);

    private static bool SucceededAll(bool indexed, int? completions, int succeeded, SortedSet<int> completedIndexes, int active)
    {
        if (indexed) return completions is { } c && Enumerable.Range(0, c).All(completedIndexes.Contains);
        // Without completions (work queue), the first success ends the Job once nothing else runs.
        return completions is { } n ? succeeded >= n : succeeded > 0 && active == 0;
    }

    private static (int Create, IReadOnlyList<int> Indexes, List<JsonObject> Surplus) PlanNonIndexed(List<JsonObject> active, int? completions, int parallelism, int succeeded)
    {
        int want;
        if (completions is { } c) want = Math.Min(parallelism, Math.Max(0, c - succeeded));
        else want = succeeded > 0 ? Math.Min(active.Count, parallelism) : parallelism; // work queue: after a success, add none
        var diff = want - active.Count;
        return diff >= 0 ? (diff, [], []) : (0, [], ReplicaSetLogic.RankForDeletion(active).Take(-diff).ToList());
    }

    /// <summary>Indexed: the lowest pending indexes up to parallelism; surplus are pods without a valid index, for a completed
    /// index, duplicates of a running index, or beyond parallelism (highest indexes first).</summary>
    private static (int Create, IReadOnlyList<int> Indexes, List<JsonObject> Surplus) PlanIndexed(List<JsonObject> active, SortedSet<int> completed, int completions, int parallelism)
    {
        var surplus = new List<JsonObject>();
        var keep = new List<JsonObject>();
        var seen = new HashSet<int>();
        foreach (var p in active.OrderBy(CreatedAt))
        {
            if (CompletionIndex(p) is not { } i || i >= completions || completed.Contains(i) || !seen.Add(i)) surplus.Add(p);
            else keep.Add(p);
        }
        if (keep.Count > parallelism)
        {
            var extra = keep.OrderByDescending(p => CompletionIndex(p)).Take(keep.Count - parallelism).ToList();
            surplus.AddRange(extra);
            keep = keep.Except(extra).ToList();
        }
        var running = keep.Select(CompletionIndex).OfType<int>().ToHashSet();
        var pending = Enumerable.Range(0, completions).Where(i => !completed.Contains(i) && !running.Contains(i)).Take(parallelism - keep.Count).ToList();
        return (pending.Count, pending, surplus);
    }

    /// <summary>
    /// Kubernetes' pod back-off: failures since the last success, the delay Base·2^(n−1) (capped) counted from the last
    /// failure. Only pods still present are known; a deleted pod no longer delays (as Kubernetes' backoff records).
    /// </summary>
    public static TimeSpan BackoffRemaining(IReadOnlyList<JsonObject> pods, JobBackoff backoff, DateTime now)
    {
        var lastSuccess = pods.Where(IsSucceeded).Select(FinishedAt).DefaultIfEmpty(DateTime.MinValue).Max();
        var failures = pods.Where(p => Phase(p) == "Failed" && FinishedAt(p) > lastSuccess).Select(FinishedAt).ToList();
        if (failures.Count == 0) return TimeSpan.Zero;
        var until = failures.Max() + backoff.After(failures.Count);
        return until > now ? until - now : TimeSpan.Zero;
    }

    /// <summary>
    /// A pod from the Job's template: generateName "&lt;job&gt;-" ("&lt;job&gt;-&lt;index&gt;-" when Indexed), the Job's
    /// controller-uid and job-name labels, the tracking finalizer, and for an index the annotation, label, hostname and
    /// JOB_COMPLETION_INDEX (from the annotation, as Kubernetes injects it).
    /// </summary>
    public static JsonObject PodFromTemplate(JsonObject job, int? index)
    {
        var name = NameOf(job);
        var template = job["spec"]?["template"] as JsonObject ?? new JsonObject();
        var tmeta = template["metadata"] as JsonObject;
        var labels = tmeta?["labels"]?.DeepClone().AsObject() ?? new JsonObject();
        labels[ControllerUidLabel] = UidOf(job);
        labels[LegacyControllerUidLabel] = UidOf(job);
        labels[JobNameLabel] = name;
        labels[LegacyJobNameLabel] = name;
        var annotations = tmeta?["annotations"]?.DeepClone().AsObject() ?? new JsonObject();
        var finalizers = tmeta?["finalizers"]?.DeepClone().AsArray() ?? [];
        finalizers.Add(TrackingFinalizer);
        var podSpec = template["spec"]?.DeepClone().AsObject() ?? new JsonObject();
        var meta = new JsonObject
        {
            ["generateName"] = index is { } i0 ? $"{name}-{i0}-" : name + "-",
            ["namespace"] = NamespaceOf(job),
            ["labels"] = labels,
            ["annotations"] = annotations,
            ["finalizers"] = finalizers,
            ["ownerReferences"] = new JsonArray(OwnerRef(job, "batch/v1", "Job")),
        };
        if (index is { } i)
        {
            var text = i.ToString(CultureInfo.InvariantCulture);
            annotations[CompletionIndexAnnotation] = text;
            labels[CompletionIndexAnnotation] = text;
            podSpec["hostname"] ??= $"{name}-{text}";
            foreach (var list in new[] { "containers", "initContainers" })
                foreach (var c in (podSpec[list] as JsonArray)?.OfType<JsonObject>() ?? [])
                {
                    var env = c["env"] as JsonArray ?? [];
                    if (!env.OfType<JsonObject>().Any(e => Str(e["name"]) == CompletionIndexEnv))
                        env.Add(new JsonObject
                        {
                            ["name"] = CompletionIndexEnv,
                            ["valueFrom"] = new JsonObject { ["fieldRef"] = new JsonObject { ["fieldPath"] = $"metadata.annotations['{CompletionIndexAnnotation}']" } },
                        });
                    c["env"] = env;
                }
        }
        return new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Pod", ["metadata"] = meta, ["spec"] = podSpec };
    }

    private static void SetCount(JsonObject status, string field, int value)
    {
        if (value > 0) status[field] = value;
        else status.Remove(field);
    }

    private static HashSet<string> Uids(JsonNode? n) =>
        (n as JsonArray)?.Select(Str).OfType<string>().ToHashSet(StringComparer.Ordinal) ?? new HashSet<string>(StringComparer.Ordinal);

    private static JsonObject? ConditionIn(JsonArray conditions, string type) =>
        conditions.OfType<JsonObject>().FirstOrDefault(c => Str(c["type"]) == type);

    /// <summary>Sets a condition; lastTransitionTime changes only with the status. True when status/reason changed.</summary>
    private static bool SetCondition(JsonArray conditions, string type, string status, string reason, string message, DateTime now)
    {
        var c = ConditionIn(conditions, type);
        if (c is not null && Str(c["status"]) == status && Str(c["reason"]) == reason) return false;
        var stamp = Timestamp(now);
        if (c is null)
        {
            conditions.Add(new JsonObject
            {
                ["type"] = type, ["status"] = status, ["reason"] = reason, ["message"] = message,
                ["lastProbeTime"] = stamp, ["lastTransitionTime"] = stamp,
            });
            return true;
        }
        if (Str(c["status"]) != status) c["lastTransitionTime"] = stamp;
        c["status"] = status;
        c["reason"] = reason;
        c["message"] = message;
        c["lastProbeTime"] = stamp;
        return true;
    }

    // Empty uncounted lists and a missing field are the same status.
    private static JsonObject Normalize(JsonObject status)
    {
        var s = status.DeepClone().AsObject();
        if (s["uncountedTerminatedPods"] is JsonObject u && (u["succeeded"] as JsonArray ?? []).Count == 0 && (u["failed"] as JsonArray ?? []).Count == 0)
            s.Remove("uncountedTerminatedPods");
        foreach (var k in new[] { "active", "ready", "succeeded", "failed" })
            if (Long(s[k]) == 0) s.Remove(k);
        return s;
    }

    private static TimeSpan? Min(TimeSpan? a, TimeSpan b) => a is { } x && x < b ? x : b < TimeSpan.Zero ? TimeSpan.Zero : b;
}
