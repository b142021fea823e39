using AkkaKube.Actors.Proxy;

namespace AkkaKube.Tests.Proxy;

public sealed class ProxyModeTests
{
    [Theory]
    [InlineData("auto", "cri", null, "nftables", null)]
    [InlineData("auto", "process", null, "userspace", null)]
    [InlineData("auto", "simulated", null, "userspace", null)]
    [InlineData("userspace", "cri", null, "userspace", null)]
    [InlineData("nftables", "process", null, "nftables", null)]
    [InlineData("auto", "cri", "needs root (CAP_NET_ADMIN)", "userspace", "nftables mode unavailable: needs root (CAP_NET_ADMIN)")]
    [InlineData("nftables", "process", "needs the nft tool (apt-get install nftables)", "userspace", "nftables mode unavailable: needs the nft tool (apt-get install nftables)")]
    public void The_mode_follows_the_runtime_unless_set_and_falls_back_to_userspace_saying_why(string setting, string runtime, string? missing, string mode, string? why)
    {
        var decision = ProxyModes.Resolve(setting, runtime, () => missing);
        Assert.Equal(mode, decision.Name);
        Assert.Equal(why, decision.Unavailable);
    }

    [Fact]
    public void An_unknown_mode_is_refused_naming_the_setting()
    {
        var e = Assert.Throws<Akka.Configuration.ConfigurationException>(() => ProxyModes.Resolve("ipvs", "cri", () => null));
        Assert.Contains("akkakube.proxy.mode", e.Message);
    }
}
