using System.Globalization;
using System.Text.Json.Nodes;
using Akka.Actor;
using AkkaKube.Actors.ApiServer.CustomResources;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Kubelet;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.Controllers.HorizontalPodAutoscaler;

/// <summary>
/// The horizontal pod autoscaler (autoscaling/v2) on <see cref="ControllerBase"/>: every HPA is reconciled each
/// <see cref="ControllerSettings.HpaSyncPeriod"/> (Kubernetes' --horizontal-pod-autoscaler-sync-period, 15 s). A sync
/// resolves the scale target (<see cref="ScaleTargets"/>) and reads its autoscaling/v1 Scale — from the shared informers
/// for Deployment, ReplicaSet, StatefulSet and ReplicationController, from the apiserver's scale subresource for a custom
/// resource whose definition declares one — selects its pods with the Scale's selector, asks the kubelets of their nodes
/// for usage (the samples behind the metrics API), decides with <see cref="HpaLogic"/>, sets the target's replicas
/// through its scale subresource and writes the HPA's status.
/// </summary>
public sealed class HorizontalPodAutoscalerController : ControllerBase
{
    private static readonly ApiResource Definitions = CustomResourceDefinitionSpec.Resource;

    private readonly Func<DateTime> _now;
    /// <summary>Per HPA key; read and changed only by that key's reconcile (ControllerBase runs one per key at a time).</summary>
    private readonly Dictionary<string, HpaHistory> _histories = new(StringComparer.Ordinal);

    public HorizontalPodAutoscalerController(IKubeApi api, ControllerSettings settings, Func<DateTime>? now) : base(api, settings) =>
        _now = now ?? (() => DateTime.UtcNow);

    public static Props Props(IKubeApi api, ControllerSettings settings, Func<DateTime>? now = null) =>
        Akka.Actor.Props.Create(() => new HorizontalPodAutoscalerController(api, settings, now));

    protected override string Name => ControllerNames.HorizontalPodAutoscaler;
    protected override string Component => "horizontal-pod-autoscaler";
    protected override IEnumerable<ApiResource> Watched =>
        [ApiResource.HorizontalPodAutoscalers, ApiResource.Pods, ApiResource.Nodes, Definitions, .. ScaleTargets.Cached];

    protected override void OnSynced(ApiResource resource, bool first)
    {
        if (resource == ApiResource.HorizontalPodAutoscalers)
            foreach (var key in CacheOf(resource).Keys) Enqueue(key);
    }

    protected override void OnAdded(ApiResource resource, string key, JsonObject obj)
    {
        if (resource == ApiResource.HorizontalPodAutoscalers) Enqueue(key);
    }

    protected override void OnUpdated(ApiResource resource, string key, JsonObject old, JsonObject obj)
    {
        // Only a spec change needs a sync before the period; status writes (ours) do not.
        if (resource == ApiResource.HorizontalPodAutoscalers && Long(Meta(old)["generation"]) != Long(Meta(obj)["generation"])) Enqueue(key);
    }

    protected override void OnDeleted(ApiResource resource, string key, JsonObject lastKnown)
    {
        if (resource == ApiResource.HorizontalPodAutoscalers) _histories.Remove(key);
    }

    protected override ReconcileAction? Plan(string key)
    {
        if (!CacheOf(ApiResource.HorizontalPodAutoscalers).TryGetValue(key, out var hpa) || IsDeleting(hpa)) return null;
        var ns = NamespaceOf(hpa) ?? "default";
        var period = Settings.HpaSyncPeriod;
        var reference = hpa["spec"]?["scaleTargetRef"] as JsonObject;
        var targetName = Str(reference?["name"]) ?? "";
        if (!_histories.TryGetValue(key, out var history)) _histories[key] = history = new HpaHistory();

        var resolved = ScaleTargets.Resolve(Str(reference?["apiVersion"]), Str(reference?["kind"]), CacheOf(Definitions).Values);
        if (resolved.Target is not { } target)
            return Report(hpa, ns, null, "FailedGetScale", $"the HPA controller was unable to get the target's current scale: {resolved.Failure}", period);
        JsonObject? cachedScale = null;
        if (target.FromCache)
        {
            if (!CacheOf(target.Resource).TryGetValue($"{ns}/{targetName}", out var obj))
                return Report(hpa, ns, null, "FailedGetScale", $"the HPA controller was unable to get the target's current scale: {target.Resource.QualifiedName} \"{targetName}\" not found", period);
            cachedScale = ScaleSubresource.ToScale(obj, ScalePaths.Default);
        }
        // The caches are immutable snapshots: safe to read from the reconcile's task.
        var cluster = new ClusterView(Context.System, StoreOf(ApiResource.Pods), CacheOf(ApiResource.Nodes));
        var now = _now;

        return async api =>
        {
            JsonObject scale;
            if (cachedScale is not null) scale = cachedScale;
            else
                try
                {
                    scale = await api.GetAsync(target.Resource, ns, targetName, "scale").ConfigureAwait(false);
                }
                catch (KubeApiException e)
                {
                    // A missing object or subresource, or an apiserver that did not answer: reported, retried next period.
                    return await Report(hpa, ns, null, "FailedGetScale", $"the HPA controller was unable to get the target's current scale: {e.Message}", period)(api).ConfigureAwait(false);
                }
            await Sync(api, hpa, ns, target.Resource, targetName, scale, cluster, history, now()).ConfigureAwait(false);
            return period;
        };
    }

