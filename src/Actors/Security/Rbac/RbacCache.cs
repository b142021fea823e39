using System.Text.Json.Nodes;
using Akka.Actor;
using Akka.Event;
using Akka.Hosting;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Cluster;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.Security.Rbac;

/// <summary>
/// Keeps this control-plane node's <see cref="RbacAuthorizer"/> current: one informer each for roles, clusterroles,
/// rolebindings and clusterrolebindings (list + watch through the in-cluster API), and a fresh immutable
/// <see cref="RbacPolicy"/> published after every change — the authorizer reads it lock-free on every request.
/// </summary>
public sealed class RbacCache : ReceiveActor
{
    public static readonly IReadOnlyList<ApiResource> Resources =
        [ApiResource.ClusterRoles, ApiResource.Roles, ApiResource.ClusterRoleBindings, ApiResource.RoleBindings];

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly IKubeApi _api;
    private readonly RbacAuthorizer _authorizer;
    private readonly Dictionary<ApiResource, Dictionary<string, JsonObject>> _caches = Resources.ToDictionary(r => r, _ => new Dictionary<string, JsonObject>(StringComparer.Ordinal));
    private readonly HashSet<ApiResource> _synced = [];
    /// <summary>The bootstrap binding that lets everyone read /healthz, /livez, /readyz and /version.</summary>
    private const string PublicInfoViewer = "system:public-info-viewer";
    private bool _published;

    public RbacCache(IKubeApi api, RbacAuthorizer authorizer)
    {
        _api = api;
        _authorizer = authorizer;
        Receive<InformerProtocol.Synced>(s =>
        {
            var cache = _caches[s.Resource];
            cache.Clear();
            foreach (var (k, v) in s.Objects) cache[k] = v;
            if (_synced.Add(s.Resource) && _synced.Count == Resources.Count) _log.Info("RBAC authorizer synced");
            Publish();
        });
        Receive<InformerProtocol.Added>(a => { _caches[a.Resource][a.Key] = a.Object; Publish(); });
        Receive<InformerProtocol.Updated>(u => { _caches[u.Resource][u.Key] = u.New; Publish(); });
        Receive<InformerProtocol.Deleted>(d => { _caches[d.Resource].Remove(d.Key); Publish(); });
    }

    protected override void PreStart()
    {
        foreach (var r in Resources)
            SharedInformers.Get(Context.System).Subscribe(_api, new InformerOptions(r), Self);
    }

    private void Publish()
    {
        if (_synced.Count < Resources.Count) return; // a partial policy would deny what a later list allows
        // The first policy waits for the bootstrap policy (the apiserver writes it at start, kube-apiserver's
        // rbac/bootstrap-roles): synced before it, anonymous /healthz was 403 for a moment; until then requests wait or 503.
        if (!_published && !_caches[ApiResource.ClusterRoleBindings].Values.Any(b => Meta.Name(b) == PublicInfoViewer)) return;
        _published = true;
        _authorizer.Publish(new RbacPolicy(_caches[ApiResource.ClusterRoles].Values, _caches[ApiResource.Roles].Values,
            _caches[ApiResource.ClusterRoleBindings].Values, _caches[ApiResource.RoleBindings].Values), synced: true);
    }

    public static Props Props(IKubeApi api, RbacAuthorizer authorizer) => Akka.Actor.Props.Create(() => new RbacCache(api, authorizer));
}

public static class RbacHostingExtensions
{
    /// <summary>The RBAC cache on control-plane nodes (after AddApiServer: it reads through the in-cluster API).</summary>
    public static AkkaConfigurationBuilder AddRbacAuthorizer(this AkkaConfigurationBuilder builder, NodeOptions node) =>
        builder.WithActors((system, registry) =>
        {
            if (!node.ControlPlane) return;
            var cache = system.ActorOf(RbacCache.Props(ApiServer.KubeApi.Get(system).Api, RbacAuthorizer.Get(system)), AkkaKubeNames.Actors.RbacCache);
            registry.Register<RbacCache>(cache);
        });
}
