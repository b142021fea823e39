using System.Reflection;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.Controllers;

/// <summary>
/// Every stored resource declared in <see cref="ApiResource"/> (found by reflection, so new kinds are included), once per
/// store partition: the versions of one kind (autoscaling v1/v2, core and events.k8s.io events) are views of the same
/// objects, so watchers such as the garbage collector watch the first-declared (storage) version only.
/// </summary>
public static class ApiResources
{
    public static readonly IReadOnlyList<ApiResource> All = typeof(ApiResource)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Where(f => f.FieldType == typeof(ApiResource))
        .Select(f => (ApiResource)f.GetValue(null)!)
        .Where(r => r.Verbs.Contains("list")) // stored kinds only: the create-only review APIs have nothing to list or watch
        .GroupBy(r => r.Partition)
        .Select(g => g.First())
        .ToList();

    public static ApiResource? ForKind(string? apiVersion, string? kind) =>
        All.FirstOrDefault(r => r.Kind == kind && (apiVersion is null || r.ApiVersion == apiVersion))
        ?? All.FirstOrDefault(r => r.Kind == kind);
}