    /// <summary>What a sync reads besides the Scale: the pods and nodes caches, and the system that reaches the kubelets.</summary>
    private sealed record ClusterView(ActorSystem System, InformerStore Pods, IReadOnlyDictionary<string, JsonObject> Nodes);

    /// <summary>The usage of the pods <paramref name="selector"/> picks in <paramref name="ns"/>, as the HPA's algorithm takes it.</summary>
    private static async Task<List<PodSample>> SamplePods(ClusterView cluster, string ns, LabelSelector selector)
    {
        var pods = cluster.Pods.By(InformerIndex.Namespace, ns)
            .Where(p => !IsDeleting(p) && Str(p["status"]?["phase"]) is not ("Succeeded" or "Failed")
                        && selector.Matches(Machinery.Meta.Labels(Meta(p)["labels"] as JsonObject)))
            .ToList();
        var nodes = pods.Select(p => Str(p["spec"]?["nodeName"])).OfType<string>().Distinct(StringComparer.Ordinal)
            .Select(n => cluster.Nodes.GetValueOrDefault(n)).OfType<JsonObject>().ToList();
        var samples = await KubeletUsage.AskAsync(cluster.System, nodes, CancellationToken.None).ConfigureAwait(false);
        var usageByUid = samples.Values.SelectMany(m => m.Pods).GroupBy(p => p.Uid)
            .ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        return pods.Select(p => Sample(p, usageByUid.GetValueOrDefault(UidOf(p)))).ToList();
    }

    private static PodSample Sample(JsonObject pod, KubeletProtocol.PodMetrics? metrics)
    {
        var requests = new Dictionary<string, decimal>(StringComparer.Ordinal);
        foreach (var c in (pod["spec"]?["containers"] as JsonArray ?? []).OfType<JsonObject>())
            foreach (var resource in new[] { "cpu", "memory" })
                if (HpaLogic.Parse(c["resources"]?["requests"]?[resource]) is { } q)
                    requests[resource] = requests.GetValueOrDefault(resource) + q;
                else if (!requests.ContainsKey(resource)) requests[resource] = 0; // a container without a request: utilization undefined
        var ready = (pod["status"]?["conditions"] as JsonArray)?.OfType<JsonObject>()
            .Any(c => Str(c["type"]) == "Ready" && Str(c["status"]) == "True") ?? false;
        Dictionary<string, decimal>? usage = null;
        if (metrics is not null)
            usage = new Dictionary<string, decimal>(StringComparer.Ordinal)
            {
                ["cpu"] = metrics.Containers.Sum(c => c.CpuNanoCores) / 1_000_000_000m,
                ["memory"] = metrics.Containers.Sum(c => c.MemoryBytes),
            };
        return new PodSample(NameOf(pod), ready, requests, usage);
    }

