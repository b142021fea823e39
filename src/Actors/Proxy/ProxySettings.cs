using Akka.Configuration;

namespace AkkaKube.Actors.Proxy;

/// <summary>kube-proxy settings (HOCON block <c>akkakube.proxy</c> in hocon/worker.conf).</summary>
public sealed record ProxySettings
{
    /// <summary>How long a connect to one endpoint may take before the next endpoint is tried.</summary>
    public TimeSpan ConnectTimeout { get; }

    /// <summary>Changes seen within this period are applied together (kube-proxy's minSyncPeriod).</summary>
    public TimeSpan MinSyncPeriod { get; }

    /// <summary>A frontend whose bind failed is retried after this long.</summary>
    public TimeSpan BindRetry { get; }

    /// <summary>nftables mode: the range of every pod of the cluster (traffic from outside it to a Service is masqueraded).</summary>
    public string ClusterCidr { get; init; } = "10.244.0.0/16";

    /// <summary>nftables mode: a failed transaction is retried after min-retry, doubling up to max-retry.</summary>
    public TimeSpan NftMinRetry { get; init; } = TimeSpan.FromSeconds(1);
    public TimeSpan NftMaxRetry { get; init; } = TimeSpan.FromSeconds(30);

    public ProxySettings(TimeSpan connectTimeout, TimeSpan minSyncPeriod, TimeSpan bindRetry)
    {
        if (connectTimeout <= TimeSpan.Zero)
            throw new ArgumentException("akkakube.proxy.connect-timeout must be positive");
        if (minSyncPeriod < TimeSpan.Zero)
            throw new ArgumentException("akkakube.proxy.min-sync-period must not be negative");
        if (bindRetry <= TimeSpan.Zero)
            throw new ArgumentException("akkakube.proxy.bind-retry must be positive");
        ConnectTimeout = connectTimeout;
        MinSyncPeriod = minSyncPeriod;
        BindRetry = bindRetry;
    }

    public static readonly ProxySettings Default = new(TimeSpan.FromSeconds(2), TimeSpan.FromMilliseconds(50), TimeSpan.FromSeconds(1));

    public static ProxySettings Create(Config config)
    {
        var c = config.GetConfig("akkakube.proxy");
        if (c is null || c.IsEmpty) return Default;
        var settings = new ProxySettings(
            c.GetTimeSpan("connect-timeout", Default.ConnectTimeout),
            c.GetTimeSpan("min-sync-period", Default.MinSyncPeriod),
            c.GetTimeSpan("bind-retry", Default.BindRetry))
        {
            ClusterCidr = c.GetString("nftables.cluster-cidr", Default.ClusterCidr),
            NftMinRetry = c.GetTimeSpan("nftables.min-retry", Default.NftMinRetry),
            NftMaxRetry = c.GetTimeSpan("nftables.max-retry", Default.NftMaxRetry),
        };
        if (settings.NftMinRetry <= TimeSpan.Zero || settings.NftMaxRetry < settings.NftMinRetry)
            throw new ArgumentException("akkakube.proxy.nftables.min-retry must be positive and at most max-retry");
        return settings;
    }
}
