using System.Text.Json.Nodes;
using AkkaKube.Actors.ApiServer.Registry;
using AkkaKube.Actors.Machinery;
using AkkaKube.Actors.Store;

namespace AkkaKube.Actors.ApiServer;

// The scale subresource (autoscaling/v1 Scale) of any kind that declares it.
public sealed partial class ApiPipeline
{

    private async Task<Result> GetScaleAsync(RequestScope c, string name) =>
        new(200, ScaleSubresource.ToScale(await Get(c.R, c.Ns, name, c.Ct), c.Strategy.Scale), c.Warnings);

    private async Task<(int, JsonObject)> WriteScale(RequestScope c, string name, JsonObject scale, bool preconditionFromBody, JsonObject? old = null)
    {
        if (Meta.Str(scale["kind"]) is { Length: > 0 } k && k != "Scale") throw ApiException.BadRequest($"expected kind Scale, got {k}");
        if (Meta.Field(scale, "name") is { Length: > 0 } n && n != name)
            throw ApiException.BadRequest($"the name of the object ({n}) does not match the name on the URL ({name})");
        if (scale["spec"] is { } spec && spec is not JsonObject) throw ApiException.BadRequest("spec must be an object");
        var replicasNode = scale["spec"]?["replicas"];
        int replicas = 0;
        if (replicasNode is not null && (replicasNode is not JsonValue rv || !rv.TryGetValue(out replicas)))
            throw ApiException.BadRequest("spec.replicas must be an integer");
        var scaleRes = new ApiResource("autoscaling", "v1", "scale", "Scale", true);
        if (replicas < 0)
            throw ApiException.Invalid(scaleRes, name, [new("FieldValueInvalid", $"Invalid value: {replicas}: must be greater than or equal to 0", "spec.replicas")]);
        for (var attempt = 0; ; attempt++)
        {
            old ??= await Get(c.R, c.Ns, name, c.Ct);
            var next = (JsonObject)old.DeepClone();
            ScaleSubresource.SetAt(next, c.Strategy.Scale.SpecReplicas, replicas);
            if (preconditionFromBody && Meta.Field(scale, "resourceVersion") is { Length: > 0 } prv) Meta.Of(next)["resourceVersion"] = prv;
            try
            {
                var stored = await StoreObject(new StoreProtocol.UpdateObject(c.R.Partition, StorageJson(c.R, next), c.DryRun), c.R, name, c.Ct);
                return (200, ScaleSubresource.ToScale(stored, c.Strategy.Scale));
            }
            catch (ApiException e) when (e.Code == 409 && !preconditionFromBody && attempt < 4)
            {
                old = null;
            }
        }
    }
}
