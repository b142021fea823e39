using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using AkkaKube.Cli.History;

namespace AkkaKube.Cli.Chaos;

/// <summary>One injected fault on the run's clock (seconds since the history started): injected, undone, cluster whole again.</summary>
public sealed record FaultWindow(string Kind, IReadOnlyList<string> Targets, string Detail, double InjectedAt, double HealedAt, double? WholeAt, bool Recovered,
    IReadOnlyList<TimelineEntry> Timeline, IReadOnlyList<string> Notes)
{
    /// <summary>The end of the window for the latency split: whole again, else the heal.</summary>
    public double End => WholeAt ?? HealedAt;

    public static FaultWindow From(ChaosReport chaos, DateTime runStartedAt, double fallbackStart)
    {
        var injected = chaos.InjectedAt == default ? fallbackStart : (chaos.InjectedAt - runStartedAt).TotalSeconds;
        var healed = chaos.Timeline.FirstOrDefault(t => t.Event == "healed")?.Seconds;
        var detail = chaos.Timeline.FirstOrDefault(t => t.Event == "injected")?.Detail ?? "";
        return new FaultWindow(chaos.Fault, chaos.Targets, detail, Math.Round(injected, 2), Math.Round(injected + (healed ?? 0), 2),
            chaos.RecoveredAfterSeconds is { } w ? Math.Round(injected + w, 2) : null, chaos.Recovered,
            chaos.Timeline.OrderBy(t => t.Seconds).ToList(), chaos.Notes.ToList());
    }
}

public sealed record LatencyStats(int Count, double P50Ms, double P99Ms, double MaxMs);

/// <summary>What `chaos jepsen` did and found; text summary, JSON, and the latency timeline as SVG with the fault windows shaded.</summary>
public sealed class JepsenReport
{
    public required string Run { get; init; }
    public int Seed { get; init; }
    public required List<string> Faults { get; init; }
    public int Clients { get; init; }
    public required string Hosts { get; init; }
    public required List<string> Servers { get; init; }
    public DateTime StartedAt { get; set; }
    public double[] LoadBefore { get; init; } = [];
    public double[] LoadAfter { get; set; } = [];
    public double HistorySeconds { get; set; }
    public List<FaultWindow> Windows { get; } = [];
    public bool NemesisFailed { get; set; }
    public bool SteadyAtEnd { get; set; }
    public bool Linearizable { get; set; }
    public int KeysChecked { get; set; }
    public double CheckSeconds { get; set; }
    public int FinalReads { get; set; }
    public int LedgerAcknowledged { get; set; }
    public int LedgerUnknown { get; set; }
    public int LedgerRefused { get; set; }
    public List<string> Lost { get; set; } = [];
    public List<string> Notes { get; } = [];
    /// <summary>ok (the call took effect / read), fail (a definite refusal: not found, exists, conflict), unknown (no answer, 5xx).</summary>
    public Dictionary<string, int> Outcomes { get; } = [];
    public Dictionary<string, int> OutcomesByKind { get; } = [];
    public LatencyStats? InsideFaults { get; set; }
    public LatencyStats? OutsideFaults { get; set; }
    public List<string> Files { get; } = [];

    [JsonIgnore] public List<Operation> Operations { get; set; } = [];
    [JsonIgnore] public List<LedgerCall> Ledger { get; set; } = [];
    [JsonIgnore] private double frequency = 1;

    public bool Passed => Linearizable && Lost.Count == 0 && SteadyAtEnd && !NemesisFailed && Windows.Count > 0 && Windows.All(w => w.Recovered);

    public static string Class(OpOutcome o) => o switch
    {
        OpOutcome.Ok => "ok",
        OpOutcome.Unknown => "unknown",
        _ => "fail",
    };

    private double Seconds(long ticks) => ticks / frequency;

    private bool InFault(double t) => Windows.Any(w => t >= w.InjectedAt && t <= w.End);

    public void Finish(long stopwatchFrequency)
    {
        frequency = stopwatchFrequency;
        Outcomes.Clear();
        foreach (var g in Operations.GroupBy(o => Class(o.Outcome)).OrderBy(g => g.Key, StringComparer.Ordinal)) Outcomes[g.Key] = g.Count();
        foreach (var g in Operations.GroupBy(o => $"{o.Kind.ToString().ToLowerInvariant()} {o.Outcome.ToString().ToLowerInvariant()}").OrderBy(g => g.Key, StringComparer.Ordinal))
            OutcomesByKind[g.Key] = g.Count();
        var answered = Operations.Where(o => !o.Indeterminate).Select(o => (At: Seconds(o.Invoke), Ms: (o.Return - o.Invoke) * 1000.0 / frequency)).ToList();
        InsideFaults = Stats(answered.Where(a => InFault(a.At)).Select(a => a.Ms));
        OutsideFaults = Stats(answered.Where(a => !InFault(a.At)).Select(a => a.Ms));
    }

