using System.Collections.Immutable;
using System.Net;
using System.Net.Sockets;
using k8s.Models;

namespace AkkaKube.Actors.Dns;

/// <summary>A record type the cluster zone answers (the numbers are the DNS wire values).</summary>
public enum DnsType
{
    A = 1,
    Ns = 2,
    Cname = 5,
    Soa = 6,
    Ptr = 12,
    Txt = 16,
    Aaaa = 28,
    Srv = 33,
    Any = 255,
}

/// <summary>One answer record, independent of the wire library: Data is an address or a domain name.</summary>
public sealed record ZoneRecord(string Name, DnsType Type, string Data, ushort Port = 0, ushort Priority = 0, ushort Weight = 0);

public enum ZoneCode
{
    /// <summary>The name exists: Answers (possibly empty = NODATA, then the SOA goes in the authority section).</summary>
    NoError,
    /// <summary>The name is in the zone and does not exist: NXDOMAIN with the SOA in the authority section.</summary>
    NxDomain,
    /// <summary>The cluster zone does not answer this name: forward it to the upstream resolvers.</summary>
    NotInZone,
}

public sealed record ZoneAnswer(ZoneCode Code, IReadOnlyList<ZoneRecord> Answers, IReadOnlyList<ZoneRecord> Additional)
{
    public static readonly ZoneAnswer Forward = new(ZoneCode.NotInZone, [], []);
    public static readonly ZoneAnswer NxDomain = new(ZoneCode.NxDomain, [], []);
    public static readonly ZoneAnswer NoData = new(ZoneCode.NoError, [], []);
}

/// <summary>
/// The cluster zone (<c>cluster.local</c> by default) computed from the Services and EndpointSlices an informer holds:
/// the records Kubernetes' DNS specification (and CoreDNS's kubernetes plugin) defines — A/AAAA of ClusterIP Services,
/// the ready endpoints of headless Services, endpoint hostnames (StatefulSet pods), SRV of named ports, PTR of
/// service and endpoint IPs, CNAME of ExternalName Services, <c>a-b-c-d.ns.pod</c> names (CoreDNS's "pods insecure",
/// kubeadm's default). Immutable: the DNS actor builds a new one when the informers change and the server threads read
/// the current one; answering is a pure function of it.
/// </summary>
public sealed class ClusterZone
{
    private readonly ImmutableDictionary<string, ServiceEntry> _services;
    private readonly ImmutableHashSet<string> _namespaces;
    private readonly ImmutableDictionary<string, string> _ptr;

    public string Domain { get; }
    public uint Serial { get; }
    public int Ttl { get; }

    private ClusterZone(string domain, int ttl, uint serial, ImmutableDictionary<string, ServiceEntry> services,
        ImmutableHashSet<string> namespaces, ImmutableDictionary<string, string> ptr)
    {
        Domain = domain;
        Ttl = ttl;
        Serial = serial;
        _services = services;
        _namespaces = namespaces;
        _ptr = ptr;
    }

    public static ClusterZone Empty(string domain, int ttl) => Build(domain, ttl, 1, [], []);

    /// <summary>The SOA of the zone (its authority and negative-caching TTL are the record TTL).</summary>
    public ZoneRecord Soa => new(Domain, DnsType.Soa, $"ns.dns.{Domain}");

    /// <summary>The mailbox of the SOA (RNAME), as CoreDNS writes it.</summary>
    public string Hostmaster => $"hostmaster.{Domain}";

    private sealed record Endpoint(string Ip, string? Hostname, IReadOnlyList<(string Name, string Protocol, int Port)> Ports);

    private sealed record ServiceEntry(string Name, string Namespace, string Type, IReadOnlyList<string> ClusterIps,
        string? ExternalName, IReadOnlyList<(string Name, string Protocol, int Port)> Ports, IReadOnlyList<Endpoint> Endpoints)
    {
        public bool Headless => ClusterIps.Count == 0 && ExternalName is null;
    }

