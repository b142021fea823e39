using System.Text.Json.Nodes;
using Akka.Actor;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.Controllers.Volume;

/// <summary>
/// Kubernetes' persistentvolume-binder with the built-in local-path provisioner (docs/storage.md). Claims bind to
/// the smallest fitting volume; a claim of a class provisioned by <see cref="VolumeLogic.Provisioner"/> with
/// volumeBindingMode WaitForFirstConsumer waits until a pod using it is bound to a node, is annotated with
/// volume.kubernetes.io/selected-node, and gets a new volume with node affinity to that node (and its zone). Volumes
/// whose claim is gone are Released; provisioned ones with reclaimPolicy Delete are then deleted, and the kubelet of
/// their node removes the directory and the cleanup finalizer. Keys are "claim/ns/name" and "volume/name".
/// </summary>
public sealed class PersistentVolumeController : ControllerBase
{
    private const string ClaimPrefix = "claim/";
    private const string VolumePrefix = "volume/";
    private readonly HashSet<string> _waitingReported = new(StringComparer.Ordinal);

    public PersistentVolumeController(IKubeApi api, ControllerSettings settings) : base(api, settings) { }

    public static Props Props(IKubeApi api, ControllerSettings settings) =>
        Akka.Actor.Props.Create(() => new PersistentVolumeController(api, settings));

    protected override string Name => ControllerNames.PersistentVolume;
    protected override string Component => "persistentvolume-controller";

    protected override IEnumerable<ApiResource> Watched =>
        [ApiResource.PersistentVolumeClaims, ApiResource.PersistentVolumes, ApiResource.StorageClasses, ApiResource.Pods, ApiResource.Nodes];

    protected override void OnSynced(ApiResource resource, bool first)
    {
        if (resource == ApiResource.PersistentVolumeClaims)
            foreach (var k in CacheOf(resource).Keys) Enqueue(ClaimPrefix + k);
        else if (resource == ApiResource.PersistentVolumes)
            foreach (var k in CacheOf(resource).Keys) Enqueue(VolumePrefix + k);
    }

    protected override void OnAdded(ApiResource resource, string key, JsonObject obj) => Changed(resource, key, obj);

    protected override void OnUpdated(ApiResource resource, string key, JsonObject old, JsonObject obj) => Changed(resource, key, obj);

    protected override void OnDeleted(ApiResource resource, string key, JsonObject lastKnown)
    {
        Changed(resource, key, lastKnown);
        if (resource == ApiResource.PersistentVolumeClaims) _waitingReported.Remove(UidOf(lastKnown));
    }

    private void Changed(ApiResource resource, string key, JsonObject obj)
    {
        if (resource == ApiResource.PersistentVolumeClaims)
        {
            Enqueue(ClaimPrefix + key);
            // the volumes reserved for or bound to this claim learn whether it still exists
            foreach (var (name, v) in CacheOf(ApiResource.PersistentVolumes))
                if (VolumeLogic.ClaimRefOf(v)?.Key == key) Enqueue(VolumePrefix + name);
        }
        else if (resource == ApiResource.PersistentVolumes)
        {
            Enqueue(VolumePrefix + key);
            if (VolumeLogic.ClaimRefOf(obj) is { } r) Enqueue(ClaimPrefix + r.Key);
            // a new or freed volume may fit a claim still waiting
            foreach (var (k, c) in CacheOf(ApiResource.PersistentVolumeClaims))
                if (Str(c["spec"]?["volumeName"]) is null) Enqueue(ClaimPrefix + k);
        }
        else if (resource == ApiResource.Pods && Str(obj["spec"]?["nodeName"]) is { Length: > 0 })
        {
            foreach (var claim in VolumeLogic.ClaimsOf(obj)) Enqueue(ClaimPrefix + claim);
        }
        else if (resource == ApiResource.StorageClasses)
        {
            foreach (var (k, c) in CacheOf(ApiResource.PersistentVolumeClaims))
                if (Str(c["spec"]?["volumeName"]) is null && VolumeLogic.ClassOf(c) == key) Enqueue(ClaimPrefix + k);
        }
        else if (resource == ApiResource.Nodes)
        {
            foreach (var (name, v) in CacheOf(ApiResource.PersistentVolumes))
                if (IsDeleting(v) && VolumeLogic.NodeOf(v) == key) Enqueue(VolumePrefix + name);
        }
    }

