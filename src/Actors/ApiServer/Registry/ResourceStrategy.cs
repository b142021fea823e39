using System.Text.Json.Nodes;
using Akka.Actor;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.ApiServer.Registry;

/// <summary>
/// Everything the apiserver knows about one kind, in one place (Kubernetes' pkg/registry/&lt;group&gt;/&lt;kind&gt;/strategy.go):
/// defaulting, validation (create, update, status), Table columns, strategic-merge keys, the typed model used for
/// field validation, protobuf messages, deletion grace and subresource hooks. The request pipeline and the HTTP
/// front call these members and know no kind by name. The base class is a kind with no special rules: a new
/// kind overrides only what differs.
/// </summary>
public class ResourceStrategy
{
    /// <summary>A kind with no special rules (metadata validation, Name/Age columns, generic merge keys).</summary>
    public static readonly ResourceStrategy Plain = new();

    /// <summary>The KubernetesClient model of the kind: decoding it finds wrong JSON types (400) and unknown fields.</summary>
    public virtual Type? Model => null;

    /// <summary>
    /// The paths of fields the kind does not know (fieldValidation Strict → 400, Warn → warnings; they are pruned).
    /// Built-in kinds decode with their <see cref="Model"/>; custom resources prune with their schema.
    /// </summary>
    public virtual List<string> UnknownFields(JsonObject obj, string kind) => TypedFields.UnknownFields(Model, kind, obj);

    /// <summary>The kind's object schema for the OpenAPI documents when it has no <see cref="Model"/> (custom resources).</summary>
    public virtual JsonObject? OpenApiSchema => null;

    /// <summary>
    /// False for kinds without strategic-merge metadata (custom resources): such a patch is 415, as Kubernetes answers.
    /// </summary>
    public virtual bool StrategicMergePatch => true;

    /// <summary>
    /// Converts an object of this resource's version to the version its partition stores (several versions of a
    /// kind share one partition, e.g. autoscaling/v1 and v2 HorizontalPodAutoscalers). The default stores as is.
    /// </summary>
    public virtual JsonObject ToStorage(JsonObject obj) => obj;

    /// <summary>Converts a stored object to this resource's version (the inverse of <see cref="ToStorage"/>).</summary>
    public virtual JsonObject FromStorage(JsonObject stored) => stored;

    /// <summary>True when <see cref="FromStorage"/> is not overridden: the stored text is this resource's own form.</summary>
    public bool ServesStorageVersion => _servesStorageVersion ??=
        GetType().GetMethod(nameof(FromStorage), [typeof(JsonObject)])!.DeclaringType == typeof(ResourceStrategy);

    private bool? _servesStorageVersion;

    /// <summary>Why creating objects is refused right now (a CustomResourceDefinition being deleted), or null.</summary>
    public virtual string? CreateRefusal => null;

    /// <summary>metadata.name must be a DNS-1123 label (Namespace, Service) rather than a subdomain.</summary>
    public virtual bool NameIsDnsLabel => false;

    /// <summary>metadata.name only needs to be a valid path segment (RBAC kinds: system:discovery…).</summary>
    public virtual bool NameIsPathSegment => false;

    /// <summary>Defaulting, run on create and on every update (Kubernetes' SetDefaults_* functions).</summary>
    public virtual void Default(JsonObject obj) { }

    /// <summary>Create-only preparation after defaulting (admission plug-ins that mutate new objects, status reset).</summary>
    public virtual void PrepareForCreate(JsonObject obj, AdmissionContext context) { }

    /// <summary>Validation of a new object's kind-specific fields (metadata is validated by the pipeline).</summary>
    public virtual IEnumerable<StatusCause> Validate(JsonObject obj) => [];

    /// <summary>Validation of an update of the main resource (immutable fields…); <see cref="Validate"/> runs too.</summary>
    public virtual IEnumerable<StatusCause> ValidateUpdate(JsonObject obj, JsonObject old) => [];

