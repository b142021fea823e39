using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace AkkaKube.Actors.Services;

/// <summary>One cause of a 422: the Kubernetes cause reason, the field path and the message after the field.</summary>
public sealed record ServiceFieldError(string Reason, string Field, string Message)
{
    public override string ToString() => $"{Field}: {Message}";

    public static ServiceFieldError Invalid(string field, JsonNode? value, string detail) =>
        new("FieldValueInvalid", field, $"Invalid value: {Show(value)}: {detail}");

    public static ServiceFieldError Invalid(string field, string value, string detail) =>
        new("FieldValueInvalid", field, $"Invalid value: \"{value}\": {detail}");

    public static ServiceFieldError Required(string field) => new("FieldValueRequired", field, "Required value");

    public static ServiceFieldError Duplicate(string field, string value) => new("FieldValueDuplicate", field, $"Duplicate value: {value}");

    public static ServiceFieldError Forbidden(string field, string detail) => new("FieldValueForbidden", field, $"Forbidden: {detail}");

    public static ServiceFieldError Unsupported(string field, string value, params string[] supported) =>
        new("FieldValueNotSupported", field,
            $"Unsupported value: \"{value}\": supported values: {string.Join(", ", supported.Select(s => $"\"{s}\""))}");

    private static string Show(JsonNode? value) => value switch
    {
        null => "null",
        JsonValue v when v.TryGetValue<string>(out var s) => $"\"{s}\"",
        _ => value.ToJsonString(),
    };
}

/// <summary>
/// Service validation as the Kubernetes apiserver does it for the fields AkkaKube supports: type, ports
/// (range, protocol, names, duplicates, targetPort as number or IANA service name, nodePort vs type and
/// range), selector labels, clusterIP, session affinity and traffic policies. Allocation conflicts
/// ("provided port is already allocated") come from <see cref="ServiceAllocations"/>.
/// </summary>
public static partial class ServiceValidation
{
    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")]
    private static partial Regex Dns1123Label();

    [GeneratedRegex("^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")]
    private static partial Regex QualifiedName();

    [GeneratedRegex("^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")]
    private static partial Regex IanaSvcName();

    private const string PortRangeMsg = "must be between 1 and 65535, inclusive";
    private const string LabelValueMsg = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
    private const string LabelKeyMsg = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";

