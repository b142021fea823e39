using System.Text.Json.Nodes;
using AkkaKube.Actors.ApiServer.Registry;
using AkkaKube.Actors.Machinery;
using static AkkaKube.Actors.Controllers.ControllerBase;

namespace AkkaKube.Actors.Controllers.Volume;

/// <summary>
/// The PersistentVolume binder's and the local-path provisioner's decisions, pure over JSON objects (Kubernetes'
/// pkg/controller/volume/persistentvolume and the external-provisioner's object shapes).
/// </summary>
public static class VolumeLogic
{
    public const string Provisioner = "akkakube.io/local-path";
    public const string DefaultClassName = "standard";
    public const string IsDefaultClassAnnotation = "storageclass.kubernetes.io/is-default-class";
    public const string BindCompletedAnnotation = "pv.kubernetes.io/bind-completed";
    public const string BoundByControllerAnnotation = "pv.kubernetes.io/bound-by-controller";
    public const string ProvisionedByAnnotation = "pv.kubernetes.io/provisioned-by";
    public const string SelectedNodeAnnotation = "volume.kubernetes.io/selected-node";
    public const string StorageProvisionerAnnotation = "volume.kubernetes.io/storage-provisioner";
    public const string BetaStorageProvisionerAnnotation = "volume.beta.kubernetes.io/storage-provisioner";
    /// <summary>Kept on a provisioned volume until the kubelet of its node has removed the directory (reclaimPolicy Delete).</summary>
    public const string CleanupFinalizer = "akkakube.io/local-path-cleanup";
    /// <summary>On a Node: the directory under which its kubelet keeps provisioned volumes (the node's data directory/volumes).</summary>
    public const string VolumesDirAnnotation = "akkakube.io/volumes-dir";

    /// <summary>The default StorageClass created at bootstrap (as k3s ships local-path as its default class).</summary>
    public static JsonObject DefaultStorageClass() => new()
    {
        ["apiVersion"] = "storage.k8s.io/v1",
        ["kind"] = "StorageClass",
        ["metadata"] = new JsonObject
        {
            ["name"] = DefaultClassName,
            ["annotations"] = new JsonObject { [IsDefaultClassAnnotation] = "true" },
        },
        ["provisioner"] = Provisioner,
        ["reclaimPolicy"] = "Delete",
        ["volumeBindingMode"] = "WaitForFirstConsumer",
    };

    public static bool IsDefaultClass(JsonObject sc) => Str(Meta(sc)["annotations"]?[IsDefaultClassAnnotation]) == "true";

    /// <summary>
    /// The class a new claim without storageClassName gets (Kubernetes' DefaultStorageClass admission plugin): the
    /// newest of the classes marked default, by creation time then name, or null when none is.
    /// </summary>
    public static string? DefaultClassOf(IEnumerable<JsonObject> classes) =>
        classes.Where(IsDefaultClass).OrderByDescending(CreatedAt).ThenBy(NameOf, StringComparer.Ordinal).Select(NameOf).FirstOrDefault();

    public static string ClassOf(JsonObject claimOrVolume) =>
        Str(claimOrVolume["spec"]?["storageClassName"]) ?? "";

    public static string Phase(JsonObject o) => Str(o["status"]?["phase"]) ?? "";

    private static IEnumerable<string> Modes(JsonNode? modes) => (modes as JsonArray)?.Select(Str).OfType<string>() ?? [];

    private static decimal Storage(JsonNode? q) => ResourceRequirements.Parse(q, out _) ?? 0;

    public static decimal Requested(JsonObject claim) => Storage(claim["spec"]?["resources"]?["requests"]?["storage"]);

    public static decimal Capacity(JsonObject volume) => Storage(volume["spec"]?["capacity"]?["storage"]);

    /// <summary>The claim a volume is reserved for or bound to (spec.claimRef), as namespace/name and uid.</summary>
    public static (string Key, string? Uid)? ClaimRefOf(JsonObject volume) =>
        volume["spec"]?["claimRef"] is JsonObject r && Str(r["name"]) is { Length: > 0 } name
            ? ($"{Str(r["namespace"]) ?? "default"}/{name}", Str(r["uid"]))
            : null;

