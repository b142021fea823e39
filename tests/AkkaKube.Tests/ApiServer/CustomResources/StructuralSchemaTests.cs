using System.Text.Json.Nodes;
using AkkaKube.Actors.Machinery;
using AkkaKube.Actors.ApiServer.CustomResources;

namespace AkkaKube.Tests.ApiServer.CustomResources;

/// <summary>openAPIV3Schema validation, defaulting, pruning and the structural check, table-driven.</summary>
public class StructuralSchemaTests
{
    private static readonly JsonObject CronTab = JsonNode.Parse("""
        {"type":"object","properties":{
          "spec":{"type":"object","required":["cronSpec"],"properties":{
            "cronSpec":{"type":"string","pattern":"^(\\d+|\\*)(/\\d+)?(\\s+(\\d+|\\*)(/\\d+)?){4}$"},
            "image":{"type":"string","maxLength":12},
            "replicas":{"type":"integer","minimum":1,"maximum":10,"default":1},
            "mode":{"type":"string","enum":["Allow","Forbid"]},
            "port":{"x-kubernetes-int-or-string":true},
            "tags":{"type":"array","minItems":1,"maxItems":3,"items":{"type":"string","minLength":2}},
            "labels":{"type":"object","additionalProperties":{"type":"string"}},
            "config":{"type":"object","x-kubernetes-preserve-unknown-fields":true},
            "ratio":{"type":"number","maximum":1,"exclusiveMaximum":true},
            "note":{"type":"string","nullable":true},
            "jobs":{"type":"array","x-kubernetes-list-type":"map","x-kubernetes-list-map-keys":["name"],
                    "items":{"type":"object","required":["name"],"properties":{"name":{"type":"string"},"retries":{"type":"integer","default":3}}}}}},
          "status":{"type":"object","properties":{"replicas":{"type":"integer"}}}}}
        """)!.AsObject();

    private static JsonObject Obj(string spec) =>
        JsonNode.Parse($$"""{"apiVersion":"stable.example.com/v1","kind":"CronTab","metadata":{"name":"c"},"spec":{{spec}}}""")!.AsObject();

    [Theory]
    [InlineData("""{"cronSpec":"* * * * */5"}""")]
    [InlineData("""{"cronSpec":"0 1 * * *","image":"busybox","replicas":2.0,"mode":"Allow","port":"http","tags":["ab"],"labels":{"a":"b"},"config":{"x":[1]},"ratio":0.5,"note":null}""")]
    [InlineData("""{"cronSpec":"* * * * *","port":8080,"jobs":[{"name":"a"},{"name":"b"}]}""")]
    public void Valid_objects_have_no_causes(string spec) => Assert.Empty(StructuralSchema.Validate(Obj(spec), CronTab));

    [Theory]
    [InlineData("""{"cronSpec":5}""", "spec.cronSpec", "FieldValueTypeInvalid", "Invalid value: \"integer\": spec.cronSpec in body must be of type string: \"integer\"")]
    [InlineData("""{}""", "spec.cronSpec", "FieldValueRequired", "Required value")]
    [InlineData("""{"cronSpec":"every minute"}""", "spec.cronSpec", "FieldValueInvalid", "in body should match '^(\\d+|\\*)")]
    [InlineData("""{"cronSpec":"* * * * *","image":"a-very-long-image"}""", "spec.image", "FieldValueTooLong", "Too long: may not be more than 12")]
    [InlineData("""{"cronSpec":"* * * * *","replicas":0}""", "spec.replicas", "FieldValueInvalid", "Invalid value: 0: spec.replicas in body should be greater than or equal to 1")]
    [InlineData("""{"cronSpec":"* * * * *","replicas":11}""", "spec.replicas", "FieldValueInvalid", "should be less than or equal to 10")]
    [InlineData("""{"cronSpec":"* * * * *","replicas":1.5}""", "spec.replicas", "FieldValueTypeInvalid", "must be of type integer: \"number\"")]
    [InlineData("""{"cronSpec":"* * * * *","replicas":"3"}""", "spec.replicas", "FieldValueTypeInvalid", "must be of type integer: \"string\"")]
    [InlineData("""{"cronSpec":"* * * * *","mode":"Maybe"}""", "spec.mode", "FieldValueNotSupported", "Unsupported value: \"Maybe\": supported values: \"Allow\", \"Forbid\"")]
    [InlineData("""{"cronSpec":"* * * * *","port":true}""", "spec.port", "FieldValueTypeInvalid", "must be of type integer or string")]
    [InlineData("""{"cronSpec":"* * * * *","tags":["ab","cd","ef","gh"]}""", "spec.tags", "FieldValueTooMany", "Too many: 4: must have at most 3 items")]
    [InlineData("""{"cronSpec":"* * * * *","tags":[]}""", "spec.tags", "FieldValueInvalid", "should have at least 1 items")]
    [InlineData("""{"cronSpec":"* * * * *","tags":["a"]}""", "spec.tags[0]", "FieldValueInvalid", "should be at least 2 chars long")]
    [InlineData("""{"cronSpec":"* * * * *","labels":{"a":1}}""", "spec.labels.a", "FieldValueTypeInvalid", "must be of type string")]
    [InlineData("""{"cronSpec":"* * * * *","ratio":1}""", "spec.ratio", "FieldValueInvalid", "should be less than 1")]
    [InlineData("""{"cronSpec":"* * * * *","image":null}""", "spec.image", "FieldValueTypeInvalid", "must be of type string: \"null\"")]
    [InlineData("""{"cronSpec":"* * * * *","jobs":[{"name":"a"},{"name":"a"}]}""", "spec.jobs[1]", "FieldValueDuplicate", "Duplicate value")]
    [InlineData("""{"cronSpec":"* * * * *","jobs":[{"retries":1}]}""", "spec.jobs[0].name", "FieldValueRequired", "Required value")]
    [InlineData("""[]""", "spec", "FieldValueTypeInvalid", "spec in body must be of type object: \"array\"")]
    public void A_violation_names_the_field(string spec, string field, string reason, string message)
    {
        var cause = Assert.Single(StructuralSchema.Validate(Obj(spec), CronTab));
        Assert.Equal(field, cause.Field);
        Assert.Equal(reason, cause.Reason);
        Assert.Contains(message, cause.Message);
    }

