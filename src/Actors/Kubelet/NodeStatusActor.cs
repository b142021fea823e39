using AkkaKube.Actors.Machinery;
using System.Text.Json.Nodes;
using Akka.Actor;
using Akka.Event;
using AkkaKube.Actors.Client;

namespace AkkaKube.Actors.Kubelet;

/// <summary>
/// Registers this kubelet's Node (create, or adopt the existing object with this node's labels, annotations and pod
/// CIDR), then reports its status: every <see cref="KubeletSettings.NodeStatusInterval"/> it posts the status when it
/// differs from the stored one, and at least every <see cref="KubeletSettings.NodeStatusReportFrequency"/>. A Node
/// deleted meanwhile is registered again. Tells its parent <see cref="NodeRegistered"/> after each registration.
/// </summary>
public sealed class NodeStatusActor : ReceiveActor, IWithTimers
{
    /// <summary>To the parent: the Node object exists (uid of the Node, for the Lease's owner reference).</summary>
    public sealed record NodeRegistered(string? Uid);

    /// <summary>Timer names.</summary>
    public static class TimerNames
    {
        public const string Register = "register";
        public const string NodeStatus = "node-status";
    }

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly NodeIdentity _node;
    private readonly KubeletSettings _settings;
    private readonly IKubeApi _api;
    private readonly string _runtimeName;
    private readonly DateTimeOffset _readySince = DateTimeOffset.UtcNow;

    public ITimerScheduler Timers { get; set; } = null!;

    private sealed record Registered(string? Uid);
    private sealed record RegisterFailed(Exception Error);
    private sealed record StatusReported(DateTimeOffset? PostedAt, bool NodeGone);
    private sealed class Tick { public static readonly Tick Register = new(); public static readonly Tick NodeStatus = new(); }

    public NodeStatusActor(NodeIdentity node, KubeletSettings settings, IKubeApi api, string runtimeName)
    {
        _node = node;
        _settings = settings;
        _api = api;
        _runtimeName = runtimeName;
        Registering();
    }

    public static Props Props(NodeIdentity node, KubeletSettings settings, IKubeApi api, string runtimeName) =>
        Akka.Actor.Props.Create(() => new NodeStatusActor(node, settings, api, runtimeName));

    protected override void PreStart() => Register();

    private void Register() =>
        RegisterAsync().PipeTo(Self, success: uid => new Registered(uid), failure: e => new RegisterFailed(e));

    /// <summary>Registering: until the Node exists, retried every <see cref="KubeletSettings.RegisterRetry"/>.</summary>
    private void Registering()
    {
        Receive<Registered>(r =>
        {
            _log.Info("node {0} registered (pod CIDR {1}, runtime {2})", _node.NodeName, _node.PodCidr, _runtimeName);
            Context.Parent.Tell(new NodeRegistered(r.Uid));
            // Spread hollow kubelets' timers so thousands do not report in the same instant.
            var jitter = TimeSpan.FromMilliseconds(Random.Shared.Next((int)Math.Max(1, _settings.NodeStatusInterval.TotalMilliseconds)));
            Timers.StartPeriodicTimer(TimerNames.NodeStatus, Tick.NodeStatus, _settings.NodeStatusInterval + jitter, _settings.NodeStatusInterval);
            Become(() => Reporting(DateTimeOffset.UtcNow, busy: false));
        });
        Receive<RegisterFailed>(f =>
        {
            _log.Info("registering node {0} failed ({1}); retrying in {2}", _node.NodeName, f.Error.GetBaseException().Message, _settings.RegisterRetry);
            Timers.StartSingleTimer(TimerNames.Register, Tick.Register, _settings.RegisterRetry);
        });
        Receive<Tick>(t => t == Tick.Register, _ => Register());
    }

