using System.Text.Json.Nodes;
using AkkaKube.Actors.Machinery;
using k8s.Models;
using static AkkaKube.Actors.ApiServer.Registry.Validation;

namespace AkkaKube.Actors.ApiServer.Registry.Networking;

/// <summary>ingresses (networking.k8s.io/v1): a default backend or rules; every path has a pathType and a backend.</summary>
public sealed class IngressStrategy : ResourceStrategy
{
    public override Type Model => typeof(V1Ingress);

    /// <summary>`kubectl create ingress` sends protobuf (k8s.io/api networking/v1 numbering; a rule's value is inline).</summary>
    public override IReadOnlyDictionary<string, Dictionary<int, Protobuf.F>> ProtobufMessages { get; } = new Dictionary<string, Dictionary<int, Protobuf.F>>
    {
        ["Ingress"] = Protobuf.M(new Protobuf.F(1, "metadata", Protobuf.T.Msg, Msg: "ObjectMeta"), new(2, "spec", Protobuf.T.Msg, Msg: "IngressSpec"),
            new(3, "status", Protobuf.T.Msg, Msg: "Empty")),
        ["IngressSpec"] = Protobuf.M(new Protobuf.F(1, "defaultBackend", Protobuf.T.Msg, Msg: "IngressBackend"), new(2, "tls", Protobuf.T.Msg, Repeated: true, Msg: "IngressTLS"),
            new(3, "rules", Protobuf.T.Msg, Repeated: true, Msg: "IngressRule"), new(4, "ingressClassName", Protobuf.T.Str)),
        ["IngressBackend"] = Protobuf.M(new Protobuf.F(4, "service", Protobuf.T.Msg, Msg: "IngressServiceBackend"), new(3, "resource", Protobuf.T.Msg, Msg: "TypedLocalObjectReference")),
        ["IngressServiceBackend"] = Protobuf.M(new Protobuf.F(1, "name", Protobuf.T.Str), new(2, "port", Protobuf.T.Msg, Msg: "ServiceBackendPort")),
        ["ServiceBackendPort"] = Protobuf.M(new Protobuf.F(1, "name", Protobuf.T.Str), new(2, "number", Protobuf.T.Int32)),
        ["TypedLocalObjectReference"] = Protobuf.M(new Protobuf.F(1, "apiGroup", Protobuf.T.Str), new(2, "kind", Protobuf.T.Str), new(3, "name", Protobuf.T.Str)),
        ["IngressTLS"] = Protobuf.M(new Protobuf.F(1, "hosts", Protobuf.T.Str, Repeated: true), new(2, "secretName", Protobuf.T.Str)),
        ["IngressRule"] = Protobuf.M(new Protobuf.F(1, "host", Protobuf.T.Str), new(2, "", Protobuf.T.Msg, Msg: "IngressRuleValue")),
        ["IngressRuleValue"] = Protobuf.M(new Protobuf.F(1, "http", Protobuf.T.Msg, Msg: "HTTPIngressRuleValue")),
        ["HTTPIngressRuleValue"] = Protobuf.M(new Protobuf.F(1, "paths", Protobuf.T.Msg, Repeated: true, Msg: "HTTPIngressPath")),
        ["HTTPIngressPath"] = Protobuf.M(new Protobuf.F(1, "path", Protobuf.T.Str), new(2, "backend", Protobuf.T.Msg, Msg: "IngressBackend"), new(3, "pathType", Protobuf.T.Str)),
    };

    public override IEnumerable<StatusCause> Validate(JsonObject obj)
    {
        var spec = obj["spec"] as JsonObject;
        if (spec?["defaultBackend"] is null && spec?["rules"] is not JsonArray { Count: > 0 })
            yield return Invalid("spec.rules", "", "either `defaultBackend` or `rules` must be specified");
        if (spec?["rules"] is not JsonArray rules) yield break;
        for (var i = 0; i < rules.Count; i++)
        {
            if (rules[i]?["http"]?["paths"] is not JsonArray paths) continue;
            for (var j = 0; j < paths.Count; j++)
            {
                var field = $"spec.rules[{i}].http.paths[{j}]";
                var type = Meta.Str(paths[j]?["pathType"]);
                if (type.Length == 0) yield return Required($"{field}.pathType", "Required value: pathType must be specified");
                else if (type is not ("Exact" or "Prefix" or "ImplementationSpecific")) yield return NotSupported($"{field}.pathType", type, "Exact", "ImplementationSpecific", "Prefix");
                if (paths[j]?["backend"] is not JsonObject) yield return Required($"{field}.backend");
            }
        }
    }

