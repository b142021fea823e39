using System.Text.Json.Nodes;
using AkkaKube.Actors.Machinery;
using k8s.Models;
using static AkkaKube.Actors.ApiServer.Registry.Validation;

namespace AkkaKube.Actors.ApiServer.Registry.Core;

/// <summary>serviceaccounts (core/v1): printed with their secret count (tokens follow with authentication).</summary>
public sealed class ServiceAccountStrategy : ResourceStrategy
{
    public override Type Model => typeof(V1ServiceAccount);

    public override IReadOnlyDictionary<string, ISubresourceHook> Hooks { get; } = new Dictionary<string, ISubresourceHook> { ["token"] = new TokenRequestHook() };

    /// <summary>TokenRequest (authentication/v1): `kubectl create token` sends it as protobuf.</summary>
    public override IReadOnlyDictionary<string, Dictionary<int, Protobuf.F>> ProtobufMessages { get; } = new Dictionary<string, Dictionary<int, Protobuf.F>>
    {
        // `kubectl create serviceaccount` sends the ServiceAccount itself as protobuf (core/v1 numbering)
        ["ServiceAccount"] = Protobuf.M(new Protobuf.F(1, "metadata", Protobuf.T.Msg, Msg: "ObjectMeta"), new(2, "secrets", Protobuf.T.Msg, Repeated: true, Msg: "ObjectReference"),
            new(3, "imagePullSecrets", Protobuf.T.Msg, Repeated: true, Msg: "LocalObjectReference"), new(4, "automountServiceAccountToken", Protobuf.T.Bool, KeepZero: true)),
        ["ObjectReference"] = Protobuf.M(new Protobuf.F(1, "kind", Protobuf.T.Str), new(2, "namespace", Protobuf.T.Str), new(3, "name", Protobuf.T.Str),
            new(4, "uid", Protobuf.T.Str), new(5, "apiVersion", Protobuf.T.Str), new(6, "resourceVersion", Protobuf.T.Str), new(7, "fieldPath", Protobuf.T.Str)),
        ["LocalObjectReference"] = Protobuf.M(new Protobuf.F(1, "name", Protobuf.T.Str)),
        ["TokenRequest"] = Protobuf.M(new Protobuf.F(1, "metadata", Protobuf.T.Msg, Msg: "ObjectMeta"), new(2, "spec", Protobuf.T.Msg, Msg: "TokenRequestSpec"), new(3, "status", Protobuf.T.Msg, Msg: "TokenRequestStatus")),
        ["TokenRequestSpec"] = Protobuf.M(new Protobuf.F(1, "audiences", Protobuf.T.Str, Repeated: true), new(4, "expirationSeconds", Protobuf.T.Int64), new(3, "boundObjectRef", Protobuf.T.Msg, Msg: "BoundObjectReference")),
        ["BoundObjectReference"] = Protobuf.M(new Protobuf.F(1, "kind", Protobuf.T.Str), new(2, "apiVersion", Protobuf.T.Str), new(3, "name", Protobuf.T.Str), new(4, "uid", Protobuf.T.Str)),
        ["TokenRequestStatus"] = Protobuf.M(new Protobuf.F(1, "token", Protobuf.T.Str), new(2, "expirationTimestamp", Protobuf.T.Time)),
    };

    public override IReadOnlyList<TableColumn> Columns { get; } =
        [TableColumn.NameColumn, TableColumn.Of("Secrets", o => Cells.Count(o["secrets"]), type: "integer"), TableColumn.AgeColumn];
}

/// <summary>resourcequotas (core/v1): hard limits; `kubectl get quota` prints used/hard requests and limits.</summary>
public sealed class ResourceQuotaStrategy : ResourceStrategy
{
    public override Type Model => typeof(V1ResourceQuota);

