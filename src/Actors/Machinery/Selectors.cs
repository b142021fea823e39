using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using k8s.Models;

namespace AkkaKube.Actors.Machinery;

/// <summary>A selector that cannot be parsed; the store answers 400 BadRequest with this message.</summary>
public sealed class SelectorException(string message) : Exception(message);

/// <summary>Label requirement operators; Gt/Lt only occur in node selector terms (integer label values).</summary>
public enum LabelOperator { Equals, NotEquals, In, NotIn, Exists, DoesNotExist, Gt, Lt }

public sealed record LabelRequirement(string Key, LabelOperator Operator, IReadOnlyList<string> Values)
{
    public bool Matches(IReadOnlyDictionary<string, string> labels)
    {
        var has = labels.TryGetValue(Key, out var value);
        return Operator switch
        {
            LabelOperator.Exists => has,
            LabelOperator.DoesNotExist => !has,
            LabelOperator.Equals => has && value == Values[0],
            // Kubernetes: "k!=v" also matches objects without the label.
            LabelOperator.NotEquals => !has || value != Values[0],
            LabelOperator.In => has && Values.Contains(value!),
            LabelOperator.NotIn => !has || !Values.Contains(value!),
            LabelOperator.Gt or LabelOperator.Lt => has && Values.Count == 1 &&
                long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var a) &&
                long.TryParse(Values[0], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var b) &&
                (Operator == LabelOperator.Gt ? a > b : a < b),
            _ => false,
        };
    }
}

/// <summary>
/// Kubernetes label selector: comma-separated requirements (AND) of the forms
/// <c>k=v</c>, <c>k==v</c>, <c>k!=v</c>, <c>k in (a,b)</c>, <c>k notin (a,b)</c>, <c>k</c>, <c>!k</c>.
/// Empty selects everything.
/// </summary>
public sealed class LabelSelector
{
    public static readonly LabelSelector Everything = new([]);

    private LabelSelector(IReadOnlyList<LabelRequirement> requirements) => Requirements = requirements;

    public IReadOnlyList<LabelRequirement> Requirements { get; }

    public bool IsEmpty => Requirements.Count == 0;

    /// <summary>A selector from requirements already parsed (metav1.LabelSelector, node selector terms).</summary>
    public static LabelSelector Of(IReadOnlyList<LabelRequirement> requirements) => requirements.Count == 0 ? Everything : new(requirements);

    /// <summary>The query-string form (`a=b,c in (d,e),!f`), as Kubernetes prints a selector.</summary>
    public override string ToString() => string.Join(",", Requirements.Select(r => r.Operator switch
    {
        LabelOperator.Equals => $"{r.Key}={r.Values[0]}",
        LabelOperator.NotEquals => $"{r.Key}!={r.Values[0]}",
        LabelOperator.In => $"{r.Key} in ({string.Join(",", r.Values)})",
        LabelOperator.NotIn => $"{r.Key} notin ({string.Join(",", r.Values)})",
        LabelOperator.DoesNotExist => "!" + r.Key,
        LabelOperator.Gt => $"{r.Key} gt {r.Values.FirstOrDefault()}",
        LabelOperator.Lt => $"{r.Key} lt {r.Values.FirstOrDefault()}",
        _ => r.Key,
    }));

    public bool Matches(IReadOnlyDictionary<string, string> labels)
    {
        foreach (var r in Requirements)
            if (!r.Matches(labels)) return false;
        return true;
    }

