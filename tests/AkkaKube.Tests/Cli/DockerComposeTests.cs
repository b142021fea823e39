using System.Net;
using AkkaKube.Actors.Cluster;
using AkkaKube.Host;
using YamlDotNet.RepresentationModel;

namespace AkkaKube.Tests.Cli;

/// <summary>
/// docker-compose.yml is the multi-machine model in containers (docs/hosts.md, "Across real machines"). No Docker engine
/// runs here, so its node definitions are checked where they can drift: each service's command line and environment go
/// through the node's own flag checks, the workers have distinct pod ranges routed with --pod-routes, the seeds are the
/// control planes, and the image can change routes (NET_ADMIN, iproute2). The routing itself is proven by
/// HostsNetnsTests, whose nodes run with the same flags in their own network namespaces.
/// </summary>
public sealed class DockerComposeTests
{
    private static readonly string Root = PublishTests.RepoRoot();

    private static YamlMappingNode Compose()
    {
        var stream = new YamlStream();
        using var reader = new StringReader(File.ReadAllText(Path.Combine(Root, "docker-compose.yml")));
        stream.Load(reader);
        return (YamlMappingNode)stream.Documents[0].RootNode;
    }

    private static YamlMappingNode Map(YamlNode node, string key) => (YamlMappingNode)((YamlMappingNode)node).Children[new YamlScalarNode(key)];

    private static string? Scalar(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var v) && v is YamlScalarNode s ? s.Value : null;

    /// <summary>Every node service's command line with its environment spelled as the flags the variables stand for.</summary>
    private static Dictionary<string, NodeOptions> Nodes()
    {
        var compose = Compose();
        var shared = Map(Map(compose, "x-node"), "environment");
        var nodes = new Dictionary<string, NodeOptions>();
        foreach (var (key, value) in Map(compose, "services").Children)
        {
            var service = (YamlMappingNode)value;
            if (!service.Children.ContainsKey(new YamlScalarNode("command"))) continue; // postgres
            var args = ((YamlSequenceNode)service.Children[new YamlScalarNode("command")]).Children.Cast<YamlScalarNode>().Select(s => s.Value!).ToList();
            var env = Map(service, "environment");
            string Env(string name) => Scalar(env, name) ?? Scalar(shared, name) ?? throw new Xunit.Sdk.XunitException($"{key}: no {name}");
            args.AddRange(["--node-ip", Env("AKKAKUBE_NODE_IP"), "--port", "4053", "--cmd-address", Env("AKKAKUBE_CMD_ADDRESS"), "--cmd-token", Env("AKKAKUBE_CMD_TOKEN"),
                "--api-address", "0.0.0.0", "--postgres", Env("AKKAKUBE_POSTGRES")]);
            foreach (var seed in Env("AKKAKUBE_SEEDS").Split(',')) args.AddRange(["--seed", seed]);
            var parse = NodeCommandLine.CreateRootCommand().Parse(args);
            Assert.Empty(parse.Errors);
            nodes[((YamlScalarNode)key).Value!] = NodeCommandLine.ToOptions(parse);
        }
        return nodes;
    }

    [Fact]
    public void Every_node_is_its_own_host_and_routes_the_pods_of_the_others()
    {
        var nodes = Nodes();
        Assert.Equal(6, nodes.Count);
        Assert.Equal(nodes.Count, nodes.Values.Select(n => n.NodeIp).Distinct().Count());
        Assert.All(nodes.Values, n => Assert.False(IPAddress.IsLoopback(n.NodeIp), $"{n.NodeName} advertises loopback"));
        Assert.All(nodes.Values, n => Assert.True(n.PodRoutes, $"{n.NodeName} runs without --pod-routes"));

        // Workers: one /24 each, none shared, none on loopback or inside the containers' own network.
        var workers = nodes.Values.Where(n => n.Worker).ToList();
        Assert.Equal(3, workers.Count);
        Assert.All(workers, w => Assert.Matches(@"^10\.200\.\d+\.0/24$", w.PodCidr));
        Assert.Equal(workers.Count, workers.Select(w => w.PodCidr).Distinct().Count());

        // The seeds are the control planes, at the address and port each advertises.
        var controlPlanes = nodes.Values.Where(n => n.ControlPlane).Select(n => $"akka.tcp://akkakube@{n.NodeIp}:{n.RemotingPort}").Order().ToList();
        Assert.Equal(3, controlPlanes.Count);
        Assert.All(nodes.Values, n => Assert.Equal(controlPlanes, n.SeedNodes.Order()));
    }

    [Fact]
    public void The_image_may_change_its_routes()
    {
        var node = Map(Compose(), "x-node");
        Assert.Contains("NET_ADMIN", ((YamlSequenceNode)node.Children[new YamlScalarNode("cap_add")]).Children.Cast<YamlScalarNode>().Select(s => s.Value));
        var runtime = File.ReadAllText(Path.Combine(Root, "Dockerfile")).Split("AS runtime")[1];
        Assert.Contains("install -y --no-install-recommends iproute2", runtime);
    }
}
