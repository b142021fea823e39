using System.Text.Json.Nodes;
using Akka.Actor;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.Client;

/// <summary>
/// The in-cluster API used by scheduler, controllers, kubelets and proxies. Implemented over actor
/// messages to the apiserver layer (same admission, defaulting and validation as HTTP).
/// Failures throw <see cref="KubeApiException"/> carrying the Kubernetes Status code and reason.
/// </summary>
public interface IKubeApi
{
    /// <summary>GET; subresource "status" reads the object, "scale" its autoscaling/v1 Scale.</summary>
    Task<JsonObject> GetAsync(ApiResource resource, string? ns, string name, string? subresource = null, CancellationToken ct = default);

    Task<ObjectList> ListAsync(ApiResource resource, string? ns, ListOptions? options = null, CancellationToken ct = default);

    Task<JsonObject> CreateAsync(ApiResource resource, string? ns, JsonObject obj, string? subresource = null, CancellationToken ct = default);

    /// <summary>PUT; subresource "status" replaces status only.</summary>
    Task<JsonObject> UpdateAsync(ApiResource resource, string? ns, JsonObject obj, string? subresource = null, CancellationToken ct = default);

    Task<JsonObject> PatchAsync(ApiResource resource, string? ns, string name, PatchType type, string patch, string? subresource = null, CancellationToken ct = default);

    Task DeleteAsync(ApiResource resource, string? ns, string name, DeleteOptions? options = null, CancellationToken ct = default);

    /// <summary>
    /// Watch from a resourceVersion ("" or "0" = now). Events arrive at <paramref name="subscriber"/> as
    /// <see cref="WatchProtocol.WatchEvent"/> (preceded by one <see cref="WatchProtocol.WatchStarted"/>) and the
    /// stream ends with <see cref="WatchProtocol.WatchEnded"/> (410 Expired → re-list). "" or "0" first delivers the
    /// current objects as ADDED. Returns the watch id (for <see cref="CancelWatchAsync"/>). Get it with
    /// <c>AkkaKube.Actors.ApiServer.KubeApi.Get(system).Api</c>.
    /// </summary>
    Task<string> WatchAsync(ApiResource resource, string? ns, IActorRef subscriber, string resourceVersion, ListOptions? options = null, CancellationToken ct = default);

    Task CancelWatchAsync(ApiResource resource, string watchId);
}

public enum PatchType { Merge, Json, StrategicMerge, Apply }

public sealed record ListOptions(string? LabelSelector = null, string? FieldSelector = null, int Limit = 0, string? Continue = null);

public sealed record DeleteOptions(string? PropagationPolicy = null, long? GracePeriodSeconds = null, string? PreconditionUid = null, string? PreconditionResourceVersion = null);

public sealed record ObjectList(IReadOnlyList<JsonObject> Items, string ResourceVersion, string? Continue);

public sealed class KubeApiException(int code, string reason, string message) : Exception(message)
{
    public int Code { get; } = code;
    public string Reason { get; } = reason;
    public bool IsNotFound => Code == 404;
    public bool IsConflict => Code == 409;
    public bool IsAlreadyExists => Code == 409 && Reason == "AlreadyExists";
}
