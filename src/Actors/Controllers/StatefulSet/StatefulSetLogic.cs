using System.Globalization;
using System.Text.Json.Nodes;
using AkkaKube.Actors.Controllers.History;
using AkkaKube.Actors.Controllers.ReplicaSet;
using static AkkaKube.Actors.Controllers.ControllerBase;

namespace AkkaKube.Actors.Controllers.StatefulSet;

/// <summary>
/// The StatefulSet controller's decisions (Kubernetes' pkg/controller/statefulset), pure over the set, its pods, the
/// namespace's claims and its ControllerRevisions: pods <c>&lt;set&gt;-&lt;ordinal&gt;</c> with stable identity and storage,
/// OrderedReady (one pod at a time, each Running and Ready before the next; scale-down highest ordinal first) or
/// Parallel management, RollingUpdate from the highest ordinal down to the partition (one pod at a time, waiting
/// for Ready) or OnDelete, the PVC retention policy as ownerReferences, and the status `kubectl rollout status` reads.
/// </summary>
public static class StatefulSetLogic
{
    public const string PodNameLabel = "statefulset.kubernetes.io/pod-name";
    public const string PodIndexLabel = "apps.kubernetes.io/pod-index";
    public const string Kind = "StatefulSet";

    public static int Replicas(JsonObject set) => (int)Long(set["spec"]?["replicas"], 1);

