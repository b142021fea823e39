using System.Text.Json.Nodes;
using Akka.Actor;
using Akka.Cluster.Hosting;
using Akka.Event;
using Akka.Hosting;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Cluster;
using k8s.Models;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.Controllers.EndpointSlice;

/// <summary>
/// The EndpointSlice and Endpoints controllers (discovery.k8s.io/v1 and core/v1), level-triggered like
/// kube-controller-manager's: informers on services, pods, nodes, managed slices and endpoints turn events
/// into service keys; each dirty key is reconciled from the caches by <see cref="EndpointSliceReconciler"/>
/// (idempotent: deterministic slice names, resourceVersion preconditions) and retried with back-off when a
/// write fails (a 409 from a stale cache heals once the informer catches up).
/// </summary>
public sealed class EndpointSliceController : ReceiveActor, IWithTimers
{
    private const string FlushTimer = "flush";
    private static readonly TimeSpan Batch = TimeSpan.FromMilliseconds(20);
    private static readonly TimeSpan MinRetry = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan MaxRetry = TimeSpan.FromSeconds(10);

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly IKubeApi _api;
    private readonly Dictionary<string, V1Service> _services = new(StringComparer.Ordinal);
    private readonly Dictionary<string, V1Pod> _pods = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _zones = new(StringComparer.Ordinal);
    private readonly Dictionary<string, JsonObject> _slices = new(StringComparer.Ordinal);
    private readonly Dictionary<string, JsonObject> _endpoints = new(StringComparer.Ordinal);
    private readonly HashSet<ApiResource> _synced = [];
    private readonly HashSet<string> _dirty = new(StringComparer.Ordinal);
    private readonly HashSet<string> _inFlight = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TimeSpan> _retries = new(StringComparer.Ordinal);

    public ITimerScheduler Timers { get; set; } = null!;

    public EndpointSliceController(IKubeApi api)
    {
        _api = api;
        Receive<InformerProtocol.Synced>(OnSynced);
        Receive<InformerProtocol.Added>(e => OnChange(e.Resource, e.Key, null, e.Object));
        Receive<InformerProtocol.Updated>(e => OnChange(e.Resource, e.Key, e.Old, e.New));
        Receive<InformerProtocol.Deleted>(e => OnDelete(e.Resource, e.Key, e.LastKnown));
        Receive<Flush>(_ => FlushDirty());
        Receive<Retry>(r => MarkDirty(r.Key));
        Receive<Done>(OnDone);
    }

    /// <summary>Props for a host (the controller-manager, or <see cref="EndpointSliceHostingExtensions.AddEndpointSliceController"/>).</summary>
    public static Props Props(IKubeApi api) => Akka.Actor.Props.Create(() => new EndpointSliceController(api));

    private sealed class Flush
    {
        public static readonly Flush Instance = new();
    }

    private sealed record Retry(string Key);

    private sealed record Done(string Key, Exception? Error);

    private static readonly ApiResource[] Watched =
    [
        ApiResource.Services, ApiResource.Pods, ApiResource.Nodes, ApiResource.EndpointSlices, ApiResource.Endpoints,
    ];

    protected override void PreStart()
    {
        SharedInformers.Get(Context.System).Subscribe(_api, new InformerOptions(ApiResource.Services), Self);
        SharedInformers.Get(Context.System).Subscribe(_api, new InformerOptions(ApiResource.Pods), Self);
        SharedInformers.Get(Context.System).Subscribe(_api, new InformerOptions(ApiResource.Nodes), Self);
        SharedInformers.Get(Context.System).Subscribe(_api, new InformerOptions(ApiResource.EndpointSlices,
            LabelSelector: $"{EndpointSliceReconciler.ManagedByLabel}={EndpointSliceReconciler.ManagedBy}"), Self);
        SharedInformers.Get(Context.System).Subscribe(_api, new InformerOptions(ApiResource.Endpoints), Self);
    }

    private void OnSynced(InformerProtocol.Synced synced)
    {
        if (synced.Resource == ApiResource.Services) _services.Clear();
        else if (synced.Resource == ApiResource.Pods) _pods.Clear();
        else if (synced.Resource == ApiResource.Nodes) _zones.Clear();
        else if (synced.Resource == ApiResource.EndpointSlices) _slices.Clear();
        else if (synced.Resource == ApiResource.Endpoints) _endpoints.Clear();
        foreach (var (key, obj) in synced.Objects) Put(synced.Resource, key, obj);
        _synced.Add(synced.Resource);
        foreach (var key in _services.Keys) MarkDirty(key);
    }

