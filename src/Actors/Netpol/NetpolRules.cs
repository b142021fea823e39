using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using AkkaKube.Actors.Machinery;
using k8s.Models;

namespace AkkaKube.Actors.Netpol;

/// <summary>A pod as policies see it: where it runs, its IPv4 addresses, labels and named container ports.</summary>
public sealed record PolicyPod(string Namespace, string Name, string? NodeName, IReadOnlyList<string> Ips,
    IDictionary<string, string> Labels, IReadOnlyList<(string Name, string Protocol, int Port)> Ports)
{
    public string Key => $"{Namespace}/{Name}";

    /// <summary>
    /// The pod when it takes part in policies: it has a pod-network address (hostNetwork pods are the node's, and policies
    /// do not apply to them) and has not finished (a finished pod's address may already be another pod's).
    /// </summary>
    public static PolicyPod? Of(V1Pod pod)
    {
        if (pod.Metadata?.Name is not { } name || pod.Spec is null || pod.Spec.HostNetwork == true) return null;
        if (pod.Status?.Phase is "Succeeded" or "Failed") return null;
        var ips = (pod.Status?.PodIPs?.Select(p => p.Ip) ?? [pod.Status?.PodIP])
            .Where(ip => IPAddress.TryParse(ip, out var a) && a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a))
            .Select(ip => ip!).Distinct().ToList();
        if (ips.Count == 0) return null;
        var ports = (pod.Spec.Containers ?? []).SelectMany(c => c.Ports ?? [])
            .Where(p => !string.IsNullOrEmpty(p.Name))
            .Select(p => (p.Name, p.Protocol ?? "TCP", p.ContainerPort)).ToList();
        return new PolicyPod(pod.Metadata.NamespaceProperty ?? "default", name, pod.Spec.NodeName, ips,
            pod.Metadata.Labels ?? new Dictionary<string, string>(), ports);
    }
}

/// <summary>What a node's policy table is written for: its table name and the node whose pods it guards.</summary>
public sealed record NetpolNode(string Table, string NodeName);

/// <summary>
/// NetworkPolicy enforcement for the nftables mode as a pure function: NetworkPolicies + Pods + Namespaces → the text of one
/// `nft -f` transaction that replaces the node's table (inet akkakube-netpol-&lt;node&gt;) atomically, as kube-proxy's table is.
/// Enforcement is by pod IP in the forward hook (docs/network-policy.md says why): a pod of this node that some policy
/// isolates for a direction gets a chain (ingress-&lt;ns&gt;/&lt;pod&gt;, egress-&lt;ns&gt;/&lt;pod&gt;) reached through a verdict
/// map keyed by its address; the chain returns for traffic one of the policies' rules allows and rejects the rest.
/// Replies to allowed connections pass (ct state established,related); traffic from and to the node itself never enters
/// the forward hook (the host's own traffic is input/output), so it is always allowed, as Kubernetes requires.
/// </summary>
public static class NetpolRules
{
    public const string TablePrefix = "akkakube-netpol";

    /// <summary>The table of a node: akkakube-netpol-&lt;node&gt; (nodes on one host share its network namespace, so each has its own).</summary>
    public static string TableFor(string nodeName) => $"{TablePrefix}-{nodeName}";

    /// <summary>The transaction that removes the node's table (`down`, graceful stop): add first, so it never fails.</summary>
    public static string Remove(string table) => $"add table inet {table}\ndelete table inet {table}\n";

    /// <summary>policyTypes as Kubernetes reads them: given, or Ingress plus Egress when the policy has egress rules.</summary>
    public static (bool Ingress, bool Egress) Types(V1NetworkPolicy policy)
    {
        if (policy.Spec?.PolicyTypes is { Count: > 0 } types) return (types.Contains("Ingress"), types.Contains("Egress"));
        return (true, policy.Spec?.Egress is { Count: > 0 });
    }

    /// <summary>The pods a policy applies to: those of its namespace its podSelector matches (an absent selector is {}: all).</summary>
    public static IEnumerable<PolicyPod> Selected(V1NetworkPolicy policy, IEnumerable<PolicyPod> pods)
    {
        var ns = policy.Metadata?.NamespaceProperty ?? "default";
        var selector = policy.Spec?.PodSelector ?? new V1LabelSelector();
        return pods.Where(p => p.Namespace == ns && LabelSelectors.Matches(selector, p.Labels));
    }