    /// <summary>Validation of a write to the status subresource; <see cref="Validate"/> runs too.</summary>
    public virtual IEnumerable<StatusCause> ValidateStatusUpdate(JsonObject obj, JsonObject old) => [];

    /// <summary>
    /// Every validation the pipeline runs for a write: object metadata, <see cref="Validate"/>, and for an update
    /// <see cref="ValidateUpdate"/> (main resource) or <see cref="ValidateStatusUpdate"/> (status subresource).
    /// </summary>
    public List<StatusCause> ValidateWrite(JsonObject obj, JsonObject? old, bool statusUpdate = false, IPartialSubresource? partial = null)
    {
        var causes = Validation.ObjectMeta(obj, NameIsDnsLabel, NameIsPathSegment).Concat(Validate(obj)).ToList();
        if (old is not null)
            causes.AddRange(partial is not null ? partial.ValidateUpdate(obj, old) : statusUpdate ? ValidateStatusUpdate(obj, old) : ValidateUpdate(obj, old));
        return causes;
    }

    /// <summary>Admission that needs the cluster (allocations, lookups); returns the object to store.</summary>
    public virtual Task<JsonObject> AdmitAsync(AdmissionContext context, JsonObject obj, JsonObject? old) => Task.FromResult(obj);

    /// <summary>The server-side printing columns (kubectl get): Name and Age unless the kind says otherwise.</summary>
    public virtual IReadOnlyList<TableColumn> Columns => TableColumn.NameAge;

    /// <summary>
    /// The fields a fieldSelector may name (Kubernetes' per-kind field labels); any other is a 400 "field label not
    /// supported". Every kind has metadata.name and metadata.namespace.
    /// </summary>
    public virtual IReadOnlyCollection<string> FieldLabels => FieldLabelSets.Metadata;

    /// <summary>Field labels that are not the object's own path (events' <c>source</c> is <c>source.component</c>).</summary>
    public virtual IReadOnlyDictionary<string, string> FieldLabelPaths => FieldLabelSets.NoAliases;

    /// <summary>
    /// The merge key of the list at <paramref name="path"/> (the patchMergeKey struct tags of k8s.io/api), or null
    /// when the list is atomic. The base knows the keys shared by every kind embedding a pod template or metadata.
    /// </summary>
    public virtual string? MergeKey(IReadOnlyList<string> path) => MergeKeys.Common(path);

    /// <summary>The protobuf messages of the kind (by message name), for the bodies kubectl sends as protobuf.</summary>
    public virtual IReadOnlyDictionary<string, Dictionary<int, Protobuf.F>> ProtobufMessages => Protobuf.NoMessages;

    /// <summary>Where the scale subresource reads and writes (spec.replicas, status.replicas, spec.selector).</summary>
    public virtual ScalePaths Scale => ScalePaths.Default;

    /// <summary>Seconds a delete leaves the object Terminating (0 = delete at once); pods override.</summary>
    public virtual long DeletionGracePeriod(JsonObject old, long? requested) => 0;

    /// <summary>Subresources served by a hook instead of the generic status/scale handling (pods: binding, eviction).</summary>
    public virtual IReadOnlyDictionary<string, ISubresourceHook> Hooks => NoHooks;

    /// <summary>Subresources streamed by the HTTP front itself (pods/log, pods/exec).</summary>
    public virtual IReadOnlyDictionary<string, IHttpSubresource> HttpSubresources => NoHttp;

    private static readonly IReadOnlyDictionary<string, IHttpSubresource> NoHttp = new Dictionary<string, IHttpSubresource>();

    /// <summary>Subresources that write one part of the object (pods/ephemeralcontainers): get, update and patch.</summary>
    public virtual IReadOnlyDictionary<string, IPartialSubresource> PartialSubresources => NoPartial;

    private static readonly IReadOnlyDictionary<string, IPartialSubresource> NoPartial = new Dictionary<string, IPartialSubresource>();

    private static readonly IReadOnlyDictionary<string, ISubresourceHook> NoHooks = new Dictionary<string, ISubresourceHook>();
}

