using System.Globalization;
using System.Text.Json.Nodes;
using AkkaKube.Actors.ApiServer.Registry;
using AkkaKube.Actors.Machinery;
using AkkaKube.Actors.Store;

namespace AkkaKube.Actors.ApiServer;

// DELETE and DELETECOLLECTION, with graceful deletion and propagation policy.
public sealed partial class ApiPipeline
{

    private async Task<Result> DeleteAsync(RequestScope c, string name)
    {
        var options = ParseDeleteOptions(c);
        var deleted = await DeleteObject(c, name, options);
        return deleted;
    }

    /// <summary>Grace: the client's gracePeriodSeconds (null = the object's default).</summary>
    public sealed record DeleteOpts(string? Policy, string? Uid, string? ResourceVersion, bool DryRun, long? Grace = null);

    private static DeleteOpts ParseDeleteOptions(RequestScope c)
    {
        string? policy = c.Q("propagationPolicy");
        string? uid = null, rv = null;
        var dryRun = c.DryRun;
        long? grace = null;
        if (c.Q("gracePeriodSeconds") is { Length: > 0 } gq)
            grace = long.TryParse(gq, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var g) ? g
                : throw ApiException.BadRequest($"gracePeriodSeconds must be an integer (got \"{gq}\")");
        if (!string.IsNullOrWhiteSpace(c.Req.Body))
        {
            if (ParseBody(c) is not JsonObject body) throw ApiException.BadRequest("DeleteOptions must be a JSON object");
            TypedFields.UnknownFields(typeof(k8s.Models.V1DeleteOptions), "DeleteOptions", body);
            policy = Meta.Str(body["propagationPolicy"]) is { Length: > 0 } p ? p : policy;
            if (body["orphanDependents"] is JsonValue od && od.TryGetValue<bool>(out var orphan) && policy is null)
                policy = orphan ? "Orphan" : "Background";
            uid = Meta.Str(body["preconditions"]?["uid"]) is { Length: > 0 } u ? u : null;
            rv = Meta.Str(body["preconditions"]?["resourceVersion"]) is { Length: > 0 } r ? r : null;
            if (body["dryRun"] is JsonArray dr && dr.Any(x => Meta.Str(x) == "All")) dryRun = true;
            grace = GraceOf(body) ?? grace;
        }
        if (policy is not (null or "Orphan" or "Background" or "Foreground"))
            throw ApiException.BadRequest($"propagationPolicy must be one of Orphan, Background, Foreground (got \"{policy}\")");
        return new DeleteOpts(policy, uid, rv, dryRun, grace);
    }

    internal static long? GraceOf(JsonObject deleteOptions) => deleteOptions["gracePeriodSeconds"] switch
    {
        null => null,
        JsonValue v when v.TryGetValue<long>(out var g) => g,
        _ => throw ApiException.BadRequest("gracePeriodSeconds must be an integer"),
    };

    private async Task<Result> DeleteObject(RequestScope c, string name, DeleteOpts o)
    {
        var old = await Get(c.R, c.Ns, name, c.Ct);
        ApiServer.Admission.NodeRestriction.AdmitDelete(c.Req.User, c.R, old);
        if (o.Uid is not null && Meta.Field(old, "uid") != o.Uid)
            throw ApiException.Conflict(c.R, name, $"Precondition failed: UID in precondition: {o.Uid}, UID in object meta: {Meta.Field(old, "uid")}");
        if (o.ResourceVersion is not null && Meta.Field(old, "resourceVersion") != o.ResourceVersion)
            throw ApiException.Conflict(c.R, name, $"Precondition failed: ResourceVersion in precondition: {o.ResourceVersion}, ResourceVersion in object meta: {Meta.Field(old, "resourceVersion")}");

        // propagationPolicy is recorded for the garbage collector as Kubernetes does: a finalizer on the object.
        var finalizer = o.Policy switch { "Orphan" => "orphan", "Foreground" => "foregroundDeletion", _ => null };
        if (finalizer is not null && !o.DryRun)
        {
            var finalizers = old["metadata"]?["finalizers"] as JsonArray ?? [];
            if (!finalizers.Any(f => Meta.Str(f) == finalizer))
            {
                var next = (JsonObject)old.DeepClone();
                var list = Meta.Of(next)["finalizers"] as JsonArray ?? [];
                list.Add(finalizer);
                Meta.Of(next)["finalizers"] = list.DeepClone();
                old = await StoreObject(new StoreProtocol.UpdateObject(c.R.Partition, StorageJson(c.R, next)), c.R, name, c.Ct);
            }
        }
        var grace = c.Strategy.DeletionGracePeriod(old, o.Grace);
        var result = await StoreObject(new StoreProtocol.DeleteObject(c.R.Partition, c.Ns, name, o.Uid, o.ResourceVersion, o.DryRun, grace), c.R, name, c.Ct);
        // Still there (graceful deletion or finalizers): Kubernetes answers with the object, else with a Status.
        if (grace > 0 || (result["metadata"]?["deletionTimestamp"] is not null && result["metadata"]?["finalizers"] is JsonArray { Count: > 0 }))
            return new(200, result, c.Warnings);
        var details = ApiException.DetailsFor(c.R, name);
        if (Meta.Field(result, "uid") is { } uid) details["uid"] = uid;
        return new(200, ApiStatus.Success(details), c.Warnings);
    }

    private async Task<Result> DeleteCollectionAsync(RequestScope c)
    {
        var options = ParseDeleteOptions(c);
        var reply = await AskStore(new StoreProtocol.ListObjects(c.R.Partition, c.Ns, c.Q("labelSelector"), c.Q("fieldSelector")), c.Ct);
        if (reply is StoreProtocol.StoreFailure f) throw Map(f, c.R, null);
        var items = new JsonArray();
        foreach (var item in ((StoreProtocol.ListReply)reply).Items)
        {
            var obj = FromStorage(c.R, item);
            var name = Meta.Field(obj, "name")!;
            try
            {
                var ctx = c with { Ns = c.R.Namespaced ? Meta.Field(obj, "namespace") : null };
                await DeleteObject(ctx, name, options with { Uid = null, ResourceVersion = null });
                items.Add(obj);
            }
            catch (ApiException e) when (e.Code == 404)
            {
            }
        }
        return new(200, new JsonObject { ["kind"] = c.R.Kind + "List", ["apiVersion"] = c.R.ApiVersion, ["metadata"] = new JsonObject(), ["items"] = items }, c.Warnings);
    }
}
