using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Tests.Client;

/// <summary>
/// Informers list in pages of 500 as client-go's pager does, follow the continue tokens to the end, fall back to one
/// full list when a token expired, and end with the same cache as the API whatever changed between the pages.
/// </summary>
public sealed class PagedInformerTests : TestKit
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    internal static JsonObject ConfigMap(string name, string ns = "default") => new()
    {
        ["apiVersion"] = "v1", ["kind"] = "ConfigMap",
        ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns },
        ["data"] = new JsonObject { ["k"] = name },
    };

    private static async Task<InMemoryKubeApi> ApiWith(int configMaps)
    {
        var api = new InMemoryKubeApi();
        for (var i = 0; i < configMaps; i++) await api.CreateAsync(ApiResource.ConfigMaps, "default", ConfigMap($"cm-{i:D4}"));
        return api;
    }

    [Fact]
    public async Task An_informer_over_more_objects_than_a_page_lists_every_page_then_watches()
    {
        var api = new ListRecordingApi(await ApiWith(1201));
        var probe = CreateTestProbe();
        Sys.ActorOf(Informer.Props(api, new InformerOptions(ApiResource.ConfigMaps), probe.Ref));

        var synced = probe.ExpectMsg<InformerProtocol.Synced>(Wait);
        Assert.Equal(1201, synced.Objects.Count);
        Assert.Equal(Enumerable.Range(0, 1201).Select(i => $"default/cm-{i:D4}"), synced.Objects.Keys.Order(StringComparer.Ordinal));
        var lists = api.Lists.ToList();
        Assert.Equal(3, lists.Count);
        Assert.All(lists, l => Assert.Equal(InformerOptions.DefaultPageSize, l.Limit));
        Assert.Null(lists[0].Continue);
        Assert.NotNull(lists[1].Continue);
        Assert.NotEqual(lists[1].Continue, lists[2].Continue);

        // The watch starts from the list's resourceVersion: a later object arrives as an event.
        await api.CreateAsync(ApiResource.ConfigMaps, "default", ConfigMap("after"));
        Assert.Equal("default/after", probe.ExpectMsg<InformerProtocol.Added>(Wait).Key);
    }

    [Fact]
    public async Task An_expired_continue_token_falls_back_to_one_full_list()
    {
        var api = new ListRecordingApi(await ApiWith(1201)) { ExpireFirstContinue = true };
        var probe = CreateTestProbe();
        Sys.ActorOf(Informer.Props(api, new InformerOptions(ApiResource.ConfigMaps), probe.Ref));

        var synced = probe.ExpectMsg<InformerProtocol.Synced>(Wait);
        Assert.Equal(1201, synced.Objects.Count);
        var lists = api.Lists.ToList();
        Assert.Equal(3, lists.Count);
        Assert.Equal((500, (string?)null), (lists[0].Limit, lists[0].Continue));
        Assert.Equal(500, lists[1].Limit);
        Assert.NotNull(lists[1].Continue); // answered 410 Expired
        Assert.Equal((0, (string?)null), (lists[2].Limit, lists[2].Continue));
    }

    [Fact]
    public async Task Changes_between_pages_end_in_the_same_cache_as_the_api_and_never_step_an_object_back()
    {
        var inner = await ApiWith(1201);
        var api = new ListRecordingApi(inner)
        {
            // Before the second page: a page-2 object changes, a page-3 object goes, one is added to page 2's range.
            BeforeContinue = async () =>
            {
                await inner.PatchAsync(ApiResource.ConfigMaps, "default", "cm-0700", PatchType.Merge, """{"data":{"k":"changed"}}""");
                await inner.DeleteAsync(ApiResource.ConfigMaps, "default", "cm-1100");
                await inner.CreateAsync(ApiResource.ConfigMaps, "default", ConfigMap("cm-0800x"));
            },
        };
        var probe = CreateTestProbe();
        Sys.ActorOf(Informer.Props(api, new InformerOptions(ApiResource.ConfigMaps), probe.Ref));

        InformerStore? store = null;
        var deadline = DateTime.UtcNow + Wait;
        while (true)
        {
            var message = probe.ReceiveOne(deadline - DateTime.UtcNow) ?? throw new TimeoutException("the informer's cache never matched the API");
            switch (message)
            {
                case InformerProtocol.Synced s: store = s.Store; break;
                case InformerProtocol.Added a: store = a.Store; break;
                case InformerProtocol.Updated u:
                    Assert.True(long.Parse(Informer.ResourceVersionOf(u.New)) > long.Parse(Informer.ResourceVersionOf(u.Old)),
                        $"{u.Key} stepped back from {Informer.ResourceVersionOf(u.Old)} to {Informer.ResourceVersionOf(u.New)}");
                    store = u.Store;
                    break;
                case InformerProtocol.Deleted d: store = d.Store; break;
            }
            if (store is not null && Same(store, (await inner.ListAsync(ApiResource.ConfigMaps, null)).Items)) break;
        }
        Assert.Equal("changed", store.Objects["default/cm-0700"]["data"]!["k"]!.GetValue<string>());
        Assert.False(store.Objects.ContainsKey("default/cm-1100"));
        Assert.True(store.Objects.ContainsKey("default/cm-0800x"));
    }

    private static bool Same(InformerStore store, IReadOnlyList<JsonObject> items) =>
        store.Objects.Count == items.Count
        && items.All(i => store.Objects.TryGetValue(Informer.KeyOf(i), out var o) && Informer.ResourceVersionOf(o) == Informer.ResourceVersionOf(i));
}