    protected override ReconcileAction? Plan(string key) =>
        key.StartsWith(ClaimPrefix, StringComparison.Ordinal) ? PlanClaim(key[ClaimPrefix.Length..])
        : key.StartsWith(VolumePrefix, StringComparison.Ordinal) ? PlanVolume(key[VolumePrefix.Length..])
        : null;

    // ---- claims ----

    private ReconcileAction? PlanClaim(string key)
    {
        if (!CacheOf(ApiResource.PersistentVolumeClaims).TryGetValue(key, out var claim) || IsDeleting(claim)) return null;
        var volumes = CacheOf(ApiResource.PersistentVolumes);
        if (Str(claim["spec"]?["volumeName"]) is { } volumeName)
        {
            if (!volumes.TryGetValue(volumeName, out var bound))
                return VolumeLogic.Phase(claim) == "Bound" ? SetClaimPhase(claim, "Lost", "ClaimLost", $"Bound claim has lost its PersistentVolume {volumeName}. Data on the volume is lost!") : null;
            if (VolumeLogic.ClaimRefOf(bound) is null) return BindBoth(claim, bound);
            if (VolumeLogic.Mismatch(claim, bound) is not null && VolumeLogic.ClaimRefOf(bound)?.Key != key) return null; // reserved for another claim: wait
            return FinishBinding(claim, bound);
        }
        if (VolumeLogic.FindMatch(claim, volumes.Values) is { } match) return BindBoth(claim, match);

        var className = VolumeLogic.ClassOf(claim);
        if (className.Length == 0 || !CacheOf(ApiResource.StorageClasses).TryGetValue(className, out var sc))
        {
            ReportOnce(claim, "Normal", "FailedBinding", className.Length == 0
                ? "no persistent volumes available for this claim and no storage class is set"
                : $"storageclass.storage.k8s.io \"{className}\" not found");
            return null;
        }
        if (Str(sc["provisioner"]) != VolumeLogic.Provisioner)
        {
            ReportOnce(claim, "Normal", "ExternalProvisioning",
                $"Waiting for a volume to be created either by the external provisioner '{Str(sc["provisioner"])}' or manually by the system administrator.");
            return null;
        }
        if (Str(sc["volumeBindingMode"]) != "WaitForFirstConsumer")
        {
            ReportOnce(claim, "Warning", "ProvisioningFailed",
                $"{VolumeLogic.Provisioner} provisions node-local directories: storage class \"{className}\" needs volumeBindingMode WaitForFirstConsumer");
            return null;
        }
        var selected = Str(Meta(claim)["annotations"]?[VolumeLogic.SelectedNodeAnnotation]);
        if (selected is null)
        {
            var consumer = CacheOf(ApiResource.Pods).Values.FirstOrDefault(p =>
                !IsDeleting(p) && Str(p["spec"]?["nodeName"]) is { Length: > 0 } && VolumeLogic.ClaimsOf(p).Contains(key)
                && Str(p["status"]?["phase"]) is not ("Succeeded" or "Failed"));
            if (consumer is null)
            {
                ReportOnce(claim, "Normal", "WaitForFirstConsumer", "waiting for first consumer to be created before binding");
                return null;
            }
            return SelectNode(claim, Str(consumer["spec"]?["nodeName"])!);
        }
        if (!CacheOf(ApiResource.Nodes).TryGetValue(selected, out var node))
        {
            ReportOnce(claim, "Warning", "ProvisioningFailed", $"selected node {selected} does not exist");
            return null;
        }
        return ProvisionFor(claim, sc, node);
    }

