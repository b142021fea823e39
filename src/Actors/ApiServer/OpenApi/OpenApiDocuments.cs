using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using AkkaKube.Actors.Machinery;
using k8s.Models;

namespace AkkaKube.Actors.ApiServer.OpenApi;

/// <summary>
/// A served kind for the OpenAPI documents: its resource, and for a kind without a model type
/// (a custom resource) the JSON schema of its objects (a CRD version's openAPIV3Schema).
/// </summary>
public sealed record OpenApiKind(ApiResource Resource, JsonObject? Schema = null);

/// <summary>One serialized document (JSON, or protobuf for v2) and its hash (the ?hash= of /openapi/v3 and the ETag).</summary>
public sealed record OpenApiBlob(byte[] Content, string Hash)
{
    public static OpenApiBlob Of(JsonNode document)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(document);
        return new OpenApiBlob(bytes, Convert.ToHexString(SHA512.HashData(bytes)));
    }
}

/// <summary>
/// The OpenAPI documents of a set of served kinds, generated once: /openapi/v3 (the root index and
/// one document per group-version with the schemas it references) and /openapi/v2 (one document
/// with every definition). Each operation carries x-kubernetes-group-version-kind and the
/// fieldValidation parameter, which is how kubectl learns that the server validates fields itself.
/// Strategic merge is left out of the PATCH content types: kubectl then computes its patches from
/// its compiled-in types, as it always has with this server.
/// </summary>
public sealed class OpenApiDocuments
{
    public OpenApiBlob V3Root { get; }
    public IReadOnlyDictionary<string, OpenApiBlob> V3 { get; }
    public OpenApiBlob V2 { get; }
    /// <summary>The same v2 document in protobuf (<see cref="OpenApiV2Protobuf"/>); its hash is the JSON's.</summary>
    public OpenApiBlob V2Protobuf { get; }
    public TimeSpan GenerationTime { get; }

    private OpenApiDocuments(OpenApiBlob root, IReadOnlyDictionary<string, OpenApiBlob> v3, OpenApiBlob v2, OpenApiBlob v2Protobuf, TimeSpan took) =>
        (V3Root, V3, V2, V2Protobuf, GenerationTime) = (root, v3, v2, v2Protobuf, took);

    /// <summary>"api/v1", "apis/apps/v1": the path of a group-version under /openapi/v3.</summary>
    public static string GroupVersionPath(string group, string version) => group.Length == 0 ? $"api/{version}" : $"apis/{group}/{version}";

