using Akka.Actor;
using Akka.Configuration;
using Akka.TestKit;
using AkkaKube.Actors.Store;
using AkkaKube.Tests.Infrastructure;
using Microsoft.Data.Sqlite;
using static AkkaKube.Actors.Store.StoreProtocol;

namespace AkkaKube.Tests.Store;

/// <summary>The partition actor over a real SQLite file (one per test) through Akka.Persistence.Sql.</summary>
public sealed class StoreActorSpecs : Akka.TestKit.Xunit2.TestKit
{
    private const string P = "configmaps";
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
    private readonly TempDir _dir;

    public StoreActorSpecs() : this(new TempDir()) { }

    private StoreActorSpecs(TempDir dir) : base(StoreTestConfig.Sqlite(System.IO.Path.Combine(dir.Path, "store.db")), "store-actor-specs")
    {
        _dir = dir;
    }

    private string DbFile => System.IO.Path.Combine(_dir.Path, "store.db");

    protected override void AfterAll()
    {
        base.AfterAll();
        SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }

    private IActorRef Start(StoreSettings? settings = null, string partition = P) =>
        Sys.ActorOf(StoreActor.Props(partition, settings ?? StoreSettings.Default));

    private void StopAndWait(IActorRef store)
    {
        var probe = CreateTestProbe();
        probe.Watch(store);
        store.Tell(StoreActor.Stop.Instance);
        probe.ExpectTerminated(store, Wait);
    }

    private ObjectReply Create(IActorRef store, string json) => Ask<ObjectReply>(store, new CreateObject(P, json));

    private T Ask<T>(IActorRef store, object message)
    {
        var probe = CreateTestProbe();
        store.Tell(message, probe.Ref);
        return probe.ExpectMsg<T>(Wait);
    }

    private ListReply ListAll(IActorRef store) => Ask<ListReply>(store, new ListObjects(P, null, null, null));

    [Fact]
    public void A_created_object_is_read_back_with_the_store_owned_metadata()
    {
        var store = Start();
        var created = Create(store, Objects.ConfigMap("a").Data("k", "v").Json);
        Assert.Equal("1", Objects.Meta(created.ObjectJson, "resourceVersion"));
        Assert.NotEmpty(Objects.Meta(created.ObjectJson, "uid"));
        var got = Ask<ObjectReply>(store, new GetObject(P, "default", "a"));
        Assert.Equal(created.ObjectJson, got.ObjectJson);
        var missing = Ask<StoreFailure>(store, new GetObject(P, "default", "b"));
        Assert.Equal(404, missing.Code);
    }

    [Fact]
    public void A_restarted_partition_recovers_exactly_the_state_it_had()
    {
        var store = Start();
        for (var i = 0; i < 20; i++) Create(store, Objects.ConfigMap($"cm-{i:D2}").Data("i", i.ToString()).Json);
        var updated = Ask<ObjectReply>(store, new UpdateObject(P, Objects.ConfigMap("cm-03").Data("i", "changed").Json));
        Ask<ObjectReply>(store, new DeleteObject(P, "default", "cm-04"));
        var before = ListAll(store);
        StopAndWait(store);

        var again = Start();
        var after = ListAll(again);
        Assert.Equal(before.Items, after.Items);
        Assert.Equal(before.Revision, after.Revision);
        Assert.Equal(22, after.Revision);
        Assert.Contains(updated.ObjectJson, after.Items);
    }

    [Fact]
    public void Snapshots_delete_the_journal_and_recovery_stays_exact()
    {
        var settings = StoreSettings.Default with { SnapshotEvery = 5 };
        var store = Start(settings);
        for (var i = 0; i < 23; i++) Create(store, Objects.ConfigMap($"cm-{i:D2}").Json);
        var before = ListAll(store);

        // The last snapshot (revision 20) deletes journal entries up to it; wait until that happened.
        AwaitAssert(() => Assert.True(JournalRows(StoreActor.PersistenceIdOf(P)) <= 4,
            $"journal still has {JournalRows(StoreActor.PersistenceIdOf(P))} rows"), Wait, TimeSpan.FromMilliseconds(100));
        AwaitAssert(() => Assert.Equal(1, SnapshotRows(StoreActor.PersistenceIdOf(P))), Wait, TimeSpan.FromMilliseconds(100));
        StopAndWait(store);

        var again = Start(settings);
        var after = ListAll(again);
        Assert.Equal(before.Items, after.Items);
        Assert.Equal(23, after.Revision);
        var next = Create(again, Objects.ConfigMap("next").Json);
        Assert.Equal("24", Objects.Meta(next.ObjectJson, "resourceVersion"));
    }

    [Fact]
    public void A_watch_resumes_inside_the_window_and_gets_410_before_it()
    {
        var store = Start(StoreSettings.Default with { WatchWindow = 5 });
        for (var i = 1; i <= 10; i++) Create(store, Objects.ConfigMap($"cm-{i:D2}").Json);

        var probe = CreateTestProbe();
        store.Tell(new StartWatch(P, "w1", probe.Ref, null, null, null, FromRevision: 7));
        Assert.Equal(10, probe.ExpectMsg<WatchStarted>(Wait).Revision);
        Assert.Equal([8L, 9L, 10L], Enumerable.Range(0, 3).Select(_ => probe.ExpectMsg<WatchEvent>(Wait).Revision));
        Create(store, Objects.ConfigMap("live").Json);
        var live = probe.ExpectMsg<WatchEvent>(Wait);
        Assert.Equal(("ADDED", 11L), (live.Type, live.Revision));

        var old = CreateTestProbe();
        store.Tell(new StartWatch(P, "w2", old.Ref, null, null, null, FromRevision: 2));
        var ended = old.ExpectMsg<WatchEnded>(Wait);
        Assert.Equal((410, "Expired", "too old resource version: 2 (6)"), (ended.Code, ended.Reason, ended.Message));
    }