    /// <summary>Parses a selector; throws <see cref="SelectorException"/> naming the problem.</summary>
    public static LabelSelector Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return Everything;
        var p = new Parser(text);
        var requirements = new List<LabelRequirement>();
        while (true)
        {
            requirements.Add(p.Requirement());
            p.SkipSpaces();
            if (p.AtEnd) break;
            if (!p.Take(',')) throw p.Error("',' or end of selector");
        }
        return new LabelSelector(requirements);
    }

    private sealed class Parser(string text)
    {
        private int _pos;

        public bool AtEnd => _pos >= text.Length;

        public void SkipSpaces()
        {
            while (!AtEnd && text[_pos] == ' ') _pos++;
        }

        public bool Take(char c)
        {
            SkipSpaces();
            if (AtEnd || text[_pos] != c) return false;
            _pos++;
            return true;
        }

        private bool TakeString(string s)
        {
            if (string.CompareOrdinal(text, _pos, s, 0, s.Length) != 0) return false;
            _pos += s.Length;
            return true;
        }

        public SelectorException Error(string expected)
        {
            var found = AtEnd ? "end of selector" : $"'{text[_pos]}' at position {_pos}";
            return new SelectorException($"unable to parse label selector \"{text}\": found {found}, expected {expected}");
        }

        public LabelRequirement Requirement()
        {
            SkipSpaces();
            if (Take('!'))
            {
                var negated = Key();
                return new LabelRequirement(negated, LabelOperator.DoesNotExist, []);
            }
            var key = Key();
            SkipSpaces();
            if (AtEnd || text[_pos] == ',') return new LabelRequirement(key, LabelOperator.Exists, []);
            if (TakeString("==") || TakeString("="))
                return new LabelRequirement(key, LabelOperator.Equals, [Value()]);
            if (TakeString("!="))
                return new LabelRequirement(key, LabelOperator.NotEquals, [Value()]);
            if (Word("notin")) return new LabelRequirement(key, LabelOperator.NotIn, Set());
            if (Word("in")) return new LabelRequirement(key, LabelOperator.In, Set());
            throw Error("an operator (=, ==, !=, in, notin) or ','");
        }

        private bool Word(string w)
        {
            if (string.CompareOrdinal(text, _pos, w, 0, w.Length) != 0) return false;
            var after = _pos + w.Length;
            if (after < text.Length && text[after] != ' ' && text[after] != '(') return false;
            _pos = after;
            return true;
        }

        private List<string> Set()
        {
            if (!Take('(')) throw Error("'('");
            var values = new List<string>();
            while (true)
            {
                SkipSpaces();
                values.Add(Value());
                if (Take(')')) break;
                if (!Take(',')) throw Error("',' or ')'");
            }
            return values;
        }

        private string Key()
        {
            SkipSpaces();
            var start = _pos;
            while (!AtEnd && IsKeyChar(text[_pos])) _pos++;
            if (_pos == start) throw Error("a label key");
            var key = text[start.._pos];
            var problem = ValidateKey(key);
            if (problem is not null)
                throw new SelectorException($"unable to parse label selector \"{text}\": invalid label key \"{key}\": {problem}");
            return key;
        }

        private string Value()
        {
            SkipSpaces();
            var start = _pos;
            while (!AtEnd && IsValueChar(text[_pos])) _pos++;
            var value = text[start.._pos];
            if (value.Length > 63)
                throw new SelectorException($"unable to parse label selector \"{text}\": invalid label value \"{value}\": must be no more than 63 characters");
            if (value.Length > 0 && (!char.IsAsciiLetterOrDigit(value[0]) || !char.IsAsciiLetterOrDigit(value[^1])))
                throw new SelectorException($"unable to parse label selector \"{text}\": invalid label value \"{value}\": must begin and end with an alphanumeric character");
            return value;
        }

        private static bool IsKeyChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '/';

        private static bool IsValueChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.';

        private static string? ValidateKey(string key)
        {
            var slash = key.IndexOf('/');
            var name = slash < 0 ? key : key[(slash + 1)..];
            if (slash >= 0)
            {
                var prefix = key[..slash];
                if (prefix.Length == 0 || prefix.Length > 253) return "prefix must be a DNS subdomain of at most 253 characters";
                if (name.Contains('/')) return "a key may contain at most one '/'";
            }
            if (name.Length == 0 || name.Length > 63) return "name part must be 1 to 63 characters";
            if (!char.IsAsciiLetterOrDigit(name[0]) || !char.IsAsciiLetterOrDigit(name[^1]))
                return "name part must begin and end with an alphanumeric character";
            return null;
        }
    }
}

public sealed record FieldRequirement(string Path, bool Equal, string Value)
{
    public bool Matches(JsonNode? obj) => (FieldSelector.ValueAt(obj, Path) == Value) == Equal;

    /// <summary>The term as selector text, its value escaped so that it parses back to this requirement.</summary>
    public override string ToString()
    {
        var value = new StringBuilder();
        foreach (var c in Value)
        {
            if (c is '\\' or ',' or '=' or '!') value.Append('\\');
            value.Append(c);
        }
        return $"{Path}{(Equal ? "=" : "!=")}{value}";
    }
}

/// <summary>
/// Kubernetes field selector: comma-separated <c>path=value</c>, <c>path==value</c>, <c>path!=value</c>
/// on dotted JSON paths (metadata.name, spec.nodeName, status.phase, involvedObject.uid, …). A missing
/// field reads as the empty string; numbers and booleans as their JSON text. '\' escapes ',', '=', '!' and '\'.
/// </summary>
public sealed class FieldSelector
{
    public static readonly FieldSelector Everything = new([]);

    private FieldSelector(IReadOnlyList<FieldRequirement> requirements) => Requirements = requirements;

