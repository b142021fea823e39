namespace AkkaKube.Actors.Runtime;

/// <summary>
/// The image half of a runtime that has images (CRI's ImageService: cri). The kubelet's image manager decides by the
/// container's imagePullPolicy whether to pull, and records the pull's events; the runtime only answers what is present
/// and pulls. Runtimes without this interface (process, simulated) have their images built in.
/// </summary>
public interface IImageService
{
    /// <summary>The image as present on this node, or null when it is not.</summary>
    Task<ImageInfo?> ImageStatusAsync(string image, CancellationToken ct = default);

    /// <summary>
    /// Pulls the image (with <paramref name="credential"/>, or anonymously when null) and returns it as now present.
    /// Throws <see cref="ImagePullException"/> with the registry's or runtime's message when it cannot.
    /// </summary>
    Task<ImageInfo> PullImageAsync(string image, RegistryCredential? credential, CancellationToken ct = default);
}

/// <summary>An image on the node: its ID (the reference containers are created from) and size in bytes.</summary>
public sealed record ImageInfo(string Id, ulong Size);

/// <summary>A pull failed; the message is the runtime's (it names the registry's answer).</summary>
public sealed class ImagePullException(string message) : Exception(message);
