using System.Text.Json.Nodes;
using AkkaKube.Actors.Controllers.Volume;

namespace AkkaKube.Tests.Controllers.Volume;

public class VolumeLogicTests
{
    private static JsonObject Claim(string cls = "standard", string modes = "\"ReadWriteOnce\"", string storage = "1Gi", string extra = "") => JsonNode.Parse($$$"""
        {"metadata":{"name":"data","namespace":"ns","uid":"claim-uid"},
         "spec":{"storageClassName":"{{{cls}}}","accessModes":[{{{modes}}}],"resources":{"requests":{"storage":"{{{storage}}}"}}{{{extra}}}}}
        """)!.AsObject();

    private static JsonObject Volume(string name, string cls = "standard", string modes = "\"ReadWriteOnce\"", string capacity = "1Gi", string claimRef = "", string phase = "Available", string labels = "{}") => JsonNode.Parse($$$"""
        {"metadata":{"name":"{{{name}}}","labels":{{{labels}}}},
         "spec":{"storageClassName":"{{{cls}}}","accessModes":[{{{modes}}}],"capacity":{"storage":"{{{capacity}}}"}{{{claimRef}}},"local":{"path":"/v/{{{name}}}"}},
         "status":{"phase":"{{{phase}}}"}}
        """)!.AsObject();

    private const string RefToData = ""","claimRef":{"namespace":"ns","name":"data","uid":"claim-uid"}""";
    private const string RefToOther = ""","claimRef":{"namespace":"ns","name":"other","uid":"other-uid"}""";

    public static TheoryData<string, JsonObject, JsonObject, bool> MatchCases => new()
    {
        { "same class, mode and size match", Claim(), Volume("pv"), true },
        { "a bigger volume fits a smaller request", Claim(storage: "500Mi"), Volume("pv", capacity: "1Gi"), true },
        { "a smaller volume does not fit", Claim(storage: "2Gi"), Volume("pv", capacity: "1Gi"), false },
        { "another class does not match", Claim(cls: "fast"), Volume("pv"), false },
        { "every requested access mode must be offered", Claim(modes: "\"ReadWriteMany\""), Volume("pv"), false },
        { "a volume offering more modes matches", Claim(), Volume("pv", modes: "\"ReadWriteOnce\",\"ReadOnlyMany\""), true },
        { "a volume reserved for another claim does not match", Claim(), Volume("pv", claimRef: RefToOther), false },
        { "a volume reserved for this claim matches", Claim(), Volume("pv", claimRef: RefToData), true },
        { "a released volume without claimRef is not reused", Claim(), Volume("pv", phase: "Released"), false },
        { "the claim's selector must match the volume's labels", Claim(extra: ""","selector":{"matchLabels":{"disk":"ssd"}}"""), Volume("pv"), false },
        { "a matching selector matches", Claim(extra: ""","selector":{"matchLabels":{"disk":"ssd"}}"""), Volume("pv", labels: """{"disk":"ssd"}"""), true },
    };

    [Theory]
    [MemberData(nameof(MatchCases))]
    public void A_claim_binds_only_to_a_volume_that_fits_it(string name, JsonObject claim, JsonObject volume, bool matches) =>
        Assert.True(matches == (VolumeLogic.Mismatch(claim, volume) is null), $"{name}: {VolumeLogic.Mismatch(claim, volume)}");

    [Fact]
    public void The_smallest_fitting_volume_is_chosen_and_a_reserved_one_comes_first()
    {
        var volumes = new[] { Volume("big", capacity: "10Gi"), Volume("small", capacity: "2Gi"), Volume("tiny", capacity: "100Mi") };
        Assert.Equal("small", ControllerBaseName(VolumeLogic.FindMatch(Claim(storage: "1Gi"), volumes)));
        Assert.Equal("reserved", ControllerBaseName(VolumeLogic.FindMatch(Claim(storage: "1Gi"), [.. volumes, Volume("reserved", capacity: "50Gi", claimRef: RefToData)])));
        Assert.Null(VolumeLogic.FindMatch(Claim(storage: "20Gi"), volumes));
    }

