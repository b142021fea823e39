using System.Text.Json.Nodes;
using AkkaKube.Actors.ApiServer.OpenApi;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Tests.ApiServer.OpenApi;

/// <summary>The OpenAPI documents generated from the KubernetesClient models, read the way kubectl explain reads them.</summary>
public class OpenApiGeneratorTests
{
    private static readonly AkkaKube.Actors.ApiServer.Registry.ApiRegistry Registry = AkkaKube.Actors.ApiServer.Registry.ApiRegistry.CreateBuiltIn();

    private static readonly OpenApiDocuments Docs = OpenApiService.Current(Registry);

    private static JsonObject V3(string path) => JsonNode.Parse(Docs.V3[path].Content)!.AsObject();

    private static JsonObject Schemas(JsonObject doc) => doc["components"]!["schemas"]!.AsObject();

    /// <summary>The schema with this GVK in its x-kubernetes-group-version-kind, as explain finds a kind.</summary>
    private static JsonObject KindSchema(JsonObject doc, string group, string version, string kind) =>
        Schemas(doc).Select(s => s.Value!.AsObject()).Single(s => s["x-kubernetes-group-version-kind"] is JsonArray gvks &&
            gvks.Any(g => (string?)g!["group"] == group && (string?)g["version"] == version && (string?)g["kind"] == kind));

    /// <summary>Follows $ref and single-element allOf to the schema that has the fields.</summary>
    private static JsonObject Resolve(JsonObject doc, JsonObject schema, string refPrefix = ModelSchemas.RefPrefix)
    {
        while (true)
        {
            if (schema["$ref"] is { } r)
            {
                var name = r.GetValue<string>();
                Assert.StartsWith(refPrefix, name);
                var defs = refPrefix == ModelSchemas.RefPrefix ? Schemas(doc) : doc["definitions"]!.AsObject();
                schema = defs[name[refPrefix.Length..]]!.AsObject();
            }
            else if (schema["allOf"] is JsonArray { Count: 1 } all) schema = all[0]!.AsObject();
            else if (schema["items"] is JsonObject items) schema = items;
            else return schema;
        }
    }

    /// <summary>The schema at a dotted field path (arrays step into their items), or null when a field does not exist.</summary>
    private static JsonObject? Field(JsonObject doc, JsonObject root, string path)
    {
        var current = root;
        foreach (var field in path.Split('.'))
        {
            var resolved = Resolve(doc, current);
            if (resolved["properties"]?[field] is not JsonObject next) return null;
            current = next;
        }
        return current;
    }

    [Theory]
    [InlineData("apis/apps/v1", "apps", "Deployment", "spec.strategy.rollingUpdate.maxSurge")]
    [InlineData("apis/apps/v1", "apps", "Deployment", "spec.template.spec.containers.image")]
    [InlineData("apis/apps/v1", "apps", "ReplicaSet", "spec.selector.matchExpressions.operator")]
    [InlineData("api/v1", "", "Pod", "spec.containers.resources.limits")]
    [InlineData("api/v1", "", "Pod", "metadata.ownerReferences.uid")]
    [InlineData("api/v1", "", "Service", "spec.ports.targetPort")]
    [InlineData("api/v1", "", "Node", "status.conditions.lastHeartbeatTime")]
    [InlineData("apis/policy/v1", "policy", "PodDisruptionBudget", "spec.minAvailable")]
    [InlineData("apis/discovery.k8s.io/v1", "discovery.k8s.io", "EndpointSlice", "endpoints.conditions.ready")]
    public void A_field_of_a_served_kind_exists(string gv, string group, string kind, string path)
    {
        var doc = V3(gv);
        Assert.NotNull(Field(doc, KindSchema(doc, group, "v1", kind), path));
    }

    [Theory]
    [InlineData("spec.strategee")]
    [InlineData("spec.strategy.rollingUpdate.maxSurgeX")]
    [InlineData("spec.template.spec.containers.imag")]
    [InlineData("status.nope")]
    public void A_field_that_is_not_in_the_model_does_not_exist(string path)
    {
        var doc = V3("apis/apps/v1");
        Assert.Null(Field(doc, KindSchema(doc, "apps", "v1", "Deployment"), path));
    }

