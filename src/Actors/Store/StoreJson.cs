using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace AkkaKube.Actors.Store;

/// <summary>
/// How stored objects are written: HTML-sensitive and non-ASCII characters stay as they are. The default encoder writes
/// "&lt;" as \u003C, six bytes for one, which made a 1.5 MB ConfigMap of markup 9 MB in the journal, in every
/// remoting frame and in every watch event. The text is JSON for the store and the API, never embedded in HTML.
/// </summary>
public static class StoreJson
{
    public static readonly JsonSerializerOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string Write(JsonNode node) => node.ToJsonString(Options);
}
