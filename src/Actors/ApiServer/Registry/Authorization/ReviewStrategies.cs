using System.Text.Json.Nodes;
using AkkaKube.Actors.Machinery;
using AkkaKube.Actors.Security;
using AkkaKube.Actors.Security.Rbac;
using k8s.Models;

namespace AkkaKube.Actors.ApiServer.Registry.Authorization;

/// <summary>
/// A create-only kind that is answered, never stored (Kubernetes' review APIs): the pipeline hands the decoded body,
/// the caller and the authorizer to <see cref="ReviewAsync"/> and returns the object with its status filled in.
/// </summary>
public abstract class ReviewStrategy : ResourceStrategy
{
    /// <summary>k8s.io/api authorization/v1 and authentication/v1 numbering: kubectl sends these bodies as protobuf.</summary>
    private static readonly Dictionary<string, Dictionary<int, Protobuf.F>> Messages = new()
    {
        ["SelfSubjectAccessReview"] = Protobuf.M(ObjectMetaField, new(2, "spec", Protobuf.T.Msg, Msg: "SelfSubjectAccessReviewSpec"), new(3, "status", Protobuf.T.Msg, Msg: "SubjectAccessReviewStatus")),
        ["SelfSubjectAccessReviewSpec"] = Protobuf.M(new Protobuf.F(1, "resourceAttributes", Protobuf.T.Msg, Msg: "ResourceAttributes"), new(2, "nonResourceAttributes", Protobuf.T.Msg, Msg: "NonResourceAttributes")),
        ["ResourceAttributes"] = Protobuf.M(new Protobuf.F(1, "namespace", Protobuf.T.Str), new(2, "verb", Protobuf.T.Str), new(3, "group", Protobuf.T.Str), new(4, "version", Protobuf.T.Str),
            new(5, "resource", Protobuf.T.Str), new(6, "subresource", Protobuf.T.Str), new(7, "name", Protobuf.T.Str)),
        ["NonResourceAttributes"] = Protobuf.M(new Protobuf.F(1, "path", Protobuf.T.Str), new(2, "verb", Protobuf.T.Str)),
        ["SubjectAccessReviewStatus"] = Protobuf.M(new Protobuf.F(1, "allowed", Protobuf.T.Bool, KeepZero: true), new(4, "denied", Protobuf.T.Bool), new(2, "reason", Protobuf.T.Str), new(3, "evaluationError", Protobuf.T.Str)),
        ["SubjectAccessReview"] = Protobuf.M(ObjectMetaField, new(2, "spec", Protobuf.T.Msg, Msg: "SubjectAccessReviewSpec"), new(3, "status", Protobuf.T.Msg, Msg: "SubjectAccessReviewStatus")),
        ["LocalSubjectAccessReview"] = Protobuf.M(ObjectMetaField, new(2, "spec", Protobuf.T.Msg, Msg: "SubjectAccessReviewSpec"), new(3, "status", Protobuf.T.Msg, Msg: "SubjectAccessReviewStatus")),
        ["SubjectAccessReviewSpec"] = Protobuf.M(new Protobuf.F(1, "resourceAttributes", Protobuf.T.Msg, Msg: "ResourceAttributes"), new(2, "nonResourceAttributes", Protobuf.T.Msg, Msg: "NonResourceAttributes"),
            new(3, "user", Protobuf.T.Str), new(4, "groups", Protobuf.T.Str, Repeated: true), new(6, "uid", Protobuf.T.Str)),
        ["SelfSubjectRulesReview"] = Protobuf.M(ObjectMetaField, new(2, "spec", Protobuf.T.Msg, Msg: "SelfSubjectRulesReviewSpec"), new(3, "status", Protobuf.T.Msg, Msg: "SubjectRulesReviewStatus")),
        ["SelfSubjectRulesReviewSpec"] = Protobuf.M(new Protobuf.F(1, "namespace", Protobuf.T.Str)),
        ["SubjectRulesReviewStatus"] = Protobuf.M(new Protobuf.F(1, "resourceRules", Protobuf.T.Msg, Repeated: true, Msg: "ResourceRule"), new(2, "nonResourceRules", Protobuf.T.Msg, Repeated: true, Msg: "NonResourceRule"),
            new(3, "incomplete", Protobuf.T.Bool, KeepZero: true), new(4, "evaluationError", Protobuf.T.Str)),
        ["ResourceRule"] = Protobuf.M(new Protobuf.F(1, "verbs", Protobuf.T.Str, Repeated: true), new(2, "apiGroups", Protobuf.T.Str, Repeated: true), new(3, "resources", Protobuf.T.Str, Repeated: true),
            new(4, "resourceNames", Protobuf.T.Str, Repeated: true)),
        ["NonResourceRule"] = Protobuf.M(new Protobuf.F(1, "verbs", Protobuf.T.Str, Repeated: true), new(2, "nonResourceURLs", Protobuf.T.Str, Repeated: true)),
        ["SelfSubjectReview"] = Protobuf.M(ObjectMetaField, new(2, "status", Protobuf.T.Msg, Msg: "SelfSubjectReviewStatus")),
        ["SelfSubjectReviewStatus"] = Protobuf.M(new Protobuf.F(1, "userInfo", Protobuf.T.Msg, Msg: "UserInfo")),
        ["UserInfo"] = Protobuf.M(new Protobuf.F(1, "username", Protobuf.T.Str), new(2, "uid", Protobuf.T.Str), new(3, "groups", Protobuf.T.Str, Repeated: true)),
    };

