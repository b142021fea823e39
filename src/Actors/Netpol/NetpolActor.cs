using System.Text.Json.Nodes;
using Akka.Actor;
using Akka.Event;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Machinery;
using AkkaKube.Actors.Proxy;
using k8s;
using k8s.Models;

namespace AkkaKube.Actors.Netpol;

/// <summary>
/// NetworkPolicy on one worker node (<c>/user/netpol</c>), beside kube-proxy and in the same mode. In the nftables mode
/// it keeps the node's policy table (<see cref="NetpolRules"/>) in step with the Pod, Namespace and NetworkPolicy
/// informers: one whole-table transaction per sync (a burst within min-sync-period is one), retried with back-off,
/// skipped when the kernel holds that text already, removed when the node stops; a restart after kill -9 rewrites it.
/// In any other mode nothing can enforce a policy on this node, and every policy gets a Warning event NotEnforced that says why.
/// </summary>
public sealed class NetpolActor : ReceiveActor, IWithTimers
{
    public const string Component = "akkakube-netpol";
    public const string NotEnforcedReason = "NotEnforced";
    private const string SyncTimer = "sync";
    private static readonly ApiResource[] Watched = [ApiResource.NetworkPolicies, ApiResource.Pods, ApiResource.Namespaces];

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly IKubeApi _api;
    private readonly ProxySettings _settings;
    private readonly NetpolNode _node;
    private readonly INftables? _nft;
    private readonly string? _notEnforced;
    private readonly Dictionary<ApiResource, Dictionary<string, JsonObject>> _objects = Watched.ToDictionary(r => r, _ => new Dictionary<string, JsonObject>(StringComparer.Ordinal));
    private readonly HashSet<ApiResource> _synced = [];
    private readonly HashSet<string> _reported = new(StringComparer.Ordinal); // policy uids told NotEnforced
    private IActorRef _recorder = ActorRefs.Nobody;
    private string? _applied;
    private bool _applying;
    private bool _dirty;
    private int _failures;

    public ITimerScheduler Timers { get; set; } = null!;

    /// <param name="nft">The kernel's nftables (null: not enforced here, for the reason <paramref name="notEnforced"/>).</param>
    public NetpolActor(IKubeApi api, ProxySettings settings, NetpolNode node, INftables? nft, string? notEnforced)
    {
        _api = api;
        _settings = settings;
        _node = node;
        _nft = nft;
        _notEnforced = nft is null ? notEnforced ?? "no packet filter on this node" : null;
        Receive<InformerProtocol.Synced>(s =>
        {
            var into = _objects[s.Resource];
            into.Clear();
            foreach (var (key, obj) in s.Objects) into[key] = obj;
            _synced.Add(s.Resource);
            Changed(s.Resource, s.Objects.Values);
        });
        Receive<InformerProtocol.Added>(e =>
        {
            _objects[e.Resource][e.Key] = e.Object;
            Changed(e.Resource, [e.Object]);
        });
        Receive<InformerProtocol.Updated>(e =>
        {
            _objects[e.Resource][e.Key] = e.New;
            Changed(e.Resource, [e.New]);
        });
        Receive<InformerProtocol.Deleted>(e =>
        {
            _objects[e.Resource].Remove(e.Key);
            Changed(e.Resource, []);
        });
        Receive<SyncNow>(_ => Sync());
        Receive<Applied>(OnApplied);
        Receive<NetpolProtocol.GetStatus>(_ => Sender.Tell(new NetpolProtocol.Status(_nft is not null, _node.Table, _applied is not null, _failures, _notEnforced)));
    }

    public static Props Props(IKubeApi api, ProxySettings settings, NetpolNode node, INftables? nft, string? notEnforced) =>
        Akka.Actor.Props.Create(() => new NetpolActor(api, settings, node, nft, notEnforced));

    private sealed class SyncNow
    {
        public static readonly SyncNow Instance = new();
    }

    private sealed record Applied(string Script, NftResult Result, TimeSpan Took);

    protected override void PreStart()
    {
        _recorder = Context.ActorOf(EventRecorder.Props(_api, Component, _node.NodeName), "events");
        if (_nft is not null)
        {
            _log.Info("NetworkPolicy enforced by nftables (table inet {0})", _node.Table);
            EnsureBridgeFiltering();
        }
        else _log.Info("NetworkPolicy not enforced on this node: {0}", _notEnforced);
        // Without enforcement only the policies matter (each gets its event); pods and namespaces are not needed.
        foreach (var resource in _nft is null ? [ApiResource.NetworkPolicies] : Watched)
            SharedInformers.Get(Context.System).Subscribe(_api, new InformerOptions(resource), Self);
    }

