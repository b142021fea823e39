using System.Text.Json.Nodes;
using Akka.Actor;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.Controllers.ServiceAccount;

/// <summary>
/// Kubernetes' serviceaccount controller: every active namespace has a ServiceAccount named <c>default</c>; one
/// that is missing (a new namespace, or deleted by hand) is created again.
/// </summary>
public sealed class ServiceAccountController : ControllerBase
{
    public const string DefaultName = "default";

    public ServiceAccountController(IKubeApi api, ControllerSettings settings) : base(api, settings) { }

    public static Props Props(IKubeApi api, ControllerSettings settings) =>
        Akka.Actor.Props.Create(() => new ServiceAccountController(api, settings));

    protected override string Name => ControllerNames.ServiceAccount;
    protected override string Component => "serviceaccount-controller";
    protected override IEnumerable<ApiResource> Watched => [ApiResource.Namespaces, ApiResource.ServiceAccounts];

    protected override void OnSynced(ApiResource resource, bool first)
    {
        foreach (var ns in CacheOf(ApiResource.Namespaces).Keys) Enqueue(ns);
    }

    protected override void OnAdded(ApiResource resource, string key, JsonObject obj)
    {
        if (resource == ApiResource.Namespaces) Enqueue(key);
    }

    protected override void OnDeleted(ApiResource resource, string key, JsonObject lastKnown)
    {
        if (resource == ApiResource.ServiceAccounts && NamespaceOf(lastKnown) is { } ns) Enqueue(ns);
    }

    protected override ReconcileAction? Plan(string key)
    {
        if (!CacheOf(ApiResource.Namespaces).TryGetValue(key, out var ns) || IsDeleting(ns) || Str(ns["status"]?["phase"]) == "Terminating") return null;
        if (CacheOf(ApiResource.ServiceAccounts).ContainsKey($"{key}/{DefaultName}")) return null;
        return async api =>
        {
            try
            {
                await api.CreateAsync(ApiResource.ServiceAccounts, key, new JsonObject
                {
                    ["apiVersion"] = "v1", ["kind"] = "ServiceAccount", ["metadata"] = new JsonObject { ["name"] = DefaultName, ["namespace"] = key },
                });
            }
            // exists, or the namespace is going away; any other 403 (this controller's role not bootstrapped yet) is retried
            catch (KubeApiException e) when (e.IsAlreadyExists || e.IsNotFound ||
                                             e.Code == 403 && e.Message.Contains("because it is being terminated", StringComparison.Ordinal)) { }
            return null;
        };
    }
}
