using System.Text.Json.Nodes;
using AkkaKube.Actors.Controllers.DaemonSet;
using AkkaKube.Actors.Controllers.History;

namespace AkkaKube.Tests.Controllers.DaemonSet;

public class DaemonSetLogicTests
{
    private static readonly DateTime Now = new(2026, 1, 1, 0, 10, 0, DateTimeKind.Utc);

    private static JsonObject Ds(string image = "v2", string podSpec = "", string strategy = """{"type":"RollingUpdate","rollingUpdate":{"maxUnavailable":1,"maxSurge":0}}""") =>
        JsonNode.Parse("""
        {"apiVersion":"apps/v1","kind":"DaemonSet",
         "metadata":{"name":"agent","namespace":"kube-system","uid":"ds-uid","generation":2},
         "spec":{"selector":{"matchLabels":{"app":"agent"}},"updateStrategy":STRATEGY,
                 "template":{"metadata":{"labels":{"app":"agent"}},"spec":{PODSPEC"containers":[{"name":"c","image":"IMAGE"}]}}}}
        """.Replace("STRATEGY", strategy).Replace("PODSPEC", podSpec).Replace("IMAGE", image))!.AsObject();

    private static JsonObject Node(string name, string labels = "", string taints = "") =>
        JsonNode.Parse("""{"metadata":{"name":"NAME","labels":{LABELS}},"spec":{"taints":[TAINTS]}}"""
            .Replace("NAME", name).Replace("LABELS", labels).Replace("TAINTS", taints))!.AsObject();

    private static string Hash(JsonObject ds) =>
        ControllerHistory.NewRevision(ds, "DaemonSet", 1, 0)["metadata"]!["labels"]![ControllerHistory.HashLabel]!.GetValue<string>();

    /// <summary>"n1:R" a Running+Ready pod at the update revision on n1; "o" suffix = old revision; P pending, T terminating, F failed.</summary>
    private static JsonObject Pod(string spec, int i, string oldHash, string newHash)
    {
        var (node, state) = (spec.Split(':')[0], spec.Split(':')[1]);
        var pod = new JsonObject
        {
            ["metadata"] = new JsonObject
            {
                ["name"] = $"agent-{i}", ["namespace"] = "kube-system", ["uid"] = $"uid-{i}",
                ["creationTimestamp"] = $"2026-01-01T00:0{i}:00Z",
                ["labels"] = new JsonObject { ["app"] = "agent", [ControllerHistory.HashLabel] = state.EndsWith('o') ? oldHash : newHash },
            },
            ["spec"] = new JsonObject { ["nodeName"] = node },
            ["status"] = new JsonObject
            {
                ["phase"] = state[0] switch { 'R' or 'T' => "Running", 'F' => "Failed", _ => "Pending" },
                ["conditions"] = new JsonArray(new JsonObject
                {
                    ["type"] = "Ready", ["status"] = state[0] is 'R' or 'T' ? "True" : "False", ["lastTransitionTime"] = "2026-01-01T00:00:00Z",
                }),
            },
        };
        if (state[0] == 'T') pod["metadata"]!["deletionTimestamp"] = "2026-01-01T00:09:00Z";
        return pod;
    }

    private static (SetPlan Plan, List<JsonObject> Pods) Run(JsonObject ds, IReadOnlyList<JsonObject> nodes, string pods)
    {
        var list = pods.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select((p, i) => Pod(p, i, Hash(Ds("v1")), Hash(ds))).ToList();
        var revisions = new[] { ControllerHistory.NewRevision(Ds("v1"), "DaemonSet", 1, 0), ControllerHistory.NewRevision(ds, "DaemonSet", 2, 0) };
        return (DaemonSetLogic.Plan(ds, nodes, list, revisions, Now), list);
    }

    private static string Summary(SetPlan plan) => string.Join(", ", plan.Steps.Select(s => s switch
    {
        SetStep.CreatePod c => "create on " + DaemonSetLogic.TargetNode(c.Pod),
        SetStep.DeletePod d => "delete " + d.Name,
        _ => null,
    }).Where(s => s is not null));

    private static readonly JsonObject[] ThreeNodes = [Node("n1"), Node("n2"), Node("n3")];