    /// <summary>
    /// Why <paramref name="volume"/> cannot serve <paramref name="claim"/>, or null when it can (Kubernetes'
    /// findMatchingVolume checks): not reserved for another claim, same class, same volume mode, every requested
    /// access mode offered, enough capacity, the claim's selector matches the volume's labels, not being deleted.
    /// </summary>
    public static string? Mismatch(JsonObject claim, JsonObject volume)
    {
        if (IsDeleting(volume)) return "volume is being deleted";
        if (ClaimRefOf(volume) is { } r && (r.Key != $"{NamespaceOf(claim)}/{NameOf(claim)}" || r.Uid is { Length: > 0 } uid && uid != UidOf(claim)))
            return "volume is reserved for another claim";
        if (ClaimRefOf(volume) is null && Phase(volume) is "Released" or "Failed") return "volume was released";
        if (ClassOf(claim) != ClassOf(volume)) return $"storage class \"{ClassOf(volume)}\" is not the claim's \"{ClassOf(claim)}\"";
        if ((Str(claim["spec"]?["volumeMode"]) ?? "Filesystem") != (Str(volume["spec"]?["volumeMode"]) ?? "Filesystem")) return "volume mode differs";
        var offered = Modes(volume["spec"]?["accessModes"]).ToHashSet(StringComparer.Ordinal);
        if (Modes(claim["spec"]?["accessModes"]).FirstOrDefault(m => !offered.Contains(m)) is { } missing) return $"access mode {missing} not offered";
        if (Capacity(volume) < Requested(claim)) return "capacity too small";
        if (claim["spec"]?["selector"] is JsonObject sel)
        {
            var selector = k8s.KubernetesJson.Deserialize<k8s.Models.V1LabelSelector>(sel.ToJsonString());
            var labels = (Meta(volume)["labels"] as JsonObject)?.ToDictionary(kv => kv.Key, kv => Str(kv.Value) ?? "") ?? [];
            if (!LabelSelectors.Matches(selector, labels)) return "selector does not match";
        }
        return null;
    }

    /// <summary>
    /// The volume to bind a claim to: one already reserved for it (claimRef, e.g. a provisioned one) first, else
    /// the smallest fitting volume (Kubernetes picks the smallest that is large enough), names breaking ties.
    /// </summary>
    public static JsonObject? FindMatch(JsonObject claim, IEnumerable<JsonObject> volumes)
    {
        var fitting = volumes.Where(v => Mismatch(claim, v) is null).ToList();
        var key = $"{NamespaceOf(claim)}/{NameOf(claim)}";
        return fitting.FirstOrDefault(v => ClaimRefOf(v)?.Key == key)
               ?? fitting.Where(v => ClaimRefOf(v) is null)
                   .OrderBy(Capacity).ThenBy(NameOf, StringComparer.Ordinal).FirstOrDefault();
    }

    public static JsonObject ClaimRef(JsonObject claim) => new()
    {
        ["kind"] = "PersistentVolumeClaim",
        ["apiVersion"] = "v1",
        ["namespace"] = NamespaceOf(claim),
        ["name"] = NameOf(claim),
        ["uid"] = UidOf(claim),
    };

    /// <summary>The volume bound to the claim (claimRef, bound-by-controller when the binder chose it, phase Bound).</summary>
    public static JsonObject BindVolume(JsonObject volume, JsonObject claim)
    {
        var v = (JsonObject)volume.DeepClone();
        var spec = Machinery.Meta.Obj(v, "spec");
        if (ClaimRefOf(volume) is null) Machinery.Meta.Obj(Machinery.Meta.Obj(v, "metadata"), "annotations")[BoundByControllerAnnotation] = "yes";
        spec["claimRef"] = ClaimRef(claim);
        return v;
    }

    /// <summary>The claim bound to the volume: spec.volumeName and the bind-completed annotations.</summary>
    public static JsonObject BindClaim(JsonObject claim, JsonObject volume)
    {
        var c = (JsonObject)claim.DeepClone();
        var annotations = Machinery.Meta.Obj(Machinery.Meta.Obj(c, "metadata"), "annotations");
        annotations[BindCompletedAnnotation] = "yes";
        if (Str(claim["spec"]?["volumeName"]) is null) annotations[BoundByControllerAnnotation] = "yes";
        Machinery.Meta.Obj(c, "spec")["volumeName"] = NameOf(volume);
        return c;
    }

    /// <summary>A bound claim's status: phase Bound with the volume's capacity and access modes.</summary>
    public static JsonObject BoundClaimStatus(JsonObject volume) => new()
    {
        ["phase"] = "Bound",
        ["accessModes"] = volume["spec"]?["accessModes"]?.DeepClone(),
        ["capacity"] = volume["spec"]?["capacity"]?.DeepClone(),
    };

