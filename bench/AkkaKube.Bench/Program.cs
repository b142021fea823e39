using System.Reflection;
using AkkaKube.Bench;

var benchmarks = typeof(IBenchmark).Assembly.GetTypes()
    .Where(t => typeof(IBenchmark).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false })
    .Select(t => (IBenchmark)Activator.CreateInstance(t)!)
    .OrderBy(b => b.Name, StringComparer.Ordinal)
    .ToList();

var smoke = args.Contains("--smoke");
var rest = args.Where(a => a != "--smoke").ToArray();
if (rest.Length == 0 || rest[0] is "-h" or "--help")
{
    Console.WriteLine("usage: akkakube-bench <name|name,name…|all> [--smoke] [benchmark args]");
    foreach (var b in benchmarks) Console.WriteLine($"  {b.Name,-14} {b.Description}");
    return rest.Length == 0 ? 2 : 0;
}

var names = rest[0].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
var unknown = names.Where(n => n != "all" && benchmarks.All(b => b.Name != n)).ToList();
if (unknown.Count > 0 || names.Length == 0)
{
    Console.Error.WriteLine($"akkakube-bench: unknown benchmark '{string.Join(",", unknown)}' (have: {string.Join(", ", benchmarks.Select(b => b.Name))})");
    return 2;
}
var selected = names.Contains("all") ? benchmarks : benchmarks.Where(b => names.Contains(b.Name)).ToList();

Console.WriteLine($"machine: {BenchReport.Machine}; {ProcMemory.Load()} at start (other jobs on this machine skew every figure)");
Console.WriteLine($"mode: {(smoke ? "smoke (small sizes, figures not comparable)" : "full")}");
var report = new BenchReport();
using var cts = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; cts.Cancel(); };
foreach (var b in selected)
{
    Console.WriteLine($"--- {b.Name}: {b.Description}");
    await b.RunAsync(report, smoke, rest[1..], cts.Token);
}
Console.WriteLine($"bench done: {report.Rows.Count} figures; machine: {BenchReport.Machine}; {ProcMemory.Load()} at end");
return 0;
