using System.Globalization;
using System.Text.Json.Nodes;
using AkkaKube.Actors.Controllers.Deployment;
using static AkkaKube.Actors.Controllers.ControllerBase;

namespace AkkaKube.Actors.Controllers.History;

/// <summary>What a set controller must do about its ControllerRevisions before it manages pods.</summary>
/// <param name="Update">The revision of the current template (existing, or <paramref name="Create"/>).</param>
/// <param name="Create">A new revision to create (the template has never been seen).</param>
/// <param name="Renumber">An existing equal revision to store with a new revision number (a rollback: it becomes the newest).</param>
public sealed record RevisionPlan(JsonObject Update, JsonObject? Create, JsonObject? Renumber);

/// <summary>
/// ControllerRevisions as Kubernetes' pkg/controller/history keeps them for StatefulSets and DaemonSets: the data is the
/// strategic-merge patch <c>{"spec":{"template":{…,"$patch":"replace"}}}</c> (what `kubectl rollout undo` sends back),
/// the name is <c>&lt;owner&gt;-&lt;hash&gt;</c>, the labels are the template's plus controller-revision-hash, and an
/// equal template coming back (undo) renumbers the old revision instead of creating a new one.
/// </summary>
public static class ControllerHistory
{
    public const string HashLabel = "controller-revision-hash";

    public static long Number(JsonObject revision) => Long(revision["revision"]);

    /// <summary>The revision data of an owner's current template.</summary>
    public static JsonObject PatchData(JsonObject owner)
    {
        var template = owner["spec"]?["template"]?.DeepClone() as JsonObject ?? new JsonObject();
        template["$patch"] = "replace";
        return new JsonObject { ["spec"] = new JsonObject { ["template"] = template } };
    }

    /// <summary>The pod template a revision stores (its data without the directive).</summary>
    public static JsonObject TemplateOf(JsonObject revision)
    {
        var template = revision["data"]?["spec"]?["template"]?.DeepClone() as JsonObject ?? new JsonObject();
        template.Remove("$patch");
        return template;
    }

    public static bool DataEqual(JsonNode? a, JsonNode? b) => DeploymentLogic.Canonical(a) == DeploymentLogic.Canonical(b);

    /// <summary>Kubernetes' HashControllerRevision: FNV over the data (plus the collision count), safe-encoded.</summary>
    public static string Hash(JsonNode data, long collisionCount) =>
        DeploymentLogic.SafeHash(DeploymentLogic.Canonical(data) + (collisionCount > 0 ? collisionCount.ToString(CultureInfo.InvariantCulture) : ""));

    public static JsonObject NewRevision(JsonObject owner, string kind, long number, long collisionCount)
    {
        var data = PatchData(owner);
        var hash = Hash(data, collisionCount);
        var labels = owner["spec"]?["template"]?["metadata"]?["labels"]?.DeepClone() as JsonObject ?? new JsonObject();
        labels[HashLabel] = hash;
        var meta = new JsonObject
        {
            ["name"] = $"{NameOf(owner)}-{hash}",
            ["namespace"] = NamespaceOf(owner),
            ["labels"] = labels,
            ["ownerReferences"] = new JsonArray(OwnerRef(owner, "apps/v1", kind)),
        };
        // The owner's annotations (kubernetes.io/change-cause among them) are what `rollout history` shows.
        if (Meta(owner)["annotations"] is JsonObject annotations && annotations.Count > 0) meta["annotations"] = annotations.DeepClone();
        return new JsonObject
        {
            ["apiVersion"] = "apps/v1",
            ["kind"] = "ControllerRevision",
            ["metadata"] = meta,
            ["data"] = data,
            ["revision"] = number,
        };
    }

    /// <summary>
    /// Finds or makes the revision of the owner's template: an equal revision that is already the newest is used as is;
    /// an older equal one is renumbered to max+1 (rollback); otherwise a new revision max+1 is created.
    /// </summary>
    public static RevisionPlan Plan(JsonObject owner, string kind, IReadOnlyList<JsonObject> revisions)
    {
        var data = PatchData(owner);
        var sorted = revisions.Where(r => !IsDeleting(r)).OrderBy(Number).ThenBy(NameOf, StringComparer.Ordinal).ToList();
        var max = sorted.Count == 0 ? 0 : Number(sorted[^1]);
        var equal = sorted.LastOrDefault(r => DataEqual(r["data"], data));
        if (equal is not null)
        {
            if (Number(equal) == max) return new RevisionPlan(equal, null, null);
            var renumbered = equal.DeepClone().AsObject();
            renumbered["revision"] = max + 1;
            return new RevisionPlan(renumbered, null, renumbered);
        }
        var created = NewRevision(owner, kind, max + 1, Long(owner["status"]?["collisionCount"]));
        return new RevisionPlan(created, created, null);
    }

    /// <summary>Revisions beyond revisionHistoryLimit, oldest first, that no live pod uses (nor the current/update revision).</summary>
    public static IReadOnlyList<JsonObject> ToTruncate(JsonObject owner, IReadOnlyList<JsonObject> revisions, ISet<string> live)
    {
        var limit = (int)Long(owner["spec"]?["revisionHistoryLimit"], 10);
        var history = revisions.Where(r => !live.Contains(NameOf(r)) && !live.Contains(Str(Meta(r)["labels"]?[HashLabel]) ?? ""))
            .OrderBy(Number).ToList();
        return history.Take(Math.Max(0, history.Count - limit)).ToList();
    }

    /// <summary>True when a status field the set controller owns differs from what it wants.</summary>
    public static bool StatusDiffers(JsonObject? current, JsonObject wanted) =>
        wanted.Any(kv => !JsonNode.DeepEquals(current?[kv.Key], kv.Value));
}
