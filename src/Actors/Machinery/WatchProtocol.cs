using AkkaKube.Actors.Serialization;

namespace AkkaKube.Actors.Machinery;

/// <summary>
/// What a watcher receives, from the store partition through the apiserver to the subscriber (an informer,
/// the HTTP front's watch stream): one <see cref="WatchStarted"/>, then <see cref="WatchEvent"/>s, and a
/// <see cref="WatchEnded"/> when the stream closes (code 410 Expired → re-list, as Kubernetes' watch contract).
/// </summary>
public static class WatchProtocol
{
    /// <summary>Confirms a watch; the sender is the store partition (watch it to notice a dead node).</summary>
    public sealed record WatchStarted(string WatchId, long Revision) : IAkkaKubeMessage;

    /// <summary>Type is ADDED, MODIFIED, DELETED or BOOKMARK.</summary>
    public sealed record WatchEvent(string WatchId, string Type, string ObjectJson, long Revision) : IAkkaKubeMessage;

    public sealed record WatchEnded(string WatchId, int Code, string Reason, string Message) : IAkkaKubeMessage;
}