    private async Task Sync(IKubeApi api, JsonObject hpa, string ns, ApiResource targetResource, string targetName, JsonObject scale,
        ClusterView cluster, HpaHistory history, DateTime now)
    {
        var spec = hpa["spec"] as JsonObject ?? new JsonObject();
        var minReplicas = (int)Long(spec["minReplicas"], 1);
        var maxReplicas = (int)Long(spec["maxReplicas"], 1);
        var current = (int)Long(scale["spec"]?["replicas"]);
        var gotScale = Condition("AbleToScale", "True", "SucceededGetScale", "the HPA controller was able to get the target's current scale");
        if (current == 0 && minReplicas != 0)
        {
            await WriteStatus(api, hpa, ns, current, current, [], now, null, gotScale,
                Condition("ScalingActive", "False", "ScalingDisabled", "scaling is disabled since the replica count of the target is zero")).ConfigureAwait(false);
            return;
        }

        // Kubernetes' validateAndParseSelector: the Scale's status.selector picks the pods; none is not "all pods".
        var selectorText = Str(scale["status"]?["selector"]) ?? "";
        LabelSelector selector;
        try
        {
            selector = selectorText.Length == 0 ? throw new SelectorException("selector is required") : LabelSelector.Parse(selectorText);
        }
        catch (SelectorException e)
        {
            var (eventReason, message) = selectorText.Length == 0
                ? ("SelectorRequired", "the HPA target's scale is missing a selector")
                : ("InvalidSelector", $"couldn't convert selector into a corresponding internal selector object: {e.Message}");
            Record(hpa, "Warning", eventReason, selectorText.Length == 0 ? e.Message : message);
            await WriteStatus(api, hpa, ns, current, current, [], now, null, gotScale,
                Condition("ScalingActive", "False", "InvalidSelector", message)).ConfigureAwait(false);
            return;
        }
        var pods = await SamplePods(cluster, ns, selector).ConfigureAwait(false);

        var metrics = new List<MetricResult>();
        try
        {
            foreach (var metric in (spec["metrics"] as JsonArray ?? DefaultMetrics()).OfType<JsonObject>())
            {
                var type = Str(metric["type"]);
                if (type != "Resource")
                    throw new HpaException("InvalidMetricSourceType", $"metric type \"{type}\" is not supported by this autoscaler (Resource only)");
                var resource = Str(metric["resource"]?["name"]) ?? "";
                if (resource is not ("cpu" or "memory"))
                    throw new HpaException("InvalidMetricSourceType", $"resource \"{resource}\" has no metrics (cpu and memory do)");
                var t = metric["resource"]?["target"] as JsonObject;
                int? utilization = Str(t?["type"]) == "Utilization" ? (int)Long(t?["averageUtilization"]) : null;
                var average = Str(t?["type"]) == "AverageValue" ? HpaLogic.Parse(t?["averageValue"]) : null;
                if (utilization is null && average is null)
                    throw new HpaException("InvalidMetricSourceType", $"the {resource} target needs type Utilization with averageUtilization or AverageValue with averageValue");
                metrics.Add(HpaLogic.ForResource(resource, current, pods, utilization, average));
            }
        }
        catch (HpaException e)
        {
            Record(hpa, "Warning", e.Reason, e.Message);
            await WriteStatus(api, hpa, ns, current, current, metrics, now, null, gotScale,
                Condition("ScalingActive", "False", e.Reason, e.Message)).ConfigureAwait(false);
            return;
        }

        var best = metrics.MaxBy(m => m.DesiredReplicas)!;
        var behavior = spec["behavior"] as JsonObject;
        var (desired, limitedReason, limited, ableReason) = HpaLogic.Normalize(current, best.DesiredReplicas, minReplicas, maxReplicas,
            HpaLogic.RulesOf(behavior?["scaleUp"], HpaLogic.DefaultScaleUp), HpaLogic.RulesOf(behavior?["scaleDown"], HpaLogic.DefaultScaleDown), history, now);

        DateTime? scaledAt = null;
        if (desired != current)
        {
            var reason = $"{best.Description} {(desired > current ? "above" : "below")} target";
            try
            {
                // Through the scale subresource, whatever the kind: the apiserver maps spec.replicas to the kind's path.
                await api.PatchAsync(targetResource, ns, targetName, PatchType.Merge,
                    new JsonObject { ["spec"] = new JsonObject { ["replicas"] = desired } }.ToJsonString(), "scale").ConfigureAwait(false);
            }
            catch (KubeApiException e)
            {
                Record(hpa, "Warning", "FailedRescale", $"New size: {desired}; reason: {reason}; error: {e.Message}");
                await WriteStatus(api, hpa, ns, current, current, metrics, now, null,
                    Condition("AbleToScale", "False", "FailedUpdateScale", $"the HPA controller was unable to update the target scale: {e.Message}")).ConfigureAwait(false);
                throw;
            }
            HpaLogic.RecordScale(history, current, desired, now);
            scaledAt = now;
            Record(hpa, "Normal", "SuccessfulRescale", $"New size: {desired}; reason: {reason}");
        }
        await WriteStatus(api, hpa, ns, current, desired, metrics, now, scaledAt,
            Condition("AbleToScale", "True", ableReason, ableReason == "ReadyForNewScale"
                ? "recommended size matches current size" : "recent recommendations were higher than current one, applying the highest recent recommendation"),
            Condition("ScalingActive", "True", "ValidMetricFound", $"the HPA was able to successfully calculate a replica count from {best.Description}"),
            Condition("ScalingLimited", limited ? "True" : "False", limitedReason, limited
                ? $"the desired replica count is limited ({limitedReason})" : "the desired count is within the acceptable range")).ConfigureAwait(false);
    }

