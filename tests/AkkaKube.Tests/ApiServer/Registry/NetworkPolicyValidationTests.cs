using System.Text.Json.Nodes;
using AkkaKube.Actors.ApiServer.Registry.Networking;

namespace AkkaKube.Tests.ApiServer.Registry;

/// <summary>NetworkPolicy validation as Kubernetes' (ports, peers, ipBlock): what the node agent enforces is refused here when it makes no sense.</summary>
public sealed class NetworkPolicyValidationTests
{
    private static List<string> Fields(string spec) =>
        new NetworkPolicyStrategy().Validate(JsonNode.Parse($$"""{"metadata":{"name":"p"},"spec":{{spec}}}""")!.AsObject()).Select(c => $"{c.Field}: {c.Message}").ToList();

    [Fact]
    public void A_policy_using_every_feature_is_valid() =>
        Assert.Empty(Fields("""
            {"podSelector":{},"policyTypes":["Ingress","Egress"],
             "ingress":[{"from":[{"podSelector":{"matchLabels":{"a":"b"}},"namespaceSelector":{}},{"ipBlock":{"cidr":"10.0.0.0/8","except":["10.1.0.0/16"]}}],
                         "ports":[{"port":"http"},{"protocol":"UDP","port":30000,"endPort":30100},{"protocol":"SCTP"}]}],
             "egress":[{"to":[{"ipBlock":{"cidr":"fd00::/8","except":["fd00:1::/32"]}}]},{}]}
            """));

    [Theory]
    [InlineData("""{"ingress":[{"ports":[{"protocol":"ICMP"}]}]}""", "spec.ingress[0].ports[0].protocol: Unsupported value: \"ICMP\"")]
    [InlineData("""{"ingress":[{"ports":[{"port":0}]}]}""", "spec.ingress[0].ports[0].port: Invalid value: 0: must be between 1 and 65535")]
    [InlineData("""{"ingress":[{"ports":[{"port":"Not_A_Name"}]}]}""", "spec.ingress[0].ports[0].port: Invalid value: \"Not_A_Name\"")]
    [InlineData("""{"egress":[{"ports":[{"port":"http","endPort":90}]}]}""", "spec.egress[0].ports[0].endPort: Forbidden: may not be specified when `port` is non-numeric")]
    [InlineData("""{"egress":[{"ports":[{"port":100,"endPort":90}]}]}""", "spec.egress[0].ports[0].endPort: Invalid value: 90: must be greater than or equal to `port`")]
    [InlineData("""{"egress":[{"ports":[{"endPort":90}]}]}""", "spec.egress[0].ports[0].endPort: Required value: may not be specified when `port` is not specified")]
    [InlineData("""{"ingress":[{"from":[{}]}]}""", "spec.ingress[0].from[0]: Required value: must specify a peer")]
    [InlineData("""{"ingress":[{"from":[{"podSelector":{},"ipBlock":{"cidr":"10.0.0.0/8"}}]}]}""", "spec.ingress[0].from[0]: Forbidden: may not specify both ipBlock and another peer")]
    [InlineData("""{"egress":[{"to":[{"ipBlock":{"cidr":"10.0.0.0/33"}}]}]}""", "spec.egress[0].to[0].ipBlock.cidr: Invalid value: \"10.0.0.0/33\"")]
    [InlineData("""{"egress":[{"to":[{"ipBlock":{}}]}]}""", "spec.egress[0].to[0].ipBlock.cidr: Required value")]
    [InlineData("""{"egress":[{"to":[{"ipBlock":{"cidr":"10.0.0.0/8","except":["10.0.0.0/8"]}}]}]}""", "spec.egress[0].to[0].ipBlock.except[0]: Invalid value: \"10.0.0.0/8\": must be a strict subset of `cidr`")]
    [InlineData("""{"egress":[{"to":[{"ipBlock":{"cidr":"10.0.0.0/8","except":["192.168.0.0/16"]}}]}]}""", "spec.egress[0].to[0].ipBlock.except[0]: Invalid value: \"192.168.0.0/16\"")]
    public void Bad_ports_and_peers_are_refused_naming_the_field(string spec, string expected) =>
        Assert.Contains(Fields(spec), f => f.StartsWith(expected, StringComparison.Ordinal));
}
