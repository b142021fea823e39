using System.Text.Json.Nodes;
using Akka.Actor;
using Akka.Cluster.Hosting;
using Akka.Event;
using Akka.Hosting;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Cluster;
using AkkaKube.Actors.Scheduler.Framework;
using k8s;
using k8s.Models;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.Scheduler;

public static class SchedulerProtocol
{
    /// <summary>Counters of the scheduler (for tests, the benchmark and `akkakube` inspection).</summary>
    public sealed class GetStats
    {
        public static readonly GetStats Instance = new();
    }

    public sealed record Stats(
        int Nodes, int CachedPods, int Active, int Backoff, int Unschedulable, int InFlightBindings,
        long Scheduled, long Bound, long FailedAttempts, long BindErrors) : Serialization.IAkkaKubeMessage;

    /// <summary>Inspection (`akkakube cmd … kube scheduler`, from any node through the singleton proxy): counters and the last decisions.</summary>
    public sealed record GetStatus(int Last = 20) : Serialization.IAkkaKubeMessage;

    /// <summary>One scheduling outcome. Outcome is "bound" (Node set), "unschedulable" or "bind-failed" (Reason set).</summary>
    public sealed record Decision(DateTime Time, string Pod, string? Node, string Outcome, string? Reason) : Serialization.IAkkaKubeMessage;

    /// <summary>Counters plus the newest decisions, newest first.</summary>
    public sealed record Status(Stats Stats, IReadOnlyList<Decision> Recent) : Serialization.IAkkaKubeMessage;

    public static class Outcomes
    {
        public const string Bound = "bound";
        public const string Unschedulable = "unschedulable";
        public const string BindFailed = "bind-failed";
    }
}

/// <summary>
/// kube-scheduler as an actor (a Cluster Singleton on the control-plane role). Informers on pods and nodes feed
/// the <see cref="SchedulingQueue"/> and the <see cref="SchedulerCache"/>; each scheduling cycle runs the plugin
/// framework (<see cref="SchedulingAlgorithm"/>) over the cache, assumes the pod on the chosen node and binds it
/// through POST pods/{name}/binding. The actor only drives the cycle; all decisions live in the pure classes.
/// </summary>
public sealed class SchedulerActor : ReceiveActor, IWithTimers, Chaos.ITakesInjectedCrashes
{
    private const string FlushTimer = "flush";
    public static readonly TimeSpan FlushInterval = TimeSpan.FromSeconds(1);

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly IKubeApi _api;
    private readonly SchedulerSettings _settings;
    private readonly Func<DateTime> _now;
    private readonly SchedulingQueue _queue;
    private readonly SchedulerCache _cache = new();
    private readonly Plugins.VolumeBinding.VolumeSnapshot _volumes = new();
    private readonly SchedulingAlgorithm _algorithm;
    /// <summary>Last seen unassigned pods of ours, by key (the queue holds PodInfos; this holds the JSON for status patches).</summary>
    private readonly Dictionary<string, string> _lastCondition = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _nodeFingerprints = new(StringComparer.Ordinal);
    private IActorRef _recorder = ActorRefs.Nobody;
    private bool _podsSynced, _nodesSynced, _kickPending;
    private int _inFlightBindings;
    private long _scheduled, _bound, _failed, _bindErrors;
    /// <summary>How many recent decisions the scheduler keeps for inspection.</summary>
    public const int DecisionHistory = 200;
    private readonly LinkedList<SchedulerProtocol.Decision> _decisions = new();

    public ITimerScheduler Timers { get; set; } = null!;

    private sealed class Kick { public static readonly Kick Instance = new(); }
    private sealed class Flush { public static readonly Flush Instance = new(); }
    private sealed record Bound(PodInfo Pod, string Node);
    private sealed record BindFailed(PodInfo Pod, string Node, Exception Error);
    /// <summary>Failed: the condition was not written (a 403 before the scheduler's role is bootstrapped, a timeout) and is written again at the next attempt.</summary>
    private sealed record StatusPatched(string Key, string? Failed = null);

