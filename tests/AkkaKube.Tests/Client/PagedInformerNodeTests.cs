using System.Text.Json.Nodes;
using Akka.TestKit.Xunit2;
using AkkaKube.Actors.ApiServer;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Machinery;
using AkkaKube.Tests.Infrastructure;

namespace AkkaKube.Tests.Client;

public sealed class PagedInformerNode() : ApiOnlyNode();

/// <summary>An informer over a real in-process node's apiserver and store lists 1,100 objects in pages of 500.</summary>
public sealed class PagedInformerNodeTests(PagedInformerNode node) : IClassFixture<PagedInformerNode>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task An_informer_of_a_real_apiserver_lists_many_objects_in_pages_and_then_watches()
    {
        var api = KubeApi.Get(node.System).Api;
        const string ns = "paged";
        await CreateWithRetry(() => api.CreateAsync(ApiResource.Namespaces, null,
            new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Namespace", ["metadata"] = new JsonObject { ["name"] = ns } }));
        const int count = 1100;
        foreach (var batch in Enumerable.Range(0, count).Chunk(50))
            await Task.WhenAll(batch.Select(i => api.CreateAsync(ApiResource.ConfigMaps, ns, PagedInformerTests.ConfigMap($"cm-{i:D4}", ns))));

        var recording = new ListRecordingApi(api);
        var probe = new Akka.TestKit.TestProbe(node.System, new XunitAssertions());
        var informer = node.System.ActorOf(Informer.Props(recording, new InformerOptions(ApiResource.ConfigMaps, ns), probe.Ref));
        try
        {
            var synced = probe.FishForMessage<InformerProtocol.Synced>(_ => true, Wait);
            Assert.Equal(count, synced.Objects.Count);
            var lists = recording.Lists.ToList();
            Assert.Equal(3, lists.Count); // 500 + 500 + 100
            Assert.Equal([null, true, true], lists.Select(l => l.Continue is null ? (bool?)null : true));

            await api.CreateAsync(ApiResource.ConfigMaps, ns, PagedInformerTests.ConfigMap("after", ns));
            Assert.Equal($"{ns}/after", probe.FishForMessage<InformerProtocol.Added>(_ => true, Wait).Key);
        }
        finally
        {
            node.System.Stop(informer);
        }
    }

    /// <summary>The node's bootstrap may still be settling when the first test write arrives.</summary>
    private static async Task CreateWithRetry(Func<Task> create)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                await create();
                return;
            }
            catch (KubeApiException e) when (!e.IsAlreadyExists && DateTime.UtcNow < deadline)
            {
                await Task.Delay(200);
            }
        }
    }
}