    /// <summary>The pods a peer (podSelector, namespaceSelector or both) names; an ipBlock peer names none.</summary>
    public static IEnumerable<PolicyPod> PeerPods(V1NetworkPolicyPeer peer, string policyNamespace, IReadOnlyList<PolicyPod> pods,
        IReadOnlyDictionary<string, IDictionary<string, string>> namespaceLabels)
    {
        if (peer.IpBlock is not null || (peer.PodSelector is null && peer.NamespaceSelector is null)) return [];
        var podSelector = peer.PodSelector ?? new V1LabelSelector();
        return pods.Where(p =>
            (peer.NamespaceSelector is null
                ? p.Namespace == policyNamespace
                : LabelSelectors.Matches(peer.NamespaceSelector, namespaceLabels.GetValueOrDefault(p.Namespace) ?? DefaultNamespaceLabels(p.Namespace)))
            && LabelSelectors.Matches(podSelector, p.Labels));
    }

    // A namespace the informer has not delivered yet still carries the label the apiserver always sets.
    private static Dictionary<string, string> DefaultNamespaceLabels(string ns) => new() { ["kubernetes.io/metadata.name"] = ns };

    /// <summary>The whole transaction for <paramref name="node"/>.</summary>
    public static string Render(NetpolNode node, IEnumerable<V1NetworkPolicy> policies, IEnumerable<V1Pod> pods, IEnumerable<V1Namespace> namespaces)
    {
        var all = pods.Select(PolicyPod.Of).OfType<PolicyPod>().OrderBy(p => p.Key, StringComparer.Ordinal).ToList();
        var nsLabels = namespaces.Where(n => n.Metadata?.Name is not null)
            .ToDictionary(n => n.Metadata.Name, n => n.Metadata.Labels ?? DefaultNamespaceLabels(n.Metadata.Name), StringComparer.Ordinal)
            .AsReadOnly();
        var local = all.Where(p => p.NodeName == node.NodeName).ToList();
        var ordered = policies.Where(p => p.Metadata?.Name is not null)
            .OrderBy(p => $"{p.Metadata.NamespaceProperty}/{p.Metadata.Name}", StringComparer.Ordinal).ToList();

        var sets = new List<(string Name, List<string> Elements)>();
        var chains = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var ingressMap = new List<string>();
        var egressMap = new List<string>();
        foreach (var direction in new[] { Direction.Ingress, Direction.Egress })
        {
            foreach (var pod in local)
            {
                var applying = ordered.Where(p => (direction == Direction.Ingress ? Types(p).Ingress : Types(p).Egress) && Selected(p, [pod]).Any()).ToList();
                if (applying.Count == 0) continue; // not isolated in this direction: everything allowed
                var chain = Name(direction.Prefix, pod.Key);
                var body = new List<string>();
                foreach (var ip in pod.Ips) body.Add($"{direction.Peer} {ip} return comment \"the pod itself\"");
                foreach (var policy in applying)
                {
                    var rules = direction == Direction.Ingress
                        ? (policy.Spec.Ingress ?? []).Select(r => (r.FromProperty, r.Ports)).ToList()
                        : (policy.Spec.Egress ?? []).Select(r => (FromProperty: r.To, r.Ports)).ToList();
                    for (var i = 0; i < rules.Count; i++)
                        body.AddRange(RuleLines(direction, policy, i, rules[i].FromProperty, rules[i].Ports, pod, all, nsLabels, sets));
                }
                body.Add($"reject with icmpx admin-prohibited comment \"{direction.Name} not allowed by {Policies(applying)}\"");
                chains[chain] = body;
                foreach (var ip in pod.Ips) (direction == Direction.Ingress ? ingressMap : egressMap).Add($"{ip} : jump {chain}");
            }
        }

        var t = new Proxy.NftWriter();
        t.Line($"add table inet {node.Table}");
        t.Line($"delete table inet {node.Table}");
        t.Open($"table inet {node.Table}");
        t.Line($"comment \"NetworkPolicy of the pods of node {node.NodeName}, written by akkakube\"");
        t.Blank();
        t.Chain("forward", "type filter hook forward priority filter; policy accept;",
        [
            "ct state established,related accept",
            "ip saddr vmap @egress-pods",
            "ip daddr vmap @ingress-pods",
        ]);
        t.Set("map", "ingress-pods", "ipv4_addr : verdict", null, ingressMap);
        t.Set("map", "egress-pods", "ipv4_addr : verdict", null, egressMap);
        foreach (var (name, elements) in sets.DistinctBy(s => s.Name)) t.Set("set", name, "ipv4_addr", null, elements);
        foreach (var (name, body) in chains) t.Chain(name, null, body);
        t.Close();
        return t.ToString();
    }

