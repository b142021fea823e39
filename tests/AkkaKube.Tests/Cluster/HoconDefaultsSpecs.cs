using AkkaKube.Tests.Infrastructure;
using AkkaKube.Actors.Cluster;

namespace AkkaKube.Tests.ClusterSpecs;

/// <summary>The shipped HOCON files compose into one config with every component's block at the top level.</summary>
public class HoconDefaultsSpecs
{
    [Fact]
    public void Every_component_block_sits_directly_under_akkakube_for_an_all_in_one_node()
    {
        using var data = new TempDir();
        var node = new NodeOptions { NodeName = "n", DataDirectory = data.Path };
        var config = NodeConfig.Build(node, AkkaKube.Host.NodeHost.HoconDirectory);
        var blocks = config.GetConfig("akkakube").AsEnumerable().Select(kv => kv.Key.Split('.')[0]).ToHashSet();
        string[] expected = ["apiserver", "cloud", "cluster", "cmd", "controllers", "dns", "kubelet", "node-lifecycle", "observability", "pod-routes", "proxy", "remoting", "runtime", "scheduler", "services", "store"];
        Assert.Equal(expected.Order(), blocks.Order());
    }
}
