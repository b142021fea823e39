using System.Text.Json.Nodes;
using AkkaKube.Actors.Machinery;
using AkkaKube.Actors.Store;

namespace AkkaKube.Actors.ApiServer;

// CREATE (POST).
public sealed partial class ApiPipeline
{

    private async Task<Result> CreateAsync(RequestScope c)
    {
        var obj = ParseObject(c);
        var created = await CreateObject(c, obj);
        return new(201, created, c.Warnings);
    }

    internal async Task<JsonObject> CreateObject(RequestScope c, JsonObject obj)
    {
        if (c.Strategy.CreateRefusal is { } refusal) throw ApiException.MethodNotAllowed(refusal);
        CheckNamespace(c, obj);
        var meta = Meta.Of(obj);
        if (string.IsNullOrEmpty(Meta.Field(obj, "name")) && Meta.Field(obj, "generateName") is { Length: > 0 } gen)
            meta["name"] = Meta.GenerateName(gen);
        foreach (var key in new[] { "uid", "resourceVersion", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation", "selfLink" })
            meta.Remove(key);
        FieldValidation(c, obj);
        c.Strategy.Default(obj);
        var attributes = new Admission.AdmissionAttributes(c.R, c.Ns ?? Meta.Field(obj, "namespace"), Meta.Field(obj, "name") ?? "", c.Admission);
        await Admission.MutateAsync(attributes, obj);
        c.Strategy.PrepareForCreate(obj, c.Admission);
        Validate(c, obj, null);
        await CheckNamespaceExists(c);
        obj = await c.Strategy.AdmitAsync(c.Admission, obj, null);
        ApiServer.Admission.NodeRestriction.AdmitCreate(c.Req.User, c.R, obj);
        await Admission.ValidateAsync(attributes, obj);
        var name = Meta.Field(obj, "name")!;
        return await StoreObject(new StoreProtocol.CreateObject(c.R.Partition, StorageJson(c.R, obj), c.DryRun), c.R, name, c.Ct);
    }
}
