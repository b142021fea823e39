using AkkaKube.Actors;
using AkkaKube.Actors.Scheduler.Framework;
using k8s.Models;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Tests.Scheduler;

/// <summary>Fluent fixtures, as kube-scheduler's st.MakePod() / st.MakeNode().</summary>
public static class Make
{
    public static PodBuilder Pod() => new();
    public static NodeBuilder Node() => new();
}

public sealed class PodBuilder
{
    private readonly V1Pod _pod = new()
    {
        ApiVersion = "v1",
        Kind = "Pod",
        Metadata = new V1ObjectMeta { Name = "p", NamespaceProperty = "default", Uid = Guid.NewGuid().ToString(), Labels = new Dictionary<string, string>() },
        Spec = new V1PodSpec { Containers = [new V1Container { Name = "c", Image = "busybox" }], SchedulerName = "default-scheduler" },
        Status = new V1PodStatus { Phase = "Pending" },
    };

    public PodBuilder Name(string name) { _pod.Metadata.Name = name; return this; }
    public PodBuilder Namespace(string ns) { _pod.Metadata.NamespaceProperty = ns; return this; }
    public PodBuilder Label(string k, string v) { _pod.Metadata.Labels[k] = v; return this; }
    public PodBuilder Node(string node) { _pod.Spec.NodeName = node; return this; }
    public PodBuilder SchedulerName(string name) { _pod.Spec.SchedulerName = name; return this; }
    public PodBuilder Priority(int p) { _pod.Spec.Priority = p; return this; }
    public PodBuilder Phase(string phase) { _pod.Status.Phase = phase; return this; }

    public PodBuilder Req(string? cpu = null, string? memory = null)
    {
        var req = new Dictionary<string, ResourceQuantity>();
        if (cpu is not null) req["cpu"] = new ResourceQuantity(cpu);
        if (memory is not null) req["memory"] = new ResourceQuantity(memory);
        _pod.Spec.Containers[0].Resources = new V1ResourceRequirements { Requests = req };
        return this;
    }

    public PodBuilder Owner(string uid, string kind = "ReplicaSet", string name = "rs")
    {
        _pod.Metadata.OwnerReferences = [new V1OwnerReference { ApiVersion = "apps/v1", Kind = kind, Name = name, Uid = uid, Controller = true }];
        return this;
    }

    public PodBuilder NodeSelector(string k, string v)
    {
        _pod.Spec.NodeSelector ??= new Dictionary<string, string>();
        _pod.Spec.NodeSelector[k] = v;
        return this;
    }

    public PodBuilder Toleration(string key, string? value = null, string? effect = null, string op = "Equal")
    {
        _pod.Spec.Tolerations ??= [];
        _pod.Spec.Tolerations.Add(new V1Toleration { Key = key, Value = value, Effect = effect, OperatorProperty = op });
        return this;
    }

    private V1Affinity Affinity => _pod.Spec.Affinity ??= new V1Affinity();

    public PodBuilder RequiredNodeAffinity(string key, string op, params string[] values)
    {
        var na = Affinity.NodeAffinity ??= new V1NodeAffinity();
        na.RequiredDuringSchedulingIgnoredDuringExecution ??= new V1NodeSelector { NodeSelectorTerms = [] };
        na.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms.Add(new V1NodeSelectorTerm
        {
            MatchExpressions = [new V1NodeSelectorRequirement { Key = key, OperatorProperty = op, Values = values.Length == 0 ? null : values.ToList() }],
        });
        return this;
    }

    public PodBuilder PreferredNodeAffinity(int weight, string key, params string[] values)
    {
        var na = Affinity.NodeAffinity ??= new V1NodeAffinity();
        na.PreferredDuringSchedulingIgnoredDuringExecution ??= [];
        na.PreferredDuringSchedulingIgnoredDuringExecution.Add(new V1PreferredSchedulingTerm
        {
            Weight = weight,
            Preference = new V1NodeSelectorTerm { MatchExpressions = [new V1NodeSelectorRequirement { Key = key, OperatorProperty = "In", Values = values.ToList() }] },
        });
        return this;
    }

