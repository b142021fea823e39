using System.Text.Json.Nodes;
using Akka.Actor;
using Akka.Cluster.Hosting;
using Akka.Event;
using Akka.Hosting;
using AkkaKube.Actors.Cluster;
using AkkaKube.Actors.Serialization;
using AkkaKube.Actors.Store;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.Services;

public static class ServiceAllocatorProtocol
{
    /// <summary>
    /// From the apiserver pipeline, before a Service is stored: validate, default and allocate.
    /// OldJson is the stored object on update, null on create. Replies <see cref="ServiceAdmitted"/> or <see cref="ServiceRejected"/>.
    /// </summary>
    public sealed record AdmitService(string ServiceJson, string? OldJson, bool DryRun = false) : IAkkaKubeMessage;

    public sealed record ServiceAdmitted(string ServiceJson) : IAkkaKubeMessage;

    /// <summary>422 Invalid with these causes.</summary>
    public sealed record ServiceRejected(IReadOnlyList<ServiceFieldError> Errors) : IAkkaKubeMessage;
}

/// <summary>
/// The one service allocator of the cluster (a singleton on control-plane nodes, so two apiservers never
/// hand out the same ClusterIP or NodePort): lists the stored services at start, then follows the store's
/// watch of the services partition, so allocations always mirror what is stored — across restarts and
/// fail-overs — and deletions free their addresses. Requests wait (stashed) until the first list is in.
/// </summary>
public sealed class ServiceAllocatorActor : ReceiveActor, IWithStash, IWithTimers
{
    private const string Partition = "services";
    private const string RelistTimer = "relist";
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly IActorRef _store;
    private readonly ServiceAllocations _allocations;
    private string _watchId = "";

    public IStash Stash { get; set; } = null!;
    public ITimerScheduler Timers { get; set; } = null!;

    public ServiceAllocatorActor(IActorRef store, ServiceNetworkSettings settings)
    {
        _store = store;
        _allocations = new ServiceAllocations(settings);
        Loading();
    }

    public static Props Props(IActorRef store, ServiceNetworkSettings settings) =>
        Akka.Actor.Props.Create(() => new ServiceAllocatorActor(store, settings));

    private sealed record Listed(StoreProtocol.ListReply Reply);
    private sealed record ListFailed(string Why);
    private sealed class Relist
    {
        public static readonly Relist Instance = new();
    }

    protected override void PreStart() => StartList();

    private void StartList()
    {
        _store.Ask<object>(new StoreProtocol.ListObjects(Partition, null, null, null), TimeSpan.FromSeconds(10))
            .PipeTo(Self, success: r => r is StoreProtocol.ListReply l ? new Listed(l) : new ListFailed(r.ToString() ?? "?"),
                failure: e => new ListFailed(e.Message));
    }

    private void Loading()
    {
        Receive<Listed>(listed =>
        {
            _allocations.Reset(listed.Reply.Items.Select(i => JsonNode.Parse(i)).OfType<JsonObject>());
            _watchId = Guid.NewGuid().ToString("N");
            _store.Tell(new StoreProtocol.StartWatch(Partition, _watchId, Self, null, null, null, listed.Reply.Revision));
            _log.Info("service allocations loaded: {0} services, {1} cluster IPs in use", listed.Reply.Items.Count, _allocations.AllocatedIps);
            Become(Serving);
            Stash.UnstashAll();
        });
        Receive<ListFailed>(failed =>
        {
            _log.Warning("cannot list stored services ({0}); retrying", failed.Why);
            Timers.StartSingleTimer(RelistTimer, Relist.Instance, TimeSpan.FromSeconds(1));
        });
        Receive<Relist>(_ => StartList());
        Receive<ServiceAllocatorProtocol.AdmitService>(_ => Stash.Stash());
        ReceiveAny(_ => { });
    }

    private void Serving()
    {
        Receive<ServiceAllocatorProtocol.AdmitService>(admit =>
        {
            if (JsonNode.Parse(admit.ServiceJson) is not JsonObject svc)
            {
                Sender.Tell(new ServiceAllocatorProtocol.ServiceRejected([ServiceFieldError.Required("spec")]));
                return;
            }
            var old = admit.OldJson is null ? null : JsonNode.Parse(admit.OldJson) as JsonObject;
            var result = _allocations.Admit(svc, old, admit.DryRun);
            Sender.Tell(result.Ok
                ? new ServiceAllocatorProtocol.ServiceAdmitted(result.Service!.ToJsonString())
                : new ServiceAllocatorProtocol.ServiceRejected(result.Errors));
        });
        Receive<WatchProtocol.WatchStarted>(_ => { });
        Receive<WatchProtocol.WatchEvent>(e =>
        {
            if (e.WatchId != _watchId || JsonNode.Parse(e.ObjectJson) is not JsonObject obj) return;
            if (e.Type == "DELETED") _allocations.Forget(obj);
            else if (e.Type is "ADDED" or "MODIFIED") _allocations.Observe(obj);
        });
        Receive<WatchProtocol.WatchEnded>(ended =>
        {
            if (ended.WatchId != _watchId) return;
            _log.Info("services watch ended ({0} {1}); re-listing", ended.Code, ended.Reason);
            Become(Loading);
            StartList();
        });
        Receive<StoreProtocol.StoreFailure>(f => _log.Warning("store refused the services watch: {0} {1}", f.Code, f.Message));
    }
}

/// <summary>Registry key of the proxy to the service-allocator singleton.</summary>
public sealed class ServiceAllocator;

public static class ServiceAllocatorHostingExtensions
{
    public const string SingletonName = "service-allocator";

    /// <summary>On control-plane nodes: the service-allocator singleton and its proxy (registry key <see cref="ServiceAllocator"/>). Needs the store region registered first.</summary>
    public static AkkaConfigurationBuilder AddServiceAllocator(this AkkaConfigurationBuilder builder, NodeOptions node)
    {
        return builder.WithControlPlaneSingleton<ServiceAllocator>(node, SingletonName,
            (system, registry, _) => ServiceAllocatorActor.Props(registry.Get<StoreRegion>(), ServiceNetworkSettings.Create(system.Settings.Config)),
            SingletonProxy.ControlPlane);
    }
}
