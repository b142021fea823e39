using System.Text.Json.Nodes;
using Akka.Actor;
using AkkaKube.Actors.ApiServer.Registry;
using AkkaKube.Actors.Machinery;
using static AkkaKube.Actors.Machinery.ApiServerProtocol;

namespace AkkaKube.Actors.ApiServer;

/// <summary>
/// Extension point for the Eviction subresource: PodDisruptionBudget checks plug in here (Eviction/).
/// Throw an <see cref="ApiException"/> (429 TooManyRequests) to refuse an eviction.
/// </summary>
public interface IEvictionPolicy
{
    Task CheckAsync(JsonObject pod, JsonObject eviction, CancellationToken ct);
}

/// <summary>Allows every eviction (no PodDisruptionBudget checks).</summary>
public sealed class AllowAllEvictions : IEvictionPolicy
{
    public static readonly AllowAllEvictions Instance = new();
    public Task CheckAsync(JsonObject pod, JsonObject eviction, CancellationToken ct) => Task.CompletedTask;
}

/// <summary>
/// The one request pipeline of the apiserver, used by the HTTP front and by the `apiserver` actor: resolve the
/// resource in the <see cref="ApiRegistry"/>, then one handler per verb (Get.cs, Create.cs, Update.cs, Patch.cs,
/// Apply.cs, Delete.cs, Watch.cs, Scale.cs beside this file). Handlers call the kind's <see cref="ResourceStrategy"/>
/// for everything kind-specific and never name a kind. Every refusal is an <see cref="ApiException"/> answered as
/// a metav1.Status.
/// </summary>
public sealed partial class ApiPipeline(IActorRef store, ApiServerSettings settings, ApiRegistry registry, IEvictionPolicy? evictions = null,
    Action<Exception>? onUnexpected = null, Func<IActorRef?>? serviceAllocator = null, Security.Rbac.RbacAuthorizer? authorizer = null, Security.ServiceAccountTokens? tokens = null)
{
    private readonly IActorRef _store = store;
    private readonly ApiServerSettings _settings = settings;
    private readonly ApiRegistry _registry = registry;
    private readonly Action<Exception>? _onUnexpected = onUnexpected;
    private readonly Func<IActorRef?> _serviceAllocator = serviceAllocator ?? (() => null);

    public ApiServerSettings Settings => _settings;
    public ApiRegistry Registry => _registry;
    public IEvictionPolicy Evictions { get; } = evictions ?? AllowAllEvictions.Instance;
    /// <summary>The built-in admission plugins run on create (Admission/AdmissionChain.cs).</summary>
    public Admission.AdmissionChain Admission { get; init; } = ApiServer.Admission.AdmissionChain.Default.Without(settings.DisableAdmissionPlugins);
    /// <summary>The namespaces informer's view (NamespaceLifecycle); null: every create looks its namespace up in the store.</summary>
    public ApiServer.Admission.NamespaceLister? Namespaces { get; init; }
    /// <summary>Answers the review APIs and checks RBAC writes for escalation; null: neither (unit tests of the pipeline alone).</summary>
    public Security.Rbac.RbacAuthorizer? Authorizer { get; } = authorizer;
    /// <summary>Issues ServiceAccount tokens (serviceaccounts/token); null: not on this pipeline.</summary>
    public Security.ServiceAccountTokens? Tokens { get; } = tokens;

    /// <summary>The answer: Body, or Text when the answer is already JSON text (a stored object served as stored).</summary>
    private sealed record Result(int Code, JsonNode? Body, List<string> Warnings, string? Text = null);

    public async Task<ApiResponse> HandleAsync(ApiRequest req, CancellationToken ct = default)
    {
        try
        {
            var result = await DispatchAsync(req, ct);
            return new ApiResponse(result.Code, result.Text ?? result.Body!.ToJsonString(), result.Warnings.Count == 0 ? null : result.Warnings);
        }
        catch (ApiException e)
        {
            return new ApiResponse(e.Code, e.ToStatus().ToJsonString());
        }
        catch (AskTimeoutException e)
        {
            // A store or actor that did not answer in time (an admission plugin's lister, a partition that is moving):
            // the client retries a 504, as from kube-apiserver when etcd is slow; not an internal error.
            return new ApiResponse(504, ApiStatus.Failure(504, "Timeout", $"an internal request did not complete in time ({e.Message.Split('\n')[0]}); retry").ToJsonString());
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            _onUnexpected?.Invoke(e);
            return new ApiResponse(500, ApiStatus.Failure(500, "InternalError", $"Internal error occurred: {e.GetType().Name}: {e.Message.Split('\n')[0]}").ToJsonString());
        }
    }

    /// <summary>The registration serving group/version/resource, or 404 as Kubernetes words it.</summary>
    public Registration Resolve(string group, string version, string resource) =>
        _registry.Find(group, version, resource) ?? throw ApiException.NotFound(
            $"the server could not find the requested resource ({resource}.{(group.Length == 0 ? version : $"{group}/{version}")})");

    private Task<Result> DispatchAsync(ApiRequest req, CancellationToken ct)
    {
        var (r, strategy) = Resolve(req.Group, req.Version, req.Resource);
        if (r.Namespaced && req.Namespace is { Length: > 0 } reqNs && !Validation.IsDns1123Label(reqNs))
            throw ApiException.NotFound($"namespaces \"{reqNs}\" not found");
        if (!r.Namespaced && !string.IsNullOrEmpty(req.Namespace))
            throw ApiException.NotFound($"the server could not find the requested resource ({r.Resource} is not namespaced)");
        if (req.Subresource is not null && r.FindSubresource(req.Subresource) is null)
            throw ApiException.NotFound($"the server could not find the requested resource ({r.Resource}/{req.Subresource})");
        if (req.Subresource is not null && req.Name is null)
            throw ApiException.NotFound("the server could not find the requested resource");
        var ns = r.Namespaced ? (string.IsNullOrEmpty(req.Namespace) ? null : req.Namespace) : null;
        if (req.Verb is "list" or "watch" or "deletecollection") req = CheckFieldLabels(req, strategy);
        if (r.Group.Length == 0 && r.Resource == ApiResource.Namespaces.Resource && req.Verb is not ("get" or "list" or "watch" or "create"))
            Namespaces?.Changing(req.Name); // creates in it are looked up live until the watch delivers this change
        var c = new RequestScope(this, r, strategy, ns, req, ct);
        if (strategy is Registry.Authorization.ReviewStrategy review) return ReviewAsync(c, review);

        if (req.Subresource is { } sub && strategy.Hooks.TryGetValue(sub, out var hook) && hook.Verb == req.Verb)
            return Named(req, async n =>
            {
                await ApiServer.Admission.NodeRestriction.AdmitSubresourceAsync(c, n);
                var (code, body) = await hook.HandleAsync(c, n);
                return new Result(code, body, c.Warnings);
            });
        if (req.Subresource is { } streamed && strategy.HttpSubresources.ContainsKey(streamed) && req.Verb == "get")
            throw ns is null && r.Namespaced
                // /api/v1/pods/NAME/log: Kubernetes serves pods/log only under a namespace
                ? ApiException.NotFound("the server could not find the requested resource")
                : new ApiException(503, "ServiceUnavailable", $"{r.Resource}/{streamed} is streamed by the HTTP front; request it over HTTP");

        if (req.Subresource is { } part && strategy.PartialSubresources.ContainsKey(part))
            return req.Verb switch
            {
                "get" => Named(req, n => GetAsync(c, n)),
                "update" => Named(req, n => UpdateAsync(c, n)),
                "patch" => Named(req, n => PatchAsync(c, n)),
                _ => throw ApiException.MethodNotAllowed($"the server does not allow this method on the requested resource ({req.Verb} {r.Resource}/{part})"),
            };

        return (req.Verb, req.Subresource) switch
        {
            ("get", null or "status") => Named(req, n => GetAsync(c, n)),
            ("get", "scale") => Named(req, n => GetScaleAsync(c, n)),
            ("list", null) when req.Name is null => ListAsync(c),
            ("watch", null) => WatchAsync(c),
            ("unwatch", null) => Named(req, id =>
            {
                CancelWatch(r, id);
                return Task.FromResult(new Result(200, ApiStatus.Success(), c.Warnings));
            }),
            ("create", null) when req.Name is null => CreateAsync(c),
            ("update", null or "status" or "scale") => Named(req, n => UpdateAsync(c, n)),
            ("patch", null or "status" or "scale") => Named(req, n => PatchAsync(c, n)),
            ("delete", null) => Named(req, n => DeleteAsync(c, n)),
            ("deletecollection", null) when req.Name is null => DeleteCollectionAsync(c),
            _ => throw ApiException.MethodNotAllowed(
                $"the server does not allow this method on the requested resource ({req.Verb} {r.Resource}{(req.Subresource is null ? "" : "/" + req.Subresource)})"),
        };
    }

    /// <summary>
    /// A fieldSelector may only name the kind's field labels: Kubernetes answers any other with a 400. A label that is
    /// not the object's own path (events' <c>source</c>) is rewritten to its path for the store, which matches by path.
    /// </summary>
    private static ApiRequest CheckFieldLabels(ApiRequest req, Registry.ResourceStrategy strategy)
    {
        if (!req.Query.TryGetValue("fieldSelector", out var selector) || string.IsNullOrWhiteSpace(selector)) return req;
        FieldSelector parsed;
        try
        {
            parsed = FieldSelector.Parse(selector);
        }
        catch (SelectorException e)
        {
            throw ApiException.BadRequest(e.Message);
        }
        foreach (var requirement in parsed.Requirements)
            if (!strategy.FieldLabels.Contains(requirement.Path))
                throw ApiException.BadRequest($"field label not supported: {requirement.Path}");
        if (!parsed.Requirements.Any(x => strategy.FieldLabelPaths.ContainsKey(x.Path))) return req;
        var query = new Dictionary<string, string>(req.Query) { ["fieldSelector"] = parsed.WithPaths(strategy.FieldLabelPaths).ToString() };
        return req with { Query = query };
    }

    private static Task<Result> Named(ApiRequest req, Func<string, Task<Result>> f) =>
        req.Name is { Length: > 0 } n ? f(n) : throw ApiException.MethodNotAllowed("a resource name is required for this request");

    /// <summary>
    /// One request on its way through the pipeline: the resolved resource and strategy, the namespace, the query,
    /// warnings to return; and the operations subresource hooks build on (get, write, delete, decode).
    /// </summary>
    public sealed record RequestScope(ApiPipeline Pipeline, ApiResource R, ResourceStrategy Strategy, string? Ns, ApiRequest Req, CancellationToken Ct)
    {
        public string? Q(string key) => Req.Query.TryGetValue(key, out var v) ? v : null;
        public bool DryRun => Q("dryRun") is { } d && d.Split(',').Contains("All");
        public List<string> Warnings { get; } = [];

        internal AdmissionContext Admission => new(Pipeline.Settings, Pipeline._store, Pipeline._serviceAllocator, DryRun, Ct)
        {
            User = Req.User,
            Authorizer = Pipeline.Authorizer,
        };

        /// <summary>The body as an object of <paramref name="kind"/> (a subresource's kind).</summary>
        public JsonObject ParseObject(string kind) => ApiPipeline.ParseObject(this, kind);

        public Task<JsonObject> GetAsync(string name) => Pipeline.Get(R, Ns, name, Ct);

        /// <summary>Writes the object as it is (no admission): for hooks that changed a stored object themselves.</summary>
        public Task<JsonObject> WriteStoredAsync(JsonObject obj) =>
            Pipeline.StoreObject(new Store.StoreProtocol.UpdateObject(R.Partition, Pipeline.StorageJson(R, obj), DryRun), R, Meta.Name(obj), Ct);

        public Task DeleteAsync(string name, DeleteOpts options) => Pipeline.DeleteObject(this, name, options);
    }
}