    public IReadOnlyList<FieldRequirement> Requirements { get; }

    public bool IsEmpty => Requirements.Count == 0;

    /// <summary>This selector with every path renamed by <paramref name="paths"/> (a field label to the object's path).</summary>
    public FieldSelector WithPaths(IReadOnlyDictionary<string, string> paths) =>
        new([.. Requirements.Select(r => paths.TryGetValue(r.Path, out var path) ? r with { Path = path } : r)]);

    public override string ToString() => string.Join(",", Requirements);

    public bool Matches(JsonNode? obj)
    {
        foreach (var r in Requirements)
            if (!r.Matches(obj)) return false;
        return true;
    }

    public static FieldSelector Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return Everything;
        var requirements = new List<FieldRequirement>();
        foreach (var term in SplitUnescaped(text))
        {
            var (path, op, value) = SplitTerm(text, term);
            path = path.Trim();
            if (path.Length == 0)
                throw new SelectorException($"invalid field selector \"{text}\": a term has an empty field path");
            foreach (var segment in path.Split('.'))
                if (segment.Length == 0 || !segment.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
                    throw new SelectorException($"invalid field selector \"{text}\": invalid field path \"{path}\"");
            requirements.Add(new FieldRequirement(path, op != "!=", value));
        }
        return new FieldSelector(requirements);
    }

    /// <summary>The field at a dotted path as selector text ("" when missing or null).</summary>
    public static string ValueAt(JsonNode? obj, string path)
    {
        var node = obj;
        foreach (var segment in path.Split('.'))
        {
            if (node is not JsonObject o || !o.TryGetPropertyValue(segment, out node)) return "";
        }
        if (node is JsonValue v)
        {
            return v.GetValueKind() switch
            {
                JsonValueKind.String => v.GetValue<string>(),
                JsonValueKind.True => "true",
                JsonValueKind.False => "false",
                JsonValueKind.Number => v.ToJsonString(),
                _ => "",
            };
        }
        return node is null ? "" : node.ToJsonString();
    }

    private static List<string> SplitUnescaped(string text)
    {
        var terms = new List<string>();
        var current = new StringBuilder();
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\\' && i + 1 < text.Length)
            {
                current.Append(c).Append(text[++i]);
                continue;
            }
            if (c == ',')
            {
                terms.Add(current.ToString());
                current.Clear();
                continue;
            }
            current.Append(c);
        }
        terms.Add(current.ToString());
        return terms;
    }

    private static (string Path, string Op, string Value) SplitTerm(string text, string term)
    {
        for (var i = 0; i < term.Length; i++)
        {
            var c = term[i];
            if (c == '\\') { i++; continue; }
            string? op = null;
            if (c == '!' && i + 1 < term.Length && term[i + 1] == '=') op = "!=";
            else if (c == '=' && i + 1 < term.Length && term[i + 1] == '=') op = "==";
            else if (c == '=') op = "=";
            if (op is null) continue;
            return (Unescape(text, term[..i], value: false), op, Unescape(text, term[(i + op.Length)..], value: true));
        }
        throw new SelectorException(string.Create(CultureInfo.InvariantCulture,
            $"invalid field selector \"{text}\": term \"{term}\" has no operator (=, ==, !=)"));
    }

    // A value's '=', '!' and ',' must be escaped, as Kubernetes' fields.UnescapeValue demands: `spec.nodeName===x` is a 400, not a match for "=x".
    private static string Unescape(string text, string s, bool value)
    {
        var b = new StringBuilder();
        for (var i = 0; i < s.Length; i++)
        {
            if (value && s[i] is '=' or '!' or ',')
                throw new SelectorException($"invalid field selector \"{text}\": invalid field selector value \"{s}\": unescaped '{s[i]}' (escape it as \\{s[i]})");
            if (s[i] == '\\')
            {
                if (i + 1 >= s.Length || s[i + 1] is not ('\\' or ',' or '=' or '!'))
                    throw new SelectorException($"invalid field selector \"{text}\": invalid escape sequence in \"{s}\"");
                b.Append(s[++i]);
                continue;
            }
            b.Append(s[i]);
        }
        return b.ToString();
    }
}

/// <summary>
/// metav1.LabelSelector and core/v1 node selectors, typed (k8s.Models) or as JSON, turned into the one
/// <see cref="LabelSelector"/> above, so apiserver, store, scheduler and controllers share one semantics.
/// An empty metav1.LabelSelector matches everything; a null one matches nothing.
/// </summary>
public static class LabelSelectors
{
    private static readonly IReadOnlyDictionary<string, string> NoLabels = new Dictionary<string, string>(StringComparer.Ordinal);

