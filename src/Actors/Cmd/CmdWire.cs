using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace AkkaKube.Actors.Cmd;

/// <summary>
/// The command host's wire protocol: JSON lines over TCP (one JSON object per '\n'-terminated line, UTF-8).
/// The client sends a <see cref="CmdRequest"/>; the node answers with a stream of <see cref="CmdReply"/>
/// lines (text, table, json) that always ends with exactly one "done" or "error" line. A connection may
/// carry several requests one after another (the interactive prompt does); closing it cancels a running
/// command (that is how `cluster tail` and `log tail` end).
/// </summary>
public static class CmdWire
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static string Serialize(CmdRequest request) => JsonSerializer.Serialize(request, Json);

    public static string Serialize(CmdReply reply) => JsonSerializer.Serialize(reply, Json);

    /// <summary>Parses one request line, or throws <see cref="CmdException"/> naming what is wrong.</summary>
    public static CmdRequest ParseRequest(string line)
    {
        CmdRequest? request;
        try
        {
            request = JsonSerializer.Deserialize<CmdRequest>(line, Json);
        }
        catch (JsonException e)
        {
            throw new CmdException($"request is not valid JSON: {e.Message.Split('\n')[0]}");
        }
        if (request is null || string.IsNullOrWhiteSpace(request.Palette))
            throw new CmdException("request needs a \"palette\" (send {\"palette\":\"help\"} for the list)");
        return request with { Args = request.Args ?? [] };
    }

    public static CmdReply ParseReply(string line) =>
        JsonSerializer.Deserialize<CmdReply>(line, Json) ?? throw new JsonException("empty reply line");
}

/// <summary>One command: palette, command, arguments (already split like a shell would), optional shared-secret token.</summary>
public sealed record CmdRequest(string Palette, string? Command = null, IReadOnlyList<string>? Args = null, string? Token = null);

/// <summary>
/// One reply line. Type is one of <see cref="CmdReply.Kinds"/>: "text" (Text), "table" (Columns + Rows),
/// "json" (Json payload), and the final "done" or "error" (Message).
/// </summary>
public sealed record CmdReply(
    string Type,
    string? Text = null,
    IReadOnlyList<string>? Columns = null,
    IReadOnlyList<IReadOnlyList<string>>? Rows = null,
    JsonNode? Json = null,
    string? Message = null)
{
    public static class Kinds
    {
        public const string Text = "text";
        public const string Table = "table";
        public const string Json = "json";
        public const string Done = "done";
        public const string Error = "error";
    }

    [JsonIgnore]
    public bool IsFinal => Type is Kinds.Done or Kinds.Error;

    public static CmdReply Line(string text) => new(Kinds.Text, Text: text);
    public static CmdReply MakeTable(IReadOnlyList<string> columns, IReadOnlyList<IReadOnlyList<string>> rows) => new(Kinds.Table, Columns: columns, Rows: rows);
    public static CmdReply Payload(JsonNode? json) => new(Kinds.Json, Json: json);
    public static readonly CmdReply Done = new(Kinds.Done);
    public static CmdReply Fail(string message) => new(Kinds.Error, Message: message);
}

/// <summary>A user error in a command (bad argument, unknown name, refused operation): its message goes to the client as the final "error".</summary>
public sealed class CmdException(string message) : Exception(message);
