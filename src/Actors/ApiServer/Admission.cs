using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using AkkaKube.Actors.Client;
using k8s;
using k8s.Models;

namespace AkkaKube.Actors.ApiServer;

/// <summary>
/// Defaulting, validation and field validation for the supported kinds, as Kubernetes does it for
/// the fields AkkaKube supports. Pure functions over JSON; the pipeline calls them before the store.
/// </summary>
public static partial class Admission
{
    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")]
    private static partial Regex Dns1123LabelRegex();

    [GeneratedRegex(@"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")]
    private static partial Regex Dns1123SubdomainRegex();

    [GeneratedRegex("^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")]
    private static partial Regex QualifiedNameRegex();

    [GeneratedRegex(@"^[-._a-zA-Z0-9]+$")]
    private static partial Regex ConfigMapKeyRegex();

    public static bool IsDns1123Label(string s) => s.Length <= 63 && Dns1123LabelRegex().IsMatch(s);
    public static bool IsDns1123Subdomain(string s) => s.Length <= 253 && Dns1123SubdomainRegex().IsMatch(s);

    private const string LabelMsg = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
    private const string SubdomainMsg = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

    // ---------------- typed decoding and unknown fields ----------------

    private static readonly Dictionary<string, Type> Typed = new()
    {
        ["Namespace"] = typeof(V1Namespace), ["Node"] = typeof(V1Node), ["Pod"] = typeof(V1Pod),
        ["Service"] = typeof(V1Service), ["Endpoints"] = typeof(V1Endpoints), ["ConfigMap"] = typeof(V1ConfigMap),
        ["Secret"] = typeof(V1Secret), ["Event"] = typeof(Corev1Event), ["Lease"] = typeof(V1Lease),
        ["Deployment"] = typeof(V1Deployment), ["ReplicaSet"] = typeof(V1ReplicaSet),
        ["EndpointSlice"] = typeof(V1EndpointSlice), ["PodDisruptionBudget"] = typeof(V1PodDisruptionBudget),
        ["Scale"] = typeof(V1Scale), ["Binding"] = typeof(V1Binding), ["Eviction"] = typeof(V1Eviction),
        ["DeleteOptions"] = typeof(V1DeleteOptions),
    };

