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

    /// <summary>The HOCON a node of block <paramref name="block"/> layers over the defaults.</summary>
    public static string Hocon(int block) =>
        $"akkakube.services.service-cidr = \"{ServiceCidr(block)}\"\nakkakube.cloud.load-balancer-cidr = \"{LoadBalancerCidr(block)}\"\n";

    private static int Check(int block) => block is >= 0 and <= Max
        ? block
        : throw new ArgumentOutOfRangeException(nameof(block), block, $"an address block is between 0 and {Max}");
}
