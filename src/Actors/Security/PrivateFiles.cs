namespace AkkaKube.Actors.Security;

/// <summary>
/// Files only the cluster's own user may read: the data directory (0700) and keys, tokens and the store (0600).
/// Pods run as the node's user too, so the modes keep other local users out, not the pods; see docs/security.md.
/// </summary>
public static class PrivateFiles
{
    public const UnixFileMode DirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    public const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>
    /// Creates <paramref name="path"/> (and parents) and narrows it to 0700. A shared directory (world-writable, like /tmp)
    /// is refused rather than narrowed: closing /tmp to everyone else would break the machine, and keys do not belong there.
    /// </summary>
    public static void EnsureDirectory(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
            return;
        }
        if (Directory.Exists(path) && (File.GetUnixFileMode(path) & (UnixFileMode.OtherWrite | UnixFileMode.StickyBit)) != 0)
            throw new IOException($"'{path}' is a shared directory (writable by every user); give the cluster a directory of its own, e.g. '{Path.Combine(path, "akkakube")}'");
        Directory.CreateDirectory(path, DirectoryMode);
        if (File.GetUnixFileMode(path) != DirectoryMode) File.SetUnixFileMode(path, DirectoryMode);
    }

    /// <summary>Writes <paramref name="text"/> to <paramref name="path"/> with mode 0600 from the first byte on (temp file + rename).</summary>
    public static void WriteAllText(string path, string text) => WriteAtomically(path, System.Text.Encoding.UTF8.GetBytes(text), FileMode);

    /// <summary>
    /// Replaces <paramref name="path"/> atomically: a temp file beside it, created with <paramref name="mode"/>, then renamed
    /// over it, so a reader sees the old content or the new one, never a part.
    /// </summary>
    public static void WriteAtomically(string path, byte[] content, UnixFileMode mode)
    {
        var temp = $"{path}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";
        var options = new FileStreamOptions { Mode = System.IO.FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = mode;
        using (var stream = new FileStream(temp, options))
            stream.Write(content);
        File.Move(temp, path, overwrite: true);
    }

    /// <summary>Creates an empty 0600 file unless one exists (a racing creator wins, which is fine).</summary>
    public static void CreateIfAbsent(string path)
    {
        var options = new FileStreamOptions { Mode = System.IO.FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = FileMode;
        try
        {
            using var _ = new FileStream(path, options);
        }
        catch (IOException) when (File.Exists(path))
        {
        }
    }

    /// <summary>The Unix mode of <paramref name="path"/> (null on Windows).</summary>
    public static UnixFileMode? ModeOf(string path) => OperatingSystem.IsWindows() ? null : File.GetUnixFileMode(path);

    /// <summary>Narrows an existing file to 0600 (e.g. the SQLite store, which the database library creates).</summary>
    public static void Restrict(string path)
    {
        if (OperatingSystem.IsWindows() || !File.Exists(path)) return;
        if (File.GetUnixFileMode(path) != FileMode) File.SetUnixFileMode(path, FileMode);
    }

    /// <summary>
    /// A secret token kept in <paramref name="path"/> (0600): the one <paramref name="read"/> finds, else a new random one
    /// written as <paramref name="contents"/>(token) — once, also when several processes start together.
    /// </summary>
    public static string LoadOrCreateToken(string path, Func<string?> read, Func<string, string> contents)
    {
        EnsureDirectory(Path.GetDirectoryName(path)!);
        return WithLock(path + ".lock", () =>
        {
            if (read() is { } existing) return existing;
            var token = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)).ToLowerInvariant();
            WriteAllText(path, contents(token));
            return token;
        });
    }

    /// <summary>
    /// Runs <paramref name="action"/> holding an exclusive lock file, so processes sharing a data directory
    /// (several local nodes starting at once) create a CA or token once, not each their own.
    /// </summary>
    public static T WithLock<T>(string lockFile, Func<T> action)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        var options = new FileStreamOptions { Mode = System.IO.FileMode.OpenOrCreate, Access = FileAccess.ReadWrite, Share = FileShare.None };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = FileMode;
        FileStream? held = null;
        while (held is null)
        {
            try
            {
                held = new FileStream(lockFile, options);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(50); // another process holds the lock (FileShare.None is flock on Unix)
            }
        }
        using (held)
            return action();
    }
}
