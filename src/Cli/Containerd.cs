using System.Diagnostics;
using System.Text.Json.Nodes;
using AkkaKube.Actors.Runtime.Cri;

namespace AkkaKube.Cli;

/// <summary>
/// The containerd of one worker node for the `cri` runtime, in its own directory: its own root, state, socket and
/// CNI configuration (a bridge with host-local IPAM on the node's pod CIDR), so nodes on one machine stay as separate as
/// nodes on separate machines. The pod sandbox image is akkakube/pause (scripts/build-test-images.sh, loaded with
/// <see cref="Import"/>).
/// </summary>
public sealed record ContainerdNode(string Directory, string NodeName, string PodCidr, string Bridge)
{
    public const string SandboxImage = "docker.io/akkakube/pause:latest";
    public const string CniBinDir = "/usr/lib/cni";

    public string Socket => Path.Combine(Directory, "containerd.sock");
    public string Endpoint => "unix://" + Socket;
    public string ConfigFile => Path.Combine(Directory, "config.toml");
    public string LogFile => Path.Combine(Directory, "containerd.log");
    public string CniConfDir => Path.Combine(Directory, "cni");

    /// <summary>The pod CIDR of worker <paramref name="ordinal"/> of a containerd cluster (docs/kubelet.md: 10.244.0.0/16, one /24 per node).</summary>
    public static string PodCidrFor(int ordinal) => $"10.244.{ordinal % 256}.0/24";

    /// <summary>What this machine lacks for containerd nodes, as one line; null when nothing.</summary>
    public static string? Missing()
    {
        var missing = new List<string>();
        if (!OperatingSystem.IsLinux() || !Environment.IsPrivilegedProcess) missing.Add("root");
        foreach (var tool in new[] { "containerd", "runc", "ctr" })
            if (!OnPath(tool)) missing.Add(tool);
        foreach (var plugin in new[] { "bridge", "host-local", "loopback" })
            if (!File.Exists(Path.Combine(CniBinDir, plugin))) missing.Add($"{CniBinDir}/{plugin} (containernetworking-plugins)");
        return missing.Count == 0 ? null : "needs " + string.Join(", ", missing);
    }

    private static bool OnPath(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries).Append("/usr/sbin").Append("/sbin")
            .Any(dir => File.Exists(Path.Combine(dir, tool)));

    /// <summary>Writes containerd's config and the node's CNI network; a socket path too long for unix sockets is refused.</summary>
    public void WriteConfig()
    {
        if (Socket.Length > 100)
            throw new CliException($"containerd socket path '{Socket}' is too long for a unix socket (max 100 characters): use a shorter --data-dir");
        System.IO.Directory.CreateDirectory(Directory);
        System.IO.Directory.CreateDirectory(CniConfDir);
        File.WriteAllText(ConfigFile, $"""
            # containerd of AkkaKube node {NodeName} (written by akkakube; see docs/kubelet.md)
            version = 2
            root = "{Path.Combine(Directory, "root")}"
            state = "{Path.Combine(Directory, "state")}"
            [grpc]
              address = "{Socket}"
            [ttrpc]
              address = "{Socket}.ttrpc"
            [plugins."io.containerd.internal.v1.opt"]
              path = "{Path.Combine(Directory, "opt")}"
            [plugins."io.containerd.grpc.v1.cri"]
              sandbox_image = "{SandboxImage}"
              stream_server_address = "127.0.0.1"
              stream_server_port = "0"
              # Sandboxes ask for oom_score_adj -998; clamp to what this process may set (a container host may refuse lowering it).
              restrict_oom_score_adj = true
              # The pods' network namespaces live under this node's state directory, not in the machine-wide /var/run/netns:
              # a dead "machine" takes them with it when its directory is unmounted, even a sandbox whose processes are gone.
              netns_mounts_under_state_dir = true
              [plugins."io.containerd.grpc.v1.cri".containerd]
                snapshotter = "overlayfs"
                default_runtime_name = "runc"
                [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
                  runtime_type = "io.containerd.runc.v2"
              [plugins."io.containerd.grpc.v1.cri".cni]
                bin_dir = "{CniBinDir}"
                conf_dir = "{CniConfDir}"
            """);
        var network = new JsonObject
        {
            ["cniVersion"] = "0.4.0",
            ["name"] = "akkakube-" + NodeName,
            ["plugins"] = new JsonArray(
                new JsonObject
                {
                    ["type"] = "bridge", ["bridge"] = Bridge, ["isGateway"] = true, ["ipMasq"] = false, ["hairpinMode"] = true,
                    ["ipam"] = new JsonObject
                    {
                        ["type"] = "host-local",
                        ["ranges"] = new JsonArray(new JsonArray(new JsonObject { ["subnet"] = PodCidr })),
                        ["routes"] = new JsonArray(new JsonObject { ["dst"] = "0.0.0.0/0" }),
                        ["dataDir"] = Path.Combine(Directory, "ipam"),
                    },
                },
                new JsonObject { ["type"] = "loopback" }),
        };
        File.WriteAllText(Path.Combine(CniConfDir, "10-akkakube.conflist"), network.ToJsonString());
    }

