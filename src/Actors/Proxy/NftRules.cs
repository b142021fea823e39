using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using k8s.Models;

namespace AkkaKube.Actors.Proxy;

/// <summary>
/// What the nftables table of one node is written for. <paramref name="NodeIps"/> are the addresses NodePorts answer on
/// (the node IP and the gateway of its pod bridge); <paramref name="PodCidr"/> is this node's pod range (its pods' traffic
/// is handled by this node's table: several nodes may share one host network namespace); <paramref name="ClusterCidr"/>
/// holds every pod of the cluster (traffic from outside it is masqueraded); <paramref name="ServiceCidr"/>, when known,
/// is closed to traffic that no Service claims, so it never leaves the host.
/// </summary>
public sealed record NftNode(string Table, string NodeName, IReadOnlyList<IPAddress> NodeIps, string? PodCidr, string ClusterCidr, string? ServiceCidr);

/// <summary>One service port as the kernel rules need it: its frontends and its endpoints under both traffic policies.</summary>
public sealed record ServicePortRule(
    string Namespace, string Name, string PortName, string Protocol, int Port,
    IReadOnlyList<IPAddress> ClusterIps, IReadOnlyList<IPAddress> ExternalIps, int? NodePort, TimeSpan? Affinity,
    IReadOnlyList<Backend> All, IReadOnlyList<Backend> Local, bool InternalLocal, bool ExternalLocal)
{
    /// <summary>ns/name/proto/port: the key Kubernetes' nftables proxier names chains by.</summary>
    public string Key => $"{Namespace}/{Name}/{Protocol.ToLowerInvariant()}/{(PortName.Length > 0 ? PortName : Port.ToString(CultureInfo.InvariantCulture))}";

    public IReadOnlyList<Backend> Internal => InternalLocal ? Local : All;
    public IReadOnlyList<Backend> External => ExternalLocal ? Local : All;
    public bool HasExternal => ExternalIps.Count > 0 || NodePort is not null;
}

/// <summary>
/// kube-proxy's nftables mode as a pure function: Services + EndpointSlices → the text of one `nft -f` transaction that
/// replaces the node's whole table atomically (add, delete, define: the kernel applies all of it or none). The layout
/// follows Kubernetes' nftables proxier (KEP-3866): DNAT in nat prerouting (pods, off-host) and output (host processes)
/// through a verdict map keyed by address . protocol . port; one chain per service port choosing an endpoint with
/// `numgen random mod N`; one chain per endpoint (hairpin masquerade, affinity update, DNAT); a mark for what
/// postrouting masquerades; reject (no endpoints) or drop (Local policy, none on this node) from the filter hooks.
/// </summary>
public static partial class NftRules
{
    public const string TablePrefix = "akkakube-proxy";
    public const string MasqueradeMark = "0x4000";

    /// <summary>The table of a node: akkakube-proxy-&lt;node&gt; (nodes on one host share its network namespace, so each has its own).</summary>
    public static string TableFor(string nodeName) => $"{TablePrefix}-{nodeName}";

    /// <summary>The service ports with their endpoints, as <see cref="ProxyRules.Compute"/> reads them, for every protocol.</summary>
    public static IReadOnlyList<ServicePortRule> Compute(IEnumerable<V1Service> services, IEnumerable<V1EndpointSlice> slices, string nodeName)
    {
        var slicesByService = ProxyRules.SlicesByService(slices);
        var result = new List<ServicePortRule>();
        foreach (var svc in services.OrderBy(s => $"{s.Metadata?.NamespaceProperty}/{s.Metadata?.Name}", StringComparer.Ordinal))
        {
            if (svc.Metadata?.Name is null || svc.Spec?.Ports is null || svc.Spec.Type == "ExternalName") continue;
            // Loopback Service addresses (a process-runtime range) are left out: a pod's loopback is its own, and DNAT of the
            // host's loopback would take traffic meant for the user-space proxies of other clusters on this host.
            var clusterIps = ProxyRules.ClusterIps(svc.Spec).Where(ip => !IPAddress.IsLoopback(ip)).ToList();
            if (clusterIps.Count == 0) continue; // headless: DNS only
            var key = $"{svc.Metadata.NamespaceProperty}/{svc.Metadata.Name}";
            var svcSlices = slicesByService.GetValueOrDefault(key) ?? [];
            var affinity = svc.Spec.SessionAffinity == "ClientIP"
                ? TimeSpan.FromSeconds(svc.Spec.SessionAffinityConfig?.ClientIP?.TimeoutSeconds ?? ProxyRules.DefaultAffinitySeconds)
                : (TimeSpan?)null;
            var external = ProxyRules.Ipv4(svc.Spec.ExternalIPs).ToList();
            if (svc.Spec.Type == "LoadBalancer") external.AddRange(ProxyRules.Ipv4(svc.Status?.LoadBalancer?.Ingress?.Select(i => i.Ip)));
            foreach (var port in svc.Spec.Ports)
            {
                var protocol = port.Protocol ?? "TCP";
                if (protocol is not ("TCP" or "UDP" or "SCTP")) continue;
                var portName = port.Name ?? "";
                var nodePort = svc.Spec.Type is "NodePort" or "LoadBalancer" && port.NodePort is > 0 and <= 65535 ? port.NodePort : null;
                result.Add(new ServicePortRule(svc.Metadata.NamespaceProperty ?? "default", svc.Metadata.Name, portName, protocol, port.Port,
                    clusterIps, external.Where(ip => !IPAddress.IsLoopback(ip)).Distinct().ToList(), nodePort, affinity,
                    ProxyRules.Backends(svcSlices, portName, null, protocol), ProxyRules.Backends(svcSlices, portName, nodeName, protocol),
                    svc.Spec.InternalTrafficPolicy == "Local", svc.Spec.ExternalTrafficPolicy == "Local"));
            }
        }
        return result;
    }