    public SchedulerActor(IKubeApi api, SchedulerSettings settings, Func<DateTime>? now, string? leaseNode = null)
    {
        _api = api;
        _leaseNode = leaseNode;
        _settings = settings;
        _now = now ?? (() => DateTime.UtcNow);
        _queue = new SchedulingQueue(settings, _now);
        _algorithm = SchedulingAlgorithm.CreateDefault(settings, seed: Environment.TickCount, volumes: _volumes);

        Receive<InformerProtocol.Synced>(OnSynced);
        Receive<InformerProtocol.Added>(e => OnObject(e.Resource, e.Key, null, e.Object));
        Receive<InformerProtocol.Updated>(e => OnObject(e.Resource, e.Key, e.Old, e.New));
        Receive<InformerProtocol.Deleted>(e => OnDeleted(e.Resource, e.Key));
        Receive<Kick>(_ => { _kickPending = false; ScheduleBatch(); });
        Receive<Flush>(_ =>
        {
            if (_queue.Flush() > 0) KickSoon();
            SchedulerMetrics.Pending(_queue.ActiveCount, _queue.BackoffCount, _queue.UnschedulableCount);
        });
        Receive<Bound>(OnBound);
        Receive<BindFailed>(OnBindFailed);
        Receive<StatusPatched>(p =>
        {
            if (p.Failed is not null && _lastCondition.TryGetValue(p.Key, out var current) && current == p.Failed) _lastCondition.Remove(p.Key);
        });
        Receive<Chaos.ChaosProtocol.InjectCrash>(_ => throw new Chaos.InjectedCrashException("the scheduler"));
        Receive<Chaos.ChaosProtocol.GetResync>(_ => Sender.Tell(new Chaos.ChaosProtocol.Resynced(_podsSynced && _nodesSynced
            ? "re-listed nodes and pods (informers synced; the scheduling queue is rebuilt from the pod list)"
            : "informers still listing")));
        Receive<SchedulerProtocol.GetStats>(_ => Sender.Tell(CurrentStats()));
        Receive<SchedulerProtocol.GetStatus>(g => Sender.Tell(new SchedulerProtocol.Status(CurrentStats(),
            _decisions.Take(Math.Clamp(g.Last, 0, DecisionHistory)).ToList())));
    }

    private SchedulerProtocol.Stats CurrentStats() => new(
        _cache.NodeCount, _cache.PodCount, _queue.ActiveCount, _queue.BackoffCount, _queue.UnschedulableCount,
        _inFlightBindings, _scheduled, _bound, _failed, _bindErrors);

    private void Record(PodInfo pod, string? node, string outcome, string? reason)
    {
        _decisions.AddFirst(new SchedulerProtocol.Decision(_now(), pod.Key, node, outcome, reason));
        while (_decisions.Count > DecisionHistory) _decisions.RemoveLast();
    }

    /// <summary>The kube-system/kube-scheduler Lease names this node (null: no lease, e.g. tests of the scheduler alone).</summary>
    private readonly string? _leaseNode;

    public static Props Props(IKubeApi api, SchedulerSettings settings, Func<DateTime>? now = null, string? leaseNode = null) =>
        Akka.Actor.Props.Create(() => new SchedulerActor(api, settings, now, leaseNode));

    protected override void PreStart()
    {
        _recorder = Context.ActorOf(EventRecorder.Props(_api, _settings.SchedulerName), "events");
        SharedInformers.Get(Context.System).Subscribe(_api, new InformerOptions(ApiResource.Nodes), Self);
        SharedInformers.Get(Context.System).Subscribe(_api, new InformerOptions(ApiResource.Pods), Self);
        if (_settings.EnabledPlugins.Contains(Plugins.VolumeBinding.VolumeBindingPlugin.PluginName))
            foreach (var r in VolumeResources)
                SharedInformers.Get(Context.System).Subscribe(_api, new InformerOptions(r), Self);
        Timers.StartPeriodicTimer(FlushTimer, Flush.Instance, FlushInterval);
        if (_leaseNode is not null) Context.ActorOf(AkkaKube.Actors.Cluster.LeaderLeaseActor.Props(_api, AkkaKubeNames.Leases.Scheduler, _leaseNode), "leader-lease");
        _log.Info("scheduler {0} started", _settings.SchedulerName);
    }

