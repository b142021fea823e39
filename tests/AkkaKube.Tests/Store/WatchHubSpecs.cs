using Akka.Actor;
using AkkaKube.Actors.Store;
using static AkkaKube.Actors.Store.StoreProtocol;

namespace AkkaKube.Tests.Store;

public sealed class WatchHubSpecs
{
    private static StoredObject Pod(string app, long rv) =>
        StoredObject.FromJson(Objects.Pod("p").Label("app", app).ResourceVersion(rv.ToString()).Json);

    private static StartWatch Watch(string? labels = null, long from = 0) =>
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
}
