using System.Text.Json.Nodes;
using AkkaKube.Actors.Machinery;
using AkkaKube.Actors.Store;

namespace AkkaKube.Actors.ApiServer;

// UPDATE (PUT) and the write path shared with PATCH and apply.
public sealed partial class ApiPipeline
{

    private async Task<Result> UpdateAsync(RequestScope c, string name)
    {
        if (c.Req.Subresource == "scale")
        {
            var scale = ParseObject(c, "Scale");
            var (code, body) = await WriteScale(c, name, scale, preconditionFromBody: true);
            return new(code, body, c.Warnings);
        }
        var obj = ParseObject(c);
        var bodyName = Meta.Field(obj, "name");
        if (string.IsNullOrEmpty(bodyName)) Meta.Of(obj)["name"] = name;
        else if (bodyName != name)
            throw ApiException.BadRequest($"the name of the object ({bodyName}) does not match the name on the URL ({name})");
        var old = await Get(c.R, c.Ns, name, c.Ct);
        var updated = await Replace(c, obj, old, keepPrecondition: true);
        return new(200, updated, c.Warnings);
    }

    /// <summary>The shared tail of update and patch: subresource view, preserved metadata, admission, store.</summary>
    private async Task<JsonObject> Replace(RequestScope c, JsonObject obj, JsonObject old, bool keepPrecondition)
    {
        CheckNamespace(c, obj);
        var rvSent = Meta.Field(obj, "resourceVersion");
        FieldValidation(c, obj);
        JsonObject next;
        if (c.Req.Subresource == "status")
        {
            next = (JsonObject)old.DeepClone();
            if (obj["status"] is { } st) next["status"] = st.DeepClone();
            else next.Remove("status");
        }
        else if (PartialOf(c) is { } partial) next = partial.Merge(old, obj);
        else
        {
            next = obj;
            if (c.R.HasStatus)
            {
                if (old["status"] is { } st) next["status"] = st.DeepClone();
                else next.Remove("status");
            }
        }
        ApiServer.Admission.NodeRestriction.AdmitUpdate(c.Req.User, c.R, c.Req.Subresource, old, next);
        var meta = Meta.Of(next);
        foreach (var key in new[] { "uid", "creationTimestamp", "generation", "deletionTimestamp", "deletionGracePeriodSeconds" })
        {
            if (old["metadata"]?[key] is { } v) meta[key] = v.DeepClone();
            else meta.Remove(key);
        }
        if (meta["managedFields"] is null && old["metadata"]?["managedFields"] is { } mf) meta["managedFields"] = mf.DeepClone();
        if (keepPrecondition && !string.IsNullOrEmpty(rvSent)) meta["resourceVersion"] = rvSent;
        else meta["resourceVersion"] = Meta.Field(old, "resourceVersion");
        c.Strategy.Default(next);
        Validate(c, next, old);
        if (c.Req.Subresource is null) next = await c.Strategy.AdmitAsync(c.Admission, next, old);
        return await StoreObject(new StoreProtocol.UpdateObject(c.R.Partition, StorageJson(c.R, next), c.DryRun), c.R, Meta.Field(next, "name"), c.Ct);
    }
}