    private static Protobuf.F ObjectMetaField => new(1, "metadata", Protobuf.T.Msg, Msg: "ObjectMeta");

    public override IReadOnlyDictionary<string, Dictionary<int, Protobuf.F>> ProtobufMessages => Messages;

    public abstract Task<JsonObject> ReviewAsync(JsonObject review, UserInfo caller, string? ns, RbacAuthorizer authorizer, TimeSpan wait, CancellationToken ct);

    protected static JsonObject Spec(JsonObject review) => review["spec"] as JsonObject ?? throw ApiException.BadRequest("spec is required");

    protected static string S(JsonNode? n) => RbacBinding.Str(n);

    /// <summary>spec.resourceAttributes or spec.nonResourceAttributes as the authorizer's attributes.</summary>
    protected static AuthorizationAttributes Attributes(JsonObject spec, UserInfo user, string? forcedNamespace = null)
    {
        if (spec["resourceAttributes"] is JsonObject r)
        {
            var ns = S(r["namespace"]);
            if (forcedNamespace is not null && ns.Length > 0 && ns != forcedNamespace)
                throw ApiException.BadRequest($"spec.resourceAttributes.namespace must match namespace: {forcedNamespace}");
            return AuthorizationAttributes.ForResource(user, S(r["verb"]), S(r["group"]), S(r["resource"]), S(r["subresource"]), forcedNamespace ?? ns, S(r["name"]),
                FieldSelectorOf(r["fieldSelector"] as JsonObject));
        }
        if (spec["nonResourceAttributes"] is JsonObject n)
            return AuthorizationAttributes.ForPath(user, S(n["verb"]), S(n["path"]));
        throw new ApiException(422, "Invalid", "spec.resourceAttributes: Invalid value: \"null\": exactly one of nonResourceAttributes or resourceAttributes must be specified");
    }

    /// <summary>
    /// resourceAttributes.fieldSelector as selector text: rawSelector, or the requirements (In/NotIn of one value; others
    /// could only narrow the request, so they are left out and the broader question is asked). Both at once is invalid.
    /// </summary>
    private static string? FieldSelectorOf(JsonObject? selector)
    {
        if (selector is null) return null;
        var raw = S(selector["rawSelector"]);
        var requirements = selector["requirements"] as JsonArray;
        if (raw.Length > 0 && requirements is { Count: > 0 })
            throw new ApiException(422, "Invalid", "spec.resourceAttributes.fieldSelector.rawSelector: Invalid value: \"" + raw + "\": may not specified at the same time as requirements");
        if (raw.Length > 0 || requirements is null) return raw;
        var terms = new List<string>();
        foreach (var req in requirements.OfType<JsonObject>())
        {
            var values = (req["values"] as JsonArray)?.Select(S).ToList() ?? [];
            var op = S(req["operator"]) switch { "In" => "=", "NotIn" => "!=", _ => null };
            if (op is not null && values.Count == 1) terms.Add(new FieldRequirement(S(req["key"]), op == "=", values[0]).ToString());
        }
        return string.Join(",", terms);
    }

    protected static async Task<JsonObject> Decide(JsonObject review, AuthorizationAttributes a, RbacAuthorizer authorizer, TimeSpan wait, CancellationToken ct)
    {
        var allowed = await authorizer.AuthorizeAsync(a, wait, ct);
        // as Kubernetes' RBAC authorizer: no reason on a plain "no rule matched" (kubectl prints just "no")
        review["status"] = new JsonObject { ["allowed"] = allowed };
        review["metadata"] ??= new JsonObject();
        review["metadata"]!["creationTimestamp"] = null;
        return review;
    }
}

