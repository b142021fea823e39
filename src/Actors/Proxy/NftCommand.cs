using System.Diagnostics;

namespace AkkaKube.Actors.Proxy;

/// <summary>Applies nft transactions (the kernel's nftables, through Debian's `nft` tool): <c>nft -f -</c> with the script on stdin.</summary>
public interface INftables
{
    /// <summary>Runs one transaction (all of it or nothing); the error is nft's stderr when it failed.</summary>
    Task<NftResult> ApplyAsync(string script, CancellationToken ct = default);
}

public sealed record NftResult(bool Ok, string Error);

/// <summary>
/// The `nft` tool; <paramref name="prefix"/> runs it through another command (a test's `ip netns exec NAME`).
/// </summary>
public sealed class NftCommand(IReadOnlyList<string>? prefix = null, TimeSpan? timeout = null) : INftables
{
    private readonly TimeSpan _timeout = timeout ?? TimeSpan.FromSeconds(30);

    /// <summary>The nft binary on PATH or in /usr/sbin, /sbin; null when absent.</summary>
    public static string? Find() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries).Append("/usr/sbin").Append("/sbin")
            .Select(dir => Path.Combine(dir, "nft")).FirstOrDefault(File.Exists);

    public async Task<NftResult> ApplyAsync(string script, CancellationToken ct = default)
    {
        var nft = Find();
        if (nft is null) return new NftResult(false, "nft not found (apt-get install nftables)");
        var command = (prefix ?? []).Concat([nft, "-f", "-"]).ToList();
        var psi = new ProcessStartInfo(command[0])
        {
            UseShellExecute = false, RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
        };
        foreach (var a in command.Skip(1)) psi.ArgumentList.Add(a);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(_timeout);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("could not start nft");
        try
        {
            var output = p.StandardOutput.ReadToEndAsync(timeout.Token);
            var error = p.StandardError.ReadToEndAsync(timeout.Token);
            await p.StandardInput.WriteAsync(script.AsMemory(), timeout.Token);
            p.StandardInput.Close();
            await p.WaitForExitAsync(timeout.Token);
            await output;
            return new NftResult(p.ExitCode == 0, (await error).Trim());
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            p.Kill(entireProcessTree: true);
            return new NftResult(false, $"nft did not finish within {_timeout.TotalSeconds:0} s");
        }
        catch (IOException e)
        {
            return new NftResult(false, e.Message); // nft exited before reading its input
        }
    }
}
