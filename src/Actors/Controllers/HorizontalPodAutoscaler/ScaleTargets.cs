using System.Text.Json.Nodes;
using AkkaKube.Actors.ApiServer.CustomResources;
using AkkaKube.Actors.ApiServer.Registry.ApiExtensions;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.Controllers.HorizontalPodAutoscaler;

/// <summary>
/// The resource an HPA's scaleTargetRef names. <see cref="FromCache"/>: a built-in workload whose Scale the controller
/// reads from the shared informers (spec.replicas, spec.selector); otherwise a custom resource whose Scale it GETs from
/// the apiserver's scale subresource.
/// </summary>
public sealed record ScaleTarget(ApiResource Resource, bool FromCache);

/// <summary>A resolved scaleTargetRef, or why it does not resolve (the FailedGetScale message).</summary>
public sealed record ScaleTargetResolution(ScaleTarget? Target, string? Failure)
{
    public static ScaleTargetResolution Of(ApiResource resource, bool fromCache) => new(new ScaleTarget(resource, fromCache), null);
    public static ScaleTargetResolution Fail(string message) => new(null, message);
}

/// <summary>
/// Kubernetes' HPA scales "anything with a scale subresource": it maps scaleTargetRef's group and kind to a resource
/// (the RESTMapper) and reads and writes its autoscaling/v1 Scale. Here the built-in scalable workloads map as
/// before (served from the informer caches); any other group/kind maps through the CustomResourceDefinitions.
/// </summary>
public static class ScaleTargets
{
    /// <summary>The built-in kinds with a scale subresource, read from the shared informers.</summary>
    public static readonly IReadOnlyList<ApiResource> Cached =
        [ApiResource.Deployments, ApiResource.ReplicaSets, ApiResource.StatefulSets, ApiResource.ReplicationControllers];

    /// <summary>
    /// Resolves (apiVersion, kind) against the built-ins and then <paramref name="crds"/>. As Kubernetes' RESTMapper, the
    /// group and kind pick the resource; the version of apiVersion is used when the definition serves it, else the
    /// storage version, else the first served one. An empty apiVersion matches the built-ins by kind alone.
    /// </summary>
    public static ScaleTargetResolution Resolve(string? apiVersion, string? kind, IEnumerable<JsonObject> crds)
    {
        kind ??= "";
        apiVersion ??= "";
        if (kind.Length == 0) return ScaleTargetResolution.Fail("scaleTargetRef.kind is empty");
        var parts = apiVersion.Split('/');
        if (parts.Length > 2 || parts.Any(p => p.Length == 0) && apiVersion.Length > 0)
            return ScaleTargetResolution.Fail($"unexpected GroupVersion string: {apiVersion}");
        var (group, version) = parts.Length == 2 ? (parts[0], parts[1]) : ("", parts[0]);

        if (Cached.FirstOrDefault(r => r.Kind == kind && (apiVersion.Length == 0 || r.Group == group)) is { } builtIn)
            return ScaleTargetResolution.Of(builtIn, fromCache: true);

        var definition = crds
            .Where(c => CustomResourceDefinitionStrategy.IsTrue(c, "NamesAccepted") && c["metadata"]?["deletionTimestamp"] is null)
            .Select(CustomResourceDefinitionSpec.Parse)
            .FirstOrDefault(d => d.Group == group && d.Kind == kind);
        if (definition is null) return ScaleTargetResolution.Fail($"no matches for kind \"{kind}\" in group \"{group}\"");

        var served = definition.Served().ToList();
        var (resource, chosen) = served.FirstOrDefault(s => s.Version.Name == version) is { Resource: not null } exact ? exact
            : served.FirstOrDefault(s => s.Version.Storage) is { Resource: not null } storage ? storage
            : served.FirstOrDefault();
        if (resource is null) return ScaleTargetResolution.Fail($"no matches for kind \"{kind}\" in group \"{group}\" (no served version)");
        if (!resource.Namespaced)
            return ScaleTargetResolution.Fail($"{resource.QualifiedName} is cluster-scoped; a HorizontalPodAutoscaler scales an object of its own namespace");
        if (chosen.Scale is null)
            return ScaleTargetResolution.Fail($"the server could not find the requested resource ({resource.QualifiedName}/scale): " +
                $"CustomResourceDefinition {definition.Name} declares no scale subresource for version {chosen.Name}");
        return ScaleTargetResolution.Of(resource, fromCache: false);
    }
}
