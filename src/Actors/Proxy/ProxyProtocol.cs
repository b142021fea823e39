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
}
