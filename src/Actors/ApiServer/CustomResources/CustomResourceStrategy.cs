using System.Globalization;
using System.Text.Json.Nodes;
using AkkaKube.Actors.ApiServer.Registry;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.ApiServer.CustomResources;

/// <summary>
/// The strategy of one served version of a custom resource, built from its CustomResourceDefinition: its
/// openAPIV3Schema prunes unknown fields (reported to fieldValidation), defaults and validates (422 naming the
/// field); additionalPrinterColumns are its Table; the scale subresource maps to the definition's paths.
/// Every version stores in one partition at the storage version (conversion None: only apiVersion changes).
/// Strategic merge patch is 415, as Kubernetes answers for custom resources.
/// </summary>
public sealed class CustomResourceStrategy : ResourceStrategy
{
    private readonly CrdVersion _version;
    private readonly string _apiVersion;
    private readonly string _storageApiVersion;
    private volatile string? _refusal;

    public CustomResourceStrategy(CustomResourceDefinitionSpec crd, CrdVersion version)
    {
        Definition = crd;
        _version = version;
        _apiVersion = $"{crd.Group}/{version.Name}";
        _storageApiVersion = $"{crd.Group}/{crd.StorageVersion.Name}";
        Columns = version.Columns.Count == 0
            ? TableColumn.NameAge
            : [TableColumn.NameColumn, .. version.Columns.Select(Column)];
        Scale = version.Scale?.Paths ?? ScalePaths.Default;
        FieldLabels = [.. FieldLabelSets.Metadata, .. version.SelectableFields];
    }

    public override IReadOnlyCollection<string> FieldLabels { get; }

    public CustomResourceDefinitionSpec Definition { get; }

    /// <summary>Refuses new objects from now on (the definition is being deleted).</summary>
    public void Terminate() =>
        _refusal = $"create not allowed while custom resource definition is terminating";

    public override string? CreateRefusal => _refusal;

    public override List<string> UnknownFields(JsonObject obj, string kind) => CustomResourceAdmission.UnknownFields(obj, _version);

    public override JsonObject? OpenApiSchema => _version.Schema;

    public override bool StrategicMergePatch => false;

    public override void Default(JsonObject obj) => CustomResourceAdmission.PruneAndDefault(obj, _version);

    public override IEnumerable<StatusCause> Validate(JsonObject obj) =>
        _version.Schema is { } schema ? StructuralSchema.Validate(obj, schema) : [];

    public override IReadOnlyList<TableColumn> Columns { get; }

    public override ScalePaths Scale { get; }

    /// <summary>Lists declared x-kubernetes-list-type: map with one key merge by it in server-side apply; other lists are atomic.</summary>
    public override string? MergeKey(IReadOnlyList<string> path)
    {
        JsonNode? node = _version.Schema;
        for (var i = 0; i < path.Count; i++)
        {
            node = node?["properties"]?[path[i]] ?? node?["additionalProperties"];
            if (i < path.Count - 1 && node?["type"] is JsonValue t && t.TryGetValue<string>(out var type) && type == "array")
                node = node["items"];
        }
        return node?["x-kubernetes-list-type"] is JsonValue lt && lt.TryGetValue<string>(out var listType) && listType == "map" &&
               node["x-kubernetes-list-map-keys"] is JsonArray { Count: 1 } keys ? Meta.Str(keys[0]) : null;
    }

    public override JsonObject ToStorage(JsonObject obj) => WithApiVersion(obj, _storageApiVersion);

    public override JsonObject FromStorage(JsonObject stored) => WithApiVersion(stored, _apiVersion);

    private static JsonObject WithApiVersion(JsonObject obj, string apiVersion)
    {
        if (Meta.Str(obj["apiVersion"]) == apiVersion) return obj;
        var copy = (JsonObject)obj.DeepClone();
        copy["apiVersion"] = apiVersion;
        return copy;
    }

    /// <summary>A printer column as a Table column: dates print as ages, other cells as the JSONPath finds them.</summary>
    private static TableColumn Column(PrinterColumn c) => new(c.Name, c.Type, c.Format, c.Priority, c.Description, (o, now) =>
    {
        var cell = CustomResourceDefinitionSpec.Cell(o, c);
        if (c.Type != "date" || cell is null) return cell;
        return DateTime.TryParse(Meta.Str(cell), CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var t)
            ? Cells.HumanDuration(now - t) : "<invalid>";
    });
}
