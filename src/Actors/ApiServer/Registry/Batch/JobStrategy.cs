using System.Text.Json.Nodes;
using AkkaKube.Actors.ApiServer.Registry.Core;
using AkkaKube.Actors.Controllers.CronJob;
using AkkaKube.Actors.Machinery;
using k8s.Models;
using static AkkaKube.Actors.ApiServer.Protobuf;
using static AkkaKube.Actors.ApiServer.Registry.Validation;

namespace AkkaKube.Actors.ApiServer.Registry.Batch;

/// <summary>
/// jobs (batch/v1): completions/parallelism 1, backoffLimit 6, NonIndexed; a generated selector and template labels
/// (by job name: the store assigns the uid after admission, so Kubernetes' controller-uid label cannot be set here);
/// restartPolicy OnFailure or Never; selector and template immutable.
/// </summary>
public sealed class JobStrategy : ResourceStrategy
{
    public override IReadOnlyCollection<string> FieldLabels { get; } = FieldLabelSets.With("status.successful");

    public const string JobNameLabel = "batch.kubernetes.io/job-name";

    public override Type Model => typeof(V1Job);

    public override void Default(JsonObject obj)
    {
        if (obj["spec"] is not JsonObject spec) return;
        DefaultJobSpec(spec);
    }

    public override void PrepareForCreate(JsonObject obj, AdmissionContext context)
    {
        if (obj["spec"] is not JsonObject spec || Meta.Name(obj) is not { Length: > 0 } name) return;
        if (spec["manualSelector"] is JsonValue m && m.TryGetValue<bool>(out var manual) && manual) return;
        if (spec["selector"] is null) spec["selector"] = new JsonObject { ["matchLabels"] = new JsonObject { [JobNameLabel] = name } };
        var labels = Meta.Obj(Meta.Obj(Meta.Obj(spec, "template"), "metadata"), "labels");
        labels[JobNameLabel] ??= name;
        labels["job-name"] ??= name;
    }

    internal static void DefaultJobSpec(JsonObject spec)
    {
        if (spec["completions"] is null && spec["parallelism"] is null)
        {
            spec["completions"] = 1;
            spec["parallelism"] = 1;
        }
        spec["parallelism"] ??= 1;
        spec["backoffLimit"] ??= 6;
        spec["completionMode"] ??= "NonIndexed";
        spec["suspend"] ??= false;
        spec["podReplacementPolicy"] ??= "TerminatingOrFailed";
        // the pod default restartPolicy Always applies here too; validation then refuses it, as Kubernetes does
        PodStrategy.DefaultTemplate(spec);
    }

    public override IEnumerable<StatusCause> Validate(JsonObject obj)
    {
        var causes = new List<StatusCause>();
        ValidateJobSpec(obj["spec"] as JsonObject, "spec", causes);
        return causes;
    }

    internal static void ValidateJobSpec(JsonObject? spec, string field, List<StatusCause> causes)
    {
        if (spec is null)
        {
            causes.Add(Required($"{field}.template"));
            return;
        }
        foreach (var f in new[] { "parallelism", "completions", "backoffLimit", "activeDeadlineSeconds", "ttlSecondsAfterFinished" })
            NonNegative(spec[f], $"{field}.{f}", causes);
        var mode = Meta.Str(spec["completionMode"]);
        if (mode.Length > 0 && mode is not ("NonIndexed" or "Indexed"))
            causes.Add(NotSupported($"{field}.completionMode", mode, "NonIndexed", "Indexed"));
        var podSpec = spec["template"]?["spec"] as JsonObject;
        PodSpec(podSpec, $"{field}.template.spec", causes);
        var rp = Meta.Str(podSpec?["restartPolicy"]);
        if (podSpec is not null && rp is not ("OnFailure" or "Never"))
            causes.Add(rp.Length == 0
                ? new StatusCause("FieldValueRequired", "Required value: valid values: \"OnFailure\", \"Never\"", $"{field}.template.spec.restartPolicy")
                : NotSupported($"{field}.template.spec.restartPolicy", rp, "OnFailure", "Never"));
        if (spec["selector"] is JsonObject selector && !LabelSelectors.Matches(selector, spec["template"]?["metadata"]?["labels"] as JsonObject))
            causes.Add(InvalidRaw($"{field}.template.metadata.labels", FormatMap(spec["template"]?["metadata"]?["labels"] as JsonObject), "`selector` does not match template `labels`"));
    }

    public override IEnumerable<StatusCause> ValidateUpdate(JsonObject obj, JsonObject old)
    {
        if (!JsonNode.DeepEquals(old["spec"]?["selector"], obj["spec"]?["selector"]))
            yield return Immutable("spec.selector", obj["spec"]?["selector"]);
        if (!JsonNode.DeepEquals(old["spec"]?["template"], obj["spec"]?["template"]))
            yield return Immutable("spec.template", obj["spec"]?["template"]);
        if (!JsonNode.DeepEquals(old["spec"]?["completions"], obj["spec"]?["completions"]))
            yield return Immutable("spec.completions", obj["spec"]?["completions"]);
    }

