using System.Text.Json.Nodes;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.ApiServer.Audit;

/// <summary>How much of a request an audit event records (audit.k8s.io/v1 Level), in increasing order.</summary>
public enum AuditLevel { None, Metadata, Request, RequestResponse }

/// <summary>The request attributes an audit rule matches on (Kubernetes' authorizer.Attributes as the policy checker reads them).</summary>
public sealed record AuditAttributes(string User, IReadOnlyList<string> Groups, string Verb, bool IsResourceRequest,
    string ApiGroup, string Resource, string? Subresource, string? Namespace, string? Name, string Path);

/// <summary>A group's resources in a rule: resources may be "*", "res/sub", "*/sub" or "res/*"; resourceNames narrow them.</summary>
public sealed record AuditGroupResources(string Group, IReadOnlyList<string> Resources, IReadOnlyList<string> ResourceNames);

/// <summary>One rule of a policy (audit.k8s.io/v1 PolicyRule): every list given must match; an empty list matches anything.</summary>
public sealed record AuditRule(AuditLevel Level, IReadOnlyList<string> Users, IReadOnlyList<string> UserGroups, IReadOnlyList<string> Verbs,
    IReadOnlyList<AuditGroupResources> Resources, IReadOnlyList<string> Namespaces, IReadOnlyList<string> NonResourceUrls, IReadOnlyList<string>? OmitStages)
{
    /// <summary>Kubernetes' ruleMatches: users, groups, verbs, then resources/namespaces (resource requests) or nonResourceURLs.</summary>
    public bool Matches(AuditAttributes a)
    {
        if (Users.Count > 0 && !Users.Contains(a.User)) return false;
        if (UserGroups.Count > 0 && !a.Groups.Any(UserGroups.Contains)) return false;
        if (Verbs.Count > 0 && !Verbs.Contains(a.Verb)) return false;
        if (Namespaces.Count > 0 || Resources.Count > 0) return MatchesResource(a);
        if (NonResourceUrls.Count > 0) return !a.IsResourceRequest && NonResourceUrls.Any(spec => PathMatches(a.Path, spec));
        return true;
    }

    private bool MatchesResource(AuditAttributes a)
    {
        if (!a.IsResourceRequest) return false;
        // cluster-scoped resources have the empty namespace
        if (Namespaces.Count > 0 && !Namespaces.Contains(a.Namespace ?? "")) return false;
        if (Resources.Count == 0) return true;
        var combined = a.Subresource is { Length: > 0 } sub ? $"{a.Resource}/{sub}" : a.Resource;
        foreach (var gr in Resources.Where(gr => gr.Group == a.ApiGroup))
        {
            if (gr.Resources.Count == 0) return true;
            if (gr.ResourceNames.Count > 0 && !gr.ResourceNames.Contains(a.Name ?? "")) continue;
            foreach (var res in gr.Resources)
            {
                if (res == combined || res == "*") return true;
                if (a.Subresource is { Length: > 0 } s && res.StartsWith("*/", StringComparison.Ordinal) && res[2..] == s) return true;
                if (res.EndsWith("/*", StringComparison.Ordinal) && res[..^2] == a.Resource) return true;
            }
        }
        return false;
    }

    private static bool PathMatches(string path, string spec) =>
        spec == "*" || spec == path || (spec.EndsWith('*') && path.StartsWith(spec.TrimEnd('*'), StringComparison.Ordinal));
}

/// <summary>Thrown for a policy file that is not a valid audit.k8s.io/v1 Policy; the message names the field.</summary>
public sealed class AuditPolicyException(string message) : Exception(message);

/// <summary>
/// kube-apiserver's audit policy (--audit-policy-file, audit.k8s.io/v1 Policy, YAML or JSON): the first rule that matches
/// a request decides its level; no match is None. omitStages (the policy's and the rule's) drop stages; AkkaKube writes
/// the ResponseComplete stage, so omitting it drops the event.
/// </summary>
public sealed class AuditPolicy(IReadOnlyList<AuditRule> rules, IReadOnlyList<string> omitStages)
{
    public const string ResponseComplete = "ResponseComplete";
    private static readonly string[] Stages = ["RequestReceived", "ResponseStarted", ResponseComplete, "Panic"];

    public IReadOnlyList<AuditRule> Rules { get; } = rules;
    public IReadOnlyList<string> OmitStages { get; } = omitStages;