    /// <summary>Builds the zone from the informers' Services and EndpointSlices (only ready endpoints are published).</summary>
    public static ClusterZone Build(string domain, int ttl, uint serial, IEnumerable<V1Service> services, IEnumerable<V1EndpointSlice> slices)
    {
        domain = Normalize(domain);
        var slicesByService = slices
            .Where(s => s.Metadata?.Labels?.TryGetValue("kubernetes.io/service-name", out _) == true)
            .GroupBy(s => $"{s.Metadata.NamespaceProperty}/{s.Metadata.Labels["kubernetes.io/service-name"]}")
            .ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        var entries = ImmutableDictionary.CreateBuilder<string, ServiceEntry>(StringComparer.Ordinal);
        var namespaces = ImmutableHashSet.CreateBuilder<string>(StringComparer.Ordinal);
        var ptr = ImmutableDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
        foreach (var svc in services)
        {
            var name = svc.Metadata?.Name;
            var ns = svc.Metadata?.NamespaceProperty;
            if (string.IsNullOrEmpty(name) || string.IsNullOrEmpty(ns)) continue;
            var type = svc.Spec?.Type ?? "ClusterIP";
            var external = type == "ExternalName" && !string.IsNullOrEmpty(svc.Spec?.ExternalName) ? Normalize(svc.Spec.ExternalName) : null;
            var clusterIps = external is not null ? [] : (svc.Spec?.ClusterIPs is { Count: > 0 } ips ? ips : [svc.Spec?.ClusterIP ?? ""])
                .Where(ip => IPAddress.TryParse(ip, out _)).ToList();
            var ports = (svc.Spec?.Ports ?? []).Select(p => (p.Name ?? "", p.Protocol ?? "TCP", p.Port)).ToList();
            var endpoints = new List<Endpoint>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var slice in slicesByService.GetValueOrDefault($"{ns}/{name}") ?? [])
            {
                var slicePorts = (slice.Ports ?? []).Where(p => p.Port is not null)
                    .Select(p => (p.Name ?? "", p.Protocol ?? "TCP", p.Port!.Value)).ToList();
                foreach (var ep in slice.Endpoints ?? [])
                {
                    // Kubernetes' DNS spec: ready endpoints only (serving-but-terminating ones are not published).
                    if (ep.Conditions?.Ready == false) continue;
                    foreach (var ip in ep.Addresses ?? [])
                        if (IPAddress.TryParse(ip, out _) && seen.Add(ip))
                            endpoints.Add(new Endpoint(ip, string.IsNullOrEmpty(ep.Hostname) ? null : ep.Hostname.ToLowerInvariant(), slicePorts));
                }
            }
            var entry = new ServiceEntry(name, ns, type, clusterIps, external, ports, endpoints);
            entries[$"{name}.{ns}"] = entry;
            namespaces.Add(ns);
            var serviceName = $"{name}.{ns}.svc.{domain}";
            foreach (var ip in clusterIps) ptr.TryAdd(ip, serviceName);
            foreach (var ep in endpoints) ptr.TryAdd(ep.Ip, $"{EndpointLabel(ep)}.{serviceName}");
        }
        return new ClusterZone(domain, ttl, serial, entries.ToImmutable(), namespaces.ToImmutable(), ptr.ToImmutable());
    }

    /// <summary>Lower-case, no trailing dot.</summary>
    public static string Normalize(string name) => name.Trim().TrimEnd('.').ToLowerInvariant();

    /// <summary>Whether <paramref name="name"/> is the zone or under it (the server answers these authoritatively).</summary>
    public bool InZone(string name)
    {
        name = Normalize(name);
        return name == Domain || name.EndsWith("." + Domain, StringComparison.Ordinal);
    }

    /// <summary>The answer to a question for <paramref name="qname"/> of <paramref name="type"/>.</summary>
    public ZoneAnswer Answer(string qname, DnsType type)
    {
        var name = Normalize(qname);
        if (name.EndsWith(".in-addr.arpa", StringComparison.Ordinal) || name.EndsWith(".ip6.arpa", StringComparison.Ordinal))
            return Reverse(name, type);
        if (!InZone(name)) return ZoneAnswer.Forward;
        if (name == Domain)
            return type switch
            {
                DnsType.Soa or DnsType.Any => Records([Soa]),
                DnsType.Ns => Records([new ZoneRecord(Domain, DnsType.Ns, $"ns.dns.{Domain}")]),
                _ => ZoneAnswer.NoData,
            };
        var labels = name[..^(Domain.Length + 1)].Split('.');
        return labels[^1] switch
        {
            "svc" => ServiceName(labels[..^1], type),
            "pod" => PodName(labels[..^1], type),
            _ => ZoneAnswer.NxDomain,
        };
    }

    // <labels>.svc.<zone>, labels without "svc".
    private ZoneAnswer ServiceName(string[] labels, DnsType type)
    {
        switch (labels.Length)
        {
            case 0: return ZoneAnswer.NoData; // svc.<zone>: an empty non-terminal
            case 1: return _namespaces.Contains(labels[0]) ? ZoneAnswer.NoData : ZoneAnswer.NxDomain;
        }
        var ns = labels[^1];
        var svcName = labels[^2];
        if (!_services.TryGetValue($"{svcName}.{ns}", out var svc)) return ZoneAnswer.NxDomain;
        var fqdn = $"{svc.Name}.{svc.Namespace}.svc.{Domain}";
        return labels.Length switch
        {
            2 => ServiceRecords(svc, fqdn, type),
            3 => EndpointRecords(svc, fqdn, labels[0], type),
            4 when labels[0].StartsWith('_') && labels[1].StartsWith('_') => SrvRecords(svc, fqdn, labels[0][1..], labels[1][1..], type),
            _ => ZoneAnswer.NxDomain,
        };
    }

    private ZoneAnswer ServiceRecords(ServiceEntry svc, string fqdn, DnsType type)
    {
        if (svc.ExternalName is not null)
            return Records([new ZoneRecord(fqdn, DnsType.Cname, svc.ExternalName)]);
        if (type == DnsType.Srv) return SrvRecords(svc, fqdn, null, null, type);
        var ips = svc.Headless ? svc.Endpoints.Select(e => e.Ip) : svc.ClusterIps;
        return Records(AddressRecords(fqdn, ips, type));
    }

    // <hostname or a-b-c-d>.<svc>.<ns>.svc.<zone>: an endpoint of the Service by its hostname (StatefulSet pods) or its dashed IP.
    private ZoneAnswer EndpointRecords(ServiceEntry svc, string fqdn, string label, DnsType type)
    {
        var matches = svc.Endpoints.Where(e => EndpointLabel(e) == label || DashedIp(e.Ip) == label).ToList();
        if (matches.Count == 0) return ZoneAnswer.NxDomain;
        return Records(AddressRecords($"{label}.{fqdn}", matches.Select(e => e.Ip), type));
    }

    // _<port>._<proto>.<svc>.<ns>.svc.<zone> (port/proto null: every named port, for an SRV query of the service name).
    private ZoneAnswer SrvRecords(ServiceEntry svc, string fqdn, string? portName, string? protocol, DnsType type)
    {
        bool Matches((string Name, string Protocol, int Port) p) =>
            p.Name.Length > 0 && (portName is null || string.Equals(p.Name, portName, StringComparison.OrdinalIgnoreCase))
                              && (protocol is null || string.Equals(p.Protocol, protocol, StringComparison.OrdinalIgnoreCase));
        var owner = portName is null ? fqdn : $"_{portName}._{protocol}.{fqdn}";
        var answers = new List<ZoneRecord>();
        var additional = new List<ZoneRecord>();
        if (svc.Headless)
        {
            // One SRV per endpoint, its port the endpoint's, its target the endpoint's own name (CoreDNS).
            foreach (var ep in svc.Endpoints)
                foreach (var p in ep.Ports.Where(Matches))
                {
                    var target = $"{EndpointLabel(ep)}.{fqdn}";
                    answers.Add(new ZoneRecord(owner, DnsType.Srv, target, (ushort)p.Port, 0, Weight(svc.Endpoints.Count)));
                    additional.Add(new ZoneRecord(target, AddressType(ep.Ip), ep.Ip));
                }
        }
        else if (svc.ExternalName is null)
        {
            foreach (var p in svc.Ports.Where(Matches))
                answers.Add(new ZoneRecord(owner, DnsType.Srv, fqdn, (ushort)p.Port, 0, 100));
            if (answers.Count > 0)
                additional.AddRange(svc.ClusterIps.Select(ip => new ZoneRecord(fqdn, AddressType(ip), ip)));
        }
        if (portName is not null && answers.Count == 0 && !svc.Ports.Any(Matches)) return ZoneAnswer.NxDomain;
        if (type is not (DnsType.Srv or DnsType.Any)) return ZoneAnswer.NoData;
        return new ZoneAnswer(ZoneCode.NoError, answers, additional.Distinct().ToList());
    }

    // a-b-c-d.<ns>.pod.<zone>: the address the name spells, for any namespace that has... anything (CoreDNS "pods insecure").
    private ZoneAnswer PodName(string[] labels, DnsType type)
    {
        if (labels.Length == 0) return ZoneAnswer.NoData;
        if (labels.Length == 1) return ZoneAnswer.NoData; // <ns>.pod.<zone>
        if (labels.Length != 2) return ZoneAnswer.NxDomain;
        var dotted = labels[0].Replace('-', '.');
        if (!IPAddress.TryParse(dotted, out var ip) || ip.AddressFamily != AddressFamily.InterNetwork || labels[0].Count(c => c == '-') != 3)
            return ZoneAnswer.NxDomain;
        return Records(AddressRecords($"{labels[0]}.{labels[1]}.pod.{Domain}", [ip.ToString()], type));
    }

    private ZoneAnswer Reverse(string name, DnsType type)
    {
        var ip = FromReverseName(name);
        if (ip is null || !_ptr.TryGetValue(ip, out var target)) return ZoneAnswer.Forward; // fallthrough, as CoreDNS
        return type is DnsType.Ptr or DnsType.Any ? Records([new ZoneRecord(name, DnsType.Ptr, target)]) : ZoneAnswer.NoData;
    }

    /// <summary>d.c.b.a.in-addr.arpa → a.b.c.d; nibble-reversed ip6.arpa → the IPv6 address; anything else null.</summary>
    public static string? FromReverseName(string name)
    {
        name = Normalize(name);
        if (name.EndsWith(".in-addr.arpa", StringComparison.Ordinal))
        {
            var parts = name[..^".in-addr.arpa".Length].Split('.');
            if (parts.Length != 4 || parts.Any(p => !byte.TryParse(p, out _) || (p.Length > 1 && p[0] == '0'))) return null;
            return string.Join('.', parts.Reverse());
        }
        if (name.EndsWith(".ip6.arpa", StringComparison.Ordinal))
        {
            var nibbles = name[..^".ip6.arpa".Length].Split('.');
            if (nibbles.Length != 32 || nibbles.Any(n => n.Length != 1 || !Uri.IsHexDigit(n[0]))) return null;
            var hex = string.Concat(nibbles.Reverse());
            var bytes = Convert.FromHexString(hex);
            return new IPAddress(bytes).ToString();
        }
        return null;
    }

    private ZoneAnswer Records(IReadOnlyList<ZoneRecord> records) => new(ZoneCode.NoError, records, []);

    private static List<ZoneRecord> AddressRecords(string owner, IEnumerable<string> ips, DnsType type)
    {
        var list = new List<ZoneRecord>();
        foreach (var ip in ips)
        {
            var t = AddressType(ip);
            if (type == t || type == DnsType.Any) list.Add(new ZoneRecord(owner, t, ip));
        }
        return list;
    }

    private static DnsType AddressType(string ip) =>
        IPAddress.Parse(ip).AddressFamily == AddressFamily.InterNetworkV6 ? DnsType.Aaaa : DnsType.A;

    private static ushort Weight(int count) => (ushort)Math.Max(1, 100 / Math.Max(1, count));

    private static string EndpointLabel(Endpoint e) => e.Hostname ?? DashedIp(e.Ip);

    /// <summary>10.0.0.7 → 10-0-0-7 (IPv6: colons to dashes), the label Kubernetes gives an endpoint without a hostname.</summary>
    public static string DashedIp(string ip) => ip.Replace('.', '-').Replace(':', '-');
}
