using System.Text.Json.Nodes;
using AkkaKube.Actors.ApiServer.Admission;
using AkkaKube.Actors.Client;

namespace AkkaKube.Tests.ApiServer.Admission;

/// <summary>The namespaces cache answers "active" only for what it surely knows; everything else goes to the store.</summary>
public class NamespaceListerTests
{
    private static JsonObject Namespace(string name, bool terminating = false)
    {
        var meta = new JsonObject { ["name"] = name };
        if (terminating) meta["deletionTimestamp"] = "2026-12-07T00:00:00Z";
        return new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Namespace", ["metadata"] = meta };
    }

    private static NamespaceLister Lister(params JsonObject[] namespaces)
    {
        var lister = new NamespaceLister();
        lister.Publish(InformerStore.Of(namespaces.Select(n => KeyValuePair.Create(Informer.KeyOf(n), n))));
        return lister;
    }

    [Fact]
    public void Only_a_cached_namespace_without_deletion_timestamp_is_known_active()
    {
        var lister = Lister(Namespace("team-a"), Namespace("going", terminating: true));
        Assert.True(lister.KnownActive("team-a"));
        Assert.False(lister.KnownActive("going"));
        Assert.False(lister.KnownActive("unknown"));
        Assert.False(new NamespaceLister().KnownActive("team-a")); // nothing synced yet
    }

    [Fact]
    public void A_namespace_this_process_changes_is_looked_up_live_and_deletecollection_covers_all()
    {
        var lister = Lister(Namespace("team-a"), Namespace("team-b"));
        lister.Changing("team-a");
        Assert.False(lister.KnownActive("team-a"));
        Assert.True(lister.KnownActive("team-b"));
        lister.Changing(null);
        Assert.False(lister.KnownActive("team-b"));
    }
}