    public override IReadOnlyList<TableColumn> Columns { get; } =
    [
        TableColumn.NameColumn,
        TableColumn.Of("Status", JobStatus),
        TableColumn.Of("Completions", o => o["spec"]?["completions"] is { } c
            ? $"{Cells.I(o["status"]?["succeeded"])}/{Cells.I(c)}"
            : $"{Cells.I(o["status"]?["succeeded"])}/1 of {Cells.I(o["spec"]?["parallelism"])}"),
        TableColumn.Timed("Duration", (o, now) => Duration(o, now)),
        TableColumn.AgeColumn,
        TableColumn.Of("Containers", o => Cells.Containers(o["spec"]?["template"]?["spec"], "name"), 1),
        TableColumn.Of("Images", o => Cells.Containers(o["spec"]?["template"]?["spec"], "image"), 1),
        TableColumn.Of("Selector", Cells.Selector, 1),
    ];

    /// <summary>k8s.io/api batch/v1 numbering: what `kubectl create job` (also --from=cronjob/…) sends.</summary>
    public override IReadOnlyDictionary<string, Dictionary<int, F>> ProtobufMessages { get; } = new Dictionary<string, Dictionary<int, F>>
    {
        ["Job"] = M(new F(1, "metadata", T.Msg, Msg: "ObjectMeta"), new F(2, "spec", T.Msg, Msg: "JobSpec"), new F(3, "status", T.Msg, Msg: "Empty")),
        ["JobSpec"] = M(
            new F(1, "parallelism", T.Int32, KeepZero: true), new F(2, "completions", T.Int32, KeepZero: true),
            new F(3, "activeDeadlineSeconds", T.Int64, KeepZero: true), new F(4, "selector", T.Msg, Msg: "LabelSelector"),
            new F(5, "manualSelector", T.Bool, KeepZero: true), new F(6, "template", T.Msg, Msg: "PodTemplateSpec"),
            new F(7, "backoffLimit", T.Int32, KeepZero: true), new F(8, "ttlSecondsAfterFinished", T.Int32, KeepZero: true),
            new F(9, "completionMode", T.Str), new F(10, "suspend", T.Bool, KeepZero: true),
            new F(11, "podFailurePolicy", T.Msg, Msg: "PodFailurePolicy"), new F(12, "backoffLimitPerIndex", T.Int32, KeepZero: true),
            new F(13, "maxFailedIndexes", T.Int32, KeepZero: true), new F(14, "podReplacementPolicy", T.Str), new F(15, "managedBy", T.Str)),
        ["PodFailurePolicy"] = M(new F(1, "rules", T.Msg, true, "PodFailurePolicyRule")),
        ["PodFailurePolicyRule"] = M(
            new F(1, "action", T.Str), new F(2, "onExitCodes", T.Msg, Msg: "PodFailurePolicyOnExitCodesRequirement"),
            new F(3, "onPodConditions", T.Msg, true, "PodFailurePolicyOnPodConditionsPattern")),
        ["PodFailurePolicyOnExitCodesRequirement"] = M(new F(1, "containerName", T.Str), new F(2, "operator", T.Str), new F(3, "values", T.Int32, true)),
        ["PodFailurePolicyOnPodConditionsPattern"] = M(new F(1, "type", T.Str), new F(2, "status", T.Str)),
    };

    private static bool HasCondition(JsonObject o, string type) =>
        (o["status"]?["conditions"] as JsonArray)?.Any(c => Cells.S(c?["type"]) == type && Cells.S(c?["status"]) == "True") == true;

    /// <summary>kubectl 1.32's job status: Complete, Failed, FailureTarget, Suspended, Terminating, SuccessCriteriaMet or Running.</summary>
    private static string JobStatus(JsonObject o)
    {
        foreach (var type in new[] { "Complete", "Failed", "FailureTarget", "SuccessCriteriaMet", "Suspended" })
            if (HasCondition(o, type)) return type;
        if (o["metadata"]?["deletionTimestamp"] is not null) return "Terminating";
        return "Running";
    }

    private static string Duration(JsonObject o, DateTime now)
    {
        if (!DateTime.TryParse(Cells.S(o["status"]?["startTime"]), null, System.Globalization.DateTimeStyles.AdjustToUniversal, out var start)) return "";
        var end = DateTime.TryParse(Cells.S(o["status"]?["completionTime"]), null, System.Globalization.DateTimeStyles.AdjustToUniversal, out var done) ? done : now;
        return Cells.HumanDuration(end - start);
    }
}

