using System.Globalization;
using System.Text.Json.Nodes;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.ApiServer;

/// <summary>
/// YAML request bodies (application/yaml, apply-patch+yaml) to JSON trees, with YAML 1.2 core scalar typing.
/// Built from the parser's event stream with an explicit stack: YamlStream's node model recurses once per
/// nesting level, so a body of 100,000 `[` overflowed the stack and killed the process before any depth check.
/// </summary>
public static class YamlJson
{
    /// <summary>Nesting limit, as System.Text.Json's default reader depth for JSON bodies.</summary>
    public const int MaxDepth = 100;

    public static JsonNode Parse(string yaml)
    {
        try
        {
            var parser = new Parser(new StringReader(yaml));
            parser.Consume<StreamStart>();
            if (!parser.Accept<DocumentStart>(out _)) throw ApiException.BadRequest("the request body holds no YAML document");
            parser.Consume<DocumentStart>();
            var root = ReadNode(parser);
            parser.Consume<DocumentEnd>();
            if (!parser.Accept<StreamEnd>(out _)) throw ApiException.BadRequest("the request body must hold exactly one YAML document");
            return root ?? throw ApiException.BadRequest("the request body is null");
        }
        catch (YamlException e)
        {
            throw ApiException.BadRequest($"the request body is not valid YAML: {e.Message.Split('\n')[0]}");
        }
    }

    // One open collection: the JSON container and, for a mapping, the key awaiting its value.
    private sealed class Frame(JsonNode container)
    {
        public JsonNode Container { get; } = container;
        public string? PendingKey { get; set; }
        public bool ExpectKey { get; set; } = container is JsonObject;
    }

    private static JsonNode? ReadNode(IParser parser)
    {
        var stack = new Stack<Frame>();
        while (true)
        {
            var ev = parser.Consume<ParsingEvent>();
            JsonNode? value;
            switch (ev)
            {
                case AnchorAlias:
                    throw ApiException.BadRequest("unsupported YAML node (aliases are not allowed)");
                case MappingStart or SequenceStart:
                    if (stack.Count >= MaxDepth) throw ApiException.BadRequest($"the request body is nested deeper than {MaxDepth} levels");
                    if (stack.TryPeek(out var top) && top.ExpectKey) throw ApiException.BadRequest("YAML mapping keys must be scalars");
                    stack.Push(new Frame(ev is MappingStart ? new JsonObject() : new JsonArray()));
                    continue;
                case MappingEnd or SequenceEnd:
                    value = stack.Pop().Container;
                    break;
                case Scalar s:
                    if (stack.TryPeek(out var parent) && parent.ExpectKey)
                    {
                        if (((JsonObject)parent.Container).ContainsKey(s.Value))
                            throw ApiException.BadRequest($"the request body has the mapping key \"{s.Value}\" twice");
                        parent.PendingKey = s.Value;
                        parent.ExpectKey = false;
                        continue;
                    }
                    value = Scalar(s);
                    break;
                default:
                    throw ApiException.BadRequest($"unexpected YAML event {ev.GetType().Name}");
            }
            if (!stack.TryPeek(out var into)) return value;
            switch (into.Container)
            {
                case JsonObject o:
                    o[into.PendingKey!] = value;
                    into.ExpectKey = true;
                    break;
                case JsonArray a:
                    a.Add(value);
                    break;
            }
        }
    }

    private static JsonNode? Scalar(Scalar s)
    {
        var text = s.Value;
        if (s.Style is ScalarStyle.SingleQuoted or ScalarStyle.DoubleQuoted or ScalarStyle.Literal or ScalarStyle.Folded) return JsonValue.Create(text);
        if (text is "" or "~" or "null" or "Null" or "NULL") return null;
        if (text is "true" or "True" or "TRUE") return JsonValue.Create(true);
        if (text is "false" or "False" or "FALSE") return JsonValue.Create(false);
        if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l)) return JsonValue.Create(l);
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && !double.IsInfinity(d) && !double.IsNaN(d) && text.Any(char.IsDigit))
            return JsonValue.Create(d);
        return JsonValue.Create(text);
    }
}