    /// <summary>
    /// Decodes the object with the kind's typed model (a wrong JSON type is 400 BadRequest, as the
    /// Go decoder does) and returns the paths of fields the model does not know.
    /// </summary>
    public static List<string> UnknownFields(string kind, JsonObject obj)
    {
        if (!Typed.TryGetValue(kind, out var type)) return [];
        string roundTrip;
        try
        {
            var typed = DeserializeTyped(obj, type);
            roundTrip = KubernetesJson.Serialize(typed);
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or FormatException or InvalidOperationException or OverflowException or ArgumentException or NotSupportedException)
        {
            throw ApiException.BadRequest($"error decoding {kind}: {FirstLine(e.Message)}");
        }
        var unknown = new List<string>();
        Compare(obj, JsonNode.Parse(roundTrip), "", unknown);
        return unknown;
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<Type, System.Reflection.MethodInfo> Deserializers = new();

    /// <summary>KubernetesJson.Deserialize&lt;T&gt; (its converters for IntOrString, Quantity, timestamps) for a runtime type.</summary>
    private static object? DeserializeTyped(JsonObject obj, Type type)
    {
        var method = Deserializers.GetOrAdd(type, t => typeof(KubernetesJson).GetMethods()
            .First(m => m.Name == nameof(KubernetesJson.Deserialize) && m.IsGenericMethodDefinition &&
                        m.GetParameters() is [{ ParameterType: var p0 }, _] && p0 == typeof(string))
            .MakeGenericMethod(t));
        try
        {
            return method.Invoke(null, [obj.ToJsonString(), null]);
        }
        catch (System.Reflection.TargetInvocationException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
            throw;
        }
    }

    private static string FirstLine(string s) => s.Split('\n')[0];

    private static void Compare(JsonNode? input, JsonNode? known, string path, List<string> unknown)
    {
        switch (input)
        {
            case JsonObject io:
                if (known is not JsonObject ko) return;
                foreach (var (key, value) in io)
                {
                    if (value is null) continue;
                    var p = path.Length == 0 ? key : $"{path}.{key}";
                    if (!ko.TryGetPropertyValue(key, out var kv)) unknown.Add(p);
                    else Compare(value, kv, p, unknown);
                }
                break;
            case JsonArray ia when known is JsonArray ka && ka.Count == ia.Count:
                for (var i = 0; i < ia.Count; i++) Compare(ia[i], ka[i], $"{path}[{i}]", unknown);
                break;
        }
    }

    /// <summary>Removes the given unknown field paths (as returned by <see cref="UnknownFields"/>).</summary>
    public static void Prune(JsonObject obj, IEnumerable<string> paths)
    {
        foreach (var path in paths)
        {
            JsonNode? cur = obj;
            var segments = Regex.Split(path, @"\.|(?=\[)");
            for (var i = 0; i < segments.Length && cur is not null; i++)
            {
                var seg = segments[i];
                var last = i == segments.Length - 1;
                if (seg.StartsWith('['))
                {
                    var idx = int.Parse(seg.Trim('[', ']'), System.Globalization.CultureInfo.InvariantCulture);
                    cur = cur is JsonArray a && idx < a.Count ? a[idx] : null;
                }
                else if (cur is JsonObject o)
                {
                    if (last) o.Remove(seg);
                    else cur = o[seg];
                }
            }
        }
    }

    // ---------------- defaulting ----------------

    public static void Default(ApiResource r, JsonObject obj)
    {
        var spec = obj["spec"] as JsonObject;
        switch (r.Kind)
        {
            case "Namespace":
            {
                var meta = Obj(obj, "metadata");
                var labels = Obj(meta, "labels");
                if (meta["name"] is JsonValue n) labels["kubernetes.io/metadata.name"] = n.GetValue<string>();
                var s = Obj(obj, "spec");
                s["finalizers"] ??= new JsonArray("kubernetes");
                var st = Obj(obj, "status");
                st["phase"] ??= "Active";
                break;
            }
            case "Pod":
                if (spec is not null) DefaultPodSpec(spec);
                Obj(obj, "status")["phase"] ??= "Pending";
                Obj(obj, "status")["qosClass"] ??= "BestEffort";
                break;
            case "Deployment":
                if (spec is null) break;
                spec["replicas"] ??= 1;
                spec["revisionHistoryLimit"] ??= 10;
                spec["progressDeadlineSeconds"] ??= 600;
                var strategy = Obj(spec, "strategy");
                strategy["type"] ??= "RollingUpdate";
                if (strategy["type"]?.GetValue<string>() == "RollingUpdate")
                {
                    var ru = Obj(strategy, "rollingUpdate");
                    ru["maxUnavailable"] ??= "25%";
                    ru["maxSurge"] ??= "25%";
                }
                if (spec["template"]?["spec"] is JsonObject dps) DefaultPodSpec(dps);
                break;
            case "ReplicaSet":
                if (spec is null) break;
                spec["replicas"] ??= 1;
                if (spec["template"]?["spec"] is JsonObject rps) DefaultPodSpec(rps);
                break;
            case "Service":
                if (spec is null) break;
                spec["type"] ??= "ClusterIP";
                spec["sessionAffinity"] ??= "None";
                spec["internalTrafficPolicy"] ??= "Cluster";
                if (spec["ports"] is JsonArray ports)
                    foreach (var p in ports.OfType<JsonObject>())
                    {
                        p["protocol"] ??= "TCP";
                        if (p["targetPort"] is null && p["port"] is not null) p["targetPort"] = p["port"]!.DeepClone();
                    }
                break;
            case "Secret":
                obj["type"] ??= "Opaque";
                if (obj["stringData"] is JsonObject sd)
                {
                    var data = Obj(obj, "data");
                    foreach (var (k, v) in sd)
                        data[k] = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(v is JsonValue sv && sv.TryGetValue<string>(out var str) ? str : v?.ToJsonString() ?? ""));
                    obj.Remove("stringData");
                }
                break;
            case "PodDisruptionBudget":
                break;
        }
    }

