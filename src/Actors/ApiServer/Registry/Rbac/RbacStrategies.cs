using System.Text.Json.Nodes;
using AkkaKube.Actors.Machinery;
using AkkaKube.Actors.Security.Rbac;
using k8s.Models;
using static AkkaKube.Actors.ApiServer.Registry.Validation;

namespace AkkaKube.Actors.ApiServer.Registry.Rbac;

/// <summary>
/// roles and clusterroles (rbac.authorization.k8s.io/v1): every rule names verbs; a Role's rules name resources
/// (nonResourceURLs only in ClusterRoles); clusterroles may carry an aggregationRule. Enforced by the RBAC authorizer
/// (Security/Rbac); a write that grants more than the writer holds is refused (escalation prevention).
/// </summary>
public sealed class RoleStrategy(bool cluster) : ResourceStrategy
{
    public override Type Model => cluster ? typeof(V1ClusterRole) : typeof(V1Role);
    public override bool NameIsPathSegment => true;

    public override async Task<JsonObject> AdmitAsync(AdmissionContext context, JsonObject obj, JsonObject? old)
    {
        if (context is { User: { } user, Authorizer: { } authorizer })
            await EscalationCheck.RoleAsync(authorizer, user, cluster ? "clusterroles" : "roles", cluster ? "" : Meta.Field(obj, "namespace") ?? "",
                Meta.Field(obj, "name") ?? "", PolicyRule.ParseAll(obj["rules"]), context.Settings.StoreTimeout, context.Ct);
        return obj;
    }

    public override IEnumerable<StatusCause> Validate(JsonObject obj)
    {
        if (obj["rules"] is not JsonArray rules) yield break;
        for (var i = 0; i < rules.Count; i++)
        {
            var rule = rules[i] as JsonObject ?? new JsonObject();
            if (rule["verbs"] is not JsonArray { Count: > 0 }) yield return Required($"rules[{i}].verbs", "Required value: verbs must contain at least one value");
            var urls = rule["nonResourceURLs"] is JsonArray { Count: > 0 };
            if (urls && !cluster) yield return Invalid($"rules[{i}].nonResourceURLs", "", "namespaced rules cannot apply to non-resource URLs");
            if (!urls && rule["resources"] is not JsonArray { Count: > 0 }) yield return Required($"rules[{i}].resources", "Required value: resource rules must supply at least one resource");
            if (!urls && rule["apiGroups"] is not JsonArray { Count: > 0 }) yield return Required($"rules[{i}].apiGroups", "Required value: resource rules must supply at least one api group");
        }
    }

    public override IReadOnlyList<TableColumn> Columns { get; } =
        [TableColumn.NameColumn, TableColumn.Of("Created At", o => Cells.S(o["metadata"]?["creationTimestamp"]), type: "date")];

    /// <summary>`kubectl create role|clusterrole` sends protobuf (k8s.io/api rbac/v1 numbering).</summary>
    public override IReadOnlyDictionary<string, Dictionary<int, Protobuf.F>> ProtobufMessages { get; } = new Dictionary<string, Dictionary<int, Protobuf.F>>
    {
        [cluster ? "ClusterRole" : "Role"] = Protobuf.M(
            [new(1, "metadata", Protobuf.T.Msg, Msg: "ObjectMeta"), new(2, "rules", Protobuf.T.Msg, Repeated: true, Msg: "PolicyRule"),
             .. cluster ? [new Protobuf.F(3, "aggregationRule", Protobuf.T.Msg, Msg: "AggregationRule")] : Array.Empty<Protobuf.F>()]),
        ["PolicyRule"] = Protobuf.M(
            new Protobuf.F(1, "verbs", Protobuf.T.Str, Repeated: true), new(2, "apiGroups", Protobuf.T.Str, Repeated: true),
            new(3, "resources", Protobuf.T.Str, Repeated: true), new(4, "resourceNames", Protobuf.T.Str, Repeated: true),
            new(5, "nonResourceURLs", Protobuf.T.Str, Repeated: true)),
        ["AggregationRule"] = Protobuf.M(new Protobuf.F(1, "clusterRoleSelectors", Protobuf.T.Msg, Repeated: true, Msg: "LabelSelector")),
    };
}

/// <summary>rolebindings and clusterrolebindings: roleRef (Role or ClusterRole, immutable) and subjects (ServiceAccount, User, Group).</summary>
public sealed class RoleBindingStrategy(bool cluster) : ResourceStrategy
{
    public override Type Model => cluster ? typeof(V1ClusterRoleBinding) : typeof(V1RoleBinding);
    public override bool NameIsPathSegment => true;

