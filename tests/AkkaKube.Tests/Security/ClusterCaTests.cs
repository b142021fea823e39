using System.Net;
using System.Security.Cryptography.X509Certificates;
using AkkaKube.Actors.Security;
using AkkaKube.Tests.Infrastructure;

namespace AkkaKube.Tests.Security;

/// <summary>The cluster CA and the x509 authenticator, without a node.</summary>
public sealed class ClusterCaTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void The_ca_lives_in_a_private_pki_directory_and_is_created_once()
    {
        using var first = ClusterCa.LoadOrCreate(_dir.Path);
        using var again = ClusterCa.LoadOrCreate(_dir.Path);
        Assert.Equal(first.Certificate.Thumbprint, again.Certificate.Thumbprint);
        Assert.Equal<UnixFileMode?>(PrivateFiles.DirectoryMode, PrivateFiles.ModeOf(ClusterCa.PkiDirectory(_dir.Path)));
        Assert.Equal<UnixFileMode?>(PrivateFiles.FileMode, PrivateFiles.ModeOf(ClusterCa.KeyFile(_dir.Path)));
        Assert.Equal<UnixFileMode?>(PrivateFiles.FileMode, PrivateFiles.ModeOf(ClusterCa.CertFile(_dir.Path)));
        Assert.True(first.Certificate.Extensions.OfType<X509BasicConstraintsExtension>().Single().CertificateAuthority);
    }

    [Fact]
    public void Nodes_starting_together_share_one_ca()
    {
        var thumbprints = Enumerable.Range(0, 6).AsParallel().Select(_ =>
        {
            using var ca = ClusterCa.LoadOrCreate(_dir.Path);
            return ca.Certificate.Thumbprint;
        }).Distinct().ToList();
        Assert.Single(thumbprints);
    }

    [Fact]
    public void A_client_certificate_names_the_user_by_cn_and_the_groups_by_o()
    {
        using var ca = ClusterCa.LoadOrCreate(_dir.Path);
        using var jane = ca.Issue("jane", ["dev", "ops"], CertificateUse.Client);
        var verifier = ClientCertificateVerifier.FromPemFile(ClusterCa.CertFile(_dir.Path));
        var user = verifier.Verify(jane);
        Assert.NotNull(user);
        Assert.Equal("jane", user!.Name);
        Assert.Equal(["dev", "ops", UserInfo.AuthenticatedGroup], user.Groups);
    }

    [Fact]
    public void Certificates_of_another_ca_or_for_servers_only_authenticate_nobody()
    {
        using var ca = ClusterCa.LoadOrCreate(_dir.Path);
        using var other = new TempDir();
        using var foreign = ClusterCa.LoadOrCreate(other.Path);
        using var mallory = foreign.Issue("akkakube-admin", [UserInfo.MastersGroup], CertificateUse.Client);
        using var server = ca.Issue("kube-apiserver", [], CertificateUse.Server, ["localhost"], [IPAddress.Loopback]);
        var verifier = ClientCertificateVerifier.FromPemFile(ClusterCa.CertFile(_dir.Path));
        Assert.Null(verifier.Verify(mallory));
        Assert.Null(verifier.Verify(server));
    }

    [Fact]
    public void Authentication_goes_certificate_then_token_then_anonymous_for_health_and_version_only()
    {
        using var ca = ClusterCa.LoadOrCreate(_dir.Path);
        using var admin = ca.Issue("akkakube-admin", [UserInfo.MastersGroup], CertificateUse.Client);
        using var other = new TempDir();
        using var foreign = ClusterCa.LoadOrCreate(other.Path);
        using var stranger = foreign.Issue("stranger", [], CertificateUse.Client);
        var tokenFile = Path.Combine(_dir.Path, "tokens.csv");
        File.WriteAllText(tokenFile, "t0ken,alice,1,\"dev\"\n");
        var authn = new ApiAuthenticator(ClientCertificateVerifier.FromPemFile(ClusterCa.CertFile(_dir.Path)), StaticTokenFile.Load(tokenFile), tls: true);

        Assert.Equal("akkakube-admin", authn.Authenticate("/api/v1/pods", admin, null)?.Name);
        Assert.Equal("alice", authn.Authenticate("/api/v1/pods", null, "Bearer t0ken")?.Name);
        Assert.Equal("alice", authn.Authenticate("/api/v1/pods", stranger, "Bearer t0ken")?.Name);
        Assert.Null(authn.Authenticate("/api/v1/pods", null, "Bearer guessed"));
        Assert.Null(authn.Authenticate("/healthz", null, "Bearer guessed")); // a bad credential is a 401 everywhere
        Assert.Null(authn.Authenticate("/api/v1/pods", stranger, null));
        Assert.Null(authn.Authenticate("/api/v1/pods", null, null));
        foreach (var open in new[] { "/healthz", "/livez", "/readyz", "/version", "/readyz/ping" })
            Assert.Equal(UserInfo.Anonymous, authn.Authenticate(open, null, null));
        Assert.Null(authn.Authenticate("/versionx", null, null));
    }
}
