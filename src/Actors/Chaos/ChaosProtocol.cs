namespace AkkaKube.Actors.Chaos;

/// <summary>
/// Node-local supervision faults (`akkakube chaos crash-actor|stop-actor`). The `chaos` command-host palette resolves an
/// actor path on its own node and sends these; actors opt in with the marker interfaces below, so an actor that does
/// not take a fault is refused with a clear error instead of a silent no-op.
/// </summary>
public static class ChaosProtocol
{
    /// <summary>The receiving actor throws <see cref="InjectedCrashException"/>: its supervisor decides (Restart for every crashable actor).</summary>
    public sealed class InjectCrash
    {
        public static readonly InjectCrash Instance = new();
        private InjectCrash() { }
    }

    /// <summary>Asks a crashable actor what it re-synced on its last (re)start; it answers <see cref="Resynced"/>.</summary>
    public sealed class GetResync
    {
        public static readonly GetResync Instance = new();
        private GetResync() { }
    }

    /// <summary>One line: what the actor did on its last (re)start, e.g. "recovered from the journal: revision 812, 40 objects".</summary>
    public sealed record Resynced(string Summary);
}

/// <summary>Actors that handle <see cref="ChaosProtocol.InjectCrash"/> (by throwing) and <see cref="ChaosProtocol.GetResync"/>.</summary>
public interface ITakesInjectedCrashes;

/// <summary>Actors whose parent brings them back after a stop (e.g. a remembered sharding entity, a kubelet's PodWorker); `stop-actor` refuses others.</summary>
public interface IRecreatedWhenStopped;

/// <summary>Thrown by an actor on <see cref="ChaosProtocol.InjectCrash"/>; never caught by the actor itself.</summary>
public sealed class InjectedCrashException(string actor) : Exception($"crash injected into {actor} (akkakube chaos crash-actor)");
