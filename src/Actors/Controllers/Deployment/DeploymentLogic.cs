using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using static AkkaKube.Actors.Controllers.ControllerBase;

namespace AkkaKube.Actors.Controllers.Deployment;

/// <summary>One change the deployment controller wants; executed in order by the actor.</summary>
public abstract record DeploymentStep
{
    public sealed record CreateReplicaSet(JsonObject ReplicaSet) : DeploymentStep;
    /// <summary>Replace the RS (scale and/or annotations), with its resourceVersion as precondition.</summary>
    public sealed record UpdateReplicaSet(JsonObject ReplicaSet, int From, int To) : DeploymentStep;
    public sealed record DeleteReplicaSet(string Name, string Uid) : DeploymentStep;
    public sealed record SetDeploymentRevision(string Revision) : DeploymentStep;
    public sealed record UpdateStatus(JsonObject Status) : DeploymentStep;
}

public sealed record DeploymentPlan(IReadOnlyList<DeploymentStep> Steps, TimeSpan? RequeueAfter);

/// <summary>
/// The deployment controller's decisions (Kubernetes' pkg/controller/deployment), pure over the Deployment and
/// the ReplicaSets it owns: which RS is new (template equal ignoring pod-template-hash), rolling update within
/// maxSurge/maxUnavailable, Recreate, revisions (undo makes an old RS new again with the next revision),
/// history clean-up, and the status with the Progressing/Available conditions `kubectl rollout status` reads.
/// </summary>
public static class DeploymentLogic
{
    public const string RevisionAnnotation = "deployment.kubernetes.io/revision";
    public const string DesiredReplicasAnnotation = "deployment.kubernetes.io/desired-replicas";
    public const string MaxReplicasAnnotation = "deployment.kubernetes.io/max-replicas";
    public const string HashLabel = "pod-template-hash";

    public static int Replicas(JsonObject o) => (int)Long(o["spec"]?["replicas"], 1);
    public static int StatusInt(JsonObject o, string field) => (int)Long(o["status"]?[field]);

    public static long Revision(JsonObject rs) =>
        long.TryParse(Str(Meta(rs)["annotations"]?[RevisionAnnotation]), NumberStyles.Integer, CultureInfo.InvariantCulture, out var r) ? r : 0;

    /// <summary>The template without the pod-template-hash label (what "equal ignoring hash" compares).</summary>
    public static JsonObject TemplateWithoutHash(JsonNode? template)
    {
        var t = template?.DeepClone() as JsonObject ?? new JsonObject();
        if (t["metadata"]?["labels"] is JsonObject labels)
        {
            labels.Remove(HashLabel);
            if (labels.Count == 0) (t["metadata"] as JsonObject)!.Remove("labels");
        }
        if (t["metadata"] is JsonObject m && m.Count == 0) t.Remove("metadata");
        return t;
    }

    public static bool TemplatesEqual(JsonNode? a, JsonNode? b) => JsonNode.DeepEquals(TemplateWithoutHash(a), TemplateWithoutHash(b));

    /// <summary>pod-template-hash: FNV-32a of the template (plus collisionCount), rendered with Kubernetes' safe alphabet.</summary>
    public static string PodTemplateHash(JsonNode? template, long collisionCount)
    {
        var text = Canonical(TemplateWithoutHash(template)) + (collisionCount > 0 ? collisionCount.ToString(CultureInfo.InvariantCulture) : "");
        return SafeHash(text);
    }

    /// <summary>FNV-32a of the text, its decimal digits mapped onto Kubernetes' safe alphabet (no vowels, no look-alikes).</summary>
    public static string SafeHash(string text)
    {
        uint hash = 2166136261;
        foreach (var b in Encoding.UTF8.GetBytes(text))
        {
            hash ^= b;
            hash *= 16777619;
        }
        const string alphabet = "bcdfghjklmnpqrstvwxz2456789";
        return new string(hash.ToString(CultureInfo.InvariantCulture).Select(c => alphabet[c % alphabet.Length]).ToArray());
    }

