using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Machinery;
using AkkaKube.Actors.ApiServer.Registry;

namespace AkkaKube.Actors.ApiServer.CustomResources;

/// <summary>One additionalPrinterColumn: the Table column and the JSONPath its cells come from.</summary>
public sealed record PrinterColumn(string Name, string Type, string Format, string Description, int Priority, string JsonPath);

/// <summary>The scale subresource's paths (.spec.replicas, .status.replicas, .status.selector).</summary>
public sealed record ScaleSpec(string SpecReplicasPath, string StatusReplicasPath, string? LabelSelectorPath)
{
    /// <summary>The JSONPaths (".spec.replicas") as the dotted paths the scale subresource reads and writes.</summary>
    public ScalePaths Paths => new(SpecReplicasPath.TrimStart('.'), StatusReplicasPath.TrimStart('.'), LabelSelectorPath?.TrimStart('.'));
}

/// <summary>One version of a CustomResourceDefinition.</summary>
public sealed record CrdVersion(string Name, bool Served, bool Storage, JsonObject? Schema, bool Status, ScaleSpec? Scale, IReadOnlyList<PrinterColumn> Columns)
{
    /// <summary>spec.versions[].selectableFields as field labels (".spec.color" → "spec.color"), besides metadata.name/namespace.</summary>
    public IReadOnlyList<string> SelectableFields { get; init; } = [];
}

