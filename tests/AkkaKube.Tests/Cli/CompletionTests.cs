using AkkaKube.Tests.Infrastructure;

namespace AkkaKube.Tests.Cli;

/// <summary>`akkakube completion`: the scripts call back into the CLI's suggest directive, and bash completes with them.</summary>
public class CompletionTests
{
    [Fact]
    public async Task The_suggest_directive_offers_the_accepted_values_of_an_option()
    {
        const string line = "akkakube chaos kill-leader --output ";
        var r = await ProcessRunner.RunAsync(ProcessRunner.Akkakube, [$"[suggest:{line.Length}]", line], TimeSpan.FromSeconds(60));
        Assert.Equal(0, r.ExitCode);
        Assert.Equal(["json", "text"], r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
    }

    [SkippableFact]
    public async Task Bash_completes_a_subcommand_through_the_printed_script()
    {
        Skip.If(!File.Exists("/bin/bash"), "bash is missing");
        var bin = Path.GetDirectoryName(ProcessRunner.Akkakube)!;
        // What bash does on <TAB> after "akkakube chaos kill-l": the completion function fills COMPREPLY.
        const string script = """
            source <(akkakube completion bash)
            COMP_LINE='akkakube chaos kill-l'; COMP_POINT=${#COMP_LINE}; COMP_WORDS=(akkakube chaos kill-l); COMP_CWORD=2
            _akkakube_complete
            printf '%s\n' "${COMPREPLY[@]}"
            """;
        var r = await ProcessRunner.RunAsync("/bin/bash", ["-c", $"export PATH='{bin}':$PATH\n{script}"], TimeSpan.FromSeconds(60));
        Assert.Equal(0, r.ExitCode);
        Assert.Equal(["kill-leader"], r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
    }

    [Theory]
    [InlineData("bash", "complete -o default -F _akkakube_complete akkakube")]
    [InlineData("zsh", "compdef _akkakube akkakube")]
    [InlineData("pwsh", "Register-ArgumentCompleter -Native -CommandName akkakube")]
    public async Task Each_shell_gets_a_script_that_asks_the_suggest_directive(string shell, string registration)
    {
        var r = await ProcessRunner.RunAsync(ProcessRunner.Akkakube, ["completion", shell], TimeSpan.FromSeconds(60));
        Assert.Equal(0, r.ExitCode);
        Assert.Contains(registration, r.Stdout);
        Assert.Contains("[suggest:", r.Stdout);
    }

    [Fact]
    public async Task An_unknown_shell_fails_with_one_line()
    {
        var r = await ProcessRunner.RunAsync(ProcessRunner.Akkakube, ["completion", "fish"], TimeSpan.FromSeconds(60));
        ProcessRunner.AssertOneLineError(r, "fish");
    }
}
