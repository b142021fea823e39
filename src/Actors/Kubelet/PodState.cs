using System.Globalization;
using System.Text.Json.Nodes;

namespace AkkaKube.Actors.Kubelet;

/// <summary>A finished container instance (status.containerStatuses[].state/lastState.terminated).</summary>
public sealed record TerminatedInfo(int ExitCode, string Reason, string? Message, DateTimeOffset StartedAt, DateTimeOffset FinishedAt, string ContainerId, string? Signal = null);

public enum ContainerPhase { Waiting, Running, Terminated }

/// <summary>The kubelet's view of one container of a pod (mutable, owned by the PodWorker).</summary>
public sealed class ContainerState(string name, string image, bool isInit)
{
    public string Name { get; } = name;
    public string Image { get; } = image;
    public bool IsInit { get; } = isInit;
    /// <summary>An ephemeral container (kubectl debug): never restarted, not part of the pod's phase or readiness.</summary>
    public bool IsEphemeral { get; init; }
    /// <summary>
    /// A native sidecar: an init container with restartPolicy Always. It lets initialization go on once it has started,
    /// runs beside the containers, is restarted whenever it ends, counts for readiness but not for the pod's phase.
    /// </summary>
    public bool IsSidecar { get; init; }
    /// <summary>A sidecar reached Started once (initialization does not wait for it again after a restart).</summary>
    public bool HasStarted { get; set; }
    /// <summary>Done as far as initialization goes: an init container succeeded, a sidecar started.</summary>
    public bool InitDone => IsSidecar ? HasStarted || Started : Succeeded;
    public ContainerPhase Phase { get; set; } = ContainerPhase.Waiting;
    public string WaitingReason { get; set; } = "ContainerCreating";
    public string? WaitingMessage { get; set; }
    public DateTimeOffset? StartedAt { get; set; }
    public TerminatedInfo? Terminated { get; set; }
    public TerminatedInfo? LastTerminated { get; set; }
    /// <summary>Instances started so far (the next instance's attempt number).</summary>
    public int Starts { get; set; }
    public int RestartCount => Math.Max(0, Starts - 1);
    public bool Ready { get; set; }
    public bool Started { get; set; }
    public string? ContainerId { get; set; }
    public string? ImageId { get; set; }
    /// <summary>False once the container ended and the restart policy keeps it ended.</summary>
    public bool WillRestart { get; set; } = true;
    public int StartFailures { get; set; }

    public bool Succeeded => Phase == ContainerPhase.Terminated && Terminated?.ExitCode == 0;
    public bool Done => Phase == ContainerPhase.Terminated && !WillRestart;
}

/// <summary>Restart rules of Kubernetes (pure).</summary>
public static class RestartRules
{
    /// <summary>Does a container that exited with <paramref name="exitCode"/> get restarted?</summary>
    public static bool ShouldRestart(string? restartPolicy, bool isInit, int exitCode, bool podTerminating)
    {
        if (podTerminating) return false;
        var policy = restartPolicy ?? "Always";
        if (isInit)
            // Init containers must succeed; a failed one is retried unless the pod never restarts.
            return exitCode != 0 && policy != "Never";
        return policy switch
        {
            "Always" => true,
            "OnFailure" => exitCode != 0,
            _ => false,
        };
    }
}

/// <summary>Builds status of a pod from the kubelet's view (pure).</summary>
public static class PodStatusBuilder
{
    public static string Phase(IReadOnlyList<ContainerState> init, IReadOnlyList<ContainerState> main, bool initialized)
    {
        if (init.Any(c => !c.IsSidecar && c.Done && !c.Succeeded)) return "Failed";
        if (!initialized) return "Pending";
        if (main.Count > 0 && main.All(c => c.Done))
            return main.All(c => c.Succeeded) ? "Succeeded" : "Failed";
        if (main.Any(c => c.Phase == ContainerPhase.Running || c.Starts > 0)) return "Running";
        return "Pending";
    }

