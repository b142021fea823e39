using System.Text.Json.Nodes;
using Akka.Actor;
using AkkaKube.Actors.Machinery;
using k8s.Models;
using static AkkaKube.Actors.ApiServer.Protobuf;

namespace AkkaKube.Actors.ApiServer.Registry.Core;

/// <summary>
/// services (core/v1): defaulting, structural validation (src/Actors/Services/ServiceValidation), ClusterIP and
/// NodePort allocation through the service allocator on admission, clusterIP immutable, ports merged by port.
/// </summary>
public sealed class ServiceStrategy : ResourceStrategy
{
    public override Type Model => typeof(V1Service);
    public override bool NameIsDnsLabel => true;

    public override void Default(JsonObject obj)
    {
        if (obj["spec"] is not JsonObject spec) return;
        spec["type"] ??= "ClusterIP";
        spec["sessionAffinity"] ??= "None";
        spec["internalTrafficPolicy"] ??= "Cluster";
        if (spec["ports"] is JsonArray ports)
            foreach (var p in ports.OfType<JsonObject>())
            {
                p["protocol"] ??= "TCP";
                if (p["targetPort"] is null && p["port"] is not null) p["targetPort"] = p["port"]!.DeepClone();
            }
    }

    public override IEnumerable<StatusCause> Validate(JsonObject obj)
    {
        var service = new JsonObject { ["spec"] = obj["spec"]?.DeepClone() };
        return Services.ServiceValidation.Validate(service, null).Select(e => new StatusCause(e.Reason, e.Message, e.Field));
    }

    public override IEnumerable<StatusCause> ValidateUpdate(JsonObject obj, JsonObject old)
    {
        var oldIp = Meta.Str(old["spec"]?["clusterIP"]);
        var newIp = Meta.Str(obj["spec"]?["clusterIP"]);
        if (oldIp.Length > 0 && newIp.Length > 0 && oldIp != newIp)
            yield return Validation.Invalid("spec.clusterIP", newIp, "field is immutable");
    }

    /// <summary>Allocation and range checks (src/Actors/Services): ClusterIP, NodePort; 422 causes with the field named.</summary>
    public override async Task<JsonObject> AdmitAsync(AdmissionContext c, JsonObject obj, JsonObject? old)
    {
        Services.ServiceAdmission admission;
        try
        {
            admission = await Services.ServiceAdmissionClient.AdmitAsync(c.ServiceAllocator(), c.Store, obj, old, c.DryRun, c.Settings.StoreTimeout, c.Ct);
        }
        catch (AskTimeoutException)
        {
            throw new ApiException(504, "Timeout", $"the service allocator did not answer within {c.Settings.StoreTimeout.TotalSeconds:0.#}s; retry");
        }
        if (!admission.Ok)
            throw ApiException.Invalid(ApiResource.Services, Meta.Name(obj) ?? "", admission.Errors.Select(e => new StatusCause(e.Reason, e.Message, e.Field)).ToList());
        return admission.Service!;
    }

    public override string? MergeKey(IReadOnlyList<string> path) =>
        path is ["spec", "ports"] ? "port" : MergeKeys.Common(path);

    public override IReadOnlyList<TableColumn> Columns { get; } =
    [
        TableColumn.NameColumn,
        TableColumn.Of("Type", o => Cells.S(o["spec"]?["type"])),
        TableColumn.Of("Cluster-IP", o => Cells.Or(Cells.S(o["spec"]?["clusterIP"]), "<none>")),
        TableColumn.Of("External-IP", ExternalIp),
        TableColumn.Of("Port(s)", ServicePorts),
        TableColumn.AgeColumn,
        TableColumn.Of("Selector", o => o["spec"]?["selector"] is JsonObject sel && sel.Count > 0 ? string.Join(",", sel.Select(kv => $"{kv.Key}={Cells.S(kv.Value)}")) : "<none>", 1),
    ];

    private static string ExternalIp(JsonObject o)
    {
        var type = Cells.S(o["spec"]?["type"]);
        var external = (o["spec"]?["externalIPs"] as JsonArray)?.Select(Cells.S).ToList() ?? [];
        if (type == "ExternalName") return Cells.S(o["spec"]?["externalName"]);
        if (type == "LoadBalancer")
        {
            var ing = (o["status"]?["loadBalancer"]?["ingress"] as JsonArray)?.Select(i => Cells.S(i?["ip"]) is { Length: > 0 } ip ? ip : Cells.S(i?["hostname"])).ToList() ?? [];
            var all = ing.Concat(external).ToList();
            return all.Count > 0 ? string.Join(",", all) : "<pending>";
        }
        return external.Count > 0 ? string.Join(",", external) : "<none>";
    }

    private static string ServicePorts(JsonObject o)
    {
        if (o["spec"]?["ports"] is not JsonArray ports || ports.Count == 0) return "<none>";
        return string.Join(",", ports.Select(p =>
        {
            var np = Cells.I(p?["nodePort"]);
            var proto = Cells.Or(Cells.S(p?["protocol"]), "TCP");
            return np > 0 ? $"{Cells.I(p?["port"])}:{np}/{proto}" : $"{Cells.I(p?["port"])}/{proto}";
        }));
    }

    public override IReadOnlyDictionary<string, Dictionary<int, F>> ProtobufMessages { get; } = new Dictionary<string, Dictionary<int, F>>
    {
        ["Service"] = M(new F(1, "metadata", T.Msg, Msg: "ObjectMeta"), new F(2, "spec", T.Msg, Msg: "ServiceSpec"), new F(3, "status", T.Msg, Msg: "Empty")),
        ["ServiceSpec"] = M(
            new F(1, "ports", T.Msg, true, "ServicePort"), new F(2, "selector", T.MapStr), new F(3, "clusterIP", T.Str),
            new F(4, "type", T.Str), new F(5, "externalIPs", T.Str, true), new F(7, "sessionAffinity", T.Str),
            new F(8, "loadBalancerIP", T.Str), new F(10, "externalName", T.Str), new F(11, "externalTrafficPolicy", T.Str),
            new F(12, "healthCheckNodePort", T.Int32), new F(13, "publishNotReadyAddresses", T.Bool)),
        ["ServicePort"] = M(new F(1, "name", T.Str), new F(2, "protocol", T.Str), new F(3, "port", T.Int32), new F(4, "targetPort", T.IntOrStr), new F(5, "nodePort", T.Int32)),
    };
}