    /// <summary>`kubectl create quota` sends protobuf (k8s.io/api core/v1 numbering).</summary>
    public override IReadOnlyDictionary<string, Dictionary<int, Protobuf.F>> ProtobufMessages { get; } = new Dictionary<string, Dictionary<int, Protobuf.F>>
    {
        ["ResourceQuota"] = Protobuf.M(new Protobuf.F(1, "metadata", Protobuf.T.Msg, Msg: "ObjectMeta"), new(2, "spec", Protobuf.T.Msg, Msg: "ResourceQuotaSpec")),
        ["ResourceQuotaSpec"] = Protobuf.M(new Protobuf.F(1, "hard", Protobuf.T.MapMsg, Msg: "Quantity"), new(2, "scopes", Protobuf.T.Str, Repeated: true),
            new(3, "scopeSelector", Protobuf.T.Msg, Msg: "ScopeSelector")),
        ["ScopeSelector"] = Protobuf.M(new Protobuf.F(1, "matchExpressions", Protobuf.T.Msg, Repeated: true, Msg: "ScopedResourceSelectorRequirement")),
        ["ScopedResourceSelectorRequirement"] = Protobuf.M(new Protobuf.F(1, "scopeName", Protobuf.T.Str), new(2, "operator", Protobuf.T.Str), new(3, "values", Protobuf.T.Str, Repeated: true)),
    };

    public override IEnumerable<StatusCause> Validate(JsonObject obj)
    {
        if (obj["spec"]?["hard"] is JsonObject hard)
            foreach (var (k, v) in hard)
                if (v is null || Cells.Plain(v).Length == 0)
                    yield return Required($"spec.hard[{k}]");
                else if (Cells.Plain(v).StartsWith('-'))
                    yield return Invalid($"spec.hard[{k}]", Cells.Plain(v), "must be greater than or equal to 0");
    }

    public override IReadOnlyList<TableColumn> Columns { get; } =
    [
        TableColumn.NameColumn,
        TableColumn.AgeColumn,
        TableColumn.Of("Request", o => Usage(o, limits: false)),
        TableColumn.Of("Limit", o => Usage(o, limits: true)),
    ];

    private static string Usage(JsonObject o, bool limits)
    {
        if (o["spec"]?["hard"] is not JsonObject hard) return "";
        var used = o["status"]?["used"] as JsonObject;
        return string.Join(", ", hard.Where(kv => kv.Key.StartsWith("limits.", StringComparison.Ordinal) == limits)
            .OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => $"{kv.Key}: {(used?[kv.Key] is { } u ? Cells.Plain(u) : "0")}/{Cells.Plain(kv.Value!)}"));
    }
}

/// <summary>limitranges (core/v1): item types Pod, Container or PersistentVolumeClaim.</summary>
public sealed class LimitRangeStrategy : ResourceStrategy
{
    public override Type Model => typeof(V1LimitRange);

    /// <summary>
    /// Kubernetes' SetDefaults_LimitRangeItem for Container items: default (limit) from max, defaultRequest from
    /// default, then from min, resource by resource.
    /// </summary>
    public override void Default(JsonObject obj)
    {
        foreach (var item in (obj["spec"]?["limits"] as JsonArray)?.OfType<JsonObject>() ?? [])
        {
            if (Meta.Str(item["type"]) != "Container") continue;
            var defaults = Meta.Obj(item, "default");
            var requests = Meta.Obj(item, "defaultRequest");
            foreach (var (k, v) in item["max"] as JsonObject ?? []) if (!defaults.ContainsKey(k)) defaults[k] = v?.DeepClone();
            foreach (var (k, v) in defaults) if (!requests.ContainsKey(k)) requests[k] = v?.DeepClone();
            foreach (var (k, v) in item["min"] as JsonObject ?? []) if (!requests.ContainsKey(k)) requests[k] = v?.DeepClone();
            if (defaults.Count == 0) item.Remove("default");
            if (requests.Count == 0) item.Remove("defaultRequest");
        }
    }

    public override IEnumerable<StatusCause> Validate(JsonObject obj)
    {
        if (obj["spec"]?["limits"] is not JsonArray limits)
        {
            yield return Required("spec.limits");
            yield break;
        }
        for (var i = 0; i < limits.Count; i++)
        {
            var type = Meta.Str(limits[i]?["type"]);
            if (type.Length == 0) yield return Required($"spec.limits[{i}].type");
            else if (type is not ("Pod" or "Container" or "PersistentVolumeClaim"))
                yield return NotSupported($"spec.limits[{i}].type", type, "Container", "Pod", "PersistentVolumeClaim");
        }
    }

