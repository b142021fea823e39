using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using AkkaKube.Actors.Cmd;

namespace AkkaKube.Cli;

/// <summary>Client side of the command host's JSON-lines protocol (see <see cref="CmdWire"/>).</summary>
public sealed class CmdClient : IAsyncDisposable
{
    private readonly TcpClient _tcp;
    private readonly StreamReader _reader;
    private readonly Stream _stream;

    private readonly string? _token;

    private CmdClient(TcpClient tcp, string endpoint, string? token)
    {
        _token = token;
        _tcp = tcp;
        Endpoint = endpoint;
        _stream = tcp.GetStream();
        _reader = new StreamReader(_stream, new UTF8Encoding(false));
    }

    public string Endpoint { get; }

    /// <summary>"host:port" or "port" (127.0.0.1); throws <see cref="CliException"/> for anything else.</summary>
    public static (string Host, int Port) ParseEndpoint(string text)
    {
        var colon = text.LastIndexOf(':');
        var host = colon > 0 ? text[..colon] : "127.0.0.1";
        var portText = colon > 0 ? text[(colon + 1)..] : text;
        if (!int.TryParse(portText, out var port) || port is < 1 or > 65535 || host.Length == 0)
            throw new CliException($"'{text}' is not a command host address like 127.0.0.1:9110");
        return (host.Trim('[', ']'), port);
    }

    /// <summary>Connects; <paramref name="token"/> goes with every request that carries none of its own.</summary>
    public static async Task<CmdClient> ConnectAsync(string host, int port, TimeSpan timeout, CancellationToken ct = default, string? token = null)
    {
        var tcp = new TcpClient { NoDelay = true };
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout);
        try
        {
            if (IPAddress.TryParse(host, out var ip))
                await tcp.ConnectAsync(ip, port, cts.Token);
            else
                await tcp.ConnectAsync(host, port, cts.Token);
            return new CmdClient(tcp, $"{host}:{port}", token);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            tcp.Dispose();
            var why = e switch
            {
                SocketException { SocketErrorCode: SocketError.ConnectionRefused } => "connection refused (is the node running? is the port its --cmd-port?)",
                SocketException s => s.Message,
                _ when ct.IsCancellationRequested => "cancelled",
                _ => $"no answer within {timeout.TotalSeconds:0} s",
            };
            throw new CliException($"cannot connect to command host {host}:{port}: {why}");
        }
    }

    /// <summary>Sends one request and yields its replies, the final "done" or "error" included.</summary>
    public async IAsyncEnumerable<CmdReply> SendAsync(CmdRequest request, [EnumeratorCancellation] CancellationToken ct = default)
    {
        if (request.Token is null && _token is not null) request = request with { Token = _token };
        var bytes = Encoding.UTF8.GetBytes(CmdWire.Serialize(request) + "\n");
        try
        {
            await _stream.WriteAsync(bytes, ct);
            await _stream.FlushAsync(ct);
        }
        catch (IOException e)
        {
            throw new CliException($"command host {Endpoint} closed the connection: {e.Message}");
        }
        while (true)
        {
            string? line;
            try
            {
                line = await _reader.ReadLineAsync(ct);
            }
            catch (IOException e)
            {
                throw new CliException($"command host {Endpoint} closed the connection: {e.Message}");
            }
            if (line is null)
                throw new CliException($"command host {Endpoint} closed the connection before the command finished");
            CmdReply reply;
            try
            {
                reply = CmdWire.ParseReply(line);
            }
            catch (JsonException)
            {
                throw new CliException($"command host {Endpoint} sent something that is not a reply: {line[..Math.Min(line.Length, 80)]}");
            }
            yield return reply;
            if (reply.IsFinal) yield break;
        }
    }

    /// <summary>Runs one command and collects every reply; a final "error" becomes a <see cref="CliException"/>.</summary>
    public static async Task<IReadOnlyList<CmdReply>> RunAsync(string host, int port, CmdRequest request, TimeSpan timeout, CancellationToken ct = default, string? token = null)
    {
        await using var client = await ConnectAsync(host, port, timeout, ct, token);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout);
        var replies = new List<CmdReply>();
        try
        {
            await foreach (var r in client.SendAsync(request, cts.Token))
            {
                if (r.Type == CmdReply.Kinds.Error) throw new CliException($"{host}:{port}: {r.Message}");
                replies.Add(r);
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new CliException($"command host {host}:{port} did not finish '{request.Palette} {request.Command}' within {timeout.TotalSeconds:0} s");
        }
        return replies;
    }

    public async ValueTask DisposeAsync()
    {
        _reader.Dispose();
        await _stream.DisposeAsync();
        _tcp.Dispose();
    }
}
