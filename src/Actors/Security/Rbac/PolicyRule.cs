using System.Text.Json.Nodes;

namespace AkkaKube.Actors.Security.Rbac;

/// <summary>
/// What a request asks to do, as Kubernetes' authorizer.Attributes: a resource request (verb, group, resource,
/// subresource, namespace, name; for list, watch and deletecollection also the raw field selector, as Kubernetes 1.32's
/// AuthorizeWithSelectors passes it) or a non-resource request (verb = lower-case method, path).
/// </summary>
public sealed record AuthorizationAttributes(UserInfo User, string Verb, bool IsResourceRequest, string Group = "", string Resource = "",
    string Subresource = "", string Namespace = "", string Name = "", string Path = "", string FieldSelector = "")
{
    public static AuthorizationAttributes ForResource(UserInfo user, string verb, string group, string resource, string? subresource, string? ns, string? name,
        string? fieldSelector = null) =>
        new(user, verb, true, group, resource, subresource ?? "", ns ?? "", name ?? "",
            FieldSelector: verb is "list" or "watch" or "deletecollection" ? fieldSelector ?? "" : "");

    public static AuthorizationAttributes ForPath(UserInfo user, string verb, string path) => new(user, verb, false, Path: path);

    /// <summary>resource or resource/subresource, as rules name it.</summary>
    public string CombinedResource => Subresource.Length == 0 ? Resource : $"{Resource}/{Subresource}";

    /// <summary>Kubernetes' forbidden reason: User "x" cannot list resource "pods" in API group "" in the namespace "y".</summary>
    public string ForbiddenReason()
    {
        if (!IsResourceRequest) return $"User \"{User.Name}\" cannot {Verb} path \"{Path}\"";
        var scope = Namespace.Length > 0 ? $"in the namespace \"{Namespace}\"" : "at the cluster scope";
        return $"User \"{User.Name}\" cannot {Verb} resource \"{CombinedResource}\" in API group \"{Group}\" {scope}";
    }

    /// <summary>The whole 403 message: `pods "p" is forbidden: …` (`forbidden: …` for paths).</summary>
    public string ForbiddenMessage(string? extra = null)
    {
        var reason = ForbiddenReason() + (extra is null ? "" : ": " + extra);
        if (!IsResourceRequest) return "forbidden: " + reason;
        var groupResource = Group.Length == 0 ? Resource : $"{Resource}.{Group}";
        return Name.Length > 0 ? $"{groupResource} \"{Name}\" is forbidden: {reason}" : $"{groupResource} is forbidden: {reason}";
    }
}

/// <summary>One rbac/v1 PolicyRule, parsed once when the informer delivers its role.</summary>
public sealed record PolicyRule(IReadOnlyList<string> Verbs, IReadOnlyList<string> ApiGroups, IReadOnlyList<string> Resources,
    IReadOnlyList<string> ResourceNames, IReadOnlyList<string> NonResourceUrls)
{
    public const string All = "*";

    public static PolicyRule Parse(JsonObject rule) => new(Strings(rule["verbs"]), Strings(rule["apiGroups"]), Strings(rule["resources"]),
        Strings(rule["resourceNames"]), Strings(rule["nonResourceURLs"]));

    public static IReadOnlyList<PolicyRule> ParseAll(JsonNode? rules) =>
        rules is JsonArray a ? a.OfType<JsonObject>().Select(Parse).ToList() : [];

    internal static IReadOnlyList<string> Strings(JsonNode? n) =>
        n is JsonArray a ? a.Select(x => x is JsonValue v && v.TryGetValue<string>(out var s) ? s : null).OfType<string>().ToList() : [];

    public JsonObject ToJson()
    {
        var o = new JsonObject { ["verbs"] = Array(Verbs) };
        if (NonResourceUrls.Count > 0) o["nonResourceURLs"] = Array(NonResourceUrls);
        else
        {
            o["apiGroups"] = Array(ApiGroups);
            o["resources"] = Array(Resources);
            if (ResourceNames.Count > 0) o["resourceNames"] = Array(ResourceNames);
        }
        return o;
    }

    private static JsonArray Array(IEnumerable<string> s) => new(s.Select(x => (JsonNode?)JsonValue.Create(x)).ToArray());

    /// <summary>Whether this rule allows the request (Kubernetes' RuleAllows in plugin/pkg/auth/authorizer/rbac).</summary>
    public bool Allows(AuthorizationAttributes a)
    {
        if (!Has(Verbs, a.Verb)) return false;
        if (!a.IsResourceRequest) return NonResourceUrls.Any(u => UrlMatches(u, a.Path));
        return Has(ApiGroups, a.Group) && ResourceMatches(a) && (ResourceNames.Count == 0 || ResourceNames.Contains(a.Name, StringComparer.Ordinal));
    }

    private bool ResourceMatches(AuthorizationAttributes a)
    {
        var combined = a.CombinedResource;
        foreach (var r in Resources)
        {
            if (r == All || r == combined) return true;
            // "*/status" matches the status subresource of every resource
            if (a.Subresource.Length > 0 && r.StartsWith("*/", StringComparison.Ordinal) && r[2..] == a.Subresource) return true;
        }
        return false;
    }

    /// <summary>"*" every path; "/apis/*" a prefix; anything else exactly.</summary>
    public static bool UrlMatches(string rule, string path) =>
        rule == All || rule == path || (rule.EndsWith('*') && path.StartsWith(rule[..^1], StringComparison.Ordinal));

    private static bool Has(IReadOnlyList<string> values, string value) => values.Contains(All) || values.Contains(value, StringComparer.Ordinal);

    /// <summary>
    /// The rule broken into atomic rules (one verb, group, resource and name each), as Kubernetes' escalation check
    /// does: a grant is covered when every atom is.
    /// </summary>
    public IEnumerable<PolicyRule> Atoms()
    {
        foreach (var verb in Verbs)
        {
            if (NonResourceUrls.Count > 0)
            {
                foreach (var url in NonResourceUrls) yield return new([verb], [], [], [], [url]);
                continue;
            }
            foreach (var group in ApiGroups)
            foreach (var resource in Resources)
                if (ResourceNames.Count == 0) yield return new([verb], [group], [resource], [], []);
                else foreach (var name in ResourceNames) yield return new([verb], [group], [resource], [name], []);
        }
    }

    /// <summary>Whether this (owner) rule grants everything the atomic <paramref name="atom"/> grants (Kubernetes' ruleCovers).</summary>
    public bool Covers(PolicyRule atom)
    {
        if (!Has(Verbs, atom.Verbs[0])) return false;
        if (atom.NonResourceUrls.Count > 0)
            return NonResourceUrls.Any(u => u == All || u == atom.NonResourceUrls[0] ||
                (u.EndsWith('*') && atom.NonResourceUrls[0].StartsWith(u[..^1], StringComparison.Ordinal)));
        if (!Has(ApiGroups, atom.ApiGroups[0])) return false;
        var resource = atom.Resources[0];
        var resourceCovered = Resources.Contains(All) || Resources.Contains(resource, StringComparer.Ordinal) ||
            (resource.Split('/', 2) is [_, var sub] && Resources.Contains("*/" + sub, StringComparer.Ordinal));
        if (!resourceCovered) return false;
        return ResourceNames.Count == 0 || (atom.ResourceNames.Count == 1 && ResourceNames.Contains(atom.ResourceNames[0], StringComparer.Ordinal));
    }
}
