using System.Text;
using AkkaKube.Actors.Dns;
using k8s.Models;

namespace AkkaKube.Actors.Kubelet;

/// <summary>
/// What the kubelet knows for pods' DNS (Kubernetes' --cluster-dns, --cluster-domain, --resolv-conf): the nameservers of
/// dnsPolicy ClusterFirst (empty: no cluster DNS, pods fall back to the host's resolver as Kubernetes does), the
/// cluster domain and the host's resolver file.
/// </summary>
public sealed record PodDnsSettings(IReadOnlyList<string> ClusterDns, string ClusterDomain, string HostResolvConf)
{
    public static readonly PodDnsSettings None = new([], "cluster.local", "/etc/resolv.conf");
}

/// <summary>
/// A pod's resolv.conf and /etc/hosts, computed as the kubelet does (pkg/kubelet/network/dns and the kubelet's managed
/// hosts file): pure functions, table-tested against Kubernetes' rules.
/// </summary>
public static class PodDns
{
    /// <summary>glibc's limits the kubelet trims to (Kubernetes' validation.MaxDNSNameservers, MaxDNSSearchPaths, MaxDNSSearchListChars).</summary>
    public const int MaxNameservers = 3;
    public const int MaxSearches = 32;
    public const int MaxSearchChars = 2048;

    public enum DnsType { Cluster, Host, None }

    /// <summary>Which resolver a pod gets: Kubernetes' getPodDNSType (ClusterFirst on hostNetwork means the host's).</summary>
    public static DnsType TypeOf(V1Pod pod, bool hasClusterDns)
    {
        var hostNetwork = pod.Spec?.HostNetwork == true;
        var type = (pod.Spec?.DnsPolicy ?? "ClusterFirst") switch
        {
            "None" => DnsType.None,
            "Default" => DnsType.Host,
            "ClusterFirstWithHostNet" => DnsType.Cluster,
            _ => hostNetwork ? DnsType.Host : DnsType.Cluster, // ClusterFirst (and unset)
        };
        // No cluster DNS configured: the kubelet falls back to the host's resolver (and says so in an event).
        return type == DnsType.Cluster && !hasClusterDns ? DnsType.Host : type;
    }

    /// <summary>The pod's resolver configuration: its policy's base, then dnsConfig appended/merged, then trimmed to the limits.</summary>
    public static ResolvConf For(V1Pod pod, PodDnsSettings settings, ResolvConf host)
    {
        var ns = pod.Metadata?.NamespaceProperty ?? "default";
        var domain = ClusterZone.Normalize(settings.ClusterDomain);
        var (servers, searches, options) = TypeOf(pod, settings.ClusterDns.Count > 0) switch
        {
            DnsType.Cluster => (settings.ClusterDns.ToList(),
                new List<string> { $"{ns}.svc.{domain}", $"svc.{domain}", domain }.Concat(host.Searches).ToList(),
                new List<string> { "ndots:5" }),
            DnsType.Host => (host.Nameservers.ToList(), host.Searches.ToList(), host.Options.ToList()),
            _ => (new List<string>(), new List<string>(), new List<string>()),
        };
        if (pod.Spec?.DnsConfig is { } extra)
        {
            servers = Distinct(servers.Concat(extra.Nameservers ?? []));
            searches = Distinct(searches.Concat(extra.Searches ?? []));
            options = MergeOptions(options, extra.Options ?? []);
        }
        return new ResolvConf(servers.Take(MaxNameservers).ToList(), FitSearches(searches), options);
    }

    /// <summary>Kubernetes' mergeDNSOptions: by option name, the pod's dnsConfig value wins; "name:value" or "name".</summary>
    public static List<string> MergeOptions(IEnumerable<string> existing, IEnumerable<V1PodDNSConfigOption> extra)
    {
        var merged = new List<(string Name, string? Value)>();
        void Set(string name, string? value)
        {
            var i = merged.FindIndex(o => o.Name == name);
            if (i >= 0) merged[i] = (name, value);
            else merged.Add((name, value));
        }
        foreach (var o in existing)
        {
            var colon = o.IndexOf(':');
            if (colon >= 0) Set(o[..colon], o[(colon + 1)..]);
            else Set(o, null);
        }
        foreach (var o in extra)
            if (!string.IsNullOrEmpty(o.Name)) Set(o.Name, o.Value);
        return merged.Select(o => string.IsNullOrEmpty(o.Value) ? o.Name : $"{o.Name}:{o.Value}").ToList();
    }

    /// <summary>Search domains without trailing dots or duplicates, cut to <see cref="MaxSearches"/> and <see cref="MaxSearchChars"/>.</summary>
    private static List<string> FitSearches(IEnumerable<string> searches)
    {
        var fitted = new List<string>();
        var chars = 0;
        foreach (var s in Distinct(searches.Select(s => s.TrimEnd('.')).Where(s => s.Length > 0)))
        {
            var add = s.Length + (fitted.Count > 0 ? 1 : 0);
            if (fitted.Count == MaxSearches || chars + add > MaxSearchChars) break;
            fitted.Add(s);
            chars += add;
        }
        return fitted;
    }

    private static List<string> Distinct(IEnumerable<string> items) => items.Distinct(StringComparer.Ordinal).ToList();

    /// <summary>The pod's hostname: spec.hostname, else its name (cut to 63 characters, as the kubelet's GeneratePodHostNameAndDomain).</summary>
    public static string Hostname(V1Pod pod)
    {
        var name = pod.Spec?.Hostname is { Length: > 0 } h ? h : pod.Metadata?.Name ?? "";
        return name.Length <= 63 ? name : name[..63].TrimEnd('-', '.');
    }

    /// <summary>The pod's FQDN when it has a subdomain (hostname.subdomain.ns.svc.domain), else null.</summary>
    public static string? Fqdn(V1Pod pod, string clusterDomain) =>
        pod.Spec?.Subdomain is { Length: > 0 } sub
            ? $"{Hostname(pod)}.{sub}.{pod.Metadata?.NamespaceProperty ?? "default"}.svc.{ClusterZone.Normalize(clusterDomain)}"
            : null;

    /// <summary>The kubelet-managed /etc/hosts: loopback entries, the pod's own name(s) on its IP, then hostAliases.</summary>
    public static string EtcHosts(V1Pod pod, string podIp, string clusterDomain)
    {
        var text = new StringBuilder();
        text.Append("# Kubernetes-managed hosts file.\n");
        text.Append("127.0.0.1\tlocalhost\n");
        text.Append("::1\tlocalhost ip6-localhost ip6-loopback\n");
        text.Append("fe00::0\tip6-localnet\n");
        text.Append("fe00::0\tip6-mcastprefix\n");
        text.Append("fe00::1\tip6-allnodes\n");
        text.Append("fe00::2\tip6-allrouters\n");
        if (podIp.Length > 0)
        {
            var fqdn = Fqdn(pod, clusterDomain);
            text.Append(podIp).Append('\t').Append(fqdn is null ? Hostname(pod) : $"{fqdn}\t{Hostname(pod)}").Append('\n');
        }
        var aliases = pod.Spec?.HostAliases ?? [];
        if (aliases.Count > 0)
        {
            text.Append("\n# Entries added by HostAliases.\n");
            foreach (var alias in aliases)
                if (!string.IsNullOrEmpty(alias.Ip) && alias.Hostnames is { Count: > 0 } names)
                    text.Append(alias.Ip).Append('\t').Append(string.Join('\t', names)).Append('\n');
        }
        return text.ToString();
    }
}
