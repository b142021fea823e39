using Akka.Configuration;
using AkkaKube.Actors.Cluster;
using AkkaKube.Actors.Store;
using AkkaKube.Host;

namespace AkkaKube.Tests.Store;

public sealed class StoreSettingsSpecs
{
    [Fact]
    public void The_shipped_control_plane_hocon_loads_the_documented_defaults()
    {
        var settings = StoreSettings.Create(NodeConfig.Load(Path.Combine(NodeHost.HoconDirectory, "control-plane.conf")));
        Assert.Equal(StoreSettings.Default, settings);
        Assert.Equal((10_000, 1_000, 30), (settings.WatchWindow, settings.SnapshotEvery, settings.NumberOfShards));
    }

    [Fact]
    public void Missing_keys_take_the_defaults()
    {
        var settings = StoreSettings.Create(ConfigurationFactory.ParseString("akkakube.store.watch-window = 7"));
        Assert.Equal(StoreSettings.Default with { WatchWindow = 7 }, settings);
        Assert.Equal(StoreSettings.Default, StoreSettings.Create(Config.Empty));
    }

    public static TheoryData<string, string, string> InvalidCases => new()
    {
        { "a zero watch window", "watch-window = 0", "akkakube.store.watch-window must be a positive integer, got 0" },
        { "a negative snapshot interval", "snapshot-every = -5", "akkakube.store.snapshot-every must be a positive integer, got -5" },
        { "zero shards", "number-of-shards = 0", "akkakube.store.number-of-shards must be a positive integer, got 0" },
        { "a negative snapshot state factor", "snapshot-state-factor = -1", "akkakube.store.snapshot-state-factor must be a number >= 0, got -1" },
        { "a zero batch", "max-batch = 0", "akkakube.store.max-batch must be a positive integer, got 0" },
        { "a zero bookmark interval", "bookmark-interval = 0s", "akkakube.store.bookmark-interval must be a positive duration" },
        { "a word where a number belongs", "watch-window = lots", "invalid akkakube.store settings" },
    };

    [Theory]
    [MemberData(nameof(InvalidCases))]
    public void Invalid_settings_are_refused_naming_the_option(string name, string hocon, string message)
    {
        var e = Assert.ThrowsAny<ArgumentException>(() => StoreSettings.Create(ConfigurationFactory.ParseString("akkakube.store { " + hocon + " }")));
        Assert.True(e.Message.Contains(message, StringComparison.Ordinal), $"{name}: '{e.Message}'");
    }

    [Fact]
    public void A_snapshot_waits_for_the_larger_of_the_interval_and_the_state_times_the_factor()
    {
        var settings = StoreSettings.Default;
        Assert.Equal((2.0, true), (settings.SnapshotStateFactor, settings.JournalRowPerBatch));
        Assert.Equal(1_000, settings.SnapshotThreshold(10));
        Assert.Equal(20_000, settings.SnapshotThreshold(10_000));
        Assert.Equal(1_000, (settings with { SnapshotStateFactor = 0 }).SnapshotThreshold(10_000));
    }

    [Fact]
    public void Shard_ids_are_a_stable_hash_of_the_partition()
    {
        var extractor = new StoreMessageExtractor(30);
        // FNV-1a 32-bit mod 30, computed independently. Every node (and every future version) must route a partition to the same shard.
        Assert.Equal(("15", "3"), (extractor.ShardOf("pods"), extractor.ShardOf("deployments.apps")));
        Assert.Equal("pods", extractor.EntityId(new StoreProtocol.GetObject("pods", "ns", "x")));
    }
}
