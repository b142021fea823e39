using Akka.Actor;
using AkkaKube.Actors.Store;
using static AkkaKube.Actors.Store.StoreProtocol;

using static AkkaKube.Actors.Machinery.WatchProtocol;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Tests.Store;

public sealed class WatchHubSpecs
{
    private static StoredObject Pod(string app, long rv) =>
        StoredObject.FromJson(Objects.Pod("p").Label("app", app).ResourceVersion(rv.ToString()).Json);

    private static StartWatch Watch(string? labels = null, long from = StartWatch.FromNow) =>
        new("pods", "w", ActorRefs.Nobody, null, labels, null, from);

    public static TheoryData<string, string, string?, string, string?> Transitions => new()
    {
        { "a created object that matches is ADDED", "ADDED", null, "web", "ADDED" },
        { "a created object that does not match is not sent", "ADDED", null, "db", null },
        { "a modified object that keeps matching is MODIFIED", "MODIFIED", "web", "web", "MODIFIED" },
        { "a modified object that starts matching is ADDED", "MODIFIED", "db", "web", "ADDED" },
        { "a modified object that stops matching is DELETED", "MODIFIED", "web", "db", "DELETED" },
        { "a modified object that never matches is not sent", "MODIFIED", "db", "api", null },
        { "a deleted object that matched is DELETED", "DELETED", "web", "web", "DELETED" },
        { "a deleted object that did not match is not sent", "DELETED", "db", "db", null },
    };

    [Theory]
    [MemberData(nameof(Transitions))]
    public void A_watcher_with_a_label_selector_sees(string name, string type, string? oldApp, string newApp, string? expected)
    {
        var hub = new WatchHub("pods", 10);
        hub.Start(Watch("app=web"), 1);
        var deliveries = hub.Publish(new WatchChange(2, type, oldApp is null ? null : Pod(oldApp, 1), Pod(newApp, 2)));
        var sent = deliveries.Select(d => ((WatchEvent)d.Message).Type).SingleOrDefault();
        Assert.True(expected == sent, $"{name}: sent {sent ?? "nothing"}");
    }

    [Fact]
    public void A_watcher_told_DELETED_for_an_object_leaving_its_selector_gets_the_old_content_at_the_new_revision()
    {
        var hub = new WatchHub("pods", 10);
        hub.Start(Watch("app=web"), 1);
        var e = (WatchEvent)hub.Publish(new WatchChange(2, "MODIFIED", Pod("web", 1), Pod("db", 2))).Single().Message;
        Assert.Equal(("web", "2"), (StoredObject.FromJson(e.ObjectJson).Labels["app"], Objects.Meta(e.ObjectJson, "resourceVersion")));
    }

    [Fact]
    public void The_window_is_bounded_in_bytes_too_and_a_resume_before_it_is_expired()
    {
        var one = Pod("web", 1).Json.Length;
        var hub = new WatchHub("pods", 1000, windowBytes: 3 * one + one / 2);
        hub.Reset(0);
        for (var rv = 1; rv <= 6; rv++) hub.Publish(new WatchChange(rv, "ADDED", null, Pod("web", rv)));
        Assert.Equal(3, hub.WindowCount);
        Assert.True(hub.WindowBytes <= 3 * one + one / 2, $"{hub.WindowBytes} bytes kept");
        Assert.Equal(410, ((WatchEnded)Assert.Single(hub.Start(Watch(from: 2), 6)).Message).Code);
        Assert.Equal([5L, 6L], hub.Start(Watch(from: 4), 6).Skip(1).Select(d => ((WatchEvent)d.Message).Revision));
    }

    [Fact]
    public void A_watch_from_a_resource_version_not_reached_yet_ends_with_too_large_resource_version()
    {
        var hub = new WatchHub("pods", 10);
        hub.Reset(0);
        var ended = (WatchEnded)Assert.Single(hub.Start(Watch(from: 99), 5)).Message;
        Assert.Equal((504, "Timeout", "Too large resource version: 99, current: 5"), (ended.Code, ended.Reason, ended.Message));
        Assert.Equal(0, hub.WatcherCount);
    }