    private static LatencyStats? Stats(IEnumerable<double> ms)
    {
        var sorted = ms.OrderBy(x => x).ToArray();
        if (sorted.Length == 0) return null;
        double P(double q) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];
        return new LatencyStats(sorted.Length, Math.Round(P(0.50), 1), Math.Round(P(0.99), 1), Math.Round(sorted[^1], 1));
    }

    private static string Load(double[] l) => l.Length == 3 ? string.Join(" ", l.Select(x => x.ToString("0.00", CultureInfo.InvariantCulture))) : "?";

    public string ToText()
    {
        var w = new StringWriter(CultureInfo.InvariantCulture);
        w.WriteLine($"chaos jepsen {Run} (seed {Seed}) on a {Hosts} cluster, {StartedAt:yyyy-MM-dd HH:mm:ss}Z, {HistorySeconds:0.0} s");
        w.WriteLine($"  {Clients} clients over {string.Join(", ", Servers)}; faults {string.Join(",", Faults)}; load average {Load(LoadBefore)} → {Load(LoadAfter)}");
        w.WriteLine($"operations: {Operations.Count} ({string.Join(", ", Outcomes.Select(o => $"{o.Key} {o.Value}"))})");
        w.WriteLine($"  by call: {string.Join(", ", OutcomesByKind.Select(o => $"{o.Key} {o.Value}"))}");
        w.WriteLine($"fault windows ({Windows.Count}):");
        foreach (var x in Windows)
            w.WriteLine($"  {x.Kind,-9} {string.Join(",", x.Targets),-10} +{x.InjectedAt,6:0.0}s … healed +{x.HealedAt,6:0.0}s … " +
                        (x.Recovered ? $"whole +{x.WholeAt,6:0.0}s" : "NOT whole") + $"  ({x.Detail})");
        string S(LatencyStats? s) => s is null ? "none" : $"{s.Count} calls, p50 {s.P50Ms:0.0} ms, p99 {s.P99Ms:0.0} ms, max {s.MaxMs:0} ms";
        w.WriteLine($"latency of answered calls inside fault windows (injected … whole): {S(InsideFaults)}");
        w.WriteLine($"latency of answered calls outside fault windows: {S(OutsideFaults)}");
        w.WriteLine($"linearizability: {(Linearizable ? "PASS" : "FAIL")} ({KeysChecked} keys, {FinalReads} final reads, checked in {CheckSeconds:0.0} s)");
        w.WriteLine($"acknowledged writes: {LedgerAcknowledged} ledger creates acknowledged ({LedgerUnknown} unknown, {LedgerRefused} refused), " +
                    (Lost.Count == 0 ? "all readable at the end" : $"{Lost.Count} LOST"));
        w.WriteLine($"cluster at the end: {(SteadyAtEnd ? "steady (every fault undone, every node Up, every Node Ready)" : "NOT steady")}");
        foreach (var n in Notes) w.WriteLine($"note: {n}");
        foreach (var f in Files) w.WriteLine($"written: {f}");
        w.WriteLine(Passed ? "PASS" : "FAIL");
        return w.ToString();
    }

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Latency (log scale) of every call over time; unknown outcomes on the top line; fault windows shaded (red: fault on, amber: healed, not whole yet).</summary>
    public string ToSvg()
    {
        const int width = 1400, height = 460, left = 60, right = 20, top = 40, bottom = 40;
        var span = Math.Max(1, HistorySeconds);
        double X(double s) => left + s / span * (width - left - right);
        const double minMs = 1, maxMs = 20_000;
        double Y(double ms) => top + 14 + (1 - (Math.Log10(Math.Clamp(ms, minMs, maxMs)) - Math.Log10(minMs)) / (Math.Log10(maxMs) - Math.Log10(minMs))) * (height - top - bottom - 14);
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.Append(c, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"11\">\n");
        sb.Append(c, $"<rect width=\"{width}\" height=\"{height}\" fill=\"white\"/>\n");
        sb.Append(c, $"<text x=\"{left}\" y=\"16\" font-size=\"13\">{Escape(Run)}: {Operations.Count} calls ({string.Join(", ", Outcomes.Select(o => $"{o.Key} {o.Value}"))}); linearizable: {(Linearizable ? "yes" : "NO")}; lost writes: {Lost.Count}</text>\n");
        foreach (var win in Windows)
        {
            sb.Append(c, $"<rect x=\"{X(win.InjectedAt):0.0}\" y=\"{top}\" width=\"{Math.Max(1, X(win.HealedAt) - X(win.InjectedAt)):0.0}\" height=\"{height - top - bottom}\" fill=\"#f4a3a3\" fill-opacity=\"0.5\"><title>{Escape(win.Kind)} {Escape(win.Detail)}</title></rect>\n");
            if (win.WholeAt is { } whole)
                sb.Append(c, $"<rect x=\"{X(win.HealedAt):0.0}\" y=\"{top}\" width=\"{Math.Max(1, X(whole) - X(win.HealedAt)):0.0}\" height=\"{height - top - bottom}\" fill=\"#f6d58e\" fill-opacity=\"0.5\"/>\n");
            sb.Append(c, $"<text x=\"{X(win.InjectedAt) + 2:0.0}\" y=\"{top - 4}\">{Escape(win.Kind)} {Escape(string.Join(",", win.Targets))}</text>\n");
        }
        foreach (var ms in new[] { 1, 10, 100, 1000, 10000 })
            sb.Append(c, $"<line x1=\"{left}\" x2=\"{width - right}\" y1=\"{Y(ms):0.0}\" y2=\"{Y(ms):0.0}\" stroke=\"#ddd\"/><text x=\"4\" y=\"{Y(ms) + 4:0.0}\">{(ms >= 1000 ? $"{ms / 1000} s" : $"{ms} ms")}</text>\n");
        sb.Append(c, $"<text x=\"4\" y=\"{top + 10}\">unknown</text>\n");
        for (var s = 0; s <= span; s += span > 300 ? 60 : span > 60 ? 10 : 5)
            sb.Append(c, $"<text x=\"{X(s) - 8:0.0}\" y=\"{height - bottom + 16}\">{s}s</text>\n");
        foreach (var o in Operations)
        {
            var at = X(Seconds(o.Invoke));
            if (o.Indeterminate)
                sb.Append(c, $"<rect x=\"{at - 1.5:0.0}\" y=\"{top + 4}\" width=\"3\" height=\"6\" fill=\"#c0392b\"/>\n");
            else
                sb.Append(c, $"<circle cx=\"{at:0.0}\" cy=\"{Y((o.Return - o.Invoke) * 1000.0 / frequency):0.0}\" r=\"1.6\" fill=\"{(o.Outcome == OpOutcome.Ok ? "#2e8b57" : "#3867d6")}\"/>\n");
        }
        sb.Append(c, $"<text x=\"{left}\" y=\"{height - 6}\">green: ok, blue: fail (not found / exists / conflict), red: unknown (no answer, 5xx); red band: fault on, amber: undone, cluster not whole yet</text>\n");
        sb.Append("</svg>\n");
        return sb.ToString();
    }

    private static string Escape(string s) => s.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal).Replace(">", "&gt;", StringComparison.Ordinal);

    /// <summary>Writes DIR/&lt;run&gt;.txt, .json, .svg and the history (.history.jsonl: one call a line, seconds on the run's clock).</summary>
    public void WriteFiles(string directory)
    {
        Directory.CreateDirectory(directory);
        var stem = Path.Combine(directory, Run);
        Files.Clear();
        Files.AddRange([stem + ".txt", stem + ".json", stem + ".svg", stem + ".history.jsonl"]);
        File.WriteAllText(stem + ".svg", ToSvg());
        using (var h = new StreamWriter(stem + ".history.jsonl"))
            foreach (var o in Operations.OrderBy(o => o.Invoke))
                h.WriteLine(JsonSerializer.Serialize(new
                {
                    o.Client, o.Key, kind = o.Kind.ToString(), invoke = Math.Round(Seconds(o.Invoke), 4), @return = o.Indeterminate ? (double?)null : Math.Round(Seconds(o.Return), 4),
                    outcome = o.Outcome.ToString(), o.Value, ifRv = o.ExpectedResourceVersion, rv = o.ResourceVersion,
                }));
        File.WriteAllText(stem + ".json", ToJson());
        File.WriteAllText(stem + ".txt", ToText());
    }
}