    /// <summary>The level of a request, and whether its ResponseComplete stage is written at all.</summary>
    public AuditLevel LevelOf(AuditAttributes a)
    {
        foreach (var rule in Rules)
        {
            if (!rule.Matches(a)) continue;
            if (OmitStages.Contains(ResponseComplete) || rule.OmitStages?.Contains(ResponseComplete) == true) return AuditLevel.None;
            return rule.Level;
        }
        return AuditLevel.None;
    }

    public static AuditPolicy Load(string file)
    {
        string text;
        try { text = File.ReadAllText(file); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new AuditPolicyException($"cannot read {file}: {e.Message}"); }
        return Parse(text);
    }

    public static AuditPolicy Parse(string text)
    {
        JsonNode? root;
        try { root = YamlJson.Parse(text); }
        catch (ApiException e) { throw new AuditPolicyException($"not a YAML or JSON document: {e.Message}"); }
        if (root is not JsonObject policy) throw new AuditPolicyException("the policy must be an object");
        if (Meta.Str(policy["apiVersion"]) is var v && v is not ("audit.k8s.io/v1" or "audit.k8s.io/v1beta1"))
            throw new AuditPolicyException($"apiVersion: Unsupported value: \"{v}\": supported values: \"audit.k8s.io/v1\"");
        if (Meta.Str(policy["kind"]) != "Policy") throw new AuditPolicyException($"kind: Unsupported value: \"{Meta.Str(policy["kind"])}\": supported values: \"Policy\"");
        var omit = Strings(policy, "omitStages", "omitStages");
        foreach (var s in omit) CheckStage(s, "omitStages");
        var rules = new List<AuditRule>();
        var i = 0;
        foreach (var r in policy["rules"] as JsonArray ?? [])
        {
            var at = $"rules[{i++}]";
            if (r is not JsonObject rule) throw new AuditPolicyException($"{at}: must be an object");
            var levelText = Meta.Str(rule["level"]);
            if (!Enum.TryParse<AuditLevel>(levelText, ignoreCase: false, out var level) || !Enum.IsDefined(level) || levelText.Any(char.IsDigit))
                throw new AuditPolicyException($"{at}.level: Unsupported value: \"{levelText}\": supported values: \"None\", \"Metadata\", \"Request\", \"RequestResponse\"");
            var resources = new List<AuditGroupResources>();
            var j = 0;
            foreach (var g in rule["resources"] as JsonArray ?? [])
            {
                var gAt = $"{at}.resources[{j++}]";
                if (g is not JsonObject gr) throw new AuditPolicyException($"{gAt}: must be an object");
                var names = Strings(gr, "resourceNames", gAt + ".resourceNames");
                var res = Strings(gr, "resources", gAt + ".resources");
                if (names.Count > 0 && res.Any(x => x == "*" || x.Contains('/')))
                    throw new AuditPolicyException($"{gAt}.resourceNames: Invalid value: resourceNames require resource names without wildcards or subresources");
                resources.Add(new AuditGroupResources(Meta.Str(gr["group"]), res, names));
            }
            var nonResource = Strings(rule, "nonResourceURLs", at + ".nonResourceURLs");
            if (nonResource.Count > 0 && (resources.Count > 0 || rule["namespaces"] is JsonArray { Count: > 0 }))
                throw new AuditPolicyException($"{at}.nonResourceURLs: Invalid value: rules cannot apply to both regular resources and non-resource URLs");
            var ruleOmit = rule["omitStages"] is null ? null : Strings(rule, "omitStages", at + ".omitStages");
            foreach (var s in ruleOmit ?? []) CheckStage(s, at + ".omitStages");
            rules.Add(new AuditRule(level, Strings(rule, "users", at + ".users"), Strings(rule, "userGroups", at + ".userGroups"), Strings(rule, "verbs", at + ".verbs"),
                resources, Strings(rule, "namespaces", at + ".namespaces"), nonResource, ruleOmit));
        }
        return new AuditPolicy(rules, omit);
    }

    private static void CheckStage(string stage, string at)
    {
        if (!Stages.Contains(stage))
            throw new AuditPolicyException($"{at}: Unsupported value: \"{stage}\": supported values: {string.Join(", ", Stages.Select(s => $"\"{s}\""))}");
    }

    private static List<string> Strings(JsonObject obj, string key, string at) => obj[key] switch
    {
        null => [],
        JsonArray a => a.Select(x => x is JsonValue v && v.TryGetValue<string>(out var s) ? s : throw new AuditPolicyException($"{at}: must be a list of strings")).ToList(),
        _ => throw new AuditPolicyException($"{at}: must be a list of strings"),
    };
}
