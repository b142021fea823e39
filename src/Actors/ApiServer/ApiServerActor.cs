using Akka.Actor;
using Akka.Cluster.Routing;
using Akka.Event;
using Akka.Hosting;
using Akka.Routing;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Cluster;
using AkkaKube.Actors.Store;
using static AkkaKube.Actors.Machinery.ApiServerProtocol;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.ApiServer;

/// <summary>
/// The `apiserver` actor of a control-plane node: serves <see cref="ApiRequest"/> with the same
/// <see cref="ApiPipeline"/> as the HTTP front (requests run concurrently; replies are piped back).
/// Once the store region is known it bootstraps the namespaces default, kube-system and
/// kube-node-lease (idempotently, retrying until the store answers).
/// </summary>
public sealed class ApiServerActor : ReceiveActor, IWithUnboundedStash, IWithTimers
{
    public static readonly IReadOnlyList<string> BootstrapNamespaces = ["default", "kube-system", "kube-node-lease"];

    private sealed record StoreReady(IActorRef Store);
    private sealed record Bootstrapped(IReadOnlyList<string> Missing);
    private sealed class RetryBootstrap
    {
        public static readonly RetryBootstrap Instance = new();
    }

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly ApiServerSettings _settings;
    private ApiPipeline? _pipeline;

    public IStash Stash { get; set; } = null!;
    public ITimerScheduler Timers { get; set; } = null!;

    public ApiServerActor(IReadOnlyActorRegistry registry, ApiServerSettings settings)
    {
        _settings = settings;
        registry.GetAsync<StoreRegion>().PipeTo(Self, success: store => new StoreReady(store));
        Receive<StoreReady>(ready =>
        {
            // The in-cluster client is set up by the hosting code after this actor starts; the CRD registrar needs it.
            if (!KubeApi.Get(Context.System).IsInitialized)
            {
                Timers.StartSingleTimer("store-ready", ready, TimeSpan.FromMilliseconds(50));
                return;
            }
            var log = _log;
            _pipeline = new ApiPipeline(ready.Store, _settings, Registry.ApiRegistryExtension.Get(Context.System).Registry, new Eviction.PodDisruptionBudgetPolicy(ready.Store, _settings.StoreTimeout), onUnexpected: e => log.Error(e, "unexpected error in the apiserver pipeline"),
                serviceAllocator: () => registry.TryGet<Services.ServiceAllocator>(out var allocator) ? allocator : null, authorizer: Security.Rbac.RbacAuthorizer.Get(Context.System), tokens: Security.ServiceAccountTokens.Get(Context.System))
            {
                Namespaces = Admission.NamespaceLister.Get(Context.System),
            };
            // every apiserver serves the custom resources itself (registered in this node's registry)
            Context.ActorOf(CustomResources.CustomResourceRegistrar.Props(KubeApi.Get(Context.System).Api, Registry.ApiRegistryExtension.Get(Context.System).Registry),
                "customresources");
            Stash.UnstashAll();
            Become(Serving);
            Self.Tell(RetryBootstrap.Instance);
        });
        ReceiveAny(_ => Stash.Stash());
    }

    private void Serving()
    {
        Receive<ApiRequest>(req => HandleAsync(_pipeline!, Security.Rbac.RbacAuthorizer.Get(Context.System), _settings.StoreTimeout, req).PipeTo(Sender));
        Receive<RetryBootstrap>(_ => BootstrapAsync(_pipeline!).PipeTo(Self));
        Receive<Bootstrapped>(b =>
        {
            if (b.Missing.Count == 0)
            {
                _log.Info("bootstrap namespaces, system priority classes, the default storage class and RBAC bootstrap roles present: {0}", string.Join(", ", BootstrapNamespaces));
                return;
            }
            _log.Info("bootstrap objects not created yet ({0}); retrying", string.Join(", ", b.Missing));
            Timers.StartSingleTimer("bootstrap", RetryBootstrap.Instance, TimeSpan.FromSeconds(2));
        });
        Receive<Status.Failure>(f =>
        {
            _log.Warning("bootstrap failed: {0}; retrying", f.Cause.Message);
            Timers.StartSingleTimer("bootstrap", RetryBootstrap.Instance, TimeSpan.FromSeconds(2));
        });
    }

    /// <summary>An in-cluster request that names its caller is authorized as an HTTP one (unnamed components are trusted).</summary>
    private static async Task<ApiResponse> HandleAsync(ApiPipeline pipeline, Security.Rbac.RbacAuthorizer authorizer, TimeSpan wait, ApiRequest req)
    {
        if (req.User is { } user && req.Verb != "unwatch")
        {
            try
            {
                await authorizer.RequireAsync(Security.Rbac.AuthorizationAttributes.ForResource(user, req.Verb, req.Group, req.Resource, req.Subresource, req.Namespace, req.Name,
                    req.Query.GetValueOrDefault("fieldSelector")), wait, default);
            }
            catch (ApiException e)
            {
                return new ApiResponse(e.Code, e.ToStatus().ToJsonString());
            }
        }
        return await pipeline.HandleAsync(req);
    }