    private static JsonArray DefaultMetrics() =>
        // autoscaling/v2 without metrics: Kubernetes defaults to 80 % average CPU utilization.
        [new JsonObject { ["type"] = "Resource", ["resource"] = new JsonObject { ["name"] = "cpu", ["target"] = new JsonObject { ["type"] = "Utilization", ["averageUtilization"] = 80 } } }];

    private static JsonObject Condition(string type, string status, string reason, string message) => new()
    {
        ["type"] = type, ["status"] = status, ["reason"] = reason, ["message"] = message,
    };

    private static async Task WriteStatus(IKubeApi api, JsonObject hpa, string ns, int current, int desired, IReadOnlyList<MetricResult> metrics,
        DateTime now, DateTime? scaledAt, params JsonObject[] conditions)
    {
        var old = hpa["status"] as JsonObject;
        var stamp = now.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        var oldConditions = (old?["conditions"] as JsonArray)?.OfType<JsonObject>().ToDictionary(c => Str(c["type"]) ?? "", StringComparer.Ordinal) ?? [];
        foreach (var c in conditions)
            c["lastTransitionTime"] = oldConditions.TryGetValue(Str(c["type"]) ?? "", out var o) && Str(o["status"]) == Str(c["status"])
                ? o["lastTransitionTime"]?.DeepClone() : stamp;
        var status = new JsonObject
        {
            ["observedGeneration"] = Long(Meta(hpa)["generation"]),
            ["currentReplicas"] = current,
            ["desiredReplicas"] = desired,
            ["currentMetrics"] = new JsonArray([.. metrics.Select(m => (JsonNode)new JsonObject
            {
                ["type"] = "Resource",
                ["resource"] = new JsonObject
                {
                    ["name"] = m.Resource,
                    ["current"] = m.Utilization is { } u
                        ? new JsonObject { ["averageUtilization"] = u, ["averageValue"] = HpaLogic.FormatValue(m.Resource, m.AverageValue) }
                        : new JsonObject { ["averageValue"] = HpaLogic.FormatValue(m.Resource, m.AverageValue) },
                },
            })]),
            ["conditions"] = new JsonArray([.. conditions]),
        };
        if (scaledAt is { } at) status["lastScaleTime"] = at.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        else if (old?["lastScaleTime"] is { } last) status["lastScaleTime"] = last.DeepClone();
        if (metrics.Count == 0) status.Remove("currentMetrics");
        // Unchanged apart from timestamps: no write (a status update per HPA per period otherwise).
        if (old is not null && JsonNode.DeepEquals(Without(old, "lastTransitionTime"), Without(status, "lastTransitionTime"))) return;

        var updated = (JsonObject)hpa.DeepClone();
        updated["status"] = status;
        try
        {
            await api.UpdateAsync(ApiResource.HorizontalPodAutoscalers, ns, updated, "status").ConfigureAwait(false);
        }
        catch (KubeApiException e) when (e.IsConflict || e.IsNotFound)
        {
            // A newer HPA (re-synced at once) or a deleted one: nothing to write.
        }
    }

    private static JsonNode Without(JsonObject status, string field)
    {
        var copy = (JsonObject)status.DeepClone();
        foreach (var c in (copy["conditions"] as JsonArray ?? []).OfType<JsonObject>()) c.Remove(field);
        return copy;
    }

    private ReconcileAction Report(JsonObject hpa, string ns, int? current, string reason, string message, TimeSpan period)
    {
        Record(hpa, "Warning", reason, message);
        var now = _now();
        return async api =>
        {
            await WriteStatus(api, hpa, ns, current ?? 0, current ?? 0, [], now, null,
                Condition("AbleToScale", "False", reason, message)).ConfigureAwait(false);
            return period;
        };
    }
}