    private void OnChange(ApiResource resource, string key, JsonObject? old, JsonObject obj)
    {
        if (resource == ApiResource.Pods && old is not null && _pods.TryGetValue(key, out var oldPod))
            foreach (var svc in ServicesSelecting(oldPod)) MarkDirty(svc);
        Put(resource, key, obj);
        Touch(resource, key, obj);
    }

    private void OnDelete(ApiResource resource, string key, JsonObject last)
    {
        if (resource == ApiResource.Services) _services.Remove(key);
        else if (resource == ApiResource.Pods) _pods.Remove(key);
        else if (resource == ApiResource.Nodes) _zones.Remove(key);
        else if (resource == ApiResource.EndpointSlices) _slices.Remove(key);
        else if (resource == ApiResource.Endpoints) _endpoints.Remove(key);
        Touch(resource, key, last);
    }

    private void Put(ApiResource resource, string key, JsonObject obj)
    {
        try
        {
            if (resource == ApiResource.Services) _services[key] = EndpointSliceReconciler.ToService(obj);
            else if (resource == ApiResource.Pods) _pods[key] = EndpointSliceReconciler.ToPod(obj);
            else if (resource == ApiResource.Nodes)
            {
                if (obj["metadata"]?["labels"]?[AkkaKubeNames.Labels.Zone] is JsonValue z && z.TryGetValue<string>(out var zone)) _zones[key] = zone;
                else _zones.Remove(key);
            }
            else if (resource == ApiResource.EndpointSlices) _slices[key] = obj;
            else if (resource == ApiResource.Endpoints) _endpoints[key] = obj;
        }
        catch (System.Text.Json.JsonException e)
        {
            _log.Warning("ignoring unreadable {0} {1}: {2}", resource.Resource, key, e.Message);
        }
    }

    /// <summary>Event → the service keys it concerns.</summary>
    private void Touch(ApiResource resource, string key, JsonObject obj)
    {
        if (resource == ApiResource.Services) MarkDirty(key);
        else if (resource == ApiResource.Pods)
        {
            if (_pods.TryGetValue(key, out var pod)) foreach (var svc in ServicesSelecting(pod)) MarkDirty(svc);
            else if (TryPod(obj) is { } gone) foreach (var svc in ServicesSelecting(gone)) MarkDirty(svc);
        }
        else if (resource == ApiResource.Nodes) foreach (var svc in _services.Keys) MarkDirty(svc);
        else if (resource == ApiResource.EndpointSlices)
        {
            var ns = obj["metadata"]?["namespace"]?.GetValue<string>();
            if (obj["metadata"]?["labels"]?[EndpointSliceReconciler.ServiceNameLabel] is JsonValue s && s.TryGetValue<string>(out var svcName))
                MarkDirty($"{ns}/{svcName}");
        }
        else if (resource == ApiResource.Endpoints) MarkDirty(key);
    }

    private V1Pod? TryPod(JsonObject obj)
    {
        try { return EndpointSliceReconciler.ToPod(obj); }
        catch (System.Text.Json.JsonException) { return null; }
    }

    private IEnumerable<string> ServicesSelecting(V1Pod pod) =>
        _services.Where(s => s.Value.Metadata.NamespaceProperty == pod.Metadata?.NamespaceProperty
                             && EndpointSliceReconciler.Matches(s.Value.Spec?.Selector, pod.Metadata?.Labels))
            .Select(s => s.Key).ToList();

    private void MarkDirty(string key)
    {
        _dirty.Add(key);
        if (!Timers.IsTimerActive(FlushTimer)) Timers.StartSingleTimer(FlushTimer, Flush.Instance, Batch);
    }

    private void FlushDirty()
    {
        if (_synced.Count < Watched.Length) return; // all caches first, as a real controller waits for HasSynced
        foreach (var key in _dirty.Where(k => !_inFlight.Contains(k)).ToList())
        {
            _dirty.Remove(key);
            var work = PlanFor(key);
            if (work.Plan.IsEmpty && work.DeleteEndpoints is null) continue;
            _inFlight.Add(key);
            Execute(_api, work).PipeTo(Self, success: () => new Done(key, null), failure: e => new Done(key, e));
        }
    }

    private sealed record Work(string Namespace, EndpointSlicePlan Plan, string? DeleteEndpoints);