    /// <summary>Records an event once per claim (uid) and reason, so a waiting claim does not emit one per resync.</summary>
    private void ReportOnce(JsonObject claim, string type, string reason, string message)
    {
        if (_waitingReported.Add(UidOf(claim) + "/" + reason)) Record(claim, type, reason, message);
    }

    /// <summary>The consumer was scheduled: record its node on the claim, as the scheduler's volume binder does.</summary>
    private ReconcileAction SelectNode(JsonObject claim, string node)
    {
        var (ns, name) = (NamespaceOf(claim), NameOf(claim));
        var patch = new JsonObject
        {
            ["metadata"] = new JsonObject
            {
                ["annotations"] = new JsonObject
                {
                    [VolumeLogic.SelectedNodeAnnotation] = node,
                    [VolumeLogic.StorageProvisionerAnnotation] = VolumeLogic.Provisioner,
                    [VolumeLogic.BetaStorageProvisionerAnnotation] = VolumeLogic.Provisioner,
                },
            },
        }.ToJsonString();
        return async api =>
        {
            await api.PatchAsync(ApiResource.PersistentVolumeClaims, ns, name, PatchType.Merge, patch);
            return null;
        };
    }

    private ReconcileAction ProvisionFor(JsonObject claim, JsonObject sc, JsonObject node)
    {
        var volume = VolumeLogic.Provision(claim, sc, node);
        var (claimCopy, nodeName, path) = ((JsonObject)claim.DeepClone(), NameOf(node), VolumeLogic.PathOf(volume));
        return async api =>
        {
            try
            {
                await api.CreateAsync(ApiResource.PersistentVolumes, null, volume);
                Record(claimCopy, "Normal", "ProvisioningSucceeded", $"Successfully provisioned volume {NameOf(volume)} on node {nodeName} at {path}");
            }
            catch (KubeApiException e) when (e.IsAlreadyExists) { }
            return null;
        };
    }

    /// <summary>Volume first (claimRef), then the claim (volumeName, annotations), then the claim's status: Kubernetes' order.</summary>
    private ReconcileAction BindBoth(JsonObject claim, JsonObject volume)
    {
        var boundVolume = VolumeLogic.BindVolume(volume, claim);
        var (claimCopy, volumeCopy) = ((JsonObject)claim.DeepClone(), (JsonObject)volume.DeepClone());
        return async api =>
        {
            var v = await api.UpdateAsync(ApiResource.PersistentVolumes, null, boundVolume);
            await WriteBound(api, claimCopy, v);
            Record(volumeCopy, "Normal", "Bound", $"bound to claim {NamespaceOf(claimCopy)}/{NameOf(claimCopy)}");
            return null;
        };
    }

    private ReconcileAction? FinishBinding(JsonObject claim, JsonObject volume)
    {
        var annotated = Str(Meta(claim)["annotations"]?[VolumeLogic.BindCompletedAnnotation]) == "yes";
        if (annotated && VolumeLogic.Phase(claim) == "Bound" && VolumeLogic.Phase(volume) == "Bound") return null;
        var (claimCopy, volumeCopy) = ((JsonObject)claim.DeepClone(), (JsonObject)volume.DeepClone());
        return async api =>
        {
            await WriteBound(api, claimCopy, volumeCopy);
            return null;
        };
    }

    private static async Task WriteBound(IKubeApi api, JsonObject claim, JsonObject volume)
    {
        if (VolumeLogic.Phase(volume) != "Bound")
        {
            var v = (JsonObject)volume.DeepClone();
            v["status"] = new JsonObject { ["phase"] = "Bound" };
            await api.UpdateAsync(ApiResource.PersistentVolumes, null, v, subresource: "status");
        }
        var c = claim;
        if (Str(Meta(claim)["annotations"]?[VolumeLogic.BindCompletedAnnotation]) != "yes" || Str(claim["spec"]?["volumeName"]) != NameOf(volume))
            c = await api.UpdateAsync(ApiResource.PersistentVolumeClaims, NamespaceOf(claim), VolumeLogic.BindClaim(claim, volume));
        if (VolumeLogic.Phase(c) != "Bound")
        {
            var s = (JsonObject)c.DeepClone();
            s["status"] = VolumeLogic.BoundClaimStatus(volume);
            await api.UpdateAsync(ApiResource.PersistentVolumeClaims, NamespaceOf(c), s, subresource: "status");
        }
    }