    [Theory]
    [InlineData("a pod for every node", "", "create on n1, create on n2, create on n3")]
    [InlineData("only the nodes without one", "n1:R", "create on n2, create on n3")]
    [InlineData("steady state", "n1:R n2:R n3:R", "")]
    [InlineData("a failed pod is deleted (and replaced next pass)", "n1:F n2:R n3:R", "delete agent-0")]
    [InlineData("a terminating pod holds its node until it is gone", "n1:T n2:R n3:R", "")]
    [InlineData("two pods on a node: the oldest stays", "n1:R n1:R n2:R n3:R", "delete agent-1")]
    [InlineData("a pod for a node that is gone is deleted", "n1:R n2:R n3:R n9:R", "delete agent-3")]
    public void Manage_keeps_one_pod_per_node(string name, string pods, string expected)
    {
        var (plan, _) = Run(Ds(), ThreeNodes, pods);
        Assert.True(expected == Summary(plan), $"{name}: expected '{expected}', planned '{Summary(plan)}'");
    }

    [Theory]
    [InlineData("nodeSelector matches", """ "nodeSelector":{"disk":"ssd"}, """, """ "disk":"ssd" """, "", true, true)]
    [InlineData("nodeSelector does not match", """ "nodeSelector":{"disk":"ssd"}, """, """ "disk":"hdd" """, "", false, false)]
    [InlineData("required node affinity does not match", """ "affinity":{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{"matchExpressions":[{"key":"zone","operator":"In","values":["a"]}]}]}}}, """, """ "zone":"b" """, "", false, false)]
    [InlineData("an untolerated NoSchedule taint: no new pod, the old one stays", "", "", """{"key":"dedicated","value":"db","effect":"NoSchedule"}""", false, true)]
    [InlineData("an untolerated NoExecute taint: no pod at all", "", "", """{"key":"dedicated","value":"db","effect":"NoExecute"}""", false, false)]
    [InlineData("a tolerated taint", """ "tolerations":[{"key":"dedicated","operator":"Equal","value":"db"}], """, "", """{"key":"dedicated","value":"db","effect":"NoSchedule"}""", true, true)]
    [InlineData("the default daemon tolerations: not-ready NoExecute", "", "", """{"key":"node.kubernetes.io/not-ready","effect":"NoExecute"}""", true, true)]
    [InlineData("the default daemon tolerations: unschedulable", "", "", """{"key":"node.kubernetes.io/unschedulable","effect":"NoSchedule"}""", true, true)]
    [InlineData("the default daemon tolerations: memory pressure", "", "", """{"key":"node.kubernetes.io/memory-pressure","effect":"NoSchedule"}""", true, true)]
    [InlineData("a PreferNoSchedule taint does not matter", "", "", """{"key":"x","effect":"PreferNoSchedule"}""", true, true)]
    public void A_node_fits_by_selector_affinity_and_taints(string name, string podSpec, string labels, string taints, bool shouldRun, bool shouldContinue)
    {
        var fit = DaemonSetLogic.Fitter(Ds(podSpec: podSpec))(Node("n1", labels, taints));
        Assert.True(new NodeFit(shouldRun, shouldContinue) == fit, $"{name}: {fit}");
    }

    [Fact]
    public void A_daemon_pod_is_pinned_by_node_affinity_on_metadata_name_and_carries_the_default_tolerations()
    {
        var ds = Ds(podSpec: """ "affinity":{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{"matchExpressions":[{"key":"zone","operator":"In","values":["a"]}]}]}}}, """);
        var pod = DaemonSetLogic.NewPod(ds, "h1", "n2");
        var terms = pod["spec"]!["affinity"]!["nodeAffinity"]!["requiredDuringSchedulingIgnoredDuringExecution"]!["nodeSelectorTerms"]!.AsArray();
        var term = Assert.Single(terms)!;
        Assert.Null(term["matchExpressions"]);
        Assert.Equal("""{"key":"metadata.name","operator":"In","values":["n2"]}""", term["matchFields"]![0]!.ToJsonString());
        Assert.Null(pod["spec"]!["nodeName"]);
        Assert.Equal("n2", DaemonSetLogic.TargetNode(pod));
        Assert.Equal("h1", pod["metadata"]!["labels"]![ControllerHistory.HashLabel]!.GetValue<string>());
        var tolerations = pod["spec"]!["tolerations"]!.AsArray().Select(t => $"{t!["key"]}:{t["effect"]}").ToList();
        Assert.Equal(["node.kubernetes.io/not-ready:NoExecute", "node.kubernetes.io/unreachable:NoExecute", "node.kubernetes.io/disk-pressure:NoSchedule",
            "node.kubernetes.io/memory-pressure:NoSchedule", "node.kubernetes.io/pid-pressure:NoSchedule", "node.kubernetes.io/unschedulable:NoSchedule"], tolerations);
    }

