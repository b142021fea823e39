using System.Text.Json.Nodes;
using AkkaKube.Actors.ApiServer;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Tests.ApiServer;

public class ProtobufSpecs
{
    internal static readonly IReadOnlyDictionary<string, Dictionary<int, Protobuf.F>> Messages = AkkaKube.Actors.ApiServer.Registry.ApiRegistry.CreateBuiltIn().ProtobufMessages;

    internal const string Deployment = """
        {"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","labels":{"app":"web"}},
         "spec":{"replicas":0,"selector":{"matchLabels":{"app":"web"}},
                 "template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"nginx","image":"nginx:1.27","ports":[{"containerPort":80}]}]}},
                 "strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":"25%","maxUnavailable":1}}}}
        """;

    [Fact]
    public void A_deployment_round_trips_through_the_envelope()
    {
        var original = (JsonObject)JsonNode.Parse(Deployment)!;
        var bytes = Protobuf.Encode(original, Messages);
        Assert.Equal(new byte[] { 0x6b, 0x38, 0x73, 0x00 }, bytes[..4]);
        var warnings = new List<string>();
        var decoded = Protobuf.Decode(bytes, warnings, Messages);
        Assert.Empty(warnings);
        Assert.True(JsonNode.DeepEquals(original, decoded), decoded.ToJsonString());
    }

    [Fact]
    public void Secret_data_bytes_become_base64()
    {
        var secret = (JsonObject)JsonNode.Parse("""{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s"},"data":{"k":"aGVsbG8="},"type":"Opaque"}""")!;
        var decoded = Protobuf.Decode(Protobuf.Encode(secret, Messages), [], Messages);
        Assert.Equal("aGVsbG8=", decoded["data"]!["k"]!.GetValue<string>());
    }

    [Theory]
    [InlineData(new byte[] { })]
    [InlineData(new byte[] { 1, 2, 3, 4, 5 })]
    [InlineData(new byte[] { 0x6b, 0x38, 0x73, 0x00, 0x0a, 0xff })]
    [InlineData(new byte[] { 0x6b, 0x38, 0x73, 0x00, 0x0a, 0x02, 0x0a, 0x7f })]
    public void Malformed_bodies_are_bad_requests(byte[] body)
    {
        var e = Assert.Throws<ApiException>(() => Protobuf.Decode(body, [], Messages));
        Assert.Equal(400, e.Code);
    }
}
