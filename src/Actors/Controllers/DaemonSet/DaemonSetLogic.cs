using System.Text.Json.Nodes;
using AkkaKube.Actors.Controllers.Deployment;
using AkkaKube.Actors.Controllers.History;
using AkkaKube.Actors.Controllers.ReplicaSet;
using AkkaKube.Actors.Machinery;
using AkkaKube.Actors.Scheduler.Plugins.TaintToleration;
using k8s.Models;
using static AkkaKube.Actors.Controllers.ControllerBase;

namespace AkkaKube.Actors.Controllers.DaemonSet;

/// <summary>Whether a node should run the daemon pod, and whether an existing one may keep running there.</summary>
public sealed record NodeFit(bool ShouldRun, bool ShouldContinueRunning);

/// <summary>
/// The DaemonSet controller's decisions (Kubernetes' pkg/controller/daemon), pure over the DaemonSet, the nodes, its pods
/// and its ControllerRevisions: one pod per eligible node (nodeSelector, required node affinity, taints against the
/// template's tolerations plus the default daemon tolerations), pinned to its node through required node affinity on
/// <c>metadata.name</c> so the scheduler places it; RollingUpdate within maxUnavailable (or surging within maxSurge)
/// and OnDelete; and the status `kubectl rollout status` reads.
/// </summary>
public static class DaemonSetLogic
{
    public const string Kind = "DaemonSet";

    /// <summary>The tolerations Kubernetes adds to every daemon pod (AddOrUpdateDaemonPodTolerations).</summary>
    public static IReadOnlyList<(string Key, string Effect)> DefaultTolerations(bool hostNetwork)
    {
        List<(string, string)> list =
        [
            ("node.kubernetes.io/not-ready", "NoExecute"),
            ("node.kubernetes.io/unreachable", "NoExecute"),
            ("node.kubernetes.io/disk-pressure", "NoSchedule"),
            ("node.kubernetes.io/memory-pressure", "NoSchedule"),
            ("node.kubernetes.io/pid-pressure", "NoSchedule"),
            ("node.kubernetes.io/unschedulable", "NoSchedule"),
        ];
        if (hostNetwork) list.Add(("node.kubernetes.io/network-unavailable", "NoSchedule"));
        return list;
    }

    /// <summary>The template's pod spec with the default daemon tolerations added (those already there are kept).</summary>
    public static JsonObject SpecWithDaemonTolerations(JsonObject ds)
    {
        var spec = ds["spec"]?["template"]?["spec"]?.DeepClone() as JsonObject ?? new JsonObject();
        var tolerations = spec["tolerations"] as JsonArray ?? new JsonArray();
        spec["tolerations"] = tolerations;
        var hostNetwork = spec["hostNetwork"] is JsonValue v && v.TryGetValue<bool>(out var b) && b;
        foreach (var (key, effect) in DefaultTolerations(hostNetwork))
        {
            if (tolerations.OfType<JsonObject>().Any(t => Str(t["key"]) == key && Str(t["effect"]) == effect && Str(t["operator"]) == "Exists")) continue;
            tolerations.Add(new JsonObject { ["key"] = key, ["operator"] = "Exists", ["effect"] = effect });
        }
        return spec;
    }

    /// <summary>The node a daemon pod is on, or meant for (its required matchFields metadata.name before it is bound).</summary>
    public static string? TargetNode(JsonObject pod)
    {
        if (Str(pod["spec"]?["nodeName"]) is { Length: > 0 } bound) return bound;
        var terms = pod["spec"]?["affinity"]?["nodeAffinity"]?["requiredDuringSchedulingIgnoredDuringExecution"]?["nodeSelectorTerms"] as JsonArray;
        return terms?.OfType<JsonObject>().SelectMany(t => (t["matchFields"] as JsonArray)?.OfType<JsonObject>() ?? [])
            .Where(f => Str(f["key"]) == "metadata.name" && Str(f["operator"]) == "In" && f["values"] is JsonArray { Count: 1 })
            .Select(f => Str(f["values"]![0])).FirstOrDefault();
    }

