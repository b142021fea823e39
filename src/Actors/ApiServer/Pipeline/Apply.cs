using System.Text.Json.Nodes;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.ApiServer;

// Server-side apply (PATCH application/apply-patch+yaml).
public sealed partial class ApiPipeline
{

    /// <summary>
    /// Server-side apply: create when missing, else strategic-merge the applied configuration and drop
    /// fields this manager applied before but no longer applies. managedFields holds one Apply entry per
    /// manager (FieldsV1). Conflicts: a leaf field owned by another Apply manager whose value would change
    /// is 409 Conflict unless force=true (then ownership moves). Update-operation ownership is not tracked.
    /// </summary>
    private async Task<Result> ApplyAsync(RequestScope c, string name, JsonNode patch)
    {
        if (patch is not JsonObject applied) throw ApiException.BadRequest("an apply patch must be an object");
        if (applied["metadata"] is { } appliedMeta && appliedMeta is not JsonObject) throw ApiException.BadRequest("metadata must be an object");
        var manager = c.Q("fieldManager");
        if (string.IsNullOrEmpty(manager))
            throw ApiException.BadRequest("PATCH, application/apply-patch+yaml requests must supply the fieldManager parameter");
        if (c.Req.Subresource is not null) throw ApiException.MethodNotAllowed("server-side apply is only supported on the main resource");
        var force = c.Q("force") is "true" or "1";
        var appliedVersion = Meta.Str(applied["apiVersion"]);
        var appliedKind = Meta.Str(applied["kind"]);
        if (appliedVersion.Length == 0 || appliedKind.Length == 0) throw ApiException.BadRequest("apiVersion and kind must be set in an apply configuration");
        if (appliedVersion != c.R.ApiVersion) throw ApiException.BadRequest($"the API version in the data ({appliedVersion}) does not match the expected API version ({c.R.ApiVersion})");
        if (appliedKind != c.R.Kind) throw ApiException.BadRequest($"the kind in the data ({appliedKind}) does not match the expected kind ({c.R.Kind})");
        var bodyName = Meta.Field(applied, "name");
        if (!string.IsNullOrEmpty(bodyName) && bodyName != name)
            throw ApiException.BadRequest($"the name of the object ({bodyName}) does not match the name on the URL ({name})");
        var fields = ManagedFields.Of(applied);

        for (var attempt = 0; ; attempt++)
        {
            var old = await TryGet(c.R, c.Ns, name, c.Ct);
            if (old is null)
            {
                var obj = (JsonObject)applied.DeepClone();
                Meta.Of(obj)["name"] = name;
                Meta.Of(obj)["managedFields"] = new JsonArray(ManagedFields.Entry(manager, c.R.ApiVersion, fields));
                try
                {
                    return new(201, await CreateObject(c, obj), c.Warnings);
                }
                catch (ApiException e) when (e.Code == 409 && attempt < 4)
                {
                    continue;
                }
            }

            var entries = old["metadata"]?["managedFields"] as JsonArray ?? [];
            var conflicts = ManagedFields.Conflicts(entries, manager, applied, old);
            if (conflicts.Count > 0 && !force)
            {
                var causes = conflicts.Select(x => new JsonObject { ["reason"] = "FieldManagerConflict", ["message"] = $"conflict with \"{x.Manager}\"", ["field"] = x.Path });
                var details = ApiException.DetailsFor(c.R, name);
                details["causes"] = new JsonArray(causes.ToArray<JsonNode>());
                throw new ApiException(409, "Conflict",
                    $"Apply failed with {conflicts.Count} conflict{(conflicts.Count == 1 ? "" : "s")}: " + string.Join("; ", conflicts.Select(x => $"conflict with \"{x.Manager}\": {x.Path}")), details);
            }
            var previous = ManagedFields.FieldsOf(entries, manager);
            var merged = (JsonObject)Patching.StrategicMerge(old, StripForMerge(applied), c.Strategy.MergeKey)!;
            ManagedFields.RemoveDropped(merged, previous, fields, ManagedFields.OwnedByOthers(entries, manager));
            Meta.Of(merged)["managedFields"] = ManagedFields.Replace(entries, manager, c.R.ApiVersion, fields, force ? conflicts : []);
            try
            {
                return new(200, await Replace(c, merged, old, keepPrecondition: false), c.Warnings);
            }
            catch (ApiException e) when (e.Code == 409 && e.Reason == "Conflict" && attempt < 4)
            {
            }
        }
    }

    private static JsonObject StripForMerge(JsonObject applied)
    {
        var copy = (JsonObject)applied.DeepClone();
        if (copy["metadata"] is JsonObject m)
            foreach (var key in new[] { "managedFields", "resourceVersion", "uid", "creationTimestamp", "generation" }) m.Remove(key);
        return copy;
    }
}
