using AkkaKube.Tests.Failover;
using AkkaKube.Tests.Infrastructure;
using AkkaKube.Tests.Kubectl;

namespace AkkaKube.Tests.ApiServer.Streaming;

/// <summary>
/// kubectl exec and cp on a real multi-process cluster (the process runtime: commands are host processes with the
/// container's environment), through the apiserver's WebSocket (v5.channel.k8s.io) and the kubelet's exec session.
/// </summary>
public sealed class KubectlExecSpecs(KubectlExecSpecs.Cluster cluster) : IClassFixture<KubectlExecSpecs.Cluster>
{
    public sealed class Cluster : LocalCluster
    {
        public override int Workers => 1;

        public const string Pod = "shell";

        public Dictionary<string, string> Env => new() { ["KUBECONFIG"] = KubeconfigPath, ["HOME"] = DataDirectory };

        public string[] Kubectl(params string[] args) => ["--cache-dir", Path.Combine(DataDirectory, "kubectl-cache"), .. args];

        public Task<ProcessResult> KubectlAsync(params string[] args) =>
            ProcessRunner.RunAsync("kubectl", Kubectl(args), TimeSpan.FromSeconds(120), env: Env);

        /// <summary>Creates a pod (restartPolicy Never) with the given containers list (YAML items at 2 spaces).</summary>
        public async Task ApplyPodAsync(string name, string containers)
        {
            var file = Path.Combine(DataDirectory, name + ".yaml");
            var indented = string.Join('\n', containers.Split('\n').Select(l => "  " + l));
            await File.WriteAllTextAsync(file, $"apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}}}\nspec:\n  restartPolicy: Never\n  terminationGracePeriodSeconds: 1\n  containers:\n{indented}\n");
            var applied = await KubectlAsync("apply", "-f", file);
            Assert.True(applied.ExitCode == 0, applied.Output);
        }

        private Task? _pod;

        /// <summary>The one pod every test execs into, created by the first test (tests of a class run one at a time).</summary>
        public Task PodReady => _pod ??= CreatePodAsync();

        private async Task CreatePodAsync()
        {
            var file = Path.Combine(DataDirectory, "shell.yaml");
            await File.WriteAllTextAsync(file, $$"""
                apiVersion: v1
                kind: Pod
                metadata: {name: {{Pod}}}
                spec:
                  terminationGracePeriodSeconds: 1
                  containers:
                  - name: app
                    image: akkakube/echo
                    ports: [{containerPort: 8080}]
                    env: [{name: GREETING, value: hello-from-env}]
                    # Ready once the echo server listens (port-forward connects to it)
                    readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}
                """);
            // the first write of a kind waits for its store partition to start; kubectl apply does not retry a 504
            await FailoverSupport.EventuallyAsync(async () => (await KubectlAsync("apply", "-f", file)).ExitCode == 0, TimeSpan.FromSeconds(60), "kubectl apply");
            var ready = await KubectlAsync("wait", "--for=condition=Ready", "pod/" + Pod, "--timeout=90s");
            Assert.True(ready.ExitCode == 0, ready.Output);
        }
    }

    private Task SkipWithoutKubectl()
    {
        Skip.If(KubectlRunner.KubectlPath is null, "kubectl is not on PATH");
        return cluster.PodReady;
    }

    [SkippableFact]
    public async Task Exec_runs_in_the_container_environment_and_kubectl_exits_with_the_command_exit_code()
    {
        await SkipWithoutKubectl();
        var r = await cluster.KubectlAsync("exec", Cluster.Pod, "--", "sh", "-c", "echo $HOSTNAME $GREETING; echo to-stderr >&2; exit 3");
        Assert.Equal(3, r.ExitCode);
        Assert.Equal($"{Cluster.Pod} hello-from-env\n", r.Stdout);
        Assert.Contains("to-stderr", r.Stderr);
        Assert.Contains("command terminated with exit code 3", r.Stderr);

        var ok = await cluster.KubectlAsync("exec", Cluster.Pod, "-c", "app", "--", "true");
        Assert.True(ok.ExitCode == 0, ok.Output);
    }

