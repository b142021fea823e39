using System.Text.Json;
using System.Text.Json.Nodes;
using Google.Protobuf;

namespace AkkaKube.Actors.ApiServer.OpenApi;

/// <summary>
/// /openapi/v2 in protobuf (<c>application/com.github.proto-openapi.spec.v2@v1.0+protobuf</c>): the only form kubectl asks
/// for when it validates a kind client-side — every kind before kubectl 1.27, and since then a kind whose OpenAPI v3 document
/// has no PATCH operation (the review kinds, TokenRequest, Binding). Without it kubectl's `create -f` of such a kind failed
/// with "failed to download openapi". Encoded from the served JSON document with the field numbers of gnostic's
/// openapi.v2 messages (Document, Paths, PathItem, Operation, parameters, Responses, Schema); vendor extensions, defaults,
/// enums and examples are gnostic's Any with the value as YAML text (JSON is valid YAML).
/// </summary>
public static class OpenApiV2Protobuf
{
    public const string MediaType = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf";
    /// <summary>The dotted spelling: what kube-openapi answers with as Content-Type (the '@' is not a valid MIME token), and older clients send.</summary>
    public const string LegacyMediaType = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

    public static byte[] Encode(JsonObject document) => Message(w =>
    {
        w.Str(1, S(document["swagger"]));
        if (document["info"] is JsonObject info)
            w.Msg(2, Message(i =>
            {
                i.Str(1, S(info["title"]));
                i.Str(2, S(info["version"]));
                i.Str(3, S(info["description"]));
            }));
        if (document["paths"] is JsonObject paths)
            w.Msg(8, Message(p =>
            {
                foreach (var (name, item) in paths)
                    if (item is JsonObject o) p.Msg(2, Named(name, PathItem(o)));
            }));
        if (document["definitions"] is JsonObject definitions)
            w.Msg(9, Message(d =>
            {
                foreach (var (name, schema) in definitions)
                    if (schema is JsonObject o) d.Msg(1, Named(name, Schema(o)));
            }));
        VendorExtensions(w, 16, document);
    });

    private static readonly string[] Operations = ["get", "put", "post", "delete", "options", "head", "patch"];

    private static byte[] PathItem(JsonObject item) => Message(w =>
    {
        w.Str(1, S(item["$ref"]));
        for (var i = 0; i < Operations.Length; i++)
            if (item[Operations[i]] is JsonObject op) w.Msg(2 + i, Operation(op));
        foreach (var p in Objects(item["parameters"])) w.Msg(9, ParametersItem(p));
        VendorExtensions(w, 10, item);
    });

    private static byte[] Operation(JsonObject op) => Message(w =>
    {
        foreach (var t in Strings(op["tags"])) w.Str(1, t);
        w.Str(2, S(op["summary"]));
        w.Str(3, S(op["description"]));
        w.Str(5, S(op["operationId"]));
        foreach (var t in Strings(op["produces"])) w.Str(6, t);
        foreach (var t in Strings(op["consumes"])) w.Str(7, t);
        foreach (var p in Objects(op["parameters"])) w.Msg(8, ParametersItem(p));
        if (op["responses"] is JsonObject responses)
            w.Msg(9, Message(r =>
            {
                foreach (var (code, value) in responses)
                {
                    if (code.StartsWith("x-", StringComparison.Ordinal) || value is not JsonObject v) continue;
                    var responseValue = v["$ref"] is not null
                        ? Message(x => x.Msg(2, Reference(v)))
                        : Message(x => x.Msg(1, Message(resp =>
                        {
                            resp.Str(1, S(v["description"]));
                            if (v["schema"] is JsonObject s) resp.Msg(2, Message(item => item.Msg(1, Schema(s))));
                            VendorExtensions(resp, 5, v);
                        })));
                    r.Msg(1, Named(code, responseValue));
                }
                VendorExtensions(r, 2, responses);
            }));
        foreach (var t in Strings(op["schemes"])) w.Str(10, t);
        w.Bool(11, op["deprecated"]);
        VendorExtensions(w, 13, op);
    });

