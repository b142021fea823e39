using Akka.Actor;
using Prometheus;

namespace AkkaKube.Actors.Observability;

/// <summary>
/// Mailbox depth of the hot actors on this node, read when Prometheus scrapes: every store partition, the apiserver
/// actors and the scheduler. A local actor's cell exposes its mailbox, so no custom mailbox type is needed; the count
/// is the mailbox queue's length at that moment (user messages waiting, not the one being processed).
/// </summary>
public static class MailboxMetrics
{
    public static readonly Gauge Depth = Metrics.CreateGauge("akka_actor_mailbox_depth",
        "Messages waiting in the mailbox of a hot actor (store partitions, apiserver, scheduler) on this node.", "actor");

    private static ActorSystem? s_system;
    private static int s_registered;

    public static void Collect(ActorSystem system)
    {
        s_system = system;
        if (Interlocked.Exchange(ref s_registered, 1) == 1) return;
        Metrics.DefaultRegistry.AddBeforeCollectCallback(() =>
        {
            if (s_system is { WhenTerminated.IsCompleted: false } sys) Update(sys);
        });
    }

    internal static void Update(ActorSystem system)
    {
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (label, actor) in HotActors((ExtendedActorSystem)system))
            if (actor is ActorRefWithCell { Underlying: ActorCell { Mailbox: { } mailbox } })
                seen[label] = mailbox.MessageQueue.Count;
        // an actor that moved away or stopped drops its series rather than freezing its last value
        foreach (var stale in Depth.GetAllLabelValues().Select(l => l[0]).Where(l => !seen.ContainsKey(l)).ToList())
            Depth.RemoveLabelled(stale);
        foreach (var (label, depth) in seen) Depth.WithLabels(label).Set(depth);
    }

    /// <summary>(label, actor): store/&lt;partition&gt;, apiserver[/&lt;child&gt;], scheduler.</summary>
    internal static IEnumerable<(string Label, IActorRef Actor)> HotActors(ExtendedActorSystem system)
    {
        foreach (var top in Children(system.Guardian))
        {
            if (top.Path.Name == AkkaKubeNames.Actors.ApiServer)
            {
                yield return (AkkaKubeNames.Actors.ApiServer, top);
                foreach (var child in Children(top)) yield return ($"{AkkaKubeNames.Actors.ApiServer}/{child.Path.Name}", child);
            }
            else if (top.Path.Name == AkkaKubeNames.Actors.Scheduler)
            {
                foreach (var instance in Children(top).Where(c => c.Path.Name == AkkaKubeNames.Actors.Scheduler))
                    yield return (AkkaKubeNames.Actors.Scheduler, instance);
            }
        }
        var store = Children(system.SystemGuardian).Where(c => c.Path.Name == "sharding")
            .SelectMany(Children).Where(c => c.Path.Name == AkkaKubeNames.Actors.Store);
        foreach (var shard in store.SelectMany(Children))
            foreach (var partition in Children(shard))
                yield return ($"{AkkaKubeNames.Actors.Store}/{Uri.UnescapeDataString(partition.Path.Name)}", partition);
    }

    private static IEnumerable<IActorRef> Children(IActorRef actor) =>
        actor is ActorRefWithCell cell ? cell.Children : [];
}
