using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using AkkaKube.Actors.Machinery;
using System.Text.RegularExpressions;

namespace AkkaKube.Actors.ApiServer.CustomResources;

/// <summary>
/// A CustomResourceDefinition version's openAPIV3Schema applied to custom objects, as
/// apiextensions-apiserver does: <see cref="Prune"/> drops fields the schema does not specify (unless
/// x-kubernetes-preserve-unknown-fields), <see cref="Default"/> fills `default`s, <see cref="Validate"/>
/// checks types, required, enum, pattern, bounds, lengths, item counts and the allOf/anyOf/oneOf/not
/// junctors, and <see cref="CheckStructural"/> refuses schemas that are not structural. Pure functions over JSON.
/// </summary>
public static class StructuralSchema
{
    // ---------------- validation ----------------

    /// <summary>The violations of <paramref name="value"/> (a whole object: root fields apiVersion/kind/metadata are the pipeline's).</summary>
    public static List<StatusCause> Validate(JsonObject value, JsonObject schema)
    {
        var causes = new List<StatusCause>();
        ValidateObjectFields(value, schema, "", causes, root: true);
        return causes;
    }

    private static void ValidateNode(JsonNode? value, JsonObject schema, string path, List<StatusCause> causes)
    {
        if (value is null)
        {
            if (Flag(schema, "nullable")) return;
            if (Type(schema) is { } t)
                causes.Add(TypeInvalid(path, "null", t));
            return;
        }
        var kind = JsonType(value);
        if (Flag(schema, "x-kubernetes-int-or-string"))
        {
            if (kind is not ("integer" or "string"))
            {
                causes.Add(TypeInvalid(path, kind, "integer or string"));
                return;
            }
        }
        else if (Type(schema) is { } type && !(type == kind || type == "number" && kind == "integer"))
        {
            causes.Add(TypeInvalid(path, kind, type));
            return;
        }

        if (schema["enum"] is JsonArray allowed && !allowed.Any(a => JsonNode.DeepEquals(a, value)))
            causes.Add(new StatusCause("FieldValueNotSupported",
                $"Unsupported value: {Show(value)}: supported values: {string.Join(", ", allowed.Select(Show))}", path));

        switch (value)
        {
            case JsonValue v when kind == "string":
                ValidateString(v.GetValue<string>(), schema, path, causes);
                break;
            case JsonValue v when kind is "integer" or "number":
                ValidateNumber(v, schema, path, causes);
                break;
            case JsonArray a:
                ValidateArray(a, schema, path, causes);
                break;
            case JsonObject o:
                ValidateObjectFields(o, schema, path, causes, root: false);
                break;
        }
        Junctors(value, schema, path, causes);
    }

    private static void ValidateString(string s, JsonObject schema, string path, List<StatusCause> causes)
    {
        var length = s.EnumerateRunes().Count();
        if (Long(schema["maxLength"]) is { } max && length > max)
            causes.Add(new StatusCause("FieldValueTooLong", $"Too long: may not be more than {max} bytes", path));
        if (Long(schema["minLength"]) is { } min && length < min)
            causes.Add(Invalid(path, Quote(s), $"should be at least {min} chars long"));
        if (Str(schema["pattern"]) is { } pattern && !Matches(pattern, s))
            causes.Add(Invalid(path, Quote(s), $"should match '{pattern}'"));
    }

    private static bool Matches(string pattern, string s)
    {
        try
        {
            return Regex.IsMatch(s, pattern, RegexOptions.ECMAScript | RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(100));
        }
        catch (ArgumentException)
        {
            // ECMAScript mode refuses some constructs Go's RE2 accepts (e.g. \p{L}); fall back to .NET's full syntax.
            return Regex.IsMatch(s, pattern, RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(100));
        }
    }

    private static void ValidateNumber(JsonValue v, JsonObject schema, string path, List<StatusCause> causes)
    {
        var n = AsDouble(v);
        var shown = v.ToJsonString();
        if (Double(schema["maximum"]) is { } max)
        {
            var exclusive = Flag(schema, "exclusiveMaximum");
            if (exclusive ? n >= max : n > max)
                causes.Add(Invalid(path, shown, exclusive ? $"should be less than {Num(max)}" : $"should be less than or equal to {Num(max)}"));
        }
        if (Double(schema["minimum"]) is { } min)
        {
            var exclusive = Flag(schema, "exclusiveMinimum");
            if (exclusive ? n <= min : n < min)
                causes.Add(Invalid(path, shown, exclusive ? $"should be greater than {Num(min)}" : $"should be greater than or equal to {Num(min)}"));
        }
        if (Double(schema["multipleOf"]) is { } step && step > 0 && Math.Abs(Math.IEEERemainder(n, step)) > 1e-9)
            causes.Add(Invalid(path, shown, $"should be a multiple of {Num(step)}"));
    }

