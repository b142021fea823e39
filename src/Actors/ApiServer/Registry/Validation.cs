using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.ApiServer.Registry;

/// <summary>
/// Field errors (a 422 Status's causes) and the validation rules shared by kinds (Kubernetes'
/// apimachinery/pkg/util/validation and pkg/apis/core/validation): names, labels, object metadata, pod specs.
/// </summary>
public static partial class Validation
{
    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")]
    private static partial Regex Dns1123LabelRegex();

    [GeneratedRegex(@"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")]
    private static partial Regex Dns1123SubdomainRegex();

    [GeneratedRegex("^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")]
    private static partial Regex QualifiedNameRegex();

    [GeneratedRegex(@"^[-._a-zA-Z0-9]+$")]
    private static partial Regex ConfigMapKeyRegex();

    public static bool IsDns1123Label(string s) => s.Length <= 63 && Dns1123LabelRegex().IsMatch(s);
    public static bool IsDns1123Subdomain(string s) => s.Length <= 253 && Dns1123SubdomainRegex().IsMatch(s);
    public static bool IsConfigMapKey(string s) => s.Length <= 253 && ConfigMapKeyRegex().IsMatch(s);

    public const string LabelMsg = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
    public const string SubdomainMsg = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
    public const string ConfigKeyMsg = "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')";

    // ---------------- field errors ----------------

    public static StatusCause Required(string field, string message = "Required value") => new("FieldValueRequired", message, field);

    /// <summary>A string value, printed quoted as Kubernetes does.</summary>
    public static StatusCause Invalid(string field, string value, string message) =>
        new("FieldValueInvalid", $"Invalid value: \"{value}\": {message}", field);

    /// <summary>A non-string value, printed unquoted as Kubernetes does (numbers, maps).</summary>
    public static StatusCause InvalidRaw(string field, string value, string message) =>
        new("FieldValueInvalid", $"Invalid value: {value}: {message}", field);