    // ---- informer events ----

    private void OnSynced(InformerProtocol.Synced synced)
    {
        VolumeMap(synced.Resource)?.Clear(); // a re-list replaces what was known
        foreach (var (key, obj) in synced.Objects) OnObject(synced.Resource, key, null, obj);
        if (synced.Resource == ApiResource.Pods) _podsSynced = true;
        if (synced.Resource == ApiResource.Nodes) _nodesSynced = true;
        KickSoon();
    }

    /// <summary>
    /// One object that makes the scheduler throw (a malformed quantity, an unexpected shape) is logged, evented and
    /// skipped: it must not crash the singleton, whose restart would re-list and meet it again, blocking every pod.
    /// </summary>
    private void OnObject(ApiResource resource, string key, JsonObject? old, JsonObject obj)
    {
        try
        {
            HandleObject(resource, key, old, obj);
        }
        catch (Exception e) when (e is not Chaos.InjectedCrashException)
        {
            _queue.Delete(key);
            _log.Warning("skipping {0} {1}: the scheduler cannot handle it ({2}: {3})", resource.Partition, key, e.GetType().Name, e.Message);
            _recorder.Tell(new EventRecorderProtocol.Record(InvolvedObject.Of(obj), EventRecorderProtocol.Warning, "FailedScheduling",
                $"the scheduler cannot handle this object: {e.Message}"));
        }
    }

    private static readonly ApiResource[] VolumeResources = [ApiResource.PersistentVolumeClaims, ApiResource.PersistentVolumes, ApiResource.StorageClasses];

    private Dictionary<string, JsonObject>? VolumeMap(ApiResource resource) =>
        resource == ApiResource.PersistentVolumeClaims ? _volumes.Claims
        : resource == ApiResource.PersistentVolumes ? _volumes.Volumes
        : resource == ApiResource.StorageClasses ? _volumes.Classes
        : null;

    /// <summary>A claim, volume or class changed: pods waiting for a volume get another try.</summary>
    private void OnVolumeObject(Dictionary<string, JsonObject> map, string key, JsonObject? obj)
    {
        if (obj is null) map.Remove(key);
        else map[key] = obj;
        if (_queue.UnschedulableCount > 0 && _queue.MoveAllToActiveOrBackoff() > 0) KickSoon();
    }

    private void HandleObject(ApiResource resource, string key, JsonObject? old, JsonObject obj)
    {
        if (VolumeMap(resource) is { } map) OnVolumeObject(map, key, obj);
        else if (resource == ApiResource.Nodes) OnNode(key, obj);
        else if (resource == ApiResource.Pods && !(old is not null && TryConfirmBinding(key, old, obj))) OnPod(key, obj);
    }

    private void OnDeleted(ApiResource resource, string key)
    {
        if (VolumeMap(resource) is { } map)
        {
            OnVolumeObject(map, key, null);
            return;
        }
        if (resource == ApiResource.Nodes)
        {
            _cache.RemoveNode(key);
            _nodeFingerprints.Remove(key);
            return;
        }
        if (resource != ApiResource.Pods) return;
        _queue.Delete(key);
        _lastCondition.Remove(key);
        if (_cache.StateOf(key) is not null)
        {
            _cache.RemovePod(key);
            if (_queue.MoveAllToActiveOrBackoff() > 0) KickSoon();
        }
    }

    private void OnNode(string key, JsonObject obj)
    {
        var node = KubernetesJson.Deserialize<V1Node>(obj);
        var fingerprint = Fingerprint(obj);
        var known = _nodeFingerprints.TryGetValue(key, out var previous);
        _cache.AddOrUpdateNode(node);
        _nodeFingerprints[key] = fingerprint;
        // Heartbeats change nothing the plugins read; only real changes give unschedulable pods another try.
        if (!known || previous != fingerprint)
        {
            _queue.MoveAllToActiveOrBackoff();
            KickSoon();
        }
    }