    private static void ValidateArray(JsonArray a, JsonObject schema, string path, List<StatusCause> causes)
    {
        if (Long(schema["maxItems"]) is { } max && a.Count > max)
            causes.Add(new StatusCause("FieldValueTooMany", $"Too many: {a.Count}: must have at most {max} items", path));
        if (Long(schema["minItems"]) is { } min && a.Count < min)
            causes.Add(Invalid(path, a.Count.ToString(CultureInfo.InvariantCulture), $"should have at least {min} items"));
        var set = Flag(schema, "uniqueItems") || Str(schema["x-kubernetes-list-type"]) == "set";
        for (var i = 0; i < a.Count; i++)
        {
            if (set && a.Take(i).Any(prev => JsonNode.DeepEquals(prev, a[i])))
                causes.Add(new StatusCause("FieldValueDuplicate", $"Duplicate value: {Show(a[i])}", $"{path}[{i}]"));
            if (schema["items"] is JsonObject items) ValidateNode(a[i], items, $"{path}[{i}]", causes);
        }
        if (Str(schema["x-kubernetes-list-type"]) == "map" && schema["x-kubernetes-list-map-keys"] is JsonArray keys)
        {
            var seen = new HashSet<string>();
            for (var i = 0; i < a.Count; i++)
            {
                var key = string.Join("\0", keys.Select(k => Str(k) is { } name ? a[i]?[name]?.ToJsonString() ?? "" : ""));
                if (!seen.Add(key))
                    causes.Add(new StatusCause("FieldValueDuplicate", $"Duplicate value: {a[i]!.ToJsonString()}", $"{path}[{i}]"));
            }
        }
    }

    private static void ValidateObjectFields(JsonObject o, JsonObject schema, string path, List<StatusCause> causes, bool root)
    {
        foreach (var required in (schema["required"] as JsonArray ?? []).Select(Str).OfType<string>())
            if (!o.ContainsKey(required) || o[required] is null && !Flag(schema["properties"]?[required] as JsonObject, "nullable"))
                causes.Add(new StatusCause("FieldValueRequired", "Required value", Child(path, required)));
        var properties = schema["properties"] as JsonObject;
        foreach (var (key, child) in o)
        {
            if (root && key is "apiVersion" or "kind" or "metadata") continue;
            if (properties?[key] is JsonObject p) ValidateNode(child, p, Child(path, key), causes);
            else if (schema["additionalProperties"] is JsonObject extra) ValidateNode(child, extra, Child(path, key), causes);
        }
        if (Long(schema["maxProperties"]) is { } max && o.Count > max)
            causes.Add(new StatusCause("FieldValueTooMany", $"Too many: {o.Count}: must have at most {max} items", path));
        if (Long(schema["minProperties"]) is { } min && o.Count < min)
            causes.Add(Invalid(path, o.Count.ToString(CultureInfo.InvariantCulture), $"should have at least {min} properties"));
        if (root) Junctors(o, schema, path, causes);
    }

    /// <summary>allOf/anyOf/oneOf/not: value validations over the same node (structural schemas allow no types inside them).</summary>
    private static void Junctors(JsonNode value, JsonObject schema, string path, List<StatusCause> causes)
    {
        foreach (var sub in (schema["allOf"] as JsonArray ?? []).OfType<JsonObject>())
            ValidateNode(value, sub, path, causes);
        if (schema["anyOf"] is JsonArray any && !any.OfType<JsonObject>().Any(sub => Passes(value, sub)))
            causes.Add(Invalid(path, Show(value), "must validate at least one schema (anyOf)"));
        if (schema["oneOf"] is JsonArray one && one.OfType<JsonObject>().Count(sub => Passes(value, sub)) != 1)
            causes.Add(Invalid(path, Show(value), "must validate one and only one schema (oneOf)"));
        if (schema["not"] is JsonObject not && Passes(value, not))
            causes.Add(Invalid(path, Show(value), "must not validate the schema (not)"));
    }