    /// <summary>Starts containerd in its own session (it outlives this command, as the node processes do); returns its PID.</summary>
    public int Start()
    {
        WriteConfig();
        var psi = new ProcessStartInfo("setsid") { UseShellExecute = false, RedirectStandardInput = true };
        psi.ArgumentList.Add("sh");
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("exec containerd --config \"$1\" >>\"$2\" 2>&1 </dev/null");
        psi.ArgumentList.Add("containerd");
        psi.ArgumentList.Add(ConfigFile);
        psi.ArgumentList.Add(LogFile);
        using var p = Process.Start(psi) ?? throw new CliException("could not start containerd");
        return p.Id;
    }

    /// <summary>Waits until containerd answers CRI Version on its socket; returns e.g. "containerd 1.6.20 (CRI v1)".</summary>
    public async Task<string> WaitReadyAsync(TimeSpan timeout, CancellationToken ct = default)
    {
        var deadline = DateTime.UtcNow + timeout;
        Exception? last = null;
        while (DateTime.UtcNow < deadline)
        {
            if (File.Exists(Socket))
            {
                using var cri = new CriRuntime(Endpoint, NodeName, "/akkakube/" + NodeName);
                try { return await cri.VersionAsync(ct); }
                catch (Exception e) when (e is Grpc.Core.RpcException or HttpRequestException) { last = e; }
            }
            await Task.Delay(200, ct);
        }
        throw new CliException($"containerd of {NodeName} did not answer on {Socket} within {timeout.TotalSeconds:0}s ({last?.Message ?? "no socket"}); see {LogFile}");
    }

    /// <summary>
    /// A worker's containerd goes with its machine (`down`, `chaos kill`, a reboot): its shims (they name its socket) and
    /// the containers of its pods (by their cgroup, <see cref="KillContainers"/>), then containerd, then the node's bridge.
    /// Nothing is removed through CRI: as after a power loss, the next containerd finds the sandboxes not ready.
    /// </summary>
    public static void Stop(string directory, string nodeName, int pid)
    {
        var socket = Path.Combine(directory, "containerd.sock");
        foreach (var shim in NodeProcesses.Mentioning(socket)) NodeProcesses.Signal(shim, NodeProcesses.SigKill);
        KillContainers(nodeName);
        if (NodeProcesses.Mentioning(directory).Contains(pid)) NodeProcesses.Signal(pid, NodeProcesses.SigTerm);
        RemoveBridge(directory);
        UnmountUnder(directory);
    }