    private static byte[] Reference(JsonObject o) => Message(w =>
    {
        w.Str(1, S(o["$ref"]));
        w.Str(2, S(o["description"]));
    });

    /// <summary>A parameter or a reference to one; body parameters carry a schema, the others a primitive type.</summary>
    private static byte[] ParametersItem(JsonObject p)
    {
        if (p["$ref"] is not null) return Message(w => w.Msg(2, Reference(p)));
        var location = S(p["in"]);
        var parameter = location == "body"
            ? Message(w => w.Msg(1, Message(b =>
            {
                b.Str(1, S(p["description"]));
                b.Str(2, S(p["name"]));
                b.Str(3, location);
                b.Bool(4, p["required"]);
                if (p["schema"] is JsonObject s) b.Msg(5, Schema(s));
                VendorExtensions(b, 6, p);
            })))
            : Message(w => w.Msg(2, Message(n => n.Msg(location switch { "header" => 1, "formData" => 2, "path" => 4, _ => 3 }, NonBody(p, location)))));
        return Message(w => w.Msg(1, parameter));
    }

    /// <summary>Query and formData sub-schemas have allowEmptyValue at 5 and the rest shifted by one against header and path.</summary>
    private static byte[] NonBody(JsonObject p, string location) => Message(w =>
    {
        var shift = location is "query" or "formData" ? 1 : 0;
        w.Bool(1, p["required"]);
        w.Str(2, location);
        w.Str(3, S(p["description"]));
        w.Str(4, S(p["name"]));
        if (shift == 1) w.Bool(5, p["allowEmptyValue"]);
        w.Str(5 + shift, S(p["type"]));
        w.Str(6 + shift, S(p["format"]));
        if (p["items"] is JsonObject items) w.Msg(7 + shift, PrimitivesItems(items));
        w.Str(8 + shift, S(p["collectionFormat"]));
        w.Any(9 + shift, p["default"]);
        w.Bool(19 + shift, p["uniqueItems"]);
        foreach (var e in p["enum"] as JsonArray ?? []) w.Any(20 + shift, e, always: true);
        VendorExtensions(w, 22 + shift, p);
    });

    private static byte[] PrimitivesItems(JsonObject items) => Message(w =>
    {
        w.Str(1, S(items["type"]));
        w.Str(2, S(items["format"]));
        if (items["items"] is JsonObject nested) w.Msg(3, PrimitivesItems(nested));
        w.Str(4, S(items["collectionFormat"]));
        w.Any(5, items["default"]);
        VendorExtensions(w, 18, items);
    });

    private static byte[] Schema(JsonObject s) => Message(w =>
    {
        w.Str(1, S(s["$ref"]));
        w.Str(2, S(s["format"]));
        w.Str(3, S(s["title"]));
        w.Str(4, S(s["description"]));
        w.Any(5, s["default"]);
        w.Double(6, s["multipleOf"]);
        w.Double(7, s["maximum"]);
        w.Bool(8, s["exclusiveMaximum"]);
        w.Double(9, s["minimum"]);
        w.Bool(10, s["exclusiveMinimum"]);
        w.Int64(11, s["maxLength"]);
        w.Int64(12, s["minLength"]);
        w.Str(13, S(s["pattern"]));
        w.Int64(14, s["maxItems"]);
        w.Int64(15, s["minItems"]);
        w.Bool(16, s["uniqueItems"]);
        w.Int64(17, s["maxProperties"]);
        w.Int64(18, s["minProperties"]);
        foreach (var r in Strings(s["required"])) w.Str(19, r);
        foreach (var e in s["enum"] as JsonArray ?? []) w.Any(20, e, always: true);
        switch (s["additionalProperties"])
        {
            case JsonObject additional:
                w.Msg(21, Message(a => a.Msg(1, Schema(additional))));
                break;
            case JsonValue b when b.GetValueKind() is JsonValueKind.True or JsonValueKind.False:
                w.Msg(21, Message(a => a.BoolAlways(2, b.GetValue<bool>())));
                break;
        }
        // TypeItem and ItemsItem are lists: a single type or schema is a list of one
        if (s["type"] is { } type) w.Msg(22, Message(x => { foreach (var t in OneOrMany(type)) x.Str(1, S(t)); }));
        if (s["items"] is { } items) w.Msg(23, Message(x => { foreach (var o in OneOrMany(items).OfType<JsonObject>()) x.Msg(1, Schema(o)); }));
        foreach (var o in Objects(s["allOf"])) w.Msg(24, Schema(o));
        if (s["properties"] is JsonObject properties)
            w.Msg(25, Message(p =>
            {
                foreach (var (name, value) in properties)
                    if (value is JsonObject o) p.Msg(1, Named(name, Schema(o)));
            }));
        w.Str(26, S(s["discriminator"]));
        w.Bool(27, s["readOnly"]);
        w.Any(30, s["example"]);
        VendorExtensions(w, 31, s);
    });

