using AkkaKube.Actors.Netpol;
using AkkaKube.Tests.Infrastructure;
using k8s.Models;

namespace AkkaKube.Tests.Netpol;

/// <summary>
/// The NetworkPolicy rule generator: each case's table against golden text (tests/AkkaKube.Tests/Netpol/golden/&lt;case&gt;.nft;
/// AKKAKUBE_UPDATE_GOLDEN=1 rewrites them, then read the diff), and the semantics that decide which pods are isolated.
/// NetpolNetnsTests loads tables of the same generator into a real kernel and sends real connections through them.
/// </summary>
public sealed class NetpolRulesTests
{
    public static readonly NetpolNode Node = new(NetpolRules.TableFor("node-1"), "node-1");

    public static V1Pod Pod(string name, string ip, string app, string ns = "shop", string node = "node-1", params (string Name, int Port, string Protocol)[] ports) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns, Labels = new Dictionary<string, string> { ["app"] = app } },
        Spec = new V1PodSpec
        {
            NodeName = node,
            Containers = [new V1Container { Name = "c", Image = "busybox", Ports = ports.Select(p => new V1ContainerPort { Name = p.Name, ContainerPort = p.Port, Protocol = p.Protocol }).ToList() }],
        },
        Status = new V1PodStatus { Phase = "Running", PodIP = ip, PodIPs = [new V1PodIP { Ip = ip }] },
    };

    public static V1Namespace Ns(string name, params (string Key, string Value)[] labels) => new()
    {
        Metadata = new V1ObjectMeta
        {
            Name = name,
            Labels = labels.Append(("kubernetes.io/metadata.name", name)).ToDictionary(l => l.Item1, l => l.Item2),
        },
    };

    public static V1LabelSelector App(string app) => new() { MatchLabels = new Dictionary<string, string> { ["app"] = app } };

    public static V1NetworkPolicy Policy(string name, V1LabelSelector? podSelector, string[]? types = null,
        V1NetworkPolicyIngressRule[]? ingress = null, V1NetworkPolicyEgressRule[]? egress = null, string ns = "shop") => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns, Uid = $"uid-{name}" },
        Spec = new V1NetworkPolicySpec { PodSelector = podSelector ?? new V1LabelSelector(), PolicyTypes = types, Ingress = ingress, Egress = egress },
    };

    public static V1NetworkPolicyPort Port(string port, string? protocol = null, int? endPort = null) =>
        new() { Port = port, Protocol = protocol, EndPort = endPort };

    public static V1NetworkPolicyPeer FromPods(string app) => new() { PodSelector = App(app) };

    /// <summary>The pods of the cases: three on node-1 (web-a, web-b, client), one on node-2 (db), one in namespace ops.</summary>
    public static readonly V1Pod[] Pods =
    [
        Pod("web-a", "10.244.1.5", "web", ports: [("http", 8080, "TCP"), ("metrics", 9100, "TCP")]),
        Pod("web-b", "10.244.1.6", "web", ports: [("http", 9090, "TCP")]),
        Pod("client", "10.244.1.7", "client"),
        Pod("db", "10.244.2.8", "db", node: "node-2", ports: [("sql", 5432, "TCP"), ("sql", 5433, "UDP")]),
        Pod("probe", "10.244.2.9", "probe", ns: "ops", node: "node-2"),
    ];

    public static readonly V1Namespace[] Namespaces = [Ns("shop"), Ns("ops", ("team", "ops")), Ns("dev", ("team", "dev"))];

    /// <summary>The cases, by name: the policies of each (pods and namespaces are the ones above).</summary>
    public static readonly Dictionary<string, V1NetworkPolicy[]> Cases = new()
    {
        ["no-policy"] = [],
        ["default-deny-ingress"] = [Policy("deny", null, ["Ingress"])],
        ["allow-by-pod-selector"] =
        [
            Policy("deny", null, ["Ingress"]),
            Policy("web-from-client", App("web"), ingress: [new() { FromProperty = [FromPods("client")], Ports = [Port("8080")] }]),
        ],
        ["namespace-selectors"] =
        [
            Policy("from-ops", App("web"), ingress:
            [
                new() { FromProperty = [new() { NamespaceSelector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["team"] = "ops" } } }] },
                new() { FromProperty = [new() { NamespaceSelector = new V1LabelSelector(), PodSelector = App("db") }] },
                new() { FromProperty = [new() { NamespaceSelector = new V1LabelSelector { MatchExpressions = [new() { Key = "team", OperatorProperty = "In", Values = ["dev"] }] } }] },
            ]),
        ],
        ["ipblock-except"] =
        [
            Policy("blocks", App("client"), ["Ingress", "Egress"],
                ingress: [new() { FromProperty = [new() { IpBlock = new V1IPBlock { Cidr = "10.0.0.0/8", Except = ["10.244.2.0/24", "10.1.0.0/16"] } }, new() { IpBlock = new V1IPBlock { Cidr = "fd00::/8" } }] }],
                egress: [new() { To = [new() { IpBlock = new V1IPBlock { Cidr = "0.0.0.0/0", Except = ["169.254.169.254/32"] } }, new() { IpBlock = new V1IPBlock { Cidr = "10.96.0.5/16" } }] }]),
        ],
        ["ports-named-endport-protocols"] =
        [
            Policy("ports", App("web"), ingress:
            [
                new() { Ports = [Port("http"), Port("metrics", "UDP"), Port("30000", "UDP", 30100), Port("9999", "SCTP"), Port("53", "UDP"), Port("53")] },
                new() { FromProperty = [FromPods("client")], Ports = [new V1NetworkPolicyPort { Protocol = "SCTP" }] },
            ]),
        ],
        ["egress-named-ports"] =
        [
            Policy("client-out", App("client"), ["Egress"], egress:
            [
                new() { To = [new() { NamespaceSelector = new V1LabelSelector(), PodSelector = App("db") }], Ports = [Port("sql"), Port("sql", "UDP")] },
                new() { Ports = [Port("http")] },
                new() { To = [new() { IpBlock = new V1IPBlock { Cidr = "10.244.1.0/24" } }], Ports = [Port("http")] },
            ]),
        ],
        ["policy-types"] =
        [
            Policy("ingress-rules-only", App("web"), ingress: [new() { FromProperty = [FromPods("client")] }]),
            Policy("egress-deny-all", App("client"), ["Egress"]),
            Policy("both-allow-all", App("client"), ["Ingress", "Egress"], ingress: [new()], egress: [new()]),
        ],
    };

    public static TheoryData<string> CaseNames => new(Cases.Keys);

    public static string Render(string name) => NetpolRules.Render(Node, Cases[name], Pods, Namespaces);

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void The_table_of_each_case_is_its_golden_text(string name) => GoldenFiles.AssertMatches("Netpol", name, Render(name));

    private static string Chain(string text, string name)
    {
        var start = text.IndexOf($"\tchain {name} {{", StringComparison.Ordinal);
        Assert.True(start >= 0, $"no chain {name} in\n{text}");
        return text[start..text.IndexOf("\t}", start, StringComparison.Ordinal)];
    }

    [Fact]
    public void Pods_no_policy_selects_are_not_isolated_and_pods_of_other_nodes_have_no_chain_here()
    {
        var text = Render("allow-by-pod-selector");
        Assert.Contains("10.244.1.7 : jump ingress-shop/client", text); // the default deny selects every pod of shop on this node
        Assert.DoesNotContain("ingress-ops/", text);
        Assert.DoesNotContain("ingress-shop/db", text); // db runs on node-2: its own node's table guards it
        Assert.DoesNotContain(": jump egress-", text);  // Ingress policies only: egress stays open
    }

    [Fact]
    public void A_policy_with_only_ingress_rules_and_no_policy_types_does_not_restrict_egress()
    {
        var text = NetpolRules.Render(Node, [Policy("in", App("web"), ingress: [new()])], Pods, Namespaces);
        Assert.Contains(": jump ingress-shop/web-a", text);
        Assert.DoesNotContain(": jump egress-", text);
        // ...while egress rules without policyTypes make it an Ingress and Egress policy, as the apiserver defaults it.
        var both = NetpolRules.Render(Node, [Policy("out", App("web"), egress: [new() { Ports = [Port("53", "UDP")] }])], Pods, Namespaces);
        Assert.Contains(": jump egress-shop/web-a", both);
        Assert.Contains(": jump ingress-shop/web-a", both);
        Assert.Equal((true, false), NetpolRules.Types(Policy("x", null, ingress: [new()])));
        Assert.Equal((false, true), NetpolRules.Types(Policy("x", null, ["Egress"])));
    }

    [Fact]
    public void Named_ports_resolve_per_target_pod_and_a_pod_without_the_name_gets_no_allow_rule()
    {
        var text = NetpolRules.Render(Node, [Policy("named", App("web"), ingress: [new() { Ports = [Port("http")] }])], Pods, Namespaces);
        Assert.Contains("meta l4proto tcp th dport 8080 return", Chain(text, "ingress-shop/web-a"));
        Assert.Contains("meta l4proto tcp th dport 9090 return", Chain(text, "ingress-shop/web-b"));
        var metrics = NetpolRules.Render(Node, [Policy("named", App("web"), ingress: [new() { Ports = [Port("metrics")] }])], Pods, Namespaces);
        Assert.Contains("dport 9100 return", Chain(metrics, "ingress-shop/web-a"));
        Assert.DoesNotContain(" return comment \"shop/named", Chain(metrics, "ingress-shop/web-b")); // web-b has no port "metrics": nothing allowed
    }

    [Fact]
    public void Finished_and_host_network_pods_take_no_part()
    {
        var done = Pod("done", "10.244.1.9", "web");
        done.Status.Phase = "Succeeded";
        var host = Pod("host", "10.0.0.4", "web");
        host.Spec.HostNetwork = true;
        var text = NetpolRules.Render(Node, [Policy("deny", null, ["Ingress"])], [done, host], Namespaces);
        Assert.DoesNotContain("10.244.1.9", text);
        Assert.DoesNotContain("10.0.0.4", text);
    }

    [Theory]
    [InlineData("10.0.0.1/8", "10.0.0.0/8")]
    [InlineData("192.168.1.0/24", "192.168.1.0/24")]
    [InlineData("fd00::1/8", "fd00::/8")]
    public void Cidrs_are_written_as_their_network(string cidr, string expected)
    {
        Assert.True(NetpolRules.TryPrefix(cidr, out var prefix, out _));
        Assert.Equal(expected, prefix);
    }

    [Fact]
    public void The_removal_transaction_never_fails_on_a_missing_table() =>
        Assert.Equal("add table inet akkakube-netpol-node-1\ndelete table inet akkakube-netpol-node-1\n", NetpolRules.Remove(Node.Table));
}
