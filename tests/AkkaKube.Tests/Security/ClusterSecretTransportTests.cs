using System.Net.Sockets;
using Akka.Actor;
using Akka.Cluster;
using Akka.Configuration;
using Akka.Remote;
using AkkaKube.Actors;
using AkkaKube.Actors.Cluster;
using AkkaKube.Actors.Security;
using AkkaKube.Host;
using AkkaKube.Tests.Infrastructure;

namespace AkkaKube.Tests.Security;

/// <summary>
/// Plain-TCP remoting (the default) admits only processes that prove the cluster secret of the data directory: a node
/// of the same data directory joins; a process with another secret, an Akka process without the adapter and a raw
/// TCP client are refused, and neither the member nor the refused process shuts down.
/// </summary>
public sealed class ClusterSecretTransportTests : IAsyncLifetime
{
    private readonly TempDir _clusterDir = new();
    private readonly TempDir _foreignDir = new();
    private readonly List<ActorSystem> _systems = [];
    private ActorSystem _seed = null!;
    private Address _seedAddress = null!;

    private ActorSystem Start(string name, string dataDir, string? overrides = null)
    {
        var options = new NodeOptions
        {
            NodeName = name, ControlPlane = true, Worker = false,
            NodeIp = System.Net.IPAddress.Loopback, RemotingPort = 0, DataDirectory = dataDir,
        };
        var config = NodeConfig.Build(options, NodeHost.HoconDirectory);
        if (overrides is not null) config = ConfigurationFactory.ParseString(overrides).WithFallback(config);
        var system = ActorSystem.Create(AkkaKubeNames.SystemName, RemotingTls.SystemSetup(options, config));
        _systems.Add(system);
        return system;
    }

    public async Task InitializeAsync()
    {
        _seed = Start("cp-1", _clusterDir.Path);
        var cluster = Akka.Cluster.Cluster.Get(_seed);
        _seedAddress = cluster.SelfAddress;
        var up = new TaskCompletionSource();
        cluster.RegisterOnMemberUp(() => up.TrySetResult());
        cluster.Join(_seedAddress);
        await up.Task.WaitAsync(TimeSpan.FromSeconds(60));
    }

    [Fact]
    public void The_secret_file_is_private_and_addresses_keep_the_plain_scheme()
    {
        Assert.Equal(AkkaKubeNames.Remoting.PlainScheme, _seedAddress.Protocol);
        var file = RemotingSecret.FileOf(_clusterDir.Path);
        Assert.Equal(RemotingSecret.Length, RemotingSecret.Read(file).Length);
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
    }

    [Fact]
    public async Task A_node_of_the_same_data_directory_joins()
    {
        var member = Start("cp-2", _clusterDir.Path);
        var cluster = Akka.Cluster.Cluster.Get(member);
        var up = new TaskCompletionSource();
        cluster.RegisterOnMemberUp(() => up.TrySetResult());
        cluster.Join(_seedAddress);
        await up.Task.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Contains(Akka.Cluster.Cluster.Get(_seed).State.Members, m => m.Address.Equals(cluster.SelfAddress));
    }

    [Fact]
    public async Task A_process_with_another_secret_cannot_join_and_nobody_shuts_down()
    {
        var intruder = Start("intruder", _foreignDir.Path);
        var failed = RemotingIntruders.AssociationFailure(intruder);
        Akka.Cluster.Cluster.Get(intruder).Join(_seedAddress);
        await failed.WaitAsync(TimeSpan.FromSeconds(60));
        RemotingIntruders.AssertNotMember(_seed, intruder);
        Assert.False(intruder.WhenTerminated.IsCompleted, "a refused handshake must not shut the refused process down");
        Assert.False(_seed.WhenTerminated.IsCompleted);
    }

    [Fact]
    public async Task An_akka_process_without_the_secret_handshake_cannot_join()
    {
        var intruder = Start("plain", _foreignDir.Path, "akka.remote.dot-netty.tcp.applied-adapters = []");
        var failed = RemotingIntruders.AssociationFailure(intruder);
        Akka.Cluster.Cluster.Get(intruder).Join(_seedAddress);
        await failed.WaitAsync(TimeSpan.FromSeconds(60));
        RemotingIntruders.AssertNotMember(_seed, intruder);
        Assert.False(_seed.WhenTerminated.IsCompleted);
    }

    [Fact]
    public async Task A_raw_client_sending_bytes_is_disconnected()
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(_seedAddress.Host!, _seedAddress.Port!.Value);
        var stream = tcp.GetStream();
        // A well-formed frame (4-byte length, then the payload) that is not the handshake's hello.
        await stream.WriteAsync(new byte[] { 0, 0, 0, 0, 5, 0, 0, 0, 1, 2, 3, 4, 5 });
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var buffer = new byte[256];
        int read;
        try
        {
            while ((read = await stream.ReadAsync(buffer, limit.Token)) > 0) { }
        }
        catch (IOException)
        {
            read = 0; // reset by the server: closed as well
        }
        Assert.Equal(0, read);
        Assert.False(_seed.WhenTerminated.IsCompleted);
    }

    public async Task DisposeAsync()
    {
        await Task.WhenAll(_systems.Select(s => s.Terminate().WaitAsync(TimeSpan.FromSeconds(20))));
        _clusterDir.Dispose();
        _foreignDir.Dispose();
    }
}