    public static readonly string[] Types = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];
    public static readonly string[] Protocols = ["SCTP", "TCP", "UDP"];

    /// <summary>Validates a service; without <paramref name="settings"/> the range checks (clusterIP, nodePort) are left to the allocator.</summary>
    public static List<ServiceFieldError> Validate(JsonObject service, ServiceNetworkSettings? settings)
    {
        var errors = new List<ServiceFieldError>();
        var spec = service["spec"] as JsonObject;
        if (spec is null)
        {
            errors.Add(ServiceFieldError.Required("spec"));
            return errors;
        }
        var type = Str(spec["type"]) ?? "ClusterIP";
        if (!Types.Contains(type))
            errors.Add(ServiceFieldError.Unsupported("spec.type", type, Types));
        var clusterIp = Str(spec["clusterIP"]);
        var headless = clusterIp == "None";

        if (type == "ExternalName")
        {
            if (string.IsNullOrEmpty(Str(spec["externalName"])))
                errors.Add(ServiceFieldError.Required("spec.externalName"));
        }
        else if (spec["ports"] is not JsonArray { Count: > 0 } && !headless)
            errors.Add(ServiceFieldError.Required("spec.ports"));

        if (headless && type is "NodePort" or "LoadBalancer")
            errors.Add(ServiceFieldError.Invalid("spec.clusterIPs[0]", "None", "may not be set to 'None' for LoadBalancer or NodePort services"));
        if (!string.IsNullOrEmpty(clusterIp) && !headless)
        {
            if (!IPAddress.TryParse(clusterIp, out var ip) || ip.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork)
                errors.Add(ServiceFieldError.Invalid("spec.clusterIPs[0]", clusterIp, "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"));
            else if (settings is not null && !settings.InRange(ip))
                errors.Add(ServiceFieldError.Invalid("spec.clusterIPs[0]", clusterIp,
                    $"failed to allocate IP {clusterIp}: provided IP is not in the valid range. The range of valid IPs is {settings.ServiceCidr}"));
        }

        ValidatePorts(spec, type, settings, errors);
        ValidateSelector(spec, errors);

        var affinity = Str(spec["sessionAffinity"]) ?? "None";
        if (affinity is not ("None" or "ClientIP"))
            errors.Add(ServiceFieldError.Unsupported("spec.sessionAffinity", affinity, "ClientIP", "None"));
        if (spec["sessionAffinityConfig"]?["clientIP"]?["timeoutSeconds"] is JsonNode timeout)
        {
            if (affinity != "ClientIP")
                errors.Add(ServiceFieldError.Invalid("spec.sessionAffinityConfig", spec["sessionAffinityConfig"], "must not be set when session affinity is None"));
            else if (!TryInt(timeout, out var seconds) || seconds is < 1 or > 86400)
                errors.Add(ServiceFieldError.Invalid("spec.sessionAffinityConfig.clientIP.timeoutSeconds", timeout, "must be greater than 0 and less than 86400"));
        }
        if (Str(spec["internalTrafficPolicy"]) is { } itp && itp is not ("Cluster" or "Local"))
            errors.Add(ServiceFieldError.Unsupported("spec.internalTrafficPolicy", itp, "Cluster", "Local"));
        if (Str(spec["externalTrafficPolicy"]) is { } etp)
        {
            if (etp is not ("Cluster" or "Local"))
                errors.Add(ServiceFieldError.Unsupported("spec.externalTrafficPolicy", etp, "Cluster", "Local"));
            else if (type is not ("NodePort" or "LoadBalancer"))
                errors.Add(ServiceFieldError.Invalid("spec.externalTrafficPolicy", etp, "may only be set when `type` is 'NodePort' or 'LoadBalancer'"));
        }
        if (spec["externalIPs"] is JsonArray externalIps)
            for (var i = 0; i < externalIps.Count; i++)
                if (Str(externalIps[i]) is not { } e || !IPAddress.TryParse(e, out _))
                    errors.Add(ServiceFieldError.Invalid($"spec.externalIPs[{i}]", externalIps[i], "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"));
        return errors;
    }

    /// <summary>Immutable fields on update (the allocator copies unset allocated values from the old object first).</summary>
    public static List<ServiceFieldError> ValidateUpdate(JsonObject service, JsonObject old)
    {
        var errors = new List<ServiceFieldError>();
        var oldIp = Str(old["spec"]?["clusterIP"]);
        var newIp = Str(service["spec"]?["clusterIP"]);
        var newType = Str(service["spec"]?["type"]) ?? "ClusterIP";
        if (!string.IsNullOrEmpty(oldIp) && newType != "ExternalName" && Str(old["spec"]?["type"]) != "ExternalName" && oldIp != newIp)
            errors.Add(ServiceFieldError.Invalid("spec.clusterIPs[0]", newIp ?? "", "may not change once set"));
        return errors;
    }

    private static void ValidatePorts(JsonObject spec, string type, ServiceNetworkSettings? settings, List<ServiceFieldError> errors)
    {
        if (spec["ports"] is not JsonArray ports) return;
        var names = new HashSet<string>(StringComparer.Ordinal);
        var portProtocols = new HashSet<string>(StringComparer.Ordinal);
        var nodePorts = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < ports.Count; i++)
        {
            var path = $"spec.ports[{i}]";
            if (ports[i] is not JsonObject p)
            {
                errors.Add(ServiceFieldError.Invalid(path, ports[i], "must be an object"));
                continue;
            }
            var name = Str(p["name"]) ?? "";
            if (ports.Count > 1 && name.Length == 0)
                errors.Add(ServiceFieldError.Required($"{path}.name"));
            else if (name.Length > 0)
            {
                if (!Dns1123Label().IsMatch(name) || name.Length > 63)
                    errors.Add(ServiceFieldError.Invalid($"{path}.name", name, "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"));
                else if (!names.Add(name))
                    errors.Add(ServiceFieldError.Duplicate($"{path}.name", $"\"{name}\""));
            }
            var protocol = Str(p["protocol"]) ?? "TCP";
            if (!Protocols.Contains(protocol))
                errors.Add(ServiceFieldError.Unsupported($"{path}.protocol", protocol, Protocols));

            var portOk = TryInt(p["port"], out var port);
            if (p["port"] is null)
                errors.Add(ServiceFieldError.Required($"{path}.port"));
            else if (!portOk || port is < 1 or > 65535)
                errors.Add(ServiceFieldError.Invalid($"{path}.port", p["port"], PortRangeMsg));
            else if (!portProtocols.Add($"{port}/{protocol}"))
                errors.Add(ServiceFieldError.Duplicate(path, $"\"{port}/{protocol}\""));

            ValidateTargetPort(p["targetPort"], $"{path}.targetPort", errors);

            if (p["nodePort"] is JsonNode np)
            {
                if (!TryInt(np, out var nodePort))
                    errors.Add(ServiceFieldError.Invalid($"{path}.nodePort", np, PortRangeMsg));
                else if (nodePort != 0)
                {
                    if (type is not ("NodePort" or "LoadBalancer"))
                        errors.Add(ServiceFieldError.Forbidden($"{path}.nodePort", $"may not be used when `type` is '{type}'"));
                    else if (settings is not null && (nodePort < settings.NodePortMin || nodePort > settings.NodePortMax))
                        errors.Add(ServiceFieldError.Invalid($"{path}.nodePort", np,
                            $"provided port is not in the valid range. The range of valid ports is {settings.NodePortRange}"));
                    else if (!nodePorts.Add($"{nodePort}/{protocol}"))
                        errors.Add(ServiceFieldError.Duplicate($"{path}.nodePort", nodePort.ToString(System.Globalization.CultureInfo.InvariantCulture)));
                }
            }
        }
    }

    private static void ValidateTargetPort(JsonNode? target, string field, List<ServiceFieldError> errors)
    {
        if (target is null) return;
        if (target is JsonValue v && v.TryGetValue<string>(out var s))
        {
            if (int.TryParse(s, out var n))
            {
                if (n is < 1 or > 65535) errors.Add(ServiceFieldError.Invalid(field, target, PortRangeMsg));
            }
            else if (s.Length > 15)
                errors.Add(ServiceFieldError.Invalid(field, target, "must be no more than 15 characters"));
            else if (!IanaSvcName().IsMatch(s) || s.Contains("--", StringComparison.Ordinal))
                errors.Add(ServiceFieldError.Invalid(field, target, "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)"));
            else if (!s.Any(char.IsAsciiLetter))
                errors.Add(ServiceFieldError.Invalid(field, target, "must contain at least one letter (a-z)"));
            return;
        }
        if (!TryInt(target, out var port) || port is < 1 or > 65535)
            errors.Add(ServiceFieldError.Invalid(field, target, PortRangeMsg));
    }

    private static void ValidateSelector(JsonObject spec, List<ServiceFieldError> errors)
    {
        if (spec["selector"] is null) return;
        if (spec["selector"] is not JsonObject selector)
        {
            errors.Add(ServiceFieldError.Invalid("spec.selector", spec["selector"], "must be a map of label keys to values"));
            return;
        }
        foreach (var (key, value) in selector)
        {
            var name = key.Contains('/') ? key[(key.LastIndexOf('/') + 1)..] : key;
            var prefix = key.Contains('/') ? key[..key.LastIndexOf('/')] : null;
            if (name.Length is 0 or > 63 || !QualifiedName().IsMatch(name)
                || (prefix is not null && (prefix.Length is 0 or > 253 || !prefix.Split('.').All(l => Dns1123Label().IsMatch(l)))))
                errors.Add(ServiceFieldError.Invalid("spec.selector", key, LabelKeyMsg));
            var text = Str(value);
            if (text is null || text.Length > 63 || (text.Length > 0 && !QualifiedName().IsMatch(text)))
                errors.Add(ServiceFieldError.Invalid("spec.selector", value, LabelValueMsg));
        }
    }

    internal static string? Str(JsonNode? node) => node is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    internal static bool TryInt(JsonNode? node, out int value)
    {
        value = 0;
        if (node is not JsonValue v) return false;
        if (v.TryGetValue<int>(out value)) return true;
        if (v.TryGetValue<long>(out var l) && l is >= int.MinValue and <= int.MaxValue) { value = (int)l; return true; }
        if (v.TryGetValue<double>(out var d) && d == Math.Floor(d) && d is >= int.MinValue and <= int.MaxValue) { value = (int)d; return true; }
        return false;
    }
}