    /// <summary>
    /// DefaultTolerationSeconds admission: a new pod tolerates the not-ready and unreachable NoExecute
    /// taints for a bounded time unless it already says how long, so pods leave a dead node on their own.
    /// </summary>
    public static void AddDefaultTolerations(JsonObject pod, long seconds)
    {
        var spec = Obj(pod, "spec");
        var tolerations = spec["tolerations"] as JsonArray ?? new JsonArray();
        foreach (var key in new[] { "node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable" })
        {
            var covered = tolerations.OfType<JsonObject>().Any(t =>
                (Str(t["effect"]) is "" or "NoExecute") &&
                (Str(t["key"]) == key || (Str(t["key"]) == "" && Str(t["operator"]) == "Exists")));
            if (!covered)
                tolerations.Add(new JsonObject { ["key"] = key, ["operator"] = "Exists", ["effect"] = "NoExecute", ["tolerationSeconds"] = seconds });
        }
        spec["tolerations"] = tolerations;
    }

    private static void DefaultPodSpec(JsonObject spec)
    {
        spec["restartPolicy"] ??= "Always";
        spec["terminationGracePeriodSeconds"] ??= 30;
        spec["dnsPolicy"] ??= "ClusterFirst";
        spec["schedulerName"] ??= "default-scheduler";
        spec["securityContext"] ??= new JsonObject();
        spec["enableServiceLinks"] ??= true;
        foreach (var list in new[] { "containers", "initContainers" })
            if (spec[list] is JsonArray containers)
                foreach (var c in containers.OfType<JsonObject>())
                {
                    var image = c["image"] is JsonValue iv && iv.TryGetValue<string>(out var s) ? s : "";
                    var lastSegment = image.Split('/')[^1];
                    var tagged = lastSegment.Contains(':') && !lastSegment.EndsWith(":latest", StringComparison.Ordinal);
                    c["imagePullPolicy"] ??= tagged || image.Contains('@') ? "IfNotPresent" : "Always";
                    c["terminationMessagePath"] ??= "/dev/termination-log";
                    c["terminationMessagePolicy"] ??= "File";
                    c["resources"] ??= new JsonObject();
                    if (c["ports"] is JsonArray ports)
                        foreach (var p in ports.OfType<JsonObject>()) p["protocol"] ??= "TCP";
                }
    }

    internal static JsonObject Obj(JsonObject parent, string key)
    {
        if (parent[key] is JsonObject o) return o;
        var created = new JsonObject();
        parent[key] = created;
        return created;
    }

    // ---------------- validation ----------------

    public static List<StatusCause> Validate(ApiResource r, JsonObject obj, JsonObject? old)
    {
        var causes = new List<StatusCause>();
        var meta = obj["metadata"] as JsonObject ?? new JsonObject();
        var name = Str(meta["name"]);
        if (string.IsNullOrEmpty(name))
            causes.Add(Required("metadata.name", "name or generateName is required"));
        else if (r.Kind is "Namespace" or "Service" ? !IsDns1123Label(name) : !IsDns1123Subdomain(name))
            causes.Add(InvalidValue("metadata.name", name, r.Kind is "Namespace" or "Service" ? LabelMsg : SubdomainMsg));
        ValidateLabels(meta["labels"] as JsonObject, "metadata.labels", causes);
        var spec = obj["spec"] as JsonObject;

        switch (r.Kind)
        {
            case "Pod":
                ValidatePodSpec(spec, "spec", causes);
                break;
            case "Deployment":
            case "ReplicaSet":
                ValidateWorkload(spec, causes);
                break;
            case "Service":
                ValidateService(spec, causes);
                break;
            case "ConfigMap":
            case "Secret":
                foreach (var field in new[] { "data", "binaryData" })
                    if (obj[field] is JsonObject data)
                        foreach (var (k, _) in data)
                            if (k.Length > 253 || !ConfigMapKeyRegex().IsMatch(k))
                                causes.Add(InvalidValue($"{field}[{k}]", k, "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"));
                if (r.Kind == "Secret" && obj["data"] is JsonObject sdata)
                    foreach (var (k, v) in sdata)
                        if (!IsBase64(Str(v)))
                            causes.Add(InvalidValue($"data[{k}]", "<secret>", "must be base64-encoded"));
                break;
            case "Lease":
                if (spec?["leaseDurationSeconds"] is JsonValue ld && ld.TryGetValue<int>(out var d) && d <= 0)
                    causes.Add(InvalidValue("spec.leaseDurationSeconds", d.ToString(System.Globalization.CultureInfo.InvariantCulture), "must be greater than 0"));
                break;
        }

        if (old is not null) ValidateUpdate(r, obj, old, causes);
        return causes;
    }

