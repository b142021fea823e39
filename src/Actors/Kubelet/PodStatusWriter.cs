using AkkaKube.Actors.Machinery;
using System.Text.Json.Nodes;
using Akka.Actor;
using Akka.Event;
using AkkaKube.Actors.Client;

namespace AkkaKube.Actors.Kubelet;

/// <summary>
/// Writes one pod's status through the status subresource, one request at a time (child of its <see cref="PodWorker"/>,
/// the kubelet's status manager for that pod). A status handed over while a write is in flight replaces any older pending
/// one, so a burst of changes costs at most two writes; a failed write is retried with the latest status.
/// </summary>
public sealed class PodStatusWriter : ReceiveActor, IWithTimers
{
    /// <summary>Write this status (the whole <c>status</c> object).</summary>
    public sealed record Write(JsonObject Status);

    /// <summary>To the parent: the latest status handed over is stored.</summary>
    public sealed class Stored { public static readonly Stored Instance = new(); }

    private const string RetryTimer = "retry";
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(1);
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly IKubeApi _api;
    private readonly string _ns;
    private readonly string _name;

    public ITimerScheduler Timers { get; set; } = null!;

    private sealed record Done(bool Ok, bool Gone, string? Error);
    private sealed class RetryNow { public static readonly RetryNow Instance = new(); }

    public PodStatusWriter(IKubeApi api, string ns, string name)
    {
        _api = api;
        _ns = ns;
        _name = name;
        Idle();
    }

    public static Props Props(IKubeApi api, string ns, string name) => Akka.Actor.Props.Create(() => new PodStatusWriter(api, ns, name));

    private void Idle()
    {
        Receive<Write>(w => Send(w.Status));
    }

    private void Writing(JsonObject current, JsonObject? pending)
    {
        Receive<Write>(w => Become(() => Writing(current, w.Status)));
        Receive<Done>(d =>
        {
            if (!d.Ok && !d.Gone)
            {
                _log.Debug("status write of {0}/{1} failed: {2}; retrying", _ns, _name, d.Error);
                Become(() => Retrying(pending ?? current));
                Timers.StartSingleTimer(RetryTimer, RetryNow.Instance, RetryDelay);
                return;
            }
            if (pending is not null)
            {
                Send(pending);
                return;
            }
            Become(Idle);
            if (d.Ok) Context.Parent.Tell(Stored.Instance);
        });
    }

    private void Retrying(JsonObject latest)
    {
        Receive<Write>(w => Become(() => Retrying(w.Status)));
        Receive<RetryNow>(_ => Send(latest));
    }

    private void Send(JsonObject status)
    {
        var patch = new JsonObject { ["status"] = status.DeepClone() }.ToJsonString();
        _api.PatchAsync(ApiResource.Pods, _ns, _name, PatchType.Merge, patch, "status").PipeTo(Self,
            success: _ => new Done(true, false, null),
            failure: e => e.GetBaseException() is KubeApiException { Code: 404 } ? new Done(false, true, null) : new Done(false, false, e.GetBaseException().Message));
        Become(() => Writing(status, null));
    }
}
