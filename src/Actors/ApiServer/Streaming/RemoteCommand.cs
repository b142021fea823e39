using System.Globalization;
using System.Text.Json.Nodes;

namespace AkkaKube.Actors.ApiServer.Streaming;

/// <summary>
/// The remote-command WebSocket protocol of exec and attach (k8s.io/apimachinery remotecommand, channel.k8s.io):
/// every binary message is one channel byte then data. Channels: 0 stdin, 1 stdout, 2 stderr, 3 error (one
/// metav1.Status JSON, then the server closes), 4 resize (JSON {"Width","Height"}). v5 adds a close signal: channel
/// 255 with one byte naming the channel the client finished (stdin). See docs/api.md.
/// </summary>
public static class RemoteCommand
{
    public const string V5 = "v5.channel.k8s.io";
    public const string V4 = "v4.channel.k8s.io";

    public const byte Stdin = 0;
    public const byte Stdout = 1;
    public const byte Stderr = 2;
    public const byte Error = 3;
    public const byte Resize = 4;
    public const byte Close = 255;

    /// <summary>The protocols served, preferred first (v4 is v5 without the close signal: stdin ends with the connection).</summary>
    public static readonly IReadOnlyList<string> Protocols = [V5, V4];

    /// <summary>The first offered protocol the server speaks, in the server's order of preference, or null.</summary>
    public static string? Negotiate(IEnumerable<string> offered)
    {
        var set = offered.SelectMany(o => o.Split(',')).Select(o => o.Trim()).ToHashSet(StringComparer.Ordinal);
        return Protocols.FirstOrDefault(set.Contains);
    }

    /// <summary>One message: the channel byte, then the data.</summary>
    public static byte[] Frame(byte channel, ReadOnlySpan<byte> data)
    {
        var frame = new byte[data.Length + 1];
        frame[0] = channel;
        data.CopyTo(frame.AsSpan(1));
        return frame;
    }

    /// <summary>A client message: what it asks. An empty message carries nothing (ignored, as Kubernetes does).</summary>
    public static Incoming Parse(ReadOnlyMemory<byte> message, string protocol)
    {
        if (message.Length == 0) return new Incoming(IncomingKind.Ignored, 0, ReadOnlyMemory<byte>.Empty);
        var channel = message.Span[0];
        var data = message[1..];
        return channel switch
        {
            Stdin => new Incoming(IncomingKind.Stdin, channel, data),
            Resize => new Incoming(IncomingKind.Resize, channel, data),
            Close when protocol == V5 && data.Length == 1 => new Incoming(IncomingKind.CloseChannel, data.Span[0], ReadOnlyMemory<byte>.Empty),
            _ => new Incoming(IncomingKind.Ignored, channel, data),
        };
    }

    /// <summary>
    /// The error channel's Status for an ended command, as the kubelet writes it: Success for exit code 0; else Failure,
    /// reason NonZeroExitCode, a cause of type ExitCode whose message is the code (kubectl exits with it).
    /// </summary>
    public static JsonObject ExitStatus(int exitCode, string? error = null)
    {
        if (error is not null)
            return new JsonObject { ["metadata"] = new JsonObject(), ["status"] = "Failure", ["message"] = error, ["reason"] = "InternalError", ["code"] = 500 };
        if (exitCode == 0)
            return new JsonObject { ["metadata"] = new JsonObject(), ["status"] = "Success" };
        var code = (exitCode & 0xff).ToString(CultureInfo.InvariantCulture); // kubectl reads it as an 8-bit exit status
        return new JsonObject
        {
            ["metadata"] = new JsonObject(),
            ["status"] = "Failure",
            ["message"] = $"command terminated with non-zero exit code: exit status {code}",
            ["reason"] = "NonZeroExitCode",
            ["details"] = new JsonObject { ["causes"] = new JsonArray(new JsonObject { ["reason"] = "ExitCode", ["message"] = code }) },
        };
    }

    public enum IncomingKind { Ignored, Stdin, Resize, CloseChannel }

    /// <summary>A parsed client message; for <see cref="IncomingKind.CloseChannel"/>, Channel is the channel closed.</summary>
    public readonly record struct Incoming(IncomingKind Kind, byte Channel, ReadOnlyMemory<byte> Data);
}
