using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;

namespace AkkaKube.Tests.ApiServer;

/// <summary>An apiserver whose watches may keep 4 MiB queued for a client, and give a cut-off client 2 s to take its end.</summary>
public sealed class SlowWatchNode() : ApiNode($"akkakube.apiserver.watch-buffer-bytes = {BufferBytes}\nakkakube.apiserver.watch-cutoff-grace = 2s\n")
{
    public const long BufferBytes = 4 * 1024 * 1024;
}

/// <summary>
/// A watch client that stops reading is cut off once its watch has more than its buffer queued (a 410 ERROR event
/// or a closed connection, as kube-apiserver forces an unresponsive watcher closed); a client that reads keeps its
/// watch, and writes and other requests are served all along.
/// </summary>
public sealed class SlowWatchClientSpecs(SlowWatchNode fixture, Xunit.Abstractions.ITestOutputHelper output) : IClassFixture<SlowWatchNode>
{
    private const int Objects = 48;
    private const int ObjectBytes = 512 * 1024;

    [Fact]
    public async Task A_watch_client_that_stops_reading_is_cut_off_while_a_reading_one_gets_every_event()
    {
        using var http = fixture.Node.NewHttpClient(TimeSpan.FromMinutes(2));
        const string ns = "slow-watch";
        using (var created = await http.PostAsync("/api/v1/namespaces", Json(new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Namespace", ["metadata"] = new JsonObject { ["name"] = ns } })))
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);

        var logs = new Akka.TestKit.TestProbe(fixture.Node.System, new Akka.TestKit.Xunit2.XunitAssertions());
        fixture.Node.System.EventStream.Subscribe(logs.Ref, typeof(Akka.Event.Info));

        // The stuck client: raw TCP with a tiny receive buffer, TLS with the admin certificate, one watch request, then no reads.
        using var tcp = new TcpClient { ReceiveBufferSize = 4096 };
        await tcp.ConnectAsync(IPAddress.Loopback, fixture.Node.Options.ApiPort);
        var credentials = fixture.Node.Credentials;
        await using var tls = new SslStream(tcp.GetStream(), false, (_, _, _, _) => true);
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "127.0.0.1",
            ClientCertificates = credentials.ClientCertificate is { } cert ? [cert] : null,
        });
        await tls.WriteAsync(Encoding.ASCII.GetBytes(
            $"GET /api/v1/namespaces/{ns}/configmaps?watch=true HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n\r\n"));
        await tls.FlushAsync();
        var head = await ReadHead(tls);
        Assert.StartsWith("HTTP/1.1 200", head, StringComparison.Ordinal);

        // A client that reads: the same watch over HttpClient, counting events as they come.
        using var readerCts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        using var watch = await http.GetAsync($"/api/v1/namespaces/{ns}/configmaps?watch=true", HttpCompletionOption.ResponseHeadersRead, readerCts.Token);
        Assert.Equal(HttpStatusCode.OK, watch.StatusCode);
        var readerSawAll = Task.Run(async () =>
        {
            using var lines = new StreamReader(await watch.Content.ReadAsStreamAsync(readerCts.Token));
            var added = 0;
            while (await lines.ReadLineAsync(readerCts.Token) is { } line)
                if (JsonNode.Parse(line)!["type"]!.GetValue<string>() == "ADDED" && ++added == Objects) return true;
            return false;
        });

        var payload = new string('x', ObjectBytes);
        for (var i = 0; i < Objects; i++)
        {
            using var r = await http.PostAsync($"/api/v1/namespaces/{ns}/configmaps", Json(new JsonObject
            {
                ["apiVersion"] = "v1", ["kind"] = "ConfigMap",
                ["metadata"] = new JsonObject { ["name"] = $"big-{i:D2}" },
                ["data"] = new JsonObject { ["v"] = payload },
            }));
            Assert.Equal(HttpStatusCode.Created, r.StatusCode);
        }
        Assert.True(await readerSawAll, "the reading watch client did not get every event");

        // The server ended the stuck watch (no timeoutSeconds was asked, so only a cut-off ends it): reading now
        // reaches the end of the stream (a closed connection or the last chunk), and what arrives is less than every
        // event or ends in a 410 ERROR event.
        using var endCts = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var (events, last) = await ReadToEnd(tls, endCts.Token);
        Assert.False(endCts.IsCancellationRequested, "the apiserver kept the watch of a client that did not read");
        output.WriteLine($"the stuck client got {events} complete lines, the last {last?["type"]}");
        // It was the apiserver's bound that ended it (not Kestrel's minimum data rate).
        logs.FishForMessage<Akka.Event.Info>(i => i.Message.ToString()!.Contains("cut off", StringComparison.Ordinal)
            && i.Message.ToString()!.Contains("configmaps", StringComparison.Ordinal), TimeSpan.FromSeconds(30));
        Assert.True(events < Objects || last?["type"]?.GetValue<string>() == "ERROR", $"the stuck client got all {events} events and no ERROR");
        if (last?["type"]?.GetValue<string>() == "ERROR")
        {
            Assert.Equal(410, last["object"]!["code"]!.GetValue<int>());
            Assert.Equal("Expired", last["object"]!["reason"]!.GetValue<string>());
            Assert.Contains("bytes behind", last["object"]!["message"]!.GetValue<string>());
        }

        // The apiserver is alive and serving.
        using var ready = await http.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        using var one = await http.GetAsync($"/api/v1/namespaces/{ns}/configmaps/big-{Objects - 1:D2}");
        Assert.Equal(HttpStatusCode.OK, one.StatusCode);
    }

