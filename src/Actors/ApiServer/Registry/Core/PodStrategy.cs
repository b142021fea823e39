using System.Globalization;
using System.Text.Json.Nodes;
using AkkaKube.Actors.Machinery;
using k8s.Models;
using static AkkaKube.Actors.ApiServer.Registry.Validation;

namespace AkkaKube.Actors.ApiServer.Registry.Core;

/// <summary>pods (core/v1): pod-spec defaulting and validation, DefaultTolerationSeconds, graceful deletion, binding and eviction.</summary>
public sealed class PodStrategy : ResourceStrategy
{
    public override IReadOnlyCollection<string> FieldLabels { get; } = FieldLabelSets.Pod;

    public override Type Model => typeof(V1Pod);

    public override void Default(JsonObject obj)
    {
        if (obj["spec"] is JsonObject spec) DefaultPodSpec(spec);
        Meta.Obj(obj, "status")["phase"] ??= "Pending";
        Meta.Obj(obj, "status")["qosClass"] ??= PodQos.Classify(obj["spec"] as JsonObject);
    }

    public override void PrepareForCreate(JsonObject obj, AdmissionContext context)
    {
        // ephemeral containers come only through pods/ephemeralcontainers, as in Kubernetes
        if (obj["spec"]?["ephemeralContainers"] is JsonArray { Count: > 0 })
            throw ApiException.Invalid(ApiResource.Pods, Meta.Field(obj, "name") ?? "", [Forbidden("spec.ephemeralContainers", "cannot be set on create")]);
        AddDefaultTolerations(obj, context.Settings.DefaultTolerationSeconds);
        // the class follows from the (defaulted) spec, whatever the client sent as status
        Meta.Obj(obj, "status")["qosClass"] = PodQos.Classify(obj["spec"] as JsonObject);
    }

    public override IEnumerable<StatusCause> Validate(JsonObject obj)
    {
        var causes = new List<StatusCause>();
        PodSpec(obj["spec"] as JsonObject, "spec", causes);
        PodEphemeralContainersSubresource.Validate(obj["spec"] as JsonObject, causes);
        return causes;
    }

    public override IEnumerable<StatusCause> ValidateUpdate(JsonObject obj, JsonObject old)
    {
        var a = MutableFieldsRemoved(old["spec"]?.DeepClone() as JsonObject);
        var b = MutableFieldsRemoved(obj["spec"]?.DeepClone() as JsonObject);
        if (!JsonNode.DeepEquals(a, b))
            yield return Forbidden("spec",
                "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)");
    }

    /// <summary>A pod spec without the fields an update may change (images, activeDeadlineSeconds, tolerations, scheduling gates).</summary>
    private static JsonObject? MutableFieldsRemoved(JsonObject? spec)
    {
        if (spec is null) return null;
        foreach (var list in new[] { "containers", "initContainers" })
            if (spec[list] is JsonArray cs)
                foreach (var c in cs.OfType<JsonObject>()) c.Remove("image");
        spec.Remove("activeDeadlineSeconds");
        spec.Remove("tolerations");
        spec.Remove("schedulingGates");
        return spec;
    }

    /// <summary>
    /// Pods are deleted gracefully like Kubernetes: one bound to a node and not finished gets deletionTimestamp = now +
    /// grace (the request's, else spec.terminationGracePeriodSeconds, else 30 s) and stays, Terminating, until its
    /// kubelet has stopped the containers and deletes it with grace 0. Everything else goes at once.
    /// </summary>
    public override long DeletionGracePeriod(JsonObject old, long? requested)
    {
        if (Meta.Str(old["spec"]?["nodeName"]).Length == 0) return 0;
        if (Meta.Str(old["status"]?["phase"]) is "Succeeded" or "Failed") return 0;
        if (requested is { } r) return Math.Max(0, r);
        return old["spec"]?["terminationGracePeriodSeconds"] is JsonValue v && v.TryGetValue<long>(out var spec) ? Math.Max(0, spec) : 30;
    }

    public override IReadOnlyList<TableColumn> Columns { get; } =
    [
        TableColumn.NameColumn,
        TableColumn.Of("Ready", PodReady),
        TableColumn.Of("Status", PodStatus),
        TableColumn.Of("Restarts", Restarts),
        TableColumn.AgeColumn,
        TableColumn.Of("IP", o => Cells.Or(Cells.S(o["status"]?["podIP"]), "<none>"), 1),
        TableColumn.Of("Node", o => Cells.Or(Cells.S(o["spec"]?["nodeName"]), "<none>"), 1),
        TableColumn.Of("Nominated Node", o => Cells.Or(Cells.S(o["status"]?["nominatedNodeName"]), "<none>"), 1),
        TableColumn.Of("Readiness Gates", ReadinessGates, 1),
    ];

