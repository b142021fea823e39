using System.Globalization;
using System.Text.Json.Nodes;
using Akka.Actor;
using AkkaKube.Actors.Machinery;
using AkkaKube.Actors.Store;

namespace AkkaKube.Actors.ApiServer;

// WATCH: starting and ending a watch on the store partition.
public sealed partial class ApiPipeline
{

    private async Task<Result> WatchAsync(RequestScope c)
    {
        var subscriber = c.Req.Subscriber ?? throw ApiException.BadRequest("a watch needs a subscriber");
        var rv = c.Q("resourceVersion");
        long from;
        if (string.IsNullOrEmpty(rv) || rv == "0")
        {
            // Kubernetes semantics for an unset/0 resourceVersion: synthetic ADDED events for the current state, then changes.
            var reply = await AskStore(new StoreProtocol.ListObjects(c.R.Partition, c.Ns, c.Q("labelSelector"), c.Q("fieldSelector")), c.Ct);
            if (reply is StoreProtocol.StoreFailure f) throw Map(f, c.R, null);
            var list = (StoreProtocol.ListReply)reply;
            var watchIdForInitial = c.Q("watchId") ?? Guid.NewGuid().ToString("N");
            foreach (var item in list.Items)
                subscriber.Tell(new WatchProtocol.WatchEvent(watchIdForInitial, "ADDED", item, list.Revision));
            from = list.Revision;
            return await StartWatch(c, subscriber, watchIdForInitial, from);
        }
        if (!long.TryParse(rv, NumberStyles.None, CultureInfo.InvariantCulture, out from))
            throw ApiException.BadRequest($"invalid resourceVersion \"{rv}\"");
        return await StartWatch(c, subscriber, c.Q("watchId") ?? Guid.NewGuid().ToString("N"), from);
    }

    /// <summary>
    /// The store answers a StartWatch to the subscriber (WatchStarted, then events; or WatchEnded 410
    /// when the revision left its window), so the pipeline only tells it and returns the watch id.
    /// </summary>
    private Task<Result> StartWatch(RequestScope c, IActorRef subscriber, string watchId, long from)
    {
        var bookmarks = c.Q("allowWatchBookmarks") is "true" or "1";
        _store.Tell(new StoreProtocol.StartWatch(c.R.Partition, watchId, subscriber, c.Ns, c.Q("labelSelector"), c.Q("fieldSelector"), from, bookmarks));
        return Task.FromResult(new Result(200, new JsonObject
        {
            ["kind"] = "WatchStarted",
            ["watchId"] = watchId,
            ["resourceVersion"] = from.ToString(CultureInfo.InvariantCulture),
        }, c.Warnings));
    }

    /// <summary>Ends a watch started through this pipeline (fire and forget).</summary>
    public void CancelWatch(ApiResource r, string watchId) => _store.Tell(new StoreProtocol.CancelWatch(r.Partition, watchId));
}