    public override IReadOnlyList<TableColumn> Columns { get; } =
        [TableColumn.NameColumn, TableColumn.Of("Created At", o => Cells.S(o["metadata"]?["creationTimestamp"]), type: "date")];
}

/// <summary>persistentvolumeclaims (core/v1): Filesystem mode, phase Pending; access modes and a storage request are required.</summary>
public sealed class PersistentVolumeClaimStrategy : ResourceStrategy
{
    public override Type Model => typeof(V1PersistentVolumeClaim);

    public override void Default(JsonObject obj)
    {
        if (obj["spec"] is JsonObject spec) spec["volumeMode"] ??= "Filesystem";
        Meta.Obj(obj, "status")["phase"] ??= "Pending";
    }

    public override IEnumerable<StatusCause> Validate(JsonObject obj)
    {
        var spec = obj["spec"] as JsonObject;
        foreach (var c in PersistentVolumeStrategy.AccessModes(spec, "spec")) yield return c;
        if (spec?["resources"]?["requests"]?["storage"] is null) yield return Required("spec.resources[storage]");
    }

    /// <summary>
    /// Kubernetes' claim update rules: the spec is fixed once created, except that binding sets volumeName (and a claim
    /// without a class may get the default one), volumeAttributesClassName may change, and resources.requests may
    /// grow only where the class supports expansion — none of AkkaKube's provisioners does (a directory on the node).
    /// </summary>
    public override IEnumerable<StatusCause> ValidateUpdate(JsonObject obj, JsonObject old)
    {
        var spec = obj["spec"] as JsonObject ?? [];
        var before = old["spec"] as JsonObject ?? [];
        var oldStorage = ResourceQuantity(before["resources"]?["requests"]?["storage"]);
        var newStorage = ResourceQuantity(spec["resources"]?["requests"]?["storage"]);
        if (!JsonNode.DeepEquals(before["resources"], spec["resources"]))
        {
            if (newStorage is { } n && oldStorage is { } o && n < o)
                yield return Forbidden("spec.resources.requests.storage", "field can not be less than previous value");
            else
                yield return Forbidden("spec.resources.requests.storage",
                    "only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize");
        }
        var comparable = before.DeepClone().AsObject();
        if (string.IsNullOrEmpty(Meta.Str(before["volumeName"]))) comparable["volumeName"] = spec["volumeName"]?.DeepClone();
        if (before["storageClassName"] is null) comparable["storageClassName"] = spec["storageClassName"]?.DeepClone();
        comparable["volumeAttributesClassName"] = spec["volumeAttributesClassName"]?.DeepClone();
        comparable["resources"] = spec["resources"]?.DeepClone();
        var next = spec.DeepClone().AsObject();
        foreach (var o in new[] { comparable, next })
            foreach (var (k, v) in o.ToList())
                if (v is null) o.Remove(k);
        if (!JsonNode.DeepEquals(comparable, next))
            yield return Forbidden("spec", "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims");
    }

    private static decimal? ResourceQuantity(JsonNode? n)
    {
        if (n is not JsonValue v || !v.TryGetValue<string>(out var text)) return null;
        try
        {
            return new k8s.Models.ResourceQuantity(text).ToDecimal();
        }
        catch (Exception e) when (e is FormatException or ArgumentException or OverflowException)
        {
            return null;
        }
    }

    public override IReadOnlyList<TableColumn> Columns { get; } =
    [
        TableColumn.NameColumn,
        TableColumn.Of("Status", o => Cells.S(o["status"]?["phase"])),
        TableColumn.Of("Volume", o => Cells.S(o["spec"]?["volumeName"])),
        TableColumn.Of("Capacity", o => o["status"]?["capacity"]?["storage"] is { } s ? Cells.Plain(s) : ""),
        TableColumn.Of("Access Modes", o => PersistentVolumeStrategy.ModesText(o["status"]?["accessModes"])),
        TableColumn.Of("StorageClass", o => Cells.S(o["spec"]?["storageClassName"])),
        TableColumn.Of("VolumeAttributesClass", o => Cells.Or(Cells.S(o["spec"]?["volumeAttributesClassName"]), "<unset>")),
        TableColumn.AgeColumn,
        TableColumn.Of("VolumeMode", o => Cells.S(o["spec"]?["volumeMode"]), 1),
    ];
}

