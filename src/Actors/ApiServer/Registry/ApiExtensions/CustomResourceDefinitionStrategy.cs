using System.Globalization;
using System.Text.Json.Nodes;
using Akka.Actor;
using AkkaKube.Actors.ApiServer.CustomResources;
using AkkaKube.Actors.Machinery;
using AkkaKube.Actors.Store;

namespace AkkaKube.Actors.ApiServer.Registry.ApiExtensions;

/// <summary>
/// apiextensions.k8s.io/v1 CustomResourceDefinition (cluster-scoped, with status). Creation decides the names
/// (NamesAccepted, or False when another definition of the group already uses one of them) and leaves
/// Established False until an apiserver serves the kind (<see cref="CustomResourceRegistrar"/> sets it).
/// Every definition carries the cleanup finalizer: its objects are deleted before it goes.
/// </summary>
public sealed class CustomResourceDefinitionStrategy : ResourceStrategy
{
    /// <summary>Kubernetes' finalizer: the custom objects are deleted before the definition.</summary>
    public const string CleanupFinalizer = "customresourcecleanup.apiextensions.k8s.io";

    public override Type? Model => typeof(k8s.Models.V1CustomResourceDefinition);

    public override void Default(JsonObject obj) => CustomResourceDefinitionSpec.SetDefaults(obj);

    public override void PrepareForCreate(JsonObject obj, AdmissionContext context)
    {
        var meta = Meta.Of(obj);
        var finalizers = meta["finalizers"] as JsonArray ?? [];
        if (!finalizers.Any(f => Meta.Str(f) == CleanupFinalizer)) finalizers.Add(CleanupFinalizer);
        meta["finalizers"] = finalizers.DeepClone();
        obj.Remove("status");
    }

    public override IEnumerable<StatusCause> Validate(JsonObject obj) => CustomResourceDefinitionSpec.Validate(obj);

    public override IEnumerable<StatusCause> ValidateUpdate(JsonObject obj, JsonObject old)
    {
        if (Meta.Str(obj["spec"]?["scope"]) != Meta.Str(old["spec"]?["scope"]))
            yield return Validation.Immutable("spec.scope", obj["spec"]?["scope"]);
        // a version still stored must stay in spec.versions (its objects could not be read any more)
        var versions = (obj["spec"]?["versions"] as JsonArray ?? []).Select(v => Meta.Str(v?["name"])).ToHashSet();
        foreach (var stored in (old["status"]?["storedVersions"] as JsonArray ?? []).Select(Meta.Str))
            if (!versions.Contains(stored))
                yield return Validation.Invalid("status.storedVersions", stored, "must appear in spec.versions");
    }

    public override IReadOnlyList<TableColumn> Columns { get; } =
    [
        TableColumn.NameColumn,
        new("Created At", "date", "", 0, "CreationTimestamp of the definition.", (o, _) => o["metadata"]?["creationTimestamp"]?.DeepClone()),
    ];

    /// <summary>Names: accepted unless another definition of the group uses one of them; stored versions accumulate.</summary>
    public override async Task<JsonObject> AdmitAsync(AdmissionContext context, JsonObject obj, JsonObject? old)
    {
        var status = obj["status"] as JsonObject ?? new JsonObject();
        var now = DateTime.UtcNow;
        var conflict = await NameConflict(context, obj);
        var spec = obj["spec"] as JsonObject ?? [];
        var established = Condition(status, "Established");
        if (conflict is null) status["acceptedNames"] = spec["names"]?.DeepClone();
        else status["acceptedNames"] ??= new JsonObject();
        SetCondition(status, "NamesAccepted", conflict is null ? "True" : "False", conflict is null ? "NoConflicts" : "MultipleNameConflict",
            conflict ?? "no conflicts found", now);
        if (established is null)
            SetCondition(status, "Established", "False", "Installing", "the initial names have been accepted", now);
        var stored = (status["storedVersions"] as JsonArray ?? []).Select(Meta.Str).ToList();
        foreach (var v in (spec["versions"] as JsonArray ?? []).OfType<JsonObject>())
            if (v["storage"]?.GetValueKind() == System.Text.Json.JsonValueKind.True && !stored.Contains(Meta.Str(v["name"])))
                stored.Add(Meta.Str(v["name"]));
        status["storedVersions"] = new JsonArray(stored.Select(s => (JsonNode?)s).ToArray());
        obj["status"] = status;
        return obj;
    }

    /// <summary>Why another definition's names clash with these (same group: kind, plural, singular or a short name), or null.</summary>
    private static async Task<string?> NameConflict(AdmissionContext context, JsonObject obj)
    {
        var reply = await context.Store.Ask<object>(new StoreProtocol.ListObjects(CustomResourceDefinitionSpec.Resource.Partition, null, null, null),
            context.Settings.StoreTimeout, context.Ct);
        if (reply is not StoreProtocol.ListReply list) return null;
        var mine = CustomResourceDefinitionSpec.Parse(obj);
        var myNames = Names(mine);
        foreach (var item in list.Items)
        {
            if (JsonNode.Parse(item) is not JsonObject other || Meta.Name(other) == mine.Name) continue;
            if (Meta.Str(other["spec"]?["group"]) != mine.Group) continue;
            var accepted = other["status"]?["acceptedNames"] as JsonObject;
            if (accepted is null) continue;
            var theirs = Names(CustomResourceDefinitionSpec.Parse(new JsonObject { ["spec"] = new JsonObject { ["names"] = accepted.DeepClone() } }));
            if (Meta.Str(accepted["kind"]) == mine.Kind) return $"\"{mine.Kind}\" is already in use";
            if (myNames.FirstOrDefault(theirs.Contains) is { } clash) return $"\"{clash}\" is already in use";
        }
        return null;
    }

    private static HashSet<string> Names(CustomResourceDefinitionSpec s) =>
        new[] { s.Plural, s.Singular }.Concat(s.ShortNames).Where(n => n.Length > 0).ToHashSet();

    public static JsonObject? Condition(JsonObject? status, string type) =>
        (status?["conditions"] as JsonArray ?? []).OfType<JsonObject>().FirstOrDefault(c => Meta.Str(c["type"]) == type);

    public static bool IsTrue(JsonObject crd, string type) => Meta.Str(Condition(crd["status"] as JsonObject, type)?["status"]) == "True";

    /// <summary>Sets a condition; its lastTransitionTime moves only when its status changes.</summary>
    public static void SetCondition(JsonObject status, string type, string value, string reason, string message, DateTime now)
    {
        if (status["conditions"] is not JsonArray conditions) status["conditions"] = conditions = new JsonArray();
        var existing = conditions.OfType<JsonObject>().FirstOrDefault(c => Meta.Str(c["type"]) == type);
        var time = now.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        if (existing is null)
        {
            conditions.Add(new JsonObject { ["type"] = type, ["status"] = value, ["lastTransitionTime"] = time, ["reason"] = reason, ["message"] = message });
            return;
        }
        if (Meta.Str(existing["status"]) != value) existing["lastTransitionTime"] = time;
        existing["status"] = value;
        existing["reason"] = reason;
        existing["message"] = message;
    }
}