    /// <summary>What plugins read of a node: labels, spec (taints, unschedulable) and allocatable.</summary>
    private static string Fingerprint(JsonObject node) => string.Join("|",
        node["metadata"]?["labels"]?.ToJsonString(), node["spec"]?.ToJsonString(), node["status"]?["allocatable"]?.ToJsonString());

    /// <summary>
    /// The informer's confirmation of our own binding, in the common case where the binding is all that changed
    /// (spec.nodeName, status, resourceVersion, managedFields) since the version we assumed: the assumed pod is
    /// confirmed as it is, without parsing the object again. Anything else (another node, a label or request
    /// changed, a terminal phase, a version we have not parsed) → false, and <see cref="OnPod"/> takes the event.
    /// </summary>
    private bool TryConfirmBinding(string key, JsonObject old, JsonObject obj)
    {
        if (_cache.AssumedPod(key) is not { } assumed || _cache.NodeOf(key) is not { } node) return false;
        if (!OnlyBindingChanged(old, obj, node, assumed.Pod.Metadata?.ResourceVersion)) return false;
        _queue.Delete(key);
        _lastCondition.Remove(key);
        _cache.Confirm(key);
        if (_queue.UnschedulableCount > 0)
        {
            _queue.MoveAllToActiveOrBackoff();
            KickSoon();
        }
        return true;
    }

    /// <summary>
    /// True when <paramref name="obj"/> is <paramref name="old"/> bound to <paramref name="node"/> and nothing else the
    /// scheduler reads changed (only spec.nodeName, status without a terminal phase, resourceVersion, managedFields),
    /// and <paramref name="old"/> is the version the scheduler parsed (<paramref name="parsedResourceVersion"/>).
    /// </summary>
    internal static bool OnlyBindingChanged(JsonObject old, JsonObject obj, string node, string? parsedResourceVersion)
    {
        if (obj["spec"] is not JsonObject spec || old["spec"] is not JsonObject oldSpec) return false;
        if (spec["nodeName"] is not JsonValue nodeName || nodeName.GetValueKind() != System.Text.Json.JsonValueKind.String || nodeName.GetValue<string>() != node)
            return false;
        if (obj["metadata"] is not JsonObject meta || old["metadata"] is not JsonObject oldMeta) return false;
        if (parsedResourceVersion is not { Length: > 0 } || oldMeta["resourceVersion"] is not JsonValue rv
            || rv.GetValueKind() != System.Text.Json.JsonValueKind.String || rv.GetValue<string>() != parsedResourceVersion)
            return false;
        if (obj["status"]?["phase"] is JsonValue phase && phase.GetValueKind() == System.Text.Json.JsonValueKind.String
            && phase.GetValue<string>() is "Succeeded" or "Failed")
            return false;
        return SameExcept(meta, oldMeta, "resourceVersion", "managedFields") && SameExcept(spec, oldSpec, "nodeName");
    }

    /// <summary>Both objects have the same properties with equal values, apart from <paramref name="ignored"/>.</summary>
    private static bool SameExcept(JsonObject a, JsonObject b, params string[] ignored)
    {
        var count = 0;
        foreach (var (name, value) in a)
        {
            if (Array.IndexOf(ignored, name) >= 0) continue;
            if (!b.TryGetPropertyValue(name, out var other) || !JsonNode.DeepEquals(value, other)) return false;
            count++;
        }
        foreach (var (name, _) in b)
            if (Array.IndexOf(ignored, name) < 0) count--;
        return count == 0;
    }

