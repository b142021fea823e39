using System.Text.Json.Nodes;
using Akka.Actor;
using Akka.Event;
using AkkaKube.Actors.ApiServer.Registry;
using AkkaKube.Actors.ApiServer.Registry.ApiExtensions;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.ApiServer.CustomResources;

/// <summary>
/// Serves the custom resources of this apiserver (one per control-plane node, a child of the `apiserver` actor):
/// an informer on customresourcedefinitions keeps the node's <see cref="ApiRegistry"/> in step — a definition
/// whose names are accepted gets one registration per served version (discovery and OpenAPI follow the
/// registry), changed definitions are registered again, deleted ones unregistered. Like kube-apiserver's
/// apiextensions controllers, which every apiserver runs: it marks a served definition Established and, for a
/// definition being deleted, refuses new objects, deletes the existing ones and then removes the cleanup
/// finalizer (every apiserver may try; the store's optimistic concurrency keeps that safe).
/// </summary>
public sealed class CustomResourceRegistrar : ReceiveActor, IWithTimers
{
    private sealed record Served(string Fingerprint, IReadOnlyList<ApiResource> Resources, IReadOnlyList<CustomResourceStrategy> Strategies);
    private sealed record Finished(string Name, string What, Exception? Error);
    private sealed record Retry(string Name);

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly IKubeApi _api;
    private readonly ApiRegistry _registry;
    private readonly Dictionary<string, Served> _served = new(StringComparer.Ordinal);
    private readonly Dictionary<string, JsonObject> _latest = new(StringComparer.Ordinal);
    private readonly HashSet<string> _busy = new(StringComparer.Ordinal);

    public ITimerScheduler Timers { get; set; } = null!;

    public CustomResourceRegistrar(IKubeApi api, ApiRegistry registry)
    {
        _api = api;
        _registry = registry;
        Receive<InformerProtocol.Added>(e => Seen(e.Object));
        Receive<InformerProtocol.Updated>(e => Seen(e.New));
        Receive<InformerProtocol.Deleted>(e => Gone(Meta.Name(e.LastKnown) ?? ""));
        Receive<InformerProtocol.Synced>(s =>
        {
            foreach (var name in _served.Keys.Except(s.Objects.Values.Select(o => Meta.Name(o) ?? "")).ToList()) Gone(name);
            foreach (var crd in s.Objects.Values) Seen(crd);
        });
        Receive<Finished>(f =>
        {
            _busy.Remove(f.Name);
            if (f.Error is null) return;
            _log.Warning("custom resource definition {0}: {1} failed: {2}; retrying", f.Name, f.What, f.Error.Message);
            Timers.StartSingleTimer("retry-" + f.Name, new Retry(f.Name), TimeSpan.FromSeconds(1));
        });
        Receive<Retry>(r =>
        {
            if (_latest.TryGetValue(r.Name, out var crd)) Seen(crd);
        });
    }

    public static Props Props(IKubeApi api, ApiRegistry registry) => Akka.Actor.Props.Create(() => new CustomResourceRegistrar(api, registry));

    protected override void PreStart() =>
        SharedInformers.Get(Context.System).Subscribe(_api, new InformerOptions(CustomResourceDefinitionSpec.Resource), Self);

    private void Seen(JsonObject crd)
    {
        var name = Meta.Name(crd) ?? "";
        _latest[name] = crd;
        if (!CustomResourceDefinitionStrategy.IsTrue(crd, "NamesAccepted"))
        {
            Unserve(name);
            return;
        }
        var definition = CustomResourceDefinitionSpec.Parse(crd);
        var fingerprint = crd["spec"]!.ToJsonString();
        if (!_served.TryGetValue(name, out var served) || served.Fingerprint != fingerprint)
            served = Serve(name, definition, fingerprint);
        var terminating = crd["metadata"]?["deletionTimestamp"] is not null;
        if (terminating)
        {
            foreach (var s in served.Strategies) s.Terminate();
            if ((crd["metadata"]?["finalizers"] as JsonArray ?? []).Any(f => Meta.Str(f) == CustomResourceDefinitionStrategy.CleanupFinalizer))
                Start(name, "cleanup", ct => CleanupAsync(crd, definition, ct));
        }
        else if (!CustomResourceDefinitionStrategy.IsTrue(crd, "Established"))
            Start(name, "establishing", ct => EstablishAsync(crd, ct));
    }

