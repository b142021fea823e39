using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Akka.Actor;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Store;
using static AkkaKube.Actors.ApiServer.ApiServerProtocol;

namespace AkkaKube.Actors.ApiServer;

/// <summary>
/// Extension point for the Eviction subresource: PodDisruptionBudget checks (a later issue) plug in
/// here. Throw an <see cref="ApiException"/> (429 TooManyRequests) to refuse an eviction.
/// </summary>
public interface IEvictionPolicy
{
    Task CheckAsync(JsonObject pod, JsonObject eviction, CancellationToken ct);
}

/// <summary>Allows every eviction (no PodDisruptionBudget checks yet).</summary>
public sealed class AllowAllEvictions : IEvictionPolicy
{
    public static readonly AllowAllEvictions Instance = new();
    public Task CheckAsync(JsonObject pod, JsonObject eviction, CancellationToken ct) => Task.CompletedTask;
}

/// <summary>
/// The one request pipeline of the apiserver, used by the HTTP front and by the `apiserver` actor:
/// resolve the resource, decode the body, admission (defaulting, validation, field validation),
/// then the store. Every refusal is an <see cref="ApiException"/> answered as a metav1.Status.
/// </summary>
public sealed class ApiPipeline(IActorRef store, ApiServerSettings settings, IEvictionPolicy? evictions = null, Action<Exception>? onUnexpected = null,
    Func<IActorRef?>? serviceAllocator = null)
{
    private readonly IEvictionPolicy _evictions = evictions ?? AllowAllEvictions.Instance;
    public ApiServerSettings Settings => settings;

    private sealed record Result(int Code, JsonNode Body, List<string> Warnings);

    public async Task<ApiResponse> HandleAsync(ApiRequest req, CancellationToken ct = default)
    {
        try
        {
            var result = await DispatchAsync(req, ct);
            return new ApiResponse(result.Code, result.Body.ToJsonString(), result.Warnings.Count == 0 ? null : result.Warnings);
        }
        catch (ApiException e)
        {
            return new ApiResponse(e.Code, e.ToStatus().ToJsonString());
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            onUnexpected?.Invoke(e);
            return new ApiResponse(500, ApiStatus.Failure(500, "InternalError", $"Internal error occurred: {e.GetType().Name}: {e.Message.Split('\n')[0]}").ToJsonString());
        }
    }

    private Task<Result> DispatchAsync(ApiRequest req, CancellationToken ct)
    {
        var r = ApiResource.Find(req.Group, req.Version, req.Resource);
        if (r is null)
        {
            var gv = req.Group.Length == 0 ? req.Version : $"{req.Group}/{req.Version}";
            throw ApiException.NotFound($"the server could not find the requested resource ({req.Resource}.{gv})");
        }
        if (r.Namespaced && req.Namespace is not null && req.Namespace.Length > 0 && !Admission.IsDns1123Label(req.Namespace))
            throw ApiException.NotFound($"namespaces \"{req.Namespace}\" not found");
        if (!r.Namespaced && !string.IsNullOrEmpty(req.Namespace))
            throw ApiException.NotFound($"the server could not find the requested resource ({r.Resource} is not namespaced)");
        if (req.Subresource is not null && r.FindSubresource(req.Subresource) is null)
            throw ApiException.NotFound($"the server could not find the requested resource ({r.Resource}/{req.Subresource})");
        if (req.Subresource is not null && req.Name is null)
            throw ApiException.NotFound("the server could not find the requested resource");
        var ns = r.Namespaced ? (string.IsNullOrEmpty(req.Namespace) ? null : req.Namespace) : null;
        var ctx = new Ctx(r, ns, req, ct);

        return (req.Verb, req.Subresource) switch
        {
            ("get", null or "status") => Named(req, n => GetAsync(ctx, n)),
            ("get", "scale") => Named(req, n => GetScaleAsync(ctx, n)),
            ("get", "log") => Named(req, n => LogAsync(ctx, n)),
            ("list", null) when req.Name is null => ListAsync(ctx),
            ("watch", null) => WatchAsync(ctx),
            ("unwatch", null) => Named(req, id =>
            {
                CancelWatch(r, id);
                return Task.FromResult(new Result(200, ApiStatus.Success(), ctx.Warnings));
            }),
            ("create", null) when req.Name is null => CreateAsync(ctx),
            ("create", "binding") => Named(req, n => BindAsync(ctx, n)),
            ("create", "eviction") => Named(req, n => EvictAsync(ctx, n)),
            ("update", null or "status" or "scale") => Named(req, n => UpdateAsync(ctx, n)),
            ("patch", null or "status" or "scale") => Named(req, n => PatchAsync(ctx, n)),
            ("delete", null) => Named(req, n => DeleteAsync(ctx, n)),
            ("deletecollection", null) when req.Name is null => DeleteCollectionAsync(ctx),
            _ => throw ApiException.MethodNotAllowed(
                $"the server does not allow this method on the requested resource ({req.Verb} {r.Resource}{(req.Subresource is null ? "" : "/" + req.Subresource)})"),
        };
    }

    private static Task<Result> Named(ApiRequest req, Func<string, Task<Result>> f) =>
        req.Name is { Length: > 0 } n ? f(n) : throw ApiException.MethodNotAllowed("a resource name is required for this request");

    private sealed record Ctx(ApiResource R, string? Ns, ApiRequest Req, CancellationToken Ct)
    {
        public string? Q(string key) => Req.Query.TryGetValue(key, out var v) ? v : null;
        public bool DryRun => Q("dryRun") is { } d && d.Split(',').Contains("All");
        public List<string> Warnings { get; } = [];
    }

    // ---------------- store access ----------------

    private async Task<object> AskStore(StoreProtocol.IPartitionCommand cmd, CancellationToken ct)
    {
        try
        {
            return await store.Ask<object>(cmd, settings.StoreTimeout, ct);
        }
        catch (AskTimeoutException)
        {
            throw new ApiException(504, "Timeout", $"the store did not answer within {settings.StoreTimeout.TotalSeconds:0.#}s ({cmd.Partition}); retry");
        }
    }

    private static ApiException Map(StoreProtocol.StoreFailure f, ApiResource r, string? name) => (f.Code, f.Reason) switch
    {
        (404, _) when name is not null => ApiException.ResourceNotFound(r, name),
        (409, "AlreadyExists") when name is not null => ApiException.AlreadyExists(r, name),
        (409, _) when name is not null => ApiException.Conflict(r, name, "the object has been modified; please apply your changes to the latest version and try again"),
        _ => new ApiException(f.Code is >= 400 and <= 599 ? f.Code : 500, string.IsNullOrEmpty(f.Reason) ? ApiStatus.ReasonFor(f.Code) : f.Reason, f.Message,
            name is null ? null : ApiException.DetailsFor(r, name)),
    };

    private async Task<JsonObject> StoreObject(StoreProtocol.IPartitionCommand cmd, ApiResource r, string? name, CancellationToken ct)
    {
        var reply = await AskStore(cmd, ct);
        return reply switch
        {
            StoreProtocol.ObjectReply o => ParseStored(o.ObjectJson),
            StoreProtocol.StoreFailure f => throw Map(f, r, name),
            _ => throw new ApiException(500, "InternalError", $"unexpected store reply {reply.GetType().Name}"),
        };
    }

    private static JsonObject ParseStored(string json) =>
        JsonNode.Parse(json) as JsonObject ?? throw new ApiException(500, "InternalError", "the store returned a non-object");

    private Task<JsonObject> Get(ApiResource r, string? ns, string name, CancellationToken ct) =>
        StoreObject(new StoreProtocol.GetObject(r.Partition, ns, name), r, name, ct);

    private async Task<JsonObject?> TryGet(ApiResource r, string? ns, string name, CancellationToken ct)
    {
        try
        {
            return await Get(r, ns, name, ct);
        }
        catch (ApiException e) when (e.Code == 404)
        {
            return null;
        }
    }

    // ---------------- body decoding ----------------

    private static JsonNode ParseBody(Ctx c)
    {
        var body = c.Req.Body;
        if (string.IsNullOrWhiteSpace(body)) throw ApiException.BadRequest("the request body is empty");
        var mediaType = (c.Req.ContentType ?? "application/json").Split(';')[0].Trim().ToLowerInvariant();
        var yaml = mediaType is "application/yaml" or "application/apply-patch+yaml" or "text/yaml" or "application/x-yaml";
        try
        {
            return JsonNode.Parse(body, documentOptions: new JsonDocumentOptions { MaxDepth = 100 })
                   ?? throw ApiException.BadRequest("the request body is null");
        }
        catch (JsonException e) when (yaml)
        {
            _ = e;
            return YamlJson.Parse(body);
        }
        catch (JsonException e)
        {
            throw ApiException.BadRequest($"the request body is not valid JSON: {e.Message.Split('\n')[0]}");
        }
    }

    private static JsonObject ParseObject(Ctx c, string? expectKind = null)
    {
        var node = ParseBody(c);
        if (node is not JsonObject obj) throw ApiException.BadRequest("the request body must be a JSON object");
        var kind = expectKind ?? c.R.Kind;
        var apiVersion = expectKind is null ? c.R.ApiVersion : null;
        var gotVersion = obj["apiVersion"];
        var gotKind = obj["kind"];
        if (gotVersion is not null && (gotVersion is not JsonValue || gotVersion.GetValueKind() != JsonValueKind.String))
            throw ApiException.BadRequest("apiVersion must be a string");
        if (gotKind is not null && (gotKind is not JsonValue || gotKind.GetValueKind() != JsonValueKind.String))
            throw ApiException.BadRequest("kind must be a string");
        var v = gotVersion?.GetValue<string>();
        var k = gotKind?.GetValue<string>();
        if (apiVersion is not null && v is not null && v != apiVersion)
            throw ApiException.BadRequest($"the API version in the data ({v}) does not match the expected API version ({apiVersion})");
        if (k is not null && k != kind)
            throw ApiException.BadRequest($"the kind in the data ({k}) does not match the expected kind ({kind}) for {c.R.Resource}");
        if (obj["metadata"] is { } m && m is not JsonObject) throw ApiException.BadRequest("metadata must be an object");
        if (apiVersion is not null)
        {
            obj["apiVersion"] = apiVersion;
            obj["kind"] = kind;
            // keep apiVersion/kind first, as Kubernetes prints them
            var reordered = new JsonObject { ["apiVersion"] = apiVersion, ["kind"] = kind };
            foreach (var (key, value) in obj.ToList())
                if (key is not ("apiVersion" or "kind")) { obj.Remove(key); reordered[key] = value; }
            return reordered;
        }
        return obj;
    }

    private static JsonObject Meta(JsonObject obj) => Admission.Obj(obj, "metadata");

    private static string? MetaStr(JsonObject obj, string key) =>
        obj["metadata"]?[key] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    /// <summary>Fills or checks metadata.namespace against the URL (a mismatch is 400, as Kubernetes).</summary>
    private static void CheckNamespace(Ctx c, JsonObject obj)
    {
        var meta = Meta(obj);
        var bodyNs = MetaStr(obj, "namespace");
        if (!c.R.Namespaced)
        {
            meta.Remove("namespace");
            return;
        }
        if (c.Ns is null) throw ApiException.BadRequest("a namespace is required in the URL for namespaced resources");
        if (!string.IsNullOrEmpty(bodyNs) && bodyNs != c.Ns)
            throw ApiException.BadRequest("the namespace of the provided object does not match the namespace sent on the request");
        meta["namespace"] = c.Ns;
    }

    /// <summary>fieldValidation=Strict → unknown fields are 400; Warn (default) → warning headers; Ignore → dropped silently.</summary>
    private static void FieldValidation(Ctx c, string kind, JsonObject obj)
    {
        var mode = c.Q("fieldValidation") ?? "Warn";
        if (mode is not ("Strict" or "Warn" or "Ignore"))
            throw ApiException.BadRequest($"fieldValidation must be one of Ignore, Warn, Strict (got \"{mode}\")");
        var unknown = Admission.UnknownFields(kind, obj);
        if (unknown.Count == 0) return;
        if (mode == "Strict")
            throw ApiException.BadRequest("strict decoding error: " + string.Join(", ", unknown.Select(u => $"unknown field \"{u}\"")));
        if (mode == "Warn")
            c.Warnings.AddRange(unknown.Select(u => $"unknown field \"{u}\""));
        Admission.Prune(obj, unknown);
    }

    private static void Validate(Ctx c, JsonObject obj, JsonObject? old)
    {
        var causes = Admission.Validate(c.R, obj, old);
        if (causes.Count > 0) throw ApiException.Invalid(c.R, MetaStr(obj, "name") ?? "", causes);
    }

    private async Task CheckNamespaceExists(Ctx c)
    {
        if (!c.R.Namespaced || c.Ns is null) return;
        var ns = await TryGet(ApiResource.Namespaces, null, c.Ns, c.Ct)
                 ?? throw ApiException.ResourceNotFound(ApiResource.Namespaces, c.Ns);
        if (ns["metadata"]?["deletionTimestamp"] is not null)
            throw new ApiException(403, "Forbidden",
                $"{c.R.Resource} \"{MetaStr(ns, "name")}\" is forbidden: unable to create new content in namespace {c.Ns} because it is being terminated",
                ApiException.DetailsFor(c.R, null));
    }

    // ---------------- get / list ----------------

    private async Task<Result> GetAsync(Ctx c, string name) =>
        new(200, await Get(c.R, c.Ns, name, c.Ct), c.Warnings);

    private async Task<Result> ListAsync(Ctx c)
    {
        var limit = 0;
        if (c.Q("limit") is { Length: > 0 } l && (!int.TryParse(l, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit < 0))
            throw ApiException.BadRequest($"invalid limit \"{l}\"");
        var reply = await AskStore(new StoreProtocol.ListObjects(c.R.Partition, c.Ns, c.Q("labelSelector"), c.Q("fieldSelector"), limit, NullIfEmpty(c.Q("continue"))), c.Ct);
        if (reply is StoreProtocol.StoreFailure f) throw Map(f, c.R, null);
        if (reply is not StoreProtocol.ListReply list) throw new ApiException(500, "InternalError", $"unexpected store reply {reply.GetType().Name}");
        var items = new JsonArray();
        foreach (var item in list.Items) items.Add(ParseStored(item));
        var meta = new JsonObject { ["resourceVersion"] = list.Revision.ToString(CultureInfo.InvariantCulture) };
        if (!string.IsNullOrEmpty(list.Continue)) meta["continue"] = list.Continue;
        if (list.RemainingItemCount is { } rem) meta["remainingItemCount"] = rem;
        return new(200, new JsonObject
        {
            ["kind"] = c.R.Kind + "List",
            ["apiVersion"] = c.R.ApiVersion,
            ["metadata"] = meta,
            ["items"] = items,
        }, c.Warnings);
    }

    private static string? NullIfEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;

    // ---------------- watch ----------------

    private async Task<Result> WatchAsync(Ctx c)
    {
        var subscriber = c.Req.Subscriber ?? throw ApiException.BadRequest("a watch needs a subscriber");
        var rv = c.Q("resourceVersion");
        long from;
        if (string.IsNullOrEmpty(rv) || rv == "0")
        {
            // Kubernetes semantics for an unset/0 resourceVersion: synthetic ADDED events for the current state, then changes.
            var reply = await AskStore(new StoreProtocol.ListObjects(c.R.Partition, c.Ns, c.Q("labelSelector"), c.Q("fieldSelector")), c.Ct);
            if (reply is StoreProtocol.StoreFailure f) throw Map(f, c.R, null);
            var list = (StoreProtocol.ListReply)reply;
            var watchIdForInitial = c.Q("watchId") ?? Guid.NewGuid().ToString("N");
            foreach (var item in list.Items)
                subscriber.Tell(new StoreProtocol.WatchEvent(watchIdForInitial, "ADDED", item, list.Revision));
            from = list.Revision;
            return await StartWatch(c, subscriber, watchIdForInitial, from);
        }
        if (!long.TryParse(rv, NumberStyles.None, CultureInfo.InvariantCulture, out from))
            throw ApiException.BadRequest($"invalid resourceVersion \"{rv}\"");
        return await StartWatch(c, subscriber, c.Q("watchId") ?? Guid.NewGuid().ToString("N"), from);
    }

    /// <summary>
    /// The store answers a StartWatch to the subscriber (WatchStarted, then events; or WatchEnded 410
    /// when the revision left its window), so the pipeline only tells it and returns the watch id.
    /// </summary>
    private Task<Result> StartWatch(Ctx c, IActorRef subscriber, string watchId, long from)
    {
        var bookmarks = c.Q("allowWatchBookmarks") is "true" or "1";
        store.Tell(new StoreProtocol.StartWatch(c.R.Partition, watchId, subscriber, c.Ns, c.Q("labelSelector"), c.Q("fieldSelector"), from, bookmarks));
        return Task.FromResult(new Result(200, new JsonObject
        {
            ["kind"] = "WatchStarted",
            ["watchId"] = watchId,
            ["resourceVersion"] = from.ToString(CultureInfo.InvariantCulture),
        }, c.Warnings));
    }

    /// <summary>Ends a watch started through this pipeline (fire and forget).</summary>
    public void CancelWatch(ApiResource r, string watchId) => store.Tell(new StoreProtocol.CancelWatch(r.Partition, watchId));

    // ---------------- create ----------------

    private async Task<Result> CreateAsync(Ctx c)
    {
        var obj = ParseObject(c);
        var created = await CreateObject(c, obj);
        return new(201, created, c.Warnings);
    }

    private async Task<JsonObject> CreateObject(Ctx c, JsonObject obj)
    {
        CheckNamespace(c, obj);
        var meta = Meta(obj);
        if (string.IsNullOrEmpty(MetaStr(obj, "name")) && MetaStr(obj, "generateName") is { Length: > 0 } gen)
            meta["name"] = gen + RandomSuffix();
        foreach (var key in new[] { "uid", "resourceVersion", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation", "selfLink" })
            meta.Remove(key);
        FieldValidation(c, c.R.Kind, obj);
        Admission.Default(c.R, obj);
        if (c.R.Kind == "Pod") Admission.AddDefaultTolerations(obj, settings.DefaultTolerationSeconds);
        Validate(c, obj, null);
        await CheckNamespaceExists(c);
        if (c.R.Kind == "Service") obj = await AdmitService(c, obj, null);
        var name = MetaStr(obj, "name")!;
        return await StoreObject(new StoreProtocol.CreateObject(c.R.Partition, obj.ToJsonString(), c.DryRun), c.R, name, c.Ct);
    }

    private static string RandomSuffix()
    {
        const string alphabet = "bcdfghjklmnpqrstvwxz2456789";
        return string.Create(5, 0, (span, _) =>
        {
            for (var i = 0; i < span.Length; i++) span[i] = alphabet[Random.Shared.Next(alphabet.Length)];
        });
    }

    /// <summary>Service allocation and validation (src/Actors/Services): ClusterIP, NodePort, 422 causes with the field named.</summary>
    private async Task<JsonObject> AdmitService(Ctx c, JsonObject obj, JsonObject? old)
    {
        Services.ServiceAdmission admission;
        try
        {
            admission = await Services.ServiceAdmissionClient.AdmitAsync(serviceAllocator?.Invoke(), store, obj, old, c.DryRun, settings.StoreTimeout, c.Ct);
        }
        catch (AskTimeoutException)
        {
            throw new ApiException(504, "Timeout", $"the service allocator did not answer within {settings.StoreTimeout.TotalSeconds:0.#}s; retry");
        }
        if (!admission.Ok)
            throw ApiException.Invalid(c.R, MetaStr(obj, "name") ?? "", admission.Errors.Select(e => new StatusCause(e.Reason, e.Message, e.Field)).ToList());
        return admission.Service!;
    }

    // ---------------- update ----------------

    private async Task<Result> UpdateAsync(Ctx c, string name)
    {
        if (c.Req.Subresource == "scale")
        {
            var scale = ParseObject(c, "Scale");
            var (code, body) = await WriteScale(c, name, scale, preconditionFromBody: true);
            return new(code, body, c.Warnings);
        }
        var obj = ParseObject(c);
        var bodyName = MetaStr(obj, "name");
        if (string.IsNullOrEmpty(bodyName)) Meta(obj)["name"] = name;
        else if (bodyName != name)
            throw ApiException.BadRequest($"the name of the object ({bodyName}) does not match the name on the URL ({name})");
        var old = await Get(c.R, c.Ns, name, c.Ct);
        var updated = await Replace(c, obj, old, keepPrecondition: true);
        return new(200, updated, c.Warnings);
    }

    /// <summary>The shared tail of update and patch: subresource view, preserved metadata, admission, store.</summary>
    private async Task<JsonObject> Replace(Ctx c, JsonObject obj, JsonObject old, bool keepPrecondition)
    {
        CheckNamespace(c, obj);
        var rvSent = MetaStr(obj, "resourceVersion");
        FieldValidation(c, c.R.Kind, obj);
        JsonObject next;
        if (c.Req.Subresource == "status")
        {
            next = (JsonObject)old.DeepClone();
            if (obj["status"] is { } st) next["status"] = st.DeepClone();
            else next.Remove("status");
        }
        else
        {
            next = obj;
            if (c.R.HasStatus)
            {
                if (old["status"] is { } st) next["status"] = st.DeepClone();
                else next.Remove("status");
            }
        }
        var meta = Meta(next);
        foreach (var key in new[] { "uid", "creationTimestamp", "generation", "deletionTimestamp", "deletionGracePeriodSeconds" })
        {
            if (old["metadata"]?[key] is { } v) meta[key] = v.DeepClone();
            else meta.Remove(key);
        }
        if (meta["managedFields"] is null && old["metadata"]?["managedFields"] is { } mf) meta["managedFields"] = mf.DeepClone();
        if (keepPrecondition && !string.IsNullOrEmpty(rvSent)) meta["resourceVersion"] = rvSent;
        else meta["resourceVersion"] = MetaStr(old, "resourceVersion");
        Admission.Default(c.R, next);
        Validate(c, next, old);
        if (c.R.Kind == "Service" && c.Req.Subresource is null) next = await AdmitService(c, next, old);
        return await StoreObject(new StoreProtocol.UpdateObject(c.R.Partition, next.ToJsonString(), c.DryRun), c.R, MetaStr(next, "name"), c.Ct);
    }

    // ---------------- patch ----------------

    private async Task<Result> PatchAsync(Ctx c, string name)
    {
        var type = (c.Req.ContentType ?? "").Split(';')[0].Trim().ToLowerInvariant();
        if (type is not ("application/merge-patch+json" or "application/json-patch+json" or "application/strategic-merge-patch+json" or "application/apply-patch+yaml" or "application/apply-patch+json"))
            throw ApiException.UnsupportedMediaType(string.IsNullOrEmpty(type) ? "no Content-Type" : type);
        var patch = ParseBody(c);
        if (type.StartsWith("application/apply-patch", StringComparison.Ordinal))
            return await ApplyAsync(c, name, patch);

        for (var attempt = 0; ; attempt++)
        {
            var old = await Get(c.R, c.Ns, name, c.Ct);
            var target = c.Req.Subresource == "scale" ? ToScale(old) : (JsonObject)old.DeepClone();
            var patched = type switch
            {
                "application/merge-patch+json" => Patching.MergePatch(target, patch),
                "application/json-patch+json" => Patching.JsonPatch(target, patch),
                _ when c.Req.Subresource == "scale" => Patching.StrategicMerge(target, patch, "Scale"),
                _ => Patching.StrategicMerge(target, patch, c.R.Kind),
            };
            if (patched is not JsonObject result) throw ApiException.BadRequest("the patch did not produce a JSON object");
            var rvInPatch = patch is JsonObject po && po["metadata"]?["resourceVersion"] is not null ||
                            patch is JsonArray && MetaStr(result, "resourceVersion") != MetaStr(old, "resourceVersion");
            try
            {
                if (c.Req.Subresource == "scale")
                {
                    var (code, body) = await WriteScale(c, name, result, preconditionFromBody: rvInPatch, old);
                    return new(code, body, c.Warnings);
                }
                if (MetaStr(result, "name") != name) throw ApiException.BadRequest("a patch may not change metadata.name");
                CheckKindUnchanged(c, result);
                return new(200, await Replace(c, result, old, keepPrecondition: rvInPatch), c.Warnings);
            }
            catch (ApiException e) when (e.Code == 409 && e.Reason == "Conflict" && !rvInPatch && attempt < 4)
            {
                // the object changed between our read and write: re-read and re-apply, as Kubernetes does
            }
        }
    }

    private static void CheckKindUnchanged(Ctx c, JsonObject result)
    {
        if (Admission.Str(result["apiVersion"]) != c.R.ApiVersion || Admission.Str(result["kind"]) != c.R.Kind)
            throw ApiException.BadRequest("a patch may not change apiVersion or kind");
    }

    // ---------------- server-side apply ----------------

    /// <summary>
    /// Server-side apply: create when missing, else strategic-merge the applied configuration and drop
    /// fields this manager applied before but no longer applies. managedFields holds one Apply entry per
    /// manager (FieldsV1). Conflicts: a leaf field owned by another Apply manager whose value would change
    /// is 409 Conflict unless force=true (then ownership moves). Update-operation ownership is not tracked.
    /// </summary>
    private async Task<Result> ApplyAsync(Ctx c, string name, JsonNode patch)
    {
        if (patch is not JsonObject applied) throw ApiException.BadRequest("an apply patch must be an object");
        var manager = c.Q("fieldManager");
        if (string.IsNullOrEmpty(manager))
            throw ApiException.BadRequest("PATCH, application/apply-patch+yaml requests must supply the fieldManager parameter");
        if (c.Req.Subresource is not null) throw ApiException.MethodNotAllowed("server-side apply is only supported on the main resource");
        var force = c.Q("force") is "true" or "1";
        var appliedVersion = Admission.Str(applied["apiVersion"]);
        var appliedKind = Admission.Str(applied["kind"]);
        if (appliedVersion.Length == 0 || appliedKind.Length == 0) throw ApiException.BadRequest("apiVersion and kind must be set in an apply configuration");
        if (appliedVersion != c.R.ApiVersion) throw ApiException.BadRequest($"the API version in the data ({appliedVersion}) does not match the expected API version ({c.R.ApiVersion})");
        if (appliedKind != c.R.Kind) throw ApiException.BadRequest($"the kind in the data ({appliedKind}) does not match the expected kind ({c.R.Kind})");
        var bodyName = MetaStr(applied, "name");
        if (!string.IsNullOrEmpty(bodyName) && bodyName != name)
            throw ApiException.BadRequest($"the name of the object ({bodyName}) does not match the name on the URL ({name})");
        var fields = ManagedFields.Of(applied);

        for (var attempt = 0; ; attempt++)
        {
            var old = await TryGet(c.R, c.Ns, name, c.Ct);
            if (old is null)
            {
                var obj = (JsonObject)applied.DeepClone();
                Meta(obj)["name"] = name;
                Meta(obj)["managedFields"] = new JsonArray(ManagedFields.Entry(manager, c.R.ApiVersion, fields));
                try
                {
                    return new(201, await CreateObject(c, obj), c.Warnings);
                }
                catch (ApiException e) when (e.Code == 409 && attempt < 4)
                {
                    continue;
                }
            }

            var entries = old["metadata"]?["managedFields"] as JsonArray ?? [];
            var conflicts = ManagedFields.Conflicts(entries, manager, applied, old);
            if (conflicts.Count > 0 && !force)
            {
                var causes = conflicts.Select(x => new JsonObject { ["reason"] = "FieldManagerConflict", ["message"] = $"conflict with \"{x.Manager}\"", ["field"] = x.Path });
                var details = ApiException.DetailsFor(c.R, name);
                details["causes"] = new JsonArray(causes.ToArray<JsonNode>());
                throw new ApiException(409, "Conflict",
                    $"Apply failed with {conflicts.Count} conflict{(conflicts.Count == 1 ? "" : "s")}: " + string.Join("; ", conflicts.Select(x => $"conflict with \"{x.Manager}\": {x.Path}")), details);
            }
            var previous = ManagedFields.FieldsOf(entries, manager);
            var merged = (JsonObject)Patching.StrategicMerge(old, StripForMerge(applied), c.R.Kind)!;
            ManagedFields.RemoveDropped(merged, previous, fields, ManagedFields.OwnedByOthers(entries, manager));
            Meta(merged)["managedFields"] = ManagedFields.Replace(entries, manager, c.R.ApiVersion, fields, force ? conflicts : []);
            try
            {
                return new(200, await Replace(c, merged, old, keepPrecondition: false), c.Warnings);
            }
            catch (ApiException e) when (e.Code == 409 && e.Reason == "Conflict" && attempt < 4)
            {
            }
        }
    }

    private static JsonObject StripForMerge(JsonObject applied)
    {
        var copy = (JsonObject)applied.DeepClone();
        if (copy["metadata"] is JsonObject m)
            foreach (var key in new[] { "managedFields", "resourceVersion", "uid", "creationTimestamp", "generation" }) m.Remove(key);
        return copy;
    }

    // ---------------- scale ----------------

    private async Task<Result> GetScaleAsync(Ctx c, string name) =>
        new(200, ToScale(await Get(c.R, c.Ns, name, c.Ct)), c.Warnings);

    private static JsonObject ToScale(JsonObject obj)
    {
        var meta = new JsonObject();
        foreach (var key in new[] { "name", "namespace", "uid", "resourceVersion", "creationTimestamp" })
            if (obj["metadata"]?[key] is { } v) meta[key] = v.DeepClone();
        return new JsonObject
        {
            ["kind"] = "Scale",
            ["apiVersion"] = "autoscaling/v1",
            ["metadata"] = meta,
            ["spec"] = new JsonObject { ["replicas"] = obj["spec"]?["replicas"]?.DeepClone() ?? 0 },
            ["status"] = new JsonObject
            {
                ["replicas"] = obj["status"]?["replicas"]?.DeepClone() ?? 0,
                ["selector"] = Selectors.Format(obj["spec"]?["selector"] as JsonObject),
            },
        };
    }

    private async Task<(int, JsonObject)> WriteScale(Ctx c, string name, JsonObject scale, bool preconditionFromBody, JsonObject? old = null)
    {
        if (Admission.Str(scale["kind"]) is { Length: > 0 } k && k != "Scale") throw ApiException.BadRequest($"expected kind Scale, got {k}");
        if (MetaStr(scale, "name") is { Length: > 0 } n && n != name)
            throw ApiException.BadRequest($"the name of the object ({n}) does not match the name on the URL ({name})");
        var replicasNode = scale["spec"]?["replicas"];
        int replicas = 0;
        if (replicasNode is not null && (replicasNode is not JsonValue rv || !rv.TryGetValue(out replicas)))
            throw ApiException.BadRequest("spec.replicas must be an integer");
        var scaleRes = new ApiResource("autoscaling", "v1", "scale", "Scale", true);
        if (replicas < 0)
            throw ApiException.Invalid(scaleRes, name, [new("FieldValueInvalid", $"Invalid value: {replicas}: must be greater than or equal to 0", "spec.replicas")]);
        for (var attempt = 0; ; attempt++)
        {
            old ??= await Get(c.R, c.Ns, name, c.Ct);
            var next = (JsonObject)old.DeepClone();
            Admission.Obj(next, "spec")["replicas"] = replicas;
            if (preconditionFromBody && MetaStr(scale, "resourceVersion") is { Length: > 0 } prv) Meta(next)["resourceVersion"] = prv;
            try
            {
                var stored = await StoreObject(new StoreProtocol.UpdateObject(c.R.Partition, next.ToJsonString(), c.DryRun), c.R, name, c.Ct);
                return (200, ToScale(stored));
            }
            catch (ApiException e) when (e.Code == 409 && !preconditionFromBody && attempt < 4)
            {
                old = null;
            }
        }
    }

    // ---------------- delete ----------------

    private async Task<Result> DeleteAsync(Ctx c, string name)
    {
        var options = ParseDeleteOptions(c);
        var deleted = await DeleteObject(c, name, options);
        return deleted;
    }

    /// <summary>Grace: the client's gracePeriodSeconds (null = the object's default).</summary>
    private sealed record DeleteOpts(string? Policy, string? Uid, string? ResourceVersion, bool DryRun, long? Grace = null);

    private static DeleteOpts ParseDeleteOptions(Ctx c)
    {
        string? policy = c.Q("propagationPolicy");
        string? uid = null, rv = null;
        var dryRun = c.DryRun;
        long? grace = null;
        if (c.Q("gracePeriodSeconds") is { Length: > 0 } gq)
            grace = long.TryParse(gq, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var g) ? g
                : throw ApiException.BadRequest($"gracePeriodSeconds must be an integer (got \"{gq}\")");
        if (!string.IsNullOrWhiteSpace(c.Req.Body))
        {
            if (ParseBody(c) is not JsonObject body) throw ApiException.BadRequest("DeleteOptions must be a JSON object");
            Admission.UnknownFields("DeleteOptions", body);
            policy = Admission.Str(body["propagationPolicy"]) is { Length: > 0 } p ? p : policy;
            if (body["orphanDependents"] is JsonValue od && od.TryGetValue<bool>(out var orphan) && policy is null)
                policy = orphan ? "Orphan" : "Background";
            uid = Admission.Str(body["preconditions"]?["uid"]) is { Length: > 0 } u ? u : null;
            rv = Admission.Str(body["preconditions"]?["resourceVersion"]) is { Length: > 0 } r ? r : null;
            if (body["dryRun"] is JsonArray dr && dr.Any(x => Admission.Str(x) == "All")) dryRun = true;
            grace = GraceOf(body) ?? grace;
        }
        if (policy is not (null or "Orphan" or "Background" or "Foreground"))
            throw ApiException.BadRequest($"propagationPolicy must be one of Orphan, Background, Foreground (got \"{policy}\")");
        return new DeleteOpts(policy, uid, rv, dryRun, grace);
    }

    private static long? GraceOf(JsonObject deleteOptions) => deleteOptions["gracePeriodSeconds"] switch
    {
        null => null,
        JsonValue v when v.TryGetValue<long>(out var g) => g,
        _ => throw ApiException.BadRequest("gracePeriodSeconds must be an integer"),
    };

    /// <summary>
    /// Pods are deleted gracefully like Kubernetes: one bound to a node and not finished gets deletionTimestamp = now +
    /// grace (the request's, else spec.terminationGracePeriodSeconds, else 30 s) and stays, Terminating, until its
    /// kubelet has stopped the containers and deletes it with grace 0. Everything else goes at once.
    /// </summary>
    private static long EffectiveGrace(Ctx c, JsonObject old, long? requested)
    {
        if (c.R.Group.Length != 0 || c.R.Resource != "pods") return 0;
        if (Admission.Str(old["spec"]?["nodeName"]).Length == 0) return 0;
        if (Admission.Str(old["status"]?["phase"]) is "Succeeded" or "Failed") return 0;
        if (requested is { } r) return Math.Max(0, r);
        return old["spec"]?["terminationGracePeriodSeconds"] is JsonValue v && v.TryGetValue<long>(out var spec) ? Math.Max(0, spec) : 30;
    }

    private async Task<Result> DeleteObject(Ctx c, string name, DeleteOpts o)
    {
        var old = await Get(c.R, c.Ns, name, c.Ct);
        if (o.Uid is not null && MetaStr(old, "uid") != o.Uid)
            throw ApiException.Conflict(c.R, name, $"Precondition failed: UID in precondition: {o.Uid}, UID in object meta: {MetaStr(old, "uid")}");
        if (o.ResourceVersion is not null && MetaStr(old, "resourceVersion") != o.ResourceVersion)
            throw ApiException.Conflict(c.R, name, $"Precondition failed: ResourceVersion in precondition: {o.ResourceVersion}, ResourceVersion in object meta: {MetaStr(old, "resourceVersion")}");

        // propagationPolicy is recorded for the garbage collector as Kubernetes does: a finalizer on the object.
        var finalizer = o.Policy switch { "Orphan" => "orphan", "Foreground" => "foregroundDeletion", _ => null };
        if (finalizer is not null && !o.DryRun)
        {
            var finalizers = old["metadata"]?["finalizers"] as JsonArray ?? [];
            if (!finalizers.Any(f => Admission.Str(f) == finalizer))
            {
                var next = (JsonObject)old.DeepClone();
                var list = Meta(next)["finalizers"] as JsonArray ?? [];
                list.Add(finalizer);
                Meta(next)["finalizers"] = list.DeepClone();
                old = await StoreObject(new StoreProtocol.UpdateObject(c.R.Partition, next.ToJsonString()), c.R, name, c.Ct);
            }
        }
        var grace = EffectiveGrace(c, old, o.Grace);
        var result = await StoreObject(new StoreProtocol.DeleteObject(c.R.Partition, c.Ns, name, o.Uid, o.ResourceVersion, o.DryRun, grace), c.R, name, c.Ct);
        // Still there (graceful deletion or finalizers): Kubernetes answers with the object, else with a Status.
        if (grace > 0 || (result["metadata"]?["deletionTimestamp"] is not null && result["metadata"]?["finalizers"] is JsonArray { Count: > 0 }))
            return new(200, result, c.Warnings);
        var details = ApiException.DetailsFor(c.R, name);
        if (MetaStr(result, "uid") is { } uid) details["uid"] = uid;
        return new(200, ApiStatus.Success(details), c.Warnings);
    }

    private async Task<Result> DeleteCollectionAsync(Ctx c)
    {
        var options = ParseDeleteOptions(c);
        var reply = await AskStore(new StoreProtocol.ListObjects(c.R.Partition, c.Ns, c.Q("labelSelector"), c.Q("fieldSelector")), c.Ct);
        if (reply is StoreProtocol.StoreFailure f) throw Map(f, c.R, null);
        var items = new JsonArray();
        foreach (var item in ((StoreProtocol.ListReply)reply).Items)
        {
            var obj = ParseStored(item);
            var name = MetaStr(obj, "name")!;
            try
            {
                var ctx = c with { Ns = c.R.Namespaced ? MetaStr(obj, "namespace") : null };
                await DeleteObject(ctx, name, options with { Uid = null, ResourceVersion = null });
                items.Add(obj);
            }
            catch (ApiException e) when (e.Code == 404)
            {
            }
        }
        return new(200, new JsonObject { ["kind"] = c.R.Kind + "List", ["apiVersion"] = c.R.ApiVersion, ["metadata"] = new JsonObject(), ["items"] = items }, c.Warnings);
    }

    // ---------------- pods: binding, eviction, log ----------------

    private async Task<Result> BindAsync(Ctx c, string name)
    {
        var binding = ParseObject(c, "Binding");
        var target = Admission.Str(binding["target"]?["name"]);
        if (target.Length == 0)
            throw ApiException.Invalid(new ApiResource("", "v1", "bindings", "Binding", true), name, [new("FieldValueRequired", "Required value", "target.name")]);
        for (var attempt = 0; ; attempt++)
        {
            var pod = await Get(c.R, c.Ns, name, c.Ct);
            if (Admission.Str(pod["spec"]?["nodeName"]) is { Length: > 0 } bound)
                throw new ApiException(409, "Conflict", $"Operation cannot be fulfilled on pods/binding \"{name}\": pod {name} is already assigned to node \"{bound}\"",
                    ApiException.DetailsFor(new ApiResource("", "v1", "pods/binding", "Binding", true), name));
            if (pod["metadata"]?["deletionTimestamp"] is not null)
                throw new ApiException(409, "Conflict", $"Operation cannot be fulfilled on pods/binding \"{name}\": pod {name} is being deleted");
            Admission.Obj(pod, "spec")["nodeName"] = target;
            var status = Admission.Obj(pod, "status");
            var conditions = status["conditions"] as JsonArray ?? [];
            var scheduled = new JsonObject { ["type"] = "PodScheduled", ["status"] = "True", ["lastProbeTime"] = null, ["lastTransitionTime"] = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture) };
            var copy = new JsonArray();
            foreach (var cond in conditions) if (Admission.Str(cond?["type"]) != "PodScheduled") copy.Add(cond?.DeepClone());
            copy.Add(scheduled);
            status["conditions"] = copy;
            try
            {
                await StoreObject(new StoreProtocol.UpdateObject(c.R.Partition, pod.ToJsonString(), c.DryRun), c.R, name, c.Ct);
                return new(201, ApiStatus.Success(code: 201), c.Warnings);
            }
            catch (ApiException e) when (e.Code == 409 && e.Reason == "Conflict" && attempt < 4)
            {
            }
        }
    }

    private async Task<Result> EvictAsync(Ctx c, string name)
    {
        var eviction = ParseObject(c, "Eviction");
        var pod = await Get(c.R, c.Ns, name, c.Ct);
        await _evictions.CheckAsync(pod, eviction, c.Ct);
        var uid = Admission.Str(eviction["deleteOptions"]?["preconditions"]?["uid"]);
        var rv = Admission.Str(eviction["deleteOptions"]?["preconditions"]?["resourceVersion"]);
        var dry = c.DryRun || (eviction["deleteOptions"]?["dryRun"] is JsonArray dr && dr.Any(x => Admission.Str(x) == "All"));
        var grace = eviction["deleteOptions"] is JsonObject deleteOptions ? GraceOf(deleteOptions) : null;
        await DeleteObject(c, name, new DeleteOpts(null, uid.Length == 0 ? null : uid, rv.Length == 0 ? null : rv, dry, grace));
        return new(201, ApiStatus.Success(code: 201), c.Warnings);
    }

    private async Task<Result> LogAsync(Ctx c, string name)
    {
        var pod = await Get(c.R, c.Ns, name, c.Ct);
        var node = Admission.Str(pod["spec"]?["nodeName"]);
        throw new ApiException(503, "ServiceUnavailable",
            node.Length == 0
                ? $"pod {name} is not scheduled to a node yet; no logs available"
                : $"logs of pod {name} are not available: the kubelet log endpoint on node {node} is not implemented yet");
    }
}
