using Akka.Actor;
using Akka.Cluster.Hosting;
using Akka.Event;
using Akka.Hosting;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Cluster;
using AkkaKube.Actors.Serialization;

namespace AkkaKube.Actors.Controllers;

public static class ControllerManagerProtocol
{
    /// <summary>Chaos/test hook: make one controller throw (it is restarted alone and re-lists). Backs `akkakube chaos crash-actor`.</summary>
    public sealed record CrashController(string Controller) : IAkkaKubeMessage;

    public sealed record CrashAccepted(string Controller, bool Found) : IAkkaKubeMessage;

    public sealed record GetStatus : IAkkaKubeMessage;

    /// <summary>Per controller: how many times it has started (1 = never restarted).</summary>
    public sealed record Status(IReadOnlyDictionary<string, int> Starts) : IAkkaKubeMessage;

    /// <summary>Inspection (`akkakube cmd … kube controllers`, from any node through the singleton proxy).</summary>
    public sealed record GetControllers : IAkkaKubeMessage;

    /// <summary>
    /// One controller. State: "running" (caches synced), "syncing" (informers still listing), "stopped" (restart budget
    /// exhausted) or "not answering" (busy or restarting when asked). Restarts = starts − 1.
    /// </summary>
    public sealed record ControllerStatus(
        string Name, string State, int Starts, int Restarts, DateTime? SyncedAt, DateTime? LastSync, int Queued, int Failing) : IAkkaKubeMessage;

    public sealed record Controllers(IReadOnlyList<ControllerStatus> Items) : IAkkaKubeMessage;

    public static class States
    {
        public const string Running = "running";
        public const string Syncing = "syncing";
        public const string Stopped = "stopped";
        public const string NotAnswering = "not answering";
    }
}

/// <summary>
/// kube-controller-manager as an actor (a Cluster Singleton on the control-plane role): one child per controller,
/// supervised one-for-one — a controller that throws is restarted alone (it re-lists on start), within a restart
/// budget (<see cref="ControllerSettings.MaxRestarts"/> per <see cref="ControllerSettings.RestartWindow"/>).
/// </summary>
public sealed class ControllerManager : ReceiveActor
{
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly IKubeApi _api;
    private readonly ControllerSettings _settings;
    private readonly Dictionary<string, int> _starts = new(StringComparer.Ordinal);

    public ControllerManager(IKubeApi api, ControllerSettings settings, string? leaseNode = null)
    {
        _api = api;
        _leaseNode = leaseNode;
        _settings = settings;
        Receive<ControllerProtocol.Started>(s =>
        {
            _starts[s.Controller] = _starts.GetValueOrDefault(s.Controller) + 1;
            if (_starts[s.Controller] > 1) _log.Warning("controller {0} restarted (start #{1})", s.Controller, _starts[s.Controller]);
        });
        Receive<ControllerManagerProtocol.CrashController>(c =>
        {
            var child = Context.Child(c.Controller);
            if (!child.IsNobody()) child.Tell(Chaos.ChaosProtocol.InjectCrash.Instance);
            Sender.Tell(new ControllerManagerProtocol.CrashAccepted(c.Controller, !child.IsNobody()));
        });
        Receive<ControllerManagerProtocol.GetStatus>(_ =>
            Sender.Tell(new ControllerManagerProtocol.Status(new Dictionary<string, int>(_starts, StringComparer.Ordinal))));
        Receive<ControllerManagerProtocol.GetControllers>(_ => Controllers().PipeTo(Sender));
        Receive<Terminated>(t => _log.Error("controller {0} stopped after exhausting its restart budget", t.ActorRef.Path.Name));
    }

    /// <summary>The kube-system/kube-controller-manager Lease names this node (null: no lease, e.g. tests).</summary>
    private readonly string? _leaseNode;

    public static Props Props(IKubeApi api, ControllerSettings settings, string? leaseNode = null) =>
        Akka.Actor.Props.Create(() => new ControllerManager(api, settings, leaseNode));

    /// <summary>How long a controller may take to answer an inspection before it shows as "not answering".</summary>
    public static readonly TimeSpan InfoTimeout = TimeSpan.FromSeconds(2);

    /// <summary>Asks every enabled controller for its info (children and counts are read on the actor thread, the asks run outside).</summary>
    private Task<ControllerManagerProtocol.Controllers> Controllers()
    {
        var asks = _settings.Enabled.Select(name =>
        {
            var child = Context.Child(name);
            var starts = _starts.GetValueOrDefault(name);
            return Ask(name, child, starts);
        }).ToList();
        return Task.WhenAll(asks).ContinueWith(t => new ControllerManagerProtocol.Controllers(t.Result), TaskScheduler.Default);

        static async Task<ControllerManagerProtocol.ControllerStatus> Ask(string name, IActorRef child, int starts)
        {
            var restarts = Math.Max(0, starts - 1);
            if (child.IsNobody())
                return new(name, ControllerManagerProtocol.States.Stopped, starts, restarts, null, null, 0, 0);
            try
            {
                var info = await child.Ask<ControllerProtocol.Info>(ControllerProtocol.GetInfo.Instance, InfoTimeout).ConfigureAwait(false);
                return new(name, info.Synced ? ControllerManagerProtocol.States.Running : ControllerManagerProtocol.States.Syncing,
                    starts, restarts, info.SyncedAt, info.LastSync, info.Queued, info.Failing);
            }
            catch (AskTimeoutException)
            {
                return new(name, ControllerManagerProtocol.States.NotAnswering, starts, restarts, null, null, 0, 0);
            }
        }
    }

