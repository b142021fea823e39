using System.Text.Json.Nodes;

namespace AkkaKube.Actors.Machinery;

/// <summary>Where the scale subresource maps: dotted paths into the object (CustomResourceDefinition scale uses the same shape).</summary>
public sealed record ScalePaths(string SpecReplicas, string StatusReplicas, string? LabelSelector)
{
    public static readonly ScalePaths Default = new("spec.replicas", "status.replicas", "spec.selector");
}

/// <summary>
/// The autoscaling/v1 Scale view of an object with a scale subresource, shared by the apiserver and the in-memory API:
/// spec.replicas and status.replicas read at the kind's paths, status.selector as a label-selector string.
/// </summary>
public static class ScaleSubresource
{
    public static JsonNode? At(JsonObject obj, string path)
    {
        JsonNode? cur = obj;
        foreach (var segment in path.Split('.')) cur = cur is JsonObject o ? o[segment] : null;
        return cur;
    }

    public static void SetAt(JsonObject obj, string path, JsonNode value)
    {
        var segments = path.Split('.');
        var cur = obj;
        foreach (var segment in segments[..^1]) cur = Meta.Obj(cur, segment);
        cur[segments[^1]] = value;
    }

    /// <summary>The Scale view of an object, read at <paramref name="paths"/> (a selector object prints in its string form).</summary>
    public static JsonObject ToScale(JsonObject obj, ScalePaths paths)
    {
        var meta = new JsonObject();
        foreach (var key in new[] { "name", "namespace", "uid", "resourceVersion", "creationTimestamp" })
            if (obj["metadata"]?[key] is { } v) meta[key] = v.DeepClone();
        return new JsonObject
        {
            ["kind"] = "Scale",
            ["apiVersion"] = "autoscaling/v1",
            ["metadata"] = meta,
            ["spec"] = new JsonObject { ["replicas"] = At(obj, paths.SpecReplicas)?.DeepClone() ?? 0 },
            ["status"] = new JsonObject
            {
                ["replicas"] = At(obj, paths.StatusReplicas)?.DeepClone() ?? 0,
                ["selector"] = paths.LabelSelector is null ? "" : At(obj, paths.LabelSelector) is JsonObject selector ? LabelSelectors.Format(selector) : Meta.Str(At(obj, paths.LabelSelector)),
            },
        };
    }
}
