using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace AkkaKube.Cli;

/// <summary>One node as a host of `up --hosts netns`: its network namespace, its address on the cluster's bridge, its pod range.</summary>
public sealed record HostPlan(string Node, string Namespace, string HostVeth, string Ip, string PodCidr);

/// <summary>
/// `akkakube up --hosts netns`: every node process on its own "machine", a network namespace with one veth into the
/// cluster's bridge, as if each were a host on one L2 segment. The cluster owns one /16 (`--hosts-cidr`, default
/// 198.18.0.0/16 from RFC 2544's benchmarking range, never routed on the Internet and rarely used in LANs): node i of
/// the cluster (1…250) is A.B.0.i/24 on the bridge, the host is A.B.0.254 (so kubectl reaches the apiservers), and
/// node i's pods are A.B.i.0/24 — routed, as a simple routed CNI does: each node, started with --pod-routes, keeps a route
/// per other Node in its namespace and its own /24 as a local route on lo (pod processes bind their pod IP there, as they
/// bind 127.64.k.x on loopback), exactly as it would on a real machine; the host gets a route per node from here. Nothing is NATed or forwarded off the bridge: traffic never leaves the machine.
/// Everything made is listed in DATA/hosts.json before it is made, so `down` (or the next `up`) removes what a crashed
/// `up` left. Deleting a namespace deletes its end of the veth, its routes and its nftables tables with it.
/// </summary>
public static class HostNetwork
{
    public const string DefaultCidr = "198.18.0.0/16";
    public const string FileName = "hosts.json";
    /// <summary>Fixed ports: every namespace is its own port space, so no port needs picking (below the ephemeral range).</summary>
    public const int RemotingPort = 7100, CmdPort = 7101, MetricsPort = 7102;

    /// <summary>What `up` made (and `down` removes): namespaces, host-side links (the bridge and veths), host routes.</summary>
    public sealed record Record
    {
        public string Cidr { get; init; } = DefaultCidr;
        public string Bridge { get; init; } = "";
        public List<string> Namespaces { get; init; } = [];
        public List<string> Links { get; init; } = [];
        public List<string> Routes { get; init; } = [];
    }

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public static string PathIn(string dataDir) => Path.Combine(dataDir, FileName);

    /// <summary>Why this machine cannot run `--hosts netns` (one line naming what is missing), null when it can.</summary>
    public static string? Missing()
    {
        if (!OperatingSystem.IsLinux()) return "needs Linux network namespaces";
        if (!Environment.IsPrivilegedProcess) return "needs root (network namespaces, veths and a bridge are made with `ip`)";
        foreach (var tool in new[] { "ip", "nsenter" })
            if (Which(tool) is null) return $"needs `{tool}` on PATH (apt-get install {(tool == "ip" ? "iproute2" : "util-linux")})";
        return null;
    }

