using System.Globalization;
using System.Buffers;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using AkkaKube.Actors.Security;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace AkkaKube.Actors.ApiServer.Audit;

/// <summary>The audit flags of a control-plane node (kube-apiserver's names); both files given = auditing on.</summary>
public sealed record AuditSettings(string? PolicyFile, string? LogPath, int MaxSizeMegabytes = 0, int MaxBackups = 0, int BufferSize = 10_000)
{
    public bool Enabled => PolicyFile is not null && LogPath is not null;
}

/// <summary>
/// What the HTTP front learns about one request while serving it, for its audit event: filled in as authentication,
/// routing and the pipeline get to it (null fields: not reached). Lives in HttpContext.Items only when auditing is on.
/// </summary>
public sealed class AuditContext
{
    private static readonly object Key = new();
    public DateTime Received { get; } = DateTime.UtcNow;
    public string AuditId { get; } = Guid.NewGuid().ToString();
    /// <summary>The authenticated caller.</summary>
    public UserInfo? User { get; set; }
    /// <summary>Who the caller acts as through Impersonate-* headers, when it does.</summary>
    public UserInfo? ImpersonatedUser { get; set; }
    public RequestInfo? Info { get; set; }
    /// <summary>"allow" or "forbid" once authorization decided.</summary>
    public string? Decision { get; set; }
    public string? RequestContentType { get; set; }
    public string? RequestBody { get; set; }
    public string? ResponseBody { get; set; }

    public static AuditContext? Of(HttpContext ctx) => ctx.Items.TryGetValue(Key, out var a) ? a as AuditContext : null;

    public static AuditContext Begin(HttpContext ctx)
    {
        var a = new AuditContext();
        ctx.Items[Key] = a;
        return a;
    }
}

/// <summary>One finished request, as captured on the request path (cheap); serialised by the writer.</summary>
internal sealed record AuditRecord(AuditLevel Level, AuditContext Context, string RequestUri, string Verb, string SourceIp, string UserAgent, int Code, DateTime Completed);

/// <summary>
/// kube-apiserver's audit log backend: events (audit.k8s.io/v1 Event, stage ResponseComplete, one JSON object per line)
/// for the requests the policy selects. Off the request path: a request only evaluates the policy and posts a record to
/// a bounded channel; one writer task serialises and appends (and rotates by --audit-log-maxsize, keeping
/// --audit-log-maxbackup old files). A full buffer drops the event and counts it — never blocks or fails a request;
/// drops are logged as a warning with their total.
/// </summary>
public sealed class AuditLog : IAsyncDisposable
{
    private readonly AuditPolicy? _policy;
    private readonly AuditSettings _settings;
    private readonly Channel<AuditRecord>? _channel;
    private readonly Task? _writer;
    private readonly ILogger _log;
    private long _dropped;
    private long _reportedDrops;

    public static readonly AuditLog Disabled = new(new AuditSettings(null, null), Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);

    public AuditLog(AuditSettings settings, ILogger log)
    {
        _settings = settings;
        _log = log;
        if (!settings.Enabled) return;
        _policy = AuditPolicy.Load(settings.PolicyFile!);
        var dir = Path.GetDirectoryName(Path.GetFullPath(settings.LogPath!))!;
        Directory.CreateDirectory(dir);
        _channel = Channel.CreateBounded<AuditRecord>(new BoundedChannelOptions(settings.BufferSize)
        {
            FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true, SingleWriter = false,
        }, _ => Interlocked.Increment(ref _dropped));
        _writer = Task.Run(WriteLoopAsync);
    }

    public bool Enabled => _policy is not null;

    /// <summary>Events lost to a full buffer since start.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Called when a request has been answered: evaluates the policy and queues the event (never blocks).</summary>
    public void Complete(HttpContext ctx, AuditContext audit)
    {
        if (_policy is null || _channel is null) return;
        var user = audit.ImpersonatedUser ?? audit.User;
        var info = audit.Info;
        var path = ctx.Request.Path.Value ?? "/";
        var verb = info is { IsResourceRequest: true, Verb.Length: > 0 } ? info.Verb : ctx.Request.Method.ToLowerInvariant() is "head" ? "get" : ctx.Request.Method.ToLowerInvariant();
        var attributes = new AuditAttributes(user?.Name ?? "", user?.Groups ?? [], verb, info?.IsResourceRequest == true,
            info?.Group ?? "", info?.Resource ?? "", info?.Subresource, info?.Namespace, info?.Name, path);
        var level = _policy.LevelOf(attributes);
        if (level == AuditLevel.None) return;
        var record = new AuditRecord(level, audit, path + ctx.Request.QueryString.Value, verb, ctx.Connection.RemoteIpAddress?.ToString() ?? "",
            ctx.Request.Headers.UserAgent.ToString(), ctx.Response.StatusCode, DateTime.UtcNow);
        if (!_channel.Writer.TryWrite(record)) Interlocked.Increment(ref _dropped);
    }

    private async Task WriteLoopAsync()
    {
        var reader = _channel!.Reader;
        FileStream? file = null;
        try
        {
            file = Open();
            var line = new System.Buffers.ArrayBufferWriter<byte>(4096);
            while (await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                while (reader.TryRead(out var record))
                {
                    line.ResetWrittenCount();
                    using (var json = new Utf8JsonWriter(line))
                        Serialize(record).WriteTo(json);
                    line.Write("\n"u8);
                    if (_settings.MaxSizeMegabytes > 0 && file.Length + line.WrittenCount > _settings.MaxSizeMegabytes * 1024L * 1024L && file.Length > 0)
                    {
                        await file.DisposeAsync().ConfigureAwait(false);
                        Rotate();
                        file = Open();
                    }
                    await file.WriteAsync(line.WrittenMemory).ConfigureAwait(false);
                }
                await file.FlushAsync().ConfigureAwait(false);
                ReportDrops();
            }
        }
        catch (Exception e)
        {
            // The log cannot be written (disk full, removed directory): requests go on, the events are lost and said so.
            _log.LogError(e, "audit log {Path} cannot be written; auditing stops: {Message}", _settings.LogPath, e.Message);
        }
        finally
        {
            if (file is not null) await file.DisposeAsync().ConfigureAwait(false);
        }
    }

