using System.Net;
using Akka.Configuration;

namespace AkkaKube.Actors.Dns;

/// <summary>Cluster DNS settings (HOCON block <c>akkakube.dns</c> in hocon/base.conf; docs/dns.md).</summary>
public sealed record DnsSettings
{
    public bool Enabled { get; init; } = true;

    /// <summary>The cluster's DNS domain (kubelet --cluster-domain); every node of a cluster must agree.</summary>
    public string ClusterDomain { get; init; } = "cluster.local";

    /// <summary>Port on the node's IP every node serves (UDP and TCP). A high port: port 53 needs root.</summary>
    public int Port { get; init; } = 10053;

    /// <summary>Port 53 on the address pods' resolv.conf names, served as well when the process may bind it (root); 0 = never.</summary>
    public int PodPort { get; init; } = 53;

    /// <summary>TTL of the records of the cluster zone (and of its negative answers).</summary>
    public int Ttl { get; init; } = 5;

    /// <summary>Upstream resolvers for names outside the zone; empty = the nameservers of <see cref="ResolvConf"/>.</summary>
    public IReadOnlyList<IPEndPoint> Upstreams { get; init; } = [];

    /// <summary>The host's resolver configuration read for upstreams (and written into pods with dnsPolicy Default).</summary>
    public string ResolvConf { get; init; } = "/etc/resolv.conf";

    public TimeSpan ForwardTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Forwarded answers cached (at most this many, each for its own TTL capped at <see cref="CacheMaxTtl"/>).</summary>
    public int CacheSize { get; init; } = 10_000;
    public TimeSpan CacheMaxTtl { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Queries answered at once per node; more wait (TCP) or get SERVFAIL after the forward timeout (UDP).</summary>
    public int MaxConcurrentQueries { get; init; } = 256;

    /// <summary>A listener whose address is not there yet (the CNI bridge appears with the first pod) binds again after this long.</summary>
    public TimeSpan BindRetry { get; init; } = TimeSpan.FromSeconds(2);

    public static readonly DnsSettings Default = new();

    public static DnsSettings Create(Config config)
    {
        var c = config.GetConfig("akkakube.dns");
        if (c is null || c.IsEmpty) return Default;
        var settings = new DnsSettings
        {
            Enabled = c.GetBoolean("enabled", Default.Enabled),
            ClusterDomain = ClusterZone.Normalize(c.GetString("cluster-domain", Default.ClusterDomain)),
            Port = c.GetInt("port", Default.Port),
            PodPort = c.GetInt("pod-port", Default.PodPort),
            Ttl = c.GetInt("ttl", Default.Ttl),
            Upstreams = (c.GetStringList("upstreams") ?? []).Select(u => ParseUpstream(u)).ToList(),
            ResolvConf = c.GetString("resolv-conf", Default.ResolvConf),
            ForwardTimeout = c.GetTimeSpan("forward-timeout", Default.ForwardTimeout),
            CacheSize = c.GetInt("cache-size", Default.CacheSize),
            CacheMaxTtl = c.GetTimeSpan("cache-max-ttl", Default.CacheMaxTtl),
            MaxConcurrentQueries = c.GetInt("max-concurrent-queries", Default.MaxConcurrentQueries),
            BindRetry = c.GetTimeSpan("bind-retry", Default.BindRetry),
        };
        return settings.Validated();
    }

    public DnsSettings Validated()
    {
        if (!IsDomain(ClusterDomain))
            throw new ArgumentException($"akkakube.dns.cluster-domain: '{ClusterDomain}' is not a DNS domain (lower-case labels separated by dots)");
        if (Port is < 1 or > 65535) throw new ArgumentException($"akkakube.dns.port: {Port} is not a port");
        if (PodPort is < 0 or > 65535) throw new ArgumentException($"akkakube.dns.pod-port: {PodPort} is not a port (0 = off)");
        if (Ttl is < 0 or > 3600) throw new ArgumentException($"akkakube.dns.ttl: {Ttl} must be between 0 and 3600 seconds");
        if (ForwardTimeout <= TimeSpan.Zero) throw new ArgumentException("akkakube.dns.forward-timeout must be positive");
        if (CacheSize < 0) throw new ArgumentException("akkakube.dns.cache-size must not be negative");
        if (MaxConcurrentQueries < 1) throw new ArgumentException("akkakube.dns.max-concurrent-queries must be at least 1");
        if (BindRetry <= TimeSpan.Zero) throw new ArgumentException("akkakube.dns.bind-retry must be positive");
        return this;
    }

    /// <summary>"1.2.3.4" or "1.2.3.4:5353" (IPv6 in brackets with a port).</summary>
    public static IPEndPoint ParseUpstream(string text)
    {
        if (IPAddress.TryParse(text, out var ip)) return new IPEndPoint(ip, 53);
        if (IPEndPoint.TryParse(text, out var ep)) return ep.Port == 0 ? new IPEndPoint(ep.Address, 53) : ep;
        throw new ArgumentException($"akkakube.dns.upstreams: '{text}' is not an address or address:port");
    }

    /// <summary>A DNS-1123 subdomain: what kubelet --cluster-domain accepts.</summary>
    public static bool IsDomain(string s) =>
        s.Length is > 0 and <= 253 && s.Split('.').All(l => l.Length is > 0 and <= 63
            && l.All(ch => ch is >= 'a' and <= 'z' or >= '0' and <= '9' or '-') && l[0] != '-' && l[^1] != '-');
}