    public override async Task<JsonObject> AdmitAsync(AdmissionContext context, JsonObject obj, JsonObject? old)
    {
        if (context is { User: { } user, Authorizer: { } authorizer })
            await EscalationCheck.BindingAsync(authorizer, user, cluster ? "clusterrolebindings" : "rolebindings", cluster ? "" : Meta.Field(obj, "namespace") ?? "",
                Meta.Field(obj, "name") ?? "", Meta.Str(obj["roleRef"]?["kind"]), Meta.Str(obj["roleRef"]?["name"]), context.Settings.StoreTimeout, context.Ct);
        return obj;
    }

    public override IEnumerable<StatusCause> Validate(JsonObject obj)
    {
        var roleRef = obj["roleRef"] as JsonObject;
        if (roleRef is null) yield return Required("roleRef");
        var kind = Meta.Str(roleRef?["kind"]);
        var allowed = cluster ? new[] { "ClusterRole" } : ["Role", "ClusterRole"];
        if (roleRef is not null && !allowed.Contains(kind)) yield return NotSupported("roleRef.kind", kind, allowed);
        if (roleRef is not null && Meta.Str(roleRef["apiGroup"]) != "rbac.authorization.k8s.io")
            yield return NotSupported("roleRef.apiGroup", Meta.Str(roleRef["apiGroup"]), "rbac.authorization.k8s.io");
        if (roleRef is not null && Meta.Str(roleRef["name"]).Length == 0) yield return Required("roleRef.name");
        if (obj["subjects"] is JsonArray subjects)
            for (var i = 0; i < subjects.Count; i++)
            {
                var s = subjects[i] as JsonObject ?? new JsonObject();
                var sk = Meta.Str(s["kind"]);
                if (sk is not ("ServiceAccount" or "User" or "Group")) yield return NotSupported($"subjects[{i}].kind", sk, "ServiceAccount", "User", "Group");
                if (Meta.Str(s["name"]).Length == 0) yield return Required($"subjects[{i}].name");
                if (sk == "ServiceAccount" && cluster && Meta.Str(s["namespace"]).Length == 0) yield return Required($"subjects[{i}].namespace");
            }
    }

    public override void Default(JsonObject obj)
    {
        if (obj["subjects"] is not JsonArray subjects) return;
        foreach (var s in subjects.OfType<JsonObject>())
            if (Meta.Str(s["kind"]) is "User" or "Group") s["apiGroup"] ??= "rbac.authorization.k8s.io";
            else if (Meta.Str(s["kind"]) == "ServiceAccount") s["apiGroup"] ??= "";
    }

    public override IEnumerable<StatusCause> ValidateUpdate(JsonObject obj, JsonObject old)
    {
        if (!JsonNode.DeepEquals(old["roleRef"], obj["roleRef"]))
            yield return Invalid("roleRef", Meta.Str(obj["roleRef"]?["name"]), "cannot change roleRef");
    }

    private static string Subjects(JsonObject o, string kind) => o["subjects"] is JsonArray a
        ? string.Join(", ", a.OfType<JsonObject>().Where(s => Meta.Str(s["kind"]) == kind)
            .Select(s => kind == "ServiceAccount" ? $"{Meta.Str(s["namespace"])}/{Meta.Str(s["name"])}" : Meta.Str(s["name"])))
        : "";

    public override IReadOnlyList<TableColumn> Columns { get; } =
    [
        TableColumn.NameColumn,
        TableColumn.Of("Role", o => $"{Cells.S(o["roleRef"]?["kind"])}/{Cells.S(o["roleRef"]?["name"])}"),
        TableColumn.AgeColumn,
        TableColumn.Of("Users", o => Subjects(o, "User"), 1),
        TableColumn.Of("Groups", o => Subjects(o, "Group"), 1),
        TableColumn.Of("ServiceAccounts", o => Subjects(o, "ServiceAccount"), 1),
    ];

    /// <summary>`kubectl create rolebinding|clusterrolebinding` sends protobuf (k8s.io/api rbac/v1 numbering).</summary>
    public override IReadOnlyDictionary<string, Dictionary<int, Protobuf.F>> ProtobufMessages { get; } = new Dictionary<string, Dictionary<int, Protobuf.F>>
    {
        [cluster ? "ClusterRoleBinding" : "RoleBinding"] = Protobuf.M(
            new Protobuf.F(1, "metadata", Protobuf.T.Msg, Msg: "ObjectMeta"), new(2, "subjects", Protobuf.T.Msg, Repeated: true, Msg: "Subject"),
            new(3, "roleRef", Protobuf.T.Msg, Msg: "RoleRef")),
        ["Subject"] = Protobuf.M(new Protobuf.F(1, "kind", Protobuf.T.Str), new(2, "apiGroup", Protobuf.T.Str), new(3, "name", Protobuf.T.Str), new(4, "namespace", Protobuf.T.Str)),
        ["RoleRef"] = Protobuf.M(new Protobuf.F(1, "apiGroup", Protobuf.T.Str), new(2, "kind", Protobuf.T.Str), new(3, "name", Protobuf.T.Str)),
    };
}
