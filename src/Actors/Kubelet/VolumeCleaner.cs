using System.Text.Json.Nodes;
using Akka.Actor;
using Akka.Event;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Controllers.Volume;
using AkkaKube.Actors.Machinery;
using static AkkaKube.Actors.Controllers.ControllerBase;

namespace AkkaKube.Actors.Kubelet;

/// <summary>
/// The node half of the local-path provisioner's Delete (docs/storage.md): a provisioned PersistentVolume of this
/// node that is being deleted still carries <see cref="VolumeLogic.CleanupFinalizer"/>; this actor removes its
/// directory (only below this node's volumes directory) and then the finalizer, so the object goes. A failed
/// attempt is retried on the next event or after <see cref="Retry"/>.
/// </summary>
public sealed class VolumeCleaner : ReceiveActor, IWithTimers
{
    public static readonly TimeSpan Retry = TimeSpan.FromSeconds(5);

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly IKubeApi _api;
    private readonly string _nodeName;
    private readonly string _volumesDir;
    private readonly Dictionary<string, JsonObject> _volumes = new(StringComparer.Ordinal);
    private readonly HashSet<string> _inFlight = new(StringComparer.Ordinal);

    public ITimerScheduler Timers { get; set; } = null!;

    private sealed record Cleaned(string Name, Exception? Error);
    private sealed class Recheck { public static readonly Recheck Instance = new(); }

    public VolumeCleaner(IKubeApi api, string nodeName, string volumesDir)
    {
        _api = api;
        _nodeName = nodeName;
        _volumesDir = Path.GetFullPath(volumesDir);
        Receive<InformerProtocol.Synced>(s =>
        {
            _volumes.Clear();
            foreach (var (k, v) in s.Objects) Consider(k, v);
        });
        Receive<InformerProtocol.Added>(e => Consider(e.Key, e.Object));
        Receive<InformerProtocol.Updated>(e => Consider(e.Key, e.New));
        Receive<InformerProtocol.Deleted>(e => _volumes.Remove(e.Key));
        Receive<Cleaned>(c =>
        {
            _inFlight.Remove(c.Name);
            if (c.Error is null) return;
            _log.Warning("node {0}: cleaning up volume {1} failed: {2}; retrying", _nodeName, c.Name, c.Error.Message);
            Timers.StartSingleTimer("recheck", Recheck.Instance, Retry);
        });
        Receive<Recheck>(_ =>
        {
            foreach (var (k, v) in _volumes.ToList()) Consider(k, v);
        });
    }

    public static Props Props(IKubeApi api, string nodeName, string volumesDir) =>
        Akka.Actor.Props.Create(() => new VolumeCleaner(api, nodeName, volumesDir));

    protected override void PreStart() =>
        SharedInformers.Get(Context.System).Subscribe(_api, new InformerOptions(ApiResource.PersistentVolumes), Self);

    private void Consider(string key, JsonObject volume)
    {
        _volumes[key] = volume;
        if (!IsDeleting(volume) || VolumeLogic.NodeOf(volume) != _nodeName || _inFlight.Contains(key)) return;
        if ((Meta(volume)["finalizers"] as JsonArray)?.Any(f => Str(f) == VolumeLogic.CleanupFinalizer) != true) return;
        _inFlight.Add(key);
        CleanAsync(_api, (JsonObject)volume.DeepClone(), _volumesDir).PipeTo(Self, success: () => new Cleaned(key, null), failure: e => new Cleaned(key, e));
    }

    private static async Task CleanAsync(IKubeApi api, JsonObject volume, string volumesDir)
    {
        if (VolumeLogic.PathOf(volume) is { } path)
        {
            var full = Path.GetFullPath(path);
            // only what the provisioner made: a directory directly below this node's volumes directory
            if (Path.GetDirectoryName(full) == volumesDir && Directory.Exists(full)) Directory.Delete(full, recursive: true);
        }
        var meta = Meta(volume);
        meta["finalizers"] = new JsonArray(((meta["finalizers"] as JsonArray) ?? []).Where(f => Str(f) != VolumeLogic.CleanupFinalizer).Select(f => f?.DeepClone()).ToArray());
        try
        {
            await api.UpdateAsync(ApiResource.PersistentVolumes, null, volume);
        }
        catch (KubeApiException e) when (e.IsNotFound) { }
    }
}
