using AkkaKube.Actors.Machinery;
using System.Text.Json.Nodes;
using Akka.Actor;
using Akka.Event;
using AkkaKube.Actors.Client;

namespace AkkaKube.Actors.Kubelet;

/// <summary>
/// The node's heartbeat: renews the Lease kube-node-lease/&lt;node&gt; every lease interval (creating it, owned by the
/// Node, when missing). One renewal at a time; a failed one re-reads the Lease next time.
/// </summary>
public sealed class NodeLeaseActor : ReceiveActor, IWithTimers
{
    public const string RenewTimer = "renew";

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly string _nodeName;
    private readonly KubeletSettings _settings;
    private readonly IKubeApi _api;
    private readonly TimeSpan _interval;
    private string? _nodeUid;

    public ITimerScheduler Timers { get; set; } = null!;

    private sealed class Renew { public static readonly Renew Instance = new(); }
    private sealed record Renewed(JsonObject? Lease, Exception? Error);

    public NodeLeaseActor(string nodeName, string? nodeUid, KubeletSettings settings, IKubeApi api, TimeSpan interval)
    {
        _nodeName = nodeName;
        _nodeUid = nodeUid;
        _settings = settings;
        _api = api;
        _interval = interval;
        Idle(null);
    }

    public static Props Props(string nodeName, string? nodeUid, KubeletSettings settings, IKubeApi api, TimeSpan interval) =>
        Akka.Actor.Props.Create(() => new NodeLeaseActor(nodeName, nodeUid, settings, api, interval));

    protected override void PreStart()
    {
        // Spread hollow kubelets' renewals so thousands do not renew in the same instant.
        var jitter = TimeSpan.FromMilliseconds(Random.Shared.Next((int)Math.Max(1, _interval.TotalMilliseconds)));
        Timers.StartPeriodicTimer(RenewTimer, Renew.Instance, jitter, _interval);
        Self.Tell(Renew.Instance);
    }

    /// <summary>No renewal under way; <paramref name="lease"/> = the Lease last written (null: read or create it).</summary>
    private void Idle(JsonObject? lease)
    {
        Receive<Renew>(_ =>
        {
            RenewAsync(lease).PipeTo(Self, success: l => new Renewed(l, null), failure: e => new Renewed(null, e));
            Become(Renewing);
        });
        Receive<NodeStatusActor.NodeRegistered>(r => _nodeUid = r.Uid ?? _nodeUid);
    }

    private void Renewing()
    {
        Receive<Renewed>(d =>
        {
            KubeletMetrics.LeaseRenewed(_nodeName, d.Lease is not null);
            if (d.Lease is null) _log.Debug("lease renewal of {0} failed: {1}", _nodeName, d.Error?.GetBaseException().Message);
            Become(() => Idle(d.Lease));
        });
        Receive<Renew>(_ => { }); // one at a time
        Receive<NodeStatusActor.NodeRegistered>(r => _nodeUid = r.Uid ?? _nodeUid);
    }

    private async Task<JsonObject> RenewAsync(JsonObject? current)
    {
        var now = DateTimeOffset.UtcNow;
        if (current is null)
        {
            try
            {
                return await _api.CreateAsync(ApiResource.Leases, NodeObjects.LeaseNamespace,
                    NodeObjects.Lease(_nodeName, _nodeUid, _settings.LeaseDurationSeconds, now));
            }
            catch (KubeApiException e) when (e.IsAlreadyExists || e.IsConflict)
            {
                current = await _api.GetAsync(ApiResource.Leases, NodeObjects.LeaseNamespace, _nodeName);
            }
        }
        var next = (JsonObject)current.DeepClone();
        var spec = next["spec"] as JsonObject ?? new JsonObject();
        spec["holderIdentity"] = _nodeName;
        spec["leaseDurationSeconds"] = _settings.LeaseDurationSeconds;
        spec["renewTime"] = NodeObjects.MicroTime(now);
        next["spec"] = spec;
        return await _api.UpdateAsync(ApiResource.Leases, NodeObjects.LeaseNamespace, next);
    }
}
