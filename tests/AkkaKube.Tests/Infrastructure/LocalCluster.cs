using AkkaKube.Actors.Cmd;
using AkkaKube.Actors.Security;
using AkkaKube.Cli;

namespace AkkaKube.Tests.Infrastructure;

/// <summary>
/// A real multi-process local cluster started through the same launcher code as `akkakube up` (separate
/// akkakube-node processes on 127.1.b.k of their own address block b, SQLite in a temp data dir, every port free-picked). Share one per test
/// class with IClassFixture&lt;LocalCluster&gt; (or subclass to change the topology). DisposeAsync stops every node
/// by PID (SIGTERM, then SIGKILL) and checks none is left.
/// With <see cref="UsePostgres"/> the journal lives in a fresh PostgreSQL database (`akkakube up --postgres`) on the
/// server AKKAKUBE_TEST_POSTGRES names, dropped on dispose; without that variable nothing starts and
/// <see cref="SkipReason"/> says why (tests call Skip.If on it).
/// </summary>
public class LocalCluster : IAsyncLifetime
{
    private readonly TempDir _dir = new();
    private PostgresTestDatabase? _database;

    public virtual int ControlPlanes => 1;
    public virtual int Workers => 2;
    public virtual IReadOnlyList<string> Zones => ["zone-a", "zone-b", "zone-c"];
    /// <summary>This cluster's share of the loopback ranges: its own, so parallel test classes never share an address.</summary>
    public int AddressBlock { get; } = TestAddressBlocks.Next();
    /// <summary>How long the start may take until every member is Up (more nodes on a busy machine: more time).</summary>
    public virtual TimeSpan StartTimeout => TimeSpan.FromSeconds(120);
    /// <summary>Journal in PostgreSQL (a fresh database) instead of SQLite in the data directory.</summary>
    public virtual bool UsePostgres => false;
    /// <summary>`up --hosts`: loopback, or netns (every node in its own network namespace; skipped with a reason without root/ip/nsenter).</summary>
    public virtual string Hosts => "loopback";
    /// <summary>`up --hosts-cidr` of a netns cluster.</summary>
    public virtual string HostsCidr => HostNetwork.DefaultCidr;
    /// <summary>`up --runtime`: process, or containerd (skipped with a reason without root, containerd or busybox-static).</summary>
    public virtual string Runtime => "process";

    /// <summary>Why this cluster was not started (no PostgreSQL to test against); null when it runs.</summary>
    public string? SkipReason { get; private set; }
    /// <summary>The PostgreSQL database name of a <see cref="UsePostgres"/> cluster.</summary>
    public string? PostgresDatabase => _database?.Name;

    public ClusterState State { get; private set; } = null!;
    public string DataDirectory => _dir.Path;
    public int ApiPort { get; } = FreePort.Next();
    public Uri ApiUri => Hosts == "loopback" ? new($"https://127.0.0.1:{ApiPort}") : Credentials.Server;
    /// <summary>DATA/kubeconfig as `up` writes it (cluster CA + admin client certificate); kubectl and clients use it.</summary>
    public string KubeconfigPath => LocalClusterLauncher.KubeconfigPath(_dir.Path);
    public KubeconfigCredentials Credentials => KubeconfigCredentials.Load(KubeconfigPath);
    /// <summary>An HttpClient on the API with the kubeconfig's CA and admin client certificate.</summary>
    public HttpClient NewHttpClient(TimeSpan? timeout = null, Action<SocketsHttpHandler>? configure = null) =>
        Credentials.CreateClient(timeout ?? TimeSpan.FromSeconds(30), configure);
    public IReadOnlyDictionary<string, int> Pids => State.Nodes.ToDictionary(n => n.Name, n => n.Pid);
    /// <summary>Node name → command host port on 127.0.0.1.</summary>
    public IReadOnlyDictionary<string, int> CmdPorts => State.Nodes.ToDictionary(n => n.Name, n => n.CmdPort);
    public NodeState Node(string name) => State.Nodes.Single(n => n.Name == name);
    /// <summary>The command host token `up` wrote (DATA/cmd-token), as `akkakube cmd` reads it.</summary>
    public string? CmdToken => CmdTokenFile.TryRead(_dir.Path);

    public async Task InitializeAsync()
    {
        if (UsePostgres)
        {
            SkipReason = PostgresTestDatabase.SkipReason;
            if (SkipReason is not null) return;
            _database = await PostgresTestDatabase.CreateAsync(GetType().Name.ToLowerInvariant());
        }
        if (Hosts == "netns" && HostNetwork.Missing() is { } missing)
        {
            SkipReason = $"--hosts netns {missing}";
            return;
        }
        if (Runtime == "containerd" && (ContainerdNode.Missing() ?? ProjectImages.Missing()) is { } lacking)
        {
            SkipReason = $"--runtime containerd {lacking}";
            return;
        }
        try
        {
            State = LocalClusterLauncher.Start(new UpOptions
            {
                ControlPlanes = ControlPlanes,
                Workers = Workers,
                Zones = Zones,
                DataDirectory = _dir.Path,
                ApiPort = ApiPort,
                Postgres = _database?.ConnectionString,
                AddressBlock = AddressBlock,
                Hosts = Hosts,
                HostsCidr = HostsCidr,
                Runtime = Runtime,
            });
            await LocalClusterLauncher.WaitUntilUpAsync(State, StartTimeout);
            // As `up` does: the store's partitions first allocated to the first control plane move to the others as
            // they join; tests start once that has settled (a partition answers nothing while it moves).
            await LocalClusterLauncher.WaitUntilStoreBalancedAsync(State, StartTimeout);
            // … and, as `up`, for the default ServiceAccount, without which pods in "default" are refused
            await LocalClusterLauncher.WaitForDefaultServiceAccountAsync(State, TimeSpan.FromSeconds(60));
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    /// <summary>Runs one command on a node's command host and returns its replies (a final "error" throws).</summary>
    public Task<IReadOnlyList<CmdReply>> CmdAsync(string node, string palette, string? command = null, params string[] args) =>
        CmdClient.RunAsync(Node(node).CmdAddress, CmdPorts[node], new CmdRequest(palette, command, args), TimeSpan.FromSeconds(30), token: CmdToken);

    public async Task DisposeAsync()
    {
        try
        {
            if (State is not null)
            {
                LocalClusterLauncher.Stop(State, TimeSpan.FromSeconds(10));
                // `akkakube chaos restart` records a restarted node's new PID in cluster.json: stop those too.
                if (ClusterState.Load(State.DataDirectory) is { } current) LocalClusterLauncher.Stop(current, TimeSpan.FromSeconds(10));
            }
        }
        finally
        {
            try
            {
                if (_database is not null) await _database.DisposeAsync();
            }
            finally
            {
                _database = null;
                _dir.Dispose();
            }
        }
    }
}
