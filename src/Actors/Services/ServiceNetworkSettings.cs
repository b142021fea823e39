using System.Net;
using Akka.Configuration;

namespace AkkaKube.Actors.Services;

/// <summary>Service address ranges (HOCON block <c>akkakube.services</c> in hocon/control-plane.conf).</summary>
public sealed record ServiceNetworkSettings
{
    public const string KubernetesServiceName = "kubernetes";
    public const string KubernetesServiceNamespace = "default";

    /// <summary>The service CIDR, e.g. 127.128.0.0/16; its first host address belongs to the `kubernetes` service.</summary>
    public string ServiceCidr { get; }
    public uint FirstIp { get; }
    public uint LastIp { get; }
    public int NodePortMin { get; }
    public int NodePortMax { get; }

    /// <summary>How long an admitted allocation is held for a create/update the store has not yet confirmed.</summary>
    public TimeSpan PendingClaimTtl { get; }

    public IPAddress KubernetesServiceIp => ServiceIpMath.ToAddress(FirstIp);

    public ServiceNetworkSettings(string serviceCidr, string nodePortRange, TimeSpan pendingClaimTtl)
    {
        var parts = serviceCidr.Split('/');
        if (parts.Length != 2 || !IPAddress.TryParse(parts[0], out var network) || network.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork
            || !int.TryParse(parts[1], out var bits) || bits is < 8 or > 30)
            throw new ArgumentException($"akkakube.services.service-cidr: '{serviceCidr}' is not an IPv4 CIDR with a prefix between /8 and /30");
        var mask = bits == 0 ? 0u : uint.MaxValue << (32 - bits);
        var baseIp = ServiceIpMath.ToUInt(network) & mask;
        FirstIp = baseIp + 1;
        LastIp = (baseIp | ~mask) - 1;
        ServiceCidr = $"{ServiceIpMath.ToAddress(baseIp)}/{bits}";

        var range = nodePortRange.Split('-');
        if (range.Length != 2 || !int.TryParse(range[0], out var min) || !int.TryParse(range[1], out var max)
            || min < 1 || max > 65535 || min > max)
            throw new ArgumentException($"akkakube.services.node-port-range: '{nodePortRange}' is not a port range like 30000-32767");
        NodePortMin = min;
        NodePortMax = max;
        if (pendingClaimTtl <= TimeSpan.Zero)
            throw new ArgumentException("akkakube.services.pending-claim-ttl must be positive");
        PendingClaimTtl = pendingClaimTtl;
    }

    public static readonly ServiceNetworkSettings Default = new("127.128.0.0/22", "30000-32767", TimeSpan.FromSeconds(30));

    public static ServiceNetworkSettings Create(Config config)
    {
        var c = config.GetConfig("akkakube.services");
        if (c is null || c.IsEmpty) return Default;
        return new ServiceNetworkSettings(
            c.GetString("service-cidr", Default.ServiceCidr),
            c.GetString("node-port-range", $"{Default.NodePortMin}-{Default.NodePortMax}"),
            c.GetTimeSpan("pending-claim-ttl", Default.PendingClaimTtl));
    }

    public bool InRange(IPAddress ip) =>
        ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork && ServiceIpMath.ToUInt(ip) is var n && n >= FirstIp && n <= LastIp;

    public string NodePortRange => $"{NodePortMin}-{NodePortMax}";
}

public static class ServiceIpMath
{
    public static uint ToUInt(IPAddress ip)
    {
        var b = ip.GetAddressBytes();
        return (uint)(b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3]);
    }

    public static IPAddress ToAddress(uint n) => new([(byte)(n >> 24), (byte)(n >> 16), (byte)(n >> 8), (byte)n]);
}
