using System.Text.Json.Nodes;
using Akka.Actor;
using Akka.Event;
using AkkaKube.Actors.Client;
using k8s.Models;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.Controllers.EndpointSlice;

/// <summary>
/// The EndpointSlice and Endpoints controllers (discovery.k8s.io/v1 and core/v1), level-triggered like
/// kube-controller-manager's, on <see cref="ControllerBase"/>: the shared informers of services, pods, nodes, managed
/// slices and endpoints turn events into service keys; each key is reconciled from the caches by
/// <see cref="EndpointSliceReconciler"/> (idempotent: deterministic slice names, resourceVersion preconditions) and
/// requeued with back-off when a write fails (a 409 from a stale cache heals once the informer catches up).
/// Services and pods are also kept as typed models (the reconciler's input), parsed once per event.
/// </summary>
public sealed class EndpointSliceController : ControllerBase
{
    private readonly Dictionary<string, V1Service> _services = new(StringComparer.Ordinal);
    private readonly Dictionary<string, V1Pod> _pods = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _zones = new(StringComparer.Ordinal);

    public EndpointSliceController(IKubeApi api, ControllerSettings settings) : base(api, settings) { }

    public static Props Props(IKubeApi api, ControllerSettings settings) =>
        Akka.Actor.Props.Create(() => new EndpointSliceController(api, settings));

    protected override string Name => ControllerNames.EndpointSlice;
    protected override string Component => "endpointslice-controller";

    protected override IEnumerable<ApiResource> Watched =>
        [ApiResource.Services, ApiResource.Pods, ApiResource.Nodes, ApiResource.EndpointSlices, ApiResource.Endpoints];

    /// <summary>Only the slices this controller manages (as Kubernetes' controller filters its informer).</summary>
    protected override InformerOptions InformerFor(ApiResource resource) => resource == ApiResource.EndpointSlices
        ? new InformerOptions(resource, LabelSelector: $"{EndpointSliceReconciler.ManagedByLabel}={EndpointSliceReconciler.ManagedBy}")
        : new InformerOptions(resource);

    protected override void OnSynced(ApiResource resource, bool first)
    {
        if (resource == ApiResource.Services) _services.Clear();
        else if (resource == ApiResource.Pods) _pods.Clear();
        else if (resource == ApiResource.Nodes) _zones.Clear();
        foreach (var (key, obj) in CacheOf(resource)) Put(resource, key, obj);
        foreach (var key in _services.Keys) Enqueue(key);
    }

    protected override void OnAdded(ApiResource resource, string key, JsonObject obj)
    {
        Put(resource, key, obj);
        Touch(resource, key, obj);
    }

    protected override void OnUpdated(ApiResource resource, string key, JsonObject old, JsonObject obj)
    {
        if (resource == ApiResource.Pods && _pods.TryGetValue(key, out var oldPod))
            foreach (var svc in ServicesSelecting(oldPod)) Enqueue(svc);
        Put(resource, key, obj);
        Touch(resource, key, obj);
    }

