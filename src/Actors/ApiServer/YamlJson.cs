using System.Globalization;
using System.Text.Json.Nodes;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.ApiServer;

/// <summary>YAML request bodies (application/yaml, apply-patch+yaml) to JSON trees, with YAML 1.2 core scalar typing.</summary>
public static class YamlJson
{
    public static JsonNode Parse(string yaml)
    {
        try
        {
            var stream = new YamlStream();
            stream.Load(new StringReader(yaml));
            if (stream.Documents.Count != 1) throw ApiException.BadRequest("the request body must hold exactly one YAML document");
            return Convert(stream.Documents[0].RootNode, 0) ?? throw ApiException.BadRequest("the request body is null");
        }
        catch (YamlException e)
        {
            throw ApiException.BadRequest($"the request body is not valid YAML: {e.Message.Split('\n')[0]}");
        }
    }

    private static JsonNode? Convert(YamlNode node, int depth)
    {
        if (depth > 100) throw ApiException.BadRequest("the request body is nested too deeply");
        switch (node)
        {
            case YamlMappingNode map:
                var o = new JsonObject();
                foreach (var (k, v) in map.Children)
                {
                    if (k is not YamlScalarNode ks) throw ApiException.BadRequest("YAML mapping keys must be scalars");
                    o[ks.Value ?? ""] = Convert(v, depth + 1);
                }
                return o;
            case YamlSequenceNode seq:
                var a = new JsonArray();
                foreach (var item in seq.Children) a.Add(Convert(item, depth + 1));
                return a;
            case YamlScalarNode s:
                var text = s.Value ?? "";
                if (s.Style is ScalarStyle.SingleQuoted or ScalarStyle.DoubleQuoted or ScalarStyle.Literal or ScalarStyle.Folded) return JsonValue.Create(text);
                if (text is "" or "~" or "null" or "Null" or "NULL") return null;
                if (text is "true" or "True" or "TRUE") return JsonValue.Create(true);
                if (text is "false" or "False" or "FALSE") return JsonValue.Create(false);
                if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l)) return JsonValue.Create(l);
                if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && !double.IsInfinity(d) && !double.IsNaN(d) && text.Any(char.IsDigit))
                    return JsonValue.Create(d);
                return JsonValue.Create(text);
            default:
                throw ApiException.BadRequest("unsupported YAML node (aliases are not allowed)");
        }
    }
}