    public PodBuilder Spread(int maxSkew, string topologyKey, string whenUnsatisfiable, string labelKey, string labelValue)
    {
        _pod.Spec.TopologySpreadConstraints ??= [];
        _pod.Spec.TopologySpreadConstraints.Add(new V1TopologySpreadConstraint
        {
            MaxSkew = maxSkew,
            TopologyKey = topologyKey,
            WhenUnsatisfiable = whenUnsatisfiable,
            LabelSelector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { [labelKey] = labelValue } },
        });
        return this;
    }

    public PodBuilder AntiAffinity(string topologyKey, string labelKey, string labelValue)
    {
        var a = Affinity.PodAntiAffinity ??= new V1PodAntiAffinity();
        a.RequiredDuringSchedulingIgnoredDuringExecution ??= [];
        a.RequiredDuringSchedulingIgnoredDuringExecution.Add(new V1PodAffinityTerm
        {
            TopologyKey = topologyKey,
            LabelSelector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { [labelKey] = labelValue } },
        });
        return this;
    }

    public PodBuilder PodAffinity(string topologyKey, string labelKey, string labelValue)
    {
        var a = Affinity.PodAffinity ??= new V1PodAffinity();
        a.RequiredDuringSchedulingIgnoredDuringExecution ??= [];
        a.RequiredDuringSchedulingIgnoredDuringExecution.Add(new V1PodAffinityTerm
        {
            TopologyKey = topologyKey,
            LabelSelector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { [labelKey] = labelValue } },
        });
        return this;
    }

    public V1Pod Obj() => _pod;
    public PodInfo Info() => new(_pod);
}

public sealed class NodeBuilder
{
    private readonly V1Node _node = new()
    {
        ApiVersion = "v1",
        Kind = "Node",
        Metadata = new V1ObjectMeta { Name = "n", Labels = new Dictionary<string, string>() },
        Spec = new V1NodeSpec(),
        Status = new V1NodeStatus
        {
            Allocatable = new Dictionary<string, ResourceQuantity>
            {
                ["cpu"] = new("4"), ["memory"] = new("8Gi"), ["pods"] = new("110"),
            },
        },
    };

    public NodeBuilder Name(string name)
    {
        _node.Metadata.Name = name;
        _node.Metadata.Labels[AkkaKubeNames.Labels.Hostname] = name;
        return this;
    }

    public NodeBuilder Label(string k, string v) { _node.Metadata.Labels[k] = v; return this; }
    public NodeBuilder Zone(string zone) => Label(AkkaKubeNames.Labels.Zone, zone);
    public NodeBuilder Unschedulable() { _node.Spec.Unschedulable = true; return this; }

    public NodeBuilder Capacity(string? cpu = null, string? memory = null, string? pods = null)
    {
        if (cpu is not null) _node.Status.Allocatable["cpu"] = new ResourceQuantity(cpu);
        if (memory is not null) _node.Status.Allocatable["memory"] = new ResourceQuantity(memory);
        if (pods is not null) _node.Status.Allocatable["pods"] = new ResourceQuantity(pods);
        return this;
    }

    public NodeBuilder Taint(string key, string? value, string effect)
    {
        _node.Spec.Taints ??= [];
        _node.Spec.Taints.Add(new V1Taint { Key = key, Value = value, Effect = effect });
        return this;
    }

    public V1Node Obj() => _node;

    /// <summary>The node with pods on it (each pod gets this node's name).</summary>
    public NodeInfo Info(params PodBuilder[] pods)
    {
        var info = new NodeInfo(_node);
        foreach (var p in pods) info.AddPod(p.Node(_node.Metadata.Name).Info());
        return info;
    }
}
