using System.Text.Json.Nodes;
using AkkaKube.Actors.Controllers.Volume;
using AkkaKube.Actors.Machinery;
using AkkaKube.Actors.Scheduler.Framework;
using k8s;
using k8s.Models;
using static AkkaKube.Actors.Controllers.ControllerBase;

namespace AkkaKube.Actors.Scheduler.Plugins.VolumeBinding;

/// <summary>
/// The claims, volumes and storage classes the scheduler knows (fed by its informers); read by
/// <see cref="VolumeBindingPlugin"/>. Only the scheduler's actor thread writes it, between cycles.
/// </summary>
public sealed class VolumeSnapshot
{
    public Dictionary<string, JsonObject> Claims { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, JsonObject> Volumes { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, JsonObject> Classes { get; } = new(StringComparer.Ordinal);
}

/// <summary>
/// kube-scheduler's VolumeBinding, for what AkkaKube's volumes need: every claim of the pod must exist; a bound claim's
/// volume must be reachable from the node (its required node affinity matches the node: a local volume pins the
/// pod to its node); an unbound claim is fine when its class binds WaitForFirstConsumer (the binder provisions on
/// the node the pod is bound to) and blocks the pod otherwise, until the binder binds it. Volumes are not reserved
/// during the cycle (no assume/PreBind): the persistentvolume-binder reacts to the pod's binding instead.
/// </summary>
public sealed class VolumeBindingPlugin(VolumeSnapshot volumes) : IPreFilterPlugin, IFilterPlugin
{
    public const string PluginName = "VolumeBinding";
    public const string ErrNodeConflict = "node(s) had volume node affinity conflict";
    public const string ErrUnboundImmediate = "pod has unbound immediate PersistentVolumeClaims";
    private const string StateKey = PluginName + "/affinities";

    public string Name => PluginName;

    private sealed record Affinities(List<V1NodeSelector> Required);

    public Status PreFilter(CycleState state, PodInfo pod, IReadOnlyList<NodeInfo> allNodes)
    {
        var claims = (pod.Pod.Spec?.Volumes ?? []).Where(v => v.PersistentVolumeClaim is not null).Select(v => v.PersistentVolumeClaim.ClaimName).ToList();
        if (claims.Count == 0) return Status.SkipStatus;
        var required = new List<V1NodeSelector>();
        foreach (var name in claims)
        {
            if (!volumes.Claims.TryGetValue($"{pod.Namespace}/{name}", out var claim))
                return Status.Unresolvable($"persistentvolumeclaim \"{name}\" not found");
            if (IsDeleting(claim)) return Status.Unresolvable($"persistentvolumeclaim \"{name}\" is being deleted");
            if (Str(claim["spec"]?["volumeName"]) is { } volumeName)
            {
                if (!volumes.Volumes.TryGetValue(volumeName, out var volume))
                    return Status.Unresolvable($"persistentvolume \"{volumeName}\" not found");
                if (volume["spec"]?["nodeAffinity"]?["required"] is JsonObject affinity)
                    required.Add(KubernetesJson.Deserialize<V1NodeSelector>(affinity.ToJsonString()));
                continue;
            }
            var mode = volumes.Classes.TryGetValue(VolumeLogic.ClassOf(claim), out var sc) ? Str(sc["volumeBindingMode"]) : null;
            if (mode != "WaitForFirstConsumer") return Status.Unresolvable(ErrUnboundImmediate);
        }
        state.Write(StateKey, new Affinities(required));
        return required.Count == 0 ? Status.SkipStatus : Status.SuccessStatus;
    }

    public Status Filter(CycleState state, PodInfo pod, NodeInfo node)
    {
        if (state.Read<Affinities>(StateKey) is not { } a) return Status.SuccessStatus;
        return a.Required.All(s => LabelSelectors.Matches(s, node.Node)) ? Status.SuccessStatus : Status.Unresolvable(ErrNodeConflict);
    }
}
