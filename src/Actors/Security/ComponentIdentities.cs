using AkkaKube.Actors.Client;
using AkkaKube.Actors.Security.Rbac;

namespace AkkaKube.Actors.Security;

/// <summary>
/// The identities the in-cluster components call the API as, Kubernetes' names (docs/security.md, docs/decisions.md):
/// kubelets system:node:NAME (group system:nodes), the scheduler system:kube-scheduler, the controller-manager
/// system:kube-controller-manager with each controller as its ServiceAccount kube-system/NAME (Kubernetes'
/// --use-service-account-credentials), kube-proxy system:kube-proxy, the cloud-controller-manager its ServiceAccount
/// kube-system/cloud-controller-manager. Their permissions are the bootstrap roles of <see cref="BootstrapPolicy"/>
/// and, for kubelets, the Node authorizer.
/// </summary>
public static class ComponentIdentities
{
    public const string KubeSystem = "kube-system";

    public static readonly UserInfo KubeScheduler = new("system:kube-scheduler", UserInfo.Authenticated([]));

    public static readonly UserInfo KubeControllerManager = new("system:kube-controller-manager", UserInfo.Authenticated([]));

    public static readonly UserInfo KubeProxy = new("system:kube-proxy", UserInfo.Authenticated([]));

    /// <summary>The cloud-controller-manager's ServiceAccount (as the cloud-provider manifests deploy it).</summary>
    public static readonly UserInfo CloudControllerManager = ServiceAccount("cloud-controller-manager");

    /// <summary>The node half of the local-path provisioner (the kubelet process removes released volumes' directories).</summary>
    public static readonly UserInfo LocalPathProvisioner = ServiceAccount("local-path-provisioner");

    /// <summary>The node agent that enforces NetworkPolicy (or reports it not enforced), as network plugins run: a kube-system ServiceAccount.</summary>
    public static readonly UserInfo NetworkPolicy = ServiceAccount("network-policy");

    /// <summary>A kube-system ServiceAccount as a user: its name and the ServiceAccount groups, as token authentication makes it.</summary>
    public static UserInfo ServiceAccount(string name) =>
        new(ServiceAccountUser.UserName(KubeSystem, name), UserInfo.Authenticated([ServiceAccountUser.AllGroup, ServiceAccountUser.NamespaceGroup(KubeSystem)]));

    /// <summary>
    /// The client <paramref name="api"/> speaking as <paramref name="user"/>, its shared informers reading as
    /// <paramref name="informers"/> (default: the user). Only the in-cluster actor client carries an identity; test
    /// doubles and the in-memory API have no authorizer and are returned as they are.
    /// </summary>
    public static IKubeApi As(this IKubeApi api, UserInfo user, UserInfo? informers = null) =>
        api is ActorKubeApi actor ? actor.As(user, informers) : api;

    /// <summary>The same client (its informers reading as before) with requests made as <paramref name="user"/>: a controller of the controller-manager.</summary>
    public static IKubeApi WithCaller(this IKubeApi api, UserInfo user) =>
        api is ActorKubeApi actor ? actor.As(user, actor.InformerCaller) : api;

    /// <summary>
    /// A control-plane component's client: its own identity for requests; its shared informers read as the apiserver's
    /// loopback identity that every control-plane process already runs (<see cref="UserInfo.InClusterComponent"/>), so the
    /// scheduler, the controllers, the cloud-controller-manager and the apiserver's own caches share one informer per
    /// resource (docs/decisions.md).
    /// </summary>
    public static IKubeApi AsControlPlane(this IKubeApi api, UserInfo user) => api.As(user, UserInfo.InClusterComponent);
}
