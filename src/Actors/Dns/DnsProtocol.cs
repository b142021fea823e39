using System.Net;

namespace AkkaKube.Actors.Dns;

/// <summary>Messages of the cluster DNS actors (/user/dns and its listeners).</summary>
public static class DnsProtocol
{
    /// <summary>Asks /user/dns (or one listener) which endpoints it serves.</summary>
    public sealed class GetListening
    {
        public static readonly GetListening Instance = new();
    }

    public sealed record Listening(IPEndPoint Endpoint, bool Bound);

    /// <summary>The DNS actor's answer: whether the zone is synced from the informers, and its listeners.</summary>
    public sealed record Status(bool Synced, int Services, IReadOnlyList<Listening> Listeners);
}
