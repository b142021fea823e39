using System.Reflection;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.Controllers;

/// <summary>Every stored resource declared in <see cref="ApiResource"/> (found by reflection, so new kinds are included).</summary>
public static class ApiResources
{
    public static readonly IReadOnlyList<ApiResource> All = typeof(ApiResource)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Where(f => f.FieldType == typeof(ApiResource))
        .Select(f => (ApiResource)f.GetValue(null)!)
        .Where(r => r.Verbs.Contains("list")) // stored kinds only: the create-only review APIs have nothing to list or watch
        .ToList();

    public static ApiResource? ForKind(string? apiVersion, string? kind) =>
        All.FirstOrDefault(r => r.Kind == kind && (apiVersion is null || r.ApiVersion == apiVersion))
        ?? All.FirstOrDefault(r => r.Kind == kind);
}