    [Fact]
    public void A_watch_from_now_sees_only_later_changes_filtered_by_selector()
    {
        var store = Start();
        Create(store, Objects.ConfigMap("before").Label("app", "web").Json);
        var probe = CreateTestProbe();
        store.Tell(new StartWatch(P, "w", probe.Ref, "default", "app=web", null, 0));
        Assert.Equal(1, probe.ExpectMsg<WatchStarted>(Wait).Revision);
        Create(store, Objects.ConfigMap("other").Label("app", "db").Json);
        var web = Create(store, Objects.ConfigMap("web").Label("app", "web").Json);
        var added = probe.ExpectMsg<WatchEvent>(Wait);
        Assert.Equal(("ADDED", web.ObjectJson), (added.Type, added.ObjectJson));

        // The object stops matching: DELETED for this watcher.
        Ask<ObjectReply>(store, new UpdateObject(P, Objects.ConfigMap("web").Label("app", "api").Json));
        var gone = probe.ExpectMsg<WatchEvent>(Wait);
        Assert.Equal(("DELETED", 4L, "4"), (gone.Type, gone.Revision, Objects.Meta(gone.ObjectJson, "resourceVersion")));
        probe.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void Every_reply_of_a_concurrent_burst_comes_after_its_event_is_in_the_journal()
    {
        var store = Start();
        var probes = Enumerable.Range(0, 40).Select(_ => CreateTestProbe()).ToList();
        for (var i = 0; i < probes.Count; i++)
            store.Tell(new CreateObject(P, Objects.ConfigMap($"cm-{i:D2}").Json), probes[i].Ref);
        foreach (var probe in probes)
        {
            var reply = probe.ExpectMsg<ObjectReply>(Wait);
            var revision = long.Parse(Objects.Meta(reply.ObjectJson, "resourceVersion"));
            Assert.True(MaxJournalSequence(StoreActor.PersistenceIdOf(P)) >= revision, $"revision {revision} acknowledged before it was journaled");
        }
        Assert.Equal(40, ListAll(store).Items.Count);
    }

    [Fact]
    public void Reads_queued_behind_a_write_see_that_write()
    {
        var store = Start();
        var probe = CreateTestProbe();
        for (var i = 0; i < 10; i++)
        {
            store.Tell(new CreateObject(P, Objects.ConfigMap($"cm-{i}").Json), probe.Ref);
            store.Tell(new GetObject(P, "default", $"cm-{i}"), probe.Ref);
        }
        for (var i = 0; i < 10; i++)
        {
            var created = probe.ExpectMsg<ObjectReply>(Wait);
            var read = probe.ExpectMsg<ObjectReply>(Wait);
            Assert.Equal(created.ObjectJson, read.ObjectJson);
        }
    }

    [Fact]
    public void Watchers_get_WatchEnded_when_the_partition_stops_and_dead_subscribers_are_dropped()
    {
        var store = Start();
        var dying = CreateTestProbe();
        store.Tell(new StartWatch(P, "dying", dying.Ref, null, null, null, 0));
        dying.ExpectMsg<WatchStarted>(Wait);
        Sys.Stop(dying.Ref);
        var probe = CreateTestProbe();
        store.Tell(new StartWatch(P, "w", probe.Ref, null, null, null, 0));
        probe.ExpectMsg<WatchStarted>(Wait);
        StopAndWait(store);
        var ended = probe.ExpectMsg<WatchEnded>(Wait);
        Assert.Equal(("w", 410), (ended.WatchId, ended.Code));
    }

    [Fact]
    public void Bookmarks_go_only_to_watches_that_asked()
    {
        var store = Start(StoreSettings.Default with { BookmarkInterval = TimeSpan.FromMilliseconds(100) });
        Create(store, Objects.ConfigMap("a").Json);
        var asked = CreateTestProbe();
        var plain = CreateTestProbe();
        store.Tell(new StartWatch(P, "b", asked.Ref, null, null, null, 0, Bookmarks: true));
        store.Tell(new StartWatch(P, "p", plain.Ref, null, null, null, 0));
        asked.ExpectMsg<WatchStarted>(Wait);
        plain.ExpectMsg<WatchStarted>(Wait);
        var bookmark = asked.ExpectMsg<WatchEvent>(Wait);
        Assert.Equal("BOOKMARK", bookmark.Type);
        Assert.Equal("""{"kind":"ConfigMap","apiVersion":"v1","metadata":{"resourceVersion":"1"}}""", bookmark.ObjectJson);
        plain.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
    }

    private long JournalRows(string persistenceId) =>
        Scalar("SELECT COUNT(*) FROM journal WHERE persistence_id = $p AND deleted = 0", persistenceId);

    private long MaxJournalSequence(string persistenceId) =>
        Scalar("SELECT COALESCE(MAX(sequence_number), 0) FROM journal WHERE persistence_id = $p", persistenceId);

    private long SnapshotRows(string persistenceId) =>
        Scalar("SELECT COUNT(*) FROM snapshot WHERE persistence_id = $p", persistenceId);

    private long Scalar(string sql, string persistenceId)
    {
        using var connection = new SqliteConnection(StoreTestConfig.SqliteConnection(DbFile));
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("$p", persistenceId);
        return Convert.ToInt64(command.ExecuteScalar());
    }
}
