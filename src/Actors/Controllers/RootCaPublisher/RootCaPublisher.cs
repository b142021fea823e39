using System.Text.Json.Nodes;
using Akka.Actor;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.Controllers.RootCaPublisher;

/// <summary>
/// Kubernetes' root-ca-cert-publisher: every active namespace holds the ConfigMap <c>kube-root-ca.crt</c> whose
/// <c>ca.crt</c> is the CA that the apiserver's serving certificate chains to (the cluster CA, DATA/pki/ca.crt), so a
/// pod's projected token volume can carry it. A missing or changed ConfigMap is put back. Without a CA (an
/// --insecure-http cluster) it publishes nothing.
/// </summary>
public sealed class RootCaPublisher : ControllerBase
{
    public const string ConfigMapName = "kube-root-ca.crt";
    private const string Description = "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.";
    private readonly string? _caPem;

    public RootCaPublisher(IKubeApi api, ControllerSettings settings) : base(api, settings)
    {
        _caPem = settings.RootCaFile is { } file && File.Exists(file) ? File.ReadAllText(file) : null;
    }

    public static Props Props(IKubeApi api, ControllerSettings settings) =>
        Akka.Actor.Props.Create(() => new RootCaPublisher(api, settings));

    protected override string Name => ControllerNames.RootCaPublisher;
    protected override string Component => "root-ca-cert-publisher";
    protected override IEnumerable<ApiResource> Watched => [ApiResource.Namespaces, ApiResource.ConfigMaps];

    protected override InformerOptions InformerFor(ApiResource resource) => resource == ApiResource.ConfigMaps
        ? new InformerOptions(resource, FieldSelector: $"metadata.name={ConfigMapName}")
        : new InformerOptions(resource);

    protected override void OnSynced(ApiResource resource, bool first)
    {
        foreach (var ns in CacheOf(ApiResource.Namespaces).Keys) Enqueue(ns);
    }

    protected override void OnAdded(ApiResource resource, string key, JsonObject obj)
    {
        if (resource == ApiResource.Namespaces) Enqueue(key);
    }

    protected override void OnUpdated(ApiResource resource, string key, JsonObject old, JsonObject obj)
    {
        if (resource == ApiResource.ConfigMaps && NamespaceOf(obj) is { } ns) Enqueue(ns);
    }

    protected override void OnDeleted(ApiResource resource, string key, JsonObject lastKnown)
    {
        if (resource == ApiResource.ConfigMaps && NamespaceOf(lastKnown) is { } ns) Enqueue(ns);
    }

    protected override ReconcileAction? Plan(string key)
    {
        if (_caPem is null) return null;
        if (!CacheOf(ApiResource.Namespaces).TryGetValue(key, out var ns) || IsDeleting(ns) || Str(ns["status"]?["phase"]) == "Terminating") return null;
        var existing = CacheOf(ApiResource.ConfigMaps).GetValueOrDefault($"{key}/{ConfigMapName}");
        if (existing is not null && Str(existing["data"]?["ca.crt"]) == _caPem) return null;
        var pem = _caPem;
        return async api =>
        {
            try
            {
                if (existing is null)
                    await api.CreateAsync(ApiResource.ConfigMaps, key, new JsonObject
                    {
                        ["apiVersion"] = "v1", ["kind"] = "ConfigMap",
                        ["metadata"] = new JsonObject
                        {
                            ["name"] = ConfigMapName, ["namespace"] = key,
                            ["annotations"] = new JsonObject { ["kubernetes.io/description"] = Description },
                        },
                        ["data"] = new JsonObject { ["ca.crt"] = pem },
                    });
                else
                {
                    var updated = existing.DeepClone().AsObject();
                    updated["data"] = new JsonObject { ["ca.crt"] = pem };
                    await api.UpdateAsync(ApiResource.ConfigMaps, key, updated);
                }
            }
            // exists, or the namespace is going away; any other 403 (this controller's role not bootstrapped yet) is retried
            catch (KubeApiException e) when (e.IsAlreadyExists || e.IsNotFound ||
                                             e.Code == 403 && e.Message.Contains("because it is being terminated", StringComparison.Ordinal)) { }
            return null;
        };
    }
}
