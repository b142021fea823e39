using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace AkkaKube.Actors.ApiServer.Streaming;

/// <summary>
/// The part of SPDY/3.1 that kubectl port-forward speaks (inside a WebSocket, "SPDY/3.1+portforward.k8s.io"):
/// frames, and header blocks compressed with zlib over the protocol's preset dictionary. AkkaKube is the server:
/// it reads SYN_STREAM, DATA, RST_STREAM, PING and GOAWAY and writes SYN_REPLY, DATA and PING. No flow control
/// (WINDOW_UPDATE) — the client's library (spdystream) has none either.
/// </summary>
public static class Spdy
{
    public const ushort Version = 3;
    public const ushort SynStream = 1, SynReply = 2, RstStream = 3, Settings = 4, Ping = 6, GoAway = 7, Headers = 8, WindowUpdate = 9;
    public const byte FlagFin = 0x01;

    /// <summary>A frame: control (Type set) or data (StreamId and payload).</summary>
    public sealed record Frame(bool Control, ushort Type, byte Flags, uint StreamId, byte[] Payload)
    {
        public bool Fin => (Flags & FlagFin) != 0;
    }

    /// <summary>Reads the next frame, or null at the end of the stream.</summary>
    public static async Task<Frame?> ReadFrameAsync(Stream input, CancellationToken ct)
    {
        var head = new byte[8];
        if (!await FillAsync(input, head, ct)) return null;
        var length = (head[5] << 16) | (head[6] << 8) | head[7];
        var payload = new byte[length];
        if (length > 0 && !await FillAsync(input, payload, ct)) return null;
        if ((head[0] & 0x80) != 0)
            return new Frame(true, BinaryPrimitives.ReadUInt16BigEndian(head.AsSpan(2)), head[4],
                payload.Length >= 4 ? BinaryPrimitives.ReadUInt32BigEndian(payload) & 0x7fffffff : 0, payload);
        return new Frame(false, 0, head[4], BinaryPrimitives.ReadUInt32BigEndian(head) & 0x7fffffff, payload);
    }

    private static async Task<bool> FillAsync(Stream input, byte[] buffer, CancellationToken ct)
    {
        var read = 0;
        while (read < buffer.Length)
        {
            var n = await input.ReadAsync(buffer.AsMemory(read), ct);
            if (n == 0) return false;
            read += n;
        }
        return true;
    }

    public static byte[] DataFrame(uint streamId, ReadOnlySpan<byte> data, bool fin)
    {
        var frame = new byte[8 + data.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame, streamId & 0x7fffffff);
        frame[4] = fin ? FlagFin : (byte)0;
        WriteLength(frame, data.Length);
        data.CopyTo(frame.AsSpan(8));
        return frame;
    }