    private static StringContent Json(JsonObject o) => new(o.ToJsonString(), Encoding.UTF8, "application/json");

    private static async Task<string> ReadHead(Stream s)
    {
        var head = new StringBuilder();
        var one = new byte[1];
        while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
        {
            if (await s.ReadAsync(one) == 0) throw new IOException("connection closed in the response head");
            head.Append((char)one[0]);
        }
        return head.ToString();
    }

    /// <summary>Reads a chunked watch body to its end (EOF or reset): the count of complete events and the last one.</summary>
    private static async Task<(int Events, JsonNode? Last)> ReadToEnd(Stream s, CancellationToken ct)
    {
        var body = new MemoryStream();
        var buffer = new byte[64 * 1024];
        try
        {
            int n;
            // the end: the connection closes, or the chunked body's last chunk arrives (the connection is kept alive)
            while (!EndsWithLastChunk(body) && (n = await s.ReadAsync(buffer, ct)) > 0) body.Write(buffer, 0, n);
        }
        catch (IOException) { } // reset: the server closed a connection that still had unread data
        catch (OperationCanceledException) { return (0, null); }
        var events = 0;
        JsonNode? last = null;
        foreach (var line in Dechunk(body.ToArray()).Split('\n'))
        {
            if (line.Length == 0) continue;
            try
            {
                last = JsonNode.Parse(line);
                events++;
            }
            catch (System.Text.Json.JsonException)
            {
                break; // a line cut short by the reset
            }
        }
        return (events, last);
    }

    private static bool EndsWithLastChunk(MemoryStream body)
    {
        ReadOnlySpan<byte> last = "\r\n0\r\n\r\n"u8;
        return body.Length >= last.Length && body.GetBuffer().AsSpan((int)body.Length - last.Length, last.Length).SequenceEqual(last);
    }

    private static string Dechunk(byte[] raw)
    {
        var text = Encoding.UTF8.GetString(raw);
        var result = new StringBuilder();
        var at = 0;
        while (at < text.Length)
        {
            var eol = text.IndexOf("\r\n", at, StringComparison.Ordinal);
            if (eol < 0) break;
            var size = Convert.ToInt32(text[at..eol].Split(';')[0], 16);
            if (size == 0) break;
            var start = eol + 2;
            result.Append(text, start, Math.Min(size, text.Length - start));
            at = start + size + 2;
        }
        return result.ToString();
    }
}
