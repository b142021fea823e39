namespace AkkaKube.Bench;

/// <summary>
/// One benchmark of the harness: `dotnet run -c Release --project bench/AkkaKube.Bench -- NAME [--smoke]`.
/// Implementations are found by reflection, so a new benchmark is one class. Each prints its figures
/// through <see cref="BenchReport"/> with its setup, so a run is comparable and self-describing.
/// </summary>
public interface IBenchmark
{
    string Name { get; }
    string Description { get; }

    /// <summary>Smoke: small sizes, for CI — must finish in seconds and still print every figure.</summary>
    Task RunAsync(BenchReport report, bool smoke, string[] args, CancellationToken ct);
}

/// <summary>Collects figures and prints them as aligned lines: benchmark, figure, value, unit, setup.</summary>
public sealed class BenchReport
{
    private readonly List<(string Bench, string Figure, double Value, string Unit, string Setup)> _rows = [];

    public IReadOnlyList<(string Bench, string Figure, double Value, string Unit, string Setup)> Rows => _rows;

    public void Figure(string bench, string figure, double value, string unit, string setup)
    {
        _rows.Add((bench, figure, value, unit, setup));
        Console.WriteLine($"{bench,-14} {figure,-40} {value,14:0.###} {unit,-8} {setup}");
    }

    public static string Machine =>
        $"{Environment.ProcessorCount} cores, {GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1024 * 1024 * 1024.0):0.#} GiB, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}";
}
