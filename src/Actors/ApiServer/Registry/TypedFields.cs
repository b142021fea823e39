using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using AkkaKube.Actors.Machinery;
using k8s;

namespace AkkaKube.Actors.ApiServer.Registry;

/// <summary>
/// Field validation against the kind's KubernetesClient model (the strategy's <see cref="ResourceStrategy.Model"/>):
/// a wrong JSON type is 400, fields the model does not know are reported (fieldValidation Strict/Warn) and pruned.
/// </summary>
public static class TypedFields
{
    /// <summary>
    /// Decodes the object with the kind's typed model (a wrong JSON type is 400 BadRequest, as the
    /// Go decoder does) and returns the paths of fields the model does not know.
    /// </summary>
    public static List<string> UnknownFields(Type? type, string kind, JsonObject obj)
    {
        if (type is null) return [];
        JsonNode? roundTrip;
        try
        {
            // With KubernetesJson's own options the tree is decoded and encoded directly; otherwise through text.
            roundTrip = Options is { } options
                ? System.Text.Json.JsonSerializer.SerializeToNode(System.Text.Json.JsonSerializer.Deserialize(obj, type, options), type, options)
                : JsonNode.Parse(KubernetesJson.Serialize(DeserializeTyped(obj, type)));
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or FormatException or InvalidOperationException or OverflowException or ArgumentException or NotSupportedException)
        {
            throw ApiException.BadRequest($"error decoding {kind}: {FirstLine(e.Message)}");
        }
        var unknown = new List<string>();
        Compare(obj, roundTrip, "", unknown);
        return unknown;
    }

    /// <summary>
    /// KubernetesJson's serializer options (its converters for IntOrString, Quantity, timestamps), handed out by its
    /// AddJsonOptions hook without changing them: decoding the tree with them saves writing and parsing the object
    /// twice per write. Null if the hook does not hand them out (then the text round trip is used).
    /// </summary>
    private static readonly System.Text.Json.JsonSerializerOptions? Options = CaptureOptions();

    private static System.Text.Json.JsonSerializerOptions? CaptureOptions()
    {
        System.Text.Json.JsonSerializerOptions? captured = null;
        KubernetesJson.AddJsonOptions(o => captured = o);
        return captured;
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<Type, System.Reflection.MethodInfo> Deserializers = new();

    /// <summary>KubernetesJson.Deserialize&lt;T&gt; (its converters for IntOrString, Quantity, timestamps) for a runtime type.</summary>
    private static object? DeserializeTyped(JsonObject obj, Type type)
    {
        var method = Deserializers.GetOrAdd(type, t => typeof(KubernetesJson).GetMethods()
            .First(m => m.Name == nameof(KubernetesJson.Deserialize) && m.IsGenericMethodDefinition &&
                        m.GetParameters() is [{ ParameterType: var p0 }, _] && p0 == typeof(string))
            .MakeGenericMethod(t));
        try
        {
            return method.Invoke(null, [obj.ToJsonString(), null]);
        }
        catch (System.Reflection.TargetInvocationException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
            throw;
        }
    }

    private static string FirstLine(string s) => s.Split('\n')[0];

    private static void Compare(JsonNode? input, JsonNode? known, string path, List<string> unknown)
    {
        switch (input)
        {
            case JsonObject io:
                if (known is not JsonObject ko) return;
                foreach (var (key, value) in io)
                {
                    if (value is null) continue;
                    var p = path.Length == 0 ? key : $"{path}.{key}";
                    if (!ko.TryGetPropertyValue(key, out var kv)) unknown.Add(p);
                    else Compare(value, kv, p, unknown);
                }
                break;
            case JsonArray ia when known is JsonArray ka && ka.Count == ia.Count:
                for (var i = 0; i < ia.Count; i++) Compare(ia[i], ka[i], $"{path}[{i}]", unknown);
                break;
        }
    }

    /// <summary>Removes the given unknown field paths (as returned by <see cref="UnknownFields"/>).</summary>
    public static void Prune(JsonObject obj, IEnumerable<string> paths)
    {
        foreach (var path in paths)
        {
            JsonNode? cur = obj;
            var segments = Regex.Split(path, @"\.|(?=\[)");
            for (var i = 0; i < segments.Length && cur is not null; i++)
            {
                var seg = segments[i];
                var last = i == segments.Length - 1;
                if (seg.StartsWith('['))
                {
                    var idx = int.Parse(seg.Trim('[', ']'), System.Globalization.CultureInfo.InvariantCulture);
                    cur = cur is JsonArray a && idx < a.Count ? a[idx] : null;
                }
                else if (cur is JsonObject o)
                {
                    if (last) o.Remove(seg);
                    else cur = o[seg];
                }
            }
        }
    }

}