    public override IReadOnlyDictionary<string, ISubresourceHook> Hooks { get; } = new Dictionary<string, ISubresourceHook>
    {
        ["binding"] = new PodBindingHook(),
        ["eviction"] = new PodEvictionHook(),
    };

    public override IReadOnlyDictionary<string, IPartialSubresource> PartialSubresources { get; } = new Dictionary<string, IPartialSubresource>
    {
        ["ephemeralcontainers"] = new PodEphemeralContainersSubresource(),
    };

    public override IReadOnlyDictionary<string, IHttpSubresource> HttpSubresources { get; } = new Dictionary<string, IHttpSubresource>
    {
        ["log"] = new PodLogSubresource(),
        ["exec"] = new PodExecSubresource(),
        ["attach"] = new PodAttachSubresource(),
        ["portforward"] = new PodPortForwardSubresource(),
    };

    // ---------------- defaulting (shared with every kind embedding a pod template) ----------------

    public static void DefaultPodSpec(JsonObject spec)
    {
        spec["restartPolicy"] ??= "Always";
        spec["terminationGracePeriodSeconds"] ??= 30;
        spec["dnsPolicy"] ??= "ClusterFirst";
        spec["schedulerName"] ??= "default-scheduler";
        spec["securityContext"] ??= new JsonObject();
        spec["enableServiceLinks"] ??= true;
        foreach (var list in new[] { "containers", "initContainers" })
            if (spec[list] is JsonArray containers)
                foreach (var c in containers.OfType<JsonObject>())
                {
                    c["imagePullPolicy"] ??= DefaultPullPolicy(Meta.Str(c["image"]));
                    c["terminationMessagePath"] ??= "/dev/termination-log";
                    c["terminationMessagePolicy"] ??= "File";
                    c["resources"] ??= new JsonObject();
                    ResourceRequirements.Default(c);
                    if (c["ports"] is JsonArray ports)
                        foreach (var p in ports.OfType<JsonObject>()) p["protocol"] ??= "TCP";
                }
        if (spec["ephemeralContainers"] is JsonArray ephemeral)
            foreach (var c in ephemeral.OfType<JsonObject>())
            {
                c["imagePullPolicy"] ??= DefaultPullPolicy(Meta.Str(c["image"]));
                c["terminationMessagePath"] ??= "/dev/termination-log";
                c["terminationMessagePolicy"] ??= "File";
            }
    }

    private static string DefaultPullPolicy(string image)
    {
        var lastSegment = image.Split('/')[^1];
        var tagged = lastSegment.Contains(':') && !lastSegment.EndsWith(":latest", StringComparison.Ordinal);
        return tagged || image.Contains('@') ? "IfNotPresent" : "Always";
    }

    /// <summary>Defaults the pod template of a workload (spec.template.spec).</summary>
    public static void DefaultTemplate(JsonObject? spec)
    {
        if (spec?["template"]?["spec"] is JsonObject podSpec) DefaultPodSpec(podSpec);
    }

    /// <summary>
    /// DefaultTolerationSeconds admission: a new pod tolerates the not-ready and unreachable NoExecute
    /// taints for a bounded time unless it already says how long, so pods leave a dead node on their own.
    /// </summary>
    public static void AddDefaultTolerations(JsonObject pod, long seconds)
    {
        var spec = Meta.Obj(pod, "spec");
        var tolerations = spec["tolerations"] as JsonArray ?? new JsonArray();
        foreach (var key in new[] { "node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable" })
        {
            var covered = tolerations.OfType<JsonObject>().Any(t =>
                (Meta.Str(t["effect"]) is "" or "NoExecute") &&
                (Meta.Str(t["key"]) == key || (Meta.Str(t["key"]) == "" && Meta.Str(t["operator"]) == "Exists")));
            if (!covered)
                tolerations.Add(new JsonObject { ["key"] = key, ["operator"] = "Exists", ["effect"] = "NoExecute", ["tolerationSeconds"] = seconds });
        }
        spec["tolerations"] = tolerations;
    }

    // ---------------- columns ----------------

    private static string PodReady(JsonObject o)
    {
        var total = (o["spec"]?["containers"] as JsonArray)?.Count ?? 0;
        var ready = (o["status"]?["containerStatuses"] as JsonArray)?.Count(cs => cs?["ready"] is JsonValue r && r.TryGetValue<bool>(out var b) && b) ?? 0;
        return $"{ready}/{total}";
    }

