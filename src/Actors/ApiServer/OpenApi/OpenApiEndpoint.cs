using System.Text;
using AkkaKube.Actors.ApiServer.Registry;
using AkkaKube.Actors.Machinery;
using Microsoft.AspNetCore.Http;

namespace AkkaKube.Actors.ApiServer.OpenApi;

/// <summary>
/// The generated documents of this apiserver's served kinds, built once per set of kinds (built-in
/// kinds at start-up; again only when the served kinds change) and kept serialized with their hashes.
/// </summary>
public static class OpenApiService
{
    private static readonly Lock Gate = new();
    private static ModelSchemas? _models;
    // The last few sets of kinds: one per apiserver in this process (several in the in-process test clusters, each with
    // its own custom resources), so two apiservers alternating do not rebuild each other's documents on every request.
    private const int Kept = 4;
    private static volatile (string Key, OpenApiDocuments Documents)[] _recent = [];

    /// <summary>How long reading the models' descriptions took (once per process).</summary>
    public static TimeSpan DescriptionsLoadTime { get; private set; }

    /// <summary>The kinds this apiserver serves (its registry).</summary>
    public static IReadOnlyList<OpenApiKind> Served(ApiRegistry registry) => registry.Registrations.Select(r => new OpenApiKind(r.Resource, r.Strategy.OpenApiSchema)).ToList();

    public static OpenApiDocuments Current(ApiRegistry registry) => For(Served(registry));

    /// <summary>Starts generating in the background, so the first kubectl apply does not wait for it.</summary>
    public static void Warm(ApiRegistry registry) => _ = Task.Run(() => Current(registry));

    public static OpenApiDocuments For(IReadOnlyList<OpenApiKind> kinds)
    {
        var key = Fingerprint(kinds);
        foreach (var (k, d) in _recent)
            if (k == key) return d;
        lock (Gate)
        {
            foreach (var (k, d) in _recent)
                if (k == key) return d;
            if (_models is null)
            {
                var clock = System.Diagnostics.Stopwatch.StartNew();
                var docs = ModelDocs.Load();
                DescriptionsLoadTime = clock.Elapsed;
                _models = new ModelSchemas(docs);
            }
            var documents = OpenApiDocuments.Build(kinds, _models);
            _recent = [(key, documents), .. _recent.Take(Kept - 1)];
            return documents;
        }
    }

    private static string Fingerprint(IReadOnlyList<OpenApiKind> kinds)
    {
        var sb = new StringBuilder();
        foreach (var k in kinds)
        {
            var r = k.Resource;
            sb.Append(r.Group).Append('/').Append(r.Version).Append('/').Append(r.Resource).Append('/').Append(r.Kind)
              .Append(r.Namespaced ? "/ns" : "/cluster").Append('/').AppendJoin(',', r.Verbs).Append('/')
              .AppendJoin(',', r.Subresources.Select(s => $"{s.Name}:{s.Group}/{s.Version}/{s.Kind}"));
            if (k.Schema is not null) sb.Append('/').Append(k.Schema.ToJsonString());
            sb.Append('\n');
        }
        return sb.ToString();
    }
}

/// <summary>
/// GET /openapi/v2 and /openapi/v3[/{api/v1 | apis/g/v}] as kube-apiserver serves them: ETag and
/// If-None-Match, immutable caching of a ?hash= URL, and a redirect from an outdated hash to the
/// current one. /openapi/v2 in JSON or, when asked for it, protobuf (what kubectl's client-side validation reads).
/// </summary>
public static class OpenApiEndpoint
{
    public static async Task ServeAsync(HttpContext ctx, string[] segs, ApiRegistry registry)
    {
        var documents = OpenApiService.Current(registry);
        if (segs is [_, "v2"])
        {
            var accept = ctx.Request.Headers.Accept.ToString();
            if (AcceptsProtobuf(accept))
                // answered with the dotted spelling, as kube-openapi does: Go's mime parser refuses the '@' in a Content-Type
                await Serve(ctx, documents.V2Protobuf, immutable: false, OpenApiV2Protobuf.LegacyMediaType);
            else if (AcceptsJson(accept))
                await Serve(ctx, documents.V2, immutable: false);
            else
                throw new ApiException(406, "NotAcceptable", $"only the following media types are accepted: application/json, {OpenApiV2Protobuf.MediaType}");
            return;
        }
        if (segs is [_, "v3"])
        {
            await Serve(ctx, documents.V3Root, immutable: false);
            return;
        }
        if (segs.Length > 2 && segs[1] == "v3" && documents.V3.TryGetValue(string.Join('/', segs[2..]), out var blob))
        {
            var asked = ctx.Request.Query["hash"].ToString();
            if (asked.Length > 0 && asked != blob.Hash)
            {
                // An outdated hash (the served kinds changed): send the client to the current document.
                ctx.Response.StatusCode = 301;
                ctx.Response.Headers.Location = $"{ctx.Request.Path}?hash={blob.Hash}";
                ctx.Response.Headers.CacheControl = "no-cache, no-store, must-revalidate";
                return;
            }
            await Serve(ctx, blob, immutable: asked.Length > 0);
            return;
        }
        throw ApiException.NotFound("the server could not find the requested resource");
    }

    /// <summary>Protobuf when the client names it (kubectl asks for it alone; a browser's */* gets JSON).</summary>
    private static bool AcceptsProtobuf(string accept) =>
        accept.Split(',').Select(a => a.Split(';')[0].Trim()).Any(t => t is OpenApiV2Protobuf.MediaType or OpenApiV2Protobuf.LegacyMediaType);

    private static bool AcceptsJson(string accept) =>
        accept.Length == 0 || accept.Split(',').Select(a => a.Split(';')[0].Trim()).Any(t => t is "application/json" or "*/*" or "application/*");

    private static async Task Serve(HttpContext ctx, OpenApiBlob blob, bool immutable, string contentType = "application/json")
    {
        // one ETag per representation: a cache must not answer a protobuf request with the JSON it holds
        var etag = contentType == "application/json" ? $"\"{blob.Hash}\"" : $"\"{blob.Hash}-pb\"";
        ctx.Response.Headers.ETag = etag;
        ctx.Response.Headers.CacheControl = immutable ? "public, immutable" : "no-cache, private";
        ctx.Response.Headers.Vary = "Accept";
        if (ctx.Request.Headers.IfNoneMatch.Any(v => v == etag))
        {
            ctx.Response.StatusCode = 304;
            return;
        }
        ctx.Response.StatusCode = 200;
        ctx.Response.ContentType = contentType;
        ctx.Response.ContentLength = blob.Content.Length;
        if (!HttpMethods.IsHead(ctx.Request.Method))
            await ctx.Response.Body.WriteAsync(blob.Content, ctx.RequestAborted);
    }
}
