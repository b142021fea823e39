using Akka.Actor;
using AkkaKube.Actors.Chaos;
using AkkaKube.Actors.Store;
using AkkaKube.Tests.Infrastructure;
using AkkaKube.Tests.Store;
using Microsoft.Data.Sqlite;
using static AkkaKube.Actors.Store.StoreProtocol;

using static AkkaKube.Actors.Machinery.WatchProtocol;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Tests.Chaos;

/// <summary>
/// `chaos crash-actor … store/&lt;partition&gt;` at the actor level: a store partition (over a real SQLite journal) that
/// takes an injected crash is restarted in place by its supervisor (here the user guardian, default strategy, as the
/// Shard's), recovers from its journal and serves exactly the state it had; no acknowledged write is lost.
/// </summary>
public sealed class StorePartitionCrashSpecs : Akka.TestKit.Xunit2.TestKit
{
    private const string P = "configmaps";
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
    private readonly TempDir _dir;

    public StorePartitionCrashSpecs() : this(new TempDir()) { }

    private StorePartitionCrashSpecs(TempDir dir) : base(StoreTestConfig.Sqlite(System.IO.Path.Combine(dir.Path, "store.db")), "store-crash-specs")
    {
        _dir = dir;
    }

    protected override void AfterAll()
    {
        base.AfterAll();
        SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }

    private T Ask<T>(IActorRef store, object message)
    {
        var probe = CreateTestProbe();
        store.Tell(message, probe.Ref);
        return probe.ExpectMsg<T>(Wait);
    }

    private ListReply ListAll(IActorRef store) => Ask<ListReply>(store, new ListObjects(P, null, null, null));

    private string Resync(IActorRef store) => Ask<ChaosProtocol.Resynced>(store, ChaosProtocol.GetResync.Instance).Summary;

    [Fact]
    public void A_crashed_partition_is_restarted_in_place_recovers_from_its_journal_and_reads_back_identically()
    {
        var store = Sys.ActorOf(StoreActor.Props(P, StoreSettings.Default), "partition");
        for (var i = 0; i < 10; i++) Ask<ObjectReply>(store, new CreateObject(P, Objects.ConfigMap($"cm-{i}").Data("i", i.ToString()).Json));
        Ask<ObjectReply>(store, new DeleteObject(P, "default", "cm-3"));
        var before = ListAll(store);
        Assert.Equal("recovered partition configmaps from the journal: revision 0, 0 objects (no snapshot, 0 events replayed)", Resync(store));
        var watcher = CreateTestProbe();
        store.Tell(new StartWatch(P, "w", watcher.Ref, null, null, null, StartWatch.FromNow));
        watcher.ExpectMsg<WatchStarted>(Wait);
        var deathWatch = CreateTestProbe();
        deathWatch.Watch(store);

        store.Tell(ChaosProtocol.InjectCrash.Instance);

        // Restarted, not stopped: the same ref answers; watches end with 410 so their clients re-list.
        Assert.Equal(410, watcher.ExpectMsg<WatchEnded>(Wait).Code);
        AwaitAssert(() => Assert.Equal("recovered partition configmaps from the journal: revision 11, 9 objects (no snapshot, 11 events replayed)", Resync(store)), Wait);
        var after = ListAll(store);
        Assert.Equal(before.Items, after.Items);
        Assert.Equal(before.Revision, after.Revision);
        deathWatch.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        // And it keeps serving writes.
        Assert.Equal(12, Ask<ObjectReply>(store, new CreateObject(P, Objects.ConfigMap("after").Json)).Revision);
    }

    [Fact]
    public void A_crash_injected_during_a_burst_of_writes_loses_no_acknowledged_write()
    {
        var store = Sys.ActorOf(StoreActor.Props(P, StoreSettings.Default), "busy-partition");
        var probes = Enumerable.Range(0, 40).Select(_ => CreateTestProbe()).ToList();
        for (var i = 0; i < probes.Count; i++)
        {
            store.Tell(new CreateObject(P, Objects.ConfigMap($"cm-{i:D2}").Json), probes[i].Ref);
            if (i == 10) store.Tell(ChaosProtocol.InjectCrash.Instance);
        }
        var acknowledged = new List<string>();
        var refused = 0;
        for (var i = 0; i < probes.Count; i++)
        {
            // Every client gets an answer: its write, or 503 (queued behind the crash: retry).
            var reply = probes[i].ExpectMsg<object>(Wait);
            if (reply is ObjectReply) acknowledged.Add($"cm-{i:D2}");
            else Assert.Equal(503, Assert.IsType<StoreFailure>(reply).Code);
            if (reply is StoreFailure) refused++;
        }
        var names = ListAll(store).Items.Select(j => Objects.Meta(j, "name")).ToHashSet();
        Assert.All(acknowledged, n => Assert.Contains(n, names));
        // Nothing that was refused was written anyway.
        Assert.Equal(acknowledged.Count, names.Count);
        Assert.Equal(probes.Count, acknowledged.Count + refused);
    }
}
