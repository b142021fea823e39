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
        var (cmd, name) = await AdmitCreate(c, obj);
        if (!_registry.StrategyFor(c.R).ServesStorageVersion)
            return new(201, await StoreObject(cmd, c.R, name, c.Ct), c.Warnings);
        // The kind is served as stored: the store's text is the answer, not parsed and written again.
        return new(201, null, c.Warnings, await StoreObjectText(cmd, c.R, name, c.Ct));
    }

    internal async Task<JsonObject> CreateObject(RequestScope c, JsonObject obj)
    {
        var (cmd, name) = await AdmitCreate(c, obj);
        return await StoreObject(cmd, c.R, name, c.Ct);
    }

    /// <summary>Every check and mutation of a create up to the store command (the object is parsed once, by the caller).</summary>
    private async Task<(StoreProtocol.CreateObject Command, string Name)> AdmitCreate(RequestScope c, JsonObject obj)
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
        // The uid is chosen here (as kube-apiserver does) so the store can tell a copy of this request sent again (AskStore) from another create.
        return (new StoreProtocol.CreateObject(c.R.Partition, StorageJson(c.R, obj), c.DryRun, Guid.NewGuid().ToString()), Meta.Field(obj, "name")!);
    }
}
