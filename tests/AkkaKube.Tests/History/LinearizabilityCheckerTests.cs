using AkkaKube.Cli.History;

namespace AkkaKube.Tests.History;

public class LinearizabilityCheckerTests
{
    private static Operation Create(int c, long i, long r, string v, string rv, OpOutcome o = OpOutcome.Ok) =>
        new(c, "k", OpKind.Create, i, r, o, v, ResourceVersion: rv);
    private static Operation Get(int c, long i, long r, string? v, string? rv, OpOutcome o = OpOutcome.Ok) =>
        new(c, "k", OpKind.Get, i, r, o, v, ResourceVersion: rv);
    private static Operation Update(int c, long i, long r, string v, string expected, string? rv, OpOutcome o = OpOutcome.Ok) =>
        new(c, "k", OpKind.Update, i, r, o, v, expected, rv);
    private static Operation Delete(int c, long i, long r, OpOutcome o = OpOutcome.Ok) =>
        new(c, "k", OpKind.Delete, i, r, o);

    [Fact]
    public void A_sequential_history_of_create_update_get_delete_is_linearizable()
    {
        var h = new[]
        {
            Create(1, 0, 1, "a", "1"),
            Update(1, 2, 3, "b", "1", "2"),
            Get(2, 4, 5, "b", "2"),
            Delete(1, 6, 7),
            Get(2, 8, 9, null, null, OpOutcome.NotFound),
        };
        Assert.True(LinearizabilityChecker.Check(h).Linearizable);
    }

    [Fact]
    public void A_read_served_from_a_stale_cache_after_an_acknowledged_update_is_caught()
    {
        var h = new[]
        {
            Create(1, 0, 1, "a", "1"),
            Update(1, 2, 3, "b", "1", "2"),
            Get(2, 4, 5, "a", "1"), // the update returned before this read began: reading "a" is stale
        };
        var result = LinearizabilityChecker.Check(h);
        Assert.False(result.Linearizable);
        Assert.Equal("k", result.Key);
    }

    [Fact]
    public void Overlapping_calls_may_take_effect_in_either_order()
    {
        var h = new[]
        {
            Create(1, 0, 1, "a", "1"),
            Update(1, 2, 10, "b", "1", "2"),
            Get(2, 3, 4, "a", "1"), // overlaps the update: may precede it
            Get(3, 5, 6, "b", "2"), // overlaps too: may follow it
        };
        Assert.True(LinearizabilityChecker.Check(h).Linearizable);
    }

    [Fact]
    public void Two_compare_and_set_updates_from_the_same_revision_cannot_both_succeed()
    {
        var h = new[]
        {
            Create(1, 0, 1, "a", "1"),
            Update(1, 2, 5, "b", "1", "2"),
            Update(2, 2, 5, "c", "1", "3"),
        };
        Assert.False(LinearizabilityChecker.Check(h).Linearizable);
    }

    [Fact]
    public void A_lost_acknowledged_write_is_caught()
    {
        var h = new[]
        {
            Create(1, 0, 1, "a", "1"),
            Get(2, 2, 3, null, null, OpOutcome.NotFound),
        };
        Assert.False(LinearizabilityChecker.Check(h).Linearizable);
    }

    [Fact]
    public void A_write_whose_reply_was_lost_may_or_may_not_have_happened()
    {
        var tookEffect = new[]
        {
            Create(1, 0, 1, "a", "1"),
            Update(1, 2, 0, "b", "1", null, OpOutcome.Unknown),
            Get(2, 10, 11, "b", "7"),
        };
        var didNot = new[]
        {
            Create(1, 0, 1, "a", "1"),
            Update(1, 2, 0, "b", "1", null, OpOutcome.Unknown),
            Get(2, 10, 11, "a", "1"),
        };
        Assert.True(LinearizabilityChecker.Check(tookEffect).Linearizable);
        Assert.True(LinearizabilityChecker.Check(didNot).Linearizable);
    }

    [Fact]
    public void Keys_are_checked_independently_and_a_long_history_stays_fast()
    {
        var ops = new List<Operation>();
        long t = 0;
        for (var k = 0; k < 50; k++)
        {
            var key = $"k{k}";
            ops.Add(new Operation(1, key, OpKind.Create, t, t + 1, OpOutcome.Ok, "v0", ResourceVersion: "1"));
            for (var i = 1; i < 200; i++)
            {
                // two clients race a CAS from the same revision: exactly one wins
                var rv = i.ToString();
                ops.Add(new Operation(1, key, OpKind.Update, t + 2 * i, t + 2 * i + 1, OpOutcome.Ok, $"v{i}", rv, (i + 1).ToString()));
                ops.Add(new Operation(2, key, OpKind.Update, t + 2 * i, t + 2 * i + 1, OpOutcome.Conflict, $"x{i}", rv));
            }
            t += 1000;
        }
        var result = LinearizabilityChecker.Check(ops);
        Assert.True(result.Linearizable, result.Explanation);
        Assert.Equal(50, result.KeysChecked);
    }
}