/// <summary>What admission may use besides the object: settings, the store, the service allocator, dry-run.</summary>
public sealed record AdmissionContext(ApiServerSettings Settings, IActorRef Store, Func<IActorRef?> ServiceAllocator, bool DryRun, CancellationToken Ct)
{
    /// <summary>Who writes (null: an unnamed in-cluster component); RBAC writes are checked against what this user holds.</summary>
    public Security.UserInfo? User { get; init; }
    public Security.Rbac.RbacAuthorizer? Authorizer { get; init; }
}

/// <summary>
/// A subresource implemented by its kind (pods/binding, pods/eviction): the pipeline resolves the resource and
/// the verb, then hands the request over. <see cref="Verb"/> is the one verb served.
/// </summary>
public interface ISubresourceHook
{
    string Verb { get; }

    Task<(int Code, JsonNode Body)> HandleAsync(ApiPipeline.RequestScope scope, string name);
}

/// <summary>A subresource the HTTP front streams itself: it needs the response (or the connection), not a JSON answer.</summary>
public interface IHttpSubresource
{
    /// <summary>The verbs it serves (GET = get; POST = create, as for exec's SPDY and WebSocket requests).</summary>
    IReadOnlyCollection<string> Verbs => ["get"];

    Task ServeAsync(Microsoft.AspNetCore.Http.HttpContext ctx, ActorSystem system, string ns, string name, IReadOnlyDictionary<string, string> query);
}

/// <summary>The strategic-merge keys shared by every kind (k8s.io/api v0.32 patchMergeKey tags).</summary>
public static class MergeKeys
{
    public static string? Common(IReadOnlyList<string> path) => path[^1] switch
    {
        "containers" or "initContainers" or "ephemeralContainers" or "imagePullSecrets" or "volumes" or "env" => "name",
        "ports" when path.Contains("containers") || path.Contains("initContainers") || path.Contains("ephemeralContainers") => "containerPort",
        "volumeMounts" => "mountPath",
        "volumeDevices" => "devicePath",
        "hostAliases" => "ip",
        "conditions" or "addresses" => "type",
        "ownerReferences" => "uid",
        _ => null,
    };
}

/// <summary>The field labels Kubernetes supports per kind (pkg/registry/*/strategy.go, GetAttrs / fieldLabelConversionFuncs).</summary>
public static class FieldLabelSets
{
    public static readonly IReadOnlyCollection<string> Metadata = ["metadata.name", "metadata.namespace"];

    public static IReadOnlyCollection<string> With(params string[] fields) => [.. Metadata, .. fields];

    public static readonly IReadOnlyCollection<string> Pod = With("spec.nodeName", "spec.restartPolicy", "spec.schedulerName",
        "spec.serviceAccountName", "spec.hostNetwork", "status.phase", "status.podIP", "status.podIPs", "status.nominatedNodeName");

    public static readonly IReadOnlyCollection<string> Event = With("involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
        "involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath",
        "reason", "reportingComponent", "source", "type");

    public static readonly IReadOnlyDictionary<string, string> NoAliases = new Dictionary<string, string>();

    /// <summary>Kubernetes' event field label that names another path (pkg/registry/core/event ToSelectableFields).</summary>
    public static readonly IReadOnlyDictionary<string, string> EventAliases = new Dictionary<string, string> { ["source"] = "source.component" };
}

/// <summary>
/// A subresource that writes one part of its object (pods/ephemeralcontainers), as Kubernetes' subresource strategies do:
/// GET answers the whole object; an update or patch keeps everything stored but that part (<see cref="Merge"/>), then
/// the kind's validation and <see cref="ValidateUpdate"/> run instead of the main resource's update rules.
/// </summary>
public interface IPartialSubresource
{
    /// <summary>The object to store: <paramref name="stored"/> with this subresource's part taken from <paramref name="sent"/>.</summary>
    JsonObject Merge(JsonObject stored, JsonObject sent);

    /// <summary>What an update through this subresource may not do (remove or change what is there).</summary>
    IEnumerable<StatusCause> ValidateUpdate(JsonObject obj, JsonObject old);
}
