using k8s.Models;

namespace AkkaKube.Actors.Scheduler.Framework;

/// <summary>Requested or allocatable resources in the units kube-scheduler uses (milli-cpu, bytes, pod count).</summary>
public record struct Resources(long MilliCpu, long Memory, long Pods)
{
    public static Resources operator +(Resources a, Resources b) => new(a.MilliCpu + b.MilliCpu, a.Memory + b.Memory, a.Pods + b.Pods);
    public static Resources operator -(Resources a, Resources b) => new(a.MilliCpu - b.MilliCpu, a.Memory - b.Memory, a.Pods - b.Pods);

    /// <summary>kube-scheduler scores pods without requests as if they asked for 100m cpu and 200Mi memory.</summary>
    public const long DefaultMilliCpuRequest = 100;
    public const long DefaultMemoryRequest = 200L * 1024 * 1024;

    public static long MilliCpuOf(ResourceQuantity q) => (long)Math.Ceiling(q.ToDecimal() * 1000m);
    public static long BytesOf(ResourceQuantity q) => (long)Math.Ceiling(q.ToDecimal());

    public static Resources FromList(IDictionary<string, ResourceQuantity>? list, long defaultPods = 0)
    {
        if (list is null) return new Resources(0, 0, defaultPods);
        long cpu = 0, mem = 0, pods = defaultPods;
        if (list.TryGetValue("cpu", out var c)) cpu = MilliCpuOf(c);
        if (list.TryGetValue("memory", out var m)) mem = BytesOf(m);
        if (list.TryGetValue("pods", out var p)) pods = (long)p.ToDecimal();
        return new Resources(cpu, mem, pods);
    }
}

/// <summary>A pod as the scheduler needs it: parsed once, then read by every plugin.</summary>
public sealed class PodInfo
{
    public PodInfo(V1Pod pod)
    {
        Pod = pod;
        Namespace = pod.Metadata?.NamespaceProperty ?? "default";
        Name = pod.Metadata?.Name ?? "";
        Key = $"{Namespace}/{Name}";
        Uid = pod.Metadata?.Uid ?? "";
        Labels = pod.Metadata?.Labels ?? new Dictionary<string, string>();
        (Requests, NonZeroRequests) = ComputeRequests(pod.Spec);
        ControllerUid = pod.Metadata?.OwnerReferences?.FirstOrDefault(o => o.Controller == true)?.Uid;
        Priority = pod.Spec?.Priority ?? 0;
    }

    public V1Pod Pod { get; }
    public string Namespace { get; }
    public string Name { get; }
    public string Key { get; }
    public string Uid { get; }
    public IDictionary<string, string> Labels { get; }
    public string? ControllerUid { get; }
    public int Priority { get; }

    /// <summary>Requests as Kubernetes counts them: max(sum of containers, largest init container) + overhead; pods = 1.</summary>
    public Resources Requests { get; }

    /// <summary>Requests with kube-scheduler's non-zero defaults for containers without requests (scoring only).</summary>
    public Resources NonZeroRequests { get; }

    public string? NodeName => Pod.Spec?.NodeName;

    private static (Resources, Resources) ComputeRequests(V1PodSpec? spec)
    {
        if (spec is null) return (new Resources(0, 0, 1), new Resources(Resources.DefaultMilliCpuRequest, Resources.DefaultMemoryRequest, 1));
        long cpu = 0, mem = 0, nzCpu = 0, nzMem = 0;
        foreach (var c in spec.Containers ?? [])
        {
            var r = ContainerRequests(c);
            cpu += r.MilliCpu;
            mem += r.Memory;
            nzCpu += r.MilliCpu == 0 && !HasRequest(c, "cpu") ? Resources.DefaultMilliCpuRequest : r.MilliCpu;
            nzMem += r.Memory == 0 && !HasRequest(c, "memory") ? Resources.DefaultMemoryRequest : r.Memory;
        }
        foreach (var c in spec.InitContainers ?? [])
        {
            var r = ContainerRequests(c);
            cpu = Math.Max(cpu, r.MilliCpu);
            mem = Math.Max(mem, r.Memory);
            nzCpu = Math.Max(nzCpu, r.MilliCpu);
            nzMem = Math.Max(nzMem, r.Memory);
        }
        if (spec.Overhead is not null)
        {
            var o = Resources.FromList(spec.Overhead);
            cpu += o.MilliCpu; mem += o.Memory; nzCpu += o.MilliCpu; nzMem += o.Memory;
        }
        return (new Resources(cpu, mem, 1), new Resources(nzCpu, nzMem, 1));
    }

    private static bool HasRequest(V1Container c, string name) =>
        (c.Resources?.Requests?.ContainsKey(name) ?? false) || (c.Resources?.Limits?.ContainsKey(name) ?? false);

    /// <summary>Requests, falling back to limits per resource (the apiserver's defaulting).</summary>
    private static Resources ContainerRequests(V1Container c)
    {
        var req = Resources.FromList(c.Resources?.Requests);
        var lim = Resources.FromList(c.Resources?.Limits);
        return new Resources(
            c.Resources?.Requests?.ContainsKey("cpu") == true ? req.MilliCpu : lim.MilliCpu,
            c.Resources?.Requests?.ContainsKey("memory") == true ? req.Memory : lim.Memory,
            0);
    }
}

