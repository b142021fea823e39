using System.Text.Json.Nodes;
using AkkaKube.Actors.Store;
using static AkkaKube.Actors.Store.StoreProtocol;

namespace AkkaKube.Tests.Store;

public sealed class PartitionStateSpecs
{
    private static readonly DateTimeOffset Now = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);
    private int _uids;

    private PartitionState NewState(string partition = "pods") => new(partition, () => Now, () => $"uid-{++_uids}");

    /// <summary>Decides and applies, like the actor does after persisting.</summary>
    private static Decision Run(PartitionState s, IPartitionCommand c)
    {
        var d = s.Process(c);
        foreach (var e in d.Events) s.Apply(e);
        return d;
    }

    private static ObjectReply Ok(Decision d) => Assert.IsType<ObjectReply>(d.Reply);

    private static StoreFailure Fail(Decision d)
    {
        Assert.Empty(d.Events);
        return Assert.IsType<StoreFailure>(d.Reply);
    }

    [Fact]
    public void Create_sets_uid_creation_timestamp_resource_version_and_generation()
    {
        var s = NewState();
        var d = Run(s, new CreateObject("pods", Objects.Pod("p").Json));
        var meta = Objects.Parse(Ok(d).ObjectJson)["metadata"]!;
        Assert.Equal(("uid-1", "2026-01-02T03:04:05Z", "1", 1L),
            (meta["uid"]!.ToString(), meta["creationTimestamp"]!.ToString(), meta["resourceVersion"]!.ToString(), meta["generation"]!.GetValue<long>()));
        Assert.IsType<ObjectCreated>(Assert.Single(d.Events));
        Assert.Equal(1, s.Revision);
    }

    [Fact]
    public void A_create_sent_again_with_its_uid_is_applied_once_and_answered_with_the_first_copys_object()
    {
        // Issue 25: the apiserver sends a create again when its partition did not answer (a command routed to a killed
        // node is lost); if the first copy did arrive, the second is its answer, not 409 — and nothing is written twice.
        var s = NewState();
        var first = Ok(Run(s, new CreateObject("pods", Objects.Pod("p").Json, Uid: "request-uid")));
        var again = s.Process(new CreateObject("pods", Objects.Pod("p").Json, Uid: "request-uid"));
        Assert.Empty(again.Events);
        Assert.Equal((first.ObjectJson, first.Revision), (Ok(again).ObjectJson, Ok(again).Revision));
        Assert.Equal("request-uid", Objects.Parse(first.ObjectJson)["metadata"]!["uid"]!.ToString());
        Assert.Equal(1, s.Revision);

        // Another request for the same name (another uid, or none) is still AlreadyExists.
        Assert.Equal(409, Fail(s.Process(new CreateObject("pods", Objects.Pod("p").Json, Uid: "other-uid"))).Code);
        Assert.Equal(409, Fail(s.Process(new CreateObject("pods", Objects.Pod("p").Json))).Code);

        // A copy arriving after the object was deleted (and the name taken again) is still that first create, not a new one.
        Ok(Run(s, new DeleteObject("pods", "default", "p")));
        Ok(Run(s, new CreateObject("pods", Objects.Pod("p").Json, Uid: "next-uid")));
        var late = s.Process(new CreateObject("pods", Objects.Pod("p").Json, Uid: "request-uid"));
        Assert.Empty(late.Events);
        Assert.Equal("request-uid", Objects.Parse(Ok(late).ObjectJson)["metadata"]!["uid"]!.ToString());
        Assert.Equal("next-uid", Objects.Parse(Ok(s.Process(new GetObject("pods", "default", "p"))).ObjectJson)["metadata"]!["uid"]!.ToString());
    }

    public static TheoryData<string, string, int, string, string> RefusedCreates => new()
    {
        { "a second create of the same name is AlreadyExists", Objects.Pod("p").Json, 409, "AlreadyExists", "pods \"p\" already exists" },
        { "an object without name or generateName is Invalid", """{"kind":"Pod","metadata":{}}""", 422, "Invalid", "metadata.name: Required value: name or generateName is required" },
        { "a body that is not JSON is a BadRequest", "{nope", 400, "BadRequest", "the object is not a JSON object" },
        { "a JSON array is a BadRequest", "[1]", 400, "BadRequest", "the object is not a JSON object" },
    };

    [Theory]
    [MemberData(nameof(RefusedCreates))]
    public void Refused_create(string name, string body, int code, string reason, string message)
    {
        var s = NewState();
        Run(s, new CreateObject("pods", Objects.Pod("p").Json));
        var f = Fail(s.Process(new CreateObject("pods", body)));
        Assert.True((code, reason, message) == (f.Code, f.Reason, f.Message), $"{name}: got {f}");
        Assert.Equal(1, s.Revision);
    }

    [Fact]
    public void Create_with_generate_name_picks_a_free_name()
    {
        var s = NewState();
        var json = """{"kind":"Pod","metadata":{"generateName":"web-","namespace":"default"}}""";
        var a = Objects.Meta(Ok(Run(s, new CreateObject("pods", json))).ObjectJson, "name");
        var b = Objects.Meta(Ok(Run(s, new CreateObject("pods", json))).ObjectJson, "name");
        Assert.StartsWith("web-", a);
        Assert.Equal(9, a.Length);
        Assert.NotEqual(a, b);
    }

    public static TheoryData<string, Func<Objects, Objects>, long> GenerationCases => new()
    {
        { "a spec change bumps generation", o => o.Spec("nodeName", "n1"), 2 },
        { "a new top-level field bumps generation", o => o.Data("k", "v"), 2 },
        { "a label change keeps generation", o => o.Label("a", "b"), 1 },
        { "a status change keeps generation", o => o.Status("phase", "Running"), 1 },
    };

    [Theory]
    [MemberData(nameof(GenerationCases))]
    public void Generation_on_update(string name, Func<Objects, Objects> change, long generation)
    {
        var s = NewState();
        Run(s, new CreateObject("pods", Objects.Pod("p").Json));
        var updated = Ok(Run(s, new UpdateObject("pods", change(Objects.Pod("p")).Json)));
        Assert.True(generation == long.Parse(Objects.Meta(updated.ObjectJson, "generation")), name);
        Assert.Equal("2", Objects.Meta(updated.ObjectJson, "resourceVersion"));
    }

    [Fact]
    public void Update_with_a_stale_resource_version_is_a_conflict_in_kubernetes_words()
    {
        var s = NewState();
        Run(s, new CreateObject("pods", Objects.Pod("x").Json));
        Run(s, new UpdateObject("pods", Objects.Pod("x").Label("a", "1").Json));
        var f = Fail(s.Process(new UpdateObject("pods", Objects.Pod("x").Label("a", "2").ResourceVersion("1").Json)));
        Assert.Equal((409, "Conflict"), (f.Code, f.Reason));
        Assert.Equal("Operation cannot be fulfilled on pods \"x\": the object has been modified; please apply your changes to the latest version and try again", f.Message);
        var ok = Ok(Run(s, new UpdateObject("pods", Objects.Pod("x").Label("a", "2").ResourceVersion("2").Json)));
        Assert.Equal("3", Objects.Meta(ok.ObjectJson, "resourceVersion"));
    }

    [Fact]
    public void Update_keeps_the_stored_uid_and_creation_timestamp()
    {
        var s = NewState();
        var created = Ok(Run(s, new CreateObject("pods", Objects.Pod("p").Json)));
        var body = Objects.Pod("p").Label("x", "y");
        body.Metadata["creationTimestamp"] = "1999-01-01T00:00:00Z";
        var updated = Ok(Run(s, new UpdateObject("pods", body.Json)));
        Assert.Equal(Objects.Meta(created.ObjectJson, "uid"), Objects.Meta(updated.ObjectJson, "uid"));
        Assert.Equal("2026-01-02T03:04:05Z", Objects.Meta(updated.ObjectJson, "creationTimestamp"));
    }

    [Fact]
    public void An_update_that_changes_nothing_writes_nothing()
    {
        var s = NewState();
        var created = Ok(Run(s, new CreateObject("pods", Objects.Pod("p").Label("a", "b").Json)));
        var d = s.Process(new UpdateObject("pods", Objects.Pod("p").Label("a", "b").Json));
        Assert.Empty(d.Events);
        Assert.Equal(created.ObjectJson, Ok(d).ObjectJson);
    }

    public static TheoryData<string, IPartitionCommand, int, string, string> MissingObjectCases => new()
    {
        { "update of a missing object", new UpdateObject("pods", Objects.Pod("x").Json), 404, "NotFound", "pods \"x\" not found" },
        { "delete of a missing object", new DeleteObject("pods", "default", "x"), 404, "NotFound", "pods \"x\" not found" },
        { "get of a missing object", new GetObject("pods", "default", "x"), 404, "NotFound", "pods \"x\" not found" },
        { "get in another namespace", new GetObject("pods", "other", "p"), 404, "NotFound", "pods \"p\" not found" },
        { "delete with a stale resourceVersion", new DeleteObject("pods", "default", "p", PreconditionResourceVersion: "7"), 409, "Conflict",
            "Operation cannot be fulfilled on pods \"p\": the object has been modified; please apply your changes to the latest version and try again" },
        { "delete with another uid", new DeleteObject("pods", "default", "p", PreconditionUid: "u"), 409, "Conflict",
            "Operation cannot be fulfilled on pods \"p\": Precondition failed: UID in precondition: u, UID in object meta: uid-1" },
        { "a malformed label selector", new ListObjects("pods", null, "a in", null), 400, "BadRequest",
            "unable to parse label selector \"a in\": found end of selector, expected '('" },
        { "a malformed continue token", new ListObjects("pods", null, null, null, 1, "!!"), 400, "BadRequest",
            "continue key is not valid: the token is malformed" },
    };

    [Theory]
    [MemberData(nameof(MissingObjectCases))]
    public void Refused_command(string name, IPartitionCommand command, int code, string reason, string message)
    {
        var s = NewState();
        Run(s, new CreateObject("pods", Objects.Pod("p").Json));
        var f = Fail(s.Process(command));
        Assert.True((code, reason, message) == (f.Code, f.Reason, f.Message), $"{name}: got {f}");
    }

    [Fact]
    public void Delete_of_an_object_with_finalizers_only_marks_it_and_removing_the_last_finalizer_deletes_it()
    {
        var s = NewState();
        Run(s, new CreateObject("pods", Objects.Pod("p").Finalizer("a/b").Json));
        var marked = Run(s, new DeleteObject("pods", "default", "p"));
        Assert.IsType<ObjectUpdated>(Assert.Single(marked.Events));
        var meta = Objects.Parse(Ok(marked).ObjectJson)["metadata"]!;
        Assert.Equal(("2026-01-02T03:04:05Z", 0L), (meta["deletionTimestamp"]!.ToString(), meta["deletionGracePeriodSeconds"]!.GetValue<long>()));

        Assert.Empty(s.Process(new DeleteObject("pods", "default", "p")).Events); // a second delete changes nothing

        var gone = Run(s, new UpdateObject("pods", Objects.Pod("p").Json));
        Assert.IsType<ObjectDeleted>(Assert.Single(gone.Events));
        Assert.Null(s.Find("default", "p"));
        Assert.Equal("2026-01-02T03:04:05Z", Objects.Meta(Ok(gone).ObjectJson, "deletionTimestamp"));
    }

    [Fact]
    public void Delete_without_finalizers_removes_the_object_at_a_new_revision()
    {
        var s = NewState();
        Run(s, new CreateObject("pods", Objects.Pod("p").Json));
        var d = Run(s, new DeleteObject("pods", "default", "p", PreconditionResourceVersion: "1"));
        Assert.Equal("2", Objects.Meta(Assert.IsType<ObjectDeleted>(Assert.Single(d.Events)).ObjectJson, "resourceVersion"));
        Assert.Equal(0, s.Count);
    }

    public static TheoryData<string, IPartitionCommand> DryRuns => new()
    {
        { "a dry-run create", new CreateObject("pods", Objects.Pod("q").Json, DryRun: true) },
        { "a dry-run update", new UpdateObject("pods", Objects.Pod("p").Label("a", "b").Json, DryRun: true) },
        { "a dry-run delete", new DeleteObject("pods", "default", "p", DryRun: true) },
    };

    [Theory]
    [MemberData(nameof(DryRuns))]
    public void Dry_run_replies_as_if_done_and_writes_nothing(string name, IPartitionCommand command)
    {
        var s = NewState();
        Run(s, new CreateObject("pods", Objects.Pod("p").Json));
        var d = s.Process(command);
        Assert.True(d.Events.Count == 0, name);
        Assert.IsType<ObjectReply>(d.Reply);
        Assert.Equal(1, s.Revision);
    }

    [Fact]
    public void Paging_with_limit_and_continue_returns_every_object_once_in_key_order()
    {
        var s = NewState();
        foreach (var ns in new[] { "b", "a" })
            for (var i = 0; i < 5; i++)
                Run(s, new CreateObject("pods", Objects.Pod($"p{i}").Namespace(ns).Json));
        var names = new List<string>();
        string? token = null;
        var pages = 0;
        do
        {
            var page = Assert.IsType<ListReply>(s.Process(new ListObjects("pods", null, null, null, 3, token)).Reply);
            Assert.Equal(10, page.Revision);
            names.AddRange(page.Items.Select(j => Objects.Meta(j, "namespace") + "/" + Objects.Meta(j, "name")));
            if (pages == 0) Assert.Equal(7, page.RemainingItemCount);
            token = page.Continue;
            pages++;
            Run(s, new CreateObject("pods", Objects.Pod($"late{pages}").Namespace("z").Json)); // writes between pages
        } while (token is not null);
        Assert.Equal(["a/p0", "a/p1", "a/p2", "a/p3", "a/p4", "b/p0", "b/p1", "b/p2", "b/p3", "b/p4"], names.Take(10));
        Assert.Equal(names.Count, names.Distinct().Count());
    }

    [Fact]
    public void List_filters_by_namespace_labels_and_fields()
    {
        var s = NewState();
        Run(s, new CreateObject("pods", Objects.Pod("a").Namespace("x").Label("app", "web").Spec("nodeName", "n1").Json));
        Run(s, new CreateObject("pods", Objects.Pod("b").Namespace("x").Label("app", "db").Json));
        Run(s, new CreateObject("pods", Objects.Pod("c").Namespace("xy").Label("app", "web").Json));
        string[] Names(ListObjects l) => Assert.IsType<ListReply>(s.Process(l).Reply).Items.Select(j => Objects.Meta(j, "name")).ToArray();
        Assert.Equal(["a", "b"], Names(new ListObjects("pods", "x", null, null)));
        Assert.Equal(["a", "c"], Names(new ListObjects("pods", null, "app=web", null)));
        Assert.Equal(["b", "c"], Names(new ListObjects("pods", null, null, "spec.nodeName=")));
        Assert.Equal(["c"], Names(new ListObjects("pods", null, "app in (web)", "metadata.namespace!=x")));
    }

    [Fact]
    public void A_namespace_split_partition_names_the_resource_without_the_split()
    {
        var s = NewState("pods@team-a");
        var f = Fail(s.Process(new GetObject("pods@team-a", "team-a", "x")));
        Assert.Equal("pods \"x\" not found", f.Message);
    }

    [Fact]
    public void A_snapshot_restores_the_same_state()
    {
        var s = NewState();
        for (var i = 0; i < 5; i++) Run(s, new CreateObject("pods", Objects.Pod($"p{i}").Json));
        Run(s, new DeleteObject("pods", "default", "p2"));
        var restored = NewState();
        restored.Restore(s.ToSnapshot());
        Assert.Equal(s.Objects.Select(o => o.Json), restored.Objects.Select(o => o.Json));
        Assert.Equal((6L, "Pod", "v1"), (restored.Revision, restored.Kind, restored.ApiVersion));
    }

    [Fact]
    public void A_watch_change_carries_the_previous_object()
    {
        var s = NewState();
        Run(s, new CreateObject("pods", Objects.Pod("p").Label("a", "1").Json));
        var d = s.Process(new UpdateObject("pods", Objects.Pod("p").Label("a", "2").Json));
        var change = s.Apply(d.Events[0]);
        Assert.Equal(("MODIFIED", "1", "2"), (change.Type, change.Old!.Labels["a"], change.New.Labels["a"]));
        Assert.Equal(System.Text.Json.JsonValueKind.Number, change.New.Node["metadata"]!["generation"]!.GetValueKind());
    }
}
