using k8s.Models;

namespace AkkaKube.Actors.Client;

/// <summary>
/// Kubernetes label-selector semantics (metav1.LabelSelector and core/v1 NodeSelectorTerm), shared by the
/// scheduler and the controllers. An empty LabelSelector matches everything; a null one matches nothing.
/// </summary>
public static class LabelSelectors
{
    public static bool Matches(V1LabelSelector? selector, IDictionary<string, string>? labels)
    {
        if (selector is null) return false;
        labels ??= EmptyLabels;
        if (selector.MatchLabels is not null)
            foreach (var (k, v) in selector.MatchLabels)
                if (!labels.TryGetValue(k, out var actual) || actual != v) return false;
        if (selector.MatchExpressions is not null)
            foreach (var e in selector.MatchExpressions)
                if (!MatchesExpression(e.OperatorProperty, e.Key, e.Values, labels)) return false;
        return true;
    }

    /// <summary>True when the selector has neither matchLabels nor matchExpressions (matches everything).</summary>
    public static bool IsEmpty(V1LabelSelector? selector) =>
        selector is not null && (selector.MatchLabels is null || selector.MatchLabels.Count == 0)
        && (selector.MatchExpressions is null || selector.MatchExpressions.Count == 0);

    /// <summary>The selector as a label-selector query string (`a=b,c in (d,e)`), for list calls.</summary>
    public static string ToQuery(V1LabelSelector selector)
    {
        var parts = new List<string>();
        if (selector.MatchLabels is not null)
            parts.AddRange(selector.MatchLabels.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={p.Value}"));
        if (selector.MatchExpressions is not null)
            foreach (var e in selector.MatchExpressions)
                parts.Add(e.OperatorProperty switch
                {
                    "In" => $"{e.Key} in ({string.Join(",", e.Values ?? [])})",
                    "NotIn" => $"{e.Key} notin ({string.Join(",", e.Values ?? [])})",
                    "Exists" => e.Key,
                    "DoesNotExist" => "!" + e.Key,
                    _ => e.Key,
                });
        return string.Join(",", parts);
    }

    /// <summary>NodeSelector: the terms are ORed, expressions inside a term ANDed; no terms matches nothing.</summary>
    public static bool Matches(V1NodeSelector? selector, V1Node node)
    {
        if (selector?.NodeSelectorTerms is null) return false;
        foreach (var term in selector.NodeSelectorTerms)
            if (Matches(term, node)) return true;
        return false;
    }

    /// <summary>A term with no expressions and no fields matches nothing (Kubernetes semantics).</summary>
    public static bool Matches(V1NodeSelectorTerm term, V1Node node)
    {
        var any = false;
        var labels = node.Metadata?.Labels ?? EmptyLabels;
        if (term.MatchExpressions is not null)
            foreach (var e in term.MatchExpressions)
            {
                any = true;
                if (!MatchesExpression(e.OperatorProperty, e.Key, e.Values, labels)) return false;
            }
        if (term.MatchFields is not null)
            foreach (var f in term.MatchFields)
            {
                any = true;
                var fields = new Dictionary<string, string>(StringComparer.Ordinal);
                if (f.Key == "metadata.name" && node.Metadata?.Name is { } name) fields["metadata.name"] = name;
                if (!MatchesExpression(f.OperatorProperty, f.Key, f.Values, fields)) return false;
            }
        return any;
    }

    public static bool MatchesExpression(string op, string key, IList<string>? values, IDictionary<string, string> labels)
    {
        var has = labels.TryGetValue(key, out var actual);
        switch (op)
        {
            case "In": return has && values is not null && values.Contains(actual!);
            case "NotIn": return !has || values is null || !values.Contains(actual!);
            case "Exists": return has;
            case "DoesNotExist": return !has;
            case "Gt" or "Lt":
                if (!has || values is null || values.Count != 1) return false;
                if (!long.TryParse(actual, out var a) || !long.TryParse(values[0], out var b)) return false;
                return op == "Gt" ? a > b : a < b;
            default: return false;
        }
    }

    private static readonly Dictionary<string, string> EmptyLabels = new(StringComparer.Ordinal);
}
