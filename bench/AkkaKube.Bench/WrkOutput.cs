using System.Globalization;
using System.Text.RegularExpressions;

namespace AkkaKube.Bench;

/// <summary>Reads the figures out of `wrk --latency` output.</summary>
public static partial class WrkOutput
{
    public static double RequestsPerSecond(string output) =>
        double.Parse(RpsRegex().Match(output).Groups[1].Value, CultureInfo.InvariantCulture);

    /// <summary>A latency percentile line ("99%  1.23ms") in milliseconds; NaN when wrk did not print it.</summary>
    public static double LatencyMs(string output, string percentile)
    {
        var m = Regex.Match(output, $@"^\s*{Regex.Escape(percentile)}\s+([\d.]+)(us|ms|s)\s*$", RegexOptions.Multiline);
        if (!m.Success) return double.NaN;
        var value = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        return m.Groups[2].Value switch { "us" => value / 1000, "s" => value * 1000, _ => value };
    }

    [GeneratedRegex(@"Requests/sec:\s+([\d.]+)")]
    private static partial Regex RpsRegex();
}
