using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace AkkaKube.Actors.Proxy;

/// <summary>
/// The host settings the nftables mode needs (docs/services.md, "nftables mode"), set only where needed and only when
/// not set already: route_localnet on the node's pod bridge (pods reach 127.x endpoints — the apiserver behind the
/// `kubernetes` Service — and loopback-addressed NodePorts reach pods), and bridge-nf-call-iptables (replies between
/// two pods on one bridge pass through conntrack, so a DNAT to a pod on the same bridge is undone on the way back).
/// ip_forward is the CNI bridge plugin's (isGateway).
/// </summary>
public static class NodeNetwork
{
    /// <summary>The gateway of a pod CIDR (its first address: the CNI bridge's), or null when the CIDR is not IPv4.</summary>
    public static IPAddress? Gateway(string? podCidr)
    {
        if (podCidr?.Split('/') is not [var network, _] || !IPAddress.TryParse(network, out var ip) || ip.AddressFamily != AddressFamily.InterNetwork)
            return null;
        var b = ip.GetAddressBytes();
        b[3] = (byte)(b[3] + 1);
        return new IPAddress(b);
    }

    /// <summary>The interface holding <paramref name="address"/>, or null (the bridge appears with the node's first pod).</summary>
    public static string? InterfaceWith(IPAddress address) =>
        NetworkInterface.GetAllNetworkInterfaces()
            .FirstOrDefault(n => n.GetIPProperties().UnicastAddresses.Any(a => a.Address.Equals(address)))?.Name;

    /// <summary>Writes a sysctl (its path under /proc/sys: interface names may hold dots) when it differs; returns what it did, or null when nothing was needed.</summary>
    public static string? EnsureSysctl(string key, string value)
    {
        var path = "/proc/sys/" + key;
        try
        {
            if (!File.Exists(path)) return $"{key}: absent";
            if (File.ReadAllText(path).Trim() == value) return null;
            File.WriteAllText(path, value);
            return $"{key} = {value}";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"{key}: {e.Message}";
        }
    }
}