/// <summary>cronjobs (batch/v1): concurrencyPolicy Allow, history limits 3/1; the schedule parsed as the controller parses it
/// (<see cref="CronSchedule"/>), an IANA timeZone; the job template validated as a Job.</summary>
public sealed class CronJobStrategy : ResourceStrategy
{
    public override Type Model => typeof(V1CronJob);

    public override void Default(JsonObject obj)
    {
        if (obj["spec"] is not JsonObject spec) return;
        spec["concurrencyPolicy"] ??= "Allow";
        spec["suspend"] ??= false;
        spec["successfulJobsHistoryLimit"] ??= 3;
        spec["failedJobsHistoryLimit"] ??= 1;
        if (spec["jobTemplate"]?["spec"] is JsonObject jobSpec) JobStrategy.DefaultJobSpec(jobSpec);
    }

    public override IEnumerable<StatusCause> Validate(JsonObject obj)
    {
        var causes = new List<StatusCause>();
        var spec = obj["spec"] as JsonObject;
        var schedule = Meta.Str(spec?["schedule"]);
        if (schedule.Length == 0) causes.Add(Required("spec.schedule"));
        else if (!CronSchedule.TryParse(schedule, out _, out var error))
            causes.Add(Invalid("spec.schedule", schedule, error ?? "unparseable schedule"));
        if (spec?["timeZone"] is { } tz && CronSchedule.FindZone(Meta.Str(tz)) is null)
            causes.Add(Invalid("spec.timeZone", Meta.Str(tz), $"unknown time zone {Meta.Str(tz)}"));
        var policy = Meta.Str(spec?["concurrencyPolicy"]);
        if (policy.Length > 0 && policy is not ("Allow" or "Forbid" or "Replace"))
            causes.Add(NotSupported("spec.concurrencyPolicy", policy, "Allow", "Forbid", "Replace"));
        foreach (var f in new[] { "successfulJobsHistoryLimit", "failedJobsHistoryLimit", "startingDeadlineSeconds" })
            NonNegative(spec?[f], $"spec.{f}", causes);
        JobStrategy.ValidateJobSpec(spec?["jobTemplate"]?["spec"] as JsonObject, "spec.jobTemplate.spec", causes);
        return causes;
    }

    /// <summary>What `kubectl create cronjob` sends (the job template's JobSpec is the Job strategy's message).</summary>
    public override IReadOnlyDictionary<string, Dictionary<int, F>> ProtobufMessages { get; } = new Dictionary<string, Dictionary<int, F>>
    {
        ["CronJob"] = M(new F(1, "metadata", T.Msg, Msg: "ObjectMeta"), new F(2, "spec", T.Msg, Msg: "CronJobSpec"), new F(3, "status", T.Msg, Msg: "Empty")),
        ["CronJobSpec"] = M(
            new F(1, "schedule", T.Str), new F(8, "timeZone", T.Str), new F(2, "startingDeadlineSeconds", T.Int64, KeepZero: true),
            new F(3, "concurrencyPolicy", T.Str), new F(4, "suspend", T.Bool, KeepZero: true), new F(5, "jobTemplate", T.Msg, Msg: "JobTemplateSpec"),
            new F(6, "successfulJobsHistoryLimit", T.Int32, KeepZero: true), new F(7, "failedJobsHistoryLimit", T.Int32, KeepZero: true)),
        ["JobTemplateSpec"] = M(new F(1, "metadata", T.Msg, Msg: "ObjectMeta"), new F(2, "spec", T.Msg, Msg: "JobSpec")),
    };

    public override IReadOnlyList<TableColumn> Columns { get; } =
    [
        TableColumn.NameColumn,
        TableColumn.Of("Schedule", o => Cells.S(o["spec"]?["schedule"])),
        TableColumn.Of("Timezone", o => Cells.Or(Cells.S(o["spec"]?["timeZone"]), "<none>")),
        TableColumn.Of("Suspend", o => o["spec"]?["suspend"] is JsonValue v && v.TryGetValue<bool>(out var b) && b ? "True" : "False"),
        TableColumn.Of("Active", o => Cells.Count(o["status"]?["active"]), type: "integer"),
        TableColumn.Timed("Last Schedule", (o, now) => o["status"]?["lastScheduleTime"] is { } t ? Cells.Age(t, now) : "<none>"),
        TableColumn.AgeColumn,
        TableColumn.Of("Containers", o => Cells.Containers(o["spec"]?["jobTemplate"]?["spec"]?["template"]?["spec"], "name"), 1),
        TableColumn.Of("Images", o => Cells.Containers(o["spec"]?["jobTemplate"]?["spec"]?["template"]?["spec"], "image"), 1),
        TableColumn.Of("Selector", o => LabelSelectors.Format(o["spec"]?["jobTemplate"]?["spec"]?["selector"] as JsonObject) is { Length: > 0 } s ? s : "<none>", 1),
    ];
}
