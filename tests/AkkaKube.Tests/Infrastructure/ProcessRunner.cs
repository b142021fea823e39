using System.Diagnostics;
using System.Text;

namespace AkkaKube.Tests.Infrastructure;

public sealed record ProcessResult(int ExitCode, string Stdout, string Stderr)
{
    public string Output => Stdout + Stderr;
}

/// <summary>Runs the built binaries (akkakube, akkakube-node, dotnet) as child processes; kills by PID on timeout.</summary>
public static class ProcessRunner
{
    public static string Binary(string name) => Path.Combine(AppContext.BaseDirectory, name);

    public static string Akkakube => Binary("akkakube");

    /// <summary>The AKKAKUBE_HOME (and KUBECONFIG beside it) every `akkakube` run of this test process gets unless a test sets its own.</summary>
    private static readonly Lazy<string> IsolatedHome = new(() => Directory.CreateTempSubdirectory("akkakube-home-").FullName);
    public static string AkkakubeNode => Binary("akkakube-node");

    public static async Task<ProcessResult> RunAsync(string file, IEnumerable<string> args, TimeSpan? timeout = null, string? workingDirectory = null, IDictionary<string, string>? env = null)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? AppContext.BaseDirectory,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        // `akkakube up` registers clusters under ~/.akkakube and merges contexts into ~/.kube/config: never the real ones.
        if (file == Akkakube)
        {
            psi.Environment["AKKAKUBE_HOME"] = IsolatedHome.Value;
            psi.Environment["KUBECONFIG"] = Path.Combine(IsolatedHome.Value, "kubeconfig");
        }
        foreach (var (k, v) in env ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        using var process = Process.Start(psi)!;
        process.StandardInput.Close();
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        var outTask = process.StandardOutput.ReadToEndAsync().ContinueWith(t => stdout.Append(t.Result));
        var errTask = process.StandardError.ReadToEndAsync().ContinueWith(t => stderr.Append(t.Result));
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(3));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            throw new TimeoutException($"{Path.GetFileName(file)} {string.Join(' ', psi.ArgumentList)} did not exit within {(timeout ?? TimeSpan.FromMinutes(3)).TotalSeconds} s");
        }
        await Task.WhenAll(outTask, errTask);
        return new ProcessResult(process.ExitCode, stdout.ToString(), stderr.ToString());
    }

    /// <summary>Asserts the CLI contract for bad input: non-zero exit, exactly one non-empty line on stderr, no stack trace.</summary>
    public static void AssertOneLineError(ProcessResult r, string mustContain)
    {
        Assert.NotEqual(0, r.ExitCode);
        var lines = r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.True(lines.Length == 1, $"expected one error line, got:\n{r.Stderr}\nstdout:\n{r.Stdout}");
        Assert.Contains(mustContain, lines[0], StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("   at ", r.Output);
        Assert.DoesNotContain("Exception:", r.Output);
    }
}
