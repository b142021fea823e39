using AkkaKube.Actors.ApiServer;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Tests.ApiServer;

/// <summary>A slow watch client is cut off with a 410 end once its queue passes either bound, never buffered without bound.</summary>
public sealed class WatchBufferSpecs
{
    private static WatchProtocol.WatchEvent Event(int bytes) => new("w", "ADDED", new string('x', bytes), 1);

    [Fact]
    public void A_client_that_reads_keeps_its_watch_and_one_that_falls_behind_in_events_is_cut_off()
    {
        var buffer = new WatchBuffer(maxEvents: 3, maxBytes: 1_000_000);
        for (var i = 0; i < 10; i++)
        {
            var e = Event(10);
            Assert.True(buffer.Offer(e));
            buffer.Taken(e);
        }
        Assert.True(buffer.Offer(Event(10)) && buffer.Offer(Event(10)) && buffer.Offer(Event(10)));
        Assert.False(buffer.Offer(Event(10)));
        Assert.True(buffer.Overflowed);
        Assert.False(buffer.Offer(Event(1)));
        Assert.Equal((410, "Expired"), (buffer.OverflowEnd.Code, buffer.OverflowEnd.Reason));
        Assert.Contains("fell more than 3 events", buffer.OverflowEnd.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_client_that_falls_behind_in_bytes_is_cut_off()
    {
        var buffer = new WatchBuffer(maxEvents: 1000, maxBytes: 2048);
        Assert.True(buffer.Offer(Event(1500)));
        Assert.False(buffer.Offer(Event(1500)));
        Assert.True(buffer.Overflowed);
    }

    [Fact]
    public void An_overflow_gives_a_blocked_write_its_grace_and_without_one_ends_it_at_once()
    {
        var graced = new WatchBuffer(maxEvents: 1, maxBytes: 1_000_000, cutOffGrace: TimeSpan.FromHours(1));
        Assert.True(graced.Offer(Event(10)));
        Assert.False(graced.Offer(Event(10)));
        Assert.True(graced.Overflowed);
        Assert.False(graced.CutOff.IsCancellationRequested);

        var immediate = new WatchBuffer(maxEvents: 1, maxBytes: 1_000_000);
        Assert.True(immediate.Offer(Event(10)));
        Assert.False(immediate.Offer(Event(10)));
        Assert.True(immediate.CutOff.IsCancellationRequested);
    }
}