/// <summary>
/// An apiextensions.k8s.io/v1 CustomResourceDefinition read into what the apiserver needs to serve its
/// kind: names, scope, versions (served, storage, schema, subresources, printer columns). <see cref="Validate"/>
/// is Kubernetes' CRD validation (422 causes with spec.* paths); <see cref="SetDefaults"/> its defaulting.
/// </summary>
public sealed partial record CustomResourceDefinitionSpec(
    string Name, string Group, string Plural, string Singular, string Kind, string ListKind, bool Namespaced,
    IReadOnlyList<string> ShortNames, IReadOnlyList<string> Categories, IReadOnlyList<CrdVersion> Versions)
{
    public const string ApiGroup = "apiextensions.k8s.io";

    /// <summary>The customresourcedefinitions resource itself (cluster-scoped, with status).</summary>
    public static readonly ApiResource Resource = new(ApiGroup, "v1", "customresourcedefinitions", "CustomResourceDefinition", false)
    {
        ShortNames = ["crd", "crds"],
        Categories = ["api-extensions"],
        Subresources = [new("status", ApiGroup, "v1", "CustomResourceDefinition", ["get", "patch", "update"])],
    };

    public CrdVersion StorageVersion => Versions.Single(v => v.Storage);

    /// <summary>One ApiResource per served version, as discovery lists them.</summary>
    public IEnumerable<(ApiResource Resource, CrdVersion Version)> Served() =>
        Versions.Where(v => v.Served).Select(v => (new ApiResource(Group, v.Name, Plural, Kind, Namespaced)
        {
            ShortNames = ShortNames,
            Categories = Categories,
            Subresources = [
                .. v.Scale is null ? Array.Empty<ApiSubresource>() : [new ApiSubresource("scale", "autoscaling", "v1", "Scale", ["get", "patch", "update"])],
                .. v.Status ? [new ApiSubresource("status", Group, v.Name, Kind, ["get", "patch", "update"])] : Array.Empty<ApiSubresource>(),
            ],
        }, v));

    /// <summary>The served versions for the OpenAPI documents: each with its schema, so `kubectl explain` reads it.</summary>
    public IEnumerable<OpenApi.OpenApiKind> OpenApiKinds() => Served().Select(s => new OpenApi.OpenApiKind(s.Resource, s.Version.Schema));

    /// <summary>Reads a (defaulted, valid) CRD object.</summary>
    public static CustomResourceDefinitionSpec Parse(JsonObject crd)
    {
        var spec = crd["spec"] as JsonObject ?? [];
        var names = spec["names"] as JsonObject ?? [];
        var versions = (spec["versions"] as JsonArray ?? []).OfType<JsonObject>().Select(v => new CrdVersion(
            Str(v["name"]),
            v["served"]?.GetValueKind() == System.Text.Json.JsonValueKind.True,
            v["storage"]?.GetValueKind() == System.Text.Json.JsonValueKind.True,
            v["schema"]?["openAPIV3Schema"] as JsonObject,
            v["subresources"]?["status"] is JsonObject,
            v["subresources"]?["scale"] is JsonObject scale
                ? new ScaleSpec(Str(scale["specReplicasPath"]), Str(scale["statusReplicasPath"]), scale["labelSelectorPath"] is { } l ? Str(l) : null)
                : null,
            (v["additionalPrinterColumns"] as JsonArray ?? []).OfType<JsonObject>().Select(c => new PrinterColumn(
                Str(c["name"]), Str(c["type"]), Str(c["format"]), Str(c["description"]),
                c["priority"] is JsonValue p && p.TryGetValue<int>(out var priority) ? priority : 0, Str(c["jsonPath"]))).ToList())
        {
            SelectableFields = (v["selectableFields"] as JsonArray ?? []).OfType<JsonObject>()
                .Select(f => Str(f["jsonPath"]).TrimStart('.')).Where(f => f.Length > 0).ToList(),
        }).ToList();
        return new CustomResourceDefinitionSpec(
            Str(crd["metadata"]?["name"]), Str(spec["group"]), Str(names["plural"]), Str(names["singular"]), Str(names["kind"]),
            Str(names["listKind"]), Str(spec["scope"]) == "Namespaced",
            Strings(names["shortNames"]), Strings(names["categories"]), versions);
    }

    /// <summary>Kubernetes' defaults: singular and listKind from the kind, conversion None, printer column priority 0.</summary>
    public static void SetDefaults(JsonObject crd)
    {
        if (crd["spec"] is not JsonObject spec) return;
        if (spec["names"] is JsonObject names && names["kind"] is JsonValue kind && kind.TryGetValue<string>(out var k))
        {
            names["singular"] ??= k.ToLowerInvariant();
            names["listKind"] ??= k + "List";
        }
        spec["conversion"] ??= new JsonObject { ["strategy"] = "None" };
        foreach (var v in (spec["versions"] as JsonArray ?? []).OfType<JsonObject>())
        {
            if (v["additionalPrinterColumns"] is JsonArray columns)
                foreach (var c in columns.OfType<JsonObject>())
                    c["priority"] ??= 0;
        }
    }

    [GeneratedRegex("^[a-z]([-a-z0-9]*[a-z0-9])?$")]
    private static partial Regex LowerLabelRegex();

    [GeneratedRegex("^[A-Z][A-Za-z0-9]*$")]
    private static partial Regex KindRegex();

    [GeneratedRegex(@"^\.[A-Za-z0-9_.\[\]'""\-]+$")]
    private static partial Regex JsonPathRegex();

    /// <summary>The causes that make the CRD invalid (422), with Kubernetes' field paths.</summary>
    public static List<StatusCause> Validate(JsonObject crd)
    {
        var causes = new List<StatusCause>();
        void Add(string reason, string message, string field) => causes.Add(new StatusCause(reason, message, field));
        var spec = crd["spec"] as JsonObject;
        if (spec is null)
        {
            Add("FieldValueRequired", "Required value", "spec");
            return causes;
        }
        var group = Str(spec["group"]);
        var names = spec["names"] as JsonObject ?? [];
        var plural = Str(names["plural"]);
        var kind = Str(names["kind"]);
        if (group.Length == 0) Add("FieldValueRequired", "Required value", "spec.group");
        else if (!group.Contains('.') || !Validation.IsDns1123Subdomain(group))
            Add("FieldValueInvalid", $"Invalid value: \"{group}\": should be a domain with at least one dot", "spec.group");
        var name = Str(crd["metadata"]?["name"]);
        if (plural.Length > 0 && group.Length > 0 && name != $"{plural}.{group}")
            Add("FieldValueInvalid", $"Invalid value: \"{name}\": must be spec.names.plural+\".\"+spec.group", "metadata.name");
        foreach (var (field, value) in new[] { ("plural", plural), ("singular", Str(names["singular"])) })
        {
            if (value.Length == 0) Add("FieldValueRequired", "Required value", $"spec.names.{field}");
            else if (!LowerLabelRegex().IsMatch(value) || value.Length > 63)
                Add("FieldValueInvalid", $"Invalid value: \"{value}\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start with an alphabetic character", $"spec.names.{field}");
        }
        if (kind.Length == 0) Add("FieldValueRequired", "Required value", "spec.names.kind");
        else if (!KindRegex().IsMatch(kind)) Add("FieldValueInvalid", $"Invalid value: \"{kind}\": must be a CamelCase identifier", "spec.names.kind");
        var listKind = Str(names["listKind"]);
        if (listKind.Length > 0 && listKind == kind) Add("FieldValueInvalid", $"Invalid value: \"{listKind}\": kind and listKind may not be the same", "spec.names.listKind");
        var shortNames = Strings(names["shortNames"]);
        for (var i = 0; i < shortNames.Count; i++)
            if (!LowerLabelRegex().IsMatch(shortNames[i]))
                Add("FieldValueInvalid", $"Invalid value: \"{shortNames[i]}\": must be a lowercase RFC 1123 label", $"spec.names.shortNames[{i}]");
        var scope = Str(spec["scope"]);
        if (scope is not ("Namespaced" or "Cluster"))
            Add(scope.Length == 0 ? "FieldValueRequired" : "FieldValueNotSupported",
                scope.Length == 0 ? "Required value" : $"Unsupported value: \"{scope}\": supported values: \"Cluster\", \"Namespaced\"", "spec.scope");
        var conversion = Str(spec["conversion"]?["strategy"]);
        if (conversion is not ("" or "None"))
            Add("FieldValueNotSupported", $"Unsupported value: \"{conversion}\": supported values: \"None\" (conversion webhooks are not served)", "spec.conversion.strategy");

        var versions = (spec["versions"] as JsonArray ?? []).OfType<JsonObject>().ToList();
        if (versions.Count == 0) Add("FieldValueInvalid", "Invalid value: null: must have exactly one version marked as storage version", "spec.versions");
        else if (versions.Count(v => v["storage"]?.GetValueKind() == System.Text.Json.JsonValueKind.True) != 1)
            Add("FieldValueInvalid", "Invalid value: must have exactly one version marked as storage version", "spec.versions");
        var seen = new HashSet<string>();
        for (var i = 0; i < versions.Count; i++)
        {
            var v = versions[i];
            var path = $"spec.versions[{i}]";
            var vname = Str(v["name"]);
            if (!LowerLabelRegex().IsMatch(vname)) Add("FieldValueInvalid", $"Invalid value: \"{vname}\": a DNS-1035 label is required", $"{path}.name");
            else if (!seen.Add(vname)) Add("FieldValueDuplicate", $"Duplicate value: \"{vname}\"", $"{path}.name");
            if (v["schema"]?["openAPIV3Schema"] is JsonObject schema)
                causes.AddRange(StructuralSchema.CheckStructural(schema, $"{path}.schema.openAPIV3Schema"));
            else
                Add("FieldValueRequired", "Required value: schemas are required", $"{path}.schema.openAPIV3Schema");
            if (v["subresources"]?["scale"] is JsonObject scale)
                foreach (var key in new[] { "specReplicasPath", "statusReplicasPath" })
                    if (!Str(scale[key]).StartsWith(".spec.", StringComparison.Ordinal) && !(key == "statusReplicasPath" && Str(scale[key]).StartsWith(".status.", StringComparison.Ordinal)))
                        Add("FieldValueInvalid", $"Invalid value: \"{Str(scale[key])}\": should be a json path under .spec{(key == "statusReplicasPath" ? " or .status" : "")}", $"{path}.subresources.scale.{key}");
            var columns = (v["additionalPrinterColumns"] as JsonArray ?? []).OfType<JsonObject>().ToList();
            for (var c = 0; c < columns.Count; c++)
            {
                var cpath = $"{path}.additionalPrinterColumns[{c}]";
                if (Str(columns[c]["name"]).Length == 0) Add("FieldValueRequired", "Required value", $"{cpath}.name");
                if (Str(columns[c]["type"]) is var t && t is not ("integer" or "number" or "string" or "boolean" or "date"))
                    Add("FieldValueNotSupported", $"Unsupported value: \"{t}\": supported values: \"boolean\", \"date\", \"integer\", \"number\", \"string\"", $"{cpath}.type");
                if (!JsonPathRegex().IsMatch(Str(columns[c]["jsonPath"])))
                    Add("FieldValueInvalid", $"Invalid value: \"{Str(columns[c]["jsonPath"])}\": must be a simple json path starting with .", $"{cpath}.jsonPath");
            }
        }
        return causes;
    }

    /// <summary>The CRD's status conditions once its names are accepted: NamesAccepted and Established, both True.</summary>
    public static JsonObject AcceptedStatus(JsonObject crd, DateTime now)
    {
        var time = now.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        JsonObject Condition(string type, string reason, string message) => new()
        {
            ["type"] = type, ["status"] = "True", ["lastTransitionTime"] = time, ["reason"] = reason, ["message"] = message,
        };
        var spec = crd["spec"] as JsonObject ?? [];
        return new JsonObject
        {
            ["conditions"] = new JsonArray(
                Condition("NamesAccepted", "NoConflicts", "no conflicts found"),
                Condition("Established", "InitialNamesAccepted", "the initial names have been accepted")),
            ["acceptedNames"] = spec["names"]?.DeepClone(),
            ["storedVersions"] = new JsonArray((spec["versions"] as JsonArray ?? []).OfType<JsonObject>()
                .Where(v => v["storage"]?.GetValueKind() == System.Text.Json.JsonValueKind.True).Select(v => (JsonNode?)Str(v["name"])).ToArray()),
        };
    }

    /// <summary>
    /// A printer column's cell: the value at its simple JSONPath (.spec.a, .status.list[0].b, .metadata.labels['a.b']),
    /// or null when absent or of another type than the column's.
    /// </summary>
    public static JsonNode? Cell(JsonObject obj, PrinterColumn column)
    {
        JsonNode? node = obj;
        foreach (Match m in Regex.Matches(column.JsonPath, @"\.([^.\[]+)|\[(\d+)\]|\['([^']+)'\]|\[""([^""]+)""\]"))
        {
            if (m.Groups[2].Success)
                node = node is JsonArray a && int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture) is var i && i < a.Count ? a[i] : null;
            else
            {
                var key = m.Groups[1].Success ? m.Groups[1].Value : m.Groups[3].Success ? m.Groups[3].Value : m.Groups[4].Value;
                node = node is JsonObject o ? o[key] : null;
            }
            if (node is null) return null;
        }
        var kind = node!.GetValueKind();
        var fits = column.Type switch
        {
            "integer" or "number" => kind == System.Text.Json.JsonValueKind.Number,
            "boolean" => kind is System.Text.Json.JsonValueKind.True or System.Text.Json.JsonValueKind.False,
            "date" => kind == System.Text.Json.JsonValueKind.String,
            _ => true,
        };
        if (!fits) return null;
        return column.Type == "string" && kind != System.Text.Json.JsonValueKind.String ? node.ToJsonString() : node.DeepClone();
    }

    private static string Str(JsonNode? n) => n is JsonValue v && v.TryGetValue<string>(out var s) ? s : "";

    private static IReadOnlyList<string> Strings(JsonNode? n) =>
        (n as JsonArray ?? []).Select(Str).Where(s => s.Length > 0).ToList();
}
