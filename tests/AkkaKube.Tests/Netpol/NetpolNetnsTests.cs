using System.Diagnostics;
using AkkaKube.Actors.Netpol;
using AkkaKube.Actors.Proxy;
using AkkaKube.Tests.Infrastructure;
using AkkaKube.Tests.Proxy;
using k8s.Models;
using static AkkaKube.Tests.Netpol.NetpolRulesTests;

namespace AkkaKube.Tests.Netpol;

/// <summary>
/// A node as the cri runtime builds it, in throw-away network namespaces: a "node" namespace with a bridge (10.244.1.1/24, as
/// the CNI bridge plugin makes it) and three "pod" namespaces on it through veth pairs — client 10.244.1.5, web 10.244.1.6,
/// other 10.244.1.7 — each with busybox httpd on 8080 and 9090 answering "&lt;pod&gt;:&lt;port&gt;". The node's policy table,
/// as <see cref="NetpolRules"/> writes it, goes into the node namespace with the real nft; real connections between the
/// pods cross the bridge (and so br_netfilter and the forward hook) as in a cluster. Root, nft, ip, busybox-static and
/// br_netfilter; skips naming what is missing. Everything is deleted in dispose.
/// </summary>
public sealed class PodNetworkFixture : IDisposable
{
    public string? Missing { get; }
    private readonly string _id = $"aknp{Environment.ProcessId % 10000}x{Random.Shared.Next(10000)}";
    private readonly TempDir _dir = new();
    private readonly List<Process> _servers = [];
    private readonly List<string> _namespaces = [];

    public static readonly (string Name, string Ip, string App)[] PodNets = [("client", "10.244.1.5", "client"), ("web", "10.244.1.6", "web"), ("other", "10.244.1.7", "other")];

    public string NodeNs => _id + "n";
    public string PodNs(string pod) => $"{_id}{pod[0]}";

    public PodNetworkFixture()
    {
        Missing = ProxyModes.NftablesMissing() ?? (File.Exists("/bin/busybox") ? null : "needs busybox-static")
                  ?? (NetnsFixture.Run("ip", "-V").Code == 0 ? null : "needs ip (iproute2)")
                  ?? (Directory.Exists("/proc/sys/net/bridge") ? null : "needs br_netfilter (modprobe br_netfilter)");
        if (Missing is not null) return;
        Add(NodeNs);
        InNode("ip link set lo up", "ip link add br0 type bridge", "ip addr add 10.244.1.1/24 dev br0", "ip link set br0 up",
            "sysctl -qw net.ipv4.ip_forward=1", "sysctl -qw net.bridge.bridge-nf-call-iptables=1");
        for (var i = 0; i < PodNets.Length; i++)
        {
            var (name, ip, _) = PodNets[i];
            var ns = PodNs(name);
            Add(ns);
            InNode($"ip link add veth{i} type veth peer name eth0 netns {ns}", $"ip link set veth{i} master br0", $"ip link set veth{i} up");
            foreach (var args in new[] { "link set lo up", $"addr add {ip}/24 dev eth0", "link set eth0 up", "route add default via 10.244.1.1" })
                Check(NetnsFixture.Run("ip", ["netns", "exec", ns, "ip", .. args.Split(' ')]));
            foreach (var port in new[] { 8080, 9090 })
            {
                var home = Path.Combine(_dir.Path, $"{name}-{port}");
                Directory.CreateDirectory(home);
                File.WriteAllText(Path.Combine(home, "index.html"), $"{name}:{port}\n");
                var psi = new ProcessStartInfo("ip") { UseShellExecute = false };
                foreach (var a in new[] { "netns", "exec", ns, "busybox", "httpd", "-f", "-p", $"{ip}:{port}", "-h", home }) psi.ArgumentList.Add(a);
                _servers.Add(Process.Start(psi)!);
            }
        }
    }

    private void Add(string ns)
    {
        Check(NetnsFixture.Run("ip", "netns", "add", ns));
        _namespaces.Add(ns);
    }

    private void InNode(params string[] commands)
    {
        foreach (var c in commands) Check(NetnsFixture.Run("ip", ["netns", "exec", NodeNs, .. c.Split(' ')]));
    }

    private static void Check((int Code, string Output) r)
    {
        if (r.Code != 0) throw new InvalidOperationException(r.Output);
    }

    public INftables Nft => new NftCommand(["ip", "netns", "exec", NodeNs]);

    /// <summary>The pods as the API would hold them (all on node-1 in namespace shop), with named ports http=8080, alt=9090.</summary>
    public static V1Pod[] Pods => PodNets.Select(p => Pod(p.Name, p.Ip, p.App, ports: [("http", 8080, "TCP"), ("alt", 9090, "TCP")])).ToArray();

