using System.Text;
using System.Text.Json.Nodes;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Controllers.Volume;
using AkkaKube.Actors.Machinery;
using k8s.Models;

namespace AkkaKube.Actors.Kubelet;

/// <summary>A pod's volume directories by volume name, and when its projected tokens need refreshing (null: no token).</summary>
public sealed record PodVolumes(IReadOnlyDictionary<string, string> Directories, DateTimeOffset? RefreshAt);

/// <summary>What one container gets of the pod's volumes: env variables, its working directory, bind mounts (cri).</summary>
public sealed record ContainerVolumes(List<KeyValuePair<string, string>> Env, string? WorkingDir, IReadOnlyList<Runtime.VolumeMount> Mounts);

/// <summary>A volume of the pod cannot be set up yet (claim not bound in time, volume on another node): the container waits.</summary>
public sealed class VolumeNotReadyException(string message) : Exception(message);

/// <summary>
/// The kubelet's volume manager for runtimes without mounts (process, simulated): every volume of a pod is a
/// directory on this node, and each volumeMount is exposed to the container as <c>AKKAKUBE_VOLUME_&lt;NAME&gt;</c> (the
/// volume name upper-cased, other characters than A–Z and 0–9 as '_') holding the directory's path (with the mount's
/// subPath); a container whose workingDir is a mountPath starts in that directory (docs/storage.md).
/// <list type="bullet">
/// <item>persistentVolumeClaim: the claim must be Bound (waited for up to <see cref="ClaimWait"/>, as Kubernetes'
/// WaitForAttachAndMount) to a volume whose node affinity names this node; its directory (spec.local.path or
/// spec.hostPath.path) is created on first use and outlives the pod.</item>
/// <item>emptyDir: DATA/pods/&lt;uid&gt;/volumes/kubernetes.io~empty-dir/&lt;name&gt;, removed with the pod; with
/// <c>medium: Memory</c> /dev/shm/akkakube-pods-&lt;user&gt;/&lt;uid&gt;/&lt;name&gt; (RAM, the machine's tmpfs), removed with the pod too.</item>
/// <item>hostPath: the path itself (created for type DirectoryOrCreate).</item>
/// <item>projected (the ServiceAccount token volume among them): DATA/pods/&lt;uid&gt;/volumes/kubernetes.io~projected/&lt;name&gt;,
/// written by <see cref="ProjectedVolume"/>, refreshed before its token expires, removed with the pod. A mount at
/// /var/run/secrets/kubernetes.io/serviceaccount is also exposed as <see cref="ServiceAccountDirEnv"/>.</item>
/// </list>
/// Runtimes with mounts (cri) bind-mount the same directories at the mountPaths (<see cref="ForContainer"/>'s mounts).
/// configMap, secret and downwardAPI volumes are projected volumes of one source (their own plugin directories,
/// kubernetes.io~configmap and so on), written again every <see cref="ProjectedVolume.ApiObjectRefresh"/> and swapped
/// atomically (<see cref="AtomicVolumeWriter"/>), so a container sees an edited ConfigMap's new files, all at once.
/// </summary>
public static class VolumeManager
{
    public const string EnvPrefix = "AKKAKUBE_VOLUME_";
    /// <summary>The directory a process-runtime container finds its ServiceAccount token, ca.crt and namespace in.</summary>
    public const string ServiceAccountDirEnv = "AKKAKUBE_SERVICEACCOUNT_DIR";
    public static readonly TimeSpan ClaimWait = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan ClaimPoll = TimeSpan.FromMilliseconds(250);

    /// <summary>Where the provisioner puts this node's volumes (published on the Node; hollow nodes share a data dir, hence the name).</summary>
    public static string VolumesDirectory(string dataDir, string nodeName) => Path.Combine(dataDir, "volumes", nodeName);

    public static string PodVolumesDirectory(string dataDir, string podUid) => Path.Combine(dataDir, "pods", podUid, "volumes");

