using System.Diagnostics;

namespace AkkaKube.Tests.Kubectl;

/// <summary>
/// A running `kubectl port-forward` (started with <c>kubectl ARGS</c> and <paramref name="env"/>), ready once it printed
/// "Forwarding from"; disposing kills it by its PID. <see cref="ErrorsAsync"/> is its stderr (complete once it ended).
/// </summary>
public sealed class KubectlPortForward : IAsyncDisposable
{
    private readonly Process _kubectl;
    private readonly Task<string> _errors;

    private KubectlPortForward(Process kubectl)
    {
        _kubectl = kubectl;
        _errors = kubectl.StandardError.ReadToEndAsync();
    }

    public bool HasExited => _kubectl.HasExited;

    /// <summary>kubectl's stderr; only awaited once it has exited (stderr ends with the process).</summary>
    public Task<string> ErrorsAsync => _errors;

    public static async Task<KubectlPortForward> StartAsync(IEnumerable<string> args, IDictionary<string, string> env)
    {
        var psi = new ProcessStartInfo("kubectl") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in env) psi.Environment[k] = v;
        var forward = new KubectlPortForward(Process.Start(psi)!);
        using var ready = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        string? line;
        do line = await forward._kubectl.StandardOutput.ReadLineAsync(ready.Token);
        while (line is not null && !line.StartsWith("Forwarding from", StringComparison.Ordinal));
        if (line is null)
        {
            await forward.DisposeAsync();
            Assert.Fail("kubectl port-forward ended before forwarding: " + await forward._errors);
        }
        _ = forward._kubectl.StandardOutput.ReadToEndAsync(); // "Handling connection for …" lines
        return forward;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_kubectl.HasExited) _kubectl.Kill();
        await _kubectl.WaitForExitAsync();
        _kubectl.Dispose();
    }
}
