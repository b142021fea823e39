using System.Text.Json.Nodes;
using Akka.Actor;
using Akka.Event;
using AkkaKube.Actors.Client;
using k8s;
using k8s.Models;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.Cloud;

/// <summary>
/// What the cloud node controllers decide, free of actor code: the patch that initialises a Node from its instance,
/// and which Nodes to delete because their instance is gone (k8s.io/cloud-provider's node and node-lifecycle controllers).
/// </summary>
public static class CloudNodeRules
{
    public const string UninitializedTaint = "node.cloudprovider.kubernetes.io/uninitialized";
    public const string InstanceTypeLabel = "node.kubernetes.io/instance-type";

    /// <summary>
    /// Merge patch that sets spec.providerID (only when empty: it never changes once set), the zone, region and
    /// instance-type labels from the instance, and drops the uninitialized taint; null when the Node already agrees.
    /// </summary>
    public static JsonObject? InitializationPatch(JsonObject node, InstanceMetadata instance)
    {
        var patch = new JsonObject();
        var spec = new JsonObject();
        if (string.IsNullOrEmpty(node["spec"]?["providerID"]?.GetValue<string>())) spec["providerID"] = instance.ProviderId;
        if (node["spec"]?["taints"] is JsonArray taints && taints.OfType<JsonObject>().Any(IsUninitialized))
            spec["taints"] = new JsonArray(taints.OfType<JsonObject>().Where(t => !IsUninitialized(t)).Select(t => t.DeepClone()).ToArray());
        if (spec.Count > 0) patch["spec"] = spec;

        var labels = new JsonObject();
        var current = node["metadata"]?["labels"] as JsonObject;
        void Want(string key, string? value)
        {
            if (string.IsNullOrEmpty(value) || current?[key]?.GetValue<string>() == value) return;
            labels[key] = value;
        }
        Want(AkkaKubeNames.Labels.Zone, instance.Zone);
        Want(AkkaKubeNames.Labels.Region, instance.Region);
        Want(InstanceTypeLabel, instance.InstanceType);
        if (labels.Count > 0) patch["metadata"] = new JsonObject { ["labels"] = labels };
        return patch.Count > 0 ? patch : null;
    }

    private static bool IsUninitialized(JsonObject taint) => taint["key"]?.GetValue<string>() == UninitializedTaint;

    /// <summary>The Node's Ready condition status ("True", "False", "Unknown"; "" when it has none).</summary>
    public static string ReadyOf(JsonObject node) =>
        (node["status"]?["conditions"] as JsonArray)?.OfType<JsonObject>()
            .FirstOrDefault(c => c["type"]?.GetValue<string>() == "Ready")?["status"]?.GetValue<string>() ?? "";
}

/// <summary>
/// Deletion of Nodes whose instance is gone: a Node is deleted only when it is not Ready AND its instance has been
/// reported gone at every check for at least the grace period (a `chaos restart` or a slow start is not a termination;
/// an unreachable but live process is never deleted).
/// </summary>
public sealed class NodeDeletionTracker(TimeSpan grace)
{
    private readonly Dictionary<string, DateTime> _goneSince = new(StringComparer.Ordinal);

    /// <summary>Records one check of a Node; true when it should be deleted now.</summary>
    public bool Observe(string node, bool ready, bool instanceExists, DateTime now)
    {
        if (ready || instanceExists)
        {
            _goneSince.Remove(node);
            return false;
        }
        if (!_goneSince.TryGetValue(node, out var since))
        {
            _goneSince[node] = now;
            return grace <= TimeSpan.Zero;
        }
        return now - since >= grace;
    }

    public void Forget(string node) => _goneSince.Remove(node);
}

/// <summary>
/// The cloud-controller-manager's node controllers: initialises every Node its cloud knows (providerID, zone/region
/// and instance-type labels, uninitialized taint removed) and deletes Nodes whose instance was terminated.
/// </summary>
public sealed class CloudNodeController : ReceiveActor, IWithTimers
{
    private const string MonitorTimer = "monitor";
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly IKubeApi _api;
    private readonly IInstances _instances;
    private readonly CloudSettings _settings;
    private readonly Func<DateTime> _now;
    private readonly NodeDeletionTracker _deletions;
    private readonly Dictionary<string, JsonObject> _nodes = new(StringComparer.Ordinal);
    private readonly HashSet<string> _inFlight = new(StringComparer.Ordinal);
    private bool _synced;

