using Akka.Actor;

namespace AkkaKube.Actors.Cluster;

/// <summary>
/// Whether this node still sees a majority of the control-plane members: the store's fence for reads on the losing side
/// of a partition (docs/failover.md, "Fencing"). The side that keeps the majority (SBR keep-majority over the same role)
/// takes over a partition only after stable-after (3 s) of seeing the other side unreachable; a node that sees the
/// majority unreachable stops answering at that same moment, seconds before. Writes are fenced by the journal as well
/// (one writer per sequence number), so the removal margin need not cover the losing side's shutdown any more.
/// </summary>
public static class ControlPlaneQuorum
{
    private sealed record Verdict(DateTime At, string? WhyNot);

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<ActorSystem, Verdict> Verdicts = new();

    /// <summary>
    /// <see cref="ControlPlaneDowning"/>'s verdict from this node's own observations and those of the members it reaches
    /// (every view-interval): whether this node is in the largest group of control planes that reach each other and hold a
    /// majority. Used while fresh (<paramref name="ttl"/>), in place of the cluster-wide unreachable set, which in a partial
    /// partition counts the majority's members as unreachable too (the cut-off node observes them) and would refuse on
    /// every side until the cut-off node is removed.
    /// </summary>
    public static void Report(ActorSystem system, string? whyNot) => Verdicts.AddOrUpdate(system, new Verdict(DateTime.UtcNow, whyNot));

    /// <summary>How long a reported verdict counts (a few view intervals); older, the membership decides.</summary>
    public static readonly TimeSpan VerdictTtl = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Null when this node can serve; otherwise why not. Nodes outside a cluster (in-process tests, a plain
    /// ActorSystem) always serve. The fresh verdict of <see cref="ControlPlaneDowning"/> decides; without one (the
    /// downing actor has not ticked lately, e.g. right after a freeze ends) every control-plane member in the
    /// membership (Down ones too, until they are removed) is counted against those anyone finds unreachable.
    /// </summary>
    public static string? WhyNotServing(ActorSystem system)
    {
        if (((ExtendedActorSystem)system).Provider is not Akka.Cluster.ClusterActorRefProvider) return null;
        if (Verdicts.TryGetValue(system, out var verdict) && DateTime.UtcNow - verdict.At <= VerdictTtl) return verdict.WhyNot;
        var state = Akka.Cluster.Cluster.Get(system).State;
        int total = 0, unreachable = 0;
        foreach (var m in state.Members)
            if (m.HasRole(AkkaKubeNames.Roles.ControlPlane)) total++;
        foreach (var m in state.Unreachable)
            if (m.HasRole(AkkaKubeNames.Roles.ControlPlane)) unreachable++;
        // Not a member yet or alone: nothing to be a minority of.
        if (total <= 1) return null;
        return (total - unreachable) * 2 > total
            ? null
            : $"this control-plane node sees only {total - unreachable} of {total} control-plane members (no majority): it may be on the losing side of a partition; retry on another apiserver";
    }
}
