using System.Diagnostics;
using AkkaKube.Actors.Proxy;
using AkkaKube.Tests.Infrastructure;

namespace AkkaKube.Tests.Proxy;

/// <summary>
/// A throw-away network namespace (unique name, deleted in dispose; a veth pair gives it a default route) with two "pod" addresses,
/// each served by a busybox httpd that answers with its own name: what the generator writes is loaded into a real
/// kernel with the real nft and real connections go through it. Root, nft, ip and busybox-static; skips naming what is missing.
/// </summary>
public sealed class NetnsFixture : IDisposable
{
    public string? Missing { get; }
    public string Name { get; } = $"aknft{Environment.ProcessId % 100000}x{Random.Shared.Next(100000)}";
    private readonly TempDir _dir = new();
    private readonly List<Process> _servers = [];
    private readonly bool _created;

    public NetnsFixture()
    {
        Missing = ProxyModes.NftablesMissing() ?? (File.Exists("/bin/busybox") ? null : "needs busybox-static")
                  ?? (Exists("ip") ? null : "needs ip (iproute2)");
        if (Missing is not null) return;
        Run("ip", "netns", "add", Name);
        _created = true;
        foreach (var args in new[]
                 {
                     "link set lo up", "link add v0 type veth peer name v1", "link set v0 up", "link set v1 up",
                     "addr add 10.244.1.1/24 dev v0", "addr add 10.244.1.5/32 dev lo", "addr add 10.244.2.7/32 dev lo", "route add default dev v0",
                 })
            Run("ip", ["netns", "exec", Name, "ip", .. args.Split(' ')]);
        foreach (var (ip, name) in new[] { ("10.244.1.5", "pod-a"), ("10.244.2.7", "pod-b") })
        {
            var home = Path.Combine(_dir.Path, name);
            Directory.CreateDirectory(home);
            File.WriteAllText(Path.Combine(home, "index.html"), name + "\n");
            var psi = new ProcessStartInfo("ip") { UseShellExecute = false };
            foreach (var a in new[] { "netns", "exec", Name, "busybox", "httpd", "-f", "-p", $"{ip}:8080", "-h", home }) psi.ArgumentList.Add(a);
            _servers.Add(Process.Start(psi)!);
        }
    }

    private static bool Exists(string tool) => new[] { "/usr/sbin", "/sbin", "/usr/bin", "/bin" }.Any(d => File.Exists(Path.Combine(d, tool)));

    public INftables Nft => new NftCommand(["ip", "netns", "exec", Name]);

    /// <summary>Runs a command inside the namespace.</summary>
    public (int Code, string Output) Exec(params string[] command) => Run("ip", ["netns", "exec", Name, .. command]);

    public static (int Code, string Output) Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEndAsync();
        var error = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(20_000)) p.Kill(entireProcessTree: true);
        p.WaitForExit();
        return (p.ExitCode, output.Result + error.Result);
    }

    public void Dispose()
    {
        foreach (var p in _servers)
        {
            try { p.Kill(); p.WaitForExit(5000); } catch (InvalidOperationException) { }
            p.Dispose();
        }
        if (_created) Run("ip", "netns", "delete", Name);
        _dir.Dispose();
    }
}

public sealed class NftNetnsTests(NetnsFixture ns) : IClassFixture<NetnsFixture>
{
    private const string Table = "akkakube-proxy-node-1";

    private async Task Apply(string caseName)
    {
        Skip.If(ns.Missing is not null, $"the nftables tests {ns.Missing}");
        var result = await ns.Nft.ApplyAsync(NftRulesTests.Render(caseName));
        Assert.True(result.Ok, result.Error);
    }

    // busybox wget without -T: its -T crashes busybox 1.35 (Debian 12); rejected connections fail at once, Run bounds the rest.
    private string Get(string url = "http://10.96.0.10/") => ns.Exec("busybox", "wget", "-qO-", url).Output.Trim();

    [SkippableTheory]
    [MemberData(nameof(NftRulesTests.CaseNames), MemberType = typeof(NftRulesTests))]
    public async Task Each_case_loads_into_the_kernel_and_a_rewrite_replaces_the_table_instead_of_adding_one(string caseName)
    {
        await Apply(caseName);
        await Apply(caseName);
        var tables = ns.Exec("nft", "list", "tables").Output;
        Assert.Equal(1, tables.Split('\n').Count(l => l.Contains(Table, StringComparison.Ordinal)));
        var listed = ns.Exec("nft", "list", "table", "ip", Table);
        Assert.Equal(0, listed.Code);
        Assert.Contains("map service-ips", listed.Output);
        Assert.Contains("chain nat-prerouting", listed.Output);
    }

    [SkippableFact]
    public async Task Connections_to_a_cluster_ip_reach_every_ready_endpoint_and_only_those()
    {
        await Apply("clusterip-two-endpoints");
        var seen = new HashSet<string>();
        for (var i = 0; i < 60 && seen.Count < 2; i++)
        {
            var answer = Get();
            Assert.True(answer is "pod-a" or "pod-b", $"answer '{answer}' is no endpoint's");
            seen.Add(answer);
        }
        Assert.Equal(["pod-a", "pod-b"], seen.Order());
        // no port of the service: a ClusterIP answers only its own ports (rejected, not sent off the host)
        Assert.Contains("refused", ns.Exec("busybox", "wget", "-qO-", "http://10.96.0.10:81/").Output);
    }

    [SkippableFact]
    public async Task A_service_without_endpoints_is_rejected_at_once()
    {
        await Apply("no-endpoints");
        var (code, output) = ns.Exec("busybox", "wget", "-qO-", "http://10.96.0.10/");
        Assert.NotEqual(0, code);
        Assert.Contains("refused", output);
    }

    [SkippableFact]
    public async Task Client_ip_affinity_keeps_a_client_on_one_endpoint()
    {
        await Apply("affinity");
        var answers = Enumerable.Range(0, 8).Select(_ => Get()).ToHashSet();
        Assert.Single(answers);
        Assert.True(answers.Single() is "pod-a" or "pod-b", string.Join(",", answers));

        // A rewrite of the table (any Service or endpoint change) carries the client's entry over: it stays on its endpoint.
        var script = NftRulesTests.Render("affinity");
        var before = await ns.Nft.ListTableJsonAsync("ip", Table);
        var carried = NftRules.CarryOverAffinity(Table, before, script);
        Assert.Contains("add element", carried);
        var rewritten = await ns.Nft.ApplyAsync(script + carried);
        Assert.True(rewritten.Ok, rewritten.Error + "\n" + carried);
        static string[] Clients(string carried) =>
            System.Text.RegularExpressions.Regex.Matches(carried, @"([0-9.]+) timeout").Select(m => m.Groups[1].Value).Order().ToArray();
        Assert.Equal(Clients(carried), Clients(NftRules.CarryOverAffinity(Table, await ns.Nft.ListTableJsonAsync("ip", Table), script)));
        Assert.Equal(answers.Single(), Get());
    }

    [SkippableFact]
    public async Task A_node_port_answers_on_the_node_ip_and_removing_the_table_leaves_nothing()
    {
        await Apply("nodeport");
        Assert.True(Get("http://10.244.1.1:30080/") is "pod-a" or "pod-b");
        var removed = await ns.Nft.ApplyAsync(NftRules.Remove(Table));
        Assert.True(removed.Ok, removed.Error);
        Assert.DoesNotContain(Table, ns.Exec("nft", "list", "tables").Output);
    }
}
