using AkkaKube.Actors.Scheduler;
using AkkaKube.Actors.Scheduler.Framework;

namespace AkkaKube.Tests.Scheduler;

public class SchedulingAlgorithmTests
{
    private static SchedulingAlgorithm Default() => SchedulingAlgorithm.CreateDefault(new SchedulerSettings(), seed: 1);

    [Fact]
    public void An_unschedulable_pod_gets_kube_schedulers_fit_error_message()
    {
        var nodes = new List<NodeInfo>();
        for (var i = 0; i < 3; i++) nodes.Add(Make.Node().Name($"small-{i}").Capacity(cpu: "1").Info());
        for (var i = 0; i < 3; i++) nodes.Add(Make.Node().Name($"dead-{i}").Capacity(cpu: "8").Taint("node.kubernetes.io/unreachable", null, "NoExecute").Info());
        var result = Default().Schedule(Make.Pod().Req(cpu: "2").Info(), nodes);
        Assert.False(result.Succeeded);
        Assert.StartsWith("0/6 nodes are available: 3 Insufficient cpu, 3 node(s) had untolerated taint {node.kubernetes.io/unreachable: }. preemption: 0/6 nodes are available:",
            result.Error!.Message);
    }

    [Fact]
    public void With_no_nodes_the_message_says_zero_of_zero()
    {
        var result = Default().Schedule(Make.Pod().Info(), []);
        Assert.StartsWith("0/0 nodes are available", result.Error!.Message);
    }

    [Fact]
    public void The_pod_lands_on_the_only_node_that_fits()
    {
        var nodes = new List<NodeInfo>
        {
            Make.Node().Name("a").Capacity(cpu: "1").Info(),
            Make.Node().Name("b").Capacity(cpu: "4").Info(),
            Make.Node().Name("c").Capacity(cpu: "1").Info(),
        };
        Assert.Equal("b", Default().Schedule(Make.Pod().Req(cpu: "2").Info(), nodes).NodeName);
    }

    [Theory]
    [InlineData("a cluster below the minimum is searched completely", 30, 0, 30)]
    [InlineData("100 nodes search half (50 % − 100/125 → 50 %)", 100, 0, 50)]
    [InlineData("500 nodes search 46 %", 500, 0, 230)]
    [InlineData("5,000 nodes search 10 %", 5000, 0, 500)]
    [InlineData("very large clusters keep the 5 % floor", 10000, 0, 500)]
    [InlineData("a configured percentage is used as is", 1000, 20, 200)]
    [InlineData("a tiny configured percentage still finds the minimum", 1000, 1, 50)]
    public void Percentage_of_nodes_to_score_follows_kubernetes(string name, int nodes, int percentage, int expected)
    {
        Assert.True(expected == SchedulingAlgorithm.NumFeasibleNodesToFind(nodes, percentage, 50), name);
    }

    [Fact]
    public void Only_a_window_of_nodes_is_evaluated_in_large_clusters_and_the_window_rotates()
    {
        var nodes = Enumerable.Range(0, 1000).Select(i => Make.Node().Name($"n{i:D4}").Info()).ToList();
        var algorithm = Default();
        var first = algorithm.Schedule(Make.Pod().Name("p1").Info(), nodes);
        Assert.Equal(SchedulingAlgorithm.NumFeasibleNodesToFind(1000, 0, 50), first.EvaluatedNodes);
        var second = algorithm.Schedule(Make.Pod().Name("p2").Info(), nodes);
        Assert.True(second.Succeeded);
    }

    [Fact]
    public void Settings_load_from_hocon_and_reject_bad_values_naming_the_option()
    {
        var config = Akka.Configuration.ConfigurationFactory.ParseString("""
            akkakube.scheduler {
              percentage-of-nodes-to-score = 30
              weights { TaintToleration = 7 }
              pod-max-backoff = 20s
            }
            """);
        var s = SchedulerSettings.Create(config);
        Assert.Equal(30, s.PercentageOfNodesToScore);
        Assert.Equal(7, s.Weights["TaintToleration"]);
        Assert.Equal(2, s.Weights["NodeAffinity"]);
        Assert.Equal(TimeSpan.FromSeconds(20), s.MaxBackoff);
        var bad = Assert.Throws<ArgumentException>(() => SchedulerSettings.Create(
            Akka.Configuration.ConfigurationFactory.ParseString("akkakube.scheduler.percentage-of-nodes-to-score = 150")));
        Assert.Contains("percentage-of-nodes-to-score", bad.Message);
        var unknown = Assert.Throws<ArgumentException>(() => SchedulerSettings.Create(
            Akka.Configuration.ConfigurationFactory.ParseString("akkakube.scheduler.plugins = [NodeName, Nope]")));
        Assert.Contains("Nope", unknown.Message);
    }

    [Fact]
    public void The_shipped_control_plane_hocon_loads_into_valid_settings()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "hocon", "control-plane.conf");
        var s = SchedulerSettings.Create(Akka.Configuration.ConfigurationFactory.ParseString(File.ReadAllText(path)));
        Assert.Equal("default-scheduler", s.SchedulerName);
        Assert.Equal(TimeSpan.FromSeconds(1), s.InitialBackoff);
        Assert.Equal(TimeSpan.FromSeconds(10), s.MaxBackoff);
    }
}
