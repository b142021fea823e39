using AkkaKube.Actors.Dns;
using AkkaKube.Actors.Kubelet;
using k8s.Models;

namespace AkkaKube.Tests.Kubelet;

/// <summary>A pod's resolv.conf and /etc/hosts as the kubelet writes them (pkg/kubelet/network/dns rules).</summary>
public sealed class PodDnsTests
{
    private static readonly ResolvConf Host = ResolvConf.Parse("""
        # the host's resolver
        nameserver 192.0.2.53
        nameserver 192.0.2.54
        search corp.example
        options timeout:2 rotate
        """);

    private static readonly PodDnsSettings Cluster = new(["10.96.0.10"], "cluster.local", "/etc/resolv.conf");

    private static V1Pod Pod(string? policy = null, bool hostNetwork = false, V1PodDNSConfig? config = null) => new()
    {
        Metadata = new V1ObjectMeta { Name = "web-0", NamespaceProperty = "shop" },
        Spec = new V1PodSpec { DnsPolicy = policy, HostNetwork = hostNetwork, DnsConfig = config, Containers = [] },
    };

    private static string Conf(V1Pod pod, PodDnsSettings? settings = null) => PodDns.For(pod, settings ?? Cluster, Host).Render();

    public static TheoryData<string, V1Pod, PodDnsSettings, string> Cases => new()
    {
        { "ClusterFirst: the cluster DNS, the namespace's search path before the host's, ndots:5", Pod("ClusterFirst"), Cluster,
            "nameserver 10.96.0.10\nsearch shop.svc.cluster.local svc.cluster.local cluster.local corp.example\noptions ndots:5\n" },
        { "no dnsPolicy is ClusterFirst", Pod(), Cluster,
            "nameserver 10.96.0.10\nsearch shop.svc.cluster.local svc.cluster.local cluster.local corp.example\noptions ndots:5\n" },
        { "ClusterFirst on the host network is the host's resolver", Pod("ClusterFirst", hostNetwork: true), Cluster,
            "nameserver 192.0.2.53\nnameserver 192.0.2.54\nsearch corp.example\noptions timeout:2 rotate\n" },
        { "ClusterFirstWithHostNet on the host network is the cluster's", Pod("ClusterFirstWithHostNet", hostNetwork: true), Cluster,
            "nameserver 10.96.0.10\nsearch shop.svc.cluster.local svc.cluster.local cluster.local corp.example\noptions ndots:5\n" },
        { "Default is the host's resolver", Pod("Default"), Cluster,
            "nameserver 192.0.2.53\nnameserver 192.0.2.54\nsearch corp.example\noptions timeout:2 rotate\n" },
        { "without cluster DNS, ClusterFirst falls back to the host's", Pod("ClusterFirst"), Cluster with { ClusterDns = [] },
            "nameserver 192.0.2.53\nnameserver 192.0.2.54\nsearch corp.example\noptions timeout:2 rotate\n" },
        { "the cluster domain is the configured one", Pod(), Cluster with { ClusterDomain = "corp.internal" },
            "nameserver 10.96.0.10\nsearch shop.svc.corp.internal svc.corp.internal corp.internal corp.example\noptions ndots:5\n" },
        { "None: only dnsConfig", Pod("None", config: new V1PodDNSConfig
            {
                Nameservers = ["1.1.1.1"], Searches = ["a.example"], Options = [new V1PodDNSConfigOption { Name = "ndots", Value = "2" }],
            }), Cluster,
            "nameserver 1.1.1.1\nsearch a.example\noptions ndots:2\n" },
        { "None without dnsConfig is empty", Pod("None"), Cluster, "" },
        { "dnsConfig is appended: nameservers and searches after, options merged by name (the pod's value wins)", Pod("ClusterFirst", config: new V1PodDNSConfig
            {
                Nameservers = ["10.96.0.10", "1.1.1.1"], Searches = ["svc.cluster.local", "extra.example"],
                Options = [new V1PodDNSConfigOption { Name = "ndots", Value = "2" }, new V1PodDNSConfigOption { Name = "edns0" }],
            }), Cluster,
            "nameserver 10.96.0.10\nnameserver 1.1.1.1\nsearch shop.svc.cluster.local svc.cluster.local cluster.local corp.example extra.example\noptions ndots:2 edns0\n" },
        { "at most 3 nameservers", Pod("Default", config: new V1PodDNSConfig { Nameservers = ["1.1.1.1", "8.8.8.8"] }), Cluster,
            "nameserver 192.0.2.53\nnameserver 192.0.2.54\nnameserver 1.1.1.1\nsearch corp.example\noptions timeout:2 rotate\n" },
        { "search domains lose a trailing dot and duplicates", Pod("None", config: new V1PodDNSConfig { Searches = ["a.example.", "a.example", "b.example"] }), Cluster,
            "search a.example b.example\n" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Resolv_conf_follows_the_kubelets_rules(string because, V1Pod pod, PodDnsSettings settings, string expected) =>
        Assert.True(Conf(pod, settings) == expected, $"{because}:\n{Conf(pod, settings)}\nexpected:\n{expected}");

    [Fact]
    public void At_most_32_search_domains_are_kept()
    {
        var pod = Pod("None", config: new V1PodDNSConfig { Searches = Enumerable.Range(0, 40).Select(i => $"d{i}.example").ToList() });
        var conf = PodDns.For(pod, Cluster, Host);
        Assert.Equal(PodDns.MaxSearches, conf.Searches.Count);
        Assert.Equal("d31.example", conf.Searches[^1]);
    }

    [Fact]
    public void The_hosts_file_names_the_pod_by_its_fqdn_and_hostname_and_adds_host_aliases()
    {
        var pod = Pod();
        pod.Spec.Hostname = "web-0";
        pod.Spec.Subdomain = "nginx";
        pod.Spec.HostAliases = [new V1HostAlias { Ip = "10.1.2.3", Hostnames = ["foo.local", "bar.local"] }];
        var hosts = PodDns.EtcHosts(pod, "10.244.1.7", "cluster.local");
        Assert.Contains("127.0.0.1\tlocalhost\n", hosts);
        Assert.Contains("10.244.1.7\tweb-0.nginx.shop.svc.cluster.local\tweb-0\n", hosts);
        Assert.EndsWith("# Entries added by HostAliases.\n10.1.2.3\tfoo.local\tbar.local\n", hosts);
    }

    [Fact]
    public void A_pod_without_subdomain_is_named_by_its_hostname_only()
    {
        var hosts = PodDns.EtcHosts(Pod(), "10.244.1.9", "cluster.local");
        Assert.Contains("10.244.1.9\tweb-0\n", hosts);
        Assert.DoesNotContain("HostAliases", hosts);
    }

    [Fact]
    public void The_host_resolv_conf_parses_as_glibc_reads_it()
    {
        var conf = ResolvConf.Parse("domain a.example\nsearch b.example c.example\n; comment\nnameserver 10.0.0.2\noptions ndots:1\noptions edns0\n");
        Assert.Equal(["10.0.0.2"], conf.Nameservers);
        Assert.Equal(["b.example", "c.example"], conf.Searches); // the last search/domain line wins
        Assert.Equal(["ndots:1", "edns0"], conf.Options);
    }
}