    public static OpenApiDocuments Build(IReadOnlyList<OpenApiKind> kinds, ModelSchemas models)
    {
        var clock = Stopwatch.StartNew();
        // core first, so a model type used by several groups is named after core/v1 as in Kubernetes
        var ordered = kinds.OrderBy(k => k.Resource.Group.Length == 0 ? 0 : 1).ToList();
        var rootOf = new Dictionary<OpenApiKind, string>();
        var custom = new Dictionary<string, JsonObject>(StringComparer.Ordinal);
        foreach (var k in ordered)
            rootOf[k] = SchemaOf(k, models, custom);
        var listNames = new Dictionary<OpenApiKind, string?>();
        foreach (var k in ordered)
            listNames[k] = ModelSchemas.ModelFor(k.Resource.Group, k.Resource.Version, k.Resource.Kind + "List") is { } list
                ? models.AddKind(list, k.Resource.Group, k.Resource.Version, k.Resource.Kind + "List")
                : null;
        var subresourceSchemas = new Dictionary<(string Group, string Version, string Kind), string>();
        foreach (var s in kinds.SelectMany(k => k.Resource.Subresources).Where(s => s.Name is "scale"))
            if (ModelSchemas.ModelFor(s.Group, s.Version, s.Kind) is { } model)
                subresourceSchemas[(s.Group, s.Version, s.Kind)] = models.AddKind(model, s.Group, s.Version, s.Kind);

        var v3 = new Dictionary<string, OpenApiBlob>(StringComparer.Ordinal);
        var rootPaths = new JsonObject();
        var v2Paths = new JsonObject();
        foreach (var gv in kinds.GroupBy(k => (k.Resource.Group, k.Resource.Version)).OrderBy(g => g.Key.Group.Length == 0 ? "" : g.Key.Group).ThenBy(g => g.Key.Version))
        {
            var paths = new JsonObject();
            var names = new List<string>();
            foreach (var k in gv)
            {
                names.Add(rootOf[k]);
                if (listNames[k] is { } l) names.Add(l);
                foreach (var (path, item) in Paths(k.Resource, rootOf[k], listNames[k], subresourceSchemas, v2: false)) paths[path] = item;
                foreach (var (path, item) in Paths(k.Resource, rootOf[k], listNames[k], subresourceSchemas, v2: true)) v2Paths[path] = item;
            }
            names.AddRange(subresourceSchemas.Values);
            var schemas = new JsonObject();
            foreach (var name in models.Closure(names).Order(StringComparer.Ordinal))
                schemas[name] = (custom.GetValueOrDefault(name) ?? models.Definitions[name]).DeepClone();
            var document = new JsonObject
            {
                ["openapi"] = "3.0.0",
                ["info"] = Info(),
                ["paths"] = paths,
                ["components"] = new JsonObject { ["schemas"] = schemas },
            };
            var path3 = GroupVersionPath(gv.Key.Group, gv.Key.Version);
            var blob = OpenApiBlob.Of(document);
            v3[path3] = blob;
            rootPaths[path3] = new JsonObject { ["serverRelativeURL"] = $"/openapi/v3/{path3}?hash={blob.Hash}" };
        }
        var root = OpenApiBlob.Of(new JsonObject { ["paths"] = rootPaths });

        var definitions = new JsonObject();
        foreach (var (name, schema) in models.Definitions.Concat(custom).OrderBy(d => d.Key, StringComparer.Ordinal))
            definitions[name] = ToV2(schema);
        var v2Document = new JsonObject
        {
            ["swagger"] = "2.0",
            ["info"] = Info(),
            ["paths"] = v2Paths,
            ["definitions"] = definitions,
        };
        var v2 = OpenApiBlob.Of(v2Document);
        var v2Protobuf = new OpenApiBlob(OpenApiV2Protobuf.Encode(v2Document), v2.Hash);
        return new OpenApiDocuments(root, v3, v2, v2Protobuf, clock.Elapsed);
    }

    private static JsonObject Info() => new() { ["title"] = "Kubernetes", ["version"] = "v1.32.0-akkakube" };

    /// <summary>The kind's definition: generated from its model type, or built around a custom resource's schema.</summary>
    private static string SchemaOf(OpenApiKind k, ModelSchemas models, Dictionary<string, JsonObject> custom)
    {
        var r = k.Resource;
        if (k.Schema is null && ModelSchemas.ModelFor(r.Group, r.Version, r.Kind) is { } model)
            return models.AddKind(model, r.Group, r.Version, r.Kind);
        // Custom resources are named by their reversed group, as Kubernetes does (com.example.stable.v1.CronTab).
        var name = string.Join('.', r.Group.Split('.').Reverse()) + $".{r.Version}.{r.Kind}";
        var schema = (JsonObject?)k.Schema?.DeepClone() ?? new JsonObject { ["type"] = "object", ["x-kubernetes-preserve-unknown-fields"] = true };
        schema["type"] ??= "object";
        if (schema["properties"] is not JsonObject props) schema["properties"] = props = new JsonObject();
        props["apiVersion"] ??= new JsonObject { ["type"] = "string", ["description"] = "APIVersion defines the versioned schema of this representation of an object." };
        props["kind"] ??= new JsonObject { ["type"] = "string", ["description"] = "Kind is a string value representing the REST resource this object represents." };
        var meta = models.AddMeta();
        props["metadata"] = new JsonObject { ["allOf"] = new JsonArray(new JsonObject { ["$ref"] = ModelSchemas.RefPrefix + meta }), ["description"] = "Standard object's metadata." };
        schema["x-kubernetes-group-version-kind"] = new JsonArray(new JsonObject { ["group"] = r.Group, ["kind"] = r.Kind, ["version"] = r.Version });
        custom[name] = schema;
        models.AddExternal(name, [meta]);
        return name;
    }