    /// <summary>JSON with object keys sorted, so the hash does not depend on property order.</summary>
    public static string Canonical(JsonNode? node) => node switch
    {
        JsonObject o => "{" + string.Join(",", o.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => JsonValue.Create(kv.Key).ToJsonString() + ":" + Canonical(kv.Value))) + "}",
        JsonArray a => "[" + string.Join(",", a.Select(Canonical)) + "]",
        null => "null",
        _ => node.ToJsonString(),
    };

    /// <summary>maxSurge (rounded up) and maxUnavailable (rounded down) as counts; both 0 → unavailable 1.</summary>
    public static (int Surge, int Unavailable) ResolveFenceposts(JsonObject d, int desired)
    {
        var ru = d["spec"]?["strategy"]?["rollingUpdate"];
        var surge = Resolve(ru?["maxSurge"], desired, roundUp: true, fallback: "25%");
        var unavailable = Resolve(ru?["maxUnavailable"], desired, roundUp: false, fallback: "25%");
        if (surge == 0 && unavailable == 0) unavailable = 1;
        return (surge, unavailable);
    }

    public static int Resolve(JsonNode? value, int total, bool roundUp, string fallback)
    {
        string text;
        if (value is JsonValue v && v.TryGetValue<int>(out var i)) return i;
        else if (value is JsonValue s && s.TryGetValue<string>(out var str)) text = str;
        else text = fallback;
        if (text.EndsWith('%') && int.TryParse(text[..^1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var pct))
        {
            var exact = total * pct / 100.0;
            return roundUp ? (int)Math.Ceiling(exact) : (int)Math.Floor(exact);
        }
        return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : 0;
    }

    public static JsonObject NewReplicaSet(JsonObject d, string hash, int replicas, long revision, int surge)
    {
        var template = TemplateWithoutHash(d["spec"]?["template"]);
        var tmeta = template["metadata"] as JsonObject ?? new JsonObject();
        template["metadata"] = tmeta;
        var labels = tmeta["labels"] as JsonObject ?? new JsonObject();
        tmeta["labels"] = labels;
        labels[HashLabel] = hash;
        var selector = d["spec"]?["selector"]?.DeepClone() as JsonObject ?? new JsonObject();
        var matchLabels = selector["matchLabels"] as JsonObject ?? new JsonObject();
        selector["matchLabels"] = matchLabels;
        matchLabels[HashLabel] = hash;
        var rsLabels = (labels.DeepClone() as JsonObject)!;
        var desired = Replicas(d);
        var spec = new JsonObject
        {
            ["replicas"] = replicas,
            ["selector"] = selector,
            ["template"] = template,
        };
        if (d["spec"]?["minReadySeconds"] is { } mrs) spec["minReadySeconds"] = mrs.DeepClone();
        return new JsonObject
        {
            ["apiVersion"] = "apps/v1",
            ["kind"] = "ReplicaSet",
            ["metadata"] = new JsonObject
            {
                ["name"] = $"{NameOf(d)}-{hash}",
                ["namespace"] = NamespaceOf(d),
                ["labels"] = rsLabels,
                ["annotations"] = new JsonObject
                {
                    [RevisionAnnotation] = revision.ToString(CultureInfo.InvariantCulture),
                    [DesiredReplicasAnnotation] = desired.ToString(CultureInfo.InvariantCulture),
                    [MaxReplicasAnnotation] = (desired + surge).ToString(CultureInfo.InvariantCulture),
                },
                ["ownerReferences"] = new JsonArray(OwnerRef(d, "apps/v1", "Deployment")),
            },
            ["spec"] = spec,
        };
    }

    private static JsonObject Scaled(JsonObject rs, int replicas, long? revision, int desired, int surge)
    {
        var copy = rs.DeepClone().AsObject();
        copy["spec"]!["replicas"] = replicas;
        var meta = copy["metadata"]!.AsObject();
        var annotations = meta["annotations"] as JsonObject ?? new JsonObject();
        meta["annotations"] = annotations;
        if (revision is { } r) annotations[RevisionAnnotation] = r.ToString(CultureInfo.InvariantCulture);
        annotations[DesiredReplicasAnnotation] = desired.ToString(CultureInfo.InvariantCulture);
        annotations[MaxReplicasAnnotation] = (desired + surge).ToString(CultureInfo.InvariantCulture);
        return copy;
    }

    public static DeploymentPlan Plan(JsonObject d, IReadOnlyList<JsonObject> owned, DateTime now)
    {
        var steps = new List<DeploymentStep>();
        var desired = Replicas(d);
        var paused = d["spec"]?["paused"]?.GetValue<bool>() == true;
        var recreate = Str(d["spec"]?["strategy"]?["type"]) == "Recreate";
        var (surge, unavailable) = recreate ? (0, 0) : ResolveFenceposts(d, desired);
        var rss = owned.Where(rs => !IsDeleting(rs)).OrderBy(CreatedAt).ThenBy(NameOf, StringComparer.Ordinal).ToList();
        var newRs = rss.FirstOrDefault(rs => TemplatesEqual(rs["spec"]?["template"], d["spec"]?["template"]));
        var olds = rss.Where(rs => !ReferenceEquals(rs, newRs)).ToList();
        var maxOldRevision = olds.Select(Revision).DefaultIfEmpty(0).Max();
        // The replicas each RS will have after this plan (for the status and further decisions).
        var planned = rss.ToDictionary(NameOf, rs => (int)Long(rs["spec"]?["replicas"]), StringComparer.Ordinal);
        string? progressReason = null;
        string? createdName = null;

        void Scale(JsonObject rs, int to, long? revision = null)
        {
            var from = planned[NameOf(rs)];
            if (from == to && revision is null) return;
            planned[NameOf(rs)] = to;
            steps.Add(new DeploymentStep.UpdateReplicaSet(Scaled(rs, to, revision, desired, surge), from, to));
        }

        if (!IsDeleting(d))
        {
            if (paused)
            {
                // Paused: no rollout; only follow a replica change when one RS is active (the common case).
                var active = rss.Where(rs => planned[NameOf(rs)] > 0).ToList();
                var target = newRs ?? (active.Count == 1 ? active[0] : null);
                if (target is not null && (active.Count == 0 || (active.Count == 1 && ReferenceEquals(active[0], target))))
                    Scale(target, desired);
            }
            else
            {
                // An old template came back (rollout undo): that RS becomes the newest revision.
                long? newRevision = newRs is not null && Revision(newRs) <= maxOldRevision ? maxOldRevision + 1 : null;
                if (recreate)
                {
                    var stillActive = false;
                    foreach (var old in olds.Where(o => planned[NameOf(o)] > 0)) { Scale(old, 0); stillActive = true; }
                    var oldPodsLeft = olds.Any(o => StatusInt(o, "replicas") > 0);
                    if (!stillActive && !oldPodsLeft)
                    {
                        if (newRs is null)
                        {
                            var hash = PodTemplateHash(d["spec"]?["template"], Long(d["status"]?["collisionCount"]));
                            var created = NewReplicaSet(d, hash, desired, maxOldRevision + 1, 0);
                            steps.Add(new DeploymentStep.CreateReplicaSet(created));
                            createdName = NameOf(created);
                        }
                        else Scale(newRs, desired, newRevision);
                    }
                    else if (newRs is not null && newRevision is not null) Scale(newRs, planned[NameOf(newRs)], newRevision);
                    if (stillActive || oldPodsLeft || createdName is not null) progressReason = "ReplicaSetUpdated";
                }
                else
                {
                    var currentTotal = planned.Values.Sum();
                    var newReplicas = newRs is null ? 0 : planned[NameOf(newRs)];
                    var target = newReplicas;
                    if (newReplicas > desired) target = desired;
                    else if (newReplicas < desired)
                    {
                        var maxTotal = desired + surge;
                        if (currentTotal < maxTotal) target = newReplicas + Math.Min(maxTotal - currentTotal, desired - newReplicas);
                    }
                    var scaledUp = target > newReplicas;
                    if (newRs is null)
                    {
                        var hash = PodTemplateHash(d["spec"]?["template"], Long(d["status"]?["collisionCount"]));
                        var created = NewReplicaSet(d, hash, target, maxOldRevision + 1, surge);
                        steps.Add(new DeploymentStep.CreateReplicaSet(created));
                        createdName = NameOf(created);
                        planned[createdName] = target;
                        newReplicas = target;
                    }
                    else if (target != newReplicas || newRevision is not null) Scale(newRs, target, newRevision);
                    if (scaledUp) progressReason = "ReplicaSetUpdated";

                    if (!scaledUp && olds.Any(o => planned[NameOf(o)] > 0))
                    {
                        var allPods = planned.Values.Sum();
                        var minAvailable = desired - unavailable;
                        var newUnavailable = newRs is null ? newReplicas : planned[NameOf(newRs)] - StatusInt(newRs, "availableReplicas");
                        var maxScaledDown = allPods - minAvailable - Math.Max(newUnavailable, 0);
                        if (maxScaledDown > 0)
                        {
                            var scaledDown = 0;
                            // First old pods that are not available anyway (they cost no availability).
                            foreach (var old in olds)
                            {
                                if (scaledDown >= maxScaledDown) break;
                                var replicas = planned[NameOf(old)];
                                var unhealthy = replicas - StatusInt(old, "availableReplicas");
                                if (replicas == 0 || unhealthy <= 0) continue;
                                var n = Math.Min(Math.Min(unhealthy, replicas), maxScaledDown - scaledDown);
                                Scale(old, replicas - n);
                                scaledDown += n;
                            }
                            // Then available old pods, as far as availability allows.
                            var available = rss.Sum(rs => Math.Min(StatusInt(rs, "availableReplicas"), planned.GetValueOrDefault(NameOf(rs))));
                            var budget = Math.Min(maxScaledDown - scaledDown, available - minAvailable);
                            foreach (var old in olds)
                            {
                                if (budget <= 0) break;
                                var replicas = planned[NameOf(old)];
                                if (replicas == 0) continue;
                                var n = Math.Min(replicas, budget);
                                Scale(old, replicas - n);
                                budget -= n;
                                scaledDown += n;
                            }
                            if (scaledDown > 0) progressReason = "ReplicaSetUpdated";
                        }
                    }
                }

                // Revision history: drop the oldest fully scaled-down old RSs beyond revisionHistoryLimit.
                var limit = (int)Long(d["spec"]?["revisionHistoryLimit"], 10);
                var removable = olds.Where(o => planned[NameOf(o)] == 0 && StatusInt(o, "replicas") == 0 && Long(o["spec"]?["replicas"]) == 0)
                    .OrderBy(Revision).ToList();
                foreach (var old in removable.Take(Math.Max(0, removable.Count - limit)))
                    steps.Add(new DeploymentStep.DeleteReplicaSet(NameOf(old), UidOf(old)));

                var revision = createdName is not null ? maxOldRevision + 1 : newRevision ?? (newRs is null ? 0 : Revision(newRs));
                var revText = revision.ToString(CultureInfo.InvariantCulture);
                if (revision > 0 && Str(Meta(d)["annotations"]?[RevisionAnnotation]) != revText)
                    steps.Add(new DeploymentStep.SetDeploymentRevision(revText));
            }
        }

        var (status, requeue) = ComputeStatus(d, rss, newRs, createdName, planned, desired, unavailable, paused, progressReason, now);
        if (StatusChanged(d["status"] as JsonObject, status)) steps.Add(new DeploymentStep.UpdateStatus(status));
        return new DeploymentPlan(steps, requeue);
    }

    private static (JsonObject, TimeSpan?) ComputeStatus(JsonObject d, List<JsonObject> rss, JsonObject? newRs, string? createdName,
        Dictionary<string, int> planned, int desired, int maxUnavailable, bool paused, string? progressReason, DateTime now)
    {
        var old = d["status"] as JsonObject ?? new JsonObject();
        var replicas = rss.Sum(rs => StatusInt(rs, "replicas"));
        var updated = newRs is null ? 0 : StatusInt(newRs, "replicas");
        var ready = rss.Sum(rs => StatusInt(rs, "readyReplicas"));
        var available = rss.Sum(rs => StatusInt(rs, "availableReplicas"));
        var totalSpec = planned.Values.Sum();
        var status = new JsonObject
        {
            ["observedGeneration"] = Long(Meta(d)["generation"]),
            ["replicas"] = replicas,
            ["updatedReplicas"] = updated,
            ["readyReplicas"] = ready,
            ["availableReplicas"] = available,
            ["unavailableReplicas"] = Math.Max(totalSpec - available, 0),
        };
        if (old["collisionCount"] is { } cc) status["collisionCount"] = cc.DeepClone();
        var conditions = (old["conditions"] as JsonArray)?.OfType<JsonObject>().Select(c => c.DeepClone().AsObject()).ToList() ?? [];
        var ts = Client.EventAggregator.Timestamp(now);

        void SetCondition(string type, string st, string reason, string message, bool touch)
        {
            var existing = conditions.FirstOrDefault(c => Str(c["type"]) == type);
            if (existing is not null && Str(existing["status"]) == st && Str(existing["reason"]) == reason)
            {
                existing["message"] = message;
                if (touch) existing["lastUpdateTime"] = ts;
                return;
            }
            var transition = existing is not null && Str(existing["status"]) == st ? Str(existing["lastTransitionTime"]) ?? ts : ts;
            conditions.Remove(existing!);
            conditions.Add(new JsonObject
            {
                ["type"] = type, ["status"] = st, ["lastUpdateTime"] = ts, ["lastTransitionTime"] = transition,
                ["reason"] = reason, ["message"] = message,
            });
        }

        var minAvailable = desired - maxUnavailable;
        if (available >= minAvailable) SetCondition("Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability.", false);
        else SetCondition("Available", "False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability.", false);

        TimeSpan? requeue = null;
        var rsName = createdName ?? (newRs is null ? null : NameOf(newRs));
        var deadline = d["spec"]?["progressDeadlineSeconds"] is { } pds ? Long(pds, 600) : 600;
        var current = conditions.FirstOrDefault(c => Str(c["type"]) == "Progressing");
        if (paused)
        {
            SetCondition("Progressing", "Unknown", "DeploymentPaused", "Deployment is paused", false);
        }
        else if (rsName is not null)
        {
            var complete = newRs is not null && updated == desired && replicas == desired && available == desired
                && planned.Where(kv => kv.Key != rsName).All(kv => kv.Value == 0);
            var progressed = updated > StatusInt(d, "updatedReplicas") || ready > StatusInt(d, "readyReplicas")
                || available > StatusInt(d, "availableReplicas") || (replicas - updated) < (StatusInt(d, "replicas") - StatusInt(d, "updatedReplicas"));
            if (createdName is not null)
                SetCondition("Progressing", "True", "NewReplicaSetCreated", $"Created new replica set \"{rsName}\"", true);
            else if (complete)
            {
                if (Str(current?["reason"]) != "NewReplicaSetAvailable")
                    SetCondition("Progressing", "True", "NewReplicaSetAvailable", $"ReplicaSet \"{rsName}\" has successfully progressed.", true);
            }
            else if (current is null || Str(current["reason"]) is "DeploymentPaused" or "DeploymentResumed")
                SetCondition("Progressing", "True", current is null ? "FoundNewReplicaSet" : "ReplicaSetUpdated",
                    current is null ? $"Found new replica set \"{rsName}\"" : $"ReplicaSet \"{rsName}\" is progressing.", true);
            else if (progressReason is not null || progressed || Str(current["reason"]) == "NewReplicaSetAvailable")
                SetCondition("Progressing", "True", "ReplicaSetUpdated", $"ReplicaSet \"{rsName}\" is progressing.", true);
            else if (Str(current["reason"]) != "ProgressDeadlineExceeded")
            {
                var last = DateTime.TryParse(Str(current["lastUpdateTime"]), CultureInfo.InvariantCulture,
                    DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var t) ? t : now;
                var due = last + TimeSpan.FromSeconds(deadline);
                if (due <= now)
                    SetCondition("Progressing", "False", "ProgressDeadlineExceeded", $"ReplicaSet \"{rsName}\" has timed out progressing.", true);
                else requeue = due - now + TimeSpan.FromMilliseconds(100);
            }
            if (!complete && requeue is null && Str(conditions.FirstOrDefault(c => Str(c["type"]) == "Progressing")?["reason"]) != "ProgressDeadlineExceeded")
                requeue = TimeSpan.FromSeconds(Math.Min(deadline, 60)) + TimeSpan.FromMilliseconds(100);
        }
        status["conditions"] = new JsonArray(conditions.OrderBy(c => Str(c["type"]) == "Available" ? 0 : 1).Select(c => (JsonNode)c).ToArray());
        return (status, requeue);
    }

    private static bool StatusChanged(JsonObject? old, JsonObject wanted)
    {
        if (old is null) return true;
        foreach (var (k, v) in wanted)
        {
            if (k == "conditions")
            {
                // lastUpdateTime alone changing every second is not a change worth a write unless reason/status/message differ or touched.
                if (!JsonNode.DeepEquals(old[k], v)) return true;
                continue;
            }
            if (!JsonNode.DeepEquals(old[k], v)) return true;
        }
        return false;
    }
}