    /// <summary>
    /// Kubernetes' NodeShouldRunDaemonPod: spec.nodeName (if the template sets one), nodeSelector and required node
    /// affinity must match; an untolerated NoSchedule taint stops new pods, an untolerated NoExecute one evicts existing ones.
    /// </summary>
    public static Func<JsonObject, NodeFit> Fitter(JsonObject ds)
    {
        var spec = SpecWithDaemonTolerations(ds);
        var pinned = Str(spec["nodeName"]);
        var tolerations = k8s.KubernetesJson.Deserialize<List<V1Toleration>>(spec["tolerations"]?.ToJsonString() ?? "[]") ?? [];
        var required = spec["affinity"]?["nodeAffinity"]?["requiredDuringSchedulingIgnoredDuringExecution"] is JsonObject r
            ? k8s.KubernetesJson.Deserialize<V1NodeSelector>(r.ToJsonString()) : null;
        var nodeSelector = (spec["nodeSelector"] as JsonObject)?.ToDictionary(kv => kv.Key, kv => Str(kv.Value) ?? "") ?? [];
        return node =>
        {
            var name = NameOf(node);
            if (pinned is { Length: > 0 } && pinned != name) return new NodeFit(false, false);
            var labels = (Meta(node)["labels"] as JsonObject)?.ToDictionary(kv => kv.Key, kv => Str(kv.Value) ?? "") ?? [];
            if (nodeSelector.Any(kv => !labels.TryGetValue(kv.Key, out var value) || value != kv.Value)) return new NodeFit(false, false);
            if (required is not null && !LabelSelectors.Matches(required, new V1Node { Metadata = new V1ObjectMeta { Name = name, Labels = labels } }))
                return new NodeFit(false, false);
            bool run = true, keep = true;
            foreach (var t in (node["spec"]?["taints"] as JsonArray)?.OfType<JsonObject>() ?? [])
            {
                var taint = new V1Taint { Key = Str(t["key"]), Value = Str(t["value"]), Effect = Str(t["effect"]) };
                if (taint.Effect is not ("NoSchedule" or "NoExecute") || tolerations.Any(x => TaintTolerationPlugin.Tolerates(x, taint))) continue;
                run = false;
                if (taint.Effect == "NoExecute") keep = false;
            }
            return new NodeFit(run, keep);
        };
    }

    /// <summary>A daemon pod for one node: the template with default tolerations, the revision hash label, and its required node affinity replaced by <c>metadata.name In [node]</c>.</summary>
    public static JsonObject NewPod(JsonObject ds, string hash, string node)
    {
        var template = ds["spec"]?["template"] as JsonObject;
        var tmeta = template?["metadata"] as JsonObject;
        var labels = tmeta?["labels"]?.DeepClone() as JsonObject ?? new JsonObject();
        labels[ControllerHistory.HashLabel] = hash;
        var meta = new JsonObject
        {
            ["generateName"] = NameOf(ds) + "-",
            ["namespace"] = NamespaceOf(ds),
            ["labels"] = labels,
            ["ownerReferences"] = new JsonArray(OwnerRef(ds, "apps/v1", Kind)),
        };
        if (tmeta?["annotations"] is JsonObject annotations) meta["annotations"] = annotations.DeepClone();
        var spec = SpecWithDaemonTolerations(ds);
        var affinity = spec["affinity"] as JsonObject ?? new JsonObject();
        spec["affinity"] = affinity;
        var nodeAffinity = affinity["nodeAffinity"] as JsonObject ?? new JsonObject();
        affinity["nodeAffinity"] = nodeAffinity;
        nodeAffinity["requiredDuringSchedulingIgnoredDuringExecution"] = new JsonObject
        {
            ["nodeSelectorTerms"] = new JsonArray(new JsonObject
            {
                ["matchFields"] = new JsonArray(new JsonObject
                {
                    ["key"] = "metadata.name", ["operator"] = "In", ["values"] = new JsonArray(node),
                }),
            }),
        };
        return new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Pod", ["metadata"] = meta, ["spec"] = spec };
    }

    public static bool IsUpdated(JsonObject pod, string hash) => Str(Meta(pod)["labels"]?[ControllerHistory.HashLabel]) == hash;

    private static bool IsFinished(JsonObject pod) => Str(pod["status"]?["phase"]) is "Failed" or "Succeeded";

    /// <summary>maxSurge and maxUnavailable as node counts (both rounded up, as Kubernetes does for DaemonSets); both 0 → 1 unavailable.</summary>
    public static (int Surge, int Unavailable) Fenceposts(JsonObject ds, int desired)
    {
        var ru = ds["spec"]?["updateStrategy"]?["rollingUpdate"];
        var surge = DeploymentLogic.Resolve(ru?["maxSurge"], desired, roundUp: true, fallback: "0");
        var unavailable = DeploymentLogic.Resolve(ru?["maxUnavailable"], desired, roundUp: true, fallback: "1");
        if (surge == 0 && unavailable == 0) unavailable = 1;
        return (surge, unavailable);
    }