    private static async Task<Bootstrapped> BootstrapAsync(ApiPipeline pipeline)
    {
        var missing = new List<string>();
        foreach (var ns in BootstrapNamespaces)
        {
            var body = new System.Text.Json.Nodes.JsonObject
            {
                ["apiVersion"] = "v1", ["kind"] = "Namespace", ["metadata"] = new System.Text.Json.Nodes.JsonObject { ["name"] = ns },
            }.ToJsonString();
            var response = await pipeline.HandleAsync(new ApiRequest("create", "", "v1", "namespaces", null, null, null,
                new Dictionary<string, string>(), "application/json", body));
            if (response.Code is not (201 or 409)) missing.Add(ns);
        }
        // the system priority classes every Kubernetes cluster has
        foreach (var (name, value, description) in Registry.Scheduling.PriorityClassStrategy.SystemClasses)
        {
            var body = new System.Text.Json.Nodes.JsonObject
            {
                ["apiVersion"] = "scheduling.k8s.io/v1", ["kind"] = "PriorityClass", ["metadata"] = new System.Text.Json.Nodes.JsonObject { ["name"] = name },
                ["value"] = value, ["description"] = description,
            }.ToJsonString();
            var response = await pipeline.HandleAsync(new ApiRequest("create", "scheduling.k8s.io", "v1", "priorityclasses", null, null, null,
                new Dictionary<string, string>(), "application/json", body));
            if (response.Code is not (201 or 409)) missing.Add("priorityclass/" + name);
        }
        // the default StorageClass served by the built-in local-path provisioner (docs/storage.md)
        var storageClass = await pipeline.HandleAsync(new ApiRequest("create", "storage.k8s.io", "v1", "storageclasses", null, null, null,
            new Dictionary<string, string>(), "application/json", Controllers.Volume.VolumeLogic.DefaultStorageClass().ToJsonString()));
        if (storageClass.Code is not (201 or 409)) missing.Add("storageclass/" + Controllers.Volume.VolumeLogic.DefaultClassName);
        missing.AddRange(await RbacBootstrap.EnsureAsync(pipeline));
        return new Bootstrapped(missing);
    }

    public static Props Props(IReadOnlyActorRegistry registry, ApiServerSettings settings) =>
        Akka.Actor.Props.Create(() => new ApiServerActor(registry, settings));
}

public static class ApiServerHostingExtensions
{
    /// <summary>
    /// The `apiserver` actor on control-plane nodes, and on EVERY node the cluster-aware group router
    /// to /user/apiserver on role control-plane (registry key <see cref="ApiServerRouter"/>) plus the
    /// <see cref="KubeApi"/> extension (IKubeApi over that router, preferring the local apiserver).
    /// </summary>
    public static AkkaConfigurationBuilder AddApiServer(this AkkaConfigurationBuilder builder, NodeOptions node) =>
        builder.WithActors((system, registry) =>
        {
            var settings = ApiServerSettings.Create(system.Settings.Config);
            if (node.ControlPlane)
                Security.ServiceAccountTokens.Get(system).Initialize(node.DataDirectory);
            if (node.ControlPlane)
                registry.Register<ApiServerActor>(system.ActorOf(ApiServerActor.Props(registry, settings), AkkaKubeNames.Actors.ApiServer));
            var path = $"/user/{AkkaKubeNames.Actors.ApiServer}";
            var router = system.ActorOf(
                Props.Empty.WithRouter(new ClusterRouterGroup(
                    new RoundRobinGroup([path]),
                    new ClusterRouterGroupSettings(10_000, [path], allowLocalRoutees: true, useRole: AkkaKubeNames.Roles.ControlPlane))),
                AkkaKubeNames.Actors.ApiServer + "-router");
            registry.Register<ApiServerRouter>(router);
            KubeApi.Get(system).Initialize(router, node.ControlPlane ? registry.Get<ApiServerActor>() : null, settings.RequestTimeout);
        });
}

/// <summary>
/// Akka extension that hands in-cluster components their <see cref="IKubeApi"/>:
/// <c>KubeApi.Get(Context.System).Api</c>. Initialised by <see cref="ApiServerHostingExtensions.AddApiServer"/>.
/// </summary>
public sealed class KubeApi : IExtension
{
    private IKubeApi? _api;

    public IKubeApi Api => _api ?? throw new InvalidOperationException("IKubeApi is not initialised: AddApiServer was not called on this node");

    public bool IsInitialized => _api is not null;

    internal void Initialize(IActorRef router, IActorRef? local, TimeSpan timeout) =>
        _api = new ActorKubeApi(router, local, timeout);

    public static KubeApi Get(ActorSystem system) => system.WithExtension<KubeApi, KubeApiExtensionProvider>();
}

public sealed class KubeApiExtensionProvider : ExtensionIdProvider<KubeApi>
{
    public override KubeApi CreateExtension(ExtendedActorSystem system) => new();
}
