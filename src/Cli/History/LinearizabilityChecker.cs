namespace AkkaKube.Cli.History;

/// <summary>
/// Wing–Gong style linearizability check of a key/value history with compare-and-set by
/// resourceVersion, the contract of a store partition. Histories are split per key (P-compositionality:
/// a history is linearizable iff each key's sub-history is), and each key is searched depth-first over
/// "which pending call takes effect next", with memoisation of (calls done, model state) so the search
/// stays small. Calls whose outcome is unknown may take effect at any point after their invocation, or never.
/// </summary>
public static class LinearizabilityChecker
{
    public sealed record Result(bool Linearizable, string? Key, string? Explanation, int KeysChecked);

    /// <summary>The state of one key: absent, or present with the last written token and revision (null = unknown).</summary>
    private readonly record struct State(bool Exists, string? Value, string? ResourceVersion);

    public static Result Check(IEnumerable<Operation> history, int maxStatesPerKey = 2_000_000)
    {
        var keys = 0;
        foreach (var group in history.GroupBy(o => o.Key))
        {
            keys++;
            var ops = group.OrderBy(o => o.Invoke).ToArray();
            if (ops.Length > 63)
            {
                // The bit-set memo handles up to 63 calls per key at once; check consecutive windows
                // that are closed under overlap instead (calls that never overlap split the history).
                foreach (var window in SplitAtQuiescence(ops))
                {
                    if (window.Length > 63)
                        return new Result(false, group.Key, $"{window.Length} overlapping calls on one key exceed the checker's limit of 63", keys);
                }
            }
            var verdict = CheckKey(ops, maxStatesPerKey);
            if (verdict is not null)
                return new Result(false, group.Key, verdict, keys);
        }
        return new Result(true, null, null, keys);
    }

    private static IEnumerable<Operation[]> SplitAtQuiescence(Operation[] ops)
    {
        var start = 0;
        var maxReturn = long.MinValue;
        for (var i = 0; i < ops.Length; i++)
        {
            if (i > start && ops[i].Invoke > maxReturn)
            {
                yield return ops[start..i];
                start = i;
            }
            maxReturn = Math.Max(maxReturn, ops[i].Indeterminate ? long.MaxValue : ops[i].Return);
        }
        if (start < ops.Length) yield return ops[start..];
    }

    private static string? CheckKey(Operation[] all, int maxStates)
    {
        // Between quiescent points the state must be carried over: search window by window,
        // keeping every state a window can end in.
        var states = new HashSet<State> { new(false, null, null) };
        foreach (var window in SplitAtQuiescence(all))
        {
            var next = new HashSet<State>();
            foreach (var s in states)
                Search(window, s, next, maxStates);
            if (next.Count == 0)
                return Describe(window);
            states = next;
        }
        return null;
    }

    private static void Search(Operation[] ops, State initial, HashSet<State> finals, int maxStates)
    {
        var n = ops.Length;
        var full = n == 64 ? ulong.MaxValue : (1UL << n) - 1;
        var determinate = 0UL;
        for (var i = 0; i < n; i++)
            if (!ops[i].Indeterminate) determinate |= 1UL << i;
        var seen = new HashSet<(ulong, State)>();
        var stack = new Stack<(ulong Done, State State)>();
        stack.Push((0, initial));
        while (stack.Count > 0)
        {
            var (done, state) = stack.Pop();
            if (!seen.Add((done, state)) || seen.Count > maxStates) continue;
            if ((done & determinate) == determinate)
                finals.Add(state);
            if (done == full) continue;
            // The earliest return among calls not yet linearized bounds which calls may go next.
            var minReturn = long.MaxValue;
            for (var i = 0; i < n; i++)
                if ((done & (1UL << i)) == 0 && !ops[i].Indeterminate)
                    minReturn = Math.Min(minReturn, ops[i].Return);
            for (var i = 0; i < n; i++)
            {
                if ((done & (1UL << i)) != 0 || ops[i].Invoke > minReturn) continue;
                foreach (var after in Step(state, ops[i]))
                    stack.Push((done | (1UL << i), after));
            }
        }
    }

    /// <summary>The states a call can leave behind if it takes effect now; none if its outcome is impossible here.</summary>
    private static IEnumerable<State> Step(State s, Operation op)
    {
        switch (op.Kind)
        {
            case OpKind.Create:
                if (op.Outcome is OpOutcome.Ok or OpOutcome.Unknown && !s.Exists)
                    yield return new State(true, op.Value, op.Outcome == OpOutcome.Ok ? op.ResourceVersion : null);
                if (op.Outcome == OpOutcome.AlreadyExists && s.Exists) yield return s;
                if (op.Outcome == OpOutcome.Unknown) yield return s; // never happened
                break;
            case OpKind.Get:
                if (op.Outcome == OpOutcome.NotFound && !s.Exists) yield return s;
                if (op.Outcome == OpOutcome.Ok && s.Exists && s.Value == op.Value && RvMatches(s.ResourceVersion, op.ResourceVersion))
                    yield return s with { ResourceVersion = op.ResourceVersion };
                if (op.Outcome == OpOutcome.Unknown) yield return s;
                break;
            case OpKind.Update:
                var preconditionHolds = s.Exists && RvMatches(s.ResourceVersion, op.ExpectedResourceVersion);
                if (op.Outcome is OpOutcome.Ok or OpOutcome.Unknown && preconditionHolds)
                    yield return new State(true, op.Value, op.Outcome == OpOutcome.Ok ? op.ResourceVersion : null);
                if (op.Outcome == OpOutcome.Conflict && s.Exists && !preconditionHolds) yield return s;
                if (op.Outcome == OpOutcome.NotFound && !s.Exists) yield return s;
                if (op.Outcome == OpOutcome.Unknown) yield return s;
                break;
            case OpKind.Delete:
                if (op.Outcome is OpOutcome.Ok or OpOutcome.Unknown && s.Exists) yield return new State(false, null, null);
                if (op.Outcome == OpOutcome.NotFound && !s.Exists) yield return s;
                if (op.Outcome == OpOutcome.Unknown) yield return s;
                break;
        }
    }

    // An unknown revision (written by a call whose reply was lost) matches whatever is observed later.
    private static bool RvMatches(string? state, string? observed) => state is null || observed is null || state == observed;

    private static string Describe(Operation[] window)
    {
        var lines = window.Take(12).Select(o =>
            $"client {o.Client} {o.Kind} [{o.Invoke}..{(o.Indeterminate ? "?" : o.Return.ToString())}] → {o.Outcome}" +
            (o.Value is null ? "" : $" value={o.Value}") +
            (o.ExpectedResourceVersion is null ? "" : $" if-rv={o.ExpectedResourceVersion}") +
            (o.ResourceVersion is null ? "" : $" rv={o.ResourceVersion}"));
        return "no order of these calls explains their results:\n  " + string.Join("\n  ", lines);
    }
}
