using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using AkkaKube.Tests.Infrastructure;

namespace AkkaKube.Tests.Kubelet;

/// <summary>Process-level: containers never outlive their node process, even after kill -9 of the node.</summary>
public sealed class NoOrphanProcessTests
{

    /// <summary>PIDs of processes whose environment holds NAME=value.</summary>
    private static List<int> ProcessesWithEnv(string entry)
    {
        var pids = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            try
            {
                var env = File.ReadAllText(Path.Combine(dir, "environ"));
                if (env.Split('\0').Contains(entry) && !File.ReadAllText(Path.Combine(dir, "stat")).Contains(") Z ")) pids.Add(pid);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
        return pids;
    }

    [Fact]
    public async Task Killing_a_node_process_with_sigkill_leaves_no_container_process_behind()
    {
        using var dir = new TempDir();
        var port = FreePort.Next();
        var apiPort = FreePort.Next();
        var marker = "AKKAKUBE_TEST_MARK=" + Guid.NewGuid().ToString("N");
        var psi = new ProcessStartInfo(Path.Combine(AppContext.BaseDirectory, "akkakube-node"))
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in new[]
                 {
                     "--node-name", "orphan-test", "--roles", "control-plane,worker", "--port", port.ToString(),
                     "--seed", $"akka.tcp://akkakube@127.0.0.1:{port}", "--api-port", apiPort.ToString(),
                     "--cmd-port", FreePort.Next().ToString(), "--data-dir", dir.Path, "--pod-cidr", "127.64.201.0/24",
                 })
            psi.ArgumentList.Add(a);
        using var node = Process.Start(psi)!;
        node.OutputDataReceived += (_, _) => { };
        node.ErrorDataReceived += (_, _) => { };
        node.BeginOutputReadLine();
        node.BeginErrorReadLine();
        var pids = new List<int>();
        try
        {
            // the admin kubeconfig from the node's own cluster CA, as `up` writes it
            using var http = Actors.Security.KubeconfigCredentials.Load(AkkaKube.Cli.LocalClusterLauncher.WriteKubeconfig(dir.Path, apiPort))
                .CreateClient(TimeSpan.FromSeconds(10), h => h.UseProxy = false);
            var (name, value) = (marker.Split('=')[0], marker.Split('=')[1]);
            var pod = new JsonObject
            {
                ["apiVersion"] = "v1", ["kind"] = "Pod",
                ["metadata"] = new JsonObject { ["name"] = "survivor" },
                ["spec"] = new JsonObject
                {
                    ["nodeName"] = "orphan-test",
                    ["containers"] = new JsonArray(
                        new JsonObject { ["name"] = "echo", ["image"] = "akkakube/echo", ["env"] = new JsonArray(new JsonObject { ["name"] = name, ["value"] = value }) },
                        new JsonObject
                        {
                            ["name"] = "shell", ["image"] = "busybox",
                            // A shell with a background child that ignores SIGTERM: the whole group must go.
                            ["command"] = new JsonArray("sh", "-c", "trap '' TERM; sleep 600 & sleep 600"),
                            ["env"] = new JsonArray(new JsonObject { ["name"] = name, ["value"] = value }),
                        }),
                },
            };
            var deadline = DateTime.UtcNow.AddSeconds(90);
            while (true)
            {
                try
                {
                    using var r = await http.PostAsync("/api/v1/namespaces/default/pods", new StringContent(pod.ToJsonString(), Encoding.UTF8, "application/json"));
                    if (r.IsSuccessStatusCode || r.StatusCode == HttpStatusCode.Conflict) break;
                }
                catch (HttpRequestException) { }
                if (DateTime.UtcNow > deadline || node.HasExited) throw new TimeoutException("the node's apiserver did not accept the pod");
                await Task.Delay(200);
            }
            while ((pids = ProcessesWithEnv(marker)).Count < 4) // echo + shell + 2 sleeps
            {
                if (DateTime.UtcNow > deadline) throw new TimeoutException($"containers did not start (found {pids.Count} processes)");
                await Task.Delay(200);
            }

            node.Kill(); // SIGKILL, no chance to clean up
            await node.WaitForExitAsync();

            var gone = DateTime.UtcNow.AddSeconds(15);
            while (ProcessesWithEnv(marker).Count > 0 && DateTime.UtcNow < gone) await Task.Delay(100);
            Assert.Empty(ProcessesWithEnv(marker));
        }
        finally
        {
            if (!node.HasExited) node.Kill(entireProcessTree: true);
            foreach (var pid in ProcessesWithEnv(marker))
                try { Process.GetProcessById(pid).Kill(); } catch (ArgumentException) { } catch (InvalidOperationException) { }
        }
    }
}
