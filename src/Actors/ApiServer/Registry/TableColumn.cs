using System.Globalization;
using System.Text.Json.Nodes;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.ApiServer.Registry;

/// <summary>
/// One column of a kind's server-side printing (meta.k8s.io Table): priority 1 columns only show with -o wide.
/// The cell function reads the object and the request time.
/// </summary>
public sealed record TableColumn(string Name, string Type, string Format, int Priority, string Description, Func<JsonObject, DateTime, JsonNode?> Cell)
{
    public static TableColumn Of(string name, Func<JsonObject, JsonNode?> cell, int priority = 0, string type = "string") =>
        new(name, type, "", priority, name, (o, _) => cell(o));

    public static TableColumn Of(string name, Func<JsonObject, string> cell, int priority = 0) =>
        new(name, "string", "", priority, name, (o, _) => cell(o));

    public static TableColumn Timed(string name, Func<JsonObject, DateTime, JsonNode?> cell, int priority = 0) =>
        new(name, "string", "", priority, name, cell);

    public static readonly TableColumn NameColumn = new("Name", "string", "name", 0,
        "Name must be unique within a namespace.", (o, _) => Cells.S(o["metadata"]?["name"]));

    public static readonly TableColumn AgeColumn = new("Age", "string", "", 0,
        "CreationTimestamp is a timestamp representing the server time when this object was created.", (o, now) => Cells.Age(o["metadata"]?["creationTimestamp"], now));

    public static readonly IReadOnlyList<TableColumn> NameAge = [NameColumn, AgeColumn];
}

/// <summary>Cell helpers shared by the kinds' columns (kubectl's printers format the same way).</summary>
public static class Cells
{
    public static string S(JsonNode? n) => Meta.Str(n);
    public static string Or(string s, string fallback) => s.Length > 0 ? s : fallback;
    public static long I(JsonNode? n) => n is JsonValue v && v.TryGetValue<long>(out var l) ? l : 0;

    /// <summary>A string as is, anything else as JSON (IntOrString values print without quotes).</summary>
    public static string Plain(JsonNode n) => n is JsonValue v && v.TryGetValue<string>(out var s) ? s : n.ToJsonString();

    public static int Count(JsonNode? n) => n is JsonObject o ? o.Count : n is JsonArray a ? a.Count : 0;

    public static string Age(JsonNode? timestamp, DateTime now)
    {
        if (timestamp is not JsonValue v || !v.TryGetValue<string>(out var s) ||
            !DateTime.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var t))
            return "<unknown>";
        return HumanDuration(now - t);
    }

    /// <summary>kubectl's duration.HumanDuration.</summary>
    public static string HumanDuration(TimeSpan d)
    {
        var seconds = (long)d.TotalSeconds;
        if (seconds < -1) return "<invalid>";
        if (seconds < 0) return "0s";
        if (seconds < 60 * 2) return $"{seconds}s";
        var minutes = seconds / 60;
        if (minutes < 10) return seconds % 60 == 0 ? $"{minutes}m" : $"{minutes}m{seconds % 60}s";
        if (minutes < 60 * 3) return $"{minutes}m";
        var hours = minutes / 60;
        if (hours < 8) return minutes % 60 == 0 ? $"{hours}h" : $"{hours}h{minutes % 60}m";
        if (hours < 48) return $"{hours}h";
        if (hours < 24 * 8) return hours % 24 == 0 ? $"{hours / 24}d" : $"{hours / 24}d{hours % 24}h";
        if (hours < 24 * 365 * 2) return $"{hours / 24}d";
        if (hours < 24 * 365 * 8) return (hours / 24) % 365 == 0 ? $"{hours / 24 / 365}y" : $"{hours / 24 / 365}y{(hours / 24) % 365}d";
        return $"{hours / 24 / 365}y";
    }

    /// <summary>Container names or images of a pod spec, comma-separated (workload -o wide columns).</summary>
    public static string Containers(JsonNode? podSpec, string field) =>
        podSpec?["containers"] is JsonArray cs ? string.Join(",", cs.Select(c => S(c?[field]))) : "";

    /// <summary>spec.selector as kubectl prints it ("<none>" when empty).</summary>
    public static string Selector(JsonObject o)
    {
        var s = LabelSelectors.Format(o["spec"]?["selector"] as JsonObject);
        return s.Length > 0 ? s : "<none>";
    }

    /// <summary>A list shortened as kubectl does: the first three, then " + N more...".</summary>
    public static string FirstThree(IReadOnlyList<string> list, string none) =>
        list.Count == 0 ? none : list.Count > 3 ? string.Join(",", list.Take(3)) + $" + {list.Count - 3} more..." : string.Join(",", list);
}
