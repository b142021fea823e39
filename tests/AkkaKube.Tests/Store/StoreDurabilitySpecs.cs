using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Akka.Actor;
using AkkaKube.Actors.ApiServer;
using AkkaKube.Actors.Cluster;
using AkkaKube.Actors.Store;
using AkkaKube.Host;
using AkkaKube.Tests.Infrastructure;
using Microsoft.Data.Sqlite;
using static AkkaKube.Actors.Store.StoreProtocol;

namespace AkkaKube.Tests.Store;

/// <summary>What the store promises about durability (docs/store.md, Durability): the SQLite settings, a corrupt snapshot.</summary>
public sealed class StoreDurabilitySpecs : Akka.TestKit.Xunit2.TestKit
{
    private const string P = "configmaps";
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
    private readonly TempDir _dir;

    public StoreDurabilitySpecs() : this(new TempDir()) { }

    private StoreDurabilitySpecs(TempDir dir) : base(StoreTestConfig.Sqlite(Path.Combine(dir.Path, "store.db")), "store-durability-specs")
    {
        _dir = dir;
    }

    private string DbFile => Path.Combine(_dir.Path, "store.db");

    protected override void AfterAll()
    {
        base.AfterAll();
        SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }

    [Fact]
    public void The_store_runs_SQLite_in_WAL_mode_with_full_fsync_and_a_lock_wait_below_the_apiservers_store_timeout()
    {
        var (journalMode, synchronous, commandTimeout) = SqliteDurability.Read(DbFile);
        Assert.Equal("wal", journalMode);
        Assert.Equal(2, synchronous); // FULL: the WAL is fsynced at every commit
        var apiserver = ApiServerSettings.Create(NodeConfig.Load(Path.Combine(NodeHost.HoconDirectory, "control-plane.conf")));
        Assert.True(commandTimeout < apiserver.StoreTimeout, $"lock wait {commandTimeout} must stay below the store timeout {apiserver.StoreTimeout}");
        Assert.Equal(SqliteDurability.BusyTimeout, commandTimeout);
    }

    [Fact]
    public void A_write_blocked_by_another_process_lock_fails_within_the_busy_timeout_instead_of_committing_later()
    {
        using var holder = new SqliteConnection(SqliteDurability.ConnectionString(DbFile));
        holder.Open();
        using (var create = holder.CreateCommand())
        {
            create.CommandText = "CREATE TABLE IF NOT EXISTS lock_probe (x INTEGER)";
            create.ExecuteNonQuery();
        }
        using var exclusive = holder.BeginTransaction(System.Data.IsolationLevel.Serializable);
        using (var write = holder.CreateCommand())
        {
            write.Transaction = exclusive;
            write.CommandText = "INSERT INTO lock_probe VALUES (1)";
            write.ExecuteNonQuery();
        }
        using var writer = new SqliteConnection(SqliteDurability.ConnectionString(DbFile));
        writer.Open();
        using var blocked = writer.CreateCommand();
        blocked.CommandText = "INSERT INTO lock_probe VALUES (2)";
        var e = Assert.Throws<SqliteException>(() => blocked.ExecuteNonQuery());
        Assert.Equal(5, e.SqliteErrorCode); // SQLITE_BUSY: the write did not happen, nothing commits later
        exclusive.Rollback();
    }

    [Fact]
    public void A_truncated_snapshot_stops_the_partition_with_a_clear_message_and_never_serves_a_partial_state()
    {
        var settings = StoreSettings.Default with { SnapshotEvery = 5, SnapshotStateFactor = 0 };
        var store = Sys.ActorOf(StoreActor.Props(P, settings));
        for (var i = 0; i < 12; i++) Ask<ObjectReply>(store, new CreateObject(P, Objects.ConfigMap($"cm-{i:D2}").Json));
        // The snapshot at revision 10 deleted the journal up to it (rows left: the last 2 events, markers).
        AwaitAssert(() => Assert.Equal(1L, Scalar("SELECT COUNT(*) FROM snapshot")), Wait, TimeSpan.FromMilliseconds(100));
        AwaitAssert(() => Assert.True(Scalar("SELECT COUNT(*) FROM journal WHERE persistence_id = 'store-configmaps'") <= 4), Wait, TimeSpan.FromMilliseconds(100));
        var probe = CreateTestProbe();
        probe.Watch(store);
        store.Tell(StoreActor.Stop.Instance);
        probe.ExpectTerminated(store, Wait);

        Scalar("UPDATE snapshot SET snapshot = substr(snapshot, 1, length(snapshot) / 2)");

        var again = EventFilter.Error(contains: "store partition configmaps cannot recover").ExpectOne(Wait, () =>
        {
            var restarted = Sys.ActorOf(StoreActor.Props(P, settings));
            probe.Watch(restarted);
            restarted.Tell(new ListObjects(P, null, null, null), probe.Ref);
            return restarted;
        });
        probe.ExpectTerminated(again, Wait);
        // The list sent during recovery got no partial answer (2 of 12 objects): nothing but the termination came.
        probe.ExpectNoMsg(TimeSpan.FromMilliseconds(500));
    }

