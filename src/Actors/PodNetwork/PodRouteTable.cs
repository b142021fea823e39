using System.Diagnostics;
using System.Net;

namespace AkkaKube.Actors.PodNetwork;

/// <summary>One route to another node's pod range: <see cref="Cidr"/> via the node's address.</summary>
public sealed record PodRoute(string Cidr, string Via);

/// <summary>
/// The kernel routes this node keeps for the pod network, marked with their own routing protocol number
/// (<see cref="PodRouteTable.Protocol"/>) so the node can list and remove exactly its own and never touch another's.
/// </summary>
public interface IPodRouteTable
{
    /// <summary>The routes to other nodes' pod ranges this node installed (main table, our protocol).</summary>
    Task<IReadOnlyList<PodRoute>> ListAsync(CancellationToken ct = default);

    Task ReplaceAsync(PodRoute route, CancellationToken ct = default);

    Task DeleteAsync(PodRoute route, CancellationToken ct = default);
}

/// <summary>
/// <see cref="IPodRouteTable"/> through iproute2's `ip` (as a routed CNI's agent does it; needs CAP_NET_ADMIN), plus the
/// node's own range as a local route on lo, so the process runtime's pods can bind their pod IPs.
/// </summary>
public sealed class PodRouteTable : IPodRouteTable
{
    /// <summary>
    /// The rtnetlink protocol number of AkkaKube's routes (`ip route … proto 177`). 177 is unassigned in iproute2's
    /// rt_protos and by the kernel (which uses up to 99 for daemons it knows: bird 12, zebra 11, babel 42, …).
    /// </summary>
    public const int Protocol = 177;

    private readonly string _ip;

    public PodRouteTable(string ip = "ip") => _ip = ip;

    /// <summary>Makes every address of <paramref name="cidr"/> local to this host (`ip route replace local CIDR dev lo`).</summary>
    public static void EnsureLocal(string cidr, string ip = "ip")
    {
        var (exit, output) = Run(ip, ["-4", "route", "replace", "local", cidr, "dev", "lo", "proto", Protocol.ToString()], CancellationToken.None).GetAwaiter().GetResult();
        if (exit != 0) throw new InvalidOperationException($"`ip route replace local {cidr} dev lo` failed: {output.Trim()}");
    }

    public async Task<IReadOnlyList<PodRoute>> ListAsync(CancellationToken ct = default)
    {
        var (exit, output) = await Run(_ip, ["-4", "-o", "route", "show", "proto", Protocol.ToString()], ct);
        if (exit != 0) throw new InvalidOperationException($"`ip route show proto {Protocol}` failed: {output.Trim()}");
        return Parse(output);
    }

    /// <summary>Parses `ip -o route show` lines of the form "CIDR via IP dev …"; other lines (a local route, a device route) are not ours to manage here.</summary>
    public static IReadOnlyList<PodRoute> Parse(string output)
    {
        var routes = new List<PodRoute>();
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var via = Array.IndexOf(f, "via");
            if (f.Length < 3 || via != 1 || via + 1 >= f.Length) continue;
            var cidr = f[0].Contains('/') ? f[0] : f[0] + "/32";
            routes.Add(new PodRoute(cidr, f[via + 1]));
        }
        return routes;
    }

    public async Task ReplaceAsync(PodRoute route, CancellationToken ct = default)
    {
        var (exit, output) = await Run(_ip, ["-4", "route", "replace", route.Cidr, "via", route.Via, "proto", Protocol.ToString()], ct);
        if (exit != 0) throw new InvalidOperationException($"`ip route replace {route.Cidr} via {route.Via}` failed: {output.Trim()}");
    }

    public async Task DeleteAsync(PodRoute route, CancellationToken ct = default)
    {
        var (exit, output) = await Run(_ip, ["-4", "route", "del", route.Cidr, "via", route.Via, "proto", Protocol.ToString()], ct);
        // Already gone (someone deleted it by hand) is what we wanted.
        if (exit != 0 && !output.Contains("No such process", StringComparison.Ordinal))
            throw new InvalidOperationException($"`ip route del {route.Cidr} via {route.Via}` failed: {output.Trim()}");
    }

    private static async Task<(int Exit, string Output)> Run(string file, IReadOnlyList<string> args, CancellationToken ct)
    {
        var psi = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        try
        {
            using var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {file}");
            var stdout = p.StandardOutput.ReadToEndAsync(ct);
            var stderr = p.StandardError.ReadToEndAsync(ct);
            await p.WaitForExitAsync(ct);
            return (p.ExitCode, await stdout + await stderr);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (127, $"{file}: {e.Message} (install iproute2)");
        }
    }

    /// <summary>A /24 (or any IPv4 CIDR) outside loopback, as a pod range routed between hosts must be.</summary>
    public static bool IsRoutable(string? cidr, out string normalized)
    {
        normalized = "";
        if (cidr is null) return false;
        var parts = cidr.Split('/');
        if (parts.Length != 2 || !IPAddress.TryParse(parts[0], out var ip) || !int.TryParse(parts[1], out var bits) || bits is < 8 or > 32) return false;
        var b = ip.GetAddressBytes();
        if (b.Length != 4 || b[0] == 127 || b[0] == 0) return false;
        normalized = $"{ip}/{bits}";
        return true;
    }
}