    [Fact]
    public void The_window_keeps_the_newest_changes_and_moves_its_start()
    {
        var hub = new WatchHub("pods", 3);
        hub.Reset(0);
        for (var rv = 1; rv <= 5; rv++) hub.Publish(new WatchChange(rv, "ADDED", null, Pod("web", rv)));
        Assert.Equal((3, 2L), (hub.WindowCount, hub.WindowStart));
        Assert.IsType<WatchEnded>(Assert.Single(hub.Start(Watch(from: 1), 5)).Message);
        var resumed = hub.Start(Watch(from: 2), 5);
        Assert.Equal([3L, 4L, 5L], resumed.Skip(1).Select(d => ((WatchEvent)d.Message).Revision));
    }

    [Fact]
    public void A_malformed_selector_ends_the_watch_with_400()
    {
        var hub = new WatchHub("pods", 3);
        var ended = Assert.IsType<WatchEnded>(Assert.Single(hub.Start(Watch("app in"), 0)).Message);
        Assert.Equal((400, "BadRequest"), (ended.Code, ended.Reason));
        Assert.Equal(0, hub.WatcherCount);
    }

    private static StoredObject OnNode(string? node, long rv, string name = "p") =>
        StoredObject.FromJson(Objects.Pod(name).Spec("nodeName", node).ResourceVersion(rv.ToString()).Json);

    private static StartWatch NodeWatch(string id, string node, IActorRef subscriber) =>
        new("pods", id, subscriber, null, null, "spec.nodeName=" + node, StartWatch.FromNow);

    [Fact]
    public void Watches_on_spec_nodeName_see_only_their_nodes_pods_bound_moved_and_deleted_like_any_field_selector()
    {
        var hub = new WatchHub("pods", 10);
        var a = new Subscriber("a");
        var b = new Subscriber("b");
        var all = new Subscriber("all");
        hub.Start(NodeWatch("wa", "node-a", a), 1);
        hub.Start(NodeWatch("wb", "node-b", b), 1);
        hub.Start(new StartWatch("pods", "wall", all, null, null, null, StartWatch.FromNow), 1);
        var unscheduled = new Subscriber("unscheduled");
        hub.Start(new StartWatch("pods", "wu", unscheduled, null, null, "spec.nodeName=", StartWatch.FromNow), 1);

        string Seen(List<Delivery> ds, Subscriber s) => string.Join(",", ds.Where(d => d.To.Equals(s)).Select(d => ((WatchEvent)d.Message).Type));

        var created = hub.Publish(new WatchChange(2, "ADDED", null, OnNode(null, 2)));
        Assert.Equal(("", "", "ADDED", "ADDED"), (Seen(created, a), Seen(created, b), Seen(created, all), Seen(created, unscheduled)));
        var bound = hub.Publish(new WatchChange(3, "MODIFIED", OnNode(null, 2), OnNode("node-a", 3)));
        Assert.Equal(("ADDED", "", "MODIFIED", "DELETED"), (Seen(bound, a), Seen(bound, b), Seen(bound, all), Seen(bound, unscheduled)));
        var moved = hub.Publish(new WatchChange(4, "MODIFIED", OnNode("node-a", 3), OnNode("node-b", 4)));
        Assert.Equal(("DELETED", "ADDED", "MODIFIED", ""), (Seen(moved, a), Seen(moved, b), Seen(moved, all), Seen(moved, unscheduled)));
        var deleted = hub.Publish(new WatchChange(5, "DELETED", OnNode("node-b", 4), OnNode("node-b", 5)));
        Assert.Equal(("", "DELETED", "DELETED", ""), (Seen(deleted, a), Seen(deleted, b), Seen(deleted, all), Seen(deleted, unscheduled)));

        // A cancelled node watch gets nothing more; the node's other watches still do.
        var a2 = new Subscriber("a2");
        hub.Start(NodeWatch("wa2", "node-a", a2), 5);
        Assert.Equal(a, hub.Cancel("wa"));
        var again = hub.Publish(new WatchChange(6, "ADDED", null, OnNode("node-a", 6, "q")));
        Assert.Equal(("", "ADDED"), (Seen(again, a), Seen(again, a2)));
        Assert.Equal(1, hub.RemoveSubscriber(a2));
        Assert.DoesNotContain(hub.Publish(new WatchChange(7, "MODIFIED", OnNode("node-a", 6, "q"), OnNode("node-a", 7, "q"))), d => !d.To.Equals(all));
    }

    /// <summary>A stand-in subscriber: the hub only compares and hands back actor refs.</summary>
    private sealed class Subscriber(string name) : MinimalActorRef
    {
        public override ActorPath Path { get; } = new RootActorPath(new Address("akka", "test")) / name;
        public override IActorRefProvider Provider => throw new NotSupportedException();
    }
}