    private static string? ControllerBaseName(JsonObject? o) => o is null ? null : Actors.Controllers.ControllerBase.NameOf(o);

    public static TheoryData<string, JsonObject, JsonObject?, string> PhaseCases => new()
    {
        { "an unreserved volume is Available", Volume("pv"), null, "Available" },
        { "reserved for a claim that names it: Bound", Volume("pv", claimRef: RefToData), JsonNode.Parse("""{"metadata":{"name":"data","namespace":"ns","uid":"claim-uid"},"spec":{"volumeName":"pv"}}""")!.AsObject(), "Bound" },
        { "reserved for a claim not bound yet: Available", Volume("pv", claimRef: RefToData), Claim(), "Available" },
        { "its claim is gone: Released", Volume("pv", claimRef: RefToData, phase: "Bound"), null, "Released" },
        { "its claim was re-created with another uid: Released", Volume("pv", claimRef: RefToData, phase: "Bound"),
            JsonNode.Parse("""{"metadata":{"name":"data","namespace":"ns","uid":"new-uid"},"spec":{}}""")!.AsObject(), "Released" },
    };

    [Theory]
    [MemberData(nameof(PhaseCases))]
    public void A_volume_phase_follows_its_claim(string name, JsonObject volume, JsonObject? claim, string phase) =>
        Assert.True(phase == VolumeLogic.VolumePhase(volume, claim), $"{name}: got {VolumeLogic.VolumePhase(volume, claim)}");

    [Fact]
    public void A_provisioned_volume_is_reserved_for_its_claim_and_pinned_to_the_node_and_zone()
    {
        var node = JsonNode.Parse("""{"metadata":{"name":"w1","labels":{"topology.kubernetes.io/zone":"zone-a"},"annotations":{"akkakube.io/volumes-dir":"/data/volumes/w1"}}}""")!.AsObject();
        var sc = VolumeLogic.DefaultStorageClass();
        var pv = VolumeLogic.Provision(Claim(storage: "16Mi"), sc, node);
        Assert.Equal("pvc-claim-uid", Actors.Controllers.ControllerBase.NameOf(pv));
        Assert.Equal("/data/volumes/w1/pvc-claim-uid", VolumeLogic.PathOf(pv));
        Assert.Equal("w1", VolumeLogic.NodeOf(pv));
        Assert.Equal("Delete", pv["spec"]!["persistentVolumeReclaimPolicy"]!.GetValue<string>());
        Assert.Equal("zone-a", pv["spec"]!["nodeAffinity"]!["required"]!["nodeSelectorTerms"]![0]!["matchExpressions"]![1]!["values"]![0]!.GetValue<string>());
        Assert.Null(VolumeLogic.Mismatch(Claim(storage: "16Mi"), pv));
        Assert.Contains(VolumeLogic.CleanupFinalizer, pv["metadata"]!["finalizers"]!.AsArray().Select(f => f!.GetValue<string>()));
    }

    [Fact]
    public void The_default_class_is_the_newest_one_marked_default()
    {
        JsonObject Sc(string name, bool isDefault, string created) => JsonNode.Parse($$$"""
            {"metadata":{"name":"{{{name}}}","creationTimestamp":"{{{created}}}","annotations":{"storageclass.kubernetes.io/is-default-class":"{{{(isDefault ? "true" : "false")}}}"} }}
            """)!.AsObject();
        Assert.Equal("b", VolumeLogic.DefaultClassOf([Sc("a", true, "2026-01-01T00:00:00Z"), Sc("b", true, "2026-01-02T00:00:00Z"), Sc("c", false, "2026-01-03T00:00:00Z")]));
        Assert.Null(VolumeLogic.DefaultClassOf([Sc("c", false, "2026-01-03T00:00:00Z")]));
    }

    [Theory]
    [InlineData("data", "AKKAKUBE_VOLUME_DATA")]
    [InlineData("my-cache.v2", "AKKAKUBE_VOLUME_MY_CACHE_V2")]
    public void A_volume_mount_is_exposed_as_an_environment_variable(string volume, string env) =>
        Assert.Equal(env, Actors.Kubelet.VolumeManager.EnvName(volume));
}
