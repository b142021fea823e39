using k8s.Models;

namespace AkkaKube.Actors.Kubelet;

/// <summary>
/// The pod's resolv.conf and hosts files, written by the kubelet into DATA/pods/&lt;uid&gt;/etc/ before each container
/// starts (Kubernetes keeps them in the pod directory too). Process-runtime containers are host processes and resolve
/// through the host's resolver; the files are theirs to read through <see cref="ResolvConfEnv"/> and <see cref="HostsEnv"/>
/// (as the ServiceAccount directory); cri containers get the hosts file as /etc/hosts, resolv.conf from the sandbox.
/// </summary>
public static class PodDnsFiles
{
    public const string ResolvConfEnv = "AKKAKUBE_RESOLV_CONF";
    public const string HostsEnv = "AKKAKUBE_HOSTS_FILE";

    public sealed record Written(string ResolvConfPath, string HostsPath, IReadOnlyList<KeyValuePair<string, string>> Env);

    public static string Directory(string dataDir, string podUid) => Path.Combine(dataDir, "pods", podUid, "etc");

    public static async Task<Written> WriteAsync(string dataDir, V1Pod pod, string podIp, PodDnsSettings dns)
    {
        var dir = Directory(dataDir, pod.Metadata?.Uid ?? "unknown");
        System.IO.Directory.CreateDirectory(dir);
        var resolv = Path.Combine(dir, "resolv.conf");
        var hosts = Path.Combine(dir, "hosts");
        var host = AkkaKube.Actors.Dns.ResolvConf.Load(dns.HostResolvConf);
        await WriteAtomicallyAsync(resolv, PodDns.For(pod, dns, host).Render()).ConfigureAwait(false);
        await WriteAtomicallyAsync(hosts, PodDns.EtcHosts(pod, podIp, dns.ClusterDomain)).ConfigureAwait(false);
        return new Written(resolv, hosts, [new(ResolvConfEnv, resolv), new(HostsEnv, hosts)]);
    }

    // A container of the pod may be reading the file while a sibling's start rewrites it: replace, never truncate.
    private static async Task WriteAtomicallyAsync(string path, string text)
    {
        var temp = $"{path}.{Guid.NewGuid():N}.tmp";
        await File.WriteAllTextAsync(temp, text).ConfigureAwait(false);
        File.Move(temp, path, overwrite: true);
    }
}
