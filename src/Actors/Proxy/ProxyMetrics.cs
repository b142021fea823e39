using Prometheus;

namespace AkkaKube.Actors.Proxy;

/// <summary>The user-space proxy's connection counts (kube-proxy has no such metric: its kernel modes keep none).</summary>
public static class ProxyMetrics
{
    public static readonly Counter Accepted = Metrics.CreateCounter("akkakube_proxy_connections_accepted_total",
        "Client connections a service frontend accepted and connected to a backend.");

    public static readonly Gauge Active = Metrics.CreateGauge("akkakube_proxy_connections_active",
        "Proxied connections currently open (client and backend both connected).");
}
