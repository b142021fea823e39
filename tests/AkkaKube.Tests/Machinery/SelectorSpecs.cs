using System.Text.Json.Nodes;
using AkkaKube.Actors.Store;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Tests.Machinery;

public sealed class SelectorSpecs
{
    private static readonly Dictionary<string, string> Web = new() { ["app"] = "web", ["tier"] = "front", ["example.com/team"] = "a" };

    public static TheoryData<string, string, bool> LabelCases => new()
    {
        { "an empty selector selects everything", "", true },
        { "equality matches the label's value", "app=web", true },
        { "double equals is equality", "app==web", true },
        { "equality with another value does not match", "app=db", false },
        { "inequality matches a different value", "app!=db", true },
        { "inequality matches an object without the label", "zone!=x", true },
        { "inequality does not match the same value", "app!=web", false },
        { "in matches one of the values", "app in (db, web)", true },
        { "in does not match when no value fits", "app in (db,api)", false },
        { "in needs the label", "zone in (a)", false },
        { "notin matches other values", "app notin (db)", true },
        { "notin matches an object without the label", "zone notin (a)", true },
        { "notin does not match a listed value", "app notin (db,web)", false },
        { "a bare key requires the label", "tier", true },
        { "a bare key of a missing label does not match", "zone", false },
        { "a negated key requires the label to be absent", "!zone", true },
        { "a negated key of a present label does not match", "!app", false },
        { "commas AND requirements", "app=web,tier=front", true },
        { "commas AND requirements, one failing", "app=web,tier=back", false },
        { "spaces around terms are ignored", " app = web , tier ", true },
        { "prefixed keys are supported", "example.com/team=a", true },
        { "an empty value matches only an empty label", "app=", false },
    };

    [Theory]
    [MemberData(nameof(LabelCases))]
    public void Label_selector(string name, string selector, bool matches)
    {
        Assert.True(LabelSelector.Parse(selector).Matches(Web) == matches, name);
    }

    public static TheoryData<string, string, string> MalformedLabelCases => new()
    {
        { "a missing value set after in", "app in", "expected '('" },
        { "an unclosed value set", "app in (a,b", "expected ',' or ')'" },
        { "a trailing comma", "app=web,", "expected a label key" },
        { "an unknown operator", "app ~ web", "expected an operator" },
        { "a key that starts with a dash", "-app=web", "invalid label key" },
        { "a value that ends with a dash", "app=web-", "invalid label value" },
        { "two keys without a comma", "app tier", "expected an operator" },
        { "a key with two slashes", "a/b/c=d", "at most one '/'" },
    };

    [Theory]
    [MemberData(nameof(MalformedLabelCases))]
    public void Malformed_label_selector_is_refused_naming_the_problem(string name, string selector, string problem)
    {
        var e = Assert.Throws<SelectorException>(() => LabelSelector.Parse(selector));
        Assert.True(e.Message.Contains(problem, StringComparison.Ordinal), $"{name}: '{e.Message}' lacks '{problem}'");
    }

    private static readonly JsonNode Pod = JsonNode.Parse("""
        {"metadata":{"name":"p","namespace":"ns"},"spec":{"nodeName":"n1","replicas":3,"hostNetwork":true},
         "status":{"phase":"Running"},"involvedObject":{"kind":"Pod","name":"p","uid":"u-1"}}
        """)!;

    public static TheoryData<string, string, bool> FieldCases => new()
    {
        { "an empty selector selects everything", "", true },
        { "metadata.name equality", "metadata.name=p", true },
        { "metadata.namespace with double equals", "metadata.namespace==ns", true },
        { "spec.nodeName inequality", "spec.nodeName!=n2", true },
        { "status.phase equality, wrong value", "status.phase=Pending", false },
        { "a missing field reads as empty", "spec.schedulerName=", true },
        { "an unscheduled pod has an empty nodeName", "spec.nodeName=", false },
        { "involvedObject fields of events", "involvedObject.kind=Pod,involvedObject.uid=u-1", true },
        { "numbers compare as their JSON text", "spec.replicas=3", true },
        { "booleans compare as true/false", "spec.hostNetwork=true", true },
        { "terms are ANDed", "metadata.name=p,status.phase=Pending", false },
        { "an escaped comma is part of the value", @"metadata.name=p\,q", false },
    };

    [Theory]
    [MemberData(nameof(FieldCases))]
    public void Field_selector(string name, string selector, bool matches)
    {
        Assert.True(FieldSelector.Parse(selector).Matches(Pod) == matches, name);
    }

    public static TheoryData<string, string, string> MalformedFieldCases => new()
    {
        { "a term without operator", "metadata.name", "has no operator" },
        { "an empty path", "=x", "empty field path" },
        { "a path with an empty segment", "metadata..name=x", "invalid field path" },
        { "a bad escape", @"metadata.name=a\x", "invalid escape" },
    };

    [Theory]
    [MemberData(nameof(MalformedFieldCases))]
    public void Malformed_field_selector_is_refused_naming_the_problem(string name, string selector, string problem)
    {
        var e = Assert.Throws<SelectorException>(() => FieldSelector.Parse(selector));
        Assert.True(e.Message.Contains(problem, StringComparison.Ordinal), $"{name}: '{e.Message}' lacks '{problem}'");
    }

    /// <summary>The apiserver re-serializes a selector whose labels it renames (events' source): every escaped value must parse back unchanged.</summary>
    [Theory]
    [InlineData("source=kubelet")]
    [InlineData(@"source!=a\,b,type=Normal")]
    [InlineData(@"metadata.name=x\=y\!z\\w")]
    public void A_field_selector_with_renamed_paths_parses_back_to_the_same_values(string text)
    {
        var parsed = FieldSelector.Parse(text);
        var renamed = parsed.WithPaths(new Dictionary<string, string> { ["source"] = "source.component" });
        var again = FieldSelector.Parse(renamed.ToString());
        Assert.Equal(parsed.Requirements.Select(r => (r.Equal, r.Value)), again.Requirements.Select(r => (r.Equal, r.Value)));
        Assert.DoesNotContain(again.Requirements, r => r.Path == "source");
    }
}