    /// <summary>The object's x- keys as gnostic's NamedAny (name, Any{yaml}).</summary>
    private static void VendorExtensions(Writer w, int field, JsonObject o)
    {
        foreach (var (key, value) in o)
            if (key.StartsWith("x-", StringComparison.Ordinal))
                w.Msg(field, Message(n =>
                {
                    n.Str(1, key);
                    n.Msg(2, AnyOf(value));
                }));
    }

    private static byte[] AnyOf(JsonNode? value) => Message(a => a.Str(2, (value?.ToJsonString() ?? "null") + "\n"));

    private static byte[] Named(string name, byte[] value) => Message(w =>
    {
        w.StrAlways(1, name);
        w.Msg(2, value);
    });

    private static string S(JsonNode? n) => n is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : "";

    private static IEnumerable<string> Strings(JsonNode? n) => (n as JsonArray ?? []).Select(S).Where(s => s.Length > 0);

    private static IEnumerable<JsonNode?> OneOrMany(JsonNode n) => n is JsonArray a ? a : new[] { n };

    private static IEnumerable<JsonObject> Objects(JsonNode? n) => (n as JsonArray ?? []).OfType<JsonObject>();

    private static byte[] Message(Action<Writer> body)
    {
        using var stream = new MemoryStream();
        var output = new CodedOutputStream(stream, leaveOpen: true);
        body(new Writer(output));
        output.Flush();
        return stream.ToArray();
    }

    /// <summary>proto3 field writers: zero values (empty strings, false, 0) are left out, as a proto3 encoder does.</summary>
    private sealed class Writer(CodedOutputStream output)
    {
        public void Str(int field, string value)
        {
            if (value.Length > 0) StrAlways(field, value);
        }

        public void StrAlways(int field, string value)
        {
            output.WriteTag(field, WireFormat.WireType.LengthDelimited);
            output.WriteString(value);
        }

        public void Msg(int field, byte[] message)
        {
            output.WriteTag(field, WireFormat.WireType.LengthDelimited);
            output.WriteBytes(ByteString.CopyFrom(message));
        }

        public void Bool(int field, JsonNode? value)
        {
            if (value is JsonValue v && v.GetValueKind() == JsonValueKind.True) BoolAlways(field, true);
        }

        public void BoolAlways(int field, bool value)
        {
            output.WriteTag(field, WireFormat.WireType.Varint);
            output.WriteBool(value);
        }

        public void Int64(int field, JsonNode? value)
        {
            if (value is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.TryGetValue<long>(out var n) && n != 0)
            {
                output.WriteTag(field, WireFormat.WireType.Varint);
                output.WriteInt64(n);
            }
        }

        public void Double(int field, JsonNode? value)
        {
            if (value is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.TryGetValue<double>(out var d) && d != 0)
            {
                output.WriteTag(field, WireFormat.WireType.Fixed64);
                output.WriteDouble(d);
            }
        }

        /// <summary>A JSON value as gnostic's Any (left out when absent unless <paramref name="always"/>, for enum entries).</summary>
        public void Any(int field, JsonNode? value, bool always = false)
        {
            if (value is null && !always) return;
            Msg(field, AnyOf(value));
        }
    }
}
