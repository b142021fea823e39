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
    Console.WriteLine("usage: akkakube-bench <name|all> [--smoke] [benchmark args]");
    foreach (var b in benchmarks) Console.WriteLine($"  {b.Name,-14} {b.Description}");
    return rest.Length == 0 ? 2 : 0;
}

var selected = rest[0] == "all" ? benchmarks : benchmarks.Where(b => b.Name == rest[0]).ToList();
if (selected.Count == 0)
{
    Console.Error.WriteLine($"akkakube-bench: unknown benchmark '{rest[0]}' (have: {string.Join(", ", benchmarks.Select(b => b.Name))})");
    return 2;
}

Console.WriteLine($"machine: {BenchReport.Machine}");
Console.WriteLine($"mode: {(smoke ? "smoke (small sizes, figures not comparable)" : "full")}");
var report = new BenchReport();
using var cts = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; cts.Cancel(); };
foreach (var b in selected)
{
    Console.WriteLine($"--- {b.Name}: {b.Description}");
    await b.RunAsync(report, smoke, rest[1..], cts.Token);
}
return 0;