/// <summary>persistentvolumes (core/v1): Retain, Filesystem, phase Pending; capacity, access modes and one volume source required.</summary>
public sealed class PersistentVolumeStrategy : ResourceStrategy
{
    public override Type Model => typeof(V1PersistentVolume);

    private static readonly string[] Sources =
    [
        "hostPath", "local", "nfs", "csi", "iscsi", "fc", "rbd", "cephfs", "cinder", "glusterfs", "flexVolume", "flocker",
        "azureFile", "azureDisk", "awsElasticBlockStore", "gcePersistentDisk", "vsphereVolume", "quobyte", "portworxVolume", "scaleIO", "storageos", "photonPersistentDisk",
    ];

    public override void Default(JsonObject obj)
    {
        if (obj["spec"] is JsonObject spec)
        {
            spec["persistentVolumeReclaimPolicy"] ??= "Retain";
            spec["volumeMode"] ??= "Filesystem";
        }
        Meta.Obj(obj, "status")["phase"] ??= "Pending";
    }

    public override IEnumerable<StatusCause> Validate(JsonObject obj)
    {
        var spec = obj["spec"] as JsonObject;
        foreach (var c in AccessModes(spec, "spec")) yield return c;
        if (spec?["capacity"]?["storage"] is null) yield return Required("spec.capacity", "Required value: must specify a capacity");
        var sources = Sources.Count(s => spec?[s] is JsonObject);
        if (sources == 0) yield return Required("spec", "Required value: must specify a volume type");
        else if (sources > 1) yield return Forbidden("spec", "may not specify more than 1 volume type");
        var policy = Meta.Str(spec?["persistentVolumeReclaimPolicy"]);
        if (policy.Length > 0 && policy is not ("Retain" or "Delete" or "Recycle"))
            yield return NotSupported("spec.persistentVolumeReclaimPolicy", policy, "Delete", "Recycle", "Retain");
    }

    internal static IEnumerable<StatusCause> AccessModes(JsonObject? spec, string field)
    {
        if (spec?["accessModes"] is not JsonArray { Count: > 0 } modes)
        {
            yield return Required($"{field}.accessModes", "Required value: at least 1 access mode is required");
            yield break;
        }
        foreach (var m in modes.Select(Meta.Str))
            if (m is not ("ReadWriteOnce" or "ReadOnlyMany" or "ReadWriteMany" or "ReadWriteOncePod"))
                yield return NotSupported($"{field}.accessModes", m, "ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod");
    }

    /// <summary>kubectl's short access modes (RWO, ROX, RWX, RWOP).</summary>
    internal static string ModesText(JsonNode? modes) =>
        modes is JsonArray a ? string.Join(",", a.Select(m => Meta.Str(m) switch
        {
            "ReadWriteOnce" => "RWO",
            "ReadOnlyMany" => "ROX",
            "ReadWriteMany" => "RWX",
            "ReadWriteOncePod" => "RWOP",
            var other => other,
        })) : "";

    public override IReadOnlyList<TableColumn> Columns { get; } =
    [
        TableColumn.NameColumn,
        TableColumn.Of("Capacity", o => o["spec"]?["capacity"]?["storage"] is { } s ? Cells.Plain(s) : ""),
        TableColumn.Of("Access Modes", o => ModesText(o["spec"]?["accessModes"])),
        TableColumn.Of("Reclaim Policy", o => Cells.S(o["spec"]?["persistentVolumeReclaimPolicy"])),
        TableColumn.Of("Status", o => Cells.S(o["status"]?["phase"])),
        TableColumn.Of("Claim", o => o["spec"]?["claimRef"] is JsonObject c ? $"{Cells.S(c["namespace"])}/{Cells.S(c["name"])}" : ""),
        TableColumn.Of("StorageClass", o => Cells.S(o["spec"]?["storageClassName"])),
        TableColumn.Of("VolumeAttributesClass", o => Cells.Or(Cells.S(o["spec"]?["volumeAttributesClassName"]), "<unset>")),
        TableColumn.Of("Reason", o => Cells.S(o["status"]?["reason"])),
        TableColumn.AgeColumn,
        TableColumn.Of("VolumeMode", o => Cells.S(o["spec"]?["volumeMode"]), 1),
    ];
}

