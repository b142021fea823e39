using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using AkkaKube.Actors.Machinery;
using static AkkaKube.Actors.ApiServer.Registry.Validation;

namespace AkkaKube.Actors.ApiServer.Registry;

/// <summary>
/// A container's resources (Kubernetes' ValidateResourceRequirements and its defaulting): quantity syntax, sign,
/// range, integer-only resources, requests ≤ limits, and requests defaulted from limits.
/// </summary>
public static partial class ResourceRequirements
{
    public const string QuantityRegexText = "^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$";

    [GeneratedRegex(@"^([+-]?)([0-9]*\.?[0-9]*)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][-+]?[0-9]+)?$")]
    private static partial Regex QuantityRegex();

    private static readonly HashSet<string> StandardContainerResources = ["cpu", "memory", "ephemeral-storage"];

    /// <summary>The value of a quantity (a string such as "100m", "1Gi", "1e3", or a JSON number); null when it does not parse.</summary>
    public static decimal? Parse(JsonNode? node, out bool outOfRange)
    {
        outOfRange = false;
        string text;
        if (node is JsonValue v && v.GetValueKind() == JsonValueKind.String) text = v.GetValue<string>();
        else if (node is JsonValue n && n.GetValueKind() == JsonValueKind.Number) text = n.ToJsonString();
        else return null;
        var m = QuantityRegex().Match(text);
        if (!m.Success || !m.Groups[2].Value.Any(char.IsAsciiDigit)) return null;
        var suffix = m.Groups[3].Value;
        try
        {
            var mantissa = decimal.Parse(m.Groups[2].Value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture);
            var value = suffix switch
            {
                "" => mantissa,
                "Ki" or "Mi" or "Gi" or "Ti" or "Pi" or "Ei" => mantissa * (decimal)Math.Pow(1024, "KMGTPE".IndexOf(suffix[0]) + 1),
                "n" => mantissa / 1_000_000_000m,
                "u" => mantissa / 1_000_000m,
                "m" => mantissa / 1000m,
                "k" or "M" or "G" or "T" or "P" or "E" => mantissa * Pow10(3 * ("kMGTPE".IndexOf(suffix[0]) + 1)),
                _ => Scale(mantissa, int.Parse(suffix[1..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture)),
            };
            return m.Groups[1].Value == "-" ? -value : value;
        }
        catch (Exception e) when (e is OverflowException or FormatException)
        {
            // beyond decimal's 7.9e28, or an exponent too large for int: far out of any resource's range
            outOfRange = true;
            return null;
        }
    }

    private static decimal Pow10(int exponent)
    {
        var r = 1m;
        for (var i = 0; i < exponent; i++) r *= 10m;
        return r;
    }

    private static decimal Scale(decimal mantissa, int exponent)
    {
        if (exponent > 40) throw new OverflowException();
        if (exponent < -40) return 0m;
        return exponent >= 0 ? mantissa * Pow10(exponent) : mantissa / Pow10(-exponent);
    }

    /// <summary>Kubernetes' IsIntegerResourceName: extended resources (a domain other than kubernetes.io) count whole units.</summary>
    private static bool IsExtended(string name) =>
        name.Contains('/') && !name.StartsWith("kubernetes.io/", StringComparison.Ordinal) && !name.StartsWith("requests.", StringComparison.Ordinal);

    /// <summary>Requests default to limits for every resource that has a limit and no request (SetDefaults_Pod).</summary>
    public static void Default(JsonObject container)
    {
        if (container["resources"] is not JsonObject resources || resources["limits"] is not JsonObject { Count: > 0 } limits) return;
        var requests = resources["requests"] as JsonObject;
        if (requests is null && resources["requests"] is not null) return; // a wrong type: validation reports it
        requests ??= (JsonObject)(resources["requests"] = new JsonObject());
        foreach (var (name, value) in limits)
            if (!requests.ContainsKey(name)) requests[name] = value?.DeepClone();
    }

    /// <summary>Validates resources at <paramref name="path"/> (…containers[i].resources).</summary>
    public static void Validate(JsonNode? node, string path, List<StatusCause> causes)
    {
        if (node is null) return;
        if (node is not JsonObject resources)
        {
            causes.Add(InvalidRaw(path, node.ToJsonString(), "must be an object"));
            return;
        }
        var limits = List(resources, "limits", path, causes);
        var requests = List(resources, "requests", path, causes);
        foreach (var (name, request) in requests)
        {
            if (!limits.TryGetValue(name, out var limit)) continue;
            if (request > limit)
                causes.Add(Invalid($"{path}.requests", Text(resources["requests"]![name]), $"must be less than or equal to {name} limit of {Text(resources["limits"]![name])}"));
            else if (IsExtended(name) && request != limit)
                causes.Add(Invalid($"{path}.requests", Text(resources["requests"]![name]), $"must be equal to {name} limit of {Text(resources["limits"]![name])}"));
        }
        foreach (var name in requests.Keys.Where(IsExtended).Where(n => !limits.ContainsKey(n)))
            causes.Add(Forbidden($"{path}.limits", "Limit must be set for non overcommitable resources"));
    }

    private static Dictionary<string, decimal> List(JsonObject resources, string field, string path, List<StatusCause> causes)
    {
        var values = new Dictionary<string, decimal>(StringComparer.Ordinal);
        var node = resources[field];
        if (node is null) return values;
        if (node is not JsonObject list)
        {
            causes.Add(InvalidRaw($"{path}.{field}", node.ToJsonString(), "must be a map of resource names to quantities"));
            return values;
        }
        foreach (var (name, quantity) in list)
        {
            var at = $"{path}.{field}[{name}]";
            if (!name.Contains('/') && !StandardContainerResources.Contains(name) && !name.StartsWith("hugepages-", StringComparison.Ordinal))
            {
                causes.Add(Invalid(at, name, "must be a standard resource for containers"));
                continue;
            }
            var value = Parse(quantity, out var outOfRange);
            if (value is null)
            {
                causes.Add(outOfRange
                    ? Invalid(at, Text(quantity), $"must be less than or equal to {long.MaxValue}")
                    : Invalid(at, Text(quantity), $"quantities must match the regular expression '{QuantityRegexText}'"));
                continue;
            }
            if (value < 0)
                causes.Add(Invalid(at, Text(quantity), "must be greater than or equal to 0"));
            // The scheduler and kubelet count CPU in millicores and everything else in units, as int64 (Kubernetes'
            // MilliValue/Value): a quantity they cannot hold would be silently saturated, so it is refused here.
            else if ((name == "cpu" ? value * 1000m : value) > long.MaxValue)
                causes.Add(Invalid(at, Text(quantity), name == "cpu" ? $"must be less than or equal to {long.MaxValue}m" : $"must be less than or equal to {long.MaxValue}"));
            else if (IsExtended(name) && value != decimal.Truncate(value.Value))
                causes.Add(Invalid(at, Text(quantity), "must be an integer"));
            else
                values[name] = value.Value;
        }
        return values;
    }

    private static string Text(JsonNode? node) =>
        node is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : node?.ToJsonString() ?? "null";
}