    private static IEnumerable<JsonObject> Rules(JsonObject o) => (o["spec"]?["rules"] as JsonArray)?.OfType<JsonObject>() ?? [];

    public override IReadOnlyList<TableColumn> Columns { get; } =
    [
        TableColumn.NameColumn,
        TableColumn.Of("Class", o => Cells.Or(Cells.S(o["spec"]?["ingressClassName"]), "<none>")),
        TableColumn.Of("Hosts", o => Rules(o).Select(r => Cells.Or(Cells.S(r["host"]), "*")).ToList() is { Count: > 0 } h ? string.Join(",", h) : "*"),
        TableColumn.Of("Address", o => string.Join(",", (o["status"]?["loadBalancer"]?["ingress"] as JsonArray)?.Select(i => Cells.Or(Cells.S(i?["ip"]), Cells.S(i?["hostname"]))) ?? [])),
        TableColumn.Of("Ports", o => o["spec"]?["tls"] is JsonArray { Count: > 0 } ? "80, 443" : "80"),
        TableColumn.AgeColumn,
    ];
}

/// <summary>ingressclasses (networking.k8s.io/v1): the controller name is required and immutable.</summary>
public sealed class IngressClassStrategy : ResourceStrategy
{
    public override Type Model => typeof(V1IngressClass);

    public override IEnumerable<StatusCause> Validate(JsonObject obj)
    {
        if (Meta.Str(obj["spec"]?["controller"]).Length == 0) yield return Required("spec.controller");
    }

    public override IEnumerable<StatusCause> ValidateUpdate(JsonObject obj, JsonObject old)
    {
        if (Meta.Str(old["spec"]?["controller"]) != Meta.Str(obj["spec"]?["controller"])) yield return Immutable("spec.controller", obj["spec"]?["controller"]);
    }

    public override IReadOnlyList<TableColumn> Columns { get; } =
    [
        TableColumn.NameColumn,
        TableColumn.Of("Controller", o => Cells.S(o["spec"]?["controller"])),
        TableColumn.Of("Parameters", o => o["spec"]?["parameters"] is JsonObject p ? $"{Cells.S(p["kind"])}/{Cells.S(p["name"])}" : "<none>"),
        TableColumn.AgeColumn,
    ];
}

/// <summary>networkpolicies (networking.k8s.io/v1): policyTypes Ingress/Egress (Ingress by default). Enforced per node by src/Actors/Netpol.</summary>
public sealed class NetworkPolicyStrategy : ResourceStrategy
{
    public override Type Model => typeof(V1NetworkPolicy);

    public override void Default(JsonObject obj)
    {
        if (obj["spec"] is not JsonObject spec) return;
        spec["podSelector"] ??= new JsonObject();
        if (spec["policyTypes"] is null)
            spec["policyTypes"] = spec["egress"] is JsonArray { Count: > 0 } ? new JsonArray("Ingress", "Egress") : new JsonArray("Ingress");
    }

    public override IEnumerable<StatusCause> Validate(JsonObject obj)
    {
        if (obj["spec"]?["policyTypes"] is JsonArray types)
            for (var i = 0; i < types.Count; i++)
                if (Meta.Str(types[i]) is not ("Ingress" or "Egress") and var t)
                    yield return NotSupported($"spec.policyTypes[{i}]", t, "Ingress", "Egress");
        foreach (var (direction, peersField) in new[] { ("ingress", "from"), ("egress", "to") })
        {
            if (obj["spec"]?[direction] is not JsonArray rules) continue;
            for (var i = 0; i < rules.Count; i++)
            {
                var rulePath = $"spec.{direction}[{i}]";
                if (rules[i]?["ports"] is JsonArray ports)
                    for (var j = 0; j < ports.Count; j++)
                        foreach (var cause in PolicyPort(ports[j] as JsonObject ?? new JsonObject(), $"{rulePath}.ports[{j}]"))
                            yield return cause;
                if (rules[i]?[peersField] is JsonArray peers)
                    for (var j = 0; j < peers.Count; j++)
                        foreach (var cause in Peer(peers[j] as JsonObject ?? new JsonObject(), $"{rulePath}.{peersField}[{j}]"))
                            yield return cause;
            }
        }
    }