/// <summary>selfsubjectaccessreviews: may the caller do this? (`kubectl auth can-i VERB RESOURCE`).</summary>
public sealed class SelfSubjectAccessReviewStrategy : ReviewStrategy
{
    public override Type Model => typeof(V1SelfSubjectAccessReview);

    public override Task<JsonObject> ReviewAsync(JsonObject review, UserInfo caller, string? ns, RbacAuthorizer authorizer, TimeSpan wait, CancellationToken ct) =>
        Decide(review, Attributes(Spec(review), caller), authorizer, wait, ct);
}

/// <summary>subjectaccessreviews and localsubjectaccessreviews: may spec.user (with spec.groups) do this?</summary>
public sealed class SubjectAccessReviewStrategy(bool local) : ReviewStrategy
{
    public override Type Model => local ? typeof(V1LocalSubjectAccessReview) : typeof(V1SubjectAccessReview);

    public override Task<JsonObject> ReviewAsync(JsonObject review, UserInfo caller, string? ns, RbacAuthorizer authorizer, TimeSpan wait, CancellationToken ct)
    {
        var spec = Spec(review);
        var user = S(spec["user"]);
        var groups = PolicyRule.Strings(spec["groups"]);
        if (user.Length == 0 && groups.Count == 0)
            throw new ApiException(422, "Invalid", "spec.user: Invalid value: \"\": at least one of user or group must be specified");
        return Decide(review, Attributes(spec, new UserInfo(user, groups, S(spec["uid"])), local ? ns ?? "" : null), authorizer, wait, ct);
    }
}

/// <summary>selfsubjectrulesreviews: everything the caller may do in spec.namespace (`kubectl auth can-i --list`).</summary>
public sealed class SelfSubjectRulesReviewStrategy : ReviewStrategy
{
    public override Type Model => typeof(V1SelfSubjectRulesReview);

    public override async Task<JsonObject> ReviewAsync(JsonObject review, UserInfo caller, string? ns, RbacAuthorizer authorizer, TimeSpan wait, CancellationToken ct)
    {
        var spec = review["spec"] as JsonObject ?? new JsonObject();
        await authorizer.WaitSyncedAsync(wait, ct);
        var rules = authorizer.Policy.RulesFor(caller, S(spec["namespace"]));
        var resourceRules = new JsonArray();
        var nonResourceRules = new JsonArray();
        foreach (var rule in rules)
        {
            if (rule.NonResourceUrls.Count > 0)
                nonResourceRules.Add(new JsonObject { ["verbs"] = Array(rule.Verbs), ["nonResourceURLs"] = Array(rule.NonResourceUrls) });
            else
            {
                var r = new JsonObject { ["verbs"] = Array(rule.Verbs), ["apiGroups"] = Array(rule.ApiGroups), ["resources"] = Array(rule.Resources) };
                if (rule.ResourceNames.Count > 0) r["resourceNames"] = Array(rule.ResourceNames);
                resourceRules.Add(r);
            }
        }
        review["status"] = new JsonObject { ["resourceRules"] = resourceRules, ["nonResourceRules"] = nonResourceRules, ["incomplete"] = false };
        review["metadata"] ??= new JsonObject();
        review["metadata"]!["creationTimestamp"] = null;
        return review;
    }

    private static JsonArray Array(IEnumerable<string> s) => new(s.Select(x => (JsonNode?)JsonValue.Create(x)).ToArray());
}

/// <summary>selfsubjectreviews (authentication.k8s.io): who am I? (`kubectl auth whoami`).</summary>
public sealed class SelfSubjectReviewStrategy : ReviewStrategy
{
    public override Type Model => typeof(V1SelfSubjectReview);

    public override Task<JsonObject> ReviewAsync(JsonObject review, UserInfo caller, string? ns, RbacAuthorizer authorizer, TimeSpan wait, CancellationToken ct)
    {
        var userInfo = new JsonObject
        {
            ["username"] = caller.Name,
            ["groups"] = new JsonArray(caller.Groups.Select(g => (JsonNode?)JsonValue.Create(g)).ToArray()),
        };
        if (caller.Uid.Length > 0) userInfo["uid"] = caller.Uid;
        review["status"] = new JsonObject { ["userInfo"] = userInfo };
        review["metadata"] ??= new JsonObject();
        review["metadata"]!["creationTimestamp"] = null;
        return Task.FromResult(review);
    }
}