    /// <summary>
    /// Kills every process of the node's pods — everything in the kubelet's cgroup parent /akkakube/NODE — and removes
    /// the emptied cgroups. A container outlives its killed shim (runc re-parents it to init), so without this a dead
    /// "machine" would leave its pods running. Their network namespaces are bind mounts under the node's state
    /// directory (`netns_mounts_under_state_dir`), freed by <see cref="UnmountUnder"/> with the rest of its mounts.
    /// </summary>
    public static void KillContainers(string nodeName)
    {
        var roots = new[] { "pids", "unified", "" }.Select(h => Path.Combine("/sys/fs/cgroup", h, "akkakube", nodeName)).Where(System.IO.Directory.Exists).ToList();
        if (roots.Count == 0) return;
        var cgroups = System.IO.Directory.EnumerateDirectories(roots[0], "*", SearchOption.AllDirectories).Append(roots[0]).ToList();
        foreach (var pid in cgroups.SelectMany(ProcsOf)) NodeProcesses.Signal(pid, NodeProcesses.SigKill);
        // Empty cgroups, deepest first, in every hierarchy (a process may take a moment to leave its cgroup after SIGKILL).
        for (var attempt = 0; attempt < 20; attempt++)
        {
            var left = 0;
            foreach (var root in roots)
                foreach (var dir in System.IO.Directory.EnumerateDirectories(root, "*", SearchOption.AllDirectories).Append(root).OrderByDescending(d => d.Length).ToList())
                    try { System.IO.Directory.Delete(dir); }
                    catch (Exception e) when (e is IOException or UnauthorizedAccessException) { left++; }
            if (left == 0) return;
            Thread.Sleep(100);
        }
    }

    private static List<int> ProcsOf(string cgroup)
    {
        try
        {
            return File.ReadAllLines(Path.Combine(cgroup, "cgroup.procs")).Select(l => int.TryParse(l, out var pid) ? pid : 0).Where(pid => pid > 0).ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    /// <summary>
    /// Lazily unmounts what is still mounted under <paramref name="directory"/>, deepest first: the sandboxes' /dev/shm
    /// and the containers' rootfs of a containerd whose shims were killed (nobody unmounts them then, and the directory
    /// cannot be removed).
    /// </summary>
    public static void UnmountUnder(string directory)
    {
        var prefix = Path.GetFullPath(directory).TrimEnd('/') + "/";
        List<string> mounts;
        try
        {
            // /proc/self/mounts escapes spaces and the like as \040 (octal): the paths here have none.
            mounts = File.ReadAllLines("/proc/self/mounts").Select(l => l.Split(' ')).Where(f => f.Length > 1 && f[1].StartsWith(prefix, StringComparison.Ordinal))
                .Select(f => f[1]).OrderByDescending(m => m.Length).ToList();
        }
        catch (IOException)
        {
            return;
        }
        foreach (var mount in mounts)
        {
            try
            {
                using var p = Process.Start(new ProcessStartInfo("umount", ["-l", mount]) { UseShellExecute = false, RedirectStandardError = true });
                p?.WaitForExit(5000);
            }
            catch (System.ComponentModel.Win32Exception) { }
        }
    }

    /// <summary>The containerd of a node of cluster.json, with the bridge its CNI config names (to start it again).</summary>
    public static ContainerdNode Of(string directory, string nodeName, string podCidr) => new(directory, nodeName, podCidr, BridgeOf(directory) ?? "");

    private static string? BridgeOf(string directory)
    {
        try
        {
            var conf = JsonNode.Parse(File.ReadAllText(Path.Combine(directory, "cni", "10-akkakube.conflist")));
            return conf?["plugins"]?[0]?["bridge"]?.GetValue<string>() is { Length: > 0 } bridge ? bridge : null;
        }
        catch (Exception e) when (e is IOException or System.Text.Json.JsonException or InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>After containerd stopped: removes the node's bridge (named in its CNI config), which outlives containerd.</summary>
    public static void RemoveBridge(string directory)
    {
        try
        {
            if (BridgeOf(directory) is not { } bridge) return;
            using var p = Process.Start(new ProcessStartInfo("ip", ["link", "delete", bridge]) { UseShellExecute = false, RedirectStandardError = true });
            p?.WaitForExit(5000);
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException) { }
    }

    /// <summary>Imports an OCI or docker image archive into this containerd's k8s.io namespace (where CRI looks), as `kind load image-archive`.</summary>
    public async Task<string> ImportAsync(string archive, CancellationToken ct = default)
    {
        var psi = new ProcessStartInfo("ctr") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "--address", Socket, "--namespace", "k8s.io", "images", "import", archive }) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new CliException("could not run ctr");
        var output = p.StandardOutput.ReadToEndAsync(ct);
        var error = p.StandardError.ReadToEndAsync(ct);
        await p.WaitForExitAsync(ct);
        if (p.ExitCode != 0)
            throw new CliException($"importing {archive} into {NodeName}: {(await error).Trim().Split('\n')[^1]}");
        return (await output).Trim();
    }
}