    /// <summary>Reporting: <paramref name="postedAt"/> = when the status was last posted; <paramref name="busy"/> = a report is under way.</summary>
    private void Reporting(DateTimeOffset postedAt, bool busy)
    {
        Receive<Tick>(t => t == Tick.NodeStatus, _ =>
        {
            if (busy) return;
            var self = Self;
            var now = DateTimeOffset.UtcNow;
            var always = NodeStatusReport.PeriodElapsed(postedAt, now, _settings.NodeStatusReportFrequency);
            ReportAsync(now, always).ContinueWith(t => self.Tell(new StatusReported(
                t.IsCompletedSuccessfully && t.Result ? now : null,
                t.IsFaulted && t.Exception?.GetBaseException() is KubeApiException { IsNotFound: true })), TaskScheduler.Default);
            Become(() => Reporting(postedAt, busy: true));
        });
        Receive<StatusReported>(r =>
        {
            if (r.NodeGone)
            {
                _log.Warning("node {0} was deleted; registering it again", _node.NodeName);
                Register();
            }
            Become(() => Reporting(r.PostedAt ?? postedAt, busy: false));
        });
        Receive<Registered>(r =>
        {
            Context.Parent.Tell(new NodeRegistered(r.Uid));
            Become(() => Reporting(DateTimeOffset.UtcNow, busy));
        });
        Receive<RegisterFailed>(f =>
        {
            _log.Info("registering node {0} again failed ({1}); retrying in {2}", _node.NodeName, f.Error.GetBaseException().Message, _settings.RegisterRetry);
            Timers.StartSingleTimer(TimerNames.Register, Tick.Register, _settings.RegisterRetry);
        });
        Receive<Tick>(t => t == Tick.Register, _ => Register());
    }

    private async Task<string?> RegisterAsync()
    {
        var now = DateTimeOffset.UtcNow;
        var desired = NodeObjects.Node(_node, now);
        JsonObject stored;
        try
        {
            stored = await _api.CreateAsync(ApiResource.Nodes, null, desired);
        }
        catch (KubeApiException e) when (e.IsAlreadyExists || e.IsConflict)
        {
            var existing = await _api.GetAsync(ApiResource.Nodes, null, _node.NodeName);
            var meta = (JsonObject)existing["metadata"]!;
            var labels = meta["labels"] as JsonObject ?? new JsonObject();
            foreach (var (k, v) in NodeObjects.Labels(_node)) labels[k] = v?.DeepClone();
            meta["labels"] = labels;
            var annotations = meta["annotations"] as JsonObject ?? new JsonObject();
            foreach (var (k, v) in NodeObjects.Annotations(_node)) annotations[k] = v?.DeepClone();
            meta["annotations"] = annotations;
            var spec = existing["spec"] as JsonObject ?? new JsonObject();
            spec["podCIDR"] = _node.PodCidr;
            spec["podCIDRs"] = new JsonArray(_node.PodCidr);
            existing["spec"] = spec;
            stored = await _api.UpdateAsync(ApiResource.Nodes, null, existing);
        }
        // kube-node-lease is created by the apiserver at start (a kubelet may not create namespaces)
        await PatchStatusAsync(now);
        return stored["metadata"]?["uid"]?.GetValue<string>();
    }

    /// <summary>
    /// Posts the Node status when <paramref name="always"/> (report period over) or when the stored Node's status
    /// differs from this kubelet's (heartbeat times aside); true when it posted.
    /// </summary>
    private async Task<bool> ReportAsync(DateTimeOffset now, bool always)
    {
        if (!always)
        {
            var stored = await _api.GetAsync(ApiResource.Nodes, null, _node.NodeName);
            if (!NodeStatusReport.Differs(stored["status"] as JsonObject, NodeObjects.Status(_node, now, _readySince))) return false;
        }
        await PatchStatusAsync(now);
        return true;
    }

    private Task PatchStatusAsync(DateTimeOffset now)
    {
        var patch = new JsonObject { ["status"] = NodeObjects.Status(_node, now, _readySince) }.ToJsonString();
        return _api.PatchAsync(ApiResource.Nodes, null, _node.NodeName, PatchType.Merge, patch, "status");
    }
}
