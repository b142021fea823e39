using AkkaKube.Actors.ApiServer.Streaming;

namespace AkkaKube.Tests.ApiServer.Streaming;

/// <summary>The SPDY/3.1 subset of kubectl port-forward: frames and dictionary-compressed header blocks.</summary>
public sealed class SpdySpecs
{
    // Two header blocks of one connection as zlib (level 9, SPDY/3 dictionary, sync flush after each) writes them:
    // {streamtype: error, port: 8080, requestid: 0} then {streamtype: data, …} (made with Python's zlib and zdict).
    private const string First = "78f9e3c6a7c202253a703a2b294a4dcc851625aca9a0808614cb45e01c6061606100a4398b20d198094ade8c0600000000ffff";
    private const string Second = "c2aa19540e2512d60b000000ffff";

    [Fact]
    public void Header_blocks_compressed_over_the_spdy_dictionary_decompress_in_connection_order()
    {
        using var decompressor = new Spdy.HeaderDecompressor();
        var first = Spdy.ParseHeaderBlock(decompressor.Decompress(Convert.FromHexString(First)));
        Assert.Equal(("error", "8080", "0"), (first["streamtype"], first["port"], first["requestid"]));
        var second = Spdy.ParseHeaderBlock(decompressor.Decompress(Convert.FromHexString(Second)));
        Assert.Equal("data", second["streamtype"]);
    }

    [Fact]
    public void The_dictionary_is_the_protocols_1423_bytes()
    {
        Assert.Equal(1423, Spdy.Dictionary.Length);
        Assert.Equal(new byte[] { 0, 0, 0, 7, (byte)'o' }, Spdy.Dictionary[..5]);
        Assert.EndsWith("enq=0.", System.Text.Encoding.ASCII.GetString(Spdy.Dictionary));
    }

    [Fact]
    public void Written_header_blocks_are_a_zlib_stream_any_inflater_reads()
    {
        var compressor = new Spdy.HeaderCompressor();
        var a = compressor.Compress(Spdy.HeaderBlock(new Dictionary<string, string> { ["streamtype"] = "data" }));
        var b = compressor.Compress(Spdy.HeaderBlock(new Dictionary<string, string> { ["Port"] = "80" }));
        using var inflater = new System.IO.Compression.DeflateStream(new MemoryStream([.. a[2..], .. b]), System.IO.Compression.CompressionMode.Decompress);
        using var output = new MemoryStream();
        inflater.CopyTo(output);
        var both = output.ToArray();
        var first = Spdy.HeaderBlock(new Dictionary<string, string> { ["streamtype"] = "data" });
        Assert.Equal("data", Spdy.ParseHeaderBlock(both.AsSpan(0, first.Length))["streamtype"]);
        Assert.Equal("80", Spdy.ParseHeaderBlock(both.AsSpan(first.Length))["port"]);
    }

    [Fact]
    public void Every_header_block_ends_with_a_sync_flush_so_an_inflater_need_not_read_past_its_frame()
    {
        // Go's inflater (kubectl's spdystream) yields a stored block's bytes only after reading the next block's header
        var compressor = new Spdy.HeaderCompressor();
        for (var i = 0; i < 3; i++)
            Assert.Equal(new byte[] { 0, 0, 0, 0xff, 0xff }, compressor.Compress(Spdy.HeaderBlock(new Dictionary<string, string>()))[^5..]);
    }

    [Fact]
    public async Task Frames_round_trip_through_a_byte_stream()
    {
        var bytes = new MemoryStream([.. Spdy.DataFrame(3, "abc"u8, fin: true), .. Spdy.ControlFrame(Spdy.Ping, 0, [0, 0, 0, 5])]);
        var data = await Spdy.ReadFrameAsync(bytes, default);
        Assert.Equal((false, 3u, true, "abc"), (data!.Control, data.StreamId, data.Fin, System.Text.Encoding.ASCII.GetString(data.Payload)));
        var ping = await Spdy.ReadFrameAsync(bytes, default);
        Assert.Equal((true, Spdy.Ping, 5u), (ping!.Control, ping.Type, ping.StreamId));
        Assert.Null(await Spdy.ReadFrameAsync(bytes, default));
    }
}