    public static string? Which(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin").Split(':')
        .Concat(["/usr/sbin", "/sbin"]).Select(d => Path.Combine(d, tool)).FirstOrDefault(File.Exists);

    /// <summary>The /16 of <paramref name="cidr"/> as its first two octets; a one-line error when it is not an IPv4 /16 outside 127/8.</summary>
    public static (byte A, byte B) ParseCidr(string cidr)
    {
        var parts = cidr.Split('/');
        if (parts.Length != 2 || parts[1] != "16" || !IPAddress.TryParse(parts[0], out var ip) || ip.GetAddressBytes() is not { Length: 4 } b || b[2] != 0 || b[3] != 0)
            throw new CliException($"--hosts-cidr '{cidr}' must be an IPv4 /16 such as {DefaultCidr}");
        if (b[0] is 127 or 0 or >= 224) throw new CliException($"--hosts-cidr '{cidr}' must be a routable unicast range (not loopback or multicast)");
        return (b[0], b[1]);
    }

    /// <summary>
    /// Short names from the data directory: link names have at most 15 characters, so the bridge is akb-XXXXXX and the host
    /// ends of the veths akvXXXXXX-i; namespaces are akk-CLUSTER-NODE (CLUSTER the name, or XXXXXX for an unnamed cluster).
    /// </summary>
    public static string ShortId(string dataDir) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Path.GetFullPath(dataDir))))[..6];

    public static IReadOnlyList<HostPlan> Plan(string cidr, string dataDir, string? clusterName, IReadOnlyList<PlannedNode> nodes)
    {
        var (a, b) = ParseCidr(cidr);
        var id = ShortId(dataDir);
        var prefix = clusterName is { Length: > 0 and <= 30 } name && name != ClusterRegistry.DefaultName ? name : id;
        var plans = new List<HostPlan>();
        for (var i = 0; i < nodes.Count; i++)
        {
            var k = i + 1;
            if (k > 250) throw new CliException("--hosts netns: at most 250 nodes per cluster (one /24 of node addresses)");
            plans.Add(new HostPlan(nodes[i].Name, $"akk-{prefix}-{nodes[i].Name}", $"akv{id}-{k}", $"{a}.{b}.0.{k}", $"{a}.{b}.{k}.0/24"));
        }
        return plans;
    }

    public static string HostAddress(string cidr)
    {
        var (a, b) = ParseCidr(cidr);
        return $"{a}.{b}.0.254";
    }

    /// <summary>
    /// Makes the bridge, a namespace per node with its veth, address and routes. Removes first what an earlier `up` of
    /// this data directory left (DATA/hosts.json); refuses a range the host already routes (another cluster, a LAN).
    /// </summary>
    public static void Create(string dataDir, string cidr, IReadOnlyList<HostPlan> hosts)
    {
        Remove(dataDir);
        var (a, b) = ParseCidr(cidr);
        var inUse = Ip(["-4", "-o", "route", "show", "root", $"{a}.{b}.0.0/16"], check: false);
        if (inUse.Output.Trim().Length > 0)
            throw new CliException($"--hosts-cidr {cidr}: the host already routes addresses in it ({inUse.Output.Trim().Split('\n')[0]}); another cluster or network uses it, choose another /16");
        var existing = Ip(["netns", "list"], check: false).Output;
        foreach (var h in hosts)
            if (existing.Split('\n').Any(l => l.Split(' ')[0] == h.Namespace))
                throw new CliException($"network namespace {h.Namespace} already exists (another cluster of that name?); remove it with `ip netns delete {h.Namespace}`");

        var bridge = $"akb-{ShortId(dataDir)}";
        var record = new Record { Cidr = cidr, Bridge = bridge };
        void Note(Action<Record> change)
        {
            change(record);
            var path = PathIn(dataDir);
            File.WriteAllText(path + ".tmp", JsonSerializer.Serialize(record, Json));
            File.Move(path + ".tmp", path, overwrite: true);
        }

        Note(r => r.Links.Add(bridge));
        Ip(["link", "add", bridge, "type", "bridge"]);
        Ip(["addr", "add", $"{HostAddress(cidr)}/24", "dev", bridge]);
        Ip(["link", "set", bridge, "up"]);
        foreach (var h in hosts)
        {
            Note(r => { r.Namespaces.Add(h.Namespace); r.Links.Add(h.HostVeth); });
            Ip(["netns", "add", h.Namespace]);
            Ip(["link", "add", h.HostVeth, "type", "veth", "peer", "name", "eth0", "netns", h.Namespace]);
            Ip(["link", "set", h.HostVeth, "master", bridge, "up"]);
            Ip(["-n", h.Namespace, "link", "set", "lo", "up"]);
            Ip(["-n", h.Namespace, "addr", "add", $"{h.Ip}/24", "dev", "eth0"]);
            Ip(["-n", h.Namespace, "link", "set", "eth0", "up"]);
            // The routes inside the namespace are the node's own business, as on a real machine: started with --pod-routes
            // it makes its pod /24 local (AnyIP on lo) and routes every other Node's podCIDR via that node (PodRoutesActor).
        }
        foreach (var h in hosts)
        {
            Note(r => r.Routes.Add(h.PodCidr));
            Ip(["route", "add", h.PodCidr, "via", h.Ip, "dev", bridge]);
        }
    }

    /// <summary>Removes every namespace, link and route DATA/hosts.json lists (those already gone are skipped); true when there was a record.</summary>
    public static bool Remove(string dataDir)
    {
        var path = PathIn(dataDir);
        if (!File.Exists(path)) return false;
        Record record;
        try
        {
            record = JsonSerializer.Deserialize<Record>(File.ReadAllText(path), Json) ?? new Record();
        }
        catch (JsonException e)
        {
            throw new CliException($"cannot read '{path}': {e.Message.Split('\n')[0]}");
        }
        var failures = new List<string>();
        foreach (var route in record.Routes)
            Ip(["route", "del", route], check: false);
        foreach (var ns in record.Namespaces)
            if (NamespaceExists(ns) && Ip(["netns", "delete", ns], check: false) is { Exit: not 0 } r)
                failures.Add($"netns {ns}: {r.Error.Trim()}");
        // A veth's host end goes with its namespace (asynchronously): only a link still there after delete is a failure.
        foreach (var link in record.Links.AsEnumerable().Reverse())
            if (LinkExists(link) && Ip(["link", "delete", link], check: false) is { Exit: not 0 } r && LinkExists(link))
                failures.Add($"link {link}: {r.Error.Trim()}");
        if (failures.Count > 0) throw new CliException($"could not remove {string.Join("; ", failures)} (listed in {path})");
        File.Delete(path);
        return true;
    }

    public static bool LinkExists(string link) => Directory.Exists(Path.Combine("/sys/class/net", link));

    public static bool NamespaceExists(string ns) => File.Exists(Path.Combine("/run/netns", ns));

    /// <summary>The command run inside the namespace: nsenter joins only its network namespace and execs (same PID, same mounts).</summary>
    public static IReadOnlyList<string> InNamespace(string ns, IReadOnlyList<string> command) =>
        ["nsenter", $"--net=/run/netns/{ns}", "--", .. command];

    public sealed record Result(int Exit, string Output, string Error);

    public static Result Ip(IReadOnlyList<string> args, bool check = true) => Run("ip", args, check);

    public static Result Run(string tool, IReadOnlyList<string> args, bool check = true, string? stdin = null)
    {
        var psi = new ProcessStartInfo(Which(tool) ?? tool) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = stdin is not null };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new CliException($"cannot start {tool}");
        if (stdin is not null)
        {
            p.StandardInput.Write(stdin);
            p.StandardInput.Close();
        }
        var output = p.StandardOutput.ReadToEndAsync();
        var error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        var result = new Result(p.ExitCode, output.Result, error);
        if (check && p.ExitCode != 0)
            throw new CliException($"{tool} {string.Join(' ', args)}: {error.Trim().Split('\n')[0]}");
        return result;
    }
}