    private static LabelOperator OperatorOf(string? op) => op switch
    {
        "In" => LabelOperator.In,
        "NotIn" => LabelOperator.NotIn,
        "Exists" => LabelOperator.Exists,
        "DoesNotExist" => LabelOperator.DoesNotExist,
        "Gt" => LabelOperator.Gt,
        "Lt" => LabelOperator.Lt,
        // an unknown operator matches nothing (Kubernetes rejects it at validation)
        _ => (LabelOperator)(-1),
    };

    private static List<LabelRequirement> Requirements(IEnumerable<KeyValuePair<string, string>>? matchLabels,
        IEnumerable<(string Key, string? Op, IList<string>? Values)>? expressions)
    {
        var list = new List<LabelRequirement>();
        if (matchLabels is not null)
            list.AddRange(matchLabels.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => new LabelRequirement(kv.Key, LabelOperator.Equals, [kv.Value])));
        if (expressions is not null)
            list.AddRange(expressions.Select(e => new LabelRequirement(e.Key, OperatorOf(e.Op), (IReadOnlyList<string>?)e.Values?.ToList() ?? [])));
        return list;
    }

    /// <summary>The selector of a typed metav1.LabelSelector (null → null: matches nothing).</summary>
    public static LabelSelector? From(V1LabelSelector? selector) => selector is null ? null :
        LabelSelector.Of(Requirements(selector.MatchLabels, selector.MatchExpressions?.Select(e => (e.Key, (string?)e.OperatorProperty, (IList<string>?)e.Values))));

    /// <summary>The selector of a metav1.LabelSelector in JSON (null → null: matches nothing).</summary>
    public static LabelSelector? From(JsonObject? selector) => selector is null ? null :
        LabelSelector.Of(Requirements(
            (selector["matchLabels"] as JsonObject)?.Select(kv => new KeyValuePair<string, string>(kv.Key, Meta.Str(kv.Value))),
            (selector["matchExpressions"] as JsonArray)?.OfType<JsonObject>().Select(e => (Meta.Str(e["key"]), (string?)Meta.Str(e["operator"]),
                (IList<string>?)(e["values"] as JsonArray)?.Select(Meta.Str).ToList()))));

    public static bool Matches(V1LabelSelector? selector, IDictionary<string, string>? labels) =>
        From(selector)?.Matches(labels is null ? NoLabels : labels.AsReadOnly()) ?? false;

    /// <summary>A JSON metav1.LabelSelector against JSON labels (metadata.labels).</summary>
    public static bool Matches(JsonObject? selector, JsonObject? labels) =>
        From(selector)?.Matches(Meta.Labels(labels)) ?? false;

    /// <summary>True when the selector has neither matchLabels nor matchExpressions (matches everything).</summary>
    public static bool IsEmpty(V1LabelSelector? selector) => From(selector)?.IsEmpty ?? false;

    /// <summary>The selector as a label-selector query string (`a=b,c in (d,e)`), for list calls and Scale.status.selector.</summary>
    public static string ToQuery(V1LabelSelector selector) => From(selector)!.ToString();

    /// <summary>The string form of a JSON metav1.LabelSelector ("" for none).</summary>
    public static string Format(JsonObject? selector) => From(selector)?.ToString() ?? "";

    /// <summary>NodeSelector: the terms are ORed, expressions inside a term ANDed; no terms matches nothing.</summary>
    public static bool Matches(V1NodeSelector? selector, V1Node node) =>
        selector?.NodeSelectorTerms is { } terms && terms.Any(t => Matches(t, node));

    /// <summary>A term with no expressions and no fields matches nothing (Kubernetes semantics).</summary>
    public static bool Matches(V1NodeSelectorTerm term, V1Node node)
    {
        var expressions = Requirements(null, term.MatchExpressions?.Select(e => (e.Key, (string?)e.OperatorProperty, (IList<string>?)e.Values)));
        var fields = Requirements(null, term.MatchFields?.Select(e => (e.Key, (string?)e.OperatorProperty, (IList<string>?)e.Values)));
        if (expressions.Count == 0 && fields.Count == 0) return false;
        var labels = node.Metadata?.Labels is { } l ? l.AsReadOnly() : NoLabels;
        var nodeFields = new Dictionary<string, string>(StringComparer.Ordinal);
        if (node.Metadata?.Name is { } name) nodeFields["metadata.name"] = name;
        return LabelSelector.Of(expressions).Matches(labels) && LabelSelector.Of(fields).Matches(nodeFields);
    }
}
