namespace AkkaKube.Actors.Cluster;

/// <summary>
/// Splits DESIGN.md's loopback ranges between local clusters that share one machine, so two clusters never bind
/// the same address (pod IPs and ClusterIP:ports are bound with SO_REUSEPORT by design; two clusters on the same
/// address would silently share connections). Block b (0–63) owns node ordinals 256·b + 1 … 256·b + 250, hence
/// node IPs 127.1.b.k and pod CIDRs 127.(64+b).k.0/24, the ClusterIPs 127.128.4b.0/22 (the `kubernetes` service
/// is its first address) and the LoadBalancer IPs 127.200.4b.0/22. Block 0 is `akkakube up`'s default.
/// </summary>
public static class AddressBlocks
{
    public const int Max = 63;

    /// <summary>The node ordinal before the block's first node (ordinals count from 1).</summary>
    public static int OrdinalBase(int block) => Check(block) * 256;

    public static string ServiceCidr(int block) => $"127.128.{Check(block) * 4}.0/22";

    public static string LoadBalancerCidr(int block) => $"127.200.{Check(block) * 4}.0/22";

    /// <summary>
    /// Service addresses of a cluster whose pods live in their own network namespaces (`up --runtime containerd`): loopback
    /// is the pod's own there, so ClusterIPs are 10.96.4b.0/22 and LoadBalancer IPs 10.97.4b.0/22, private ranges that
    /// the nftables proxy DNATs on this host and never routes off it (docs/services.md, "nftables mode").
    /// </summary>
    public static string CriServiceCidr(int block) => $"10.96.{Check(block) * 4}.0/22";

    public static string CriLoadBalancerCidr(int block) => $"10.97.{Check(block) * 4}.0/22";

    /// <summary>The HOCON a node of block <paramref name="block"/> layers over the defaults (<paramref name="cri"/>: the routable ranges).</summary>
    public static string Hocon(int block, bool cri = false) =>
        $"akkakube.services.service-cidr = \"{(cri ? CriServiceCidr(block) : ServiceCidr(block))}\"\n" +
        $"akkakube.cloud.load-balancer-cidr = \"{(cri ? CriLoadBalancerCidr(block) : LoadBalancerCidr(block))}\"\n";

    private static int Check(int block) => block is >= 0 and <= Max
        ? block
        : throw new ArgumentOutOfRangeException(nameof(block), block, $"an address block is between 0 and {Max}");
}
