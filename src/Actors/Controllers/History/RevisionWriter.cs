using System.Text.Json.Nodes;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Machinery;
using static AkkaKube.Actors.Controllers.ControllerBase;

namespace AkkaKube.Actors.Controllers.History;

/// <summary>Writes ControllerRevisions for a set controller (the API half of <see cref="ControllerHistory"/>).</summary>
public static class RevisionWriter
{
    /// <summary>
    /// Creates the revision. Already there with our owner and equal data: the cache was behind, fine. Anything else is
    /// a hash collision: the owner's status.collisionCount goes up (the next name differs) and the reconcile retries.
    /// </summary>
    public static async Task CreateAsync(IKubeApi api, ApiResource ownerResource, JsonObject owner, JsonObject revision)
    {
        var ns = NamespaceOf(owner);
        try
        {
            await api.CreateAsync(ApiResource.ControllerRevisions, ns, revision);
        }
        catch (KubeApiException e) when (e.IsAlreadyExists)
        {
            var existing = await api.GetAsync(ApiResource.ControllerRevisions, ns, NameOf(revision));
            if (Str(ControllerRef(existing)?["uid"]) == UidOf(owner) && ControllerHistory.DataEqual(existing["data"], revision["data"])) return;
            var fresh = await api.GetAsync(ownerResource, ns, NameOf(owner));
            var count = Long(fresh["status"]?["collisionCount"]) + 1;
            await api.PatchAsync(ownerResource, ns, NameOf(owner), PatchType.Merge,
                new JsonObject { ["status"] = new JsonObject { ["collisionCount"] = count } }.ToJsonString(), subresource: "status");
            throw new InvalidOperationException($"controller revision name {NameOf(revision)} collides; collisionCount is now {count}");
        }
    }

    public static async Task DeleteAsync(IKubeApi api, string? ns, string name, string uid)
    {
        try { await api.DeleteAsync(ApiResource.ControllerRevisions, ns, name, new DeleteOptions(PreconditionUid: uid)); }
        catch (KubeApiException e) when (e.IsNotFound || e.IsConflict) { }
    }

    public static async Task PatchStatusAsync(IKubeApi api, ApiResource resource, JsonObject owner, JsonObject status)
    {
        try
        {
            await api.PatchAsync(resource, NamespaceOf(owner), NameOf(owner), PatchType.Merge,
                new JsonObject { ["status"] = status.DeepClone() }.ToJsonString(), subresource: "status");
        }
        catch (KubeApiException e) when (e.IsNotFound) { }
    }
}