    public static byte[] ControlFrame(ushort type, byte flags, ReadOnlySpan<byte> payload)
    {
        var frame = new byte[8 + payload.Length];
        BinaryPrimitives.WriteUInt16BigEndian(frame, 0x8000 | Version);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(2), type);
        frame[4] = flags;
        WriteLength(frame, payload.Length);
        payload.CopyTo(frame.AsSpan(8));
        return frame;
    }

    private static void WriteLength(byte[] frame, int length)
    {
        frame[5] = (byte)(length >> 16);
        frame[6] = (byte)(length >> 8);
        frame[7] = (byte)length;
    }

    /// <summary>SYN_STREAM's fixed part: stream id, associated stream id, priority and slot, then the header block.</summary>
    public static ReadOnlyMemory<byte> SynStreamHeaderBlock(Frame f) => f.Payload.AsMemory(10);

    /// <summary>The uncompressed header block: count, then (name length, name, value length, value), 32-bit big-endian lengths.</summary>
    public static Dictionary<string, string> ParseHeaderBlock(ReadOnlySpan<byte> block)
    {
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var count = BinaryPrimitives.ReadInt32BigEndian(block);
        var at = 4;
        string Next(ReadOnlySpan<byte> b)
        {
            var n = BinaryPrimitives.ReadInt32BigEndian(b[at..]);
            var s = Encoding.UTF8.GetString(b.Slice(at + 4, n));
            at += 4 + n;
            return s;
        }
        for (var i = 0; i < count; i++)
        {
            var name = Next(block);
            headers[name] = Next(block).Split('\0')[0];
        }
        return headers;
    }

    public static byte[] HeaderBlock(IReadOnlyDictionary<string, string> headers)
    {
        using var ms = new MemoryStream();
        var n = new byte[4];
        void Put(string s)
        {
            var bytes = Encoding.UTF8.GetBytes(s);
            BinaryPrimitives.WriteInt32BigEndian(n, bytes.Length);
            ms.Write(n);
            ms.Write(bytes);
        }
        BinaryPrimitives.WriteInt32BigEndian(n, headers.Count);
        ms.Write(n);
        foreach (var (k, v) in headers)
        {
            Put(k.ToLowerInvariant());
            Put(v);
        }
        return ms.ToArray();
    }

    /// <summary>
    /// The SPDY/3 header dictionary (draft-mbelshe-httpbis-spdy-00 §2.6.10.1): these words, each with a 32-bit length
    /// before it, then the tail as is.
    /// </summary>
    public static readonly byte[] Dictionary = BuildDictionary();

    private static byte[] BuildDictionary()
    {
        string[] words =
        [
            "options", "head", "post", "put", "delete", "trace", "accept", "accept-charset", "accept-encoding", "accept-language",
            "accept-ranges", "age", "allow", "authorization", "cache-control", "connection", "content-base", "content-encoding",
            "content-language", "content-length", "content-location", "content-md5", "content-range", "content-type", "date",
            "etag", "expect", "expires", "from", "host", "if-match", "if-modified-since", "if-none-match", "if-range",
            "if-unmodified-since", "last-modified", "location", "max-forwards", "pragma", "proxy-authenticate",
            "proxy-authorization", "range", "referer", "retry-after", "server", "te", "trailer", "transfer-encoding", "upgrade",
            "user-agent", "vary", "via", "warning", "www-authenticate", "method", "get", "status", "200 OK", "version", "HTTP/1.1",
            "url", "public", "set-cookie", "keep-alive", "origin",
        ];
        const string tail =
            "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505" +
            "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized" +
            "403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable" +
            "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT" +
            "chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain," +
            "text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.";
        using var ms = new MemoryStream();
        Span<byte> n = stackalloc byte[4];
        foreach (var w in words)
        {
            BinaryPrimitives.WriteInt32BigEndian(n, w.Length);
            ms.Write(n);
            ms.Write(Encoding.ASCII.GetBytes(w));
        }
        ms.Write(Encoding.ASCII.GetBytes(tail));
        return ms.ToArray();
    }

    /// <summary>
    /// The receiving side's header decompressor: one zlib stream for the connection, flushed at the end of each block.
    /// .NET's inflater takes no preset dictionary, so the raw deflate data is preceded by a stored block holding the
    /// dictionary — the same 32 KiB window the back-references reach into — whose output is skipped.
    /// </summary>
    public sealed class HeaderDecompressor : IDisposable
    {
        private readonly FeedStream _input = new();
        private readonly DeflateStream _inflater;
        private bool _started;
        private int _skip;

        public HeaderDecompressor() => _inflater = new DeflateStream(_input, CompressionMode.Decompress);

        public byte[] Decompress(ReadOnlySpan<byte> block)
        {
            if (!_started)
            {
                _started = true;
                if (block.Length < 2) throw new InvalidDataException("SPDY header block too short");
                var hasDictionary = (block[1] & 0x20) != 0;
                block = block[(hasDictionary ? 6 : 2)..]; // zlib header (+ dictionary id)
                var stored = new byte[5];
                stored[0] = 0; // not final, stored
                BinaryPrimitives.WriteUInt16LittleEndian(stored.AsSpan(1), (ushort)Dictionary.Length);
                BinaryPrimitives.WriteUInt16LittleEndian(stored.AsSpan(3), (ushort)~Dictionary.Length);
                _input.Append(stored);
                _input.Append(Dictionary);
                _skip = Dictionary.Length;
            }
            _input.Append(block.ToArray());
            using var output = new MemoryStream();
            var buffer = new byte[4096];
            int n;
            while ((n = _inflater.Read(buffer)) > 0)
            {
                var skip = Math.Min(_skip, n);
                _skip -= skip;
                output.Write(buffer, skip, n - skip);
            }
            return output.ToArray();
        }

        public void Dispose() => _inflater.Dispose();
    }

    /// <summary>
    /// The sending side's header compressor: a zlib stream without dictionary of stored blocks (a valid, flushed deflate
    /// stream the peer's inflater reads whatever dictionary it holds); header blocks are small.
    /// </summary>
    public sealed class HeaderCompressor
    {
        private static readonly byte[] SyncFlush = [0, 0, 0, 0xff, 0xff];
        private bool _started;

        public byte[] Compress(ReadOnlySpan<byte> block)
        {
            using var ms = new MemoryStream();
            if (!_started)
            {
                _started = true;
                ms.Write([0x78, 0x01]); // deflate, 32 KiB window, no dictionary, fastest (check bits: 0x7801 % 31 == 0)
            }
            Span<byte> head = stackalloc byte[5];
            do
            {
                var chunk = block[..Math.Min(block.Length, 65535)];
                block = block[chunk.Length..];
                head[0] = 0;
                BinaryPrimitives.WriteUInt16LittleEndian(head[1..], (ushort)chunk.Length);
                BinaryPrimitives.WriteUInt16LittleEndian(head[3..], (ushort)~chunk.Length);
                ms.Write(head);
                ms.Write(chunk);
            } while (block.Length > 0);
            // An empty stored block ends every header block, as zlib's sync flush does: Go's inflater hands out a stored
            // block's bytes only once it has read the next block's header. Without this marker it reads past the frame's
            // end, its EOF error sticks, and spdystream fails the next header block and closes the connection (kubectl:
            // "lost connection to pod" at the second stream of a port-forward).
            ms.Write(SyncFlush);
            return ms.ToArray();
        }
    }

    /// <summary>A read-only stream of appended buffers; reads return 0 when nothing is left (more may come).</summary>
    private sealed class FeedStream : ReadOnlyStream
    {
        private readonly Queue<byte[]> _chunks = new();
        private int _offset;

        public void Append(byte[] data)
        {
            if (data.Length > 0) _chunks.Enqueue(data);
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var total = 0;
            while (buffer.Length > 0 && _chunks.TryPeek(out var chunk))
            {
                var n = Math.Min(buffer.Length, chunk.Length - _offset);
                chunk.AsSpan(_offset, n).CopyTo(buffer);
                buffer = buffer[n..];
                total += n;
                _offset += n;
                if (_offset == chunk.Length)
                {
                    _chunks.Dequeue();
                    _offset = 0;
                }
            }
            return total;
        }

    }
}