    /// <summary>The whole transaction: `add table` (so `delete` never fails), `delete table`, then the table as it must be.</summary>
    public static string Render(NftNode node, IReadOnlyList<ServicePortRule> rules)
    {
        var t = new NftWriter();
        var clusterCidr = node.ClusterCidr;
        var serviceIps = new List<string>();
        var nodePorts = new List<string>();
        var noEndpointServices = new List<string>();
        var noEndpointNodePorts = new List<string>();
        var clusterIps = new SortedSet<string>(StringComparer.Ordinal);
        var serviceChains = new List<(string Name, List<string> Rules)>();
        var affinitySets = new List<(string Name, TimeSpan Timeout)>();
        var endpointChains = new Dictionary<string, List<string>>(StringComparer.Ordinal);

        foreach (var r in rules)
        {
            var proto = r.Protocol.ToLowerInvariant();
            var hash = Hash(r.Key);
            var serviceChain = $"service-{hash}-{r.Key}";
            var externalChain = $"external-{hash}-{r.Key}";
            foreach (var ip in r.ClusterIps) clusterIps.Add(ip.ToString());

            string EndpointChain(Backend b)
            {
                var name = $"endpoint-{hash}-{r.Key}__{b.Address}/{b.Port}";
                if (!endpointChains.ContainsKey(name))
                {
                    var body = new List<string> { $"ip saddr {b.Address} jump mark-for-masquerade" }; // hairpin: a pod reaching itself
                    if (r.Affinity is { } timeout)
                    {
                        var set = AffinitySet(hash, r.Key, b);
                        affinitySets.Add((set, timeout));
                        body.Add($"update @{set} {{ ip saddr }}");
                    }
                    body.Add($"meta l4proto {proto} dnat to {b.Address}:{b.Port}");
                    endpointChains[name] = body;
                }
                return name;
            }

            List<string> Balance(IReadOnlyList<Backend> backends)
            {
                var body = new List<string>();
                var chains = backends.Select(EndpointChain).ToList();
                if (r.Affinity is not null)
                    for (var i = 0; i < backends.Count; i++)
                        body.Add($"ip saddr @{AffinitySet(hash, r.Key, backends[i])} goto {chains[i]}");
                if (chains.Count > 0)
                    body.Add($"numgen random mod {chains.Count} vmap {{ {string.Join(", ", chains.Select((c, i) => $"{i} : goto {c}"))} }}");
                return body;
            }

            // ClusterIP traffic (internalTrafficPolicy).
            if (r.Internal.Count > 0)
            {
                var body = new List<string> { $"ip saddr != {clusterCidr} jump mark-for-masquerade" }; // host or off-cluster clients
                body.AddRange(Balance(r.Internal));
                serviceChains.Add((serviceChain, body));
                foreach (var ip in r.ClusterIps) serviceIps.Add($"{ip} . {proto} . {r.Port} : goto {serviceChain}");
            }
            else
            {
                // Kubernetes: no endpoints at all → reject; Local policy without a local endpoint → drop.
                var verdict = r.All.Count == 0 ? "goto reject-chain" : "drop";
                foreach (var ip in r.ClusterIps) noEndpointServices.Add($"{ip} . {proto} . {r.Port} : {verdict}");
            }

            // NodePort, externalIPs and LoadBalancer traffic (externalTrafficPolicy).
            if (!r.HasExternal) continue;
            if (r.All.Count == 0)
            {
                foreach (var ip in r.ExternalIps) noEndpointServices.Add($"{ip} . {proto} . {r.Port} : goto reject-chain");
                if (r.NodePort is { } np) noEndpointNodePorts.Add($"{proto} . {np} : goto reject-chain");
                continue;
            }
            var ext = new List<string>();
            if (!r.ExternalLocal)
            {
                ext.Add("jump mark-for-masquerade");
                if (r.InternalLocal || r.Internal.Count == 0) ext.AddRange(Balance(r.All));
                else ext.Add($"goto {serviceChain}");
            }
            else
            {
                // Local: the client's address is kept. Pods and host processes are not "external": they use the cluster-wide endpoints.
                var cluster = r.Internal.Count > 0 && !r.InternalLocal ? serviceChain : null;
                if (cluster is null)
                {
                    cluster = $"cluster-{hash}-{r.Key}";
                    var body = new List<string> { $"ip saddr != {clusterCidr} jump mark-for-masquerade" };
                    body.AddRange(Balance(r.All));
                    serviceChains.Add((cluster, body));
                }
                ext.Add($"ip saddr {clusterCidr} goto {cluster}");
                ext.Add("fib saddr type local jump mark-for-masquerade");
                ext.Add($"fib saddr type local goto {cluster}");
                ext.AddRange(Balance(r.Local));
                if (r.Local.Count == 0)
                {
                    foreach (var ip in r.ExternalIps) noEndpointServices.Add($"{ip} . {proto} . {r.Port} : drop");
                    if (r.NodePort is { } np) noEndpointNodePorts.Add($"{proto} . {np} : drop");
                }
            }
            serviceChains.Add((externalChain, ext));
            foreach (var ip in r.ExternalIps) serviceIps.Add($"{ip} . {proto} . {r.Port} : goto {externalChain}");
            if (r.NodePort is { } nodePort) nodePorts.Add($"{proto} . {nodePort} : goto {externalChain}");
        }

        t.Line($"add table ip {node.Table}");
        t.Line($"delete table ip {node.Table}");
        t.Open($"table ip {node.Table}");
        t.Line($"comment \"kube-proxy (nftables mode) of node {node.NodeName}, written by akkakube\"");
        t.Blank();
        t.Chain("nat-prerouting", "type nat hook prerouting priority dstnat; policy accept;", ["jump services"]);
        t.Chain("nat-output", "type nat hook output priority -100; policy accept;", ["jump services"]);
        t.Chain("nat-postrouting", "type nat hook postrouting priority srcnat; policy accept;", ["jump masquerading"]);
        t.Chain("filter-input", "type filter hook input priority filter; policy accept;",
            ["ct state new jump nodeport-endpoints-check", "ct state new jump service-endpoints-check"]);
        t.Chain("filter-forward", "type filter hook forward priority filter; policy accept;",
            ["ct state new jump service-endpoints-check", "ct state new jump cluster-ips-check"]);
        t.Chain("filter-output", "type filter hook output priority filter; policy accept;",
            ["ct state new jump service-endpoints-check", "ct state new jump cluster-ips-check"]);
        t.Chain("mark-for-masquerade", null, [$"mark set mark or {MasqueradeMark}"]);
        t.Chain("masquerading", null, [$"mark and {MasqueradeMark} == 0 return", $"mark set mark xor {MasqueradeMark}", "masquerade fully-random"]);
        t.Chain("reject-chain", null, ["reject"]);
        // A node's pods use this node's table; host processes and off-host clients whichever table the kernel runs first.
        var services = new List<string>();
        if (node.PodCidr is { } podCidr)
        {
            services.Add($"ip saddr != {clusterCidr} ip daddr . meta l4proto . th dport vmap @service-ips");
            services.Add($"ip saddr {podCidr} ip daddr . meta l4proto . th dport vmap @service-ips");
        }
        else services.Add("ip daddr . meta l4proto . th dport vmap @service-ips");
        services.Add("ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports");
        t.Chain("services", null, services);
        t.Chain("service-endpoints-check", null, ["ip daddr . meta l4proto . th dport vmap @no-endpoint-services"]);
        t.Chain("nodeport-endpoints-check", null, ["ip daddr @nodeport-ips meta l4proto . th dport vmap @no-endpoint-nodeports"]);
        var check = new List<string> { "ip daddr @cluster-ips reject" }; // a ClusterIP, but not a port of its service
        if (node.ServiceCidr is { } serviceCidr) check.Add($"ip daddr {serviceCidr} drop"); // unallocated: never leaves the host
        t.Chain("cluster-ips-check", null, check);

        t.Set("set", "cluster-ips", "ipv4_addr", null, clusterIps.ToList());
        t.Set("set", "nodeport-ips", "ipv4_addr", null, node.NodeIps.Select(i => i.ToString()).Distinct().ToList());
        t.Set("map", "service-ips", "ipv4_addr . inet_proto . inet_service : verdict", null, serviceIps);
        t.Set("map", "service-nodeports", "inet_proto . inet_service : verdict", null, nodePorts);
        t.Set("map", "no-endpoint-services", "ipv4_addr . inet_proto . inet_service : verdict", null, noEndpointServices);
        t.Set("map", "no-endpoint-nodeports", "inet_proto . inet_service : verdict", null, noEndpointNodePorts);
        foreach (var (name, timeout) in affinitySets.DistinctBy(a => a.Name))
            t.Set("set", name, "ipv4_addr", $"flags dynamic,timeout; timeout {(long)timeout.TotalSeconds}s;", []);
        foreach (var (name, body) in serviceChains) t.Chain(name, null, body);
        foreach (var (name, body) in endpointChains) t.Chain(name, null, body);
        t.Close();
        return t.ToString();
    }

