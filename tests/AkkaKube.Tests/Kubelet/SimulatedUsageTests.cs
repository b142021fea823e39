using System.Text.Json.Nodes;
using AkkaKube.Actors.Kubelet;

namespace AkkaKube.Tests.Kubelet;

public sealed class SimulatedUsageTests
{
    private static JsonObject Pod(string name, params JsonObject[] containers) => new()
    {
        ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = "ns", ["uid"] = "uid-" + name },
        ["spec"] = new JsonObject { ["containers"] = new JsonArray(containers) },
    };

    private static JsonObject Container(string name, JsonObject? requests = null, JsonObject? limits = null)
    {
        var resources = new JsonObject();
        if (requests is not null) resources["requests"] = requests;
        if (limits is not null) resources["limits"] = limits;
        return new JsonObject { ["name"] = name, ["image"] = "x", ["resources"] = resources };
    }

    [Fact]
    public void A_hollow_container_uses_its_requests_else_its_limits_else_one_millicore_and_one_mebibyte()
    {
        var m = SimulatedUsage.For("n", [
            Pod("a", Container("req", new JsonObject { ["cpu"] = "250m", ["memory"] = "64Mi" }, new JsonObject { ["cpu"] = "1", ["memory"] = "1Gi" })),
            Pod("b", Container("lim", limits: new JsonObject { ["cpu"] = "2", ["memory"] = "1G" }), Container("none")),
        ], DateTimeOffset.UnixEpoch, 5);
        var byName = m.Pods.SelectMany(p => p.Containers).ToDictionary(c => c.Name);
        Assert.Equal((250_000_000L, 64L * 1024 * 1024), (byName["req"].CpuNanoCores, byName["req"].MemoryBytes));
        Assert.Equal((2_000_000_000L, 1_000_000_000L), (byName["lim"].CpuNanoCores, byName["lim"].MemoryBytes));
        Assert.Equal((SimulatedUsage.DefaultCpuNanoCores, SimulatedUsage.DefaultMemoryBytes), (byName["none"].CpuNanoCores, byName["none"].MemoryBytes));
        Assert.Equal(byName.Values.Sum(c => c.CpuNanoCores), m.CpuNanoCores);
        Assert.Equal(byName.Values.Sum(c => c.MemoryBytes), m.MemoryBytes);
        Assert.Equal(["a", "b"], m.Pods.Select(p => p.Name));
        Assert.Equal("ns", m.Pods[0].Namespace);
    }

    [Fact]
    public void A_hollow_node_without_pods_reports_zero()
    {
        var m = SimulatedUsage.For("n", [], DateTimeOffset.UnixEpoch, 5);
        Assert.Equal((0L, 0L, 0), (m.CpuNanoCores, m.MemoryBytes, m.Pods.Count));
    }
}
