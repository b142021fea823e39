using System.Text.Json.Nodes;
using Akka.Actor;

namespace AkkaKube.Actors.Security.Node;

/// <summary>
/// The Node authorizer's graph (Kubernetes' plugin/pkg/auth/authorizer/node graph), kept from the pod and
/// PersistentVolumeClaim informers of this control-plane node: for every pod bound to a node, the secrets, configmaps,
/// claims and ServiceAccount it references; for every bound claim, its PersistentVolume. A kubelet may read an object
/// only when a path leads from its node to it. One per node (<c>NodeGraph.Get(system)</c>), fed by
/// <see cref="NodeGraphCache"/>; reads and writes are under one lock (updates are per event, never a rebuild).
/// </summary>
public sealed class NodeGraph : IExtension
{
    /// <summary>The kinds of objects a pod references (vertex types of Kubernetes' graph).</summary>
    public enum Kind { Secret, ConfigMap, PersistentVolumeClaim, ServiceAccount }

    private readonly record struct Vertex(Kind Kind, string Namespace, string Name);

    private sealed record PodEdges(string Node, IReadOnlyList<Vertex> Refs);

    private readonly object _lock = new();
    private readonly Dictionary<string, PodEdges> _pods = new(StringComparer.Ordinal);
    // (vertex, node) → how many pods on that node reference the vertex
    private readonly Dictionary<(Vertex, string), int> _refCounts = new();
    private readonly Dictionary<string, string> _claimVolume = new(StringComparer.Ordinal);   // "ns/claim" → PV name
    private readonly Dictionary<string, HashSet<string>> _volumeClaims = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource _synced = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _podsSynced, _claimsSynced;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes at the next change of the graph (a waiter for a pod's edges to arrive takes it before it looks).</summary>
    public Task Changed
    {
        get { lock (_lock) return _changed.Task; }
    }

    private void SignalLocked()
    {
        var done = _changed;
        _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        done.TrySetResult();
    }

    public static NodeGraph Get(ActorSystem system) => system.WithExtension<NodeGraph, NodeGraphProvider>();

    public bool Synced => _synced.Task.IsCompleted;

    /// <summary>Waits (bounded) for the first complete lists: before that no path can be trusted to be missing.</summary>
    public async Task WaitSyncedAsync(TimeSpan wait, CancellationToken ct)
    {
        if (Synced) return;
        try
        {
            await _synced.Task.WaitAsync(wait, ct);
        }
        catch (TimeoutException)
        {
            throw new Machinery.ApiException(503, "ServiceUnavailable", "the node authorizer has not synced its graph of pods yet; retry");
        }
    }

    /// <summary>Whether a pod bound to <paramref name="node"/> references the object (a PV: through a claim such a pod uses).</summary>
    public bool HasPath(string node, Kind kind, string ns, string name)
    {
        lock (_lock) return _refCounts.ContainsKey((new Vertex(kind, ns, name), node));
    }

    /// <summary>Whether the pod is bound to <paramref name="node"/>.</summary>
    public bool HasPod(string node, string ns, string name)
    {
        lock (_lock) return _pods.TryGetValue($"{ns}/{name}", out var edges) && edges.Node == node;
    }

    /// <summary>Whether a claim bound to the PersistentVolume is used by a pod of <paramref name="node"/>.</summary>
    public bool HasPathToVolume(string node, string volume)
    {
        lock (_lock)
        {
            if (!_volumeClaims.TryGetValue(volume, out var claims)) return false;
            foreach (var key in claims)
            {
                var slash = key.IndexOf('/');
                if (_refCounts.ContainsKey((new Vertex(Kind.PersistentVolumeClaim, key[..slash], key[(slash + 1)..]), node))) return true;
            }
            return false;
        }
    }

    /// <summary>Replaces every pod (an informer's Synced).</summary>
    public void ResetPods(IEnumerable<JsonObject> pods)
    {
        lock (_lock)
        {
            _pods.Clear();
            _refCounts.Clear();
            foreach (var pod in pods) SetPodLocked(pod);
            _podsSynced = true;
            MarkSyncedLocked();
            SignalLocked();
        }
    }

    public void SetPod(JsonObject pod)
    {
        lock (_lock)
        {
            SetPodLocked(pod);
            SignalLocked();
        }
    }

    public void RemovePod(JsonObject pod)
    {
        lock (_lock)
        {
            RemovePodLocked(Key(pod));
            SignalLocked();
        }
    }

    public void ResetClaims(IEnumerable<JsonObject> claims)
    {
        lock (_lock)
        {
            _claimVolume.Clear();
            _volumeClaims.Clear();
            foreach (var claim in claims) SetClaimLocked(claim);
            _claimsSynced = true;
            MarkSyncedLocked();
            SignalLocked();
        }
    }

    public void SetClaim(JsonObject claim)
    {
        lock (_lock)
        {
            SetClaimLocked(claim);
            SignalLocked();
        }
    }

    public void RemoveClaim(JsonObject claim)
    {
        lock (_lock)
        {
            RemoveClaimLocked(Key(claim));
            SignalLocked();
        }
    }

    private void MarkSyncedLocked()
    {
        if (_podsSynced && _claimsSynced) _synced.TrySetResult();
    }

    private static string Key(JsonObject o) => $"{Str(o["metadata"]?["namespace"])}/{Str(o["metadata"]?["name"])}";

    private void SetPodLocked(JsonObject pod)
    {
        var key = Key(pod);
        RemovePodLocked(key);
        var node = Str(pod["spec"]?["nodeName"]);
        if (node.Length == 0) return; // not bound: no node may read what it references yet
        var edges = new PodEdges(node, References(pod));
        _pods[key] = edges;
        foreach (var v in edges.Refs) _refCounts[(v, node)] = _refCounts.GetValueOrDefault((v, node)) + 1;
    }

    private void RemovePodLocked(string key)
    {
        if (!_pods.Remove(key, out var old)) return;
        foreach (var v in old.Refs)
        {
            var k = (v, old.Node);
            if (_refCounts.TryGetValue(k, out var n) && n > 1) _refCounts[k] = n - 1;
            else _refCounts.Remove(k);
        }
    }

    private void SetClaimLocked(JsonObject claim)
    {
        var key = Key(claim);
        RemoveClaimLocked(key);
        var volume = Str(claim["spec"]?["volumeName"]);
        if (volume.Length == 0) return;
        _claimVolume[key] = volume;
        if (!_volumeClaims.TryGetValue(volume, out var set)) _volumeClaims[volume] = set = new HashSet<string>(StringComparer.Ordinal);
        set.Add(key);
    }

    private void RemoveClaimLocked(string key)
    {
        if (!_claimVolume.Remove(key, out var volume)) return;
        if (_volumeClaims.TryGetValue(volume, out var set) && set.Remove(key) && set.Count == 0) _volumeClaims.Remove(volume);
    }

    /// <summary>
    /// What a pod references, as Kubernetes' graph populator reads it: its ServiceAccount, image pull secrets, secrets
    /// and configmaps of env/envFrom (all containers), volumes (secret, configMap, projected sources, claims, and the
    /// secretRefs of volume plugins).
    /// </summary>
    private static IReadOnlyList<Vertex> References(JsonObject pod)
    {
        var ns = Str(pod["metadata"]?["namespace"]);
        var refs = new HashSet<Vertex>();
        void Add(Kind kind, JsonNode? name)
        {
            if (Str(name) is { Length: > 0 } n) refs.Add(new Vertex(kind, ns, n));
        }
        var spec = pod["spec"] as JsonObject;
        if (spec is null) return [];
        Add(Kind.ServiceAccount, spec["serviceAccountName"] ?? spec["serviceAccount"]);
        foreach (var s in Objects(spec["imagePullSecrets"])) Add(Kind.Secret, s["name"]);
        foreach (var list in new[] { "initContainers", "containers", "ephemeralContainers" })
            foreach (var c in Objects(spec[list]))
            {
                foreach (var from in Objects(c["envFrom"]))
                {
                    Add(Kind.Secret, from["secretRef"]?["name"]);
                    Add(Kind.ConfigMap, from["configMapRef"]?["name"]);
                }
                foreach (var env in Objects(c["env"]))
                {
                    Add(Kind.Secret, env["valueFrom"]?["secretKeyRef"]?["name"]);
                    Add(Kind.ConfigMap, env["valueFrom"]?["configMapKeyRef"]?["name"]);
                }
            }
        foreach (var v in Objects(spec["volumes"]))
        {
            Add(Kind.Secret, v["secret"]?["secretName"]);
            Add(Kind.ConfigMap, v["configMap"]?["name"]);
            Add(Kind.PersistentVolumeClaim, v["persistentVolumeClaim"]?["claimName"]);
            foreach (var source in Objects(v["projected"]?["sources"]))
            {
                Add(Kind.Secret, source["secret"]?["name"]);
                Add(Kind.ConfigMap, source["configMap"]?["name"]);
            }
            // volume plugins that name a secret in the pod's namespace (csi, cephfs, rbd, iscsi, flexVolume, azureFile…)
            foreach (var (_, plugin) in v.AsObject())
                if (plugin is JsonObject p)
                {
                    Add(Kind.Secret, p["secretRef"]?["name"]);
                    Add(Kind.Secret, p["nodePublishSecretRef"]?["name"]);
                }
            // generic ephemeral volumes: the claim is named <pod>-<volume>
            if (v["ephemeral"] is JsonObject && Str(pod["metadata"]?["name"]) is { Length: > 0 } podName && Str(v["name"]) is { Length: > 0 } volumeName)
                refs.Add(new Vertex(Kind.PersistentVolumeClaim, ns, $"{podName}-{volumeName}"));
        }
        return refs.ToList();
    }

    private static IEnumerable<JsonObject> Objects(JsonNode? n) => n is JsonArray a ? a.OfType<JsonObject>() : [];

    private static string Str(JsonNode? n) => n is JsonValue v && v.TryGetValue<string>(out var s) ? s : "";
}

public sealed class NodeGraphProvider : ExtensionIdProvider<NodeGraph>
{
    public override NodeGraph CreateExtension(ExtendedActorSystem system) => new();
}