    [SkippableFact]
    public async Task Exec_with_stdin_pipes_the_input_through_and_ends_when_it_ends()
    {
        await SkipWithoutKubectl();
        var input = Path.Combine(cluster.DataDirectory, "stdin.txt");
        var text = string.Concat(Enumerable.Range(0, 5000).Select(i => $"line {i}\n")); // several chunks
        await File.WriteAllTextAsync(input, text);
        var command = string.Join(' ', cluster.Kubectl("exec", "-i", Cluster.Pod, "--", "sha256sum").Select(Quote)) + " < " + Quote(input);
        var r = await ProcessRunner.RunAsync("sh", ["-c", "kubectl " + command], TimeSpan.FromSeconds(60), env: cluster.Env);
        Assert.True(r.ExitCode == 0, r.Output);
        var expected = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text)));
        Assert.StartsWith(expected, r.Stdout);
    }

    [SkippableFact]
    public async Task Cp_copies_a_file_into_the_container_and_back_byte_for_byte()
    {
        await SkipWithoutKubectl();
        var bytes = new byte[200_000];
        new Random(7).NextBytes(bytes);
        var local = Path.Combine(cluster.DataDirectory, "cp-source.bin");
        await File.WriteAllBytesAsync(local, bytes);
        // the process runtime's container sees the node's filesystem: the pod path is a directory of this test
        var inPod = Path.Combine(cluster.DataDirectory, "cp-in-pod");
        Directory.CreateDirectory(inPod);
        var to = await cluster.KubectlAsync("cp", local, $"default/{Cluster.Pod}:{inPod}/copied.bin");
        Assert.True(to.ExitCode == 0, to.Output);
        Assert.Equal(bytes, await File.ReadAllBytesAsync(Path.Combine(inPod, "copied.bin")));

        var back = Path.Combine(cluster.DataDirectory, "cp-back.bin");
        var from = await cluster.KubectlAsync("cp", $"default/{Cluster.Pod}:{inPod}/copied.bin", back);
        Assert.True(from.ExitCode == 0, from.Output);
        Assert.Equal(bytes, await File.ReadAllBytesAsync(back));
    }

    [SkippableFact]
    public async Task Exec_into_a_missing_container_or_pod_fails_with_kubernetes_words()
    {
        await SkipWithoutKubectl();
        var container = await cluster.KubectlAsync("exec", Cluster.Pod, "-c", "nope", "--", "true");
        Assert.NotEqual(0, container.ExitCode);
        Assert.Contains($"container nope is not valid for pod {Cluster.Pod}", container.Stderr);

        var pod = await cluster.KubectlAsync("exec", "no-such-pod", "--", "true");
        Assert.NotEqual(0, pod.ExitCode);
        Assert.Contains("pods \"no-such-pod\" not found", pod.Stderr);
    }

    [SkippableFact]
    public async Task A_user_who_may_read_pods_but_not_create_pods_exec_is_forbidden()
    {
        await SkipWithoutKubectl();
        var rbac = Path.Combine(cluster.DataDirectory, "carol.yaml");
        await File.WriteAllTextAsync(rbac, """
            apiVersion: rbac.authorization.k8s.io/v1
            kind: Role
            metadata: {name: pod-reader}
            rules:
            - apiGroups: [""]
              resources: [pods, pods/exec]
              verbs: [get, list, watch]
            ---
            apiVersion: rbac.authorization.k8s.io/v1
            kind: RoleBinding
            metadata: {name: carol-reads}
            roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: pod-reader}
            subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: carol}]
            """);
        var applied = await cluster.KubectlAsync("apply", "-f", rbac);
        Assert.True(applied.ExitCode == 0, applied.Output);
        // the authorizer reads roles from its informer: wait until carol may read the pod
        await FailoverSupport.EventuallyAsync(async () => (await cluster.KubectlAsync("--as=carol", "get", "pod", Cluster.Pod)).ExitCode == 0,
            TimeSpan.FromSeconds(30), "carol may get the pod");
        var r = await cluster.KubectlAsync("--as=carol", "exec", Cluster.Pod, "--", "true");
        Assert.NotEqual(0, r.ExitCode);
        Assert.True(r.Stderr.Contains("User \"carol\" cannot create resource \"pods/exec\"", StringComparison.Ordinal), r.Stderr);
    }

    [SkippableFact]
    public async Task Port_forward_carries_sequential_and_concurrent_connections_to_the_pod()
    {
        await SkipWithoutKubectl();
        var port = FreePort.Next();
        await using var kubectl = await KubectlPortForward.StartAsync(cluster.Kubectl("port-forward", "pod/" + Cluster.Pod, $"{port}:8080"), cluster.Env);

        // each connection is a new pair of SPDY streams (error, data) in the one tunneled connection
        for (var i = 0; i < 4; i++)
            Assert.Contains($"path=/seq-{i}", await GetAsync(await ConnectAsync(), $"/seq-{i}"));

        // two connections open at once: the second is answered while the first still waits for its request
        using var first = await ConnectAsync();
        using var second = await ConnectAsync();
        Assert.Contains("path=/second", await GetAsync(second, "/second"));
        Assert.Contains("path=/first", await GetAsync(first, "/first"));

        async Task<System.Net.Sockets.TcpClient> ConnectAsync()
        {
            var client = new System.Net.Sockets.TcpClient();
            await client.ConnectAsync(System.Net.IPAddress.Loopback, port);
            return client;
        }

        async Task<string> GetAsync(System.Net.Sockets.TcpClient client, string path)
        {
            using (client)
            {
                var stream = client.GetStream();
                await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: pod\r\nConnection: close\r\n\r\n"));
                using var reader = new StreamReader(stream);
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                var response = await reader.ReadToEndAsync(timeout.Token); // the echo server closes after answering
                Assert.True(response.StartsWith("HTTP/1.1 200", StringComparison.Ordinal),
                    $"{path}: \"{response}\"; kubectl port-forward said: {(kubectl.HasExited ? await kubectl.ErrorsAsync : "(still running)")}");
                return response;
            }
        }
    }

    [SkippableFact]
    public async Task Attach_streams_the_containers_live_output_and_ends_with_the_container()
    {
        await SkipWithoutKubectl();
        var trigger = Path.Combine(cluster.DataDirectory, "attach-trigger");
        await cluster.ApplyPodAsync("talker", $$"""
            - name: talker
              image: busybox
              command: [sh, -c, 'while [ ! -e {{trigger}} ]; do echo tick; sleep 0.2; done; echo out-line; echo err-line >&2']
            """);
        // kubectl attach POD does not wait for a pod to run (only for pods it looks up from a workload): an attach to a
        // pending pod is refused ("container not found"), as kube-apiserver refuses it, so the test waits first
        var running = await cluster.KubectlAsync("wait", "--for=jsonpath={.status.phase}=Running", "pod/talker", "--timeout=90s");
        Assert.True(running.ExitCode == 0, running.Output);
        // a "tick" seen proves the attach is live before the trigger
        var psi = new System.Diagnostics.ProcessStartInfo("kubectl") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in cluster.Kubectl("attach", "talker")) psi.ArgumentList.Add(a);
        foreach (var (k, v) in cluster.Env) psi.Environment[k] = v;
        using var kubectl = System.Diagnostics.Process.Start(psi)!;
        var errors = kubectl.StandardError.ReadToEndAsync();
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
            string? line;
            do line = await kubectl.StandardOutput.ReadLineAsync(timeout.Token);
            while (line is not null && line != "tick");
            Assert.True(line == "tick", "kubectl attach ended before any output: " + (kubectl.HasExited ? await errors : ""));
            await File.WriteAllTextAsync(trigger, "");
            var rest = await kubectl.StandardOutput.ReadToEndAsync(timeout.Token);
            await kubectl.WaitForExitAsync(timeout.Token);
            Assert.True(kubectl.ExitCode == 0, await errors);
            Assert.True(rest.EndsWith("out-line\n", StringComparison.Ordinal), $"after the trigger: \"{rest}\"; kubectl said: {await errors}");
            Assert.Contains("err-line", await errors);
        }
        finally
        {
            if (!kubectl.HasExited) kubectl.Kill();
        }
    }

    [SkippableFact]
    public async Task Attach_with_stdin_writes_to_the_containers_stdin_and_stdin_once_closes_it_after_the_session()
    {
        await SkipWithoutKubectl();
        await cluster.ApplyPodAsync("reader", """
            - name: reader
              image: busybox
              stdin: true
              stdinOnce: true
              command: [sh, -c, 'while read l; do echo "got $l"; done; echo eof']
            """);
        var wait = await cluster.KubectlAsync("wait", "--for=jsonpath={.status.phase}=Running", "pod/reader", "--timeout=90s");
        Assert.True(wait.ExitCode == 0, wait.Output + (await cluster.KubectlAsync("get", "pod", "reader", "-o", "yaml")).Stdout);
        // the client closes stdin at its end (v5): the first session of a stdinOnce container closes the container's stdin
        var command = string.Join(' ', cluster.Kubectl("attach", "-i", "reader").Select(Quote));
        var r = await ProcessRunner.RunAsync("sh", ["-c", "printf 'a\\nb\\n' | kubectl " + command], TimeSpan.FromSeconds(60), env: cluster.Env);
        Assert.True(r.ExitCode == 0, r.Output);
        Assert.Contains("got a\ngot b\neof\n", r.Stdout);
    }

    [SkippableFact]
    public async Task Attach_to_a_container_that_is_not_running_is_refused_with_the_kubelets_words()
    {
        await SkipWithoutKubectl();
        await cluster.ApplyPodAsync("halfdone", """
            - name: sleeper
              image: busybox
              command: [sleep, "3600"]
            - name: once
              image: busybox
              command: ["true"]
            """);
        await FailoverSupport.EventuallyAsync(async () =>
                (await cluster.KubectlAsync("get", "pod", "halfdone", "-o", "jsonpath={.status.containerStatuses[?(@.name==\"once\")].state.terminated.reason}")).Stdout == "Completed",
            TimeSpan.FromSeconds(90), "container once completed");
        var r = await cluster.KubectlAsync("attach", "halfdone", "-c", "once");
        Assert.NotEqual(0, r.ExitCode);
        Assert.True(r.Stderr.Contains("container not found (\"once\")", StringComparison.Ordinal), r.Stderr);
    }

    /// <summary>
    /// kubectl debug POD --image=… -- CMD (1.32: a strategic merge patch of pods/NAME/ephemeralcontainers): the kubelet starts
    /// the ephemeral container in the running pod (process runtime: a process with the pod's environment and IP), its
    /// status shows in ephemeralContainerStatuses, and kubectl logs -c reads it. Then a second one with -i and stdin.
    /// </summary>
    [SkippableFact]
    public async Task Debug_adds_an_ephemeral_container_whose_output_kubectl_logs_reads_and_debug_i_attaches_to_it()
    {
        await SkipWithoutKubectl();
        var debug = await cluster.KubectlAsync("debug", Cluster.Pod, "--image=busybox", "--target=app", "--", "sh", "-c", "echo debug-$HOSTNAME-$POD_IP-$GREETING");
        Assert.True(debug.ExitCode == 0, debug.Output);
        // "Defaulting debug container name to debugger-xxxxx."
        var name = System.Text.RegularExpressions.Regex.Match(debug.Output, "debugger-[a-z0-9]+").Value;
        Assert.True(name.Length > 0, debug.Output);
        await FailoverSupport.EventuallyAsync(async () =>
                (await cluster.KubectlAsync("get", "pod", Cluster.Pod, "-o", $"jsonpath={{.status.ephemeralContainerStatuses[?(@.name==\"{name}\")].state.terminated.reason}}")).Stdout == "Completed",
            TimeSpan.FromSeconds(60), "the debug container completed");
        var ip = (await cluster.KubectlAsync("get", "pod", Cluster.Pod, "-o", "jsonpath={.status.podIP}")).Stdout;
        var logs = await cluster.KubectlAsync("logs", Cluster.Pod, "-c", name);
        Assert.True(logs.ExitCode == 0, logs.Output);
        Assert.Equal($"debug-{Cluster.Pod}-{ip}-\n", logs.Stdout); // the pod's environment, not the target container's own env
        // the pod's own containers are untouched
        var ready = await cluster.KubectlAsync("get", "pod", Cluster.Pod, "-o", "jsonpath={.status.containerStatuses[0].ready}/{.status.containerStatuses[0].restartCount}");
        Assert.Equal("true/0", ready.Stdout);

        // -i: kubectl waits for the container to run, then attaches to its stdin
        var command = string.Join(' ', cluster.Kubectl("debug", "-i", Cluster.Pod, "--image=busybox", "-c", "dbg-i", "--", "sh").Select(Quote));
        var r = await ProcessRunner.RunAsync("sh", ["-c", "printf 'echo hi-from-$HOSTNAME\\nexit 0\\n' | kubectl " + command], TimeSpan.FromSeconds(60), env: cluster.Env);
        Assert.True(r.ExitCode == 0, r.Output);
        Assert.Contains("hi-from-" + Cluster.Pod, r.Stdout);

        // an ephemeral container's name must be new in the pod: kubectl shows the apiserver's validation
        var dup = await cluster.KubectlAsync("debug", Cluster.Pod, "--image=busybox", "-c", "app", "--", "true");
        Assert.NotEqual(0, dup.ExitCode);
        Assert.True(dup.Stderr.Contains("spec.ephemeralContainers[", StringComparison.Ordinal) && dup.Stderr.Contains("Duplicate value: \"app\"", StringComparison.Ordinal), dup.Stderr);
    }

    private static string Quote(string s) => "'" + s.Replace("'", "'\\''") + "'";
}
