using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace AkkaKube.Cli.History;

/// <summary>
/// Drives concurrent clients against the apiserver, each doing random create / get / compare-and-set
/// update / delete calls on a small set of ConfigMaps, and records every call with its invoke and
/// return time (one Stopwatch for all clients) for <see cref="LinearizabilityChecker"/>. A call that
/// fails without an answer (timeout, connection refused or reset, 5xx) is recorded as Unknown: it may
/// or may not have taken effect. Bounded by count and time; stops by itself.
/// </summary>
public sealed class HistoryClient(Actors.Security.KubeconfigCredentials api, string @namespace = "default", string keyPrefix = "lin")
{
    public int Clients { get; init; } = 8;
    public int Keys { get; init; } = 5;
    public int MaxOperations { get; init; } = 2_000;
    public TimeSpan MaxDuration { get; init; } = TimeSpan.FromSeconds(60);
    public TimeSpan CallTimeout { get; init; } = TimeSpan.FromSeconds(5);
    public int Seed { get; init; } = 42;
    /// <summary>How long a client waits after a call whose outcome is unknown (no answer, 5xx) before its next call, as a
    /// real client backs off; keeps the number of overlapping unknown calls per key within the checker's limit during an outage.</summary>
    public TimeSpan UnknownBackoff { get; init; } = TimeSpan.Zero;
    /// <summary>Pause of each client between calls (zero: back to back); spreads a bounded history over a longer fault.</summary>
    public TimeSpan ThinkTime { get; init; } = TimeSpan.Zero;
    /// <summary>Apiservers the clients spread over (client i → entry i mod n); null: the credentials' own server.</summary>
    public IReadOnlyList<Uri>? Servers { get; init; }
    /// <summary>
    /// &gt; 0: after this many calls the clients move on to a fresh set of keys (a new generation), so a call with an unknown
    /// outcome, which stays open to the end of its key's history, keeps open only a bounded window for the checker.
    /// </summary>
    public int OpsPerKeyGeneration { get; init; }
    /// <summary>The clock of Invoke/Return (shared with whoever lines the history up with other events); started here if not running.</summary>
    public Stopwatch? Clock { get; init; }
    /// <summary>The label (akkakube.io/history=&lt;key prefix&gt;) every written ConfigMap carries, to find and delete them afterwards.</summary>
    public const string Label = "akkakube.io/history";

