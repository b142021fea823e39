using System.Globalization;
using System.Text.Json.Nodes;
using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.Controllers.NodeLifecycle;

/// <summary>
/// Watches Nodes, their Leases (kube-node-lease), Pods and the Akka cluster's membership; marks
/// unhealthy nodes Ready=Unknown, taints them, evicts their pods by the taint rules and removes the
/// taints when nodes come back. A node whose member was removed (downed) is fenced: its process and so
/// its containers are gone, so its evicted pods are deleted at once instead of waiting for a kubelet
/// that will never confirm.
/// </summary>
public sealed class NodeLifecycleController : ReceiveActor, IWithTimers
{
    public const string AkkaAddressAnnotation = "akkakube.io/akka-address";
    private const string TickTimer = "tick";
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly IKubeApi _api;
    private readonly NodeLifecycleSettings _settings;
    private readonly NodeHealthEvaluator _evaluator;
    private readonly Func<DateTime> _clock;
    private readonly Dictionary<string, JsonObject> _nodes = new(StringComparer.Ordinal);
    // When this controller last saw each lease's renewTime change (Kubernetes' probeTimestamp): the
    // controller's own clock, so a store stall or a fresh start never makes a live node look stale at once.
    private readonly Dictionary<string, (string RenewTime, DateTime Observed)> _leases = new(StringComparer.Ordinal);
    // When this controller first saw each Node: a node whose first Lease is not seen yet gets the grace period
    // from here (Kubernetes initialises probeTimestamp at first observation too), so a kubelet whose first lease
    // write is slow or retried (hollow kubelets retry every 10 s) is not marked Unknown the moment it registers.
    private readonly Dictionary<string, DateTime> _firstSeen = new(StringComparer.Ordinal);
    private readonly Dictionary<string, JsonObject> _pods = new(StringComparer.Ordinal);
    private readonly HashSet<string> _unreachable = new(StringComparer.Ordinal);
    private readonly HashSet<string> _removed = new(StringComparer.Ordinal);
    private readonly HashSet<string> _inFlight = new(StringComparer.Ordinal);
    private readonly HashSet<ApiResource> _synced = [];

    public ITimerScheduler Timers { get; set; } = null!;

    public NodeLifecycleController(IKubeApi api, NodeLifecycleSettings settings, Func<DateTime>? clock = null)
    {
        _api = api;
        _settings = settings;
        _evaluator = new NodeHealthEvaluator(settings);
        _clock = clock ?? (() => DateTime.UtcNow);

        Receive<InformerProtocol.Synced>(s =>
        {
            if (s.Resource == ApiResource.Leases)
            {
                // Keep observation times of leases that did not change; forget deleted ones.
                var names = s.Objects.Values.Select(Name).ToHashSet(StringComparer.Ordinal);
                foreach (var gone in _leases.Keys.Where(n => !names.Contains(n)).ToList()) _leases.Remove(gone);
            }
            else CacheOf(s.Resource).Clear();
            foreach (var (k, v) in s.Objects) Put(s.Resource, k, v);
            _synced.Add(s.Resource);
            if (_synced.Count >= 3) _syncedAt ??= _clock();
        });
        Receive<InformerProtocol.Added>(a => Put(a.Resource, a.Key, a.Object));
        Receive<InformerProtocol.Updated>(u => Put(u.Resource, u.Key, u.New));
        Receive<InformerProtocol.Deleted>(d =>
        {
            if (d.Resource == ApiResource.Leases) _leases.Remove(Name(d.LastKnown));
            else CacheOf(d.Resource).Remove(d.Key);
            if (d.Resource == ApiResource.Nodes) _firstSeen.Remove(Name(d.LastKnown));
        });

        Receive<ClusterEvent.UnreachableMember>(m => _unreachable.Add(m.Member.Address.ToString()));
        Receive<ClusterEvent.ReachableMember>(m => _unreachable.Remove(m.Member.Address.ToString()));
        Receive<ClusterEvent.MemberRemoved>(m =>
        {
            _removed.Add(m.Member.Address.ToString());
            _unreachable.Remove(m.Member.Address.ToString());
        });
        Receive<ClusterEvent.MemberUp>(m => _removed.Remove(m.Member.Address.ToString()));
        Receive<ClusterEvent.MemberJoined>(m => _removed.Remove(m.Member.Address.ToString()));
        Receive<ClusterEvent.IClusterDomainEvent>(_ => { });
        Receive<ClusterEvent.CurrentClusterState>(s =>
        {
            foreach (var m in s.Unreachable) _unreachable.Add(m.Address.ToString());
        });

        Receive<Tick>(_ =>
        {
            OnTick();
            if (_synced.Count >= 3) _lastPass = _clock();
        });
        Receive<ControllerProtocol.GetInfo>(_ => Sender.Tell(new ControllerProtocol.Info(_synced.Count >= 3, _syncedAt, _lastPass, _inFlight.Count, 0)));
        Receive<Done>(d => _inFlight.Remove(d.Key));
        Receive<Failed>(f =>
        {
            _inFlight.Remove(f.Key);
            _log.Info("node lifecycle: {0} failed ({1}); retrying next tick", f.Key, f.Error.Message);
        });
    }

