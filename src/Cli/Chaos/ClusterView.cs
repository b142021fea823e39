using System.Text.Json.Nodes;
using AkkaKube.Actors.Cmd;

namespace AkkaKube.Cli.Chaos;

/// <summary>A Node object as the chaos report needs it.</summary>
public sealed record NodeView(string Name, string Ready, IReadOnlyList<string> Taints);

/// <summary>A pod as the chaos report needs it; Owner is the Deployment (namespace/name) it belongs to, if any.</summary>
public sealed record PodView(string Namespace, string Name, string? NodeName, string Phase, bool Ready, bool Deleting, string? Owner);

/// <summary>A Deployment: desired replicas and the ready replicas its status reports.</summary>
public sealed record DeploymentView(string Namespace, string Name, int Desired, int Ready)
{
    public string Key => $"{Namespace}/{Name}";
}

/// <summary>One look at the cluster: members (from a command host) and the Kubernetes objects (from the API).</summary>
public sealed record ClusterSnapshot(
    IReadOnlyList<MemberView>? Members,
    IReadOnlyList<NodeView>? Nodes,
    IReadOnlyList<PodView>? Pods,
    IReadOnlyList<DeploymentView>? Deployments)
{
    /// <summary>Ready, Running, not deleting pods of the Deployment on nodes outside <paramref name="lost"/>.</summary>
    public int ReadyElsewhere(DeploymentView d, IReadOnlySet<string> lost) =>
        Pods?.Count(p => p.Owner == d.Key && p.Phase == "Running" && p.Ready && !p.Deleting && p.NodeName is { } n && !lost.Contains(n)) ?? 0;

    /// <summary>Every Deployment reports its desired ready replicas and has that many ready pods on live nodes.</summary>
    public bool DeploymentsReady(IReadOnlySet<string> lost) =>
        Deployments is not null && Pods is not null && Deployments.All(d => d.Ready >= d.Desired && ReadyElsewhere(d, lost) >= d.Desired);
}

/// <summary>Reads the local cluster: members through a live node's command host, objects through the API (DATA/kubeconfig's server and credentials).</summary>
public sealed class ClusterView : IDisposable
{
    private readonly ClusterState _state;
    private readonly HttpClient _http;

    /// <param name="apiServer">Another apiserver than the kubeconfig's (`--hosts netns`: one control plane's own address).</param>
    public ClusterView(ClusterState state, TimeSpan callTimeout, Uri? apiServer = null)
    {
        _state = state;
        _http = LocalClusterLauncher.ApiClient(state.DataDirectory, callTimeout, h => h.PooledConnectionLifetime = TimeSpan.FromSeconds(2));
        if (apiServer is not null) _http.BaseAddress = apiServer;
    }

    public HttpClient Http => _http;

    /// <summary>`cluster show` from the first live node outside <paramref name="exclude"/> that answers (control-plane first).</summary>
    public async Task<IReadOnlyList<MemberView>?> MembersAsync(IReadOnlySet<string> exclude, CancellationToken ct)
    {
        foreach (var n in _state.Nodes.Where(n => !exclude.Contains(n.Name)).OrderBy(n => n.ControlPlane ? 0 : 1).ThenBy(n => n.Ordinal))
        {
            if (!NodeProcesses.IsNodeAlive(n.Pid, n.Name)) continue;
            try
            {
                var replies = await CmdClient.RunAsync(n.CmdAddress, n.CmdPort, new CmdRequest("cluster", "show"), TimeSpan.FromSeconds(3), ct, _state.CmdToken);
                var table = replies.FirstOrDefault(r => r.Type == CmdReply.Kinds.Table);
                if (table?.Rows is null) continue;
                return LocalClusterLauncher.ParseMembers(table);
            }
            catch (CliException)
            {
            }
        }
        return null;
    }

    /// <summary>Runs one command on the first live node outside <paramref name="exclude"/> whose command host answers.</summary>
    public async Task<IReadOnlyList<CmdReply>> CmdAsync(IReadOnlySet<string> exclude, CmdRequest request, CancellationToken ct, string? onNode = null)
    {
        CliException? last = null;
        foreach (var n in _state.Nodes.Where(n => onNode is null ? !exclude.Contains(n.Name) : n.Name == onNode).OrderBy(n => n.ControlPlane ? 0 : 1).ThenBy(n => n.Ordinal))
        {
            if (!NodeProcesses.IsNodeAlive(n.Pid, n.Name)) continue;
            try
            {
                return await CmdClient.RunAsync(n.CmdAddress, n.CmdPort, request, TimeSpan.FromSeconds(10), ct, _state.CmdToken);
            }
            catch (CliException e)
            {
                last = e;
            }
        }
        throw last ?? new CliException($"no live node's command host to run '{request.Palette} {request.Command}' on");
    }