    public ITimerScheduler Timers { get; set; } = null!;

    private sealed class Monitor { public static readonly Monitor Instance = new(); }
    private sealed record Done(string Node, string What, Exception? Error);

    public CloudNodeController(IKubeApi api, IInstances instances, CloudSettings settings, Func<DateTime>? now)
    {
        _api = api;
        _instances = instances;
        _settings = settings;
        _now = now ?? (() => DateTime.UtcNow);
        _deletions = new NodeDeletionTracker(settings.NodeDeletionGrace);

        Receive<InformerProtocol.Synced>(s =>
        {
            _nodes.Clear();
            foreach (var (k, v) in s.Objects) _nodes[k] = v;
            _synced = true;
            foreach (var key in _nodes.Keys) Initialize(key);
        });
        Receive<InformerProtocol.Added>(e => { _nodes[e.Key] = e.Object; Initialize(e.Key); });
        Receive<InformerProtocol.Updated>(e => { _nodes[e.Key] = e.New; Initialize(e.Key); });
        Receive<InformerProtocol.Deleted>(e => { _nodes.Remove(e.Key); _deletions.Forget(e.Key); });
        Receive<Monitor>(_ => CheckInstances());
        Receive<Done>(d =>
        {
            _inFlight.Remove(d.Node);
            if (d.Error is KubeApiException { IsNotFound: true }) return;
            if (d.Error is not null) _log.Info("cloud node controller: {0} of {1} failed: {2}", d.What, d.Node, d.Error.GetBaseException().Message);
            else if (d.What == "delete") _log.Info("deleted Node {0}: its instance was terminated", d.Node);
        });
    }

    public static Props Props(IKubeApi api, IInstances instances, CloudSettings settings, Func<DateTime>? now = null) =>
        Akka.Actor.Props.Create(() => new CloudNodeController(api, instances, settings, now));

    protected override void PreStart()
    {
        SharedInformers.Get(Context.System).Subscribe(_api, new InformerOptions(ApiResource.Nodes), Self);
        Timers.StartPeriodicTimer(MonitorTimer, Monitor.Instance, _settings.NodeMonitorPeriod);
    }

    private void Initialize(string name)
    {
        if (!_synced || _inFlight.Contains(name) || !_nodes.TryGetValue(name, out var obj)) return;
        // Initialised once: a providerID is never changed, and the kubelet keeps its own labels.
        var initialized = !string.IsNullOrEmpty(obj["spec"]?["providerID"]?.GetValue<string>())
            && !((obj["spec"]?["taints"] as JsonArray)?.OfType<JsonObject>().Any(t => t["key"]?.GetValue<string>() == CloudNodeRules.UninitializedTaint) ?? false);
        if (initialized) return;
        var node = KubernetesJson.Deserialize<V1Node>(obj.ToJsonString());
        _inFlight.Add(name);
        InitializeAsync(name, node, obj).PipeTo(Self, success: () => new Done(name, "initialise", null), failure: e => new Done(name, "initialise", e));
    }

    private async Task InitializeAsync(string name, V1Node node, JsonObject obj)
    {
        if (await _instances.InstanceMetadataAsync(node) is not { } instance) return;
        if (CloudNodeRules.InitializationPatch(obj, instance) is not { } patch) return;
        await _api.PatchAsync(ApiResource.Nodes, null, name, PatchType.Merge, patch.ToJsonString());
    }

    private void CheckInstances()
    {
        if (!_synced) return;
        foreach (var (name, obj) in _nodes)
        {
            if (_inFlight.Contains(name)) continue;
            var ready = CloudNodeRules.ReadyOf(obj) == "True";
            var node = KubernetesJson.Deserialize<V1Node>(obj.ToJsonString());
            // The local provider answers from a small file at once; a provider that had to call out would pipe this.
            var exists = ready || _instances.InstanceExistsAsync(node).GetAwaiter().GetResult();
            if (!_deletions.Observe(name, ready, exists, _now())) continue;
            _inFlight.Add(name);
            var uid = obj["metadata"]?["uid"]?.GetValue<string>();
            _api.DeleteAsync(ApiResource.Nodes, null, name, new DeleteOptions(PreconditionUid: uid))
                .PipeTo(Self, success: () => new Done(name, "delete", null), failure: e => new Done(name, "delete", e));
        }
    }
}
