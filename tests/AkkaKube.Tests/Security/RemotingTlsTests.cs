using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Akka.Actor;
using Akka.Cluster;
using Akka.Remote;
using AkkaKube.Actors;
using AkkaKube.Actors.Cluster;
using AkkaKube.Actors.Security;
using AkkaKube.Host;
using AkkaKube.Tests.Infrastructure;

namespace AkkaKube.Tests.Security;

/// <summary>
/// Akka remoting with --remoting-tls is mutual TLS with the cluster CA: a process with a certificate of the cluster joins, one with a
/// certificate of another CA, or with no TLS at all, cannot join or even finish a handshake with a member.
/// </summary>
public sealed class RemotingTlsTests : IAsyncLifetime
{
    private readonly TempDir _clusterDir = new();
    private readonly TempDir _foreignDir = new();
    private readonly List<ActorSystem> _systems = [];
    private ActorSystem _seed = null!;
    private Address _seedAddress = null!;

    private ActorSystem Start(string name, string dataDir, bool tls = true)
    {
        var options = new NodeOptions
        {
            NodeName = name, ControlPlane = true, Worker = false,
            NodeIp = System.Net.IPAddress.Loopback, RemotingPort = 0, DataDirectory = dataDir, RemotingTls = tls,
        };
        var system = ActorSystem.Create(AkkaKubeNames.SystemName, RemotingTls.SystemSetup(options, NodeConfig.Build(options, NodeHost.HoconDirectory)));
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
    public void The_node_listens_on_the_tls_scheme()
    {
        Assert.Equal(AkkaKubeNames.Remoting.TlsScheme, _seedAddress.Protocol);
    }

    [Fact]
    public async Task A_process_with_a_cluster_certificate_joins()
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
    public async Task A_process_with_a_certificate_of_another_ca_cannot_join()
    {
        var intruder = Start("intruder", _foreignDir.Path);
        var failed = RemotingIntruders.AssociationFailure(intruder);
        Akka.Cluster.Cluster.Get(intruder).Join(_seedAddress);
        await failed.WaitAsync(TimeSpan.FromSeconds(60));
        RemotingIntruders.AssertNotMember(_seed, intruder);
    }

    [Fact]
    public async Task A_process_without_tls_cannot_join()
    {
        var intruder = Start("plain", _foreignDir.Path, tls: false);
        var failed = RemotingIntruders.AssociationFailure(intruder);
        var plainSeed = new Address(AkkaKubeNames.Remoting.PlainScheme, _seedAddress.System, _seedAddress.Host, _seedAddress.Port);
        Akka.Cluster.Cluster.Get(intruder).Join(plainSeed);
        await failed.WaitAsync(TimeSpan.FromSeconds(60));
        RemotingIntruders.AssertNotMember(_seed, intruder);
    }

    [Fact]
    public async Task The_tls_handshake_refuses_a_foreign_client_certificate_and_accepts_a_cluster_one()
    {
        using (var foreignCa = ClusterCa.LoadOrCreate(_foreignDir.Path))
        using (var foreign = foreignCa.Issue("system:node:intruder", ["system:nodes"], CertificateUse.Client | CertificateUse.Server))
            Assert.False(await HandshakeSucceeds(foreign));
        using var ca = ClusterCa.LoadOrCreate(_clusterDir.Path);
        using var own = ca.Issue("system:node:probe", ["system:nodes"], CertificateUse.Client | CertificateUse.Server);
        Assert.True(await HandshakeSucceeds(own));
    }

    /// <summary>
    /// A TLS client on the remoting port presenting <paramref name="clientCertificate"/>: true when the server keeps the
    /// session (a read times out waiting for Akka's handshake), false when it aborts it (TLS 1.3 reports a refused client
    /// certificate after the client's side of the handshake, on the first read).
    /// </summary>
    private async Task<bool> HandshakeSucceeds(X509Certificate2 clientCertificate)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(_seedAddress.Host!, _seedAddress.Port!.Value);
        await using var tls = new SslStream(tcp.GetStream(), false, (_, _, _, _) => true);
        try
        {
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "akkakube",
                ClientCertificates = [clientCertificate],
                LocalCertificateSelectionCallback = (_, _, _, _, _) => clientCertificate,
            });
            using var quiet = new CancellationTokenSource(TimeSpan.FromSeconds(3));
            var read = await tls.ReadAsync(new byte[16], quiet.Token);
            return read > 0;
        }
        catch (OperationCanceledException)
        {
            return true; // the server kept the authenticated session open and waits for the Akka handshake
        }
        catch (Exception e) when (e is IOException or System.Security.Authentication.AuthenticationException)
        {
            return false;
        }
    }

    public async Task DisposeAsync()
    {
        await Task.WhenAll(_systems.Select(s => s.Terminate().WaitAsync(TimeSpan.FromSeconds(20))));
        _clusterDir.Dispose();
        _foreignDir.Dispose();
    }
}
