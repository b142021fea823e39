using Akka.Configuration;

namespace AkkaKube.Actors.Store;

/// <summary>Settings of the store (HOCON block <c>akkakube.store</c> in hocon/control-plane.conf).</summary>
public sealed record StoreSettings
{
    public const string ConfigPath = "akkakube.store";

    public static readonly StoreSettings Default = new();

    /// <summary>Recent changes kept in memory to serve watch resumes (<c>watch-window</c>).</summary>
    public int WatchWindow { get; init; } = 10_000;

    /// <summary>A snapshot after this many events; then older journal entries are deleted (<c>snapshot-every</c>).</summary>
    public int SnapshotEvery { get; init; } = 1_000;

    /// <summary>Shards of the store region (<c>number-of-shards</c>); ≈ 10 × control-plane nodes.</summary>
    public int NumberOfShards { get; init; } = 30;

    /// <summary>Most commands decided into one journal batch (<c>max-batch</c>).</summary>
    public int MaxBatch { get; init; } = 1_000;

    /// <summary>Period of BOOKMARK events for watchers that asked for them (<c>bookmark-interval</c>).</summary>
    public TimeSpan BookmarkInterval { get; init; } = TimeSpan.FromSeconds(10);

    public StoreSettings Validate()
    {
        Positive(WatchWindow, "watch-window");
        Positive(SnapshotEvery, "snapshot-every");
        Positive(NumberOfShards, "number-of-shards");
        Positive(MaxBatch, "max-batch");
        if (BookmarkInterval <= TimeSpan.Zero)
            throw new ArgumentException($"{ConfigPath}.bookmark-interval must be a positive duration, got {BookmarkInterval}");
        return this;
    }

    /// <summary>Reads <c>akkakube.store</c>; missing keys take the defaults above.</summary>
    public static StoreSettings Create(Config config)
    {
        var c = config.GetConfig(ConfigPath);
        if (c is null || c.IsEmpty) return Default;
        try
        {
            return new StoreSettings
            {
                WatchWindow = c.GetInt("watch-window", Default.WatchWindow),
                SnapshotEvery = c.GetInt("snapshot-every", Default.SnapshotEvery),
                NumberOfShards = c.GetInt("number-of-shards", Default.NumberOfShards),
                MaxBatch = c.GetInt("max-batch", Default.MaxBatch),
                BookmarkInterval = c.GetTimeSpan("bookmark-interval", Default.BookmarkInterval, allowInfinite: false),
            }.Validate();
        }
        catch (Exception e) when (e is FormatException or ConfigurationException or OverflowException)
        {
            throw new ArgumentException($"invalid {ConfigPath} settings: {e.Message}", e);
        }
    }

    private static void Positive(int value, string option)
    {
        if (value <= 0) throw new ArgumentException($"{ConfigPath}.{option} must be a positive integer, got {value}");
    }
}
