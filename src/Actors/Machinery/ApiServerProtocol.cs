using AkkaKube.Actors.Serialization;

namespace AkkaKube.Actors.Machinery;

/// <summary>
/// The apiserver layer as actor messages: in-cluster components (scheduler, controllers, kubelets,
/// proxies) send <see cref="ApiRequest"/> to an `apiserver` actor on a control-plane node (through a
/// cluster-aware router); the HTTP front turns each HTTP request into the same request and runs the
/// same pipeline (admission, defaulting, validation, store).
/// </summary>
public static class ApiServerProtocol
{
    /// <summary>
    /// One API call. Verb: get, list, create, update, patch, delete, deletecollection, watch.
    /// Query holds the Kubernetes query parameters (labelSelector, fieldSelector, limit, continue,
    /// resourceVersion, dryRun, fieldManager, fieldValidation, propagationPolicy…).
    /// For watch, Subscriber receives WatchProtocol.WatchEvent/WatchEnded.
    /// </summary>
    public sealed record ApiRequest(
        string Verb,
        string Group,
        string Version,
        string Resource,
        string? Namespace,
        string? Name,
        string? Subresource,
        IReadOnlyDictionary<string, string> Query,
        string? ContentType,
        string? Body,
        Akka.Actor.IActorRef? Subscriber = null) : IAkkaKubeMessage
    {
        /// <summary>Who asks: the authenticated HTTP caller, or the in-cluster component's identity (null: an unnamed component).</summary>
        public Security.UserInfo? User { get; init; }
    }

    /// <summary>
    /// HTTP-like result: Code and a JSON body (an object, a list, or a metav1.Status on failure);
    /// Warnings become `Warning: 299 - "…"` headers over HTTP (e.g. unknown fields with fieldValidation=Warn).
    /// </summary>
    public sealed record ApiResponse(int Code, string Body, IReadOnlyList<string>? Warnings = null) : IAkkaKubeMessage;
}
