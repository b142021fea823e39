using AkkaKube.Actors.Cluster;

namespace AkkaKube.Tests.Infrastructure;

/// <summary>
/// Hands every cluster a test starts (process-level or in-process) its own address block, so test classes that
/// xunit runs in parallel never bind the same pod IP or ClusterIP:port (see <see cref="AddressBlocks"/>). Blocks
/// 1–24 only: block 0 is a user's default `akkakube up`, and ForwardingListenerTests pick frontends in 127.128.100+.
/// </summary>
public static class TestAddressBlocks
{
    private const int First = 1, Count = 24;
    // a random start, so two test runs on one machine (two developers, two worktrees) rarely pick the same block
    private static int s_next = Random.Shared.Next(Count);

    public static int Next() => First + (int)((uint)Interlocked.Increment(ref s_next) % Count);
}