    public static string EmptyDir(string dataDir, string podUid, string volume) =>
        Path.Combine(PodVolumesDirectory(dataDir, podUid), "kubernetes.io~empty-dir", volume);

    /// <summary>
    /// Where memory-backed emptyDirs (<c>medium: Memory</c>) live: the machine's tmpfs at /dev/shm, so they are in RAM
    /// without root (the Kubernetes kubelet mounts a tmpfs per volume); null where there is none (the data directory then).
    /// </summary>
    public static string? MemoryRoot { get; } = Directory.Exists("/dev/shm") ? $"/dev/shm/akkakube-pods-{Environment.UserName}" : null; // per user: /dev/shm is shared

    public static string EmptyDir(string dataDir, string podUid, V1Volume volume) =>
        volume.EmptyDir?.Medium == "Memory" && MemoryRoot is { } memory ? Path.Combine(memory, podUid, volume.Name) : EmptyDir(dataDir, podUid, volume.Name);

    /// <summary>The environment variable naming a volume's directory.</summary>
    public static string EnvName(string volume)
    {
        var sb = new StringBuilder(EnvPrefix);
        foreach (var ch in volume.ToUpperInvariant()) sb.Append(ch is >= 'A' and <= 'Z' or >= '0' and <= '9' ? ch : '_');
        return sb.ToString();
    }

    /// <summary>
    /// Sets up every volume of the pod that these runtimes can materialize: volume name → directory on this node, and
    /// when its projected tokens are due for a refresh (null: none).
    /// </summary>
    public static async Task<PodVolumes> SetUpAsync(IKubeApi api, V1Pod pod, string nodeName, string dataDir, CancellationToken ct = default)
    {
        var dirs = new Dictionary<string, string>(StringComparer.Ordinal);
        DateTimeOffset? refresh = null;
        var ns = pod.Metadata?.NamespaceProperty ?? "default";
        foreach (var v in pod.Spec?.Volumes ?? [])
        {
            string? dir = null;
            if (v.EmptyDir is not null) dir = EmptyDir(dataDir, pod.Metadata?.Uid ?? "", v);
            else if (v.HostPath is { } hp)
            {
                if (hp.Type is not ("DirectoryOrCreate" or "" or null) && !Directory.Exists(hp.Path) && !File.Exists(hp.Path))
                    throw new VolumeNotReadyException($"hostPath type check failed: {hp.Path} does not exist");
                dir = hp.Path;
            }
            else if (v.PersistentVolumeClaim is { } claimSource) dir = await ClaimDirectoryAsync(api, ns, claimSource.ClaimName, nodeName, ct);
            else if (ProjectedVolume.AsProjection(v) is { } projected)
            {
                dir = ProjectedVolume.Directory(dataDir, pod.Metadata?.Uid ?? "", v.Name, ProjectedVolume.PluginDirectory(v));
                if (await ProjectedVolume.WriteAsync(api, pod, projected, dir, ct) is { } at && (refresh is null || at < refresh)) refresh = at;
            }
            if (dir is null) continue;
            Directory.CreateDirectory(dir);
            dirs[v.Name] = dir;
        }
        return new PodVolumes(dirs, refresh);
    }

    /// <summary>Writes the pod's projected, configMap, secret and downwardAPI volumes again (fresh tokens, current data); returns the next refresh time.</summary>
    public static async Task<DateTimeOffset?> RefreshProjectedAsync(IKubeApi api, V1Pod pod, string dataDir, CancellationToken ct = default)
    {
        DateTimeOffset? refresh = null;
        foreach (var v in pod.Spec?.Volumes ?? [])
            if (ProjectedVolume.AsProjection(v) is { } projected &&
                await ProjectedVolume.WriteAsync(api, pod, projected, ProjectedVolume.Directory(dataDir, pod.Metadata?.Uid ?? "", v.Name, ProjectedVolume.PluginDirectory(v)), ct) is { } at &&
                (refresh is null || at < refresh))
                refresh = at;
        return refresh;
    }

