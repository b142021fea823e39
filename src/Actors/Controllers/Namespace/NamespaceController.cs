using System.Text.Json.Nodes;
using Akka.Actor;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.Controllers.Namespace;

/// <summary>
/// Deletes a terminating namespace's content: marks it Terminating, deletes every object of every namespaced
/// resource in it, re-checks until nothing is left, then removes the <c>kubernetes</c> finalizer so the
/// apiserver removes the namespace. Also makes sure the system namespaces exist.
/// </summary>
public sealed class NamespaceController : ControllerBase
{
    public const string KubernetesFinalizer = "kubernetes";
    public static readonly IReadOnlyList<string> SystemNamespaces = ["default", "kube-system", "kube-public", "kube-node-lease"];
    private const string BootstrapKey = "\u0000bootstrap";

    public NamespaceController(IKubeApi api, ControllerSettings settings) : base(api, settings) { }

    public static Props Props(IKubeApi api, ControllerSettings settings) =>
        Akka.Actor.Props.Create(() => new NamespaceController(api, settings));

    protected override string Name => ControllerNames.Namespace;
    protected override string Component => "namespace-controller";
    protected override IEnumerable<ApiResource> Watched => [ApiResource.Namespaces];

    protected override void OnSynced(ApiResource resource, bool first)
    {
        if (first) Enqueue(BootstrapKey);
        foreach (var (key, ns) in CacheOf(resource)) if (IsDeleting(ns)) Enqueue(key);
    }

    protected override void OnAdded(ApiResource resource, string key, JsonObject obj) { if (IsDeleting(obj)) Enqueue(key); }
    protected override void OnUpdated(ApiResource resource, string key, JsonObject old, JsonObject obj) { if (IsDeleting(obj)) Enqueue(key); }

    /// <summary>A namespace removed without passing through Terminating (no finalizer held it): still empty it.</summary>
    protected override void OnDeleted(ApiResource resource, string key, JsonObject lastKnown) => Enqueue(GonePrefix + key);

    private const string GonePrefix = "\u0001gone/";

    protected override ReconcileAction? Plan(string key)
    {
        if (key == BootstrapKey)
        {
            var missing = SystemNamespaces.Where(n => !CacheOf(ApiResource.Namespaces).ContainsKey(n)).ToList();
            if (missing.Count == 0) return null;
            return async api =>
            {
                foreach (var n in missing)
                {
                    try
                    {
                        await api.CreateAsync(ApiResource.Namespaces, null, new JsonObject
                        {
                            ["apiVersion"] = "v1", ["kind"] = "Namespace", ["metadata"] = new JsonObject { ["name"] = n },
                        });
                    }
                    catch (KubeApiException e) when (e.IsAlreadyExists || e.IsConflict) { }
                }
                return null;
            };
        }
        if (key.StartsWith(GonePrefix, StringComparison.Ordinal))
        {
            var gone = key[GonePrefix.Length..];
            if (CacheOf(ApiResource.Namespaces).ContainsKey(gone)) return null; // re-created meanwhile
            return async api => await DeleteContent(api, gone) > 0 ? Settings.NamespaceRecheck : null;
        }
        if (!CacheOf(ApiResource.Namespaces).TryGetValue(key, out var ns) || !IsDeleting(ns)) return null;
        var name = NameOf(ns);
        var terminating = Str(ns["status"]?["phase"]) == "Terminating";
        return async api =>
        {
            if (!terminating)
            {
                try
                {
                    await api.PatchAsync(ApiResource.Namespaces, null, name, PatchType.Merge,
                        """{"status":{"phase":"Terminating"}}""", subresource: "status");
                }
                catch (KubeApiException e) when (e.IsNotFound) { return null; }
            }
            if (await DeleteContent(api, name) > 0) return Settings.NamespaceRecheck;
            await Finalize(api, name);
            return null;
        };
    }

    /// <summary>Deletes every object of every namespaced resource in the namespace; returns how many were still there.</summary>
    private static async Task<int> DeleteContent(IKubeApi api, string name)
    {
        var remaining = 0;
        foreach (var resource in ApiResources.All.Where(r => r.Namespaced))
        {
            ObjectList list;
            try { list = await api.ListAsync(resource, name); }
            catch (KubeApiException e) when (e.IsNotFound || e.Code == 405) { continue; }
            foreach (var item in list.Items)
            {
                remaining++;
                if (IsDeleting(item)) continue;
                try { await api.DeleteAsync(resource, name, NameOf(item), new DeleteOptions(PropagationPolicy: "Background")); }
                catch (KubeApiException e) when (e.IsNotFound) { remaining--; }
            }
        }
        return remaining;
    }

    /// <summary>Removes the kubernetes finalizer (spec.finalizers, and metadata.finalizers if the apiserver keeps it there).</summary>
    private static async Task Finalize(IKubeApi api, string name)
    {
        JsonObject fresh;
        try { fresh = await api.GetAsync(ApiResource.Namespaces, null, name); }
        catch (KubeApiException e) when (e.IsNotFound) { return; }
        var changed = false;
        if (fresh["spec"]?["finalizers"] is JsonArray spec)
        {
            var keep = spec.Where(f => Str(f) != KubernetesFinalizer).Select(f => f!.DeepClone()).ToArray();
            changed |= keep.Length != spec.Count;
            fresh["spec"]!["finalizers"] = new JsonArray(keep);
        }
        changed |= GarbageCollector.GarbageCollector.RemoveFinalizer(fresh, KubernetesFinalizer);
        if (!changed) return;
        try
        {
            await api.UpdateAsync(ApiResource.Namespaces, null, fresh, subresource: "finalize");
        }
        catch (KubeApiException e) when (e.IsNotFound && !e.Message.Contains(name, StringComparison.Ordinal) || e.Code is 405 or 400)
        {
            // No finalize subresource: a plain update of spec/metadata finalizers.
            await api.UpdateAsync(ApiResource.Namespaces, null, fresh);
        }
        catch (KubeApiException e) when (e.IsNotFound) { }
    }
}