    public static JsonObject Build(
        IReadOnlyList<ContainerState> init, IReadOnlyList<ContainerState> main, bool initialized,
        string? podIp, string hostIp, DateTimeOffset startTime, IDictionary<string, DateTimeOffset> transitions,
        DateTimeOffset now, JsonObject? previousConditions = null, IReadOnlyList<ContainerState>? ephemeral = null, string qosClass = "BestEffort")
    {
        var phase = Phase(init, main, initialized);
        // Sidecars' readiness counts as the containers' does (Kubernetes' ContainersReady includes restartable init containers).
        var containersReady = main.Count > 0 && main.All(c => c.Ready) && init.Where(c => c.IsSidecar).All(c => c.Ready);
        var terminal = phase is "Succeeded" or "Failed";

        JsonObject Condition(string type, bool status, string? reason = null)
        {
            var s = status ? "True" : "False";
            var key = type + "=" + s;
            if (!transitions.TryGetValue(key, out var t))
            {
                t = now;
                transitions[key] = t;
                transitions.Remove(type + "=" + (status ? "False" : "True"));
            }
            var o = new JsonObject { ["type"] = type, ["status"] = s, ["lastProbeTime"] = null, ["lastTransitionTime"] = NodeObjects.Time(t) };
            if (reason is not null && !status) o["reason"] = reason;
            return o;
        }

        var notReadyReason = terminal ? "PodCompleted" : "ContainersNotReady";
        var status = new JsonObject
        {
            ["phase"] = phase,
            ["conditions"] = new JsonArray(
                Condition("PodReadyToStartContainers", podIp is not null),
                Condition("Initialized", initialized, terminal ? "PodCompleted" : "ContainersNotInitialized"),
                Condition("Ready", containersReady && !terminal, notReadyReason),
                Condition("ContainersReady", containersReady && !terminal, notReadyReason),
                Condition("PodScheduled", true)),
            ["hostIP"] = hostIp,
            ["hostIPs"] = new JsonArray(new JsonObject { ["ip"] = hostIp }),
            ["startTime"] = NodeObjects.Time(startTime),
            ["qosClass"] = qosClass,
        };
        if (podIp is not null)
        {
            status["podIP"] = podIp;
            status["podIPs"] = new JsonArray(new JsonObject { ["ip"] = podIp });
        }
        if (init.Count > 0)
            status["initContainerStatuses"] = new JsonArray(init.Select(ContainerStatus).ToArray<JsonNode?>());
        status["containerStatuses"] = new JsonArray(main.Select(ContainerStatus).ToArray<JsonNode?>());
        if (ephemeral is { Count: > 0 })
            status["ephemeralContainerStatuses"] = new JsonArray(ephemeral.Select(ContainerStatus).ToArray<JsonNode?>());
        return status;
    }

    public static JsonObject ContainerStatus(ContainerState c)
    {
        var o = new JsonObject
        {
            ["name"] = c.Name,
            ["state"] = State(c),
            ["lastState"] = c.LastTerminated is { } last ? new JsonObject { ["terminated"] = Terminated(last) } : new JsonObject(),
            ["ready"] = c.Ready,
            ["restartCount"] = c.RestartCount,
            ["image"] = c.Image,
            ["imageID"] = c.ImageId ?? "",
            ["started"] = c.Phase == ContainerPhase.Running && c.Started,
        };
        if (c.ContainerId is not null) o["containerID"] = c.ContainerId;
        return o;
    }

    private static JsonObject State(ContainerState c) => c.Phase switch
    {
        ContainerPhase.Running => new JsonObject { ["running"] = new JsonObject { ["startedAt"] = NodeObjects.Time(c.StartedAt ?? DateTimeOffset.UtcNow) } },
        ContainerPhase.Terminated when c.Terminated is { } t => new JsonObject { ["terminated"] = Terminated(t) },
        _ => new JsonObject
        {
            ["waiting"] = c.WaitingMessage is null
                ? new JsonObject { ["reason"] = c.WaitingReason }
                : new JsonObject { ["reason"] = c.WaitingReason, ["message"] = c.WaitingMessage },
        },
    };