    private static IEnumerable<(string Path, JsonObject Item)> Paths(ApiResource r, string schema, string? listSchema,
        IReadOnlyDictionary<(string, string, string), string> subresourceSchemas, bool v2)
    {
        var prefix = r.Group.Length == 0 ? $"/api/{r.Version}" : $"/apis/{r.Group}/{r.Version}";
        var collection = r.Namespaced ? $"{prefix}/namespaces/{{namespace}}/{r.Resource}" : $"{prefix}/{r.Resource}";
        var gvk = new JsonObject { ["group"] = r.Group, ["kind"] = r.Kind, ["version"] = r.Version };
        var scope = r.Namespaced ? "Namespaced" : "";
        var ops = new Operations(v2, gvk);

        var list = new JsonObject();
        if (r.Verbs.Contains("list"))
            list["get"] = ops.Make($"list{scope}{r.Kind}", "list", null, listSchema ?? schema, ["labelSelector", "fieldSelector", "limit", "continue", "resourceVersion", "timeoutSeconds", "watch"]);
        if (r.Verbs.Contains("create"))
            list["post"] = ops.Make($"create{scope}{r.Kind}", "post", schema, schema, ["dryRun", "fieldManager", "fieldValidation"]);
        if (r.Verbs.Contains("deletecollection"))
            list["delete"] = ops.Make($"deletecollection{scope}{r.Kind}", "deletecollection", null, null, ["labelSelector", "fieldSelector", "dryRun"]);
        if (list.Count > 0) yield return (collection, list);

        var item = new JsonObject();
        if (r.Verbs.Contains("get")) item["get"] = ops.Make($"read{scope}{r.Kind}", "get", null, schema, []);
        if (r.Verbs.Contains("update")) item["put"] = ops.Make($"replace{scope}{r.Kind}", "put", schema, schema, ["dryRun", "fieldManager", "fieldValidation"]);
        if (r.Verbs.Contains("patch")) item["patch"] = ops.Make($"patch{scope}{r.Kind}", "patch", Operations.PatchBody, schema, ["dryRun", "fieldManager", "fieldValidation", "force"]);
        if (r.Verbs.Contains("delete")) item["delete"] = ops.Make($"delete{scope}{r.Kind}", "delete", null, null, ["dryRun", "gracePeriodSeconds", "propagationPolicy"]);
        if (item.Count > 0) yield return ($"{collection}/{{name}}", item);

        foreach (var s in r.Subresources.Where(s => s.Name is "status" or "scale"))
        {
            var subSchema = s.Name == "status" ? schema : subresourceSchemas.GetValueOrDefault((s.Group, s.Version, s.Kind));
            if (subSchema is null) continue;
            var subOps = new Operations(v2, new JsonObject { ["group"] = s.Group, ["kind"] = s.Kind, ["version"] = s.Version });
            var suffix = char.ToUpperInvariant(s.Name[0]) + s.Name[1..];
            var sub = new JsonObject
            {
                ["get"] = subOps.Make($"read{scope}{r.Kind}{suffix}", "get", null, subSchema, []),
                ["put"] = subOps.Make($"replace{scope}{r.Kind}{suffix}", "put", subSchema, subSchema, ["dryRun", "fieldManager", "fieldValidation"]),
                ["patch"] = subOps.Make($"patch{scope}{r.Kind}{suffix}", "patch", Operations.PatchBody, subSchema, ["dryRun", "fieldManager", "fieldValidation", "force"]),
            };
            yield return ($"{collection}/{{name}}/{s.Name}", sub);
        }
    }

    /// <summary>Operation objects in v3 (requestBody, content) or v2 (body parameter, schema) form.</summary>
    private sealed class Operations(bool v2, JsonObject gvk)
    {
        public const string PatchBody = "\0patch";
        private static readonly string[] PatchTypes = ["application/apply-patch+yaml", "application/json-patch+json", "application/merge-patch+json"];

