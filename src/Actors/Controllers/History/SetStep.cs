using System.Text.Json.Nodes;

namespace AkkaKube.Actors.Controllers.History;

/// <summary>One change a set controller (StatefulSet, DaemonSet) wants; executed in order by <see cref="SetControllerBase"/>.</summary>
public abstract record SetStep
{
    public sealed record CreateRevision(JsonObject Revision) : SetStep;
    /// <summary>An existing revision stored with a new revision number (an old template came back).</summary>
    public sealed record UpdateRevision(JsonObject Revision) : SetStep;
    public sealed record DeleteRevision(string Name, string Uid) : SetStep;
    public sealed record CreateClaim(JsonObject Claim, string Pod) : SetStep;
    /// <summary>The claim with the ownerReferences its retention policy asks for.</summary>
    public sealed record UpdateClaim(JsonObject Claim) : SetStep;
    public sealed record CreatePod(JsonObject Pod) : SetStep;
    public sealed record DeletePod(string Name, string Uid) : SetStep;
    public sealed record UpdateStatus(JsonObject Status) : SetStep;
}

public sealed record SetPlan(IReadOnlyList<SetStep> Steps, TimeSpan? RequeueAfter)
{
    public int Creates => Steps.Count(s => s is SetStep.CreatePod);
    public int Deletes => Steps.Count(s => s is SetStep.DeletePod);

    /// <summary>The revision steps of a <see cref="RevisionPlan"/>, first in every plan.</summary>
    public static List<SetStep> Start(RevisionPlan history)
    {
        var steps = new List<SetStep>();
        if (history.Create is { } created) steps.Add(new SetStep.CreateRevision(created));
        if (history.Renumber is { } renumbered) steps.Add(new SetStep.UpdateRevision(renumbered));
        return steps;
    }
}
