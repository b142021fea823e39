using AkkaKube.Actors.Security;

namespace AkkaKube.Actors.Kubelet;

/// <summary>
/// Writes a volume's files so that a reader sees either the old set or the new one, never a mix (the layout of
/// Kubernetes' atomic writer): the files go into a fresh hidden directory <c>..&lt;timestamp&gt;</c>, the symlink
/// <c>..data</c> is swapped to it with one rename, and every visible top-level name is a symlink through
/// <c>..data</c>. Names no longer in the set disappear with the swap; the previous directory is removed after it.
/// Nothing is written when the files and modes are unchanged.
/// </summary>
public static class AtomicVolumeWriter
{
    public const string DataLink = "..data";

    public static void Write(string dir, IReadOnlyList<(string Path, byte[] Content, UnixFileMode Mode)> files)
    {
        Directory.CreateDirectory(dir);
        var dataLink = Path.Combine(dir, DataLink);
        var current = new FileInfo(dataLink).LinkTarget;
        if (current is not null && Unchanged(Path.Combine(dir, current), files)) return;

        var stamp = $"..{DateTime.UtcNow:yyyy_MM_dd_HH_mm_ss.fffffff}";
        var staging = Path.Combine(dir, stamp);
        Directory.CreateDirectory(staging);
        foreach (var (relative, content, mode) in files)
        {
            var path = Path.Combine(staging, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            PrivateFiles.WriteAtomically(path, content, mode);
        }
        var temp = Path.Combine(dir, DataLink + "_tmp");
        if (File.Exists(temp) || new FileInfo(temp).LinkTarget is not null) File.Delete(temp);
        File.CreateSymbolicLink(temp, stamp);
        // rename(2) is the swap (File.Move refuses a link to a directory: it checks for a file first).
        if (Rename(temp, dataLink) != 0)
            throw new IOException($"cannot swap {dataLink}: errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}");

        var visible = files.Select(f => f.Path.Split('/', 2)[0]).ToHashSet(StringComparer.Ordinal);
        foreach (var name in visible)
        {
            var path = Path.Combine(dir, name);
            var info = new FileInfo(path);
            if (info.LinkTarget is not null) continue;
            // A file or directory of the layout before the atomic writer (or an earlier kubelet): replaced by the link.
            if (Directory.Exists(path)) Directory.Delete(path, recursive: true);
            else if (info.Exists) info.Delete();
            File.CreateSymbolicLink(path, Path.Combine(DataLink, name));
        }
        foreach (var entry in new DirectoryInfo(dir).EnumerateFileSystemInfos())
        {
            if (entry.Name.StartsWith("..", StringComparison.Ordinal))
            {
                // Old timestamped directories (the previous set, or one a crash left half-written).
                if (entry.Name != DataLink && entry.Name != stamp && entry is DirectoryInfo old) old.Delete(recursive: true);
                continue;
            }
            if (!visible.Contains(entry.Name) && entry.LinkTarget is not null) entry.Delete();
        }
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "rename", SetLastError = true)]
    private static extern int Rename(string from, string to);

    private static bool Unchanged(string currentDir, IReadOnlyList<(string Path, byte[] Content, UnixFileMode Mode)> files)
    {
        if (!Directory.Exists(currentDir)) return false;
        var existing = Directory.EnumerateFiles(currentDir, "*", SearchOption.AllDirectories).Count();
        if (existing != files.Count) return false;
        foreach (var (relative, content, mode) in files)
        {
            var path = Path.Combine(currentDir, relative);
            if (!File.Exists(path) || !OperatingSystem.IsWindows() && File.GetUnixFileMode(path) != mode || !File.ReadAllBytes(path).AsSpan().SequenceEqual(content)) return false;
        }
        return true;
    }
}
