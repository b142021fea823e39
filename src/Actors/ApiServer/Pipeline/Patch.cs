using System.Text.Json.Nodes;
using AkkaKube.Actors.ApiServer.Registry;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.ApiServer;

// PATCH: JSON merge, JSON patch and strategic merge (apply is in Apply.cs).
public sealed partial class ApiPipeline
{

    private async Task<Result> PatchAsync(RequestScope c, string name)
    {
        var type = (c.Req.ContentType ?? "").Split(';')[0].Trim().ToLowerInvariant();
        if (type is not ("application/merge-patch+json" or "application/json-patch+json" or "application/strategic-merge-patch+json" or "application/apply-patch+yaml" or "application/apply-patch+json"))
            throw ApiException.UnsupportedMediaType(string.IsNullOrEmpty(type) ? "no Content-Type" : type);
        if (type == "application/strategic-merge-patch+json" && !c.Strategy.StrategicMergePatch)
            throw new ApiException(415, "UnsupportedMediaType",
                "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml");
        var patch = ParseBody(c);
        if (type.StartsWith("application/apply-patch", StringComparison.Ordinal))
            return await ApplyAsync(c, name, patch);

        for (var attempt = 0; ; attempt++)
        {
            var old = await Get(c.R, c.Ns, name, c.Ct);
            var target = c.Req.Subresource == "scale" ? ScaleSubresource.ToScale(old, c.Strategy.Scale) : (JsonObject)old.DeepClone();
            var patched = type switch
            {
                "application/merge-patch+json" => Patching.MergePatch(target, patch),
                "application/json-patch+json" => Patching.JsonPatch(target, patch),
                _ when c.Req.Subresource == "scale" => Patching.StrategicMerge(target, patch, MergeKeys.Common),
                _ => Patching.StrategicMerge(target, patch, c.Strategy.MergeKey),
            };
            if (patched is not JsonObject result) throw ApiException.BadRequest("the patch did not produce a JSON object");
            // a patch that makes metadata a non-object is the client's error, found before anything reads metadata
            if (result["metadata"] is not JsonObject) throw ApiException.BadRequest("metadata must be an object");
            var rvInPatch = patch is JsonObject po && po["metadata"] is JsonObject pm && pm["resourceVersion"] is not null ||
                            patch is JsonArray && Meta.Field(result, "resourceVersion") != Meta.Field(old, "resourceVersion");
            try
            {
                if (c.Req.Subresource == "scale")
                {
                    var (code, body) = await WriteScale(c, name, result, preconditionFromBody: rvInPatch, old);
                    return new(code, body, c.Warnings);
                }
                if (Meta.Field(result, "name") != name) throw ApiException.BadRequest("a patch may not change metadata.name");
                CheckKindUnchanged(c, result);
                return new(200, await Replace(c, result, old, keepPrecondition: rvInPatch), c.Warnings);
            }
            catch (ApiException e) when (e.Code == 409 && e.Reason == "Conflict" && !rvInPatch && attempt < 4)
            {
                // the object changed between our read and write: re-read and re-apply, as Kubernetes does
            }
        }
    }

    private static void CheckKindUnchanged(RequestScope c, JsonObject result)
    {
        if (Meta.Str(result["apiVersion"]) != c.R.ApiVersion || Meta.Str(result["kind"]) != c.R.Kind)
            throw ApiException.BadRequest("a patch may not change apiVersion or kind");
    }
}