    public async Task<IReadOnlyList<Operation>> RunAsync(CancellationToken ct = default)
    {
        var clock = Clock ?? new Stopwatch();
        if (!clock.IsRunning) clock.Start();
        var ops = new List<Operation>();
        var remaining = MaxOperations;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(MaxDuration);

        async Task Client(int id)
        {
            var server = Servers is { Count: > 0 } ? api.WithServer(Servers[(id - 1) % Servers.Count]) : api;
            using var http = server.CreateClient(CallTimeout, h => h.PooledConnectionLifetime = TimeSpan.FromSeconds(2));
            // One connection per call: on a reused connection that the server closes without an answer (its apiserver
            // was killed mid-request), SocketsHttpHandler silently re-sends a request without a body (dotnet/runtime
            // #86714) — a DELETE that was applied then comes back 404 on the retry, and the history is wrong.
            http.DefaultRequestHeaders.ConnectionClose = true;
            var rng = new Random(Seed * 1000 + id);
            var lastSeen = new Dictionary<string, string>();
            var n = 0;
            int left;
            while (!deadline.IsCancellationRequested && (left = Interlocked.Decrement(ref remaining)) >= 0)
            {
                var key = OpsPerKeyGeneration > 0
                    ? $"{keyPrefix}-g{(MaxOperations - left - 1) / OpsPerKeyGeneration}-{rng.Next(Keys)}"
                    : $"{keyPrefix}-{rng.Next(Keys)}";
                var token = $"c{id}-{n++}";
                var roll = rng.Next(100);
                var op = roll switch
                {
                    < 20 => await Call(http, clock, id, key, OpKind.Create, token, null, deadline.Token),
                    < 55 => await Call(http, clock, id, key, OpKind.Get, null, null, deadline.Token),
                    < 90 => await Call(http, clock, id, key, OpKind.Update, token, lastSeen.GetValueOrDefault(key, "1"), deadline.Token),
                    _ => await Call(http, clock, id, key, OpKind.Delete, null, null, deadline.Token),
                };
                if (op is null) break;
                if (op.ResourceVersion is not null) lastSeen[key] = op.ResourceVersion;
                lock (ops) ops.Add(op);
                if (op.Outcome == OpOutcome.Unknown && UnknownBackoff > TimeSpan.Zero)
                {
                    try { await Task.Delay(UnknownBackoff, deadline.Token); } catch (OperationCanceledException) { break; }
                }
                else if (ThinkTime > TimeSpan.Zero)
                {
                    try { await Task.Delay(ThinkTime, deadline.Token); } catch (OperationCanceledException) { break; }
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(1, Clients).Select(Client));
        return ops;
    }

    private async Task<Operation?> Call(HttpClient http, Stopwatch clock, int client, string key, OpKind kind, string? token, string? expectedRv, CancellationToken ct)
    {
        var path = $"/api/v1/namespaces/{@namespace}/configmaps";
        var invoke = clock.ElapsedTicks;
        try
        {
            HttpResponseMessage response = kind switch
            {
                OpKind.Create => await http.PostAsJsonAsync(path, Body(key, token!, null), ct),
                OpKind.Get => await http.GetAsync($"{path}/{key}", ct),
                OpKind.Update => await http.PutAsJsonAsync($"{path}/{key}", Body(key, token!, expectedRv), ct),
                _ => await http.DeleteAsync($"{path}/{key}", ct),
            };
            var text = await response.Content.ReadAsStringAsync(ct);
            var ret = clock.ElapsedTicks;
            var code = (int)response.StatusCode;
            if (code >= 500)
                return new Operation(client, key, kind, invoke, 0, OpOutcome.Unknown, kind == OpKind.Get ? null : token, expectedRv);
            var json = JsonNode.Parse(text) as JsonObject;
            var outcome = code switch
            {
                >= 200 and < 300 => OpOutcome.Ok,
                404 => OpOutcome.NotFound,
                409 when json?["reason"]?.GetValue<string>() == "AlreadyExists" => OpOutcome.AlreadyExists,
                409 => OpOutcome.Conflict,
                _ => throw new InvalidOperationException($"{kind} {key}: unexpected HTTP {code}: {text}"),
            };
            string? value = token, rv = null;
            if (outcome == OpOutcome.Ok && kind != OpKind.Delete)
            {
                rv = json?["metadata"]?["resourceVersion"]?.GetValue<string>();
                if (kind == OpKind.Get) value = json?["data"]?["v"]?.GetValue<string>();
            }
            return new Operation(client, key, kind, invoke, ret, outcome, kind == OpKind.Get && outcome != OpOutcome.Ok ? null : value, expectedRv, rv);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Stopped by the deadline mid-call: the call's outcome is unknown.
            return kind == OpKind.Get ? null : new Operation(client, key, kind, invoke, 0, OpOutcome.Unknown, token, expectedRv);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
        {
            return new Operation(client, key, kind, invoke, 0, OpOutcome.Unknown, kind == OpKind.Get ? null : token, expectedRv);
        }
    }

    private JsonObject Body(string key, string token, string? rv)
    {
        var meta = new JsonObject { ["name"] = key, ["labels"] = new JsonObject { [Label] = keyPrefix } };
        if (rv is not null) meta["resourceVersion"] = rv;
        return new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "ConfigMap",
            ["metadata"] = meta,
            ["data"] = new JsonObject { ["v"] = token },
        };
    }
}
