using System.Text.Json.Nodes;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.Client;

/// <summary>Small idempotent writes that bootstrap reconcilers share.</summary>
public static class ApiObjects
{
    /// <summary>
    /// Makes <paramref name="ns"/>/<paramref name="name"/> equal to <paramref name="desired"/>: created when absent,
    /// replaced (at the current resourceVersion) when <paramref name="same"/> says it differs, untouched otherwise.
    /// </summary>
    public static async Task PutAsync(IKubeApi api, ApiResource resource, string ns, string name, JsonObject desired, Func<JsonObject, bool> same)
    {
        try
        {
            var current = await api.GetAsync(resource, ns, name);
            if (same(current)) return;
            desired["metadata"]!["resourceVersion"] = current["metadata"]?["resourceVersion"]?.DeepClone();
            await api.UpdateAsync(resource, ns, desired);
        }
        catch (KubeApiException e) when (e.IsNotFound)
        {
            await api.CreateAsync(resource, ns, desired);
        }
    }
}