    public static StatusCause NotSupported(string field, string value, params string[] supported) =>
        new("FieldValueNotSupported", $"Unsupported value: \"{value}\": supported values: {string.Join(", ", supported.Select(s => $"\"{s}\""))}", field);

    public static StatusCause Forbidden(string field, string message) => new("FieldValueForbidden", $"Forbidden: {message}", field);

    public static StatusCause Duplicate(string field, string value) => new("FieldValueDuplicate", $"Duplicate value: \"{value}\"", field);

    public static StatusCause Immutable(string field, JsonNode? value) =>
        InvalidRaw(field, value?.ToJsonString() ?? "null", "field is immutable");

    // ---------------- object metadata ----------------

    /// <summary>metadata.name (label or subdomain) and metadata.labels.</summary>
    public static IEnumerable<StatusCause> ObjectMeta(JsonObject obj, bool nameIsLabel, bool nameIsPathSegment = false)
    {
        var meta = obj["metadata"] as JsonObject ?? new JsonObject();
        var name = Meta.Str(meta["name"]);
        var causes = new List<StatusCause>();
        if (string.IsNullOrEmpty(name))
            causes.Add(Required("metadata.name", "name or generateName is required"));
        else if (nameIsPathSegment)
        {
            // RBAC names (system:discovery…) only need to be a valid path segment (Kubernetes' path.IsValidPathSegmentName)
            if (name is "." or ".." || name.Contains('/') || name.Contains('%'))
                causes.Add(Invalid("metadata.name", name, name is "." or ".." ? $"may not be '{name}'" : "may not contain '/' or '%'"));
        }
        else if (nameIsLabel ? !IsDns1123Label(name) : !IsDns1123Subdomain(name))
            causes.Add(Invalid("metadata.name", name, nameIsLabel ? LabelMsg : SubdomainMsg));
        Labels(meta["labels"] as JsonObject, "metadata.labels", causes);
        return causes;
    }

    public static void Labels(JsonObject? labels, string field, List<StatusCause> causes)
    {
        if (labels is null) return;
        foreach (var (k, v) in labels)
        {
            var slash = k.IndexOf('/');
            var prefix = slash >= 0 ? k[..slash] : null;
            var nm = slash >= 0 ? k[(slash + 1)..] : k;
            if ((prefix is not null && !IsDns1123Subdomain(prefix)) || nm.Length is 0 or > 63 || !QualifiedNameRegex().IsMatch(nm))
                causes.Add(Invalid(field, k, "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"));
            var value = v is JsonValue jv && jv.TryGetValue<string>(out var s) ? s : null;
            if (value is null || (value.Length > 0 && (value.Length > 63 || !QualifiedNameRegex().IsMatch(value))))
                causes.Add(Invalid(field, value ?? v?.ToJsonString() ?? "null", "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"));
        }
    }

    // ---------------- shared kind rules ----------------

    /// <summary>An integer field that must be ≥ 0 when set.</summary>
    public static void NonNegative(JsonNode? value, string field, List<StatusCause> causes)
    {
        if (value is JsonValue v && v.TryGetValue<long>(out var n) && n < 0)
            causes.Add(InvalidRaw(field, n.ToString(CultureInfo.InvariantCulture), "must be greater than or equal to 0"));
    }

    /// <summary>A pod spec (containers, names, images, ports, restartPolicy) at <paramref name="field"/>.</summary>
    public static void PodSpec(JsonObject? spec, string field, List<StatusCause> causes)
    {
        if (spec?["containers"] is not JsonArray containers || containers.Count == 0)
        {
            causes.Add(Required($"{field}.containers"));
            return;
        }
        var names = new HashSet<string>();
        for (var i = 0; i < containers.Count; i++)
        {
            var c = containers[i] as JsonObject ?? new JsonObject();
            var cname = Meta.Str(c["name"]);
            var path = $"{field}.containers[{i}]";
            if (cname.Length == 0) causes.Add(Required($"{path}.name"));
            else if (!IsDns1123Label(cname)) causes.Add(Invalid($"{path}.name", cname, LabelMsg));
            else if (!names.Add(cname)) causes.Add(Duplicate($"{path}.name", cname));
            if (Meta.Str(c["image"]).Trim().Length == 0) causes.Add(Required($"{path}.image"));
            ResourceRequirements.Validate(c["resources"], $"{path}.resources", causes);
            if (c["ports"] is JsonArray ports)
                for (var j = 0; j < ports.Count; j++)
                {
                    var cp = ports[j]?["containerPort"];
                    if (cp is not JsonValue cpv || !cpv.TryGetValue<int>(out var port) || port is < 1 or > 65535)
                        causes.Add(new StatusCause("FieldValueInvalid", "Invalid value: must be between 1 and 65535, inclusive", $"{path}.ports[{j}].containerPort"));
                }
        }
        if (spec["initContainers"] is JsonArray inits)
            for (var i = 0; i < inits.Count; i++)
                ResourceRequirements.Validate(inits[i]?["resources"], $"{field}.initContainers[{i}].resources", causes);
        var rp = Meta.Str(spec["restartPolicy"]);
        if (rp.Length > 0 && rp is not ("Always" or "OnFailure" or "Never"))
            causes.Add(NotSupported($"{field}.restartPolicy", rp, "Always", "OnFailure", "Never"));
    }

    /// <summary>A workload's selector (required, matching the template labels) and its pod template.</summary>
    public static void SelectorAndTemplate(JsonObject? spec, List<StatusCause> causes)
    {
        if (spec is null)
        {
            causes.Add(Required("spec.selector"));
            causes.Add(Required("spec.template.spec.containers"));
            return;
        }
        var selector = spec["selector"] as JsonObject;
        var templateLabels = spec["template"]?["metadata"]?["labels"] as JsonObject;
        if (selector is null || (selector["matchLabels"] is not JsonObject { Count: > 0 } && selector["matchExpressions"] is not JsonArray { Count: > 0 }))
            causes.Add(Required("spec.selector"));
        else if (!LabelSelectors.Matches(selector, templateLabels))
            causes.Add(InvalidRaw("spec.template.metadata.labels", FormatMap(templateLabels), "`selector` does not match template `labels`"));
        PodSpec(spec["template"]?["spec"] as JsonObject, "spec.template.spec", causes);
    }

    public static string FormatMap(JsonObject? map) =>
        map is null ? "map[string]string(nil)" :
        "map[string]string{" + string.Join(", ", map.Select(kv => $"\"{kv.Key}\":{kv.Value?.ToJsonString()}")) + "}";
}
