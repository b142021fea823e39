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

    /// <summary>
    /// A snapshot waits for at least objects × this many events (<c>snapshot-state-factor</c>), so its O(objects)
    /// cost is spread over as many writes: O(1) per write, and recovery replays at most that factor × the state.
    /// </summary>
    public double SnapshotStateFactor { get; init; } = 2.0;

    /// <summary>Events after the last snapshot before the next one, for a partition holding <paramref name="objects"/>.</summary>
    public long SnapshotThreshold(int objects) => Math.Max(SnapshotEvery, (long)Math.Ceiling(objects * SnapshotStateFactor));

    /// <summary>Shards of the store region (<c>number-of-shards</c>); ≈ 10 × control-plane nodes.</summary>
    public int NumberOfShards { get; init; } = 30;

    /// <summary>Most commands decided into one journal batch (<c>max-batch</c>).</summary>
    public int MaxBatch { get; init; } = 1_000;

    /// <summary>
    /// Persist a group-commit batch as one journal row (<c>journal-row-per-batch</c>); off writes one row per event,
    /// as before. Both are replayed the same way, so the setting can change between restarts.
    /// </summary>
    public bool JournalRowPerBatch { get; init; } = true;

    /// <summary>Period of BOOKMARK events for watchers that asked for them (<c>bookmark-interval</c>).</summary>
    public TimeSpan BookmarkInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Largest object as a JSON string on the wire (413 beyond); must stay below the remoting frame size.</summary>
    public long MaxObjectWireBytes { get; init; } = 15L * 1024 * 1024;

    /// <summary>
    /// Encryption at rest of the journal and snapshots (<c>encryption-provider-config</c>: a kube-apiserver
    /// EncryptionConfiguration file; node flag --encryption-provider-config); null: everything stored as it is.
    /// </summary>
    public Security.EncryptionConfiguration? Encryption { get; init; }

    public StoreSettings Validate()
    {
        Positive(WatchWindow, "watch-window");
        Positive(SnapshotEvery, "snapshot-every");
        Positive(NumberOfShards, "number-of-shards");
        if (!(SnapshotStateFactor >= 0) || double.IsInfinity(SnapshotStateFactor))
            throw new ArgumentException($"{ConfigPath}.snapshot-state-factor must be a number >= 0, got {SnapshotStateFactor}");
        Positive(MaxBatch, "max-batch");
        if (MaxObjectWireBytes < 1024 * 1024)
            throw new ArgumentException($"{ConfigPath}.max-object-wire-bytes must be at least 1 MiB, got {MaxObjectWireBytes}");
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
                SnapshotStateFactor = c.GetDouble("snapshot-state-factor", Default.SnapshotStateFactor),
                NumberOfShards = c.GetInt("number-of-shards", Default.NumberOfShards),
                MaxBatch = c.GetInt("max-batch", Default.MaxBatch),
                JournalRowPerBatch = c.GetBoolean("journal-row-per-batch", Default.JournalRowPerBatch),
                BookmarkInterval = c.GetTimeSpan("bookmark-interval", Default.BookmarkInterval, allowInfinite: false),
                MaxObjectWireBytes = c.GetByteSize("max-object-wire-bytes") ?? Default.MaxObjectWireBytes,
                Encryption = c.GetString("encryption-provider-config", "") is { Length: > 0 } file ? Security.EncryptionConfiguration.Load(file) : null,
            }.Validate();
        }
        catch (Exception e) when (e is FormatException or ConfigurationException or OverflowException or Security.EncryptionConfigException)
        {
            throw new ArgumentException($"invalid {ConfigPath} settings: {e.Message}", e);
        }
    }

    private static void Positive(int value, string option)
    {
        if (value <= 0) throw new ArgumentException($"{ConfigPath}.{option} must be a positive integer, got {value}");
    }
}
