using System.Text.Json.Nodes;
using AkkaKube.Actors.ApiServer.Registry.Core;
using AkkaKube.Actors.Machinery;
using k8s.Models;
using static AkkaKube.Actors.ApiServer.Protobuf;
using static AkkaKube.Actors.ApiServer.Registry.Validation;

namespace AkkaKube.Actors.ApiServer.Registry.Apps;

/// <summary>deployments (apps/v1): RollingUpdate 25%/25% defaults, selector required and immutable, scale subresource.</summary>
public sealed class DeploymentStrategy : ResourceStrategy
{
    public override Type Model => typeof(V1Deployment);

    public override void Default(JsonObject obj)
    {
        if (obj["spec"] is not JsonObject spec) return;
        spec["replicas"] ??= 1;
        spec["revisionHistoryLimit"] ??= 10;
        spec["progressDeadlineSeconds"] ??= 600;
        var strategy = Meta.Obj(spec, "strategy");
        strategy["type"] ??= "RollingUpdate";
        if (Meta.Str(strategy["type"]) == "RollingUpdate")
        {
            var ru = Meta.Obj(strategy, "rollingUpdate");
            ru["maxUnavailable"] ??= "25%";
            ru["maxSurge"] ??= "25%";
        }
        PodStrategy.DefaultTemplate(spec);
    }

    public override IEnumerable<StatusCause> Validate(JsonObject obj) => ReplicaSetStrategy.ValidateWorkload(obj);

    public override IEnumerable<StatusCause> ValidateUpdate(JsonObject obj, JsonObject old) => ReplicaSetStrategy.ImmutableSelector(obj, old);

    public override IReadOnlyList<TableColumn> Columns { get; } =
    [
        TableColumn.NameColumn,
        TableColumn.Of("Ready", o => $"{Cells.I(o["status"]?["readyReplicas"])}/{Cells.I(o["spec"]?["replicas"])}"),
        TableColumn.Of("Up-to-date", o => Cells.I(o["status"]?["updatedReplicas"]), type: "integer"),
        TableColumn.Of("Available", o => Cells.I(o["status"]?["availableReplicas"]), type: "integer"),
        TableColumn.AgeColumn,
        TableColumn.Of("Containers", o => Cells.Containers(o["spec"]?["template"]?["spec"], "name"), 1),
        TableColumn.Of("Images", o => Cells.Containers(o["spec"]?["template"]?["spec"], "image"), 1),
        TableColumn.Of("Selector", Cells.Selector, 1),
    ];

    public override IReadOnlyDictionary<string, Dictionary<int, F>> ProtobufMessages { get; } = new Dictionary<string, Dictionary<int, F>>
    {
        ["Deployment"] = M(new F(1, "metadata", T.Msg, Msg: "ObjectMeta"), new F(2, "spec", T.Msg, Msg: "DeploymentSpec"), new F(3, "status", T.Msg, Msg: "Empty")),
        ["DeploymentSpec"] = M(
            new F(1, "replicas", T.Int32, KeepZero: true), new F(2, "selector", T.Msg, Msg: "LabelSelector"),
            new F(3, "template", T.Msg, Msg: "PodTemplateSpec"), new F(4, "strategy", T.Msg, Msg: "DeploymentStrategy"),
            new F(5, "minReadySeconds", T.Int32), new F(6, "revisionHistoryLimit", T.Int32, KeepZero: true),
            new F(7, "paused", T.Bool), new F(9, "progressDeadlineSeconds", T.Int32, KeepZero: true)),
        ["DeploymentStrategy"] = M(new F(1, "type", T.Str), new F(2, "rollingUpdate", T.Msg, Msg: "RollingUpdateDeployment")),
        ["RollingUpdateDeployment"] = M(new F(1, "maxUnavailable", T.IntOrStr), new F(2, "maxSurge", T.IntOrStr)),
    };
}

/// <summary>replicasets (apps/v1): replicas 1 by default, selector required and immutable, scale subresource.</summary>
public sealed class ReplicaSetStrategy : ResourceStrategy
{
    public override IReadOnlyCollection<string> FieldLabels { get; } = FieldLabelSets.With("status.replicas");

    public override Type Model => typeof(V1ReplicaSet);

    public override void Default(JsonObject obj)
    {
        if (obj["spec"] is not JsonObject spec) return;
        spec["replicas"] ??= 1;
        PodStrategy.DefaultTemplate(spec);
    }

    public override IEnumerable<StatusCause> Validate(JsonObject obj) => ValidateWorkload(obj);

    public override IEnumerable<StatusCause> ValidateUpdate(JsonObject obj, JsonObject old) => ImmutableSelector(obj, old);

    public override IReadOnlyList<TableColumn> Columns { get; } =
    [
        TableColumn.NameColumn,
        TableColumn.Of("Desired", o => Cells.I(o["spec"]?["replicas"]), type: "integer"),
        TableColumn.Of("Current", o => Cells.I(o["status"]?["replicas"]), type: "integer"),
        TableColumn.Of("Ready", o => Cells.I(o["status"]?["readyReplicas"]), type: "integer"),
        TableColumn.AgeColumn,
        TableColumn.Of("Containers", o => Cells.Containers(o["spec"]?["template"]?["spec"], "name"), 1),
        TableColumn.Of("Images", o => Cells.Containers(o["spec"]?["template"]?["spec"], "image"), 1),
        TableColumn.Of("Selector", Cells.Selector, 1),
    ];

    /// <summary>replicas ≥ 0, selector required and matching the template, a valid pod template.</summary>
    internal static IEnumerable<StatusCause> ValidateWorkload(JsonObject obj)
    {
        var causes = new List<StatusCause>();
        var spec = obj["spec"] as JsonObject;
        NonNegative(spec?["replicas"], "spec.replicas", causes);
        SelectorAndTemplate(spec, causes);
        return causes;
    }

    internal static IEnumerable<StatusCause> ImmutableSelector(JsonObject obj, JsonObject old)
    {
        if (old["spec"]?["selector"] is { } os && !JsonNode.DeepEquals(os, obj["spec"]?["selector"]))
            yield return Immutable("spec.selector", obj["spec"]?["selector"]);
    }
}