    private void OnPod(string key, JsonObject obj)
    {
        var pod = KubernetesJson.Deserialize<V1Pod>(obj);
        var info = new PodInfo(pod);
        if (!string.IsNullOrEmpty(pod.Spec?.NodeName))
        {
            _queue.Delete(key);
            _lastCondition.Remove(key);
            if (pod.Status?.Phase is "Succeeded" or "Failed")
            {
                if (_cache.StateOf(key) is not null)
                {
                    _cache.RemovePod(key);
                    if (_queue.MoveAllToActiveOrBackoff() > 0) KickSoon();
                }
                return;
            }
            var wasBound = _cache.StateOf(key) == SchedulerCache.PodState.Bound;
            _cache.AddOrUpdateBoundPod(info);
            if (!wasBound && _queue.UnschedulableCount > 0)
            {
                _queue.MoveAllToActiveOrBackoff();
                KickSoon();
            }
            return;
        }
        if ((pod.Spec?.SchedulerName ?? SchedulerSettings.DefaultSchedulerName) != _settings.SchedulerName) return;
        if (pod.Metadata?.DeletionTimestamp is not null)
        {
            _queue.Delete(key);
            return;
        }
        // Assumed and binding: the informer has not seen the binding yet; keep the queue's copy fresh only.
        if (_cache.StateOf(key) is not null) { _queue.Update(info); return; }
        _lastCondition[key] = ConditionOf(pod);
        _queue.Add(info);
        KickSoon();
    }

    private static string ConditionOf(V1Pod pod)
    {
        var c = pod.Status?.Conditions?.FirstOrDefault(c => c.Type == "PodScheduled");
        return c is null ? "" : $"{c.Status}|{c.Reason}|{c.Message}";
    }

    // ---- the scheduling cycle ----

    private void KickSoon()
    {
        if (_kickPending || !_podsSynced || !_nodesSynced) return;
        _kickPending = true;
        Self.Tell(Kick.Instance);
    }

    private void ScheduleBatch()
    {
        for (var i = 0; i < _settings.BatchSize; i++)
        {
            if (_inFlightBindings >= _settings.MaxInFlightBindings) return; // OnBound kicks again
            var pod = _queue.Pop();
            if (pod is null) return;
            ScheduleOne(pod);
        }
        if (_queue.ActiveCount > 0) KickSoon();
    }

    private void ScheduleOne(PodInfo pod)
    {
        var attempt = SchedulerMetrics.Start();
        ScheduleResult result;
        try
        {
            result = _algorithm.Schedule(pod, _cache.Nodes);
        }
        catch (Exception e) when (e is not Chaos.InjectedCrashException)
        {
            // A pod (or node) the plugins cannot evaluate: back-off for this pod, the others keep being scheduled.
            _failed++;
            SchedulerMetrics.Attempted(attempt, "error", _settings.SchedulerName);
            _queue.AddBackoff(pod.Key);
            _log.Warning("scheduling {0} failed: {1}: {2}; retrying with back-off", pod.Key, e.GetType().Name, e.Message);
            Record(pod, null, SchedulerProtocol.Outcomes.Unschedulable, e.Message);
            _recorder.Tell(new EventRecorderProtocol.Record(PodRef(pod), EventRecorderProtocol.Warning, "FailedScheduling",
                $"scheduler error: {e.Message}"));
            return;
        }
        if (result.NodeName is { } node)
        {
            SchedulerMetrics.Attempted(attempt, "scheduled", _settings.SchedulerName);
            if (!_cache.Assume(pod, node))
            {
                _queue.Done(pod.Key);
                return;
            }
            _scheduled++;
            _inFlightBindings++;
            var binding = new JsonObject
            {
                ["apiVersion"] = "v1",
                ["kind"] = "Binding",
                ["metadata"] = new JsonObject { ["name"] = pod.Name, ["namespace"] = pod.Namespace, ["uid"] = pod.Uid },
                ["target"] = new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Node", ["name"] = node },
            };
            _cache.FinishBinding(pod.Key);
            _api.CreateAsync(ApiResource.Pods, pod.Namespace, binding, subresource: "binding")
                .PipeTo(Self, success: _ => new Bound(pod, node), failure: e => new BindFailed(pod, node, Unwrap(e)));
            return;
        }
        _failed++;
        SchedulerMetrics.Attempted(attempt, "unschedulable", _settings.SchedulerName);
        var message = result.Error?.Message ?? "0/0 nodes are available.";
        _queue.AddUnschedulable(pod.Key);
        Record(pod, null, SchedulerProtocol.Outcomes.Unschedulable, message);
        ReportUnschedulable(pod, message);
    }