    /// <summary>
    /// The STATUS column as Kubernetes' pod printer computes it: the phase or status.reason; the first failing or waiting
    /// init container as "Init:…"; otherwise the reason of the first container that is waiting or terminated (a finished
    /// pod shows "Completed" or "Error", as the kubelet names the exit), "Running"/"NotReady" again while another runs;
    /// "Terminating" for a pod being deleted that has not finished.
    /// </summary>
    private static string PodStatus(JsonObject o)
    {
        var status = o["status"];
        var phase = Cells.S(status?["phase"]);
        var reason = Cells.S(status?["reason"]) is { Length: > 0 } r ? r : phase.Length > 0 ? phase : "Pending";
        var initializing = false;
        var initStatuses = (status?["initContainerStatuses"] as JsonArray)?.OfType<JsonObject>().ToList() ?? [];
        var initCount = (o["spec"]?["initContainers"] as JsonArray)?.Count ?? initStatuses.Count;
        for (var i = 0; i < initStatuses.Count; i++)
        {
            var state = initStatuses[i]["state"];
            var terminated = state?["terminated"] as JsonObject;
            if (terminated is not null && Cells.I(terminated["exitCode"]) == 0) continue;
            // a sidecar (the spec's init container with restartPolicy Always) that has started does not hold initialization
            var sidecar = Cells.S(o["spec"]?["initContainers"]?[i]?["restartPolicy"]) == "Always";
            if (sidecar && initStatuses[i]["started"] is JsonValue sv && sv.TryGetValue<bool>(out var started) && started) continue;
            var waiting = Cells.S(state?["waiting"]?["reason"]);
            reason = terminated is not null ? "Init:" + TerminatedReason(terminated)
                : waiting.Length > 0 && waiting != "PodInitializing" ? "Init:" + waiting
                : $"Init:{i}/{initCount}";
            initializing = true;
            break;
        }
        if (!initializing && status?["containerStatuses"] is JsonArray statuses)
        {
            var hasRunning = false;
            foreach (var cs in statuses.OfType<JsonObject>().Reverse())
            {
                var state = cs["state"];
                var waiting = Cells.S(state?["waiting"]?["reason"]);
                if (waiting.Length > 0) reason = waiting;
                else if (state?["terminated"] is JsonObject terminated) reason = TerminatedReason(terminated);
                else if (state?["running"] is not null && cs["ready"] is JsonValue rv && rv.TryGetValue<bool>(out var ready) && ready) hasRunning = true;
            }
            if (reason == "Completed" && hasRunning)
                reason = (status?["conditions"] as JsonArray)?.Any(c => Cells.S(c?["type"]) == "Ready" && Cells.S(c?["status"]) == "True") == true ? "Running" : "NotReady";
        }
        if (o["metadata"]?["deletionTimestamp"] is not null)
        {
            if (Cells.S(status?["reason"]) == "NodeLost") return "Unknown";
            if (phase is not ("Succeeded" or "Failed")) return "Terminating";
        }
        return reason;
    }

    private static string TerminatedReason(JsonObject terminated) =>
        Cells.S(terminated["reason"]) is { Length: > 0 } r ? r
        : Cells.I(terminated["signal"]) is var signal and not 0 ? $"Signal:{signal}"
        : $"ExitCode:{Cells.I(terminated["exitCode"])}";

    private static string Restarts(JsonObject o) =>
        ((o["status"]?["containerStatuses"] as JsonArray)?.Sum(cs => Cells.I(cs?["restartCount"])) ?? 0).ToString(CultureInfo.InvariantCulture);

    private static string ReadinessGates(JsonObject o)
    {
        if (o["spec"]?["readinessGates"] is not JsonArray gates || gates.Count == 0) return "<none>";
        var conditions = o["status"]?["conditions"] as JsonArray ?? [];
        var ok = gates.Count(g => conditions.Any(c => Cells.S(c?["type"]) == Cells.S(g?["conditionType"]) && Cells.S(c?["status"]) == "True"));
        return $"{ok}/{gates.Count}";
    }
}

/// <summary>pods/binding: the scheduler's write of spec.nodeName and the PodScheduled condition (409 when already bound).</summary>
internal sealed class PodBindingHook : ISubresourceHook
{
    private static readonly ApiResource Bindings = new("", "v1", "bindings", "Binding", true);

    public string Verb => "create";

