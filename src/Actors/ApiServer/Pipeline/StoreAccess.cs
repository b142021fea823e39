using System.Text.Json.Nodes;
using Akka.Actor;
using AkkaKube.Actors.Machinery;
using AkkaKube.Actors.Store;

namespace AkkaKube.Actors.ApiServer;

// Store access: ask the partition, map its failures to Kubernetes Status errors.
public sealed partial class ApiPipeline
{

    private async Task<object> AskStore(StoreProtocol.IPartitionCommand cmd, CancellationToken ct)
    {
        try
        {
            return await StoreAsk.AskAsync(_store, cmd, _settings, ct);
        }
        catch (AskTimeoutException)
        {
            throw new ApiException(504, "Timeout", $"the store did not answer within {_settings.StoreTimeout.TotalSeconds:0.#}s ({cmd.Partition}); retry");
        }
    }

    private static ApiException Map(StoreProtocol.StoreFailure f, ApiResource r, string? name) => (f.Code, f.Reason) switch
    {
        (404, _) when name is not null => ApiException.ResourceNotFound(r, name),
        (409, "AlreadyExists") when name is not null => ApiException.AlreadyExists(r, name),
        (409, _) when name is not null => ApiException.Conflict(r, name, "the object has been modified; please apply your changes to the latest version and try again"),
        _ => new ApiException(f.Code is >= 400 and <= 599 ? f.Code : 500, string.IsNullOrEmpty(f.Reason) ? ApiStatus.ReasonFor(f.Code) : f.Reason, f.Message,
            name is null ? null : ApiException.DetailsFor(r, name)),
    };

    internal async Task<JsonObject> StoreObject(StoreProtocol.IPartitionCommand cmd, ApiResource r, string? name, CancellationToken ct) =>
        _registry.StrategyFor(r).FromStorage(ParseStored(await StoreObjectText(cmd, r, name, ct)));

    /// <summary>The store's answer as its JSON text (in the storage version), or its failure as a Status error.</summary>
    private async Task<string> StoreObjectText(StoreProtocol.IPartitionCommand cmd, ApiResource r, string? name, CancellationToken ct)
    {
        var reply = await AskStore(cmd, ct);
        return reply switch
        {
            StoreProtocol.ObjectReply o => o.ObjectJson,
            StoreProtocol.StoreFailure f => throw Map(f, r, name),
            _ => throw new ApiException(500, "InternalError", $"unexpected store reply {reply.GetType().Name}"),
        };
    }

    /// <summary>The object as its partition stores it (the strategy converts other versions to the storage version).</summary>
    internal string StorageJson(ApiResource r, JsonObject obj) => Store.StoreJson.Write(_registry.StrategyFor(r).ToStorage(obj));

    /// <summary>A stored object (list item) in the version of <paramref name="r"/>.</summary>
    private JsonObject FromStorage(ApiResource r, string json) => _registry.StrategyFor(r).FromStorage(ParseStored(json));

    private static JsonObject ParseStored(string json) =>
        JsonNode.Parse(json) as JsonObject ?? throw new ApiException(500, "InternalError", "the store returned a non-object");

    internal Task<JsonObject> Get(ApiResource r, string? ns, string name, CancellationToken ct) =>
        StoreObject(new StoreProtocol.GetObject(r.Partition, ns, name), r, name, ct);

    private async Task<JsonObject?> TryGet(ApiResource r, string? ns, string name, CancellationToken ct)
    {
        try
        {
            return await Get(r, ns, name, ct);
        }
        catch (ApiException e) when (e.Code == 404)
        {
            return null;
        }
    }
}

/// <summary>The apiserver's ask of a store partition, sent again while a partition moves (issue 25).</summary>
internal static class StoreAsk
{
    /// <summary>Copies of one command at most: the first, then two more (a kill's hand-over is over in ≈ 2 s).</summary>
    public const int MaxCopies = 3;

    /// <summary>
    /// Asks the store region, waiting up to store-timeout (then <see cref="AskTimeoutException"/>). A command the region
    /// forwarded to a control-plane node that just died is lost — Akka buffers only while a shard has no known home, and
    /// the dead node's homes are forgotten when it is removed, ≈ 1 s after a kill — so a command that is safe to apply
    /// twice is sent again every store-retry-after: reads, and a create carrying its uid (the store applies it once).
    /// Updates and deletes are not idempotent: they wait for their one copy. At most <see cref="MaxCopies"/> copies, so a
    /// partition that is merely slow (a large list on a loaded machine) gets bounded extra work.
    /// </summary>
    public static async Task<object> AskAsync(IActorRef store, StoreProtocol.IPartitionCommand cmd, ApiServerSettings settings, CancellationToken ct)
    {
        var retry = cmd is StoreProtocol.GetObject or StoreProtocol.ListObjects or StoreProtocol.CreateObject { Uid.Length: > 0 }
                    && settings.StoreRetryAfter < settings.StoreTimeout;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (var copy = 1; ; copy++)
        {
            retry &= copy < MaxCopies;
            var left = settings.StoreTimeout - clock.Elapsed;
            var attempt = retry && left > settings.StoreRetryAfter ? settings.StoreRetryAfter : left;
            try
            {
                return await store.Ask<object>(cmd, attempt > TimeSpan.Zero ? attempt : TimeSpan.FromMilliseconds(1), ct);
            }
            catch (AskTimeoutException) when (retry && clock.Elapsed < settings.StoreTimeout)
            {
                // not answered yet: send the same command again (a late answer to the earlier copy goes to dead letters)
            }
        }
    }
}
