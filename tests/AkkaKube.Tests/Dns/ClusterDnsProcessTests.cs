using System.Net;
using System.Text.Json.Nodes;
using AkkaKube.Actors.Dns;
using AkkaKube.Tests.Failover;
using DnsClient;
using DnsClient.Protocol;

// Part of the services cluster's test class (one shared cluster, its echo Deployment and Service applied with kubectl):
// cluster DNS answers for them through every worker's DNS port. The test lives here, beside the DNS component's tests.
namespace AkkaKube.Tests.Services;

public sealed partial class ServicesProcessTests
{
    private static LookupClient DnsAt(IPEndPoint server, bool tcp = false) => new(new LookupClientOptions(new NameServer(server))
    {
        UseCache = false, UseTcpOnly = tcp, Retries = 0, Timeout = TimeSpan.FromSeconds(2), ThrowDnsErrors = false, ContinueOnDnsError = false,
    });

    private static async Task<IDnsQueryResponse?> TryQueryAsync(LookupClient client, string name, QueryType type)
    {
        try { return await client.QueryAsync(name, type); }
        catch (DnsResponseException) { return null; }
    }

    [Fact]
    public async Task Cluster_dns_on_every_worker_answers_the_echo_service_its_headless_twin_srv_and_nxdomain_and_kube_dns_is_a_service()
    {
        using var http = Http();
        var pods = await ThreeReadyEchoPodsAsync(http);
        var clusterIp = (await ClusterIpAsync(http)).Address.ToString();
        var file = Path.Combine(cluster.DataDirectory, "echo-headless.yaml");
        await File.WriteAllTextAsync(file, """
            apiVersion: v1
            kind: Service
            metadata: {name: echo-headless}
            spec:
              clusterIP: None
              selector: {app: echo}
              ports: [{name: http, port: 8080, targetPort: http}]
            """);
        var apply = await cluster.KubectlAsync("apply", "-f", file);
        Assert.True(apply.ExitCode == 0, apply.Stderr);

        var workers = cluster.State.Nodes.Where(n => n.Roles.Contains("worker", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(workers);
        foreach (var worker in workers)
        {
            var server = new IPEndPoint(IPAddress.Parse(worker.Ip), DnsSettings.Default.Port);
            foreach (var tcp in new[] { false, true })
            {
                var dns = DnsAt(server, tcp);
                IDnsQueryResponse? a = null;
                await FailoverSupport.EventuallyAsync(async () =>
                    (a = await TryQueryAsync(dns, "echo.default.svc.cluster.local", QueryType.A))?.Answers.ARecords().Any() == true,
                    Patience, $"echo.default.svc.cluster.local from {server} ({(tcp ? "tcp" : "udp")})");
                Assert.Equal([clusterIp], a!.Answers.ARecords().Select(r => r.Address.ToString()));
            }

            var udp = DnsAt(server);
            IDnsQueryResponse? headless = null;
            await FailoverSupport.EventuallyAsync(async () =>
                (headless = await TryQueryAsync(udp, "echo-headless.default.svc.cluster.local", QueryType.A))?.Answers.ARecords()
                    .Select(r => r.Address.ToString()).ToHashSet().SetEquals(pods.Values) == true,
                Patience, $"echo-headless from {server}: the 3 pod IPs {string.Join(", ", pods.Values)}");

            var srv = await udp.QueryAsync("_http._tcp.echo.default.svc.cluster.local", QueryType.SRV);
            var record = Assert.Single(srv.Answers.SrvRecords());
            Assert.Equal((ServicesCluster.ServicePort, "echo.default.svc.cluster.local."), (record.Port, record.Target.Value));

            var missing = await udp.QueryAsync("no-such-service.default.svc.cluster.local", QueryType.A);
            Assert.Equal(DnsHeaderResponseCode.NotExistentDomain, missing.Header.ResponseCode);
            Assert.Single(missing.Authorities.SoaRecords());
        }

        // kube-system/kube-dns: listed by kubectl, its endpoints the workers' DNS servers.
        var svc = await cluster.KubectlAsync("get", "svc", "-n", "kube-system", "kube-dns", "--no-headers");
        Assert.True(svc.ExitCode == 0, svc.Stderr);
        Assert.Contains("53/UDP,53/TCP", svc.Stdout);
        var want = workers.Select(w => w.Ip).ToHashSet();
        await FailoverSupport.EventuallyAsync(async () =>
        {
            var slice = await FailoverSupport.SendAsync(http, HttpMethod.Get, "/apis/discovery.k8s.io/v1/namespaces/kube-system/endpointslices/kube-dns-nodes");
            return (slice?["endpoints"] as JsonArray ?? []).Select(e => (string)e!["addresses"]![0]!).ToHashSet().SetEquals(want);
        }, Patience, $"kube-dns endpoints = the workers' IPs {string.Join(", ", want)}");
    }
}