    public async Task<(int Code, JsonNode Body)> HandleAsync(ApiPipeline.RequestScope c, string name)
    {
        var binding = c.ParseObject("Binding");
        var target = Meta.Str(binding["target"]?["name"]);
        if (target.Length == 0)
            throw ApiException.Invalid(Bindings, name, [Required("target.name")]);
        for (var attempt = 0; ; attempt++)
        {
            var pod = await c.GetAsync(name);
            if (Meta.Str(pod["spec"]?["nodeName"]) is { Length: > 0 } bound)
                throw new ApiException(409, "Conflict", $"Operation cannot be fulfilled on pods/binding \"{name}\": pod {name} is already assigned to node \"{bound}\"",
                    ApiException.DetailsFor(new ApiResource("", "v1", "pods/binding", "Binding", true), name));
            if (pod["metadata"]?["deletionTimestamp"] is not null)
                throw new ApiException(409, "Conflict", $"Operation cannot be fulfilled on pods/binding \"{name}\": pod {name} is being deleted");
            Meta.Obj(pod, "spec")["nodeName"] = target;
            var status = Meta.Obj(pod, "status");
            var conditions = status["conditions"] as JsonArray ?? [];
            var scheduled = new JsonObject { ["type"] = "PodScheduled", ["status"] = "True", ["lastProbeTime"] = null, ["lastTransitionTime"] = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture) };
            var copy = new JsonArray();
            foreach (var cond in conditions) if (Meta.Str(cond?["type"]) != "PodScheduled") copy.Add(cond?.DeepClone());
            copy.Add(scheduled);
            status["conditions"] = copy;
            try
            {
                await c.WriteStoredAsync(pod);
                return (201, ApiStatus.Success(code: 201));
            }
            catch (ApiException e) when (e.Code == 409 && e.Reason == "Conflict" && attempt < 4)
            {
            }
        }
    }
}

/// <summary>pods/eviction (policy/v1 Eviction): the eviction policy (PodDisruptionBudgets) decides, then a normal delete.</summary>
internal sealed class PodEvictionHook : ISubresourceHook
{
    public string Verb => "create";

    public async Task<(int Code, JsonNode Body)> HandleAsync(ApiPipeline.RequestScope c, string name)
    {
        var eviction = c.ParseObject("Eviction");
        var pod = await c.GetAsync(name);
        await c.Pipeline.Evictions.CheckAsync(pod, eviction, c.Ct);
        var uid = Meta.Str(eviction["deleteOptions"]?["preconditions"]?["uid"]);
        var rv = Meta.Str(eviction["deleteOptions"]?["preconditions"]?["resourceVersion"]);
        var dry = c.DryRun || (eviction["deleteOptions"]?["dryRun"] is JsonArray dr && dr.Any(x => Meta.Str(x) == "All"));
        var grace = eviction["deleteOptions"] is JsonObject deleteOptions ? ApiPipeline.GraceOf(deleteOptions) : null;
        await c.DeleteAsync(name, new ApiPipeline.DeleteOpts(null, uid.Length == 0 ? null : uid, rv.Length == 0 ? null : rv, dry, grace));
        return (201, ApiStatus.Success(code: 201));
    }
}

/// <summary>pods/log: streamed by the HTTP front from the pod's kubelet (<see cref="PodLogEndpoint"/>).</summary>
internal sealed class PodLogSubresource : IHttpSubresource
{
    public Task ServeAsync(Microsoft.AspNetCore.Http.HttpContext ctx, Akka.Actor.ActorSystem system, string ns, string name, IReadOnlyDictionary<string, string> query) =>
        PodLogEndpoint.ServeAsync(ctx, system, ns, name, query);
}

/// <summary>pods/exec: a WebSocket to a command in the container, through the pod's kubelet (<see cref="Streaming.PodExecEndpoint"/>).</summary>
internal sealed class PodExecSubresource : IHttpSubresource
{
    public IReadOnlyCollection<string> Verbs => ["get", "create"];

    public Task ServeAsync(Microsoft.AspNetCore.Http.HttpContext ctx, Akka.Actor.ActorSystem system, string ns, string name, IReadOnlyDictionary<string, string> query) =>
        Streaming.PodExecEndpoint.ServeAsync(ctx, system, ns, name);
}

/// <summary>pods/attach: a WebSocket to the container's own process, through the pod's kubelet (<see cref="Streaming.PodExecEndpoint"/>).</summary>
internal sealed class PodAttachSubresource : IHttpSubresource
{
    public IReadOnlyCollection<string> Verbs => ["get", "create"];

    public Task ServeAsync(Microsoft.AspNetCore.Http.HttpContext ctx, Akka.Actor.ActorSystem system, string ns, string name, IReadOnlyDictionary<string, string> query) =>
        Streaming.PodExecEndpoint.ServeAttachAsync(ctx, system, ns, name);
}

/// <summary>pods/portforward: SPDY/3.1 tunneled in a WebSocket, each connection relayed to the pod's kubelet (<see cref="Streaming.PortForwardEndpoint"/>).</summary>
internal sealed class PodPortForwardSubresource : IHttpSubresource
{
    public IReadOnlyCollection<string> Verbs => ["get", "create"];

    public Task ServeAsync(Microsoft.AspNetCore.Http.HttpContext ctx, Akka.Actor.ActorSystem system, string ns, string name, IReadOnlyDictionary<string, string> query) =>
        Streaming.PortForwardEndpoint.ServeAsync(ctx, system, ns, name);
}
