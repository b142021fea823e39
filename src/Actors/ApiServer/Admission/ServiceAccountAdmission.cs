using System.Text.Json.Nodes;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.ApiServer.Admission;

/// <summary>
/// The ServiceAccount admission plugin's decisions, pure over JSON (Kubernetes' plugin/pkg/admission/serviceaccount):
/// the account a pod runs as, whether its token is mounted, and the projected volume that mounts it.
/// </summary>
public static class ServiceAccountAdmissionLogic
{
    public const string DefaultAccount = "default";
    /// <summary>Where every container sees its token, CA and namespace (Kubernetes' DefaultAPITokenMountPath).</summary>
    public const string MountPath = "/var/run/secrets/kubernetes.io/serviceaccount";
    /// <summary>The projected volume's name prefix; five random characters follow, as in Kubernetes.</summary>
    public const string VolumePrefix = "kube-api-access-";
    /// <summary>The ConfigMap the root-ca-cert-publisher keeps in every namespace.</summary>
    public const string RootCaConfigMap = "kube-root-ca.crt";
    /// <summary>Kubernetes' bound token lifetime for projected tokens (3607 s: one hour plus a marker of 7 s).</summary>
    public const long TokenExpirationSeconds = 3607;

    /// <summary>spec.serviceAccountName, else the deprecated spec.serviceAccount, else "default"; both fields then agree.</summary>
    public static string DefaultAccountName(JsonObject spec)
    {
        var name = Meta.Str(spec["serviceAccountName"]);
        if (name.Length == 0) name = Meta.Str(spec["serviceAccount"]);
        if (name.Length == 0) name = DefaultAccount;
        spec["serviceAccountName"] = name;
        spec["serviceAccount"] = name;
        return name;
    }

    /// <summary>The pod's automountServiceAccountToken, else the account's, else true (Kubernetes' shouldAutomount).</summary>
    public static bool ShouldAutomount(JsonObject spec, JsonObject? account)
    {
        if (spec["automountServiceAccountToken"] is JsonValue p && p.TryGetValue<bool>(out var pod)) return pod;
        if (account?["automountServiceAccountToken"] is JsonValue a && a.TryGetValue<bool>(out var sa)) return sa;
        return true;
    }

    /// <summary>
    /// Mounts the token volume read-only at <see cref="MountPath"/> into every container and init container that has no
    /// mount there yet, and adds the projected volume (token, ca.crt, namespace) when one needs it and the pod has none.
    /// </summary>
    public static void MountToken(JsonObject spec, string newVolumeName)
    {
        var volumes = spec["volumes"] as JsonArray;
        var existing = volumes?.OfType<JsonObject>().Select(v => Meta.Str(v["name"])).FirstOrDefault(n => n.StartsWith(VolumePrefix, StringComparison.Ordinal));
        var volumeName = existing ?? newVolumeName;
        var needed = false;
        foreach (var list in new[] { "initContainers", "containers" })
            foreach (var c in (spec[list] as JsonArray)?.OfType<JsonObject>() ?? [])
            {
                var mounts = c["volumeMounts"] as JsonArray;
                if (mounts?.OfType<JsonObject>().Any(m => Meta.Str(m["mountPath"]) == MountPath) == true) continue;
                if (mounts is null) c["volumeMounts"] = mounts = [];
                mounts.Add(new JsonObject { ["name"] = volumeName, ["readOnly"] = true, ["mountPath"] = MountPath });
                needed = true;
            }
        if (existing is not null || !needed) return;
        if (volumes is null) spec["volumes"] = volumes = [];
        volumes.Add(TokenVolume(volumeName));
    }

    /// <summary>Kubernetes' TokenVolumeSource: a projected volume of a bound token, the root CA and the namespace.</summary>
    public static JsonObject TokenVolume(string name) => new()
    {
        ["name"] = name,
        ["projected"] = new JsonObject
        {
            ["defaultMode"] = 420,
            ["sources"] = new JsonArray(
                new JsonObject { ["serviceAccountToken"] = new JsonObject { ["expirationSeconds"] = TokenExpirationSeconds, ["path"] = "token" } },
                new JsonObject { ["configMap"] = new JsonObject { ["name"] = RootCaConfigMap, ["items"] = new JsonArray(new JsonObject { ["key"] = "ca.crt", ["path"] = "ca.crt" }) } },
                new JsonObject
                {
                    ["downwardAPI"] = new JsonObject
                    {
                        ["items"] = new JsonArray(new JsonObject { ["fieldRef"] = new JsonObject { ["apiVersion"] = "v1", ["fieldPath"] = "metadata.namespace" }, ["path"] = "namespace" }),
                    },
                }),
        },
    };
}

/// <summary>
/// ServiceAccount admission (Kubernetes' plugin of that name, on by default): a new pod runs as spec.serviceAccountName
/// (default "default"), which must exist in its namespace — else `pods "p" is forbidden: error looking up service
/// account NS/NAME: serviceaccount "NAME" not found`. As Kubernetes, the "default" account is looked up a few more times
/// (up to ~1.5 s) since the serviceaccount controller creates it right after its namespace. Unless
/// automountServiceAccountToken (the pod's, else the account's) is false, the pod gets the projected
/// <c>kube-api-access-xxxxx</c> volume mounted at /var/run/secrets/kubernetes.io/serviceaccount in every container,
/// which the kubelet fills with a pod-bound token, the cluster CA and the namespace. Mirror pods are left alone.
/// </summary>
public sealed class ServiceAccountAdmission : IMutatingAdmissionPlugin
{
    public const string PluginName = "ServiceAccount";
    private const string MirrorAnnotation = "kubernetes.io/config.mirror";
    private const int DefaultAccountAttempts = 10;

    public string Name => PluginName;

    public async Task AdmitAsync(AdmissionAttributes a, JsonObject pod)
    {
        if (a.Resource != ApiResource.Pods || pod["spec"] is not JsonObject spec) return;
        if (pod["metadata"]?["annotations"]?[MirrorAnnotation] is not null) return;
        var ns = a.Namespace ?? "default";
        var name = ServiceAccountAdmissionLogic.DefaultAccountName(spec);
        var account = await FindAccountAsync(a, ns, name)
            ?? throw a.Forbidden($"error looking up service account {ns}/{name}: serviceaccount \"{name}\" not found");
        if (ServiceAccountAdmissionLogic.ShouldAutomount(spec, account))
            ServiceAccountAdmissionLogic.MountToken(spec, Meta.GenerateName(ServiceAccountAdmissionLogic.VolumePrefix));
    }

    private static async Task<JsonObject?> FindAccountAsync(AdmissionAttributes a, string ns, string name)
    {
        var attempts = name == ServiceAccountAdmissionLogic.DefaultAccount ? DefaultAccountAttempts : 1;
        for (var i = 0; i < attempts; i++)
        {
            if (i > 0) await Task.Delay(TimeSpan.FromMilliseconds(100 + Random.Shared.Next(100)), a.Context.Ct);
            if (await a.GetAsync(ApiResource.ServiceAccounts, ns, name) is { } account) return account;
        }
        return null;
    }
}