/// <summary>A node plus the pods the scheduler counts on it (bound and assumed) and their summed requests.</summary>
public sealed class NodeInfo
{
    private readonly Dictionary<string, PodInfo> _pods = new(StringComparer.Ordinal);
    // (namespace, controller uid) → pods on this node with that controlling owner and no deletionTimestamp: the
    // system-default topology spread counts these for every pod of a workload, so the count is kept, not recounted.
    private readonly Dictionary<(string Namespace, string Owner), int> _owned = new();
    /// <summary>The cluster-wide counts this node reports its changes to (set by the scheduler cache); null when alone.</summary>
    private ZoneCounts? _zones;

    public NodeInfo(V1Node node) => SetNode(node);

    /// <summary>Pods on this node (not being deleted) in <paramref name="ns"/> whose controlling owner has uid <paramref name="owner"/>.</summary>
    public int CountOwnedBy(string ns, string owner) => _owned.TryGetValue((ns, owner), out var n) ? n : 0;

    /// <summary>(namespace, controller uid) → pods on this node (not being deleted) with that controlling owner.</summary>
    public IReadOnlyDictionary<(string Namespace, string Owner), int> OwnedCounts => _owned;

    /// <summary>Reports this node and, from now on, every change of its pods or zone to <paramref name="zones"/>.</summary>
    internal void Attach(ZoneCounts zones)
    {
        _zones?.RemoveNode(this);
        _zones = zones;
        zones.AddNode(this);
    }

    /// <summary>Takes this node (and its pods) out of the counts it was attached to.</summary>
    internal void Detach()
    {
        _zones?.RemoveNode(this);
        _zones = null;
    }

    public V1Node Node { get; private set; } = null!;
    public string Name { get; private set; } = "";
    public IDictionary<string, string> Labels { get; private set; } = null!;

    /// <summary>The node's <see cref="AkkaKubeNames.Labels.Zone"/> label, or null (kept beside <see cref="Labels"/>: read for every pod).</summary>
    public string? Zone { get; private set; }

    /// <summary>The node's <see cref="AkkaKubeNames.Labels.Hostname"/> label, or null.</summary>
    public string? Hostname { get; private set; }
    public Resources Allocatable { get; private set; }
    public Resources Requested { get; private set; }
    public Resources NonZeroRequested { get; private set; }
    public IReadOnlyCollection<PodInfo> Pods => _pods.Values;

    /// <summary>Pods on this node that declare (anti-)affinity terms; InterPodAffinity checks their symmetry.</summary>
    public int PodsWithRequiredAntiAffinity { get; private set; }

    public void SetNode(V1Node node)
    {
        // A relabelled node moves its pods to its new zone: leave the counts with the old labels, re-enter with the new.
        _zones?.RemoveNode(this);
        Node = node;
        Name = node.Metadata?.Name ?? "";
        Labels = node.Metadata?.Labels ?? new Dictionary<string, string>();
        Zone = Labels.TryGetValue(AkkaKubeNames.Labels.Zone, out var zone) ? zone : null;
        Hostname = Labels.TryGetValue(AkkaKubeNames.Labels.Hostname, out var hostname) ? hostname : null;
        var alloc = node.Status?.Allocatable ?? node.Status?.Capacity;
        Allocatable = Resources.FromList(alloc, defaultPods: 110);
        _zones?.AddNode(this);
    }

    public void AddPod(PodInfo pod)
    {
        if (_pods.Remove(pod.Key, out var old)) Subtract(old);
        _pods[pod.Key] = pod;
        Requested += pod.Requests;
        NonZeroRequested += pod.NonZeroRequests;
        if (HasRequiredAntiAffinity(pod))
        {
            PodsWithRequiredAntiAffinity++;
            _zones?.AntiAffinityChanged(+1);
        }
        if (OwnerKey(pod) is { } key)
        {
            _owned[key] = _owned.GetValueOrDefault(key) + 1;
            _zones?.OwnedChanged(this, key, +1);
        }
    }

    public bool RemovePod(string key)
    {
        if (!_pods.Remove(key, out var old)) return false;
        Subtract(old);
        return true;
    }

    private void Subtract(PodInfo old)
    {
        Requested -= old.Requests;
        NonZeroRequested -= old.NonZeroRequests;
        if (HasRequiredAntiAffinity(old))
        {
            PodsWithRequiredAntiAffinity--;
            _zones?.AntiAffinityChanged(-1);
        }
        if (OwnerKey(old) is { } key)
        {
            var n = _owned.GetValueOrDefault(key) - 1;
            if (n <= 0) _owned.Remove(key);
            else _owned[key] = n;
            _zones?.OwnedChanged(this, key, -1);
        }
    }

    private static (string, string)? OwnerKey(PodInfo p) =>
        p.ControllerUid is { } owner && p.Pod.Metadata?.DeletionTimestamp is null ? (p.Namespace, owner) : null;

    private static bool HasRequiredAntiAffinity(PodInfo p) =>
        p.Pod.Spec?.Affinity?.PodAntiAffinity?.RequiredDuringSchedulingIgnoredDuringExecution is { Count: > 0 };
}
