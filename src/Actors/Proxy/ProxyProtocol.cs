namespace AkkaKube.Actors.Proxy;

/// <summary>Messages of the proxy and its listeners (local to the node).</summary>
public static class ProxyProtocol
{
    /// <summary>To a listener: the service's endpoints or affinity changed.</summary>
    public sealed record UpdateListener(ListenerSpec Spec);

    /// <summary>Ask the proxy for its current frontends (inspection, tests).</summary>
    public sealed class GetListeners
    {
        public static readonly GetListeners Instance = new();
    }

    public sealed record Listeners(IReadOnlyList<ListenerSpec> Specs, int ActiveConnections);

    public sealed class GetListenerState
    {
        public static readonly GetListenerState Instance = new();
    }

    public sealed record ListenerState(ListenerSpec Spec, bool Bound, int Port);

    /// <summary>Ask the proxy which mode it runs in (inspection, tests).</summary>
    public sealed class GetMode
    {
        public static readonly GetMode Instance = new();
    }

    /// <summary>The proxy's mode; in the nftables mode its table and whether the kernel holds the current rules.</summary>
    public sealed record ModeStatus(ProxyModeDecision Mode, string? Table, bool Applied, int FailedAttempts);
}
