using AkkaKube.Actors.Security;

namespace AkkaKube.Actors.Cmd;

/// <summary>
/// DATA/cmd-token (0600): the command host's shared secret when none is given (--cmd-token). Every node of a local
/// cluster shares the data directory and so the token; `akkakube cmd` and the tests read it from there, and a
/// process that cannot read the data directory cannot drive the cluster.
/// </summary>
public static class CmdTokenFile
{
    public static string PathIn(string dataDir) => Path.Combine(dataDir, "cmd-token");

    /// <summary>The token of <paramref name="dataDir"/>, created on first use (once, also when nodes start together).</summary>
    public static string LoadOrCreate(string dataDir) =>
        PrivateFiles.LoadOrCreateToken(PathIn(dataDir), () => TryRead(dataDir), token => token + "\n");

    /// <summary>The token of <paramref name="dataDir"/>, or null when there is none (or it cannot be read).</summary>
    public static string? TryRead(string dataDir)
    {
        try
        {
            var text = File.ReadAllText(PathIn(dataDir)).Trim();
            return text.Length == 0 ? null : text;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