    private static async Task<string> ClaimDirectoryAsync(IKubeApi api, string ns, string claimName, string nodeName, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + ClaimWait;
        while (true)
        {
            string why;
            try
            {
                var claim = await api.GetAsync(ApiResource.PersistentVolumeClaims, ns, claimName, ct: ct);
                if (ControllerBaseStr(claim["spec"]?["volumeName"]) is { Length: > 0 } volumeName && VolumeLogic.Phase(claim) == "Bound")
                {
                    var volume = await api.GetAsync(ApiResource.PersistentVolumes, null, volumeName, ct: ct);
                    if (VolumeLogic.NodeOf(volume) is { } node && node != nodeName)
                        throw new VolumeNotReadyException($"volume {volumeName} of claim {claimName} lives on node {node}, not on {nodeName} (volume node affinity conflict)");
                    return VolumeLogic.PathOf(volume) ?? throw new VolumeNotReadyException($"volume {volumeName} of claim {claimName} has no local or hostPath directory");
                }
                why = $"persistentvolumeclaim \"{claimName}\" is not bound";
            }
            catch (KubeApiException e) when (e.IsNotFound)
            {
                why = $"persistentvolumeclaim \"{claimName}\" not found";
            }
            if (DateTime.UtcNow >= deadline) throw new VolumeNotReadyException($"unable to attach or mount volumes: {why}");
            await Task.Delay(ClaimPoll, ct);
        }
    }

    private static string? ControllerBaseStr(JsonNode? n) => Controllers.ControllerBase.Str(n);

    /// <summary>
    /// The container's view of the volumes: one env variable per mount (and <see cref="ServiceAccountDirEnv"/> for the
    /// token mount), the working directory when it is a mountPath, and the bind mounts a runtime with mounts makes.
    /// </summary>
    public static ContainerVolumes ForContainer(V1Container container, IReadOnlyDictionary<string, string> dirs)
    {
        var env = new List<KeyValuePair<string, string>>();
        var mounts = new List<Runtime.VolumeMount>();
        var workingDir = container.WorkingDir;
        foreach (var m in container.VolumeMounts ?? [])
        {
            if (!dirs.TryGetValue(m.Name, out var dir)) continue;
            var path = string.IsNullOrEmpty(m.SubPath) ? dir : Path.Combine(dir, m.SubPath);
            // A subPath names a directory to create inside the volume, or an existing file (a ConfigMap key's nginx.conf).
            if (path != dir && !File.Exists(path)) Directory.CreateDirectory(path);
            env.Add(new(EnvName(m.Name), path));
            if (TrimSlash(m.MountPath) == ApiServer.Admission.ServiceAccountAdmissionLogic.MountPath) env.Add(new(ServiceAccountDirEnv, path));
            mounts.Add(new Runtime.VolumeMount(path, m.MountPath, m.ReadOnlyProperty == true));
            if (!string.IsNullOrEmpty(container.WorkingDir) && TrimSlash(container.WorkingDir) == TrimSlash(m.MountPath)) workingDir = path;
        }
        return new ContainerVolumes(env, workingDir, mounts);
    }

    private static string TrimSlash(string p) => p.Length > 1 ? p.TrimEnd('/') : p;

    /// <summary>Removes the pod's own volumes (emptyDir) when its worker stops for good; claims' directories stay.</summary>
    public static void RemovePodVolumes(string dataDir, string podUid)
    {
        if (podUid.Length == 0) return;
        var dir = Path.Combine(dataDir, "pods", podUid);
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        if (MemoryRoot is { } memory && Path.Combine(memory, podUid) is var inMemory && Directory.Exists(inMemory)) Directory.Delete(inMemory, recursive: true);
    }
}