    /// <summary>An HTTP GET from one pod to another's port: the answering pod's "name:port", or the failure (busybox wget's message).</summary>
    public string Get(string from, string to, int port)
    {
        var ip = PodNets.Single(p => p.Name == to).Ip;
        var (code, output) = NetnsFixture.Run("ip", "netns", "exec", PodNs(from), "busybox", "wget", "-qO-", $"http://{ip}:{port}/");
        return code == 0 ? output.Trim() : "failed: " + output.Trim();
    }

    public void Dispose()
    {
        foreach (var p in _servers)
        {
            try { p.Kill(); p.WaitForExit(5000); } catch (InvalidOperationException) { }
            p.Dispose();
        }
        foreach (var ns in Enumerable.Reverse(_namespaces)) NetnsFixture.Run("ip", "netns", "delete", ns);
        _dir.Dispose();
    }
}

public sealed class NetpolNetnsTests(PodNetworkFixture net) : IClassFixture<PodNetworkFixture>
{
    private async Task<string> Apply(params V1NetworkPolicy[] policies)
    {
        Skip.If(net.Missing is not null, $"the NetworkPolicy kernel tests {net.Missing}");
        var script = NetpolRules.Render(Node, policies, PodNetworkFixture.Pods, Namespaces);
        var result = await net.Nft.ApplyAsync(script);
        Assert.True(result.Ok, result.Error + "\n" + script);
        return script;
    }

    private void Allowed(string from, string to, int port, string script) =>
        Assert.True(net.Get(from, to, port) == $"{to}:{port}", $"{from} → {to}:{port} should pass: {net.Get(from, to, port)}\n{script}");

    private void Blocked(string from, string to, int port, string script)
    {
        var answer = net.Get(from, to, port);
        Assert.True(answer.StartsWith("failed", StringComparison.Ordinal), $"{from} → {to}:{port} should be blocked, got '{answer}'\n{script}");
    }

    [SkippableTheory]
    [MemberData(nameof(NetpolRulesTests.CaseNames), MemberType = typeof(NetpolRulesTests))]
    public async Task Each_golden_case_loads_into_the_kernel_and_a_rewrite_replaces_the_table(string caseName)
    {
        Skip.If(net.Missing is not null, $"the NetworkPolicy kernel tests {net.Missing}");
        for (var i = 0; i < 2; i++)
        {
            var result = await net.Nft.ApplyAsync(NetpolRulesTests.Render(caseName));
            Assert.True(result.Ok, result.Error);
        }
        var (code, tables) = NetnsFixture.Run("ip", "netns", "exec", net.NodeNs, "nft", "list", "tables");
        Assert.Equal(0, code);
        Assert.Equal(1, tables.Split('\n').Count(l => l.Trim() == $"table inet {Node.Table}"));
    }

    [SkippableFact]
    public async Task Default_deny_ingress_blocks_and_an_allow_by_pod_selector_restores_exactly_that_client_and_port()
    {
        var open = await Apply();
        Allowed("other", "web", 8080, open);
        Allowed("client", "web", 9090, open);

        var deny = await Apply(Policy("deny", App("web"), ["Ingress"]));
        Blocked("client", "web", 8080, deny);
        Allowed("web", "client", 8080, deny); // only web is selected: its egress and the client's ingress stay open

        var allow = await Apply(Policy("deny", App("web"), ["Ingress"]),
            Policy("web-from-client", App("web"), ingress: [new() { FromProperty = [FromPods("client")], Ports = [Port("8080")] }]));
        Allowed("client", "web", 8080, allow);
        Blocked("client", "web", 9090, allow); // another port
        Blocked("other", "web", 8080, allow);  // another client
    }

    [SkippableFact]
    public async Task Egress_default_deny_blocks_outgoing_connections_and_an_allow_restores_the_allowed_one_with_its_replies()
    {
        var deny = await Apply(Policy("client-deny-out", App("client"), ["Egress"]));
        Blocked("client", "web", 8080, deny);
        Allowed("other", "client", 8080, deny); // the client's ingress is not restricted, and its replies are not new connections

        var allow = await Apply(Policy("client-deny-out", App("client"), ["Egress"]),
            Policy("client-to-web", App("client"), ["Egress"], egress: [new() { To = [FromPods("web")], Ports = [Port("http")] }]));
        Allowed("client", "web", 8080, allow); // named port "http" of the destination pod
        Blocked("client", "web", 9090, allow);
        Blocked("client", "other", 8080, allow);
    }

    [SkippableFact]
    public async Task An_ip_block_with_except_and_a_named_port_select_what_they_name()
    {
        var script = await Apply(Policy("web-from-block", App("web"), ingress:
            [new() { FromProperty = [new() { IpBlock = new V1IPBlock { Cidr = "10.244.1.0/24", Except = ["10.244.1.7/32"] } }], Ports = [Port("alt")] }]));
        Allowed("client", "web", 9090, script);
        Blocked("client", "web", 8080, script);
        Blocked("other", "web", 9090, script);
        var removed = await net.Nft.ApplyAsync(NetpolRules.Remove(Node.Table));
        Assert.True(removed.Ok, removed.Error);
        Allowed("other", "web", 8080, script);
    }
}
