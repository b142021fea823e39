using System.Globalization;
using System.Text.Json.Nodes;
using Akka.Actor;
using static AkkaKube.Actors.Machinery.ApiServerProtocol;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.Client;

/// <summary>
/// <see cref="IKubeApi"/> over actor messages: each call is an <see cref="ApiRequest"/> asked of the
/// local `apiserver` actor when this node has one, else of the cluster-aware router to the
/// control-plane nodes. Non-2xx answers throw <see cref="KubeApiException"/> with the Status code and reason.
/// Every request carries <see cref="Caller"/>, which the apiserver authenticates no further (the actor path is inside
/// the cluster) but authorizes and admits exactly as an HTTP caller's identity.
/// </summary>
public sealed class ActorKubeApi : IKubeApi
{
    /// <summary>What every identity's client of one process shares: the route to the apiservers and one client per identity.</summary>
    private sealed class Transport(IActorRef router, IActorRef? local, TimeSpan timeout)
    {
        public IActorRef Target { get; } = local ?? router;
        public TimeSpan Timeout { get; } = timeout;
        public System.Collections.Concurrent.ConcurrentDictionary<string, ActorKubeApi> InformerClients { get; } = new(StringComparer.Ordinal);
    }

    private readonly Transport _transport;

    public ActorKubeApi(IActorRef router, IActorRef? local, TimeSpan timeout, Security.UserInfo? caller = null)
        : this(new Transport(router, local, timeout), caller ?? Security.UserInfo.InClusterComponent, null) { }

    private ActorKubeApi(Transport transport, Security.UserInfo caller, Security.UserInfo? informerCaller)
    {
        _transport = transport;
        Caller = caller;
        InformerCaller = informerCaller ?? caller;
    }

    /// <summary>The identity this client's requests carry (operator tools and the apiserver's own loopback: <see cref="Security.UserInfo.InClusterComponent"/>).</summary>
    public Security.UserInfo Caller { get; }

    /// <summary>
    /// The identity the shared informers this client subscribes to list and watch as (docs/decisions.md): a controller
    /// writes as its ServiceAccount while the controller-manager's informers read as system:kube-controller-manager.
    /// </summary>
    public Security.UserInfo InformerCaller { get; }

    /// <summary>The same transport speaking as <paramref name="user"/>; its informers run as <paramref name="informers"/> (default: the user).</summary>
    public ActorKubeApi As(Security.UserInfo user, Security.UserInfo? informers = null) => new(_transport, user, informers);

    /// <summary>
    /// The client shared informers of <see cref="InformerCaller"/> run on: one instance per identity and transport, so
    /// <see cref="SharedInformers"/> shares an informer between every component reading as the same identity.
    /// </summary>
    public ActorKubeApi InformerClient =>
        _transport.InformerClients.GetOrAdd(InformerCaller.ToString(), (_, arg) => new ActorKubeApi(arg.Transport, arg.User, null), (Transport: _transport, User: InformerCaller));

    private IActorRef Target => _transport.Target;

    private static readonly IReadOnlyDictionary<string, string> NoQuery = new Dictionary<string, string>();

    private async Task<JsonNode> Call(string verb, ApiResource r, string? ns, string? name, string? sub, IReadOnlyDictionary<string, string>? query,
        string? contentType, string? body, CancellationToken ct, IActorRef? subscriber = null)
    {
        var request = new ApiRequest(verb, r.Group, r.Version, r.Resource, r.Namespaced ? ns : null, name, sub, query ?? NoQuery, contentType, body, subscriber) { User = Caller };
        ApiResponse response;
        try
        {
            response = await Target.Ask<ApiResponse>(request, _transport.Timeout, ct);
        }
        catch (AskTimeoutException)
        {
            throw new KubeApiException(504, "Timeout", $"no apiserver answered {verb} {r.Partition} within {_transport.Timeout.TotalSeconds:0.#}s");
        }
        var node = JsonNode.Parse(response.Body) ?? new JsonObject();
        if (response.Code is < 200 or > 299)
            throw new KubeApiException(response.Code, Meta.Str(node["reason"]) is { Length: > 0 } reason ? reason : ApiStatus.ReasonFor(response.Code),
                Meta.Str(node["message"]) is { Length: > 0 } message ? message : $"{verb} {r.Partition} failed with {response.Code}");
        return node;
    }

    private static string Name(JsonObject obj) =>
        Meta.Str(obj["metadata"]?["name"]) is { Length: > 0 } n ? n : throw new KubeApiException(400, "BadRequest", "metadata.name is required");