    private static bool Passes(JsonNode value, JsonObject schema)
    {
        var causes = new List<StatusCause>();
        ValidateNode(value, schema, "", causes);
        return causes.Count == 0;
    }

    // ---------------- defaulting and pruning ----------------

    /// <summary>Sets the schema's `default` of every missing property (objects, map values and list items, recursively).</summary>
    public static void Default(JsonNode? value, JsonObject schema)
    {
        switch (value)
        {
            case JsonObject o:
                if (schema["properties"] is JsonObject properties)
                    foreach (var (key, p) in properties)
                    {
                        if (p is not JsonObject prop) continue;
                        if (!o.ContainsKey(key) && prop["default"] is { } d) o[key] = d.DeepClone();
                        if (o[key] is { } child) Default(child, prop);
                    }
                if (schema["additionalProperties"] is JsonObject extra)
                    foreach (var (_, child) in o.ToList()) Default(child, extra);
                break;
            case JsonArray a when schema["items"] is JsonObject items:
                foreach (var child in a) Default(child, items);
                break;
        }
    }

    /// <summary>
    /// Drops every field the schema does not specify (at the root apiVersion, kind and metadata stay) and
    /// returns their paths (fieldValidation reports them as unknown fields).
    /// </summary>
    public static List<string> Prune(JsonObject value, JsonObject schema)
    {
        var pruned = new List<string>();
        PruneNode(value, schema, "", pruned, root: true);
        return pruned;
    }

    private static void PruneNode(JsonNode? value, JsonObject schema, string path, List<string> pruned, bool root)
    {
        switch (value)
        {
            case JsonObject o:
                var properties = schema["properties"] as JsonObject;
                var extra = schema["additionalProperties"];
                var preserve = Flag(schema, "x-kubernetes-preserve-unknown-fields");
                var embedded = root || Flag(schema, "x-kubernetes-embedded-resource");
                foreach (var (key, child) in o.ToList())
                {
                    if (embedded && key is "apiVersion" or "kind" or "metadata" && properties?[key] is null) continue;
                    if (properties?[key] is JsonObject p) PruneNode(child, p, Child(path, key), pruned, root: false);
                    else if (extra is JsonObject e) PruneNode(child, e, Child(path, key), pruned, root: false);
                    else if (!preserve && extra?.GetValueKind() != JsonValueKind.True)
                    {
                        o.Remove(key);
                        pruned.Add(Child(path, key));
                    }
                }
                break;
            case JsonArray a when schema["items"] is JsonObject items:
                for (var i = 0; i < a.Count; i++) PruneNode(a[i], items, $"{path}[{i}]", pruned, root: false);
                break;
        }
    }

    // ---------------- structural check (CRD validation) ----------------

    /// <summary>
    /// Why the schema is not structural (Kubernetes refuses such CRDs): every specified node has a type
    /// (or x-kubernetes-int-or-string / x-kubernetes-preserve-unknown-fields), the root is an object,
    /// properties and additionalProperties exclude each other, junctors specify no types.
    /// </summary>
    public static List<StatusCause> CheckStructural(JsonObject schema, string path)
    {
        var causes = new List<StatusCause>();
        if (Type(schema) != "object")
            causes.Add(new StatusCause("FieldValueInvalid", "Invalid value: \"" + (Type(schema) ?? "") + "\": must be object at the root", $"{path}.type"));
        CheckNode(schema, path, causes, insideJunctor: false);
        return causes;
    }

    private static readonly string[] JunctorNames = ["allOf", "anyOf", "oneOf"];

