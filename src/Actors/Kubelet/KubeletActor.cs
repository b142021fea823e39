using Akka.Actor;
using Akka.Event;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Runtime;
using AkkaKube.Actors.Machinery;
using Children = AkkaKube.Actors.AkkaKubeNames.Actors.KubeletChildren;

namespace AkkaKube.Actors.Kubelet;

/// <summary>
/// The kubelet of one (possibly hollow) node, a parent with one child per concern (<see cref="Children"/>):
/// <see cref="NodeStatusActor"/> (node: registration and status), then, once the Node exists, <see cref="NodeLeaseActor"/>
/// (lease), <see cref="PodManager"/> (pods: informer and one <see cref="PodWorker"/> per pod) and <see cref="NodeStatsActor"/>
/// (stats: resource usage), beside the event recorder. Answers <see cref="KubeletProtocol.GetLogs"/> and <see cref="KubeletProtocol.StartExec"/> (through the pod
/// manager) and <see cref="KubeletProtocol.GetMetrics"/> (through stats) over remoting.
/// </summary>
public sealed class KubeletActor : ReceiveActor, IWithStash
{
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly NodeIdentity _node;
    private readonly KubeletSettings _settings;
    private readonly IKubeApi _api;
    private readonly IContainerRuntime _runtime;
    private readonly string _dataDir;
    private readonly TimeSpan _leaseInterval;

    public IStash Stash { get; set; } = null!;

    public KubeletActor(NodeIdentity node, KubeletSettings settings, IKubeApi api, IContainerRuntime runtime, string dataDir, TimeSpan? leaseInterval = null)
    {
        _node = node;
        _settings = settings;
        _api = api;
        _runtime = runtime;
        _dataDir = dataDir;
        _leaseInterval = leaseInterval ?? settings.LeaseInterval;
        Registering();
    }

    public static Props Props(NodeIdentity node, KubeletSettings settings, IKubeApi api, IContainerRuntime runtime, string dataDir, TimeSpan? leaseInterval = null) =>
        Akka.Actor.Props.Create(() => new KubeletActor(node, settings, api, runtime, dataDir, leaseInterval));

    protected override void PreStart()
    {
        KubeletMetrics.Started(_node.NodeName, _runtime, TimeSpan.FromSeconds(Math.Max(_settings.LeaseDurationSeconds, 3 * _leaseInterval.TotalSeconds)));
        Context.ActorOf(NodeStatusActor.Props(_node, _settings, _api, _runtime.Name), Children.Node);
    }

    protected override void PostStop() => KubeletMetrics.Stopped(_node.NodeName);

    /// <summary>Until the Node exists: logs are refused (503), metrics empty.</summary>
    private void Registering()
    {
        Receive<NodeStatusActor.NodeRegistered>(r =>
        {
            KubeletMetrics.Registered(_node.NodeName);
            // The one event recorder of every component (Client/EventRecorder: client-go's correlator); hollow kubelets
            // record none by default, so 1,000 of them do not flood the store with Scheduled/Started events.
            var events = (_node.Hollow ? _settings.HollowEvents : _settings.Events)
                ? Context.ActorOf(EventRecorder.Props(_api, "kubelet", _node.NodeName), Children.Events)
                : ActorRefs.Nobody;
            var lease = Context.ActorOf(NodeLeaseActor.Props(_node.NodeName, r.Uid, _settings, _api, _leaseInterval), Children.Lease);
            var ctx = new PodWorkerContext(_api, _runtime, _settings, _node.NodeName, _node.NodeIp, _dataDir, events);
            var pods = Context.ActorOf(PodManager.Props(_node, ctx), Children.Pods);
            var stats = Context.ActorOf(NodeStatsActor.Props(_node, _settings, _runtime, pods), Children.Stats);
            // hollow kubelets have no directories to clean (and 1,000 of them must not each watch every volume)
            if (!_node.Hollow && _node.VolumesDirectory is { } volumesDir)
                Context.ActorOf(VolumeCleaner.Props(Security.ComponentIdentities.As(_api, Security.ComponentIdentities.LocalPathProvisioner), _node.NodeName, volumesDir), Children.Volumes);
            _log.Debug("kubelet of {0}: registered, starting lease, pods and stats", _node.NodeName);
            Become(() => Running(lease, pods, stats));
            Stash.UnstashAll();
        });
        Receive<KubeletProtocol.GetLogs>(_ => Sender.Tell(new KubeletProtocol.LogEnd(503, "ServiceUnavailable", $"kubelet of node {_node.NodeName} is still registering")));
        Receive<KubeletProtocol.IPodStreamRequest>(_ => Sender.Tell(new KubeletProtocol.StreamRefused(503, "ServiceUnavailable", $"kubelet of node {_node.NodeName} is still registering")));
        Receive<KubeletProtocol.GetMetrics>(_ => Sender.Tell(NodeStatsActor.Empty(_node, _settings)));
        ReceiveAny(_ => Stash.Stash());
    }

    private void Running(IActorRef lease, IActorRef pods, IActorRef stats)
    {
        Receive<NodeStatusActor.NodeRegistered>(r => lease.Tell(r)); // registered again after the Node was deleted
        Receive<KubeletProtocol.GetLogs>(g => pods.Forward(g));
        Receive<KubeletProtocol.IPodStreamRequest>(g => pods.Forward(g));
        Receive<KubeletProtocol.GetMetrics>(g => stats.Forward(g));
    }
}
