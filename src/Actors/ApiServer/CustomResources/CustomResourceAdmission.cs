using System.Text.Json.Nodes;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Machinery;
using AkkaKube.Actors.ApiServer.Registry;

namespace AkkaKube.Actors.ApiServer.CustomResources;

/// <summary>
/// What the apiserver does to a custom object before storing it, in Kubernetes' order: unknown fields
/// are found by pruning (fieldValidation reports them), then the object is pruned, defaulted and
/// validated against its version's schema. A version without a schema keeps everything.
/// </summary>
public static class CustomResourceAdmission
{
    /// <summary>The paths the schema does not specify (for fieldValidation=Strict/Warn); the object is not changed.</summary>
    public static List<string> UnknownFields(JsonObject obj, CrdVersion version) =>
        version.Schema is { } schema ? StructuralSchema.Prune((JsonObject)obj.DeepClone(), schema) : [];

    /// <summary>Prunes and defaults <paramref name="obj"/> in place (the strategy's defaulting step).</summary>
    public static void PruneAndDefault(JsonObject obj, CrdVersion version)
    {
        if (version.Schema is not { } schema) return;
        StructuralSchema.Prune(obj, schema);
        StructuralSchema.Default(obj, schema);
        // defaults may add fields the schema does not specify below them: prune again, as Kubernetes does
        StructuralSchema.Prune(obj, schema);
    }

    /// <summary>Prunes, defaults and validates <paramref name="obj"/> in place; a violation is a 422 naming the fields.</summary>
    public static void Admit(JsonObject obj, ApiResource resource, CrdVersion version)
    {
        if (version.Schema is not { } schema) return;
        PruneAndDefault(obj, version);
        var causes = StructuralSchema.Validate(obj, schema);
        if (causes.Count > 0)
            throw ApiException.Invalid(resource, obj["metadata"]?["name"]?.GetValue<string>() ?? "", causes);
    }
}
