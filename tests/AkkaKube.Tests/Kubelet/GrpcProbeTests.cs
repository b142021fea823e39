using System.Net;
using AkkaKube.Actors.Kubelet;
using AkkaKube.Tests.Infrastructure;
using Grpc.Health.V1;
using Grpc.HealthCheck;
using k8s.Models;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;

namespace AkkaKube.Tests.Kubelet;

/// <summary>
/// The kubelet's gRPC probe against a real gRPC server (Kestrel, plaintext HTTP/2, Grpc.HealthCheck's health service):
/// SERVING succeeds, the other answers fail with the kubelet's words, and a port nobody listens on fails to connect.
/// </summary>
public sealed class GrpcProbeTests : IAsyncLifetime
{
    private readonly int _port = FreePort.Next();
    private readonly HealthServiceImpl _health = new();
    private WebApplication? _server;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, _port, o => o.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(_health);
        _server = builder.Build();
        _server.MapGrpcService<HealthServiceImpl>();
        await _server.StartAsync();
        _health.SetStatus("", HealthCheckResponse.Types.ServingStatus.Serving);
        _health.SetStatus("db", HealthCheckResponse.Types.ServingStatus.NotServing);
    }

    public async Task DisposeAsync()
    {
        if (_server is not null) await _server.DisposeAsync();
    }

    private static Task<(bool Success, string Message)> Probe(int port, string? service) =>
        ProbeRunner.RunAsync(new V1Probe { Grpc = new V1GRPCAction { Port = port, Service = service } }, new V1Container { Name = "c" },
            "127.0.0.1", TimeSpan.FromSeconds(5), null!, null!);

    [Fact]
    public async Task Serving_succeeds_and_not_serving_fails_with_the_kubelets_message()
    {
        Assert.Equal((true, ""), await Probe(_port, null));
        var (ok, message) = await Probe(_port, "db");
        Assert.False(ok);
        Assert.Equal("service unhealthy (responded with \"NOT_SERVING\")", message);
        _health.SetStatus("db", HealthCheckResponse.Types.ServingStatus.Serving);
        Assert.True((await Probe(_port, "db")).Success);
    }

    [Fact]
    public async Task An_unknown_service_and_a_closed_port_fail()
    {
        var (ok, message) = await Probe(_port, "nope");
        Assert.False(ok);
        Assert.StartsWith("error: health rpc probe failed:", message);
        Assert.Contains("NotFound", message);

        var (reached, why) = await Probe(FreePort.Next(), null);
        Assert.False(reached);
        Assert.StartsWith("timeout: failed to connect service \"127.0.0.1:", why);
    }
}
