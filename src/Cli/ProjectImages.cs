using System.Diagnostics;

namespace AkkaKube.Cli;

/// <summary>
/// The project's own images for containerd nodes: akkakube/pause (every pod's sandbox), akkakube/busybox and
/// akkakube/echo (the node binary's echo server on this machine's .NET runtime). No registry has them and this machine
/// may have no registry at all, so `up --runtime containerd` builds them from Debian's busybox-static and the node build
/// beside this binary (scripts/build-test-images.sh, the same bytes for the same input) and imports them into every
/// worker's containerd, as `akkakube image load` does: `kubectl create deployment web --image=akkakube/echo` then runs.
/// </summary>
public static class ProjectImages
{
    public static readonly string[] Archives = ["pause.tar", "busybox.tar", "echo.tar"];

    /// <summary>The builder script beside this binary (copied there by the build).</summary>
    public static string Script => Path.Combine(AppContext.BaseDirectory, "scripts", "build-test-images.sh");

    /// <summary>What building the images needs and this machine lacks, as one line; null when nothing.</summary>
    public static string? Missing() =>
        !File.Exists("/bin/busybox") ? "needs busybox-static (the pod sandbox image is built from it: apt-get install busybox-static)"
        : !File.Exists(Script) ? $"needs {Script} (build src/Cli again)"
        : null;

    /// <summary>Builds the archives into <paramref name="directory"/>; their paths, pause first.</summary>
    public static async Task<IReadOnlyList<string>> BuildAsync(string directory, CancellationToken ct = default)
    {
        var psi = new ProcessStartInfo("bash") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Script, directory, "--echo", AppContext.BaseDirectory.TrimEnd('/') }) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new CliException("could not run bash to build the project's images");
        var output = p.StandardOutput.ReadToEndAsync(ct);
        var error = p.StandardError.ReadToEndAsync(ct);
        await p.WaitForExitAsync(ct);
        if (p.ExitCode != 0)
            throw new CliException($"building the project's images (akkakube/pause, busybox, echo) failed: {(await error).Trim()} {(await output).Trim()}".Trim());
        return Archives.Select(a => Path.Combine(directory, a)).ToList();
    }
}
