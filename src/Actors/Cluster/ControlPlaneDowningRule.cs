namespace AkkaKube.Actors.Cluster;

/// <summary>A member as the downing rule sees it: its address (in Akka's address order), whether it is a control plane,
/// and whether it counts towards the control-plane majority (Up or Leaving, as Akka's keep-majority counts).</summary>
public sealed record DowningMember(string Address, bool ControlPlane, bool Counted = true);

/// <summary>What one node decided: the control planes that keep the cluster, the members this node downs now, why.</summary>
public sealed record DowningDecision(IReadOnlyList<string> Keep, IReadOnlyList<string> ToDown, string Reason);

/// <summary>
/// The downing rule of <see cref="ControlPlaneDowning"/> (docs/failover.md, "Partitions"), a pure function over
/// who observes whom as unreachable:
/// <list type="number">
/// <item>Only links between control planes decide which control planes survive: the largest group of control planes that
/// all reach each other (a clique of the reachability graph) and hold a strict majority of them — or exactly half
/// including the lowest address — is kept. Workers' observations never count here, so a worker that reaches both sides of
/// a partial partition, or a lossy worker, cannot make the control plane look "indirectly connected" (Akka's SBR downs
/// every indirectly connected member, the whole control plane in that case).</item>
/// <item>A control plane outside the kept group downs itself, and only itself (not the workers it still reaches).</item>
/// <item>The lowest-addressed control plane of the kept group (one decider, so decisions do not race) downs the other
/// control planes, every worker that a kept control plane finds unreachable or that finds one unreachable (a worker cut
/// off from the control plane, or a lossy one), and for a link broken between two workers the one with more broken
/// links (a tie: the subject of the observation), so no unreachability is left to block Akka's convergence.</item>
/// <item>Workers never decide: like kubelets, they keep running when they lose the control plane.</item>
/// </list>
/// </summary>
public static class ControlPlaneDowningRule
{
    /// <param name="self">This node's address.</param>
    /// <param name="members">The members that may be downed (not Down, not Exiting), in Akka's address order.</param>
    /// <param name="unreachableBy">Observer → the members it finds unreachable; only the observations this node trusts
    /// (its own, and fresh ones from members it reaches).</param>
    public static DowningDecision Decide(string self, IReadOnlyList<DowningMember> members, IReadOnlyDictionary<string, IReadOnlySet<string>> unreachableBy)
    {
        bool Sees(string observer, string subject) => unreachableBy.TryGetValue(observer, out var u) && u.Contains(subject);
        bool Linked(string a, string b) => !Sees(a, b) && !Sees(b, a);

        var cps = members.Where(m => m.ControlPlane && m.Counted).Select(m => m.Address).ToList();
        var keep = LargestMajorityClique(cps, Linked);
        var me = members.FirstOrDefault(m => m.Address == self);
        if (me is not { ControlPlane: true })
            return new DowningDecision(keep, [], "workers do not decide");
        if (!keep.Contains(self))
            return new DowningDecision(keep, [self], keep.Count == 0
                ? $"no group of control planes that reach each other holds a majority of {cps.Count}: downing myself"
                : $"outside the control-plane majority [{string.Join(", ", keep)}]: downing myself");
        if (keep[0] != self)
            return new DowningDecision(keep, [], $"in the control-plane majority; {keep[0]} decides");

        var down = new List<string>();
        var why = new List<string>();
        foreach (var m in members.Where(m => m.ControlPlane && !keep.Contains(m.Address) && (m.Counted || keep.Any(k => !Linked(k, m.Address)))))
        {
            down.Add(m.Address);
            why.Add($"{m.Address}: control plane outside the majority");
        }
        var workers = members.Where(m => !m.ControlPlane).Select(m => m.Address).ToList();
        foreach (var w in workers)
            if (keep.FirstOrDefault(k => !Linked(k, w)) is { } k)
            {
                down.Add(w);
                why.Add($"{w}: worker cut off from control plane {k}");
            }
        // Links broken between two workers that both reach the control plane: down the one with more broken links.
        var broken = workers.SelectMany(o => workers.Where(s => s != o && Sees(o, s)).Select(s => (Observer: o, Subject: s)))
            .Where(r => !down.Contains(r.Observer) && !down.Contains(r.Subject)).ToList();
        int Degree(string w) => broken.Count(r => r.Observer == w || r.Subject == w);
        foreach (var (o, s) in broken)
        {
            if (down.Contains(o) || down.Contains(s)) continue;
            var loser = Degree(o) > Degree(s) ? o : s;
            down.Add(loser);
            why.Add($"{loser}: worker link {o} → {s} broken");
        }
        return new DowningDecision(keep, down, down.Count == 0 ? "nothing to down" : string.Join("; ", why));
    }

    /// <summary>The largest set of mutually linked control planes with a majority (exactly half only with the lowest
    /// address); among equals the one whose members come first in address order. Empty when none has a majority.</summary>
    public static IReadOnlyList<string> LargestMajorityClique(IReadOnlyList<string> cps, Func<string, string, bool> linked)
    {
        var n = cps.Count;
        if (n == 0) return [];
        // A handful of control planes (3 or 5): every subset is cheap; beyond 16 keep the greedy prefix instead.
        if (n > 16) return Greedy(cps, linked);
        IReadOnlyList<string> best = [];
        var bestMask = 0;
        for (var mask = 1; mask < 1 << n; mask++)
        {
            var size = System.Numerics.BitOperations.PopCount((uint)mask);
            if (size * 2 < n || (size * 2 == n && (mask & 1) == 0) || size < best.Count) continue;
            if (size == best.Count && !FirstInOrder(mask, bestMask)) continue;
            var set = Enumerable.Range(0, n).Where(i => (mask & (1 << i)) != 0).Select(i => cps[i]).ToList();
            if (set.All(a => set.All(b => a == b || linked(a, b))))
            {
                best = set;
                bestMask = mask;
            }
        }
        return best;
    }

    /// <summary>Whether the members of <paramref name="a"/> come before those of <paramref name="b"/> (lowest index first).</summary>
    private static bool FirstInOrder(int a, int b)
    {
        for (var i = 0; i < 32; i++)
        {
            var (ia, ib) = ((a >> i) & 1, (b >> i) & 1);
            if (ia != ib) return ia == 1;
        }
        return false;
    }

    private static IReadOnlyList<string> Greedy(IReadOnlyList<string> cps, Func<string, string, bool> linked)
    {
        var set = new List<string>();
        foreach (var c in cps)
            if (set.All(s => linked(s, c))) set.Add(c);
        return set.Count * 2 > cps.Count ? set : [];
    }
}