    private static JsonObject Terminated(TerminatedInfo t)
    {
        var o = new JsonObject
        {
            ["exitCode"] = t.ExitCode,
            ["reason"] = t.Reason,
            ["startedAt"] = NodeObjects.Time(t.StartedAt),
            ["finishedAt"] = NodeObjects.Time(t.FinishedAt),
            ["containerID"] = t.ContainerId,
        };
        if (t.Message is not null) o["message"] = t.Message;
        if (t.ExitCode > 128) o["signal"] = t.ExitCode - 128;
        return o;
    }
}

/// <summary>
/// Restores the kubelet's view of a pod's containers from the status it wrote earlier (pure): used when a pod worker
/// restarts (`chaos crash-actor`) or is re-created by the kubelet, so restart counts, last states and ended containers
/// survive — the runtime (the container actors) then confirms what still runs.
/// </summary>
public static class PodStatusRestore
{
    /// <summary>Applies containerStatuses (or initContainerStatuses) to <paramref name="containers"/>; unknown names are left as they are.</summary>
    public static void Apply(IReadOnlyList<ContainerState> containers, JsonArray? statuses)
    {
        foreach (var c in containers)
        {
            if (statuses?.OfType<JsonObject>().FirstOrDefault(x => Str(x["name"]) == c.Name) is not { } s) continue;
            var restarts = s["restartCount"] is JsonValue v && v.TryGetValue<int>(out var n) ? n : 0;
            var last = s["lastState"]?["terminated"] as JsonObject;
            c.LastTerminated = last is null ? null : Terminated(last);
            if (Str(s["imageID"]) is { Length: > 0 } image) c.ImageId = image;
            c.ContainerId = Str(s["containerID"]) ?? c.ContainerId;
            var state = s["state"] as JsonObject;
            if (state?["running"] is JsonObject running)
            {
                c.Phase = ContainerPhase.Running;
                c.StartedAt = Time(running["startedAt"]);
                c.Starts = restarts + 1;
                c.Ready = s["ready"]?.GetValue<bool>() == true;
                c.Started = s["started"]?.GetValue<bool>() == true;
            }
            else if (state?["terminated"] is JsonObject terminated)
            {
                // Shown as terminated only when it stays ended (a restarting one shows waiting/CrashLoopBackOff).
                c.Phase = ContainerPhase.Terminated;
                c.Terminated = Terminated(terminated);
                c.WillRestart = false;
                c.Starts = restarts + 1;
            }
            else
            {
                c.Phase = ContainerPhase.Waiting;
                if (state?["waiting"] is JsonObject waiting)
                {
                    c.WaitingReason = Str(waiting["reason"]) ?? c.WaitingReason;
                    c.WaitingMessage = Str(waiting["message"]);
                }
                c.Starts = restarts + (last is null ? 0 : 1);
            }
        }
    }

    /// <summary>The condition transition times of a status (type=status → time), so they do not move on a re-sync.</summary>
    public static void Transitions(JsonObject? status, IDictionary<string, DateTimeOffset> transitions)
    {
        foreach (var c in (status?["conditions"] as JsonArray)?.OfType<JsonObject>() ?? [])
            if (Str(c["type"]) is { } type && Str(c["status"]) is { } st && Time(c["lastTransitionTime"]) is { } t)
                transitions[type + "=" + st] = t;
    }

    private static string? Str(JsonNode? n) => n is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    public static DateTimeOffset? Time(JsonNode? n) =>
        Str(n) is { } s && DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t) ? t : null;

    private static TerminatedInfo Terminated(JsonObject t) => new(
        t["exitCode"] is JsonValue v && v.TryGetValue<int>(out var code) ? code : 0,
        Str(t["reason"]) ?? "",
        Str(t["message"]),
        Time(t["startedAt"]) ?? DateTimeOffset.MinValue,
        Time(t["finishedAt"]) ?? DateTimeOffset.MinValue,
        Str(t["containerID"]) ?? "");
}
