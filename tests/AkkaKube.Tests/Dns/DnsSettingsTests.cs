using Akka.Configuration;
using AkkaKube.Actors.Cluster;
using AkkaKube.Actors.Dns;
using AkkaKube.Tests.Infrastructure;

namespace AkkaKube.Tests.Dns;

public sealed class DnsSettingsTests
{
    [Fact]
    public void The_shipped_defaults_load_and_equal_the_code_defaults()
    {
        using var data = new TempDir();
        var config = NodeConfig.Build(new NodeOptions { NodeName = "n", DataDirectory = data.Path }, AkkaKube.Host.NodeHost.HoconDirectory);
        var settings = DnsSettings.Create(config);
        Assert.Equal(DnsSettings.Default with { Upstreams = settings.Upstreams }, settings);
        Assert.Empty(settings.Upstreams);
    }

    [Fact]
    public void The_cluster_domain_flag_overrides_the_hocon_default()
    {
        using var data = new TempDir();
        var config = NodeConfig.Build(new NodeOptions { NodeName = "n", DataDirectory = data.Path, ClusterDomain = "corp.internal" },
            AkkaKube.Host.NodeHost.HoconDirectory);
        Assert.Equal("corp.internal", DnsSettings.Create(config).ClusterDomain);
    }

    [Theory]
    [InlineData("akkakube.dns.cluster-domain = \"Not A Domain\"", "akkakube.dns.cluster-domain")]
    [InlineData("akkakube.dns.port = 0", "akkakube.dns.port")]
    [InlineData("akkakube.dns.upstreams = [\"nowhere\"]", "akkakube.dns.upstreams")]
    [InlineData("akkakube.dns.max-concurrent-queries = 0", "akkakube.dns.max-concurrent-queries")]
    public void Bad_settings_are_refused_naming_the_option(string hocon, string option)
    {
        var e = Assert.Throws<ArgumentException>(() => DnsSettings.Create(ConfigurationFactory.ParseString(hocon)));
        Assert.Contains(option, e.Message);
    }

    [Fact]
    public void Upstreams_take_an_optional_port()
    {
        Assert.Equal("10.0.0.2:53", DnsSettings.ParseUpstream("10.0.0.2").ToString());
        Assert.Equal("10.0.0.2:5353", DnsSettings.ParseUpstream("10.0.0.2:5353").ToString());
    }
}