    public static SetPlan Plan(JsonObject ds, IReadOnlyList<JsonObject> nodes, IReadOnlyList<JsonObject> pods,
        IReadOnlyList<JsonObject> revisions, DateTime now)
    {
        var history = ControllerHistory.Plan(ds, Kind, revisions);
        var steps = SetPlan.Start(history);
        var hash = Str(Meta(history.Update)["labels"]?[ControllerHistory.HashLabel]) ?? "";
        var minReady = (int)Long(ds["spec"]?["minReadySeconds"]);
        var fit = Fitter(ds);
        var fits = nodes.ToDictionary(NameOf, fit, StringComparer.Ordinal);
        var byNode = pods.GroupBy(p => TargetNode(p) ?? "").ToDictionary(g => g.Key, g => g.OrderBy(CreatedAt).ThenBy(NameOf, StringComparer.Ordinal).ToList(), StringComparer.Ordinal);
        var (surge, maxUnavailable) = Fenceposts(ds, fits.Count(f => f.Value.ShouldRun));
        TimeSpan? requeue = null;
        bool Available(JsonObject pod)
        {
            if (ReplicaSetLogic.IsAvailable(pod, minReady, now)) return true;
            if (minReady > 0 && ReplicaSetLogic.IsReady(pod))
            {
                var left = (ReplicaSetLogic.ReadySince(pod) ?? now) + TimeSpan.FromSeconds(minReady) - now + TimeSpan.FromMilliseconds(50);
                requeue = requeue is null || left < requeue ? left : requeue;
            }
            return false;
        }

        if (!IsDeleting(ds))
        {
            // manage: one running pod per node that should run one, none elsewhere.
            foreach (var node in nodes.OrderBy(NameOf, StringComparer.Ordinal))
            {
                var name = NameOf(node);
                var (shouldRun, shouldContinue) = fits[name];
                var onNode = byNode.GetValueOrDefault(name) ?? [];
                if (!shouldContinue)
                {
                    foreach (var pod in onNode.Where(p => !IsDeleting(p))) steps.Add(new SetStep.DeletePod(NameOf(pod), UidOf(pod)));
                    continue;
                }
                var running = new List<JsonObject>();
                var finished = false;
                foreach (var pod in onNode.Where(p => !IsDeleting(p)))
                {
                    if (!IsFinished(pod)) { running.Add(pod); continue; }
                    steps.Add(new SetStep.DeletePod(NameOf(pod), UidOf(pod)));
                    finished = true;
                }
                // A failed pod is replaced in the next pass; a terminating one still holds the node until it is gone.
                if (running.Count == 0 && shouldRun && !finished && onNode.All(p => !IsDeleting(p) || IsFinished(p)))
                    steps.Add(new SetStep.CreatePod(NewPod(ds, hash, name)));
                if (running.Count > 1)
                {
                    // Keep the oldest pod (while surging: the oldest updated and the oldest old one); delete the rest.
                    var keep = surge > 0
                        ? new[] { running.FirstOrDefault(p => IsUpdated(p, hash)), running.FirstOrDefault(p => !IsUpdated(p, hash)) }
                        : [running[0]];
                    foreach (var pod in running.Where(p => !keep.Contains(p))) steps.Add(new SetStep.DeletePod(NameOf(pod), UidOf(pod)));
                }
            }
            // Pods meant for nodes that are gone: deleted here, force-deleted by the pod GC once the Node stays gone.
            foreach (var (node, onNode) in byNode)
                if (!fits.ContainsKey(node))
                    foreach (var pod in onNode.Where(p => !IsDeleting(p))) steps.Add(new SetStep.DeletePod(NameOf(pod), UidOf(pod)));

            var podSteps = steps.Any(s => s is SetStep.CreatePod or SetStep.DeletePod);
            if (!podSteps && Str(ds["spec"]?["updateStrategy"]?["type"]) != "OnDelete")
                steps.AddRange(RollingUpdate(ds, nodes, fits, byNode, hash, surge, maxUnavailable, Available));

            var live = new HashSet<string>(pods.Select(p => Str(Meta(p)["labels"]?[ControllerHistory.HashLabel]) ?? ""), StringComparer.Ordinal) { hash };
            foreach (var old in ControllerHistory.ToTruncate(ds, revisions.Where(r => NameOf(r) != NameOf(history.Update)).ToList(), live))
                steps.Add(new SetStep.DeleteRevision(NameOf(old), UidOf(old)));
        }

        var status = ComputeStatus(ds, fits, byNode, hash, Available);
        if (ControllerHistory.StatusDiffers(ds["status"] as JsonObject, status)) steps.Add(new SetStep.UpdateStatus(status));
        return new SetPlan(steps, requeue);
    }

