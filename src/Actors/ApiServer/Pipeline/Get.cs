using System.Globalization;
using System.Text.Json.Nodes;
using AkkaKube.Actors.Machinery;
using AkkaKube.Actors.Store;

namespace AkkaKube.Actors.ApiServer;

// GET of one object and LIST (paged, with label and field selectors).
public sealed partial class ApiPipeline
{

    private async Task<Result> GetAsync(RequestScope c, string name) =>
        new(200, await Get(c.R, c.Ns, name, c.Ct), c.Warnings);

    private async Task<Result> ListAsync(RequestScope c)
    {
        var limit = 0;
        if (c.Q("limit") is { Length: > 0 } l && (!int.TryParse(l, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit < 0))
            throw ApiException.BadRequest($"invalid limit \"{l}\"");
        var reply = await AskStore(new StoreProtocol.ListObjects(c.R.Partition, c.Ns, c.Q("labelSelector"), c.Q("fieldSelector"), limit, NullIfEmpty(c.Q("continue"))), c.Ct);
        if (reply is StoreProtocol.StoreFailure f) throw Map(f, c.R, null);
        if (reply is not StoreProtocol.ListReply list) throw new ApiException(500, "InternalError", $"unexpected store reply {reply.GetType().Name}");
        var items = new JsonArray();
        foreach (var item in list.Items) items.Add(FromStorage(c.R, item));
        var meta = new JsonObject { ["resourceVersion"] = list.Revision.ToString(CultureInfo.InvariantCulture) };
        if (!string.IsNullOrEmpty(list.Continue)) meta["continue"] = list.Continue;
        if (list.RemainingItemCount is { } rem) meta["remainingItemCount"] = rem;
        return new(200, new JsonObject
        {
            ["kind"] = c.R.Kind + "List",
            ["apiVersion"] = c.R.ApiVersion,
            ["metadata"] = meta,
            ["items"] = items,
        }, c.Warnings);
    }

    private static string? NullIfEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;
}