    [Fact]
    public void A_stale_copy_of_a_partition_cannot_write_after_a_newer_copy_did_the_journal_refuses_its_sequence_number()
    {
        // The hand-over's fence for writes (docs/failover.md, "Fencing"): a partition left running on the losing side of a
        // network partition while the majority recovered it elsewhere persists at a sequence number the new copy already
        // took; the journal's unique (persistence_id, sequence_number) refuses it, so its client gets no acknowledgement.
        var settings = StoreSettings.Default;
        var stale = Sys.ActorOf(StoreActor.Props(P, settings));
        Ask<ObjectReply>(stale, new CreateObject(P, Objects.ConfigMap("before").Json));
        var current = Sys.ActorOf(StoreActor.Props(P, settings));
        Assert.Equal(1L, Ask<ObjectReply>(current, new GetObject(P, "default", "before")).Revision);
        Assert.Equal(2L, Ask<ObjectReply>(current, new CreateObject(P, Objects.ConfigMap("by-the-new-copy").Json)).Revision);

        var probe = CreateTestProbe();
        probe.Watch(stale);
        var refused = Ask<StoreFailure>(stale, new CreateObject(P, Objects.ConfigMap("by-the-stale-copy").Json));
        Assert.Equal(500, refused.Code);
        Assert.Contains("outcome is unknown", refused.Message);
        probe.ExpectTerminated(stale, Wait);

        // What a third copy recovers is exactly what was acknowledged.
        current.Tell(StoreActor.Stop.Instance);
        var recovered = Sys.ActorOf(StoreActor.Props(P, settings));
        var list = Ask<ListReply>(recovered, new ListObjects(P, null, null, null));
        Assert.Equal(2L, list.Revision);
        Assert.Equal(["before", "by-the-new-copy"], list.Items.Select(i => (string)System.Text.Json.Nodes.JsonNode.Parse(i)!["metadata"]!["name"]!).ToArray());
        Assert.Equal(1L, Scalar("SELECT COUNT(*) FROM journal WHERE persistence_id = 'store-configmaps' AND sequence_number = 2"));
    }

    [Fact]
    public void A_partition_recovers_and_answers_while_another_process_holds_the_write_lock()
    {
        // Issue 25: reads (a moved partition's recovery) begin a deferred transaction, so they never wait for the one
        // write lock the node processes share (persistence-sqlite.conf, read-isolation-level). With BEGIN IMMEDIATE
        // this recovery would wait for the lock — here past the 5 s busy timeout, then fail.
        var first = Sys.ActorOf(StoreActor.Props(P, StoreSettings.Default));
        Ask<ObjectReply>(first, new CreateObject(P, Objects.ConfigMap("written-before").Json));
        var probe = CreateTestProbe();
        probe.Watch(first);
        first.Tell(StoreActor.Stop.Instance);
        probe.ExpectTerminated(first, Wait);

        using var holder = new SqliteConnection(SqliteDurability.ConnectionString(DbFile));
        holder.Open();
        using var writeLock = holder.BeginTransaction(System.Data.IsolationLevel.Serializable); // BEGIN IMMEDIATE
        using (var write = holder.CreateCommand())
        {
            write.Transaction = writeLock;
            write.CommandText = "CREATE TABLE IF NOT EXISTS lock_probe (x INTEGER); INSERT INTO lock_probe VALUES (1)";
            write.ExecuteNonQuery();
        }
        var recovered = Sys.ActorOf(StoreActor.Props(P, StoreSettings.Default));
        var list = Ask<ListReply>(recovered, new ListObjects(P, null, null, null));
        Assert.Equal(1L, list.Revision);
        Assert.Equal("written-before", (string)System.Text.Json.Nodes.JsonNode.Parse(Assert.Single(list.Items))!["metadata"]!["name"]!);
        writeLock.Rollback();
    }

    [Fact]
    public void Outside_a_cluster_a_node_always_has_its_quorum() => Assert.Null(ControlPlaneQuorum.WhyNotServing(Sys));

    private T Ask<T>(IActorRef store, object message)
    {
        var probe = CreateTestProbe();
        store.Tell(message, probe.Ref);
        return probe.ExpectMsg<T>(Wait);
    }

    private long Scalar(string sql)
    {
        using var connection = new SqliteConnection(SqliteDurability.ConnectionString(DbFile));
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar() ?? 0L);
    }
}

/// <summary>
/// A full disk under a real node (the data directory on a small tmpfs; needs root): writes fail with a 5xx Status,
/// every acknowledged write stays readable, and writes succeed again once there is space.
/// </summary>
public sealed class StoreDiskFullSpecs
{
    private static string? SkipReason =>
        !OperatingSystem.IsLinux() ? "tmpfs mounts need Linux"
        : Environment.UserName != "root" ? "mounting a small tmpfs data directory needs root"
        : null;