    protected override void PreStart()
    {
        foreach (var name in _settings.Enabled)
        {
            // each controller calls the API as its ServiceAccount (Kubernetes' --use-service-account-credentials)
            var api = Security.ComponentIdentities.WithCaller(_api, Security.ComponentIdentities.ServiceAccount(Security.Rbac.BootstrapPolicy.ControllerServiceAccounts[name]));
            var props = name switch
            {
                ControllerNames.ReplicaSet => ReplicaSet.ReplicaSetController.Props(api, _settings),
                ControllerNames.Deployment => Deployment.DeploymentController.Props(api, _settings),
                ControllerNames.GarbageCollector => GarbageCollector.GarbageCollector.Props(api, _settings),
                ControllerNames.Namespace => Namespace.NamespaceController.Props(api, _settings),
                ControllerNames.NodeLifecycle => NodeLifecycle.NodeLifecycleController.Props(api, NodeLifecycle.NodeLifecycleSettings.Create(Context.System.Settings.Config)),
                ControllerNames.ClusterRoleAggregation => Rbac.ClusterRoleAggregationController.Props(api, _settings),
                ControllerNames.ServiceAccount => ServiceAccount.ServiceAccountController.Props(api, _settings),
                ControllerNames.RootCaPublisher => RootCaPublisher.RootCaPublisher.Props(api, _settings),
                ControllerNames.StatefulSet => StatefulSet.StatefulSetController.Props(api, _settings),
                ControllerNames.DaemonSet => DaemonSet.DaemonSetController.Props(api, _settings),
                ControllerNames.EndpointSlice => EndpointSlice.EndpointSliceController.Props(api, _settings),
                ControllerNames.HorizontalPodAutoscaler => HorizontalPodAutoscaler.HorizontalPodAutoscalerController.Props(api, _settings),
                ControllerNames.Job => Job.JobController.Props(api, _settings, Job.JobSettings.Create(Context.System.Settings.Config)),
                ControllerNames.PodGc => PodGc.PodGcController.Props(api, _settings, PodGc.PodGcSettings.Create(Context.System.Settings.Config)),
                ControllerNames.CronJob => CronJob.CronJobController.Props(api, _settings),
                ControllerNames.PersistentVolume => Volume.PersistentVolumeController.Props(api, _settings),
                ControllerNames.ResourceQuota => ResourceQuota.ResourceQuotaController.Props(api, _settings),
                ControllerNames.Disruption => Disruption.DisruptionController.Props(api, _settings),
                _ => throw new ArgumentException($"unknown controller {name}"),
            };
            Context.Watch(Context.ActorOf(props, name));
        }
        if (_leaseNode is not null) Context.ActorOf(AkkaKube.Actors.Cluster.LeaderLeaseActor.Props(_api, AkkaKubeNames.Leases.ControllerManager, _leaseNode), "leader-lease");
        _log.Info("controller-manager started: {0}", string.Join(", ", _settings.Enabled));
    }

    protected override SupervisorStrategy SupervisorStrategy() =>
        new OneForOneStrategy(_settings.MaxRestarts, _settings.RestartWindow, _ => Directive.Restart);
}

public static class ControllerManagerHostingExtensions
{
    /// <summary>
    /// The controller-manager as a Cluster Singleton on the control-plane role (with a proxy on every node).
    /// Uses the node's in-cluster <see cref="IKubeApi"/> (<see cref="ApiServer.KubeApi"/>), so AddApiServer must come first.
    /// </summary>
    public static AkkaConfigurationBuilder AddControllerManager(this AkkaConfigurationBuilder builder, NodeOptions node) =>
        builder.WithControlPlaneSingleton<ControllerManager>(node,
            AkkaKubeNames.Actors.ControllerManager,
            (system, _, _) => ControllerManager.Props(
                Security.ComponentIdentities.AsControlPlane(ApiServer.KubeApi.Get(system).Api, Security.ComponentIdentities.KubeControllerManager),
                ControllerSettings.Create(system.Settings.Config) with { RootCaFile = node.ApiTls ? Security.ClusterCa.CertFile(node.DataDirectory) : null },
                leaseNode: node.NodeName),
            SingletonProxy.EveryNode);
}