    public static Props Props(IKubeApi api, NodeLifecycleSettings settings, Func<DateTime>? clock = null) =>
        Akka.Actor.Props.Create(() => new NodeLifecycleController(api, settings, clock));

    private sealed class Tick { public static readonly Tick Instance = new(); }
    private sealed record Done(string Key);
    private sealed record Failed(string Key, Exception Error);

    private DateTime? _syncedAt, _lastPass;

    protected override void PreStart()
    {
        Context.Parent.Tell(new ControllerProtocol.Started(ControllerNames.NodeLifecycle));
        SharedInformers.Get(Context.System).Subscribe(_api, new InformerOptions(ApiResource.Nodes), Self);
        SharedInformers.Get(Context.System).Subscribe(_api, new InformerOptions(ApiResource.Leases, "kube-node-lease"), Self);
        SharedInformers.Get(Context.System).Subscribe(_api, new InformerOptions(ApiResource.Pods), Self);
        Akka.Cluster.Cluster.Get(Context.System).Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsSnapshot,
            typeof(ClusterEvent.IMemberEvent), typeof(ClusterEvent.IReachabilityEvent));
        Timers.StartPeriodicTimer(TickTimer, Tick.Instance, _settings.MonitorPeriod);
    }

    protected override void PostStop() => Akka.Cluster.Cluster.Get(Context.System).Unsubscribe(Self);

    private Dictionary<string, JsonObject> CacheOf(ApiResource r) => r == ApiResource.Pods ? _pods : _nodes;

    private void Put(ApiResource resource, string key, JsonObject obj)
    {
        if (resource == ApiResource.Leases)
        {
            var renew = obj["spec"]?["renewTime"]?.GetValue<string>() ?? "";
            var name = Name(obj);
            if (!_leases.TryGetValue(name, out var seen) || seen.RenewTime != renew)
                _leases[name] = (renew, _clock());
            return;
        }
        CacheOf(resource)[key] = obj;
        if (resource == ApiResource.Nodes) _firstSeen.TryAdd(Name(obj), _clock());
    }

    private void OnTick()
    {
        if (!_synced.Contains(ApiResource.Nodes) || !_synced.Contains(ApiResource.Leases)) return;
        var now = _clock();
        var views = _nodes.Values.Select(ToView).ToList();
        var (decisions, _) = _evaluator.Evaluate(views, now);
        foreach (var d in decisions)
        {
            if (!_inFlight.Add("node/" + d.Node)) continue;
            Apply(d, now);
        }
        if (_synced.Contains(ApiResource.Pods))
        {
            MarkPodsNotReady(now);
            EvictPods(now);
        }
    }

    /// <summary>
    /// Pods on a node whose Ready condition is not True (marked Unknown here, or False by its kubelet) are not Ready
    /// either: their Ready condition turns False at once, as Kubernetes' node lifecycle controller does
    /// (MarkPodsNotReady), so EndpointSlices drop them and Service traffic stops going to a dead node long before its
    /// pods are evicted. A kubelet that comes back sets Ready from its probes again.
    /// </summary>
    private void MarkPodsNotReady(DateTime now)
    {
        var notReadyNodes = _nodes.Values
            .Where(n => (n["status"]?["conditions"] as JsonArray)?.OfType<JsonObject>()
                .FirstOrDefault(c => c["type"]?.GetValue<string>() == "Ready")?["status"]?.GetValue<string>() is "Unknown" or "False")
            .Select(Name).ToHashSet(StringComparer.Ordinal);
        if (notReadyNodes.Count == 0) return;
        foreach (var pod in _pods.Values)
        {
            if (pod["spec"]?["nodeName"]?.GetValue<string>() is not { } nodeName || !notReadyNodes.Contains(nodeName)) continue;
            if (pod["status"]?["conditions"] is not JsonArray conditions) continue;
            if (!conditions.OfType<JsonObject>().Any(c => c["type"]?.GetValue<string>() == "Ready" && c["status"]?.GetValue<string>() == "True")) continue;
            var ns = pod["metadata"]?["namespace"]?.GetValue<string>();
            var name = Name(pod);
            var key = $"ready/{ns}/{name}";
            if (!_inFlight.Add(key)) continue;
            var updated = (JsonArray)conditions.DeepClone();
            foreach (var c in updated.OfType<JsonObject>().Where(c => c["type"]?.GetValue<string>() == "Ready"))
            {
                c["status"] = "False";
                c["lastTransitionTime"] = Rfc3339(now);
            }
            // resourceVersion makes it conditional: a kubelet's concurrent status update wins, and the next tick decides again.
            var patch = new JsonObject
            {
                ["metadata"] = new JsonObject { ["resourceVersion"] = pod["metadata"]?["resourceVersion"]?.GetValue<string>() },
                ["status"] = new JsonObject { ["conditions"] = updated },
            };
            _log.Info("node {0} is not ready: marking pod {1}/{2} not ready", nodeName, ns, name);
            _api.PatchAsync(ApiResource.Pods, ns, name, PatchType.Merge, patch.ToJsonString(), "status")
                .PipeTo(Self, success: () => new Done(key), failure: e => e is KubeApiException { IsNotFound: true } ? new Done(key) : new Failed(key, e));
        }
    }

    private NodeView ToView(JsonObject node)
    {
        var name = Name(node);
        var labels = node["metadata"]?["labels"] as JsonObject;
        var address = node["metadata"]?["annotations"]?[AkkaAddressAnnotation]?.GetValue<string>();
        var ready = (node["status"]?["conditions"] as JsonArray)?
            .OfType<JsonObject>().FirstOrDefault(c => c["type"]?.GetValue<string>() == "Ready")?["status"]?.GetValue<string>();
        return new NodeView(
            name,
            labels?[AkkaKubeNames.Labels.Zone]?.GetValue<string>() ?? "",
            ready,
            _leases.TryGetValue(name, out var lease) ? lease.Observed : _firstSeen.TryGetValue(name, out var first) ? first : null,
            address is not null && _unreachable.Contains(address),
            address is not null && _removed.Contains(address),
            TaintsOf(node));
    }

    private void Apply(NodeDecision d, DateTime now)
    {
        var node = _nodes.Values.First(n => Name(n) == d.Node);
        var key = "node/" + d.Node;
        var rv = node["metadata"]?["resourceVersion"]?.GetValue<string>();
        async Task Run()
        {
            if (d.MarkUnknown)
            {
                var conditions = (node["status"]?["conditions"] as JsonArray)?.DeepClone() as JsonArray ?? [];
                foreach (var c in conditions.OfType<JsonObject>())
                {
                    if (c["status"]?.GetValue<string>() == "Unknown") continue;
                    c["status"] = "Unknown";
                    c["reason"] = "NodeStatusUnknown";
                    c["message"] = "Kubelet stopped posting node status.";
                    c["lastTransitionTime"] = Rfc3339(now);
                }
                var patch = new JsonObject { ["status"] = new JsonObject { ["conditions"] = conditions } };
                await _api.PatchAsync(ApiResource.Nodes, null, d.Node, PatchType.Merge, patch.ToJsonString(), "status");
            }
            if (d.Add.Count > 0 || d.Remove.Count > 0)
            {
                var taints = new JsonArray();
                foreach (var t in (node["spec"]?["taints"] as JsonArray ?? []).OfType<JsonObject>())
                    if (!d.Remove.Any(r => r.Key == t["key"]?.GetValue<string>() && r.Effect == t["effect"]?.GetValue<string>()))
                        taints.Add(t.DeepClone());
                foreach (var t in d.Add)
                    taints.Add(new JsonObject { ["key"] = t.Key, ["effect"] = t.Effect, ["timeAdded"] = Rfc3339(t.TimeAdded ?? now) });
                // resourceVersion makes the patch conditional: a concurrent change means retry next tick.
                var patch = new JsonObject
                {
                    ["metadata"] = new JsonObject { ["resourceVersion"] = rv },
                    ["spec"] = new JsonObject { ["taints"] = taints },
                };
                await _api.PatchAsync(ApiResource.Nodes, null, d.Node, PatchType.Merge, patch.ToJsonString());
                foreach (var t in d.Add)
                    _log.Info("node {0}: tainted {1}:{2}", d.Node, t.Key, t.Effect);
                foreach (var t in d.Remove)
                    _log.Info("node {0}: removed taint {1}:{2}", d.Node, t.Key, t.Effect);
            }
        }
        Run().PipeTo(Self, success: () => new Done(key), failure: e => new Failed(key, e));
    }

    private void EvictPods(DateTime now)
    {
        var nodesByName = _nodes.Values.ToDictionary(Name, n => n, StringComparer.Ordinal);
        foreach (var pod in _pods.Values)
        {
            var nodeName = pod["spec"]?["nodeName"]?.GetValue<string>();
            if (nodeName is null || !nodesByName.TryGetValue(nodeName, out var node)) continue;
            var taints = TaintsOf(node);
            if (!taints.Any(t => t.Effect == NodeHealthEvaluator.NoExecute)) continue;
            var fenced = ToView(node).MemberRemoved;
            var deleting = pod["metadata"]?["deletionTimestamp"] is not null;
            if (deleting && !fenced) continue;
            var at = TaintEviction.EvictionTime(taints, TolerationsOf(pod), now);
            if (at is null || at > now) continue;
            var ns = pod["metadata"]?["namespace"]?.GetValue<string>();
            var name = Name(pod);
            var uid = pod["metadata"]?["uid"]?.GetValue<string>();
            var key = $"pod/{ns}/{name}";
            if (!_inFlight.Add(key)) continue;
            _log.Info("evicting pod {0}/{1} from node {2}{3}", ns, name, nodeName, fenced ? " (node removed from the cluster: deleting at once)" : "");
            var options = new DeleteOptions(GracePeriodSeconds: fenced ? 0 : null, PreconditionUid: uid);
            _api.DeleteAsync(ApiResource.Pods, ns, name, options)
                .PipeTo(Self, success: () => new Done(key), failure: e => e is KubeApiException { IsNotFound: true } ? new Done(key) : new Failed(key, e));
        }
    }

    private static string Name(JsonObject o) => o["metadata"]?["name"]?.GetValue<string>() ?? "";

    private static string Rfc3339(DateTime t) => t.ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);

    public static IReadOnlyList<Taint> TaintsOf(JsonObject node) =>
        (node["spec"]?["taints"] as JsonArray ?? []).OfType<JsonObject>().Select(t => new Taint(
            t["key"]?.GetValue<string>() ?? "",
            t["effect"]?.GetValue<string>() ?? "",
            t["timeAdded"]?.GetValue<string>() is { } s && DateTime.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var d) ? d : null,
            t["value"]?.GetValue<string>())).ToList();

    public static IReadOnlyList<Toleration> TolerationsOf(JsonObject pod) =>
        (pod["spec"]?["tolerations"] as JsonArray ?? []).OfType<JsonObject>().Select(t => new Toleration(
            t["key"]?.GetValue<string>(),
            t["operator"]?.GetValue<string>() ?? "Equal",
            t["value"]?.GetValue<string>(),
            t["effect"]?.GetValue<string>(),
            t["tolerationSeconds"]?.GetValue<long>())).ToList();
}