    /// <summary>Kubernetes' validateNetworkPolicyPort: protocol, a port number or name, endPort only after a numeric port.</summary>
    private static IEnumerable<StatusCause> PolicyPort(JsonObject port, string path)
    {
        if (port["protocol"] is JsonValue protocol && Meta.Str(protocol) is not ("TCP" or "UDP" or "SCTP") and var p)
            yield return NotSupported($"{path}.protocol", p, "SCTP", "TCP", "UDP");
        int? number = null;
        if (port["port"] is JsonValue value)
        {
            if (value.TryGetValue<int>(out var n))
            {
                number = n;
                if (n is < 1 or > 65535) yield return InvalidRaw($"{path}.port", n.ToString(System.Globalization.CultureInfo.InvariantCulture), "must be between 1 and 65535, inclusive");
            }
            else if (Meta.Str(value) is var name && !IsPortName(name))
                yield return Invalid($"{path}.port", name, "must be no more than 15 characters, contain only lowercase letters, digits and '-', at least one letter, and not begin, end or repeat '-'");
        }
        if (port["endPort"] is JsonValue endValue && endValue.TryGetValue<int>(out var end))
        {
            if (port["port"] is null) yield return Required($"{path}.endPort", "Required value: may not be specified when `port` is not specified");
            else if (number is null) yield return Forbidden($"{path}.endPort", "may not be specified when `port` is non-numeric");
            else if (end < number) yield return InvalidRaw($"{path}.endPort", end.ToString(System.Globalization.CultureInfo.InvariantCulture), "must be greater than or equal to `port`");
        }
    }

    private static bool IsPortName(string name) =>
        name.Length is > 0 and <= 15 && name.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-') && name.Any(char.IsAsciiLetter)
        && name[0] != '-' && name[^1] != '-' && !name.Contains("--", StringComparison.Ordinal);

    /// <summary>Kubernetes' ValidateNetworkPolicyPeer: at least one peer, ipBlock alone, a parsable CIDR whose excepts lie strictly inside it.</summary>
    private static IEnumerable<StatusCause> Peer(JsonObject peer, string path)
    {
        var count = new[] { "podSelector", "namespaceSelector", "ipBlock" }.Count(k => peer[k] is JsonObject);
        if (count == 0)
        {
            yield return Required(path, "Required value: must specify a peer");
            yield break;
        }
        if (peer["ipBlock"] is not JsonObject block) yield break;
        if (count > 1) yield return Forbidden(path, "may not specify both ipBlock and another peer");
        var cidr = Meta.Str(block["cidr"]);
        if (string.IsNullOrEmpty(cidr))
        {
            yield return Required($"{path}.ipBlock.cidr");
            yield break;
        }
        if (!Netpol.NetpolRules.TryPrefix(cidr, out var prefix, out var v6))
        {
            yield return Invalid($"{path}.ipBlock.cidr", cidr, "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)");
            yield break;
        }
        var network = System.Net.IPNetwork.Parse(prefix);
        if (block["except"] is not JsonArray except) yield break;
        for (var i = 0; i < except.Count; i++)
        {
            var e = Meta.Str(except[i]);
            if (!Netpol.NetpolRules.TryPrefix(e, out var ePrefix, out var e6) || e6 != v6
                || System.Net.IPNetwork.Parse(ePrefix) is var inner && (inner.PrefixLength <= network.PrefixLength || !network.Contains(inner.BaseAddress)))
                yield return Invalid($"{path}.ipBlock.except[{i}]", e, "must be a strict subset of `cidr`");
        }
    }

    public override IReadOnlyList<TableColumn> Columns { get; } =
    [
        TableColumn.NameColumn,
        TableColumn.Of("Pod-Selector", o => LabelSelectors.Format(o["spec"]?["podSelector"] as JsonObject) is { Length: > 0 } s ? s : "<none>"),
        TableColumn.AgeColumn,
    ];
}