    private void ReportDrops()
    {
        var dropped = Dropped;
        if (dropped == _reportedDrops) return;
        _log.LogWarning("audit: {Count} events dropped since start (the buffer of {Size} events was full)", dropped, _settings.BufferSize);
        _reportedDrops = dropped;
    }

    private FileStream Open()
    {
        var options = new FileStreamOptions { Mode = FileMode.Append, Access = FileAccess.Write, Share = FileShare.Read };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = PrivateFiles.FileMode; // events name users and objects
        return new FileStream(_settings.LogPath!, options);
    }

    /// <summary>The full file becomes NAME-&lt;UTC time&gt;.EXT (as kube-apiserver's lumberjack); beyond MaxBackups the oldest go.</summary>
    private void Rotate()
    {
        var path = _settings.LogPath!;
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        var stem = Path.GetFileNameWithoutExtension(path);
        var ext = Path.GetExtension(path);
        File.Move(path, Path.Combine(dir, $"{stem}-{DateTime.UtcNow.ToString("yyyy-MM-ddTHH-mm-ss.fff", CultureInfo.InvariantCulture)}{ext}"), overwrite: true);
        if (_settings.MaxBackups <= 0) return;
        var backups = Directory.GetFiles(dir, $"{stem}-*{ext}").Order(StringComparer.Ordinal).ToList();
        foreach (var old in backups.Take(Math.Max(0, backups.Count - _settings.MaxBackups))) File.Delete(old);
    }

    /// <summary>The audit.k8s.io/v1 Event of a record.</summary>
    internal static JsonObject Serialize(AuditRecord r)
    {
        var a = r.Context;
        var e = new JsonObject
        {
            ["kind"] = "Event",
            ["apiVersion"] = "audit.k8s.io/v1",
            ["level"] = r.Level.ToString(),
            ["auditID"] = a.AuditId,
            ["stage"] = AuditPolicy.ResponseComplete,
            ["requestURI"] = r.RequestUri,
            ["verb"] = r.Verb,
            ["user"] = UserJson(a.User),
        };
        if (a.ImpersonatedUser is { } imp) e["impersonatedUser"] = UserJson(imp);
        e["sourceIPs"] = new JsonArray(r.SourceIp);
        if (r.UserAgent.Length > 0) e["userAgent"] = r.UserAgent;
        if (a.Info is { IsResourceRequest: true } info)
        {
            var objectRef = new JsonObject { ["resource"] = info.Resource };
            if (info.Namespace is { } ns) objectRef["namespace"] = ns;
            // a create names its object in the body, not the URL: taken from what was stored (or sent), as Kubernetes does
            if ((info.Name ?? NameOf(a.ResponseBody, "application/json") ?? NameOf(a.RequestBody, a.RequestContentType)) is { Length: > 0 } name) objectRef["name"] = name;
            objectRef["apiGroup"] = info.Group;
            objectRef["apiVersion"] = info.Version;
            if (info.Subresource is { } sub) objectRef["subresource"] = sub;
            e["objectRef"] = objectRef;
        }
        e["responseStatus"] = new JsonObject { ["metadata"] = new JsonObject(), ["code"] = r.Code };
        if (r.Level >= AuditLevel.Request && ObjectOf(a.RequestBody, a.RequestContentType) is { } request) e["requestObject"] = request;
        if (r.Level >= AuditLevel.RequestResponse && ObjectOf(a.ResponseBody, "application/json") is { } response) e["responseObject"] = response;
        e["requestReceivedTimestamp"] = Micro(a.Received);
        e["stageTimestamp"] = Micro(r.Completed);
        if (a.Decision is { } decision) e["annotations"] = new JsonObject { ["authorization.k8s.io/decision"] = decision };
        return e;
    }

    private static JsonObject UserJson(UserInfo? u)
    {
        var o = new JsonObject();
        if (u is null) return o;
        o["username"] = u.Name;
        if (u.Uid is { Length: > 0 } uid) o["uid"] = uid;
        if (u.Groups.Count > 0) o["groups"] = new JsonArray(u.Groups.Select(g => (JsonNode?)JsonValue.Create(g)).ToArray());
        return o;
    }

    /// <summary>A request or response body as JSON (YAML bodies converted), or null when it is none.</summary>
    private static JsonNode? ObjectOf(string? body, string? contentType)
    {
        if (string.IsNullOrEmpty(body)) return null;
        try
        {
            return contentType is { } t && t.Contains("yaml", StringComparison.Ordinal) ? YamlJson.Parse(body) : JsonNode.Parse(body);
        }
        catch (Exception e) when (e is JsonException or Machinery.ApiException)
        {
            return null;
        }
    }

    private static string? NameOf(string? body, string? contentType) =>
        ObjectOf(body, contentType) is JsonObject o && o["kind"]?.GetValue<string>() != "Status" ? o["metadata"]?["name"]?.GetValue<string>() : null;

    private static string Micro(DateTime t) => t.ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);

    public async ValueTask DisposeAsync()
    {
        if (_channel is null || _writer is null) return;
        _channel.Writer.TryComplete();
        await _writer.ConfigureAwait(false);
    }
}