    private void ReportUnschedulable(PodInfo pod, string message)
    {
        _recorder.Tell(new EventRecorderProtocol.Record(PodRef(pod), EventRecorderProtocol.Warning, "FailedScheduling", message));
        var wanted = $"False|Unschedulable|{message}";
        if (_lastCondition.TryGetValue(pod.Key, out var current) && current == wanted) return;
        _lastCondition[pod.Key] = wanted;
        var conditions = new JsonArray();
        foreach (var c in pod.Pod.Status?.Conditions ?? [])
            if (c.Type != "PodScheduled") conditions.Add(JsonNode.Parse(KubernetesJson.Serialize(c)));
        conditions.Add(new JsonObject
        {
            ["type"] = "PodScheduled",
            ["status"] = "False",
            ["reason"] = "Unschedulable",
            ["message"] = message,
            ["lastProbeTime"] = null,
            ["lastTransitionTime"] = EventAggregator.Timestamp(_now()),
        });
        var patch = new JsonObject { ["status"] = new JsonObject { ["conditions"] = conditions } };
        _api.PatchAsync(ApiResource.Pods, pod.Namespace, pod.Name, PatchType.Merge, patch.ToJsonString(), subresource: "status")
            .PipeTo(Self, success: _ => new StatusPatched(pod.Key), failure: e =>
            {
                _log.Debug("could not mark {0} unschedulable: {1}", pod.Key, Unwrap(e).Message);
                return new StatusPatched(pod.Key, wanted);
            });
    }

    private void OnBound(Bound b)
    {
        _inFlightBindings--;
        _bound++;
        _queue.Done(b.Pod.Key);
        Record(b.Pod, b.Node, SchedulerProtocol.Outcomes.Bound, null);
        _recorder.Tell(new EventRecorderProtocol.Record(PodRef(b.Pod), EventRecorderProtocol.Normal, "Scheduled",
            $"Successfully assigned {b.Pod.Namespace}/{b.Pod.Name} to {b.Node}"));
        KickSoon();
    }

    private void OnBindFailed(BindFailed f)
    {
        _inFlightBindings--;
        _bindErrors++;
        Record(f.Pod, f.Node, SchedulerProtocol.Outcomes.BindFailed, f.Error.Message);
        if (_cache.StateOf(f.Pod.Key) != SchedulerCache.PodState.Bound) _cache.Forget(f.Pod.Key);
        if (f.Error is KubeApiException { IsNotFound: true })
        {
            _queue.Delete(f.Pod.Key);
        }
        else
        {
            _log.Warning("binding {0} to {1} failed: {2}", f.Pod.Key, f.Node, f.Error.Message);
            _queue.AddBackoff(f.Pod.Key);
            _recorder.Tell(new EventRecorderProtocol.Record(PodRef(f.Pod), EventRecorderProtocol.Warning, "FailedScheduling",
                $"Binding rejected: {f.Error.Message}"));
        }
        KickSoon();
    }

    private static InvolvedObject PodRef(PodInfo pod) =>
        new("Pod", pod.Namespace, pod.Name, pod.Uid, "v1", pod.Pod.Metadata?.ResourceVersion);

    private static Exception Unwrap(Exception e) => e is AggregateException a && a.InnerException is not null ? a.InnerException : e;
}

public static class SchedulerHostingExtensions
{
    /// <summary>
    /// The scheduler as a Cluster Singleton on the control-plane role (with a proxy on every node).
    /// Uses the node's in-cluster <see cref="IKubeApi"/> (<see cref="ApiServer.KubeApi"/>), so AddApiServer must come first.
    /// </summary>
    public static AkkaConfigurationBuilder AddScheduler(this AkkaConfigurationBuilder builder, NodeOptions node) =>
        builder.WithControlPlaneSingleton<SchedulerActor>(node,
            AkkaKubeNames.Actors.Scheduler,
            (system, _, _) => SchedulerActor.Props(
                Security.ComponentIdentities.AsControlPlane(ApiServer.KubeApi.Get(system).Api, Security.ComponentIdentities.KubeScheduler),
                SchedulerSettings.Create(system.Settings.Config), leaseNode: node.NodeName),
            SingletonProxy.EveryNode);
}