    [Fact]
    public void Every_ref_of_every_v3_document_resolves_inside_that_document()
    {
        foreach (var (path, blob) in Docs.V3)
        {
            var doc = JsonNode.Parse(blob.Content)!.AsObject();
            var schemas = Schemas(doc);
            var refs = Refs(doc).ToList();
            Assert.NotEmpty(refs);
            foreach (var r in refs)
            {
                Assert.StartsWith(ModelSchemas.RefPrefix, r);
                Assert.True(schemas.ContainsKey(r[ModelSchemas.RefPrefix.Length..]), $"{path}: {r} does not resolve");
            }
        }
    }

    /// <summary>A protobuf message as (field number, bytes or varint) pairs, read with Google.Protobuf's reader.</summary>
    private static List<(int Field, byte[]? Bytes, ulong Varint)> Fields(byte[] message)
    {
        var fields = new List<(int, byte[]?, ulong)>();
        var input = new Google.Protobuf.CodedInputStream(message);
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            var field = Google.Protobuf.WireFormat.GetTagFieldNumber(tag);
            switch (Google.Protobuf.WireFormat.GetTagWireType(tag))
            {
                case Google.Protobuf.WireFormat.WireType.LengthDelimited: fields.Add((field, input.ReadBytes().ToByteArray(), 0)); break;
                case Google.Protobuf.WireFormat.WireType.Varint: fields.Add((field, null, input.ReadUInt64())); break;
                case Google.Protobuf.WireFormat.WireType.Fixed64: fields.Add((field, null, input.ReadFixed64())); break;
                default: throw new InvalidOperationException($"unexpected wire type in field {field}");
            }
        }
        return fields;
    }

    private static string Text(byte[]? bytes) => System.Text.Encoding.UTF8.GetString(bytes!);

    [Fact]
    public void The_v2_document_in_protobuf_has_every_definition_with_its_fields_and_extensions()
    {
        var json = JsonNode.Parse(Docs.V2.Content)!.AsObject();
        var document = Fields(Docs.V2Protobuf.Content);
        Assert.Equal("2.0", Text(document.Single(f => f.Field == 1).Bytes)); // Document.swagger
        // Document.definitions (9) → NamedSchema (1) {name 1, Schema 2}
        var named = Fields(document.Single(f => f.Field == 9).Bytes!).Select(f => Fields(f.Bytes!)).ToList();
        var definitions = named.ToDictionary(n => Text(n.Single(f => f.Field == 1).Bytes), n => Fields(n.Single(f => f.Field == 2).Bytes!));
        Assert.Equal(json["definitions"]!.AsObject().Select(d => d.Key).Order(), definitions.Keys.Order());

        var deployment = definitions["io.k8s.api.apps.v1.Deployment"];
        Assert.Equal(["object"], Fields(deployment.Single(f => f.Field == 22).Bytes!).Select(f => Text(f.Bytes))); // Schema.type → TypeItem
        var properties = Fields(deployment.Single(f => f.Field == 25).Bytes!).Select(f => Fields(f.Bytes!)).ToList();
        Assert.Equal(["apiVersion", "kind", "metadata", "spec", "status"], properties.Select(p => Text(p.Single(f => f.Field == 1).Bytes)).Order());
        // Schema.vendor_extension (31) → NamedAny {name, Any{yaml 2}}: the GVK as kubectl reads it
        var extension = deployment.Where(f => f.Field == 31).Select(f => Fields(f.Bytes!)).Single(n => Text(n.Single(f => f.Field == 1).Bytes) == "x-kubernetes-group-version-kind");
        var yaml = Text(Fields(extension.Single(f => f.Field == 2).Bytes!).Single(f => f.Field == 2).Bytes);
        Assert.True(JsonNode.DeepEquals(json["definitions"]!["io.k8s.api.apps.v1.Deployment"]!["x-kubernetes-group-version-kind"], JsonNode.Parse(yaml)));
        // Document.paths (8) → NamedPathItem (2): one per v2 path
        var paths = Fields(document.Single(f => f.Field == 8).Bytes!).Where(f => f.Field == 2).Select(f => Text(Fields(f.Bytes!).Single(x => x.Field == 1).Bytes)).ToList();
        Assert.Equal(json["paths"]!.AsObject().Select(p => p.Key), paths);
    }

    [Fact]
    public void Every_ref_of_the_v2_document_resolves_to_a_definition()
    {
        var doc = JsonNode.Parse(Docs.V2.Content)!.AsObject();
        Assert.Equal("2.0", (string?)doc["swagger"]);
        var definitions = doc["definitions"]!.AsObject();
        foreach (var r in Refs(doc))
        {
            Assert.StartsWith("#/definitions/", r);
            Assert.True(definitions.ContainsKey(r["#/definitions/".Length..]), $"{r} does not resolve");
        }
        // v2 publishes int-or-string and quantity as strings with a format, and a described $ref without allOf
        Assert.Equal("int-or-string", (string?)definitions[ModelSchemas.IntOrStringName]!["format"]);
        Assert.Equal("string", (string?)definitions[ModelSchemas.IntOrStringName]!["type"]);
        Assert.Equal("string", (string?)definitions[ModelSchemas.QuantityName]!["type"]);
        var strategy = definitions["io.k8s.api.apps.v1.DeploymentSpec"]!["properties"]!["strategy"]!;
        Assert.Equal("#/definitions/io.k8s.api.apps.v1.DeploymentStrategy", (string?)strategy["$ref"]);
        Assert.Null(strategy["allOf"]);
    }

    private static IEnumerable<string> Refs(JsonNode? node) => node switch
    {
        // a "$ref" holding an object is a field named $ref (JSONSchemaProps of CustomResourceDefinitions), not a reference
        JsonObject o => o.SelectMany(kv => kv.Key == "$ref" && kv.Value is JsonValue v ? [v.GetValue<string>()] : Refs(kv.Value)),
        JsonArray a => a.SelectMany(Refs),
        _ => [],
    };

    [Fact]
    public void Definitions_carry_Kubernetes_names_descriptions_and_formats()
    {
        var doc = V3("apis/apps/v1");
        var schemas = Schemas(doc);
        Assert.True(schemas.ContainsKey("io.k8s.api.apps.v1.DeploymentStrategy"));
        Assert.True(schemas.ContainsKey("io.k8s.api.core.v1.PodSpec"));
        Assert.True(schemas.ContainsKey("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"));
        Assert.True(schemas.ContainsKey("io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector"));
        var maxSurge = Field(doc, KindSchema(doc, "apps", "v1", "Deployment"), "spec.strategy.rollingUpdate.maxSurge")!;
        var intOrString = Resolve(doc, maxSurge);
        Assert.Equal("int-or-string", (string?)intOrString["format"]);
        Assert.Null(intOrString["type"]); // so kubectl explain prints <IntOrString>
        Assert.StartsWith("The maximum number of pods that can be scheduled above the desired number of pods", (string?)maxSurge["description"]);
        var replicas = Field(doc, KindSchema(doc, "apps", "v1", "Deployment"), "spec.replicas")!;
        Assert.Equal("integer", (string?)replicas["type"]);
        Assert.Equal("int32", (string?)replicas["format"]);
        var created = Field(doc, KindSchema(doc, "apps", "v1", "Deployment"), "metadata.creationTimestamp")!;
        Assert.Equal("date-time", (string?)created["format"]);
        var pods = V3("api/v1");
        var limits = Field(pods, KindSchema(pods, "", "v1", "Pod"), "spec.containers.resources.limits")!;
        Assert.Equal("object", (string?)limits["type"]);
        Assert.Equal(ModelSchemas.RefPrefix + ModelSchemas.QuantityName, (string?)limits["additionalProperties"]!["$ref"]);
    }

    [Fact]
    public void Required_fields_and_merge_keys_are_published()
    {
        var doc = V3("api/v1");
        var schemas = Schemas(doc);
        var container = schemas["io.k8s.api.core.v1.Container"]!;
        Assert.Contains("name", container["required"]!.AsArray().Select(n => (string?)n));
        var podSpec = schemas["io.k8s.api.core.v1.PodSpec"]!;
        Assert.Contains("containers", podSpec["required"]!.AsArray().Select(n => (string?)n));
        var containers = podSpec["properties"]!["containers"]!;
        Assert.Equal("name", (string?)containers["x-kubernetes-patch-merge-key"]);
        Assert.Equal("merge", (string?)containers["x-kubernetes-patch-strategy"]);
        Assert.Equal("map", (string?)containers["x-kubernetes-list-type"]);
        var ports = schemas["io.k8s.api.core.v1.Container"]!["properties"]!["ports"]!;
        Assert.Equal("containerPort", (string?)ports["x-kubernetes-patch-merge-key"]);
        var apps = Schemas(V3("apis/apps/v1"));
        Assert.Equal(["selector", "template"], apps["io.k8s.api.apps.v1.DeploymentSpec"]!["required"]!.AsArray().Select(n => (string?)n).Order());
        Assert.Equal("retainKeys", (string?)apps["io.k8s.api.apps.v1.DeploymentSpec"]!["properties"]!["strategy"]!["x-kubernetes-patch-strategy"]);
    }

    [Fact]
    public void Every_served_kind_has_a_patch_operation_with_its_gvk_and_fieldValidation()
    {
        foreach (var r in Registry.All.Where(r => r.Verbs.Contains("patch")))
        {
            var doc = V3(OpenApiDocuments.GroupVersionPath(r.Group, r.Version));
            var patches = doc["paths"]!.AsObject().Select(p => p.Value!["patch"]).OfType<JsonObject>()
                .Where(op => (string?)op["x-kubernetes-group-version-kind"]!["kind"] == r.Kind).ToList();
            Assert.True(patches.Count > 0, $"{r.Kind} has no patch operation");
            Assert.All(patches, op => Assert.Contains(op["parameters"]!.AsArray(), p => (string?)p!["name"] == "fieldValidation" && (string?)p["in"] == "query"));
            // strategic merge stays out: kubectl then computes its patches from its compiled-in types
            Assert.All(patches, op => Assert.Null(op["requestBody"]!["content"]!["application/strategic-merge-patch+json"]));
            KindSchema(doc, r.Group, r.Version, r.Kind);
        }
    }

    [Fact]
    public void The_root_lists_every_group_version_with_the_hash_of_its_document()
    {
        var root = JsonNode.Parse(Docs.V3Root.Content)!["paths"]!.AsObject();
        var expected = Registry.All.Select(r => OpenApiDocuments.GroupVersionPath(r.Group, r.Version)).Distinct().Order();
        Assert.Equal(expected, root.Select(p => p.Key).Order());
        foreach (var (path, entry) in root)
            Assert.Equal($"/openapi/v3/{path}?hash={Docs.V3[path].Hash}", (string?)entry!["serverRelativeURL"]);
    }

    [Fact]
    public void Descriptions_come_from_the_models_documentation()
    {
        var doc = V3("apis/apps/v1");
        var deployment = KindSchema(doc, "apps", "v1", "Deployment");
        Assert.Contains("declarative updates", (string?)deployment["description"], StringComparison.OrdinalIgnoreCase);
        Assert.Contains("Number of desired pods", (string?)Field(doc, deployment, "spec.replicas")!["description"]);
    }

    [Fact]
    public void Documents_are_generated_once_per_set_of_kinds()
    {
        Assert.Same(OpenApiService.Current(Registry), OpenApiService.Current(Registry));
        Assert.Equal(Docs.V2.Hash, OpenApiService.Current(Registry).V2.Hash);
    }

    [Fact]
    public void A_kind_with_its_own_schema_is_published_with_metadata_and_its_gvk()
    {
        var crontabs = new ApiResource("stable.example.com", "v1", "crontabs", "CronTab", true) { ShortNames = ["ct"] };
        var schema = JsonNode.Parse("""
            {"type":"object","properties":{"spec":{"type":"object","properties":{
              "cronSpec":{"type":"string","description":"the schedule"},"replicas":{"type":"integer","minimum":1}}}}}
            """)!.AsObject();
        var docs = OpenApiService.For([.. OpenApiService.Served(Registry), new OpenApiKind(crontabs, schema)]);
        var doc = JsonNode.Parse(docs.V3["apis/stable.example.com/v1"].Content)!.AsObject();
        var crontab = KindSchema(doc, "stable.example.com", "v1", "CronTab");
        Assert.Same(crontab, Schemas(doc)["com.example.stable.v1.CronTab"]);
        Assert.Equal("the schedule", (string?)Field(doc, crontab, "spec.cronSpec")!["description"]);
        Assert.NotNull(Field(doc, crontab, "metadata.labels"));
        Assert.Null(Field(doc, crontab, "spec.schedule"));
        Assert.NotNull(doc["paths"]!["/apis/stable.example.com/v1/namespaces/{namespace}/crontabs/{name}"]!["patch"]);
        Assert.Equal(Docs.V3["apis/apps/v1"].Hash, docs.V3["apis/apps/v1"].Hash);
    }
}