    public async Task<ClusterSnapshot> SnapshotAsync(IReadOnlySet<string> exclude, CancellationToken ct)
    {
        var members = MembersAsync(exclude, ct);
        var nodes = ListAsync("/api/v1/nodes", ct);
        var pods = ListAsync("/api/v1/pods", ct);
        var deployments = ListAsync("/apis/apps/v1/deployments", ct);
        await Task.WhenAll(members, nodes, pods, deployments);
        return new ClusterSnapshot(members.Result, nodes.Result?.Select(ParseNode).ToList(), pods.Result?.Select(ParsePod).ToList(),
            deployments.Result?.Select(ParseDeployment).ToList());
    }

    /// <summary>GET of a list; null when the API did not answer with 2xx.</summary>
    public async Task<IReadOnlyList<JsonObject>?> ListAsync(string path, CancellationToken ct)
    {
        try
        {
            using var response = await _http.GetAsync(path, ct);
            if (!response.IsSuccessStatusCode) return null;
            var body = JsonNode.Parse(await response.Content.ReadAsStringAsync(ct));
            return body?["items"] is JsonArray items ? items.OfType<JsonObject>().ToList() : [];
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or System.Text.Json.JsonException && !ct.IsCancellationRequested)
        {
            return null;
        }
    }

    /// <summary>
    /// One API probe: Answered = a 2xx to GET /livez (an apiserver serves), Ready = a 2xx to GET /readyz (and every
    /// readiness check passes, the store included: false while a partition the checks ask for is moving).
    /// </summary>
    public async Task<(bool Answered, bool Ready)> ProbeAsync(CancellationToken ct)
    {
        try
        {
            using var live = await _http.GetAsync("/livez", ct);
            if (!live.IsSuccessStatusCode) return (false, false);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
        {
            return (false, false);
        }
        try
        {
            using var ready = await _http.GetAsync("/readyz", ct);
            return (true, ready.IsSuccessStatusCode);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
        {
            return (true, false); // answered /livez: a readiness check that outlasts the call timeout is "not ready"
        }
    }

    internal static NodeView ParseNode(JsonObject o)
    {
        var ready = (o["status"]?["conditions"] as JsonArray)?.OfType<JsonObject>()
            .FirstOrDefault(c => (string?)c["type"] == "Ready")?["status"]?.GetValue<string>() ?? "Unknown";
        var taints = (o["spec"]?["taints"] as JsonArray)?.OfType<JsonObject>()
            .Select(t => $"{(string?)t["key"]}:{(string?)t["effect"]}").ToList() ?? [];
        return new NodeView((string?)o["metadata"]?["name"] ?? "", ready, taints);
    }

    internal static PodView ParsePod(JsonObject o)
    {
        var meta = o["metadata"];
        var ns = (string?)meta?["namespace"] ?? "default";
        var ready = (o["status"]?["conditions"] as JsonArray)?.OfType<JsonObject>()
            .Any(c => (string?)c["type"] == "Ready" && (string?)c["status"] == "True") ?? false;
        // Deployment → ReplicaSet "<deployment>-<template-hash>" → pod: the owner is the ReplicaSet name minus the hash.
        string? owner = null;
        var rs = (meta?["ownerReferences"] as JsonArray)?.OfType<JsonObject>().FirstOrDefault(r => (string?)r["kind"] == "ReplicaSet");
        var hash = (string?)meta?["labels"]?["pod-template-hash"];
        if (rs is not null && (string?)rs["name"] is { } rsName && hash is not null && rsName.EndsWith("-" + hash, StringComparison.Ordinal))
            owner = $"{ns}/{rsName[..^(hash.Length + 1)]}";
        return new PodView(ns, (string?)meta?["name"] ?? "", (string?)o["spec"]?["nodeName"], (string?)o["status"]?["phase"] ?? "Pending",
            ready, meta?["deletionTimestamp"] is not null, owner);
    }

    internal static DeploymentView ParseDeployment(JsonObject o) =>
        new((string?)o["metadata"]?["namespace"] ?? "default", (string?)o["metadata"]?["name"] ?? "",
            o["spec"]?["replicas"]?.GetValue<int>() ?? 1, o["status"]?["readyReplicas"]?.GetValue<int>() ?? 0);

    public void Dispose() => _http.Dispose();
}