/// <summary>podtemplates (core/v1): a pod template, defaulted and validated as pods are.</summary>
public sealed class PodTemplateStrategy : ResourceStrategy
{
    public override Type Model => typeof(V1PodTemplate);

    public override void Default(JsonObject obj)
    {
        if (obj["template"]?["spec"] is JsonObject spec) PodStrategy.DefaultPodSpec(spec);
    }

    public override IEnumerable<StatusCause> Validate(JsonObject obj)
    {
        var causes = new List<StatusCause>();
        PodSpec(obj["template"]?["spec"] as JsonObject, "template.spec", causes);
        return causes;
    }

    public override IReadOnlyList<TableColumn> Columns { get; } =
    [
        TableColumn.Of("Template", o => Cells.S(o["metadata"]?["name"])),
        TableColumn.Of("Containers", o => Cells.Containers(o["template"]?["spec"], "name")),
        TableColumn.Of("Images", o => Cells.Containers(o["template"]?["spec"], "image")),
        TableColumn.Of("Pod Labels", o => o["template"]?["metadata"]?["labels"] is JsonObject l ? string.Join(",", l.Select(kv => $"{kv.Key}={Cells.S(kv.Value)}")) : ""),
    ];
}

/// <summary>replicationcontrollers (core/v1): replicas 1, selector defaulted from the template labels; scale.</summary>
public sealed class ReplicationControllerStrategy : ResourceStrategy
{
    public override IReadOnlyCollection<string> FieldLabels { get; } = FieldLabelSets.With("status.replicas");

    public override Type Model => typeof(V1ReplicationController);

    public override void Default(JsonObject obj)
    {
        if (obj["spec"] is not JsonObject spec) return;
        spec["replicas"] ??= 1;
        if (spec["selector"] is null && spec["template"]?["metadata"]?["labels"] is JsonObject labels) spec["selector"] = labels.DeepClone();
        PodStrategy.DefaultTemplate(spec);
    }

    public override IEnumerable<StatusCause> Validate(JsonObject obj)
    {
        var causes = new List<StatusCause>();
        var spec = obj["spec"] as JsonObject;
        NonNegative(spec?["replicas"], "spec.replicas", causes);
        if (spec?["selector"] is not JsonObject { Count: > 0 } selector) causes.Add(Required("spec.selector"));
        else if (!selector.All(kv => Meta.Str(spec["template"]?["metadata"]?["labels"]?[kv.Key]) == Meta.Str(kv.Value)))
            causes.Add(InvalidRaw("spec.template.metadata.labels", FormatMap(spec["template"]?["metadata"]?["labels"] as JsonObject), "`selector` does not match template `labels`"));
        PodSpec(spec?["template"]?["spec"] as JsonObject, "spec.template.spec", causes);
        return causes;
    }

    public override ScalePaths Scale { get; } = new("spec.replicas", "status.replicas", "spec.selector");

    public override IReadOnlyList<TableColumn> Columns { get; } =
    [
        TableColumn.NameColumn,
        TableColumn.Of("Desired", o => Cells.I(o["spec"]?["replicas"]), type: "integer"),
        TableColumn.Of("Current", o => Cells.I(o["status"]?["replicas"]), type: "integer"),
        TableColumn.Of("Ready", o => Cells.I(o["status"]?["readyReplicas"]), type: "integer"),
        TableColumn.AgeColumn,
        TableColumn.Of("Containers", o => Cells.Containers(o["spec"]?["template"]?["spec"], "name"), 1),
        TableColumn.Of("Images", o => Cells.Containers(o["spec"]?["template"]?["spec"], "image"), 1),
        TableColumn.Of("Selector", o => o["spec"]?["selector"] is JsonObject s ? string.Join(",", s.Select(kv => $"{kv.Key}={Cells.S(kv.Value)}")) : "<none>", 1),
    ];
}
