using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace AkkaKube.Cli;

/// <summary>Finding, checking and signalling node processes by PID (Linux: /proc and kill(2)).</summary>
public static class NodeProcesses
{
    public const int SigTerm = 15;
    public const int SigKill = 9;

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    /// <summary>True when <paramref name="pid"/> is a live (not zombie) process whose command line names <c>--node-name <paramref name="name"/></c>.</summary>
    public static bool IsNodeAlive(int pid, string name)
    {
        if (pid <= 0) return false;
        try
        {
            var cmdline = File.ReadAllBytes($"/proc/{pid}/cmdline");
            // Empty: a zombie, a kernel thread — or a process in the middle of execve (sh → setsid → node right after
            // start), whose new image has no arguments mapped yet; on a loaded host that window is long enough to
            // be seen, so look again a few times before calling the node dead.
            for (var attempt = 0; cmdline.Length == 0 && attempt < 10 && !IsZombie(pid); attempt++)
            {
                Thread.Sleep(20);
                cmdline = File.ReadAllBytes($"/proc/{pid}/cmdline");
            }
            if (cmdline.Length == 0) return false;
            var args = Encoding.UTF8.GetString(cmdline).Split('\0');
            for (var i = 0; i + 1 < args.Length; i++)
                if (args[i] == "--node-name" && args[i + 1] == name)
                    return !IsZombie(pid);
            return false;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static bool IsZombie(int pid) => StateOf(pid) is null or 'Z' or 'X';

    /// <summary>The process state letter of /proc/PID/stat (R, S, T stopped, Z zombie, …); null when there is no such process.</summary>
    public static char? StateOf(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var close = stat.LastIndexOf(')');
            return close > 0 && close + 2 < stat.Length ? stat[close + 2] : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Live processes whose command line contains <paramref name="text"/> (e.g. the shims of one containerd, which name its socket).</summary>
    public static IReadOnlyList<int> Mentioning(string text)
    {
        var pids = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid) || pid == Environment.ProcessId) continue;
            try
            {
                if (Encoding.UTF8.GetString(File.ReadAllBytes(Path.Combine(dir, "cmdline"))).Replace('\0', ' ').Contains(text, StringComparison.Ordinal) && !IsZombie(pid))
                    pids.Add(pid);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
        return pids;
    }

    public static void Signal(int pid, int signal)
    {
        if (pid > 0) Kill(pid, signal);
    }

    /// <summary>
    /// Starts <paramref name="command"/> detached: its own session (setsid, so a terminal hang-up or the CLI's exit
    /// does not reach it), stdin from /dev/null, stdout+stderr appended to <paramref name="logFile"/>. The node's own
    /// command line stays visible in ps (sh and setsid exec into it, keeping the PID).
    /// </summary>
    public static int StartDetached(IReadOnlyList<string> command, string logFile)
    {
        var setsid = new[] { "/usr/bin/setsid", "/bin/setsid" }.FirstOrDefault(File.Exists);
        var psi = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add((setsid is null ? "exec \"$@\"" : $"exec {setsid} \"$@\"") + " >>\"$AKKAKUBE_NODE_LOG\" 2>&1 </dev/null");
        psi.ArgumentList.Add("akkakube-node");
        foreach (var a in command) psi.ArgumentList.Add(a);
        psi.Environment["AKKAKUBE_NODE_LOG"] = logFile;
        // Until a component binds Kestrel itself, ASP.NET's default (localhost:5000) would collide between nodes:
        // a free port instead. The apiserver's explicit listen endpoints take precedence over this default.
        psi.Environment["ASPNETCORE_URLS"] = "http://127.0.0.1:0";
        using var process = Process.Start(psi) ?? throw new CliException($"cannot start {command[0]}");
        return process.Id;
    }

    /// <summary>The node binary beside this assembly: the apphost `akkakube-node` if present, else `dotnet akkakube-node.dll`.</summary>
    public static IReadOnlyList<string> NodeBinary()
    {
        var dir = AppContext.BaseDirectory;
        var apphost = Path.Combine(dir, "akkakube-node");
        if (File.Exists(apphost)) return [apphost];
        var dll = Path.Combine(dir, "akkakube-node.dll");
        if (File.Exists(dll)) return [Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet", dll];
        throw new CliException($"the node binary akkakube-node is not beside akkakube in {dir} (build src/Cli, which builds src/Host)");
    }
}