    /// <summary>
    /// The phase a volume should have (Kubernetes' syncVolume): Available while unreserved or reserved for a claim
    /// not bound to it yet, Bound once its claim names it, Released when the claim of its claimRef is gone (or was
    /// re-created with another uid); Released and Failed stay until the volume is deleted or its claimRef removed.
    /// </summary>
    public static string VolumePhase(JsonObject volume, JsonObject? claim)
    {
        var current = Phase(volume);
        if (ClaimRefOf(volume) is not { } r) return current is "Released" or "Failed" ? current : "Available";
        var sameClaim = claim is not null && (r.Uid is not { Length: > 0 } uid || uid == UidOf(claim));
        if (sameClaim && Str(claim!["spec"]?["volumeName"]) == NameOf(volume)) return "Bound";
        if (!sameClaim && (r.Uid is { Length: > 0 } || current == "Bound")) return "Released";
        return current is "Released" or "Failed" ? current : "Available";
    }

    /// <summary>The volume the local-path provisioner creates for a claim on a node: a directory under the node's volumes dir.</summary>
    public static JsonObject Provision(JsonObject claim, JsonObject storageClass, JsonObject node)
    {
        var name = "pvc-" + UidOf(claim);
        var nodeName = NameOf(node);
        var volumesDir = Str(Meta(node)["annotations"]?[VolumesDirAnnotation])
                         ?? throw new InvalidOperationException($"node {nodeName} does not say where its volumes live (annotation {VolumesDirAnnotation})");
        var terms = new JsonArray(new JsonObject { ["key"] = AkkaKubeNames.Labels.Hostname, ["operator"] = "In", ["values"] = new JsonArray(nodeName) });
        if (Str(Meta(node)["labels"]?[AkkaKubeNames.Labels.Zone]) is { Length: > 0 } zone)
            terms.Add(new JsonObject { ["key"] = AkkaKubeNames.Labels.Zone, ["operator"] = "In", ["values"] = new JsonArray(zone) });
        return new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "PersistentVolume",
            ["metadata"] = new JsonObject
            {
                ["name"] = name,
                ["annotations"] = new JsonObject { [ProvisionedByAnnotation] = Provisioner },
                ["finalizers"] = new JsonArray(CleanupFinalizer),
            },
            ["spec"] = new JsonObject
            {
                ["capacity"] = new JsonObject { ["storage"] = claim["spec"]?["resources"]?["requests"]?["storage"]?.DeepClone() },
                ["accessModes"] = claim["spec"]?["accessModes"]?.DeepClone(),
                ["volumeMode"] = Str(claim["spec"]?["volumeMode"]) ?? "Filesystem",
                ["persistentVolumeReclaimPolicy"] = Str(storageClass["reclaimPolicy"]) ?? "Delete",
                ["storageClassName"] = NameOf(storageClass),
                ["claimRef"] = ClaimRef(claim),
                ["local"] = new JsonObject { ["path"] = Path.Combine(volumesDir, name) },
                ["nodeAffinity"] = new JsonObject
                {
                    ["required"] = new JsonObject { ["nodeSelectorTerms"] = new JsonArray(new JsonObject { ["matchExpressions"] = terms }) },
                },
            },
        };
    }

    /// <summary>The node a local volume lives on (the hostname in its required node affinity), or null.</summary>
    public static string? NodeOf(JsonObject volume) =>
        (volume["spec"]?["nodeAffinity"]?["required"]?["nodeSelectorTerms"] as JsonArray)?.OfType<JsonObject>()
            .SelectMany(t => (t["matchExpressions"] as JsonArray)?.OfType<JsonObject>() ?? [])
            .Where(e => Str(e["key"]) == AkkaKubeNames.Labels.Hostname && Str(e["operator"]) == "In")
            .Select(e => Str((e["values"] as JsonArray)?.FirstOrDefault()))
            .FirstOrDefault();

    /// <summary>The directory of a volume on its node: spec.local.path or spec.hostPath.path.</summary>
    public static string? PathOf(JsonObject volume) =>
        Str(volume["spec"]?["local"]?["path"]) ?? Str(volume["spec"]?["hostPath"]?["path"]);

    /// <summary>The claims a pod uses (namespace/name keys).</summary>
    public static IEnumerable<string> ClaimsOf(JsonObject pod) =>
        (pod["spec"]?["volumes"] as JsonArray)?.OfType<JsonObject>()
            .Select(v => Str(v["persistentVolumeClaim"]?["claimName"]))
            .OfType<string>()
            .Select(c => $"{NamespaceOf(pod) ?? "default"}/{c}") ?? [];
}
