using System.Text.Json.Nodes;
using Akka.Actor;
using AkkaKube.Actors.ApiServer.Registry;
using AkkaKube.Actors.Machinery;
using AkkaKube.Actors.Store;

namespace AkkaKube.Actors.ApiServer.Admission;

/// <summary>What an admission plugin is told about a create: the resource, the namespace and the pipeline's context.</summary>
public sealed record AdmissionAttributes(ApiResource Resource, string? Namespace, string Name, AdmissionContext Context)
{
    /// <summary>Kubernetes' Forbidden refusal of an admission plugin: `&lt;resource&gt; "&lt;name&gt;" is forbidden: &lt;why&gt;`.</summary>
    public ApiException Forbidden(string why) =>
        new(403, "Forbidden", $"{Resource.Resource} \"{Name}\" is forbidden: {why}", ApiException.DetailsFor(Resource, Name));

    /// <summary>The objects of a partition in the namespace (null: all), read from the store as admission plugins' listers do.</summary>
    public async Task<List<JsonObject>> ListAsync(ApiResource resource, string? ns) =>
        await AskStoreAsync(resource, new StoreProtocol.ListObjects(resource.Partition, ns, null, null)) switch
        {
            StoreProtocol.ListReply l => l.Items.Select(i => JsonNode.Parse(i)!.AsObject()).ToList(),
            var other => throw Unexpected(other),
        };

    /// <summary>One object from the store, or null when there is none.</summary>
    public async Task<JsonObject?> GetAsync(ApiResource resource, string? ns, string name) =>
        await AskStoreAsync(resource, new StoreProtocol.GetObject(resource.Partition, ns, name)) switch
        {
            StoreProtocol.ObjectReply o => JsonNode.Parse(o.ObjectJson)!.AsObject(),
            StoreProtocol.StoreFailure { Code: 404 } => null,
            var other => throw Unexpected(other),
        };

    private async Task<object> AskStoreAsync(ApiResource resource, StoreProtocol.IPartitionCommand command)
    {
        try
        {
            return await StoreAsk.AskAsync(Context.Store, command, Context.Settings, Context.Ct);
        }
        catch (AskTimeoutException)
        {
            throw new ApiException(504, "Timeout", $"the store did not answer within {Context.Settings.StoreTimeout.TotalSeconds:0.#}s ({resource.Partition}, for admission); retry");
        }
    }

    private static ApiException Unexpected(object reply) => reply is StoreProtocol.StoreFailure f
        ? new ApiException(f.Code, f.Reason, f.Message)
        : new ApiException(500, "InternalError", "unexpected store reply");
}

/// <summary>An admission plugin (Kubernetes' admission.Interface): only a name; it implements the phases it needs.</summary>
public interface IAdmissionPlugin
{
    string Name { get; }
}

/// <summary>Mutates a new object before the kind's validation (Kubernetes' MutationInterface).</summary>
public interface IMutatingAdmissionPlugin : IAdmissionPlugin
{
    Task AdmitAsync(AdmissionAttributes attributes, JsonObject obj);
}

/// <summary>Checks a new, validated object just before it is stored (Kubernetes' ValidationInterface); throws to refuse.</summary>
public interface IValidatingAdmissionPlugin : IAdmissionPlugin
{
    Task ValidateAsync(AdmissionAttributes attributes, JsonObject obj);
}

/// <summary>
/// The built-in admission plugins in Kubernetes' order (kube-apiserver's AllOrderedPlugins): LimitRanger, then
/// DefaultStorageClass among the mutating ones; ResourceQuota last of the validating ones, because it charges the
/// quota and nothing after it may refuse the object. The pipeline runs every mutating plugin after the kind's
/// defaulting and before its validation, and every validating plugin after validation, on create.
/// </summary>
public sealed class AdmissionChain(IReadOnlyList<IAdmissionPlugin> plugins)
{
    public static readonly AdmissionChain Default = new([new ServiceAccountAdmission(), new LimitRanger(), new DefaultStorageClass(), new ResourceQuotaAdmission()]);

    public static readonly AdmissionChain None = new([]);

    public IReadOnlyList<IAdmissionPlugin> Plugins { get; } = plugins;

    /// <summary>This chain without the named plugins (kube-apiserver's --disable-admission-plugins); unknown names are refused.</summary>
    public AdmissionChain Without(IReadOnlyCollection<string> disabled)
    {
        if (disabled.Count == 0) return this;
        foreach (var name in disabled)
            if (Plugins.All(p => p.Name != name))
                throw new ArgumentException($"disable-admission-plugins: unknown plugin '{name}' (known: {string.Join(", ", Plugins.Select(p => p.Name))})");
        return new AdmissionChain(Plugins.Where(p => !disabled.Contains(p.Name)).ToList());
    }

    public async Task MutateAsync(AdmissionAttributes attributes, JsonObject obj)
    {
        foreach (var p in Plugins.OfType<IMutatingAdmissionPlugin>()) await p.AdmitAsync(attributes, obj);
    }

    public async Task ValidateAsync(AdmissionAttributes attributes, JsonObject obj)
    {
        foreach (var p in Plugins.OfType<IValidatingAdmissionPlugin>()) await p.ValidateAsync(attributes, obj);
    }
}

/// <summary>
/// DefaultStorageClass: a new PersistentVolumeClaim without spec.storageClassName gets the default class (the one
/// annotated storageclass.kubernetes.io/is-default-class: "true"); an explicit "" keeps meaning "no class".
/// </summary>
public sealed class DefaultStorageClass : IMutatingAdmissionPlugin
{
    public string Name => "DefaultStorageClass";

    public async Task AdmitAsync(AdmissionAttributes a, JsonObject obj)
    {
        if (a.Resource != ApiResource.PersistentVolumeClaims || obj["spec"] is not JsonObject spec || spec["storageClassName"] is not null) return;
        var classes = await a.ListAsync(ApiResource.StorageClasses, null);
        if (Controllers.Volume.VolumeLogic.DefaultClassOf(classes) is { } name) spec["storageClassName"] = name;
    }
}
