// AkkaKube benchmark harness: `dotnet run -c Release --project bench/AkkaKube.Bench -- <benchmark> [options]`.
var benchmarks = new Dictionary<string, Func<string[], Task<int>>>(StringComparer.Ordinal)
{
    ["store"] = AkkaKube.Bench.StoreBench.RunAsync,
};

if (args.Length == 0 || !benchmarks.TryGetValue(args[0], out var run))
{
    Console.Error.WriteLine($"usage: akkakube-bench <{string.Join("|", benchmarks.Keys)}> [options]");
    return 2;
}
return await run(args[1..]);
