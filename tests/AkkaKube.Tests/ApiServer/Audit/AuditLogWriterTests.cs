using System.Text.Json.Nodes;
using AkkaKube.Actors.ApiServer;
using AkkaKube.Actors.ApiServer.Audit;
using AkkaKube.Actors.Security;
using AkkaKube.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;

namespace AkkaKube.Tests.ApiServer.Audit;

/// <summary>The audit writer alone: events as JSON lines, rotation by size, and a full buffer that drops (counted) instead of blocking.</summary>
public sealed class AuditLogWriterTests
{
    private static HttpContext Request(string path, int code)
    {
        var ctx = new DefaultHttpContext();
        ctx.Request.Method = "GET";
        ctx.Request.Path = path;
        ctx.Request.Headers.UserAgent = "test/1.0";
        ctx.Connection.RemoteIpAddress = System.Net.IPAddress.Loopback;
        ctx.Response.StatusCode = code;
        return ctx;
    }

    private static void Serve(AuditLog log, string ns)
    {
        var ctx = Request($"/api/v1/namespaces/{ns}/pods", 200);
        var audit = AuditContext.Begin(ctx);
        audit.User = new UserInfo("jane", ["system:authenticated"]);
        audit.Info = RequestInfo.Parse(ctx.Request.Path.Value!, "GET", watch: false);
        log.Complete(ctx, audit);
    }

    [Fact]
    public async Task Events_are_json_lines_and_the_log_rotates_by_size()
    {
        using var dir = new TempDir();
        var policy = Path.Combine(dir.Path, "policy.yaml");
        await File.WriteAllTextAsync(policy, "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: [{level: Metadata}]\n");
        var path = Path.Combine(dir.Path, "logs", "audit.log");
        var log = new AuditLog(new AuditSettings(policy, path, MaxSizeMegabytes: 1, MaxBackups: 2), NullLogger.Instance);
        Serve(log, "first");
        await log.DisposeAsync();
        var e = JsonNode.Parse(File.ReadAllLines(path).Single())!;
        Assert.Equal("list", e["verb"]!.GetValue<string>());
        Assert.Equal("first", e["objectRef"]!["namespace"]!.GetValue<string>());
        Assert.Equal("jane", e["user"]!["username"]!.GetValue<string>());
        Assert.Equal("test/1.0", e["userAgent"]!.GetValue<string>());

        // ~400 bytes an event: 8,000 events pass 1 MiB at least twice; two backups are kept
        log = new AuditLog(new AuditSettings(policy, path, MaxSizeMegabytes: 1, MaxBackups: 2, BufferSize: 100_000), NullLogger.Instance);
        for (var i = 0; i < 8_000; i++) Serve(log, $"ns-{i}");
        await log.DisposeAsync();
        Assert.Equal(0, log.Dropped);
        var files = Directory.GetFiles(Path.GetDirectoryName(path)!).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(3, files.Count);
        Assert.All(files, f => Assert.True(new FileInfo(f).Length <= 1024 * 1024, f));
        Assert.Contains("\"ns-7999\"", await File.ReadAllTextAsync(path));
    }

    [Fact]
    public async Task A_full_buffer_drops_and_counts_instead_of_blocking()
    {
        using var dir = new TempDir();
        var policy = Path.Combine(dir.Path, "policy.yaml");
        await File.WriteAllTextAsync(policy, "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: [{level: Metadata}]\n");
        var path = Path.Combine(dir.Path, "audit.log");
        var log = new AuditLog(new AuditSettings(policy, path, BufferSize: 1), NullLogger.Instance);
        for (var i = 0; i < 5_000; i++) Serve(log, $"ns-{i}");
        await log.DisposeAsync();
        var written = File.ReadAllLines(path).Length;
        Assert.True(log.Dropped > 0, "a buffer of one event did not drop any of 5,000 posted at once");
        Assert.Equal(5_000, written + log.Dropped);
    }
}
