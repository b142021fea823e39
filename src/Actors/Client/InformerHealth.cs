using System.Collections.Concurrent;
using Akka.Actor;

namespace AkkaKube.Actors.Client;

/// <summary>
/// Which informers of this process have listed at least once since they started: the node's `informer-sync`
/// readiness check (kube-apiserver and controllers report the same) and the akkakube_informers metric.
/// </summary>
public static class InformerHealth
{
    private static readonly ConcurrentDictionary<IActorRef, (string Resource, DateTime StartedAt, bool Synced)> s_informers = new();

    public static void Started(IActorRef informer, string resource) => s_informers[informer] = (resource, DateTime.UtcNow, false);

    public static void Synced(IActorRef informer)
    {
        if (s_informers.TryGetValue(informer, out var i) && !i.Synced) s_informers[informer] = i with { Synced = true };
    }

    public static void Stopped(IActorRef informer) => s_informers.TryRemove(informer, out _);

    /// <summary>Informers of this process that have not listed yet: (actor path, resource, waiting since).</summary>
    public static IReadOnlyList<(string Path, string Resource, DateTime StartedAt)> Unsynced() =>
        s_informers.Where(kv => !kv.Value.Synced).Select(kv => (kv.Key.Path.ToStringWithoutAddress(), kv.Value.Resource, kv.Value.StartedAt)).ToList();

    public static (int Synced, int Total) Counts()
    {
        var all = s_informers.Values.ToList();
        return (all.Count(i => i.Synced), all.Count);
    }
}