    public async Task<JsonObject> GetAsync(ApiResource resource, string? ns, string name, string? subresource = null, CancellationToken ct = default) =>
        (JsonObject)await Call("get", resource, ns, name, subresource, null, null, null, ct);

    public async Task<ObjectList> ListAsync(ApiResource resource, string? ns, ListOptions? options = null, CancellationToken ct = default)
    {
        var node = await Call("list", resource, ns, null, null, Query(options), null, null, ct);
        var items = (node["items"] as JsonArray ?? []).OfType<JsonObject>().Select(o => (JsonObject)o.DeepClone()).ToList();
        return new ObjectList(items, Meta.Str(node["metadata"]?["resourceVersion"]), Meta.Str(node["metadata"]?["continue"]) is { Length: > 0 } c ? c : null);
    }

    public async Task<JsonObject> CreateAsync(ApiResource resource, string? ns, JsonObject obj, string? subresource = null, CancellationToken ct = default)
    {
        var name = subresource is null ? null : Name(obj);
        return ObjectOrEmpty(await Call("create", resource, ns, name, subresource, null, "application/json", obj.ToJsonString(), ct));
    }

    public async Task<JsonObject> UpdateAsync(ApiResource resource, string? ns, JsonObject obj, string? subresource = null, CancellationToken ct = default) =>
        ObjectOrEmpty(await Call("update", resource, ns, Name(obj), subresource, null, "application/json", obj.ToJsonString(), ct));

    public async Task<JsonObject> PatchAsync(ApiResource resource, string? ns, string name, PatchType type, string patch, string? subresource = null, CancellationToken ct = default)
    {
        var contentType = type switch
        {
            PatchType.Merge => "application/merge-patch+json",
            PatchType.Json => "application/json-patch+json",
            PatchType.StrategicMerge => "application/strategic-merge-patch+json",
            _ => "application/apply-patch+yaml",
        };
        var query = type == PatchType.Apply ? new Dictionary<string, string> { ["fieldManager"] = "akkakube", ["force"] = "true" } : null;
        return ObjectOrEmpty(await Call("patch", resource, ns, name, subresource, query, contentType, patch, ct));
    }

    public async Task DeleteAsync(ApiResource resource, string? ns, string name, DeleteOptions? options = null, CancellationToken ct = default)
    {
        string? body = null;
        if (options is not null)
        {
            var o = new JsonObject { ["kind"] = "DeleteOptions", ["apiVersion"] = "v1" };
            if (options.PropagationPolicy is not null) o["propagationPolicy"] = options.PropagationPolicy;
            if (options.GracePeriodSeconds is not null) o["gracePeriodSeconds"] = options.GracePeriodSeconds;
            if (options.PreconditionUid is not null || options.PreconditionResourceVersion is not null)
            {
                var p = new JsonObject();
                if (options.PreconditionUid is not null) p["uid"] = options.PreconditionUid;
                if (options.PreconditionResourceVersion is not null) p["resourceVersion"] = options.PreconditionResourceVersion;
                o["preconditions"] = p;
            }
            body = o.ToJsonString();
        }
        await Call("delete", resource, ns, name, null, null, "application/json", body, ct);
    }

    public async Task<string> WatchAsync(ApiResource resource, string? ns, IActorRef subscriber, string resourceVersion, ListOptions? options = null, CancellationToken ct = default)
    {
        var query = Query(options);
        query["resourceVersion"] = resourceVersion;
        query["watchId"] = Guid.NewGuid().ToString("N");
        var node = await Call("watch", resource, ns, null, null, query, null, null, ct, subscriber);
        return Meta.Str(node["watchId"]);
    }

    public async Task CancelWatchAsync(ApiResource resource, string watchId) =>
        await Call("unwatch", resource, null, watchId, null, null, null, null, CancellationToken.None);

    private static Dictionary<string, string> Query(ListOptions? options)
    {
        var q = new Dictionary<string, string>();
        if (options is null) return q;
        if (!string.IsNullOrEmpty(options.LabelSelector)) q["labelSelector"] = options.LabelSelector;
        if (!string.IsNullOrEmpty(options.FieldSelector)) q["fieldSelector"] = options.FieldSelector;
        if (options.Limit > 0) q["limit"] = options.Limit.ToString(CultureInfo.InvariantCulture);
        if (!string.IsNullOrEmpty(options.Continue)) q["continue"] = options.Continue;
        return q;
    }

    private static JsonObject ObjectOrEmpty(JsonNode node) => node as JsonObject ?? new JsonObject();
}