    /// <summary>The updated and the old live pod of a node; not ok when there are two of either (manage sorts that out).</summary>
    private static (JsonObject? New, JsonObject? Old, bool Ok) UpdatedAndOld(IEnumerable<JsonObject> pods, string hash)
    {
        JsonObject? updated = null, old = null;
        foreach (var pod in pods.Where(p => !IsDeleting(p)))
        {
            if (IsUpdated(pod, hash))
            {
                if (updated is not null) return (null, null, false);
                updated = pod;
            }
            else
            {
                if (old is not null) return (null, null, false);
                old = pod;
            }
        }
        return (updated, old, true);
    }

    private static IEnumerable<SetStep> RollingUpdate(JsonObject ds, IReadOnlyList<JsonObject> nodes, Dictionary<string, NodeFit> fits,
        Dictionary<string, List<JsonObject>> byNode, string hash, int surge, int maxUnavailable, Func<JsonObject, bool> available)
    {
        var candidates = nodes.Select(NameOf).Where(n => fits[n].ShouldRun || byNode.ContainsKey(n)).Order(StringComparer.Ordinal).ToList();
        if (surge == 0)
        {
            var unavailable = 0;
            var replaceNow = new List<JsonObject>();
            var toDelete = new List<JsonObject>();
            foreach (var node in candidates)
            {
                var (updated, old, ok) = UpdatedAndOld(byNode.GetValueOrDefault(node) ?? [], hash);
                if (!ok || (updated is null) == (old is null)) { unavailable++; continue; }
                if (updated is not null) { if (!available(updated)) unavailable++; continue; }
                if (!available(old!)) replaceNow.Add(old!);
                else if (unavailable < maxUnavailable) toDelete.Add(old!);
            }
            var budget = Math.Clamp(maxUnavailable - unavailable, 0, toDelete.Count);
            return replaceNow.Concat(toDelete.Take(budget)).Select(p => (SetStep)new SetStep.DeletePod(NameOf(p), UidOf(p))).ToList();
        }

        var steps = new List<SetStep>();
        var surging = 0;
        var allowedNew = new List<string>();
        var candidateNew = new List<string>();
        foreach (var node in candidates)
        {
            var (updated, old, ok) = UpdatedAndOld(byNode.GetValueOrDefault(node) ?? [], hash);
            if (!ok) { surging++; continue; }
            if (old is null) continue;
            if (updated is null)
            {
                if (!available(old))
                {
                    if (!fits[node].ShouldRun) steps.Add(new SetStep.DeletePod(NameOf(old), UidOf(old)));
                    else allowedNew.Add(node);
                }
                else if (surging < surge) candidateNew.Add(node);
                continue;
            }
            if (!available(updated)) { surging++; continue; }
            steps.Add(new SetStep.DeletePod(NameOf(old), UidOf(old)));
        }
        var remaining = Math.Clamp(surge - surging, 0, candidateNew.Count);
        foreach (var node in allowedNew.Concat(candidateNew.Take(remaining)))
            steps.Add(new SetStep.CreatePod(NewPod(ds, hash, node)));
        return steps;
    }

    public static JsonObject ComputeStatus(JsonObject ds, Dictionary<string, NodeFit> fits, Dictionary<string, List<JsonObject>> byNode,
        string hash, Func<JsonObject, bool> available)
    {
        int desired = 0, current = 0, misscheduled = 0, ready = 0, availableCount = 0, updated = 0;
        foreach (var (node, fit) in fits)
        {
            var onNode = byNode.GetValueOrDefault(node)?.Where(p => !IsDeleting(p)).ToList() ?? [];
            if (fit.ShouldRun) desired++;
            if (onNode.Count == 0) continue;
            if (!fit.ShouldRun) { misscheduled++; continue; }
            current++;
            var pod = onNode[0]; // the oldest, as Kubernetes counts
            if (ReplicaSetLogic.IsReady(pod))
            {
                ready++;
                if (available(pod)) availableCount++;
            }
            if (IsUpdated(pod, hash)) updated++;
        }
        var status = new JsonObject
        {
            ["observedGeneration"] = Long(Meta(ds)["generation"]),
            ["desiredNumberScheduled"] = desired,
            ["currentNumberScheduled"] = current,
            ["numberMisscheduled"] = misscheduled,
            ["numberReady"] = ready,
            ["numberAvailable"] = availableCount,
            ["updatedNumberScheduled"] = updated,
            ["numberUnavailable"] = Math.Max(desired - availableCount, 0),
            ["collisionCount"] = Long(ds["status"]?["collisionCount"]),
        };
        return status;
    }
}