    private sealed record Direction(string Name, string Prefix, string Peer, string Field)
    {
        public static readonly Direction Ingress = new("ingress", "ingress", "ip saddr", "from");
        public static readonly Direction Egress = new("egress", "egress", "ip daddr", "to");
    }

    private static string Policies(IReadOnlyList<V1NetworkPolicy> policies) =>
        policies.Count == 1 ? PolicyKey(policies[0]) : $"{policies.Count} policies";

    private static string PolicyKey(V1NetworkPolicy p) => $"{p.Metadata.NamespaceProperty}/{p.Metadata.Name}";

    /// <summary>
    /// One rule (from/to peers × ports) of a policy for one target pod: a line per peer form and port form, each returning
    /// (allowed). Peers are ORed, ports are ORed, the two are ANDed; an absent or empty list matches everything.
    /// </summary>
    private static IEnumerable<string> RuleLines(Direction d, V1NetworkPolicy policy, int index, IList<V1NetworkPolicyPeer>? peers,
        IList<V1NetworkPolicyPort>? ports, PolicyPod target, IReadOnlyList<PolicyPod> all,
        IReadOnlyDictionary<string, IDictionary<string, string>> nsLabels, List<(string, List<string>)> sets)
    {
        var ns = policy.Metadata.NamespaceProperty ?? "default";
        var comment = $"comment \"{PolicyKey(policy)} {d.Name}[{index}]\"";

        // Peers: the selector peers' pods as one named set (visible in `nft list`); each ipBlock as a prefix minus its excepts.
        var peerForms = new List<string>();
        if (peers is { Count: > 0 })
        {
            var selectorPeers = peers.Where(p => p.IpBlock is null).ToList();
            if (selectorPeers.Count > 0)
            {
                var matched = selectorPeers.SelectMany(p => PeerPods(p, ns, all, nsLabels)).DistinctBy(p => p.Key).ToList();
                var set = Name($"{d.Prefix}-peers", $"{PolicyKey(policy)}-{index}");
                sets.Add((set, matched.SelectMany(p => p.Ips).Distinct().Order(StringComparer.Ordinal).ToList()));
                peerForms.Add($"{d.Peer} @{set}");
            }
            foreach (var block in peers.Select(p => p.IpBlock).OfType<V1IPBlock>())
                if (BlockForm(d, block) is { } form) peerForms.Add(form);
            if (peerForms.Count == 0) yield break; // peers given, none can match
        }
        else peerForms.Add("");

        var portForms = new List<string>();
        if (ports is { Count: > 0 })
        {
            var numeric = new SortedDictionary<string, SortedSet<string>>(StringComparer.Ordinal); // protocol → ports/ranges
            var anyPort = new SortedSet<string>(StringComparer.Ordinal);
            var namedEgress = new SortedSet<string>(StringComparer.Ordinal); // addr . proto . port of destination pods
            foreach (var port in ports)
            {
                var protocol = (port.Protocol ?? "TCP").ToLowerInvariant();
                if (protocol is not ("tcp" or "udp" or "sctp")) continue;
                var value = port.Port?.Value;
                if (value is null)
                {
                    anyPort.Add(protocol);
                    continue;
                }
                if (int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var number))
                {
                    var range = port.EndPort is { } end && end > number ? $"{number}-{end}" : number.ToString(CultureInfo.InvariantCulture);
                    Add(numeric, protocol, range);
                }
                else if (d == Direction.Ingress)
                {
                    // A named port of the pod the policy protects (the target), with the rule's protocol.
                    foreach (var p in target.Ports.Where(p => p.Name == value && p.Protocol.Equals(port.Protocol ?? "TCP", StringComparison.OrdinalIgnoreCase)))
                        Add(numeric, protocol, p.Port.ToString(CultureInfo.InvariantCulture));
                }
                else
                {
                    // Egress: the named port of each destination pod; the peer part of the line narrows the destinations.
                    foreach (var p in all.Where(p => p.Ports.Any(q => q.Name == value && q.Protocol.Equals(port.Protocol ?? "TCP", StringComparison.OrdinalIgnoreCase))))
                        foreach (var ip in p.Ips)
                            foreach (var q in p.Ports.Where(q => q.Name == value && q.Protocol.Equals(port.Protocol ?? "TCP", StringComparison.OrdinalIgnoreCase)))
                                namedEgress.Add($"{ip} . {protocol} . {q.Port}");
                }
            }
            foreach (var protocol in anyPort) portForms.Add($"meta l4proto {protocol}");
            foreach (var (protocol, list) in numeric.Where(n => !anyPort.Contains(n.Key)))
                portForms.Add($"meta l4proto {protocol} th dport {(list.Count == 1 ? list.Single() : $"{{ {string.Join(", ", list)} }}")}");
            if (namedEgress.Count > 0) portForms.Add($"ip daddr . meta l4proto . th dport {{ {string.Join(", ", namedEgress)} }}");
            if (portForms.Count == 0) yield break; // ports given, none applies to this pod
        }
        else portForms.Add("");

