using System.Diagnostics;

namespace AkkaKube.Actors.Proxy;

/// <summary>Applies nft transactions (the kernel's nftables, through Debian's `nft` tool): <c>nft -f -</c> with the script on stdin.</summary>
public interface INftables
{
    /// <summary>Runs one transaction (all of it or nothing); the error is nft's stderr when it failed.</summary>
    Task<NftResult> ApplyAsync(string script, CancellationToken ct = default);

    /// <summary>`nft -j list table FAMILY NAME`: the table as nft's JSON, null when it is absent or cannot be read.</summary>
    Task<string?> ListTableJsonAsync(string family, string table, CancellationToken ct = default) => Task.FromResult<string?>(null);
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

    public async Task<string?> ListTableJsonAsync(string family, string table, CancellationToken ct = default)
    {
        var r = await RunAsync(["-j", "list", "table", family, table], "", ct).ConfigureAwait(false);
        return r.Ok ? r.Output : null;
    }

    public async Task<NftResult> ApplyAsync(string script, CancellationToken ct = default)
    {
        var r = await RunAsync(["-f", "-"], script, ct).ConfigureAwait(false);
        return new NftResult(r.Ok, r.Error);
    }

    private async Task<(bool Ok, string Output, string Error)> RunAsync(IReadOnlyList<string> args, string input, CancellationToken ct)
    {
        var nft = Find();
        if (nft is null) return (false, "", "nft not found (apt-get install nftables)");
        var command = (prefix ?? []).Append(nft).Concat(args).ToList();
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
            await p.StandardInput.WriteAsync(input.AsMemory(), timeout.Token);
            p.StandardInput.Close();
            await p.WaitForExitAsync(timeout.Token);
            return (p.ExitCode == 0, await output, (await error).Trim());
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            p.Kill(entireProcessTree: true);
            return (false, "", $"nft did not finish within {_timeout.TotalSeconds:0} s");
        }
        catch (IOException e)
        {
            return (false, "", e.Message); // nft exited before reading its input
        }
    }
}