    /// <summary>The ordinal of a pod named &lt;set&gt;-&lt;n&gt;; -1 for any other name.</summary>
    public static int Ordinal(JsonObject set, string podName)
    {
        var prefix = NameOf(set) + "-";
        return podName.StartsWith(prefix, StringComparison.Ordinal)
            && int.TryParse(podName.AsSpan(prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var n)
            && n.ToString(CultureInfo.InvariantCulture) == podName[prefix.Length..] ? n : -1;
    }

    public static string PodName(JsonObject set, int ordinal) => $"{NameOf(set)}-{ordinal.ToString(CultureInfo.InvariantCulture)}";

    public static string ClaimName(JsonObject claimTemplate, JsonObject set, int ordinal) =>
        $"{NameOf(claimTemplate)}-{PodName(set, ordinal)}";

    public static IReadOnlyList<JsonObject> ClaimTemplates(JsonObject set) =>
        (set["spec"]?["volumeClaimTemplates"] as JsonArray)?.OfType<JsonObject>().ToList() ?? [];

    public static string? RevisionOf(JsonObject pod) => Str(Meta(pod)["labels"]?[ControllerHistory.HashLabel]);

    public static bool IsRunningAndReady(JsonObject pod) => Str(pod["status"]?["phase"]) == "Running" && ReplicaSetLogic.IsReady(pod);

    private static bool IsHealthy(JsonObject pod) => IsRunningAndReady(pod) && !IsDeleting(pod);

    private static bool IsFinished(JsonObject pod) => Str(pod["status"]?["phase"]) is "Failed" or "Succeeded";

    private static int MinReadySeconds(JsonObject set) => (int)Long(set["spec"]?["minReadySeconds"]);

    /// <summary>The pod for one ordinal from a template (the current or the update revision's).</summary>
    public static JsonObject NewPod(JsonObject set, JsonObject template, string revisionName, int ordinal)
    {
        var name = PodName(set, ordinal);
        var tmeta = template["metadata"] as JsonObject;
        var labels = tmeta?["labels"]?.DeepClone() as JsonObject ?? new JsonObject();
        labels[PodNameLabel] = name;
        labels[PodIndexLabel] = ordinal.ToString(CultureInfo.InvariantCulture);
        labels[ControllerHistory.HashLabel] = revisionName;
        var meta = new JsonObject
        {
            ["name"] = name,
            ["namespace"] = NamespaceOf(set),
            ["labels"] = labels,
            ["ownerReferences"] = new JsonArray(OwnerRef(set, "apps/v1", Kind)),
        };
        if (tmeta?["annotations"] is JsonObject annotations) meta["annotations"] = annotations.DeepClone();
        var spec = template["spec"]?.DeepClone() as JsonObject ?? new JsonObject();
        spec["hostname"] = name;
        if (Str(set["spec"]?["serviceName"]) is { Length: > 0 } service) spec["subdomain"] = service;
        var volumes = spec["volumes"] as JsonArray ?? new JsonArray();
        spec["volumes"] = volumes;
        foreach (var claim in ClaimTemplates(set))
        {
            var volumeName = NameOf(claim);
            foreach (var existing in volumes.OfType<JsonObject>().Where(v => Str(v["name"]) == volumeName).ToList()) volumes.Remove(existing);
            volumes.Add(new JsonObject
            {
                ["name"] = volumeName,
                ["persistentVolumeClaim"] = new JsonObject { ["claimName"] = ClaimName(claim, set, ordinal) },
            });
        }
        if (volumes.Count == 0) spec.Remove("volumes");
        return new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Pod", ["metadata"] = meta, ["spec"] = spec };
    }

    /// <summary>A claim from a volumeClaimTemplate: its labels plus the set's matchLabels, owners per the retention policy.</summary>
    public static JsonObject NewClaim(JsonObject set, JsonObject claimTemplate, int ordinal, JsonObject? pod)
    {
        var claim = claimTemplate.DeepClone().AsObject();
        claim["apiVersion"] = "v1";
        claim["kind"] = "PersistentVolumeClaim";
        claim.Remove("status");
        var meta = claim["metadata"] as JsonObject ?? new JsonObject();
        claim["metadata"] = meta;
        meta["name"] = ClaimName(claimTemplate, set, ordinal);
        meta["namespace"] = NamespaceOf(set);
        var labels = meta["labels"] as JsonObject ?? new JsonObject();
        meta["labels"] = labels;
        if (set["spec"]?["selector"]?["matchLabels"] is JsonObject matchLabels)
            foreach (var (k, v) in matchLabels) labels[k] = v?.DeepClone();
        var refs = WantedClaimOwners(set, claim, ordinal, pod);
        if (refs.Count > 0) meta["ownerReferences"] = refs;
        else meta.Remove("ownerReferences");
        return claim;
    }

    private static JsonObject PlainRef(JsonObject owner, string apiVersion, string kind) => new()
    {
        ["apiVersion"] = apiVersion,
        ["kind"] = kind,
        ["name"] = NameOf(owner),
        ["uid"] = UidOf(owner),
    };

    /// <summary>
    /// The claim's ownerReferences under persistentVolumeClaimRetentionPolicy (as Kubernetes' StatefulSetAutoDeletePVC):
    /// whenDeleted=Delete → the set owns it (deleting the set collects it); whenScaled=Delete and the ordinal is scaled
    /// away → its pod owns it (deleting the pod collects it). References to anything else are kept.
    /// </summary>
    public static JsonArray WantedClaimOwners(JsonObject set, JsonObject claim, int ordinal, JsonObject? pod)
    {
        var policy = set["spec"]?["persistentVolumeClaimRetentionPolicy"];
        var whenDeleted = Str(policy?["whenDeleted"]) == "Delete";
        var whenScaled = Str(policy?["whenScaled"]) == "Delete";
        var condemned = ordinal >= Replicas(set);
        var kept = (Meta(claim)["ownerReferences"] as JsonArray)?.OfType<JsonObject>()
            .Where(r => !(Str(r["uid"]) == UidOf(set) || (Str(r["kind"]) == "Pod" && Str(r["name"]) == PodName(set, ordinal))))
            .Select(r => (JsonNode)r.DeepClone()).ToList() ?? [];
        if (whenDeleted) kept.Add(PlainRef(set, "apps/v1", Kind));
        if (whenScaled && condemned && pod is not null && !IsDeleting(pod)) kept.Add(PlainRef(pod, "v1", "Pod"));
        return new JsonArray(kept.ToArray());
    }

    private static bool SameRefs(JsonNode? a, JsonNode? b) =>
        (a as JsonArray ?? []).OfType<JsonObject>().Select(r => Str(r["uid"])).Order(StringComparer.Ordinal)
            .SequenceEqual((b as JsonArray ?? []).OfType<JsonObject>().Select(r => Str(r["uid"])).Order(StringComparer.Ordinal));

    public static SetPlan Plan(JsonObject set, IReadOnlyList<JsonObject> pods, IReadOnlyDictionary<string, JsonObject> claims,
        IReadOnlyList<JsonObject> revisions, DateTime now)
    {
        TimeSpan? requeue = null;
        var history = ControllerHistory.Plan(set, Kind, revisions);
        var steps = SetPlan.Start(history);
        var update = history.Update;
        var updateName = NameOf(update);
        var known = revisions.Where(r => NameOf(r) != updateName).Append(update).ToList();
        var current = known.FirstOrDefault(r => NameOf(r) == Str(set["status"]?["currentRevision"])) ?? update;
        var currentName = NameOf(current);
        var currentTemplate = ControllerHistory.TemplateOf(current);
        var updateTemplate = set["spec"]?["template"] as JsonObject ?? new JsonObject();

        var desired = Replicas(set);
        var slots = new JsonObject?[desired];
        var condemned = new List<(int Ordinal, JsonObject Pod)>();
        foreach (var pod in pods)
        {
            var ordinal = Ordinal(set, NameOf(pod));
            if (ordinal < 0) continue;
            if (ordinal < desired) slots[ordinal] = pod;
            else condemned.Add((ordinal, pod));
        }
        condemned.Sort((a, b) => b.Ordinal.CompareTo(a.Ordinal));

        var status = ComputeStatus(set, pods.Where(p => Ordinal(set, NameOf(p)) >= 0).ToList(), currentName, updateName, now);

        if (!IsDeleting(set))
        {
            var monotonic = Str(set["spec"]?["podManagementPolicy"]) != "Parallel";
            var rolling = Str(set["spec"]?["updateStrategy"]?["type"]) != "OnDelete";
            var partition = rolling ? (int)Long(set["spec"]?["updateStrategy"]?["rollingUpdate"]?["partition"]) : 0;
            var minReady = MinReadySeconds(set);
            var blocked = false;

            JsonObject TemplateFor(int ordinal, out string revision)
            {
                var useCurrent = rolling && ordinal < partition;
                revision = useCurrent ? currentName : updateName;
                return useCurrent ? currentTemplate : updateTemplate;
            }

            void EnsureClaims(int ordinal, JsonObject? pod)
            {
                foreach (var template in ClaimTemplates(set))
                {
                    var name = ClaimName(template, set, ordinal);
                    if (!claims.TryGetValue(name, out var claim))
                    {
                        steps.Add(new SetStep.CreateClaim(NewClaim(set, template, ordinal, pod), PodName(set, ordinal)));
                        continue;
                    }
                    if (IsDeleting(claim)) continue;
                    var wanted = WantedClaimOwners(set, claim, ordinal, pod);
                    if (SameRefs(Meta(claim)["ownerReferences"], wanted)) continue;
                    var changed = claim.DeepClone().AsObject();
                    var meta = changed["metadata"]!.AsObject();
                    if (wanted.Count > 0) meta["ownerReferences"] = wanted;
                    else meta.Remove("ownerReferences");
                    steps.Add(new SetStep.UpdateClaim(changed));
                }
            }

            var firstUnhealthy = slots.FirstOrDefault(p => p is null || !IsHealthy(p))
                ?? condemned.Select(c => c.Pod).FirstOrDefault(p => !IsHealthy(p));

            // Create, replace and wait for the pods that should exist, lowest ordinal first.
            for (var i = 0; i < desired && !blocked; i++)
            {
                var pod = slots[i];
                if (pod is not null && IsFinished(pod) && !IsDeleting(pod))
                {
                    steps.Add(new SetStep.DeletePod(NameOf(pod), UidOf(pod)));
                    if (monotonic) blocked = true;
                    continue;
                }
                if (pod is null)
                {
                    EnsureClaims(i, null);
                    var template = TemplateFor(i, out var revision);
                    steps.Add(new SetStep.CreatePod(NewPod(set, template, revision, i)));
                    if (monotonic) blocked = true;
                    continue;
                }
                EnsureClaims(i, pod);
                if (!monotonic) continue;
                if (IsDeleting(pod) || !IsRunningAndReady(pod)) { blocked = true; continue; }
                if (minReady > 0 && !ReplicaSetLogic.IsAvailable(pod, minReady, now))
                {
                    var left = (ReplicaSetLogic.ReadySince(pod) ?? now) + TimeSpan.FromSeconds(minReady) - now + TimeSpan.FromMilliseconds(50);
                    requeue = requeue is null || left < requeue ? left : requeue;
                    blocked = true;
                }
            }

            // Scale down: highest ordinal first; OrderedReady one at a time and only while everything else is healthy.
            foreach (var (ordinal, pod) in condemned)
            {
                if (blocked) break;
                if (IsDeleting(pod))
                {
                    if (monotonic) blocked = true;
                    continue;
                }
                if (monotonic && firstUnhealthy is not null && !ReferenceEquals(firstUnhealthy, pod)) { blocked = true; break; }
                EnsureClaims(ordinal, pod);
                steps.Add(new SetStep.DeletePod(NameOf(pod), UidOf(pod)));
                if (monotonic) blocked = true;
            }

            // RollingUpdate: from the highest ordinal down to the partition, one pod at a time, each Ready before the next.
            if (!blocked && rolling && steps.All(s => s is not (SetStep.CreatePod or SetStep.DeletePod)))
            {
                for (var target = desired - 1; target >= partition; target--)
                {
                    var pod = slots[target];
                    if (pod is null) break;
                    if (RevisionOf(pod) != updateName && !IsDeleting(pod))
                    {
                        steps.Add(new SetStep.DeletePod(NameOf(pod), UidOf(pod)));
                        break;
                    }
                    if (!IsHealthy(pod)) break;
                }
            }

            var live = new HashSet<string>(pods.Select(p => RevisionOf(p) ?? ""), StringComparer.Ordinal) { currentName, updateName };
            foreach (var old in ControllerHistory.ToTruncate(set, revisions.Where(r => NameOf(r) != updateName).ToList(), live))
                steps.Add(new SetStep.DeleteRevision(NameOf(old), UidOf(old)));
        }

        if (ControllerHistory.StatusDiffers(set["status"] as JsonObject, status)) steps.Add(new SetStep.UpdateStatus(status));
        return new SetPlan(steps, requeue);
    }

    /// <summary>Kubernetes' computeReplicaStatus plus completeRollingUpdate (current becomes update once all are updated and ready).</summary>
    public static JsonObject ComputeStatus(JsonObject set, IReadOnlyList<JsonObject> pods, string currentRevision, string updateRevision, DateTime now)
    {
        int replicas = 0, ready = 0, available = 0, currentReplicas = 0, updated = 0;
        var minReady = MinReadySeconds(set);
        foreach (var pod in pods)
        {
            replicas++;
            if (IsHealthy(pod))
            {
                ready++;
                if (ReplicaSetLogic.IsAvailable(pod, minReady, now)) available++;
            }
            if (IsDeleting(pod)) continue;
            if (RevisionOf(pod) == currentRevision) currentReplicas++;
            if (RevisionOf(pod) == updateRevision) updated++;
        }
        var rolling = Str(set["spec"]?["updateStrategy"]?["type"]) != "OnDelete";
        if (rolling && updated == replicas && ready == replicas)
        {
            currentReplicas = updated;
            currentRevision = updateRevision;
        }
        var status = new JsonObject
        {
            ["observedGeneration"] = Long(Meta(set)["generation"]),
            ["replicas"] = replicas,
            ["readyReplicas"] = ready,
            ["currentReplicas"] = currentReplicas,
            ["updatedReplicas"] = updated,
            ["availableReplicas"] = available,
            ["currentRevision"] = currentRevision,
            ["updateRevision"] = updateRevision,
            ["collisionCount"] = Long(set["status"]?["collisionCount"]),
        };
        return status;
    }
}
