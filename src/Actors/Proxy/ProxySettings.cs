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
        return new ProxySettings(
            c.GetTimeSpan("connect-timeout", Default.ConnectTimeout),
            c.GetTimeSpan("min-sync-period", Default.MinSyncPeriod),
            c.GetTimeSpan("bind-retry", Default.BindRetry));
    }
}
