using Akka.Actor;
using Akka.Hosting;
using AkkaKube.Actors.Cluster;
using AkkaKube.Actors.Security;
using AkkaKube.Cli;
using AkkaKube.Host;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace AkkaKube.Tests.Infrastructure;

/// <summary>
/// A real all-in-one node (control-plane + worker) inside the test process: the same NodeHost as the
/// node binary, SQLite in a temporary directory, every port from the OS. Share one per test class
/// with IClassFixture; it costs a few seconds to start.
/// </summary>
public class InProcessNode : IAsyncLifetime
{
    private readonly TempDir _dir = new();
    private IHost? _host;

    public NodeOptions Options { get; private set; } = null!;
    public ActorSystem System => _host!.Services.GetRequiredService<ActorSystem>();
    public IServiceProvider Services => _host!.Services;
    public Uri ApiUri => new($"{(Options.ApiTls ? "https" : "http")}://127.0.0.1:{Options.ApiPort}");
    /// <summary>The admin kubeconfig `up` would write for this node's data directory (cluster CA + admin client certificate).</summary>
    public string KubeconfigPath { get; private set; } = "";
    /// <summary>The kubeconfig's credentials: build clients from these as users do (<see cref="NewHttpClient"/>).</summary>
    public KubeconfigCredentials Credentials => KubeconfigCredentials.Load(KubeconfigPath);
    /// <summary>This node's share of the loopback ranges (pod CIDR, ClusterIPs, LB IPs): its own per test class.</summary>
    public int AddressBlock { get; } = TestAddressBlocks.Next();

    /// <summary>Override to change the node (e.g. roles) before it starts.</summary>
    public Func<NodeOptions, NodeOptions> Configure { get; init; } = o => o;

    public async Task InitializeAsync()
    {
        var port = FreePort.Next();
        Options = Configure(new NodeOptions
        {
            NodeName = "node-1",
            NodeIp = global::System.Net.IPAddress.Loopback,
            RemotingPort = port,
            SeedNodes = [$"akka.tcp://akkakube@127.0.0.1:{port}"],
            ApiPort = FreePort.Next(),
            CmdPort = FreePort.Next(),
            PodCidr = NodeOptions.PodCidrFor(AddressBlocks.OrdinalBase(AddressBlock) + 200),
            DataDirectory = _dir.Path,
        });
        // the block's service and LB ranges under any file the node was configured with (later files win)
        Options = Options with { ConfigFiles = [HoconFile(AddressBlocks.Hocon(AddressBlock)), .. Options.ConfigFiles] };
        // ASP.NET's default localhost:5000 would collide between test nodes; the apiserver's own endpoints win over it.
        _host = NodeHost.Build(Options, ["--urls", "http://127.0.0.1:0"]);
        await _host.StartAsync();
        KubeconfigPath = LocalClusterLauncher.WriteKubeconfig(Options.DataDirectory, Options.ApiPort, insecureHttp: !Options.ApiTls);
        var cluster = Akka.Cluster.Cluster.Get(System);
        var up = new TaskCompletionSource();
        cluster.RegisterOnMemberUp(() => up.TrySetResult());
        await up.Task.WaitAsync(TimeSpan.FromSeconds(60));
        await WaitForDefaultServiceAccountAsync();
    }

    /// <summary>
    /// Pods in "default" are refused until the serviceaccount controller has created default/default (the ServiceAccount
    /// admission, as in Kubernetes), so a test creating a pod right after start would race it on a busy machine, as
    /// `akkakube up` waits for it too. Nodes without that controller or plugin (the quiet ones) or without a kubelet
    /// (no pods run there; a test of such a node may fill its disk before the account exists) do not wait.
    /// </summary>
    private async Task WaitForDefaultServiceAccountAsync()
    {
        var config = System.Settings.Config;
        if (!Options.ControlPlane || !Options.Worker
            || config.GetStringList("akkakube.apiserver.disable-admission-plugins").Contains("ServiceAccount")
            || !config.GetStringList("akkakube.controllers.enabled").Contains("serviceaccount"))
            return;
        using var http = NewHttpClient(TimeSpan.FromSeconds(10));
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                using var r = await http.GetAsync("/api/v1/namespaces/default/serviceaccounts/default");
                if (r.IsSuccessStatusCode) return;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
            }
            if (DateTime.UtcNow > deadline) throw new TimeoutException("the default ServiceAccount did not appear within 60 s");
            await Task.Delay(200);
        }
    }

    /// <summary>The command host token of the node's data directory (DATA/cmd-token), as `akkakube cmd` reads it.</summary>
    public string? CmdToken => Options.CmdToken ?? Actors.Cmd.CmdTokenFile.TryRead(Options.DataDirectory);

    /// <summary>An HttpClient on this node's API with the kubeconfig's CA and admin client certificate.</summary>
    public HttpClient NewHttpClient(TimeSpan? timeout = null, Action<SocketsHttpHandler>? configure = null) =>
        Credentials.CreateClient(timeout ?? TimeSpan.FromSeconds(30), configure);

    /// <summary>Writes HOCON into the node's data directory and returns the file, for <see cref="NodeOptions.ConfigFiles"/>.</summary>
    protected string HoconFile(string hocon)
    {
        var file = global::System.IO.Path.Combine(_dir.Path, $"test-{Guid.NewGuid():N}.conf");
        File.WriteAllText(file, hocon);
        return file;
    }

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.StopAsync(TimeSpan.FromSeconds(20));
            _host.Dispose();
        }
        _dir.Dispose();
    }
}

/// <summary>
/// An apiserver-only node for API tests: control-plane role, no controllers, and a scheduler that serves a
/// scheduler name no pod uses, so nothing but the test writes to the store.
/// </summary>
public class ApiOnlyNode : InProcessNode
{
    /// <summary>No controllers (hence no "default" ServiceAccounts: the ServiceAccount admission plugin is off, as it must be then) and no scheduling.</summary>
    public const string QuietHocon = "akkakube.controllers.enabled = []\nakkakube.scheduler.scheduler-name = \"no-pod-uses-this\"\nakkakube.apiserver.disable-admission-plugins = [ServiceAccount]\n";

    public ApiOnlyNode(string extraHocon = "")
    {
        var file = HoconFile(QuietHocon + extraHocon);
        Configure = o => o with { Worker = false, ConfigFiles = [file] };
    }
}

/// <summary>A worker that runs kube-proxy but no kubelet and no scheduler: tests write pod status by hand.</summary>
public class ProxyOnlyNode : InProcessNode
{
    public ProxyOnlyNode()
    {
        var file = HoconFile("akkakube.kubelet.enabled = off\nakkakube.scheduler.scheduler-name = \"no-pod-uses-this\"\n");
        Configure = o => o with { ConfigFiles = [file] };
    }
}