    /// <summary>
    /// Pods on one bridge reach each other without routing: only br_netfilter (bridge-nf-call-iptables) hands such frames
    /// to the forward hook. Loaded and set here when missing (kube-proxy sets it too); a warning when that is impossible.
    /// </summary>
    private void EnsureBridgeFiltering()
    {
        if (!OperatingSystem.IsLinux() || !Environment.IsPrivilegedProcess) return;
        const string key = "net/bridge/bridge-nf-call-iptables";
        var done = NodeNetwork.EnsureSysctl(key, "1");
        if (done?.EndsWith(": absent", StringComparison.Ordinal) == true)
        {
            try
            {
                using var modprobe = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("modprobe", ["br_netfilter"])
                    { UseShellExecute = false, RedirectStandardError = true });
                modprobe?.WaitForExit(10_000);
            }
            catch (System.ComponentModel.Win32Exception) { } // no modprobe: the check below says what is missing
            done = NodeNetwork.EnsureSysctl(key, "1");
        }
        if (done?.EndsWith(": absent", StringComparison.Ordinal) == true)
            _log.Warning("br_netfilter is not loaded and could not be (modprobe br_netfilter): pods on one bridge reach each other without NetworkPolicy");
        else if (done is not null) _log.Info("host network: {0}", done);
    }

    protected override void PostStop()
    {
        if (_nft is null) return;
        // `down` and graceful stops leave no rules behind; a kill -9 leaves them, and the next start rewrites them.
        try
        {
            var result = _nft.ApplyAsync(NetpolRules.Remove(_node.Table)).Wait(TimeSpan.FromSeconds(10)) ? "removed" : "removal timed out";
            _log.Info("nftables table {0} {1}", _node.Table, result);
        }
        catch (AggregateException e)
        {
            _log.Warning("removing nftables table {0} failed: {1}", _node.Table, e.GetBaseException().Message);
        }
    }

    private void Changed(ApiResource resource, IEnumerable<JsonObject> objects)
    {
        if (_nft is null)
        {
            if (resource == ApiResource.NetworkPolicies)
                foreach (var policy in objects) ReportNotEnforced(policy);
            return;
        }
        if (_synced.Count < Watched.Length || Timers.IsTimerActive(SyncTimer)) return;
        Timers.StartSingleTimer(SyncTimer, SyncNow.Instance, _settings.MinSyncPeriod);
    }

    /// <summary>Once per policy (uid) and node: a Warning event on the policy saying that this node does not enforce it, and why.</summary>
    private void ReportNotEnforced(JsonObject policy)
    {
        if (Meta.Str(policy["metadata"]?["uid"]) is not { Length: > 0 } uid || !_reported.Add(uid)) return;
        _recorder.Tell(new EventRecorderProtocol.Record(InvolvedObject.Of(policy), EventRecorderProtocol.Warning, NotEnforcedReason,
            $"NetworkPolicy is not enforced on node {_node.NodeName}: {_notEnforced}"));
    }

    /// <summary>Renders the table and applies it unless the kernel holds exactly that; one transaction at a time.</summary>
    private void Sync()
    {
        if (_applying)
        {
            _dirty = true;
            return;
        }
        var script = NetpolRules.Render(_node,
            Typed<V1NetworkPolicy>(ApiResource.NetworkPolicies), Typed<V1Pod>(ApiResource.Pods), Typed<V1Namespace>(ApiResource.Namespaces));
        if (script == _applied) return;
        _applying = true;
        var started = DateTime.UtcNow;
        _nft!.ApplyAsync(script).PipeTo(Self,
            success: r => new Applied(script, r, DateTime.UtcNow - started),
            failure: e => new Applied(script, new NftResult(false, e.GetBaseException().Message), DateTime.UtcNow - started));
    }

    private List<T> Typed<T>(ApiResource resource)
    {
        var list = new List<T>();
        foreach (var (key, obj) in _objects[resource])
        {
            try
            {
                list.Add(KubernetesJson.Deserialize<T>(obj.ToJsonString()));
            }
            catch (System.Text.Json.JsonException e)
            {
                _log.Warning("ignoring unreadable object {0}: {1}", key, e.Message);
            }
        }
        return list;
    }

    private void OnApplied(Applied a)
    {
        _applying = false;
        if (!a.Result.Ok)
        {
            _failures++;
            var retry = TimeSpan.FromTicks(Math.Min(_settings.NftMaxRetry.Ticks, _settings.NftMinRetry.Ticks << Math.Min(_failures - 1, 16)));
            _log.Warning("nft failed for table {0} (attempt {1}; retrying in {2}): {3}", _node.Table, _failures, retry, a.Result.Error);
            Timers.StartSingleTimer(SyncTimer, SyncNow.Instance, retry);
            return;
        }
        if (_failures > 0) _log.Info("nftables table {0} written after {1} failed attempts", _node.Table, _failures);
        _failures = 0;
        _applied = a.Script;
        _log.Info("nftables table {0}: {1} isolated pod directions ({2} ms)", _node.Table,
            a.Script.Split('\n').Count(l => l.Contains(" : jump ", StringComparison.Ordinal)), (int)a.Took.TotalMilliseconds);
        if (_dirty)
        {
            _dirty = false;
            Timers.StartSingleTimer(SyncTimer, SyncNow.Instance, _settings.MinSyncPeriod);
        }
    }
}

/// <summary>Messages of the node's NetworkPolicy actor (local; inspection and tests).</summary>
public static class NetpolProtocol
{
    public sealed class GetStatus
    {
        public static readonly GetStatus Instance = new();
    }

    /// <summary>Whether this node enforces policies, its table, whether the kernel holds the current rules, and why not when it does not.</summary>
    public sealed record Status(bool Enforced, string Table, bool Applied, int FailedAttempts, string? NotEnforced);
}
