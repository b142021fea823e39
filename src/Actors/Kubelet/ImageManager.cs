using System.Diagnostics;
using System.Globalization;
using AkkaKube.Actors.Runtime;

namespace AkkaKube.Actors.Kubelet;

/// <summary>
/// The kubelet's image manager (Kubernetes' EnsureImageExists), the first step of starting a container on a runtime
/// with images: the container's imagePullPolicy decides whether to pull — IfNotPresent pulls only a missing image,
/// Always pulls even when a copy is present, Never refuses a missing one (ErrImageNeverPull) — and the pull tries the
/// pod's matching registry credentials in turn, then none. Its events are the kubelet's, with its words: Pulling, Pulled
/// ("Successfully pulled image … in …" or "… already present on machine"), ErrImageNeverPull. A failed pull is
/// ErrImagePull with the runtime's message (the pod worker records Failed and BackOff, as it counts the attempts).
/// </summary>
public static class ImageManager
{
    /// <summary>One event of the pull, for the container's pod: type (Normal/Warning), reason, message.</summary>
    public delegate void Recorder(string type, string reason, string message);

    public static async Task EnsureImageAsync(IImageService images, ContainerLaunch launch, Recorder record, CancellationToken ct = default)
    {
        var image = launch.Image;
        var present = await images.ImageStatusAsync(image, ct).ConfigureAwait(false);
        if (present is not null && !MustPull(launch))
        {
            record("Normal", "Pulled", $"Container image \"{image}\" already present on machine");
            return;
        }
        if (present is null && launch.PullPolicy == "Never")
        {
            var message = $"Container image \"{image}\" is not present with pull policy of Never";
            record("Warning", ContainerStartException.ErrImageNeverPull, message);
            throw new ContainerStartException(ContainerStartException.ErrImageNeverPull, message);
        }
        record("Normal", "Pulling", $"Pulling image \"{image}\"");
        var took = Stopwatch.StartNew();
        ImagePullException? last = null;
        List<RegistryCredential?> attempts = [.. launch.PullCredentials, null]; // each matching login, then anonymous
        foreach (var credential in attempts)
        {
            try
            {
                var pulled = await images.PullImageAsync(image, credential, ct).ConfigureAwait(false);
                var duration = GoDuration(took.Elapsed);
                record("Normal", "Pulled", $"Successfully pulled image \"{image}\" in {duration} ({duration} including waiting). Image size: {pulled.Size} bytes.");
                return;
            }
            catch (ImagePullException e) { last = e; }
        }
        throw new ContainerStartException(ContainerStartException.ErrImagePull, last!.Message);
    }

    /// <summary>
    /// Always pulls; the project's own images (akkakube/echo, akkakube/pause, the test images) are in no registry —
    /// `akkakube image load` puts them on the nodes — so a present copy of one is used even under Always (the
    /// apiserver defaults an untagged image to Always, and `kubectl create deployment --image=akkakube/echo` must run).
    /// </summary>
    private static bool MustPull(ContainerLaunch launch) =>
        launch.PullPolicy == "Always" && !(ImagePullSecrets.Locate(launch.Image) is ("docker.io", var path) && path.StartsWith("akkakube/", StringComparison.Ordinal));

    /// <summary>A duration as Go prints one truncated to milliseconds (the kubelet's event text): 850ms, 1.234s, 2m3.5s.</summary>
    public static string GoDuration(TimeSpan d)
    {
        var ms = (long)d.TotalMilliseconds;
        if (ms < 1000) return ms.ToString(CultureInfo.InvariantCulture) + "ms";
        var minutes = ms / 60_000;
        var seconds = (ms % 60_000 / 1000m).ToString("0.###", CultureInfo.InvariantCulture) + "s";
        return minutes > 0 ? minutes.ToString(CultureInfo.InvariantCulture) + "m" + seconds : seconds;
    }
}