    [SkippableFact]
    public async Task A_full_disk_fails_writes_with_a_5xx_status_loses_nothing_acknowledged_and_recovers_with_space()
    {
        Skip.If(SkipReason is not null, SkipReason);
        using var dir = new TempDir();
        var mount = Path.Combine(dir.Path, "data");
        Directory.CreateDirectory(mount);
        // Roomy while the node starts (its WAL may grow before a checkpoint on a loaded machine), then narrowed to
        // just above what it uses, so the disk fills after start-up and not during it.
        await Run("mount", "-t", "tmpfs", "-o", "size=64m,mode=0700", "tmpfs", mount);
        var node = new InProcessNode { Configure = o => o with { DataDirectory = mount, Worker = false } };
        try
        {
            await node.InitializeAsync();
            using var http = node.NewHttpClient(TimeSpan.FromSeconds(60));
            await CreatedEventually(() => http.PostAsync("/api/v1/namespaces", Json("""{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"disk"}}""")));
            // The ConfigMaps partition answers before the disk is narrowed: on a loaded machine its first request can time
            // out (a 504 that is not what this test is about).
            await CreatedEventually(() => http.PostAsync("/api/v1/namespaces/disk/configmaps", Json(ConfigMap("warm", "up"))));
            var drive = new DriveInfo(mount);
            var usedMiB = (drive.TotalSize - drive.AvailableFreeSpace) / (1024 * 1024);
            await Run("mount", "-o", $"remount,size={usedMiB + 6}m", mount);

            var acknowledged = new List<string>();
            HttpResponseMessage? refused = null;
            var payload = new string('x', 96 * 1024);
            for (var i = 0; i < 200 && refused is null; i++)
            {
                var name = $"fill-{i:D3}";
                var r = await http.PostAsync("/api/v1/namespaces/disk/configmaps", Json(ConfigMap(name, payload)));
                if (r.StatusCode == HttpStatusCode.Created) acknowledged.Add(name);
                else refused = r;
            }
            Assert.NotNull(refused);
            Assert.True((int)refused!.StatusCode >= 500, $"a full disk is a server error, got {(int)refused.StatusCode}");
            var status = JsonNode.Parse(await refused.Content.ReadAsStringAsync())!;
            Assert.Equal("Status", status["kind"]!.GetValue<string>());
            Assert.False(string.IsNullOrEmpty(status["message"]?.GetValue<string>()));
            Assert.NotEmpty(acknowledged);

            // Space returns: the partition restarts, recovers every acknowledged write, and takes new ones.
            await Run("mount", "-o", "remount,size=64m", mount);
            await CreatedEventually(() => http.PostAsync("/api/v1/namespaces/disk/configmaps", Json(ConfigMap("after", "space"))));
            var list = JsonNode.Parse(await http.GetStringAsync("/api/v1/namespaces/disk/configmaps"))!;
            var names = list["items"]!.AsArray().Select(i => i!["metadata"]!["name"]!.GetValue<string>()).ToHashSet();
            var lost = acknowledged.Where(n => !names.Contains(n)).ToList();
            Assert.True(lost.Count == 0, "acknowledged but lost: " + string.Join(", ", lost));
            Assert.Contains("after", names);
        }
        finally
        {
            await node.DisposeAsync();
            SqliteConnection.ClearAllPools();
            await Run("umount", "-l", mount);
        }
    }

    private static string ConfigMap(string name, string value) =>
        new JsonObject
        {
            ["apiVersion"] = "v1", ["kind"] = "ConfigMap",
            ["metadata"] = new JsonObject { ["name"] = name },
            ["data"] = new JsonObject { ["v"] = value },
        }.ToJsonString();

    private static StringContent Json(string s) => new(s, Encoding.UTF8, "application/json");

    /// <summary>Retries a create until it is Created (or already exists); a timeout names the last answer.</summary>
    private static async Task CreatedEventually(Func<Task<HttpResponseMessage>> create)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        var last = "";
        while (true)
        {
            try
            {
                var r = await create();
                if (r.StatusCode is HttpStatusCode.Created or HttpStatusCode.Conflict) return;
                last = $"{(int)r.StatusCode} {await r.Content.ReadAsStringAsync()}";
            }
            catch (HttpRequestException e) { last = e.Message; }
            catch (TaskCanceledException e) { last = e.Message; }
            if (DateTime.UtcNow > deadline) throw new TimeoutException("not within 90 s, last answer: " + last);
            await Task.Delay(500);
        }
    }

    private static async Task Run(string file, params string[] args)
    {
        var r = await ProcessRunner.RunAsync(file, args, TimeSpan.FromSeconds(30));
        Assert.True(r.ExitCode == 0, $"{file} {string.Join(' ', args)}: {r.Output}");
    }
}