    private static void CheckNode(JsonObject schema, string path, List<StatusCause> causes, bool insideJunctor)
    {
        var type = Type(schema);
        var intOrString = Flag(schema, "x-kubernetes-int-or-string");
        var preserve = Flag(schema, "x-kubernetes-preserve-unknown-fields");
        if (insideJunctor)
        {
            foreach (var forbidden in new[] { "type", "default", "nullable", "additionalProperties", "x-kubernetes-preserve-unknown-fields", "x-kubernetes-embedded-resource", "x-kubernetes-int-or-string" })
                if (schema.ContainsKey(forbidden))
                    causes.Add(new StatusCause("FieldValueForbidden", "Forbidden: must be empty to be structural", $"{path}.{forbidden}"));
        }
        else if (type is null && !intOrString && !preserve)
            causes.Add(new StatusCause("FieldValueRequired", "Required value: must not be empty for specified fields", $"{path}.type"));
        if (type is not null and not ("object" or "array" or "string" or "integer" or "number" or "boolean"))
            causes.Add(new StatusCause("FieldValueNotSupported", $"Unsupported value: \"{type}\": supported values: \"array\", \"boolean\", \"integer\", \"number\", \"object\", \"string\"", $"{path}.type"));
        if (intOrString && type is not null)
            causes.Add(new StatusCause("FieldValueForbidden", "Forbidden: must be empty if x-kubernetes-int-or-string is true", $"{path}.type"));
        if (schema["properties"] is JsonObject && schema["additionalProperties"] is JsonObject)
            causes.Add(new StatusCause("FieldValueForbidden", "Forbidden: additionalProperties and properties are mutual exclusive", $"{path}.additionalProperties"));
        if (Str(schema["pattern"]) is { } pattern)
        {
            try { _ = new Regex(pattern); }
            catch (ArgumentException) { causes.Add(new StatusCause("FieldValueInvalid", $"Invalid value: \"{pattern}\": must be a valid regular expression", $"{path}.pattern")); }
        }
        if (schema["properties"] is JsonObject properties)
            foreach (var (key, p) in properties)
                if (p is JsonObject prop) CheckNode(prop, $"{path}.properties[{key}]", causes, insideJunctor);
        if (schema["items"] is JsonObject items) CheckNode(items, $"{path}.items", causes, insideJunctor);
        else if (schema["items"] is JsonArray) causes.Add(new StatusCause("FieldValueForbidden", "Forbidden: items must be a schema object and not an array", $"{path}.items"));
        else if (type == "array" && !insideJunctor) causes.Add(new StatusCause("FieldValueRequired", "Required value: must be specified", $"{path}.items"));
        if (schema["additionalProperties"] is JsonObject additional) CheckNode(additional, $"{path}.additionalProperties", causes, insideJunctor);
        foreach (var junctor in JunctorNames)
            if (schema[junctor] is JsonArray subs)
                for (var i = 0; i < subs.Count; i++)
                    if (subs[i] is JsonObject sub) CheckNode(sub, $"{path}.{junctor}[{i}]", causes, insideJunctor: true);
        if (schema["not"] is JsonObject not) CheckNode(not, $"{path}.not", causes, insideJunctor: true);
    }

    // ---------------- helpers ----------------

    private static bool Flag(JsonObject? schema, string name) => schema?[name] is JsonValue v && v.GetValueKind() == JsonValueKind.True;
    private static string? Str(JsonNode? n) => n is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    private static string? Type(JsonObject schema) => schema["type"] is JsonValue v && v.TryGetValue<string>(out var t) && t.Length > 0 ? t : null;

    private static string JsonType(JsonNode value) => value.GetValueKind() switch
    {
        JsonValueKind.Object => "object",
        JsonValueKind.Array => "array",
        JsonValueKind.String => "string",
        JsonValueKind.True or JsonValueKind.False => "boolean",
        JsonValueKind.Number => IsIntegral(value.AsValue()) ? "integer" : "number",
        _ => "null",
    };

    // A whole number is an integer whatever its spelling (1.0 too), as Kubernetes' JSON decoding makes it.
    private static bool IsIntegral(JsonValue v) => AsDouble(v) is var d && Math.Floor(d) == d && !double.IsInfinity(d);

    private static double AsDouble(JsonValue v) => double.Parse(v.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture);
    private static long? Long(JsonNode? n) => n is JsonValue v && v.GetValueKind() == JsonValueKind.Number ? (long)AsDouble(v) : null;
    private static double? Double(JsonNode? n) => n is JsonValue v && v.GetValueKind() == JsonValueKind.Number ? AsDouble(v) : null;
    private static string Num(double d) => d.ToString("0.################", CultureInfo.InvariantCulture);

    private static string Child(string path, string key) => path.Length == 0 ? key : $"{path}.{key}";
    private static string Quote(string s) => JsonSerializer.Serialize(s);
    private static string Show(JsonNode? n) => n is null ? "null" : n.ToJsonString();

    private static StatusCause TypeInvalid(string path, string got, string want) =>
        new("FieldValueTypeInvalid", $"Invalid value: \"{got}\": {path} in body must be of type {want}: \"{got}\"", path);

    private static StatusCause Invalid(string path, string shown, string detail) =>
        new("FieldValueInvalid", $"Invalid value: {shown}: {path} in body {detail}", path);
}
