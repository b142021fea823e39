using System.Text.Json.Nodes;

namespace AkkaKube.Actors.ApiServer;

/// <summary>metav1.LabelSelector evaluation and its string form (for Scale.status.selector).</summary>
public static class Selectors
{
    public static bool MatchesLabelSelector(JsonObject selector, JsonObject? labels)
    {
        string? Label(string k) => labels?[k] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
        if (selector["matchLabels"] is JsonObject ml)
            foreach (var (k, v) in ml)
                if (Label(k) != Admission.Str(v)) return false;
        if (selector["matchExpressions"] is JsonArray exprs)
            foreach (var e in exprs.OfType<JsonObject>())
            {
                var key = Admission.Str(e["key"]);
                var values = (e["values"] as JsonArray)?.Select(Admission.Str).ToHashSet() ?? [];
                var actual = Label(key);
                var ok = Admission.Str(e["operator"]) switch
                {
                    "In" => actual is not null && values.Contains(actual),
                    "NotIn" => actual is null || !values.Contains(actual),
                    "Exists" => actual is not null,
                    "DoesNotExist" => actual is null,
                    _ => false,
                };
                if (!ok) return false;
            }
        return true;
    }

    /// <summary>"app=x,tier in (a,b)" — the string form Kubernetes prints for a LabelSelector.</summary>
    public static string Format(JsonObject? selector)
    {
        if (selector is null) return "";
        var parts = new List<string>();
        if (selector["matchLabels"] is JsonObject ml)
            parts.AddRange(ml.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={Admission.Str(kv.Value)}"));
        if (selector["matchExpressions"] is JsonArray exprs)
            foreach (var e in exprs.OfType<JsonObject>())
            {
                var key = Admission.Str(e["key"]);
                var values = string.Join(",", (e["values"] as JsonArray)?.Select(Admission.Str) ?? []);
                parts.Add(Admission.Str(e["operator"]) switch
                {
                    "In" => $"{key} in ({values})",
                    "NotIn" => $"{key} notin ({values})",
                    "Exists" => key,
                    "DoesNotExist" => $"!{key}",
                    _ => key,
                });
            }
        return string.Join(",", parts);
    }
}