    private Served Serve(string name, CustomResourceDefinitionSpec definition, string fingerprint)
    {
        var registrations = definition.Served().Select(s => (s.Resource, Strategy: new CustomResourceStrategy(definition, s.Version))).ToList();
        // the storage version first: it is the group's preferred version in discovery unless another group-version came first
        foreach (var (resource, strategy) in registrations.OrderByDescending(r => r.Resource.Version == definition.StorageVersion.Name))
            _registry.Register(resource, strategy);
        if (_served.TryGetValue(name, out var before))
            foreach (var old in before.Resources.Where(o => !registrations.Any(r => Same(r.Resource, o))))
                _registry.Unregister(old);
        var served = new Served(fingerprint, registrations.Select(r => r.Resource).ToList(), registrations.Select(r => r.Strategy).ToList());
        _served[name] = served;
        _log.Info("serving custom resource {0} ({1})", name, string.Join(", ", served.Resources.Select(r => r.ApiVersion)));
        return served;
    }

    private static bool Same(ApiResource a, ApiResource b) => a.Group == b.Group && a.Version == b.Version && a.Resource == b.Resource;

    private void Unserve(string name)
    {
        if (!_served.Remove(name, out var served)) return;
        foreach (var r in served.Resources) _registry.Unregister(r);
        _log.Info("no longer serving custom resource {0}", name);
    }

    private void Gone(string name)
    {
        _latest.Remove(name);
        Unserve(name);
    }

    private void Start(string name, string what, Func<CancellationToken, Task> work)
    {
        if (!_busy.Add(name)) return;
        var self = Self;
        Task.Run(async () =>
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            try
            {
                await work(cts.Token);
                return new Finished(name, what, null);
            }
            catch (Exception e)
            {
                return new Finished(name, what, e);
            }
        }).PipeTo(self);
    }

    /// <summary>Established: this apiserver serves the kind now (the first apiserver to serve it records it).</summary>
    private async Task EstablishAsync(JsonObject crd, CancellationToken ct)
    {
        var next = (JsonObject)crd.DeepClone();
        var status = next["status"] as JsonObject ?? new JsonObject();
        CustomResourceDefinitionStrategy.SetCondition(status, "Established", "True", "InitialNamesAccepted", "the initial names have been accepted", DateTime.UtcNow);
        next["status"] = status;
        try
        {
            await _api.UpdateAsync(CustomResourceDefinitionSpec.Resource, null, next, "status", ct);
        }
        catch (KubeApiException e) when (e.IsConflict || e.IsNotFound)
        {
            // changed meanwhile: the informer brings the new version and this runs again if still needed
        }
    }

    /// <summary>Deletes every object of the definition (all namespaces), then removes the cleanup finalizer.</summary>
    private async Task CleanupAsync(JsonObject crd, CustomResourceDefinitionSpec definition, CancellationToken ct)
    {
        var storage = definition.Served().FirstOrDefault(s => s.Version.Storage).Resource ?? definition.Served().FirstOrDefault().Resource;
        if (storage is not null)
        {
            var list = await _api.ListAsync(storage, null, null, ct);
            foreach (var item in list.Items)
            {
                try
                {
                    await _api.DeleteAsync(storage, storage.Namespaced ? Meta.Namespace(item) : null, Meta.Name(item) ?? "", new DeleteOptions("Background"), ct);
                }
                catch (KubeApiException e) when (e.IsNotFound)
                {
                }
            }
            // objects with finalizers of their own are still there: the definition waits for them (retried)
            var left = (await _api.ListAsync(storage, null, null, ct)).Items.Count;
            if (left > 0) throw new InvalidOperationException($"{left} {storage.Resource} still being deleted");
        }
        var next = (JsonObject)crd.DeepClone();
        var finalizers = (next["metadata"]?["finalizers"] as JsonArray ?? []).Select(Meta.Str).Where(f => f != CustomResourceDefinitionStrategy.CleanupFinalizer).ToList();
        Meta.Of(next)["finalizers"] = new JsonArray(finalizers.Select(f => (JsonNode?)f).ToArray());
        try
        {
            await _api.UpdateAsync(CustomResourceDefinitionSpec.Resource, null, next, null, ct);
        }
        catch (KubeApiException e) when (e.IsNotFound)
        {
        }
    }
}