        public JsonObject Make(string id, string action, string? body, string? response, IReadOnlyList<string> query)
        {
            var op = new JsonObject
            {
                ["operationId"] = id,
                ["x-kubernetes-action"] = action,
                ["x-kubernetes-group-version-kind"] = gvk.DeepClone(),
            };
            var parameters = new JsonArray();
            foreach (var q in query)
            {
                var type = q is "limit" or "timeoutSeconds" or "gracePeriodSeconds" ? "integer" : q is "watch" or "force" ? "boolean" : "string";
                var p = new JsonObject { ["name"] = q, ["in"] = "query", ["description"] = ParameterDescription(q) };
                if (v2) { p["type"] = type; p["uniqueItems"] = true; }
                else p["schema"] = new JsonObject { ["type"] = type, ["uniqueItems"] = true };
                parameters.Add(p);
            }
            if (v2)
            {
                if (body is not null)
                    parameters.Add(new JsonObject { ["name"] = "body", ["in"] = "body", ["required"] = true, ["schema"] = body == PatchBody ? new JsonObject { ["type"] = "object" } : Ref(body) });
                if (body == PatchBody) op["consumes"] = new JsonArray(PatchTypes.Select(t => (JsonNode)t).ToArray());
                op["produces"] = new JsonArray("application/json", "application/yaml");
            }
            else if (body is not null)
            {
                var content = new JsonObject();
                foreach (var t in body == PatchBody ? PatchTypes : ["*/*"])
                    content[t] = new JsonObject { ["schema"] = body == PatchBody ? new JsonObject { ["type"] = "object" } : Ref(body) };
                op["requestBody"] = new JsonObject { ["content"] = content, ["required"] = true };
            }
            if (parameters.Count > 0) op["parameters"] = parameters;
            var ok = new JsonObject { ["description"] = "OK" };
            if (response is not null)
            {
                if (v2) ok["schema"] = Ref(response);
                else ok["content"] = new JsonObject
                {
                    ["application/json"] = new JsonObject { ["schema"] = Ref(response) },
                    ["application/yaml"] = new JsonObject { ["schema"] = Ref(response) },
                };
            }
            op["responses"] = new JsonObject { ["200"] = ok, ["401"] = new JsonObject { ["description"] = "Unauthorized" } };
            return op;
        }

        private JsonObject Ref(string name) => new() { ["$ref"] = (v2 ? "#/definitions/" : ModelSchemas.RefPrefix) + name };

        private static string ParameterDescription(string q) => q switch
        {
            "fieldValidation" => "fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields: Ignore, Warn (default) or Strict.",
            "dryRun" => "When present, indicates that modifications should not be persisted. Valid value: All.",
            "fieldManager" => "fieldManager is a name associated with the actor or entity that is making these changes.",
            "force" => "Force is going to \"force\" Apply requests: the request re-acquires conflicting fields owned by other people.",
            "labelSelector" => "A selector to restrict the list of returned objects by their labels.",
            "fieldSelector" => "A selector to restrict the list of returned objects by their fields.",
            "limit" => "The maximum number of responses to return for a list call.",
            "continue" => "The continue option should be set when retrieving more results from the server.",
            "resourceVersion" => "Sets a constraint on what resource versions a request may be served from.",
            "timeoutSeconds" => "Timeout for the list/watch call.",
            "watch" => "Watch for changes to the described resources and return them as a stream of add, update, and remove notifications.",
            "gracePeriodSeconds" => "The duration in seconds before the object should be deleted.",
            "propagationPolicy" => "Whether and how garbage collection will be performed: Orphan, Background or Foreground.",
            _ => q,
        };
    }

    /// <summary>
    /// A v3 schema in v2 form: refs under #/definitions, a described $ref as $ref with description
    /// (how Kubernetes publishes v2), and IntOrString/Quantity as strings with their formats.
    /// </summary>
    public static JsonNode ToV2(JsonNode schema)
    {
        switch (schema)
        {
            case JsonObject o:
                var result = new JsonObject();
                if (o["allOf"] is JsonArray { Count: 1 } all && all[0] is JsonObject only && only["$ref"] is not null && o["properties"] is null)
                {
                    foreach (var (k, v) in o) if (k != "allOf") result[k] = v is null ? null : ToV2(v);
                    result["$ref"] = ToV2(only["$ref"]!);
                    return result;
                }
                if (o["oneOf"] is not null && o["type"] is null)
                {
                    foreach (var (k, v) in o) if (k != "oneOf") result[k] = v?.DeepClone();
                    result["type"] = "string";
                    return result;
                }
                foreach (var (k, v) in o) result[k] = v is null ? null : ToV2(v);
                return result;
            case JsonArray a:
                return new JsonArray(a.Select(e => e is null ? null : ToV2(e)).ToArray());
            case JsonValue v when v.TryGetValue<string>(out var s) && s.StartsWith(ModelSchemas.RefPrefix, StringComparison.Ordinal):
                return JsonValue.Create("#/definitions/" + s[ModelSchemas.RefPrefix.Length..]);
            default:
                return schema.DeepClone();
        }
    }
}
