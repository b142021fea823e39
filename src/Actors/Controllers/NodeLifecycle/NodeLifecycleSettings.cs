using Akka.Configuration;

namespace AkkaKube.Actors.Controllers.NodeLifecycle;

/// <summary>
/// Timings of node health and eviction (HOCON `akkakube.node-lifecycle`). Defaults are chosen for
/// loopback clusters and documented against Kubernetes' in docs/failover.md.
/// </summary>
public sealed record NodeLifecycleSettings
{
    /// <summary>How often node health is evaluated (Kubernetes node-monitor-period: 5 s).</summary>
    public TimeSpan MonitorPeriod { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// A Lease not seen renewed for this long makes the node Unknown (Kubernetes node-monitor-grace-period: 50 s).
    /// A dead process is noticed first by Akka's failure detector (~2-3 s); the Lease catches a hung kubelet in a
    /// live process, so it can wait out a store partition's hand-over (~10-12 s) without false evictions.
    /// </summary>
    public TimeSpan GracePeriod { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>Nodes per second whose NoExecute taint may be applied in a healthy zone (Kubernetes: 0.1).</summary>
    public double EvictionRate { get; init; } = 1.0;

    /// <summary>Rate in a partially disrupted zone of more than LargeClusterSizeThreshold nodes (Kubernetes: 0.01); 0 in smaller zones.</summary>
    public double SecondaryEvictionRate { get; init; } = 0.1;

    /// <summary>Burst of the per-zone token bucket.</summary>
    public int EvictionBurst { get; init; } = 3;

    /// <summary>Share of unhealthy nodes (with at least 3 unhealthy) that makes a zone partially disrupted (Kubernetes: 0.55).</summary>
    public double UnhealthyZoneThreshold { get; init; } = 0.55;

    public int LargeClusterSizeThreshold { get; init; } = 50;

    public static NodeLifecycleSettings Create(Config config)
    {
        var c = config.GetConfig("akkakube.node-lifecycle");
        if (c is null || c.IsEmpty) return new NodeLifecycleSettings();
        var s = new NodeLifecycleSettings
        {
            MonitorPeriod = c.GetTimeSpan("monitor-period", TimeSpan.FromMilliseconds(500)),
            GracePeriod = c.GetTimeSpan("grace-period", TimeSpan.FromSeconds(20)),
            EvictionRate = c.GetDouble("eviction-rate", 1.0),
            SecondaryEvictionRate = c.GetDouble("secondary-eviction-rate", 0.1),
            EvictionBurst = c.GetInt("eviction-burst", 3),
            UnhealthyZoneThreshold = c.GetDouble("unhealthy-zone-threshold", 0.55),
            LargeClusterSizeThreshold = c.GetInt("large-cluster-size-threshold", 50),
        };
        if (s.MonitorPeriod <= TimeSpan.Zero) throw new ConfigurationException("akkakube.node-lifecycle.monitor-period must be positive");
        if (s.GracePeriod <= s.MonitorPeriod) throw new ConfigurationException("akkakube.node-lifecycle.grace-period must be longer than monitor-period");
        if (s.EvictionRate <= 0) throw new ConfigurationException("akkakube.node-lifecycle.eviction-rate must be positive");
        if (s.SecondaryEvictionRate < 0) throw new ConfigurationException("akkakube.node-lifecycle.secondary-eviction-rate must not be negative");
        if (s.EvictionBurst < 1) throw new ConfigurationException("akkakube.node-lifecycle.eviction-burst must be at least 1");
        if (s.UnhealthyZoneThreshold is <= 0 or > 1) throw new ConfigurationException("akkakube.node-lifecycle.unhealthy-zone-threshold must be in (0, 1]");
        return s;
    }
}