    /// <summary>
    /// The ClientIP affinity entries of the table as it is now (<paramref name="currentJson"/>, `nft -j list table`) that the
    /// next transaction (<paramref name="script"/>) keeps a set for, as `add element` lines to append to it: the whole-table
    /// rewrite would otherwise forget every client's endpoint at each Service or endpoint change anywhere in the cluster.
    /// Each entry keeps its remaining time (capped at the set's timeout, which may have changed). Entries the kernel adds
    /// between the listing and the transaction are lost; a client then picks an endpoint afresh, once.
    /// </summary>
    public static string CarryOverAffinity(string table, string? currentJson, string script)
    {
        if (currentJson is null) return "";
        var wanted = AffinitySetDeclaration().Matches(script).ToDictionary(m => m.Groups[1].Value, m => long.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture), StringComparer.Ordinal);
        if (wanted.Count == 0) return "";
        System.Text.Json.Nodes.JsonNode? root;
        try { root = System.Text.Json.Nodes.JsonNode.Parse(currentJson); }
        catch (System.Text.Json.JsonException) { return ""; }
        var t = new NftWriter();
        foreach (var item in (root?["nftables"] as System.Text.Json.Nodes.JsonArray ?? []).OfType<System.Text.Json.Nodes.JsonObject>())
        {
            if (item["set"] is not System.Text.Json.Nodes.JsonObject set || (string?)set["table"] != table || (string?)set["name"] is not { } name
                || !wanted.TryGetValue(name, out var timeout))
                continue;
            var elements = new List<string>();
            foreach (var e in (set["elem"] as System.Text.Json.Nodes.JsonArray ?? []).OfType<System.Text.Json.Nodes.JsonObject>())
            {
                var elem = e["elem"] as System.Text.Json.Nodes.JsonObject;
                if ((string?)elem?["val"] is not { } val || !IPAddress.TryParse(val, out var ip) || ip.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork) continue;
                var expires = Math.Min(elem!["expires"]?.GetValue<long>() ?? 0, timeout);
                if (expires > 0) elements.Add($"{ip} timeout {timeout}s expires {expires}s");
            }
            if (elements.Count > 0) t.Line($"add element ip {table} {name} {{ {string.Join(", ", elements)} }}");
        }
        return t.ToString();
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"set (affinity-\S+) \{\s*type ipv4_addr\s*flags dynamic,timeout; timeout (\d+)s;")]
    private static partial System.Text.RegularExpressions.Regex AffinitySetDeclaration();

    /// <summary>The transaction that removes the node's table (`down`, graceful stop): add first, so it never fails.</summary>
    public static string Remove(string table) => $"add table ip {table}\ndelete table ip {table}\n";

    private static string AffinitySet(string hash, string key, Backend b) => $"affinity-{hash}-{key}__{b.Address}/{b.Port}";

    /// <summary>8 base32 characters of SHA-256: chain names stay unique whatever the key's characters.</summary>
    private static string Hash(string key)
    {
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        var bytes = SHA256.HashData(Encoding.UTF8.GetBytes(key));
        var bits = 0UL;
        for (var i = 0; i < 5; i++) bits = bits << 8 | bytes[i];
        var chars = new char[8];
        for (var i = 7; i >= 0; i--, bits >>= 5) chars[i] = alphabet[(int)(bits & 31)];
        return new string(chars);
    }
}