    [Fact]
    public void Junctors_validate_the_same_node()
    {
        var schema = JsonNode.Parse("""
            {"type":"object","properties":{"spec":{"type":"object",
              "properties":{"a":{"type":"string"},"b":{"type":"string"}},
              "oneOf":[{"required":["a"]},{"required":["b"]}],
              "not":{"required":["c"]}}}}
            """)!.AsObject();
        Assert.Empty(StructuralSchema.Validate(Obj("""{"a":"x"}"""), schema));
        Assert.Equal("spec", Assert.Single(StructuralSchema.Validate(Obj("""{"a":"x","b":"y"}"""), schema)).Field);
        Assert.Contains("oneOf", Assert.Single(StructuralSchema.Validate(Obj("""{}"""), schema)).Message);
    }

    [Theory]
    [InlineData("""{"cronSpec":"* * * * *"}""", "spec.replicas", "1")]
    [InlineData("""{"cronSpec":"* * * * *","replicas":4}""", "spec.replicas", "4")]
    [InlineData("""{"cronSpec":"* * * * *","jobs":[{"name":"a"},{"name":"b","retries":0}]}""", "spec.jobs", """[{"name":"a","retries":3},{"name":"b","retries":0}]""")]
    public void Defaults_fill_missing_fields_only(string spec, string path, string expected)
    {
        var obj = Obj(spec);
        StructuralSchema.Default(obj, CronTab);
        JsonNode? node = obj;
        foreach (var part in path.Split('.')) node = node![part];
        Assert.Equal(expected, node!.ToJsonString());
    }

    [Fact]
    public void Pruning_drops_unspecified_fields_and_keeps_preserved_ones()
    {
        var obj = Obj("""{"cronSpec":"* * * * *","unknown":1,"config":{"any":{"deep":[1]}},"labels":{"x":"y"},"jobs":[{"name":"a","extra":true}]}""");
        obj["extra"] = 1;
        obj["status"] = JsonNode.Parse("""{"replicas":1,"phase":"x"}""");
        var pruned = StructuralSchema.Prune(obj, CronTab);
        Assert.Equal(["extra", "spec.jobs[0].extra", "spec.unknown", "status.phase"], pruned.Order());
        Assert.Equal("""{"any":{"deep":[1]}}""", obj["spec"]!["config"]!.ToJsonString());
        Assert.Equal("y", (string?)obj["spec"]!["labels"]!["x"]);
        Assert.Equal("c", (string?)obj["metadata"]!["name"]);
        Assert.Equal("CronTab", (string?)obj["kind"]);
    }

    [Theory]
    [InlineData("""{"type":"object","properties":{"spec":{"type":"object","properties":{"a":{"type":"string"}}}}}""", null)]
    [InlineData("""{"type":"object","properties":{"spec":{"properties":{"a":{"type":"string"}}}}}""", "s.properties[spec].type")]
    [InlineData("""{"type":"string"}""", "s.type")]
    [InlineData("""{"type":"object","properties":{"a":{"type":"array"}}}""", "s.properties[a].items")]
    [InlineData("""{"type":"object","properties":{"a":{"type":"strin"}}}""", "s.properties[a].type")]
    [InlineData("""{"type":"object","properties":{"a":{"type":"string","allOf":[{"type":"string"}]}}}""", "s.properties[a].allOf[0].type")]
    [InlineData("""{"type":"object","properties":{"a":{"type":"object","properties":{"b":{"type":"string"}},"additionalProperties":{"type":"string"}}}}""", "s.properties[a].additionalProperties")]
    [InlineData("""{"type":"object","properties":{"a":{"type":"string","pattern":"(["}}}""", "s.properties[a].pattern")]
    [InlineData("""{"type":"object","properties":{"a":{"x-kubernetes-int-or-string":true},"b":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}}""", null)]
    public void Only_structural_schemas_pass_the_check(string schema, string? field)
    {
        var causes = StructuralSchema.CheckStructural(JsonNode.Parse(schema)!.AsObject(), "s");
        if (field is null) Assert.Empty(causes);
        else Assert.Equal(field, Assert.Single(causes).Field);
    }
}