    protected override void OnDeleted(ApiResource resource, string key, JsonObject lastKnown)
    {
        var pod = resource == ApiResource.Pods ? _pods.GetValueOrDefault(key) : null;
        if (resource == ApiResource.Services) _services.Remove(key);
        else if (resource == ApiResource.Pods) _pods.Remove(key);
        else if (resource == ApiResource.Nodes) _zones.Remove(key);
        if (pod is not null) foreach (var svc in ServicesSelecting(pod)) Enqueue(svc);
        else Touch(resource, key, lastKnown);
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
        }
        catch (System.Text.Json.JsonException e)
        {
            Log.Warning("ignoring unreadable {0} {1}: {2}", resource.Resource, key, e.Message);
        }
    }

    /// <summary>Event → the service keys it concerns.</summary>
    private void Touch(ApiResource resource, string key, JsonObject obj)
    {
        if (resource == ApiResource.Services) Enqueue(key);
        else if (resource == ApiResource.Pods)
        {
            if (_pods.TryGetValue(key, out var pod)) foreach (var svc in ServicesSelecting(pod)) Enqueue(svc);
            else if (TryPod(obj) is { } gone) foreach (var svc in ServicesSelecting(gone)) Enqueue(svc);
        }
        else if (resource == ApiResource.Nodes) foreach (var svc in _services.Keys) Enqueue(svc);
        else if (resource == ApiResource.EndpointSlices)
        {
            var ns = obj["metadata"]?["namespace"]?.GetValue<string>();
            if (obj["metadata"]?["labels"]?[EndpointSliceReconciler.ServiceNameLabel] is JsonValue s && s.TryGetValue<string>(out var svcName))
                Enqueue($"{ns}/{svcName}");
        }
        else if (resource == ApiResource.Endpoints) Enqueue(key);
    }

    private static V1Pod? TryPod(JsonObject obj)
    {
        try { return EndpointSliceReconciler.ToPod(obj); }
        catch (System.Text.Json.JsonException) { return null; }
    }

    private List<string> ServicesSelecting(V1Pod pod) =>
        _services.Where(s => s.Value.Metadata.NamespaceProperty == pod.Metadata?.NamespaceProperty
                             && EndpointSliceReconciler.Matches(s.Value.Spec?.Selector, pod.Metadata?.Labels))
            .Select(s => s.Key).ToList();

    protected override ReconcileAction? Plan(string key)
    {
        var work = PlanFor(key);
        if (work.Plan.IsEmpty && work.DeleteEndpoints is null) return null;
        return async api =>
        {
            await Execute(api, work).ConfigureAwait(false);
            return null;
        };
    }

    private sealed record Work(string Namespace, EndpointSlicePlan Plan, string? DeleteEndpoints);

    private Work PlanFor(string key)
    {
        var slash = key.IndexOf('/');
        var ns = slash > 0 ? key[..slash] : "";
        var name = key[(slash + 1)..];
        var endpoints = CacheOf(ApiResource.Endpoints);
        var mine = StoreOf(ApiResource.EndpointSlices).By(InformerIndex.Namespace, ns).Where(s =>
            s["metadata"]?["namespace"]?.GetValue<string>() == ns
            && s["metadata"]?["labels"]?[EndpointSliceReconciler.ServiceNameLabel]?.GetValue<string>() == name
            && s["metadata"]?["labels"]?[EndpointSliceReconciler.ManagedByLabel]?.GetValue<string>() == EndpointSliceReconciler.ManagedBy).ToList();
        if (!_services.TryGetValue(key, out var svc) || !EndpointSliceReconciler.Selects(svc))
        {
            // service gone or without selector: remove the slices this controller made; the Endpoints of a
            // deleted service go too (those of a selector-less service belong to the user and stay)
            var deleteEndpoints = !_services.ContainsKey(key) && endpoints.ContainsKey(key) ? name : null;
            return new Work(ns, new EndpointSlicePlan([], [], mine.Select(EndpointSliceReconciler.Name).ToList(), null, null), deleteEndpoints);
        }
        return new Work(ns, EndpointSliceReconciler.Plan(svc, _pods.Values, _zones, mine, endpoints.GetValueOrDefault(key)), null);
    }

    private static async Task Execute(IKubeApi api, Work work)
    {
        var (ns, plan, deleteEndpoints) = work;
        foreach (var slice in plan.Create)
        {
            await api.CreateAsync(ApiResource.EndpointSlices, ns, slice); // AlreadyExists: the cache is behind, requeued
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
            await api.CreateAsync(ApiResource.Endpoints, ns, plan.EndpointsCreate); // AlreadyExists: as above
        }
        if (plan.EndpointsUpdate is not null)
            await api.UpdateAsync(ApiResource.Endpoints, ns, plan.EndpointsUpdate);
        if (deleteEndpoints is not null)
        {
            try { await api.DeleteAsync(ApiResource.Endpoints, ns, deleteEndpoints); }
            catch (KubeApiException e) when (e.IsNotFound) { }
        }
    }
}
