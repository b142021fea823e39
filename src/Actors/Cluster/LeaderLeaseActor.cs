using System.Globalization;
using System.Text.Json.Nodes;
using Akka.Actor;
using Akka.Event;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.Cluster;

/// <summary>
/// The coordination.k8s.io Lease Kubernetes' leader election keeps for a singleton component (kube-system/kube-scheduler,
/// kube-system/kube-controller-manager), written by a child of the singleton itself: holderIdentity is
/// "&lt;node&gt;_&lt;uuid&gt;" (the node hosting it, as client-go's "&lt;hostname&gt;_&lt;uuid&gt;"), renewTime is renewed every
/// <see cref="RenewInterval"/>, and a new incarnation (hand-over to another node, or a restart) takes the lease over
/// with a new acquireTime and leaseTransitions + 1. Akka's singleton, not the Lease, decides who leads: the Lease
/// is the record Kubernetes tools read (`kubectl get lease -n kube-system`).
/// </summary>
public sealed class LeaderLeaseActor : ReceiveActor, IWithTimers
{
    public static readonly TimeSpan RenewInterval = TimeSpan.FromSeconds(5);
    public const int LeaseDurationSeconds = 15;
    public const string Namespace = "kube-system";

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly IKubeApi _api;
    private readonly string _name;
    private readonly string _identity;
    private bool _busy;

    public ITimerScheduler Timers { get; set; } = null!;

    private sealed class Renew { public static readonly Renew Instance = new(); }
    private sealed record Renewed(Exception? Error);

    public LeaderLeaseActor(IKubeApi api, string leaseName, string nodeName)
    {
        _api = api;
        _name = leaseName;
        _identity = $"{nodeName}_{Guid.NewGuid()}";
        Receive<Renew>(_ =>
        {
            if (_busy) return;
            _busy = true;
            WriteAsync().PipeTo(Self, success: () => new Renewed(null), failure: e => new Renewed(e));
        });
        Receive<Renewed>(r =>
        {
            _busy = false;
            if (r.Error is not null) _log.Debug("lease {0}/{1}: renewal failed ({2}); retrying", Namespace, _name, r.Error.Message);
        });
    }

    public static Props Props(IKubeApi api, string leaseName, string nodeName) =>
        Akka.Actor.Props.Create(() => new LeaderLeaseActor(api, leaseName, nodeName));

    protected override void PreStart()
    {
        Self.Tell(Renew.Instance);
        Timers.StartPeriodicTimer("renew", Renew.Instance, RenewInterval);
    }

    private static string MicroTime(DateTime t) => t.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);

    private async Task WriteAsync()
    {
        var now = MicroTime(DateTime.UtcNow);
        JsonObject? current = null;
        try
        {
            current = await _api.GetAsync(ApiResource.Leases, Namespace, _name);
        }
        catch (KubeApiException e) when (e.IsNotFound) { }
        if (current is null)
        {
            await _api.CreateAsync(ApiResource.Leases, Namespace, new JsonObject
            {
                ["apiVersion"] = "coordination.k8s.io/v1",
                ["kind"] = "Lease",
                ["metadata"] = new JsonObject { ["name"] = _name, ["namespace"] = Namespace },
                ["spec"] = Spec(now, now, 0),
            });
            return;
        }
        var spec = current["spec"] as JsonObject;
        var mine = spec?["holderIdentity"]?.GetValue<string>() == _identity;
        var transitions = spec?["leaseTransitions"] is JsonValue t && t.TryGetValue<int>(out var n) ? n : 0;
        var next = (JsonObject)current.DeepClone();
        next["spec"] = mine
            ? Spec(spec?["acquireTime"]?.GetValue<string>() ?? now, now, transitions)
            : Spec(now, now, transitions + 1);
        await _api.UpdateAsync(ApiResource.Leases, Namespace, next);
    }

    private JsonObject Spec(string acquired, string renewed, int transitions) => new()
    {
        ["holderIdentity"] = _identity,
        ["leaseDurationSeconds"] = LeaseDurationSeconds,
        ["acquireTime"] = acquired,
        ["renewTime"] = renewed,
        ["leaseTransitions"] = transitions,
    };
}