    private static bool IsBase64(string s)
    {
        Span<byte> buffer = new byte[s.Length];
        return Convert.TryFromBase64String(s, buffer, out _);
    }

    private static void ValidateLabels(JsonObject? labels, string field, List<StatusCause> causes)
    {
        if (labels is null) return;
        foreach (var (k, v) in labels)
        {
            var slash = k.IndexOf('/');
            var prefix = slash >= 0 ? k[..slash] : null;
            var nm = slash >= 0 ? k[(slash + 1)..] : k;
            if ((prefix is not null && !IsDns1123Subdomain(prefix)) || nm.Length is 0 or > 63 || !QualifiedNameRegex().IsMatch(nm))
                causes.Add(InvalidValue(field, k, "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"));
            var value = v is JsonValue jv && jv.TryGetValue<string>(out var s) ? s : null;
            if (value is null || (value.Length > 0 && (value.Length > 63 || !QualifiedNameRegex().IsMatch(value))))
                causes.Add(InvalidValue(field, value ?? v?.ToJsonString() ?? "null", "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"));
        }
    }

    private static void ValidatePodSpec(JsonObject? spec, string field, List<StatusCause> causes)
    {
        if (spec?["containers"] is not JsonArray containers || containers.Count == 0)
        {
            causes.Add(Required($"{field}.containers", "Required value"));
            return;
        }
        var names = new HashSet<string>();
        for (var i = 0; i < containers.Count; i++)
        {
            var c = containers[i] as JsonObject ?? new JsonObject();
            var cname = Str(c["name"]);
            var path = $"{field}.containers[{i}]";
            if (cname.Length == 0) causes.Add(Required($"{path}.name", "Required value"));
            else if (!IsDns1123Label(cname)) causes.Add(InvalidValue($"{path}.name", cname, LabelMsg));
            else if (!names.Add(cname)) causes.Add(new StatusCause("FieldValueDuplicate", $"Duplicate value: \"{cname}\"", $"{path}.name"));
            if (Str(c["image"]).Trim().Length == 0) causes.Add(Required($"{path}.image", "Required value"));
            if (c["ports"] is JsonArray ports)
                for (var j = 0; j < ports.Count; j++)
                {
                    var cp = ports[j]?["containerPort"];
                    if (cp is not JsonValue cpv || !cpv.TryGetValue<int>(out var port) || port is < 1 or > 65535)
                        causes.Add(new StatusCause("FieldValueInvalid", "Invalid value: must be between 1 and 65535, inclusive", $"{path}.ports[{j}].containerPort"));
                }
        }
        var rp = Str(spec["restartPolicy"]);
        if (rp.Length > 0 && rp is not ("Always" or "OnFailure" or "Never"))
            causes.Add(new StatusCause("FieldValueNotSupported", $"Unsupported value: \"{rp}\": supported values: \"Always\", \"OnFailure\", \"Never\"", $"{field}.restartPolicy"));
    }

    private static void ValidateWorkload(JsonObject? spec, List<StatusCause> causes)
    {
        if (spec is null)
        {
            causes.Add(Required("spec.selector", "Required value"));
            causes.Add(Required("spec.template.spec.containers", "Required value"));
            return;
        }
        if (spec["replicas"] is JsonValue rv && rv.TryGetValue<int>(out var replicas) && replicas < 0)
            causes.Add(InvalidValue("spec.replicas", replicas.ToString(System.Globalization.CultureInfo.InvariantCulture), "must be greater than or equal to 0"));
        var selector = spec["selector"] as JsonObject;
        var templateLabels = spec["template"]?["metadata"]?["labels"] as JsonObject;
        if (selector is null || (selector["matchLabels"] is not JsonObject { Count: > 0 } && selector["matchExpressions"] is not JsonArray { Count: > 0 }))
            causes.Add(Required("spec.selector", "Required value"));
        else if (!Selectors.MatchesLabelSelector(selector, templateLabels))
            causes.Add(InvalidValue("spec.template.metadata.labels", FormatMap(templateLabels), "`selector` does not match template `labels`"));
        ValidatePodSpec(spec["template"]?["spec"] as JsonObject, "spec.template.spec", causes);
    }

