using System.Globalization;
using System.Net;

namespace AkkaKube.Cli;

/// <summary>
/// The per-user list of clusters, like kind's: AKKAKUBE_HOME (default ~/.akkakube)/clusters/NAME. A named cluster
/// keeps its data there unless `up --data-dir` put it elsewhere, in which case the entry holds a `data-dir` file
/// naming it. A cluster started without --name is registered as <see cref="DefaultName"/> with its data directory
/// (.akkakube by default, as the README's first command).
/// </summary>
public static class ClusterRegistry
{
    public const string DefaultName = "default";
    private const string PointerFile = "data-dir";

    public static string Home => Environment.GetEnvironmentVariable("AKKAKUBE_HOME") is { Length: > 0 } home
        ? Path.GetFullPath(home)
        : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".akkakube");

    public static string EntryOf(string name) => Path.Combine(Home, "clusters", name);

    public static void CheckName(string name)
    {
        if (!Host.NodeCommandLine.IsDns1123Label(name) || name.Length > 40)
            throw new CliException($"--name '{name}' must be a DNS-1123 label of at most 40 characters (lower-case letters, digits, '-')", 2);
    }

    /// <summary>The data directory of cluster <paramref name="name"/>: the one it was registered with, else its entry directory.</summary>
    public static string DataDirectoryOf(string name)
    {
        var pointer = Path.Combine(EntryOf(name), PointerFile);
        return File.Exists(pointer) ? File.ReadAllText(pointer).Trim() : EntryOf(name);
    }

    /// <summary>Records that cluster <paramref name="name"/> lives in <paramref name="dataDir"/>.</summary>
    public static void Register(string name, string dataDir)
    {
        var entry = EntryOf(name);
        Directory.CreateDirectory(entry);
        var pointer = Path.Combine(entry, PointerFile);
        if (Path.GetFullPath(dataDir) == Path.GetFullPath(entry)) File.Delete(pointer);
        else File.WriteAllText(pointer, Path.GetFullPath(dataDir) + "\n");
    }

    /// <summary>Forgets <paramref name="name"/> (its entry directory, which is also its data when it has no pointer).</summary>
    public static void Unregister(string name)
    {
        var entry = EntryOf(name);
        if (Directory.Exists(entry)) Directory.Delete(entry, recursive: true);
    }

    /// <summary>Every registered cluster: (name, data directory, its cluster.json if any).</summary>
    public static IReadOnlyList<(string Name, string DataDirectory, ClusterState? State)> List()
    {
        var root = Path.Combine(Home, "clusters");
        if (!Directory.Exists(root)) return [];
        var result = new List<(string, string, ClusterState?)>();
        foreach (var dir in Directory.GetDirectories(root).Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(dir);
            var data = DataDirectoryOf(name);
            ClusterState? state;
            try
            {
                state = Directory.Exists(data) ? ClusterState.Load(data) : null;
            }
            catch (CliException)
            {
                state = null;
            }
            result.Add((name, data, state));
        }
        return result;
    }

    /// <summary>
    /// An address block no live cluster uses: none registered and running on it, and no socket listening on one of its
    /// node addresses (127.1.B.x) — a cluster of another user or a test run. Blocks 25–63 first: tests take 1–24.
    /// </summary>
    public static int FreeAddressBlock()
    {
        var used = List().Where(c => c.State is { } s && LocalClusterLauncher.Alive(s).Count > 0).Select(c => c.State!.AddressBlock).ToHashSet();
        var listening = ListeningBlocks();
        foreach (var block in Enumerable.Range(25, 39).Concat(Enumerable.Range(1, 24)))
            if (!used.Contains(block) && !listening.Contains(block)) return block;
        throw new CliException("every address block (1-63) is in use by a running cluster; stop one with `akkakube down --name NAME`");
    }

    /// <summary>Blocks B with a listening TCP socket on 127.1.B.x (from /proc/net/tcp; empty where it cannot be read).</summary>
    private static HashSet<int> ListeningBlocks()
    {
        var blocks = new HashSet<int>();
        try
        {
            foreach (var line in File.ReadLines("/proc/net/tcp").Skip(1))
            {
                var cols = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (cols.Length < 4 || cols[3] != "0A") continue; // 0A = LISTEN
                var hex = cols[1].Split(':')[0];
                // little-endian hex of the IPv4 address: "0101017F" = 127.1.1.1
                var ip = new IPAddress(BitConverter.GetBytes(uint.Parse(hex, NumberStyles.HexNumber)));
                var b = ip.GetAddressBytes();
                if (b[0] == 127 && b[1] == 1) blocks.Add(b[2]);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException) { }
        return blocks;
    }
}