    private Work PlanFor(string key)
    {
        var slash = key.IndexOf('/');
        var ns = slash > 0 ? key[..slash] : "";
        var name = key[(slash + 1)..];
        var mine = _slices.Values.Where(s =>
            s["metadata"]?["namespace"]?.GetValue<string>() == ns
            && s["metadata"]?["labels"]?[EndpointSliceReconciler.ServiceNameLabel]?.GetValue<string>() == name
            && s["metadata"]?["labels"]?[EndpointSliceReconciler.ManagedByLabel]?.GetValue<string>() == EndpointSliceReconciler.ManagedBy).ToList();
        if (!_services.TryGetValue(key, out var svc) || !EndpointSliceReconciler.Selects(svc))
        {
            // service gone or without selector: remove the slices this controller made; the Endpoints of a
            // deleted service go too (those of a selector-less service belong to the user and stay)
            var deleteEndpoints = !_services.ContainsKey(key) && _endpoints.ContainsKey(key) ? name : null;
            return new Work(ns, new EndpointSlicePlan([], [], mine.Select(EndpointSliceReconciler.Name).ToList(), null, null), deleteEndpoints);
        }
        return new Work(ns, EndpointSliceReconciler.Plan(svc, _pods.Values, _zones, mine, _endpoints.GetValueOrDefault(key)), null);
    }

    private static async Task Execute(IKubeApi api, Work work)
    {
        var (ns, plan, deleteEndpoints) = work;
        foreach (var slice in plan.Create)
        {
            try { await api.CreateAsync(ApiResource.EndpointSlices, ns, slice); }
            catch (KubeApiException e) when (e.IsAlreadyExists) { throw new InvalidOperationException("slice exists; cache behind", e); }
        }
        foreach (var slice in plan.Update)
            await api.UpdateAsync(ApiResource.EndpointSlices, ns, slice);
        foreach (var name in plan.Delete)
        {
            try { await api.DeleteAsync(ApiResource.EndpointSlices, ns, name); }
            catch (KubeApiException e) when (e.IsNotFound) { }
        }
        if (plan.EndpointsCreate is not null)
        {
            try { await api.CreateAsync(ApiResource.Endpoints, ns, plan.EndpointsCreate); }
            catch (KubeApiException e) when (e.IsAlreadyExists) { throw new InvalidOperationException("endpoints exist; cache behind", e); }
        }
        if (plan.EndpointsUpdate is not null)
            await api.UpdateAsync(ApiResource.Endpoints, ns, plan.EndpointsUpdate);
        if (deleteEndpoints is not null)
        {
            try { await api.DeleteAsync(ApiResource.Endpoints, ns, deleteEndpoints); }
            catch (KubeApiException e) when (e.IsNotFound) { }
        }
    }

    private void OnDone(Done done)
    {
        _inFlight.Remove(done.Key);
        if (done.Error is null)
        {
            _retries.Remove(done.Key);
            if (_dirty.Contains(done.Key)) MarkDirty(done.Key);
            return;
        }
        var delay = _retries.TryGetValue(done.Key, out var previous) ? TimeSpan.FromTicks(Math.Min(previous.Ticks * 2, MaxRetry.Ticks)) : MinRetry;
        _retries[done.Key] = delay;
        _log.Info("syncing endpoints of {0} failed ({1}); retrying in {2}", done.Key, done.Error.GetBaseException().Message, delay);
        Timers.StartSingleTimer("retry-" + done.Key, new Retry(done.Key), delay);
    }
}

/// <summary>Registry key of the endpointslice-controller singleton proxy (until the controller-manager hosts it).</summary>
public sealed class EndpointSliceControllerKey;

public static class EndpointSliceHostingExtensions
{
    public const string SingletonName = "endpointslice-controller";

    /// <summary>
    /// Runs the EndpointSlice/Endpoints controller as a cluster singleton on control-plane nodes. When the
    /// controller-manager hosts <see cref="EndpointSliceController.Props"/> itself, drop this line.
    /// </summary>
    public static AkkaConfigurationBuilder AddEndpointSliceController(this AkkaConfigurationBuilder builder, NodeOptions node,
        Func<ActorSystem, IActorRegistry, IKubeApi>? api = null)
    {
        return builder.WithControlPlaneSingleton<EndpointSliceControllerKey>(node, SingletonName,
            (system, registry, resolver) => EndpointSliceController.Props(api?.Invoke(system, registry) ?? AkkaKube.Actors.ApiServer.KubeApi.Get(system).Api),
            SingletonProxy.None);
    }
}
