using System.Text;
using System.Text.Json.Nodes;
using AkkaKube.Actors.Machinery;
using Microsoft.AspNetCore.Http;

namespace AkkaKube.Actors.ApiServer;

// Content negotiation: request bodies (size limit, media types, protobuf decoding, UTF-8) and JSON responses.
public static partial class ApiHttpFront
{
    private static async Task<(string? ContentType, string? Body, List<string> Warnings)> ReadBody(HttpContext ctx, ApiFrontend frontend, string verb)
    {
        var warnings = new List<string>();
        var limit = frontend.Settings.MaxRequestBodyBytes;
        if (ctx.Request.ContentLength is { } len && len > limit)
            throw TooLarge(limit);
        var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await ctx.Request.Body.ReadAsync(chunk, ctx.RequestAborted)) > 0)
        {
            if (buffer.Length + read > limit) throw TooLarge(limit);
            buffer.Write(chunk, 0, read);
        }
        var contentType = ctx.Request.ContentType;
        if (buffer.Length == 0) return (contentType, null, warnings);
        var mediaType = (contentType ?? "").Split(';')[0].Trim().ToLowerInvariant();
        if (Protobuf.IsProtobuf(contentType))
        {
            if (verb is not ("create" or "update"))
                throw ApiException.UnsupportedMediaType(mediaType);
            var obj = Protobuf.Decode(buffer.ToArray(), warnings, frontend.Registry.ProtobufMessages);
            return ("application/json", obj.ToJsonString(), warnings);
        }
        var allowed = verb == "patch"
            ? mediaType is "application/merge-patch+json" or "application/json-patch+json" or "application/strategic-merge-patch+json" or "application/apply-patch+yaml" or "application/apply-patch+json"
            : mediaType is "" or "application/json" or "application/yaml" or "application/x-yaml" or "text/yaml" or "*/*";
        if (!allowed) throw ApiException.UnsupportedMediaType(mediaType.Length == 0 ? "no Content-Type" : mediaType);
        string text;
        try
        {
            text = new UTF8Encoding(false, true).GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
        }
        catch (DecoderFallbackException)
        {
            throw ApiException.BadRequest("the request body is not valid UTF-8");
        }
        return (mediaType.Length == 0 ? "application/json" : mediaType, text, warnings);
    }

    private static ApiException TooLarge(long limit) =>
        new(413, "RequestEntityTooLarge", $"the request body is larger than the limit of {limit} bytes (akkakube.apiserver.max-request-body-bytes)");

    // ---------------- responses ----------------

    private static Task WriteJson(HttpContext ctx, int code, JsonNode body, string contentType = "application/json") =>
        WriteRaw(ctx, code, body.ToJsonString(), contentType);

    private static async Task WriteRaw(HttpContext ctx, int code, string body, string contentType = "application/json")
    {
        ctx.Response.StatusCode = code;
        ctx.Response.ContentType = contentType;
        if (code == 429) ctx.Response.Headers.RetryAfter = "5";
        if (HttpMethods.IsHead(ctx.Request.Method)) return;
        await ctx.Response.WriteAsync(body, ctx.RequestAborted);
    }
}