    [Theory]
    [InlineData("maxUnavailable 1: one old pod at a time", """{"maxUnavailable":1,"maxSurge":0}""", "n1:Ro n2:Ro n3:Ro", "delete agent-0")]
    [InlineData("maxUnavailable 2: two at once", """{"maxUnavailable":2,"maxSurge":0}""", "n1:Ro n2:Ro n3:Ro", "delete agent-0, delete agent-1")]
    [InlineData("maxUnavailable 1: waits while an updated pod is not available", """{"maxUnavailable":1,"maxSurge":0}""", "n1:P n2:Ro n3:Ro", "")]
    [InlineData("an unavailable old pod is replaced at once", """{"maxUnavailable":1,"maxSurge":0}""", "n1:P n2:Po n3:Ro", "delete agent-1")]
    [InlineData("maxUnavailable 34% of 3 rounds up to 2", """{"maxUnavailable":"34%","maxSurge":0}""", "n1:Ro n2:Ro n3:Ro", "delete agent-0, delete agent-1")]
    [InlineData("maxSurge 1: a new pod beside the old one first", """{"maxUnavailable":0,"maxSurge":1}""", "n1:Ro n2:Ro n3:Ro", "create on n1")]
    [InlineData("maxSurge 1: the old pod goes once the new one is available", """{"maxUnavailable":0,"maxSurge":1}""", "n1:Ro n1:R n2:Ro n3:Ro", "delete agent-0, create on n2")]
    [InlineData("maxSurge 1: waits while the surge pod is not available", """{"maxUnavailable":0,"maxSurge":1}""", "n1:Ro n1:P n2:Ro n3:Ro", "")]
    public void Rolling_update_stays_within_max_unavailable_or_max_surge(string name, string rollingUpdate, string pods, string expected)
    {
        var (plan, _) = Run(Ds(strategy: """{"type":"RollingUpdate","rollingUpdate":RU}""".Replace("RU", rollingUpdate)), ThreeNodes, pods);
        Assert.True(expected == Summary(plan), $"{name}: expected '{expected}', planned '{Summary(plan)}'");
    }

    [Fact]
    public void OnDelete_leaves_old_pods_alone()
    {
        var (plan, _) = Run(Ds(strategy: """{"type":"OnDelete"}"""), ThreeNodes, "n1:Ro n2:Ro n3:Ro");
        Assert.Equal("", Summary(plan));
    }

    [Fact]
    public void The_status_counts_desired_current_ready_updated_and_misscheduled()
    {
        var nodes = new[] { Node("n1", "\"role\":\"edge\""), Node("n2", "\"role\":\"edge\""), Node("n3") };
        var (plan, _) = Run(Ds(podSpec: """ "nodeSelector":{"role":"edge"}, """), nodes, "n1:R n2:Po n3:R");
        var status = plan.Steps.OfType<SetStep.UpdateStatus>().Single().Status;
        Assert.Equal(2, status["desiredNumberScheduled"]!.GetValue<int>());
        Assert.Equal(2, status["currentNumberScheduled"]!.GetValue<int>());
        Assert.Equal(1, status["numberMisscheduled"]!.GetValue<int>());
        Assert.Equal(1, status["numberReady"]!.GetValue<int>());
        Assert.Equal(1, status["numberAvailable"]!.GetValue<int>());
        Assert.Equal(1, status["updatedNumberScheduled"]!.GetValue<int>());
        Assert.Equal(1, status["numberUnavailable"]!.GetValue<int>());
        Assert.Equal(2, status["observedGeneration"]!.GetValue<long>());
        Assert.Contains("delete agent-2", Summary(plan));
    }
}