        foreach (var peer in peerForms)
            foreach (var port in portForms)
                yield return string.Join(" ", new[] { peer, port, "return", comment }.Where(s => s.Length > 0));
    }

    private static void Add(SortedDictionary<string, SortedSet<string>> into, string protocol, string port)
    {
        if (!into.TryGetValue(protocol, out var list)) into[protocol] = list = new SortedSet<string>(Comparer<string>.Create(ComparePorts));
        list.Add(port);
    }

    private static int ComparePorts(string a, string b)
    {
        static int First(string s) => int.Parse(s.Split('-')[0], CultureInfo.InvariantCulture);
        var c = First(a).CompareTo(First(b));
        return c != 0 ? c : string.CompareOrdinal(a, b);
    }

    /// <summary>`ip saddr CIDR ip saddr != { except… }` (ip6 for an IPv6 block); null when the CIDR does not parse (validation refuses it).</summary>
    private static string? BlockForm(Direction d, V1IPBlock block)
    {
        if (!TryPrefix(block.Cidr, out var cidr, out var v6)) return null;
        var field = v6 ? d.Peer.Replace("ip ", "ip6 ", StringComparison.Ordinal) : d.Peer;
        var except = (block.Except ?? []).Select(e => TryPrefix(e, out var p, out var e6) && e6 == v6 ? p : null).OfType<string>().Distinct().ToList();
        return except.Count == 0 ? $"{field} {cidr}" : $"{field} {cidr} {field} != {{ {string.Join(", ", except)} }}";
    }

    /// <summary>A CIDR in the canonical form nft accepts (host bits cleared: nft refuses 10.0.0.1/8, which means its network).</summary>
    public static bool TryPrefix(string? text, out string prefix, out bool v6)
    {
        prefix = "";
        v6 = false;
        if (text?.Split('/') is not [var a, var l] || !IPAddress.TryParse(a, out var address)
            || !int.TryParse(l, NumberStyles.None, CultureInfo.InvariantCulture, out var length))
            return false;
        v6 = address.AddressFamily == AddressFamily.InterNetworkV6;
        if (length > (v6 ? 128 : 32)) return false;
        var bytes = address.GetAddressBytes();
        for (var i = 0; i < bytes.Length; i++) bytes[i] &= (byte)(0xFF << (8 - Math.Clamp(length - i * 8, 0, 8)));
        prefix = $"{new IPAddress(bytes)}/{length}";
        return true;
    }

    /// <summary>prefix-key, or prefix-HASH-key cut to nft's 256-character names when the key is very long.</summary>
    private static string Name(string prefix, string key)
    {
        var name = $"{prefix}-{key}";
        if (name.Length <= 200) return name;
        var hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..8];
        return $"{prefix}-{hash}-{key[..150]}";
    }
}
