using Akka.Configuration;

namespace AkkaKube.Actors.Proxy;

/// <summary>How kube-proxy serves Services on a node: user-space listeners on loopback ClusterIPs, or nftables rules in the kernel.</summary>
public enum ProxyMode { Userspace, Nftables }

/// <summary>
/// The mode a node's kube-proxy runs in, and why: <paramref name="Requested"/> is what the settings ask for (auto = from the
/// runtime); <paramref name="Unavailable"/> says in one line why nftables could not be used (then the mode is user space).
/// </summary>
public sealed record ProxyModeDecision(ProxyMode Mode, ProxyMode Requested, string? Unavailable)
{
    public string Name => ProxyModes.Name(Mode);
}

/// <summary>Chooses the proxy mode per node (docs/services.md): cri → nftables, process/simulated → userspace; akkakube.proxy.mode overrides.</summary>
public static class ProxyModes
{
    /// <summary>Node annotations the kubelet writes (kube-proxy may not patch Nodes: system:node-proxier only reads them).</summary>
    public const string ModeAnnotation = "akkakube.io/proxy-mode";
    public const string UnavailableAnnotation = "akkakube.io/proxy-mode-unavailable";

    public static string Name(ProxyMode mode) => mode == ProxyMode.Nftables ? "nftables" : "userspace";

    /// <summary>From the settings (<c>akkakube.proxy.mode</c>: auto, userspace or nftables) and the kubelet's runtime.</summary>
    public static ProxyModeDecision Resolve(Config config) =>
        Resolve(config.GetString("akkakube.proxy.mode", "auto"), config.GetString("akkakube.kubelet.runtime", "process"), NftablesMissing);

    public static ProxyModeDecision Resolve(string setting, string runtime, Func<string?> nftablesMissing)
    {
        var requested = setting switch
        {
            "auto" or "" => runtime == "cri" ? ProxyMode.Nftables : ProxyMode.Userspace,
            "userspace" => ProxyMode.Userspace,
            "nftables" => ProxyMode.Nftables,
            _ => throw new ConfigurationException($"akkakube.proxy.mode must be auto, userspace or nftables, not '{setting}'"),
        };
        if (requested == ProxyMode.Userspace) return new ProxyModeDecision(ProxyMode.Userspace, requested, null);
        return nftablesMissing() is { } missing
            ? new ProxyModeDecision(ProxyMode.Userspace, requested, "nftables mode unavailable: " + missing)
            : new ProxyModeDecision(ProxyMode.Nftables, requested, null);
    }

    /// <summary>What this machine lacks for the nftables mode, as one line; null when nothing.</summary>
    public static string? NftablesMissing()
    {
        if (!OperatingSystem.IsLinux()) return "needs Linux";
        if (!Environment.IsPrivilegedProcess) return "needs root (CAP_NET_ADMIN)";
        return NftCommand.Find() is null ? "needs the nft tool (apt-get install nftables)" : null;
    }
}