    private ReconcileAction? SetClaimPhase(JsonObject claim, string phase, string reason, string message)
    {
        var c = (JsonObject)claim.DeepClone();
        c["status"] = new JsonObject { ["phase"] = phase };
        Record(claim, "Warning", reason, message);
        return async api =>
        {
            await api.UpdateAsync(ApiResource.PersistentVolumeClaims, NamespaceOf(c), c, subresource: "status");
            return null;
        };
    }

    // ---- volumes ----

    private ReconcileAction? PlanVolume(string name)
    {
        if (!CacheOf(ApiResource.PersistentVolumes).TryGetValue(name, out var volume)) return null;
        if (IsDeleting(volume))
        {
            // the kubelet of the volume's node removes the directory and the finalizer; a node that is gone left nothing to clean
            var finalizers = Meta(volume)["finalizers"] as JsonArray;
            if (finalizers?.Any(f => Str(f) == VolumeLogic.CleanupFinalizer) != true) return null;
            if (VolumeLogic.NodeOf(volume) is { } node && CacheOf(ApiResource.Nodes).ContainsKey(node)) return null;
            var v = (JsonObject)volume.DeepClone();
            Meta(v)["finalizers"] = new JsonArray(finalizers.Where(f => Str(f) != VolumeLogic.CleanupFinalizer).Select(f => f?.DeepClone()).ToArray());
            return async api =>
            {
                await api.UpdateAsync(ApiResource.PersistentVolumes, null, v);
                return null;
            };
        }
        var claimRef = VolumeLogic.ClaimRefOf(volume);
        var claim = claimRef is { } r && CacheOf(ApiResource.PersistentVolumeClaims).TryGetValue(r.Key, out var c) ? c : null;
        var phase = VolumeLogic.VolumePhase(volume, claim);
        var deleteReleased = phase == "Released" && Str(volume["spec"]?["persistentVolumeReclaimPolicy"]) == "Delete"
                             && Str(Meta(volume)["annotations"]?[VolumeLogic.ProvisionedByAnnotation]) == VolumeLogic.Provisioner;
        if (phase == VolumeLogic.Phase(volume) && !deleteReleased) return null;
        var copy = (JsonObject)volume.DeepClone();
        return async api =>
        {
            if (phase == "Released" && claimRef is { } cr && claim is null)
            {
                // the cache may lag behind: a claim that exists with the same uid is not gone (Kubernetes asks the API too)
                try
                {
                    var live = await api.GetAsync(ApiResource.PersistentVolumeClaims, cr.Key.Split('/')[0], cr.Key.Split('/')[1]);
                    if (cr.Uid is null || UidOf(live) == cr.Uid) return null;
                }
                catch (KubeApiException e) when (e.IsNotFound) { }
            }
            if (phase != VolumeLogic.Phase(copy))
            {
                copy["status"] = new JsonObject { ["phase"] = phase };
                copy = await api.UpdateAsync(ApiResource.PersistentVolumes, null, copy, subresource: "status");
            }
            if (deleteReleased)
            {
                await api.DeleteAsync(ApiResource.PersistentVolumes, null, NameOf(copy));
                Record(copy, "Normal", "VolumeDelete", $"claim {KeyOf(claimRef)} is gone and the reclaim policy is Delete: the volume is deleted; the kubelet of node {VolumeLogic.NodeOf(copy)} removes its directory");
            }
            return null;
        };

        static string KeyOf((string Key, string? Uid)? r) => r?.Key ?? "";
    }
}