/// <summary>An <see cref="IKubeApi"/> that records every list's options, and can expire a continue token or change things between pages.</summary>
internal sealed class ListRecordingApi(IKubeApi inner) : IKubeApi
{
    public ConcurrentQueue<ListOptions> Lists { get; } = new();
    public bool ExpireFirstContinue { get; init; }
    public Func<Task>? BeforeContinue { get; init; }
    private int _continues;

    public async Task<ObjectList> ListAsync(ApiResource resource, string? ns, ListOptions? options = null, CancellationToken ct = default)
    {
        options ??= new ListOptions();
        Lists.Enqueue(options);
        if (options.Continue is not null && Interlocked.Increment(ref _continues) == 1)
        {
            if (ExpireFirstContinue) throw new KubeApiException(410, "Expired", "the provided continue parameter is too old to display a consistent list result");
            if (BeforeContinue is not null) await BeforeContinue();
        }
        return await inner.ListAsync(resource, ns, options, ct);
    }

    public Task<JsonObject> GetAsync(ApiResource resource, string? ns, string name, string? subresource = null, CancellationToken ct = default) =>
        inner.GetAsync(resource, ns, name, subresource, ct);

    public Task<JsonObject> CreateAsync(ApiResource resource, string? ns, JsonObject obj, string? subresource = null, CancellationToken ct = default) =>
        inner.CreateAsync(resource, ns, obj, subresource, ct);

    public Task<JsonObject> UpdateAsync(ApiResource resource, string? ns, JsonObject obj, string? subresource = null, CancellationToken ct = default) =>
        inner.UpdateAsync(resource, ns, obj, subresource, ct);

    public Task<JsonObject> PatchAsync(ApiResource resource, string? ns, string name, PatchType type, string patch, string? subresource = null, CancellationToken ct = default) =>
        inner.PatchAsync(resource, ns, name, type, patch, subresource, ct);

    public Task DeleteAsync(ApiResource resource, string? ns, string name, DeleteOptions? options = null, CancellationToken ct = default) =>
        inner.DeleteAsync(resource, ns, name, options, ct);

    public Task<string> WatchAsync(ApiResource resource, string? ns, IActorRef subscriber, string resourceVersion, ListOptions? options = null, CancellationToken ct = default) =>
        inner.WatchAsync(resource, ns, subscriber, resourceVersion, options, ct);

    public Task CancelWatchAsync(ApiResource resource, string watchId) => inner.CancelWatchAsync(resource, watchId);
}