    private static void ValidateService(JsonObject? spec, List<StatusCause> causes)
    {
        var type = Str(spec?["type"]);
        if (type.Length > 0 && type is not ("ClusterIP" or "NodePort" or "LoadBalancer" or "ExternalName"))
            causes.Add(new StatusCause("FieldValueNotSupported", $"Unsupported value: \"{type}\": supported values: \"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\"", "spec.type"));
        var headless = Str(spec?["clusterIP"]) == "None";
        if (type != "ExternalName" && !headless && spec?["ports"] is not JsonArray { Count: > 0 })
            causes.Add(Required("spec.ports", "Required value"));
        if (spec?["ports"] is JsonArray ports)
            for (var i = 0; i < ports.Count; i++)
            {
                var p = ports[i]?["port"];
                if (p is not JsonValue pv || !pv.TryGetValue<int>(out var port) || port is < 1 or > 65535)
                    causes.Add(new StatusCause("FieldValueInvalid", "Invalid value: must be between 1 and 65535, inclusive", $"spec.ports[{i}].port"));
                if (ports.Count > 1 && Str(ports[i]?["name"]).Length == 0)
                    causes.Add(Required($"spec.ports[{i}].name", "Required value"));
            }
    }

    private static void ValidateUpdate(ApiResource r, JsonObject obj, JsonObject old, List<StatusCause> causes)
    {
        switch (r.Kind)
        {
            case "Pod":
            {
                var a = Normalize(old["spec"]?.DeepClone() as JsonObject);
                var b = Normalize(obj["spec"]?.DeepClone() as JsonObject);
                if (!JsonNode.DeepEquals(a, b))
                    causes.Add(new StatusCause("FieldValueForbidden",
                        "Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
                        "spec"));
                break;
            }
            case "Deployment":
            case "ReplicaSet":
                if (old["spec"]?["selector"] is { } os && !JsonNode.DeepEquals(os, obj["spec"]?["selector"]))
                    causes.Add(InvalidValue("spec.selector", obj["spec"]?["selector"]?.ToJsonString() ?? "null", "field is immutable"));
                break;
            case "Service":
            {
                var oldIp = Str(old["spec"]?["clusterIP"]);
                var newIp = Str(obj["spec"]?["clusterIP"]);
                if (oldIp.Length > 0 && newIp.Length > 0 && oldIp != newIp)
                    causes.Add(InvalidValue("spec.clusterIP", newIp, "field is immutable"));
                break;
            }
            case "ConfigMap":
            case "Secret":
                if (old["immutable"] is JsonValue im && im.TryGetValue<bool>(out var immutable) && immutable &&
                    (!JsonNode.DeepEquals(old["data"], obj["data"]) || !JsonNode.DeepEquals(old["binaryData"], obj["binaryData"])))
                    causes.Add(new StatusCause("FieldValueForbidden", "Forbidden: field is immutable when `immutable` is set", "data"));
                break;
        }
    }

    /// <summary>A pod spec without the fields an update may change (images, activeDeadlineSeconds, tolerations, nodeName set once).</summary>
    private static JsonObject? Normalize(JsonObject? spec)
    {
        if (spec is null) return null;
        foreach (var list in new[] { "containers", "initContainers" })
            if (spec[list] is JsonArray cs)
                foreach (var c in cs.OfType<JsonObject>()) c.Remove("image");
        spec.Remove("activeDeadlineSeconds");
        spec.Remove("tolerations");
        spec.Remove("schedulingGates");
        return spec;
    }

    private static string FormatMap(JsonObject? map) =>
        map is null ? "map[string]string(nil)" :
        "map[string]string{" + string.Join(", ", map.Select(kv => $"\"{kv.Key}\":{kv.Value?.ToJsonString()}")) + "}";

    internal static string Str(JsonNode? n) => n is JsonValue v && v.TryGetValue<string>(out var s) ? s : "";

    private static StatusCause Required(string field, string message) => new("FieldValueRequired", message, field);

    private static StatusCause InvalidValue(string field, string value, string message) =>
        new("FieldValueInvalid", $"Invalid value: \"{value}\": {message}", field);
}
