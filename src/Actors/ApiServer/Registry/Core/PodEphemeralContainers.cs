using System.Text.Json.Nodes;
using AkkaKube.Actors.Machinery;
using static AkkaKube.Actors.ApiServer.Registry.Validation;

namespace AkkaKube.Actors.ApiServer.Registry.Core;

/// <summary>
/// pods/ephemeralcontainers (what <c>kubectl debug POD --image=…</c> patches): the only way to add ephemeral containers,
/// as kube-apiserver serves it. An update or patch takes <c>spec.ephemeralContainers</c> from the request and everything
/// else from the stored pod; existing ephemeral containers may not be removed or changed. The rules every write checks
/// (a unique DNS-label name, an image, no ports/probes/lifecycle/resources/restartPolicy, a target that is a container of
/// the pod) are <see cref="Validate"/>.
/// </summary>
internal sealed class PodEphemeralContainersSubresource : IPartialSubresource
{
    public JsonObject Merge(JsonObject stored, JsonObject sent)
    {
        var next = (JsonObject)stored.DeepClone();
        var spec = Meta.Obj(next, "spec");
        if (sent["spec"]?["ephemeralContainers"] is { } ecs) spec["ephemeralContainers"] = ecs.DeepClone();
        else spec.Remove("ephemeralContainers");
        // the sent resourceVersion is the precondition (Kubernetes keeps the new object's); the pipeline reads it from here
        if (sent["metadata"]?["resourceVersion"] is { } rv) Meta.Of(next)["resourceVersion"] = rv.DeepClone();
        else Meta.Of(next).Remove("resourceVersion");
        return next;
    }

    public IEnumerable<StatusCause> ValidateUpdate(JsonObject obj, JsonObject old)
    {
        var now = new Dictionary<string, JsonObject>(StringComparer.Ordinal);
        foreach (var e in Items(obj)) now.TryAdd(Meta.Str(e["name"]), e); // a duplicate is Validate's to report
        foreach (var before in Items(old))
        {
            var name = Meta.Str(before["name"]);
            if (!now.TryGetValue(name, out var after))
                yield return Forbidden("spec.ephemeralContainers", $"existing ephemeral containers \"{name}\" may not be removed");
            else if (!JsonNode.DeepEquals(before, after))
                yield return Forbidden($"spec.ephemeralContainers[{name}]", $"existing ephemeral containers \"{name}\" may not be changed");
        }
    }

    private static IEnumerable<JsonObject> Items(JsonObject pod) =>
        (pod["spec"]?["ephemeralContainers"] as JsonArray)?.OfType<JsonObject>() ?? [];

    /// <summary>Fields an ephemeral container may not set (Kubernetes' validateEphemeralContainers).</summary>
    private static readonly string[] Disallowed = ["ports", "livenessProbe", "readinessProbe", "startupProbe", "lifecycle", "resizePolicy", "restartPolicy"];

    /// <summary>Every write of a pod: the ephemeral containers' own rules.</summary>
    public static void Validate(JsonObject? spec, List<StatusCause> causes)
    {
        if (spec?["ephemeralContainers"] is not JsonArray ecs) return;
        var others = new[] { "containers", "initContainers" }
            .SelectMany(list => (spec[list] as JsonArray)?.OfType<JsonObject>() ?? [])
            .Select(c => Meta.Str(c["name"])).ToHashSet(StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < ecs.Count; i++)
        {
            var path = $"spec.ephemeralContainers[{i}]";
            if (ecs[i] is not JsonObject ec)
            {
                causes.Add(Required($"{path}.name"));
                continue;
            }
            var name = Meta.Str(ec["name"]);
            if (name.Length == 0) causes.Add(Required($"{path}.name"));
            else if (!IsDns1123Label(name)) causes.Add(Invalid($"{path}.name", name, LabelMsg));
            else if (others.Contains(name) || !seen.Add(name)) causes.Add(Duplicate($"{path}.name", name));
            if (Meta.Str(ec["image"]).Trim().Length == 0) causes.Add(Required($"{path}.image"));
            foreach (var field in Disallowed)
                if (ec[field] is not null and not JsonArray { Count: 0 })
                    causes.Add(Forbidden($"{path}.{field}", "cannot be set for an Ephemeral Container"));
            if (ec["resources"] is JsonObject resources && resources.Any(kv => kv.Value is JsonObject { Count: > 0 } or JsonArray { Count: > 0 }))
                causes.Add(Forbidden($"{path}.resources", "cannot be set for an Ephemeral Container"));
            var target = Meta.Str(ec["targetContainerName"]);
            if (target.Length > 0 && !others.Contains(target))
                causes.Add(new StatusCause("FieldValueNotFound", $"Not found: \"{target}\"", $"{path}.targetContainerName"));
        }
    }
}
