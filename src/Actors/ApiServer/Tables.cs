using System.Text.Json.Nodes;
using AkkaKube.Actors.ApiServer.Registry;

namespace AkkaKube.Actors.ApiServer;

/// <summary>
/// Server-side printing: meta.k8s.io/v1 Table responses with the columns of the kind's strategy
/// (priority 1 columns only show with -o wide). Rows carry PartialObjectMetadata.
/// </summary>
public static class Tables
{
    /// <summary>True when the Accept header asks for a meta.k8s.io Table.</summary>
    public static bool Wanted(string? accept) =>
        accept is not null && accept.Split(',').Any(part =>
        {
            var p = part.Replace(" ", "");
            return p.Contains("as=Table") && p.Contains("g=meta.k8s.io") && (p.Contains("v=v1;") || p.EndsWith("v=v1", StringComparison.Ordinal) || p.Contains("v=v1beta1"));
        });

    public static string ApiVersionFor(string? accept) =>
        accept is not null && accept.Split(',').FirstOrDefault(p => p.Contains("as=Table"))?.Contains("v=v1beta1") == true &&
        !accept.Split(',').Any(p => p.Contains("as=Table") && (p.Contains("v=v1;") || p.TrimEnd().EndsWith("v=v1", StringComparison.Ordinal)))
            ? "meta.k8s.io/v1beta1" : "meta.k8s.io/v1";

    /// <summary>A Table for a list or a single object, with metadata.resourceVersion (needed by `get -w`).</summary>
    public static JsonObject ToTable(IReadOnlyList<TableColumn> columns, JsonNode body, string apiVersion = "meta.k8s.io/v1", bool includeObject = true)
    {
        var now = DateTime.UtcNow;
        var items = body["items"] is JsonArray list ? list.OfType<JsonObject>().ToList() : body is JsonObject one ? [one] : [];
        var rows = new JsonArray();
        foreach (var item in items) rows.Add(Row(item, columns, now, includeObject));
        var meta = new JsonObject();
        var rv = body["metadata"]?["resourceVersion"];
        if (rv is not null) meta["resourceVersion"] = rv.DeepClone();
        if (body["metadata"]?["continue"] is { } cont) meta["continue"] = cont.DeepClone();
        if (body["metadata"]?["remainingItemCount"] is { } rem) meta["remainingItemCount"] = rem.DeepClone();
        var defs = new JsonArray();
        foreach (var c in columns)
            defs.Add(new JsonObject { ["name"] = c.Name, ["type"] = c.Type, ["format"] = c.Format, ["description"] = c.Description, ["priority"] = c.Priority });
        return new JsonObject
        {
            ["kind"] = "Table",
            ["apiVersion"] = apiVersion,
            ["metadata"] = meta,
            ["columnDefinitions"] = defs,
            ["rows"] = rows,
        };
    }

    private static JsonObject Row(JsonObject item, IReadOnlyList<TableColumn> columns, DateTime now, bool includeObject)
    {
        var cells = new JsonArray();
        foreach (var c in columns)
        {
            JsonNode? cell;
            try
            {
                cell = c.Cell(item, now);
            }
            catch (Exception e) when (e is InvalidOperationException or FormatException or KeyNotFoundException)
            {
                cell = "<unknown>";
            }
            cells.Add(cell);
        }
        var row = new JsonObject { ["cells"] = cells };
        if (includeObject)
        {
            var meta = item["metadata"]?.DeepClone() as JsonObject ?? new JsonObject();
            meta.Remove("managedFields");
            row["object"] = new JsonObject { ["kind"] = "PartialObjectMetadata", ["apiVersion"] = "meta.k8s.io/v1", ["metadata"] = meta };
        }
        return row;
    }
}
