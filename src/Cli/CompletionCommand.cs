using System.CommandLine;

namespace AkkaKube.Cli;

/// <summary>
/// `akkakube completion bash|zsh|pwsh`: prints a script that asks the CLI itself for completions through
/// System.CommandLine's suggest directive (`akkakube "[suggest:POSITION]" "COMMAND LINE"`), so completions always
/// match the installed version's commands, options and accepted values. No dotnet-suggest needed.
/// </summary>
public static class CompletionCommand
{
    public static readonly IReadOnlyDictionary<string, string> Scripts = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["bash"] = """
            # akkakube completion for bash: source <(akkakube completion bash)
            _akkakube_complete() {
              local IFS=$'\n'
              local candidates
              candidates=$(akkakube "[suggest:${COMP_POINT}]" "${COMP_LINE}" 2>/dev/null) || return 0
              COMPREPLY=($(compgen -W "${candidates}" -- "${COMP_WORDS[COMP_CWORD]}"))
            }
            complete -o default -F _akkakube_complete akkakube

            """,
        ["zsh"] = """
            # akkakube completion for zsh: source <(akkakube completion zsh)
            _akkakube() {
              local -a candidates
              candidates=("${(@f)$(akkakube "[suggest:${CURSOR}]" "${BUFFER}" 2>/dev/null)}")
              compadd -a candidates
            }
            compdef _akkakube akkakube

            """,
        ["pwsh"] = """
            # akkakube completion for PowerShell: akkakube completion pwsh | Out-String | Invoke-Expression
            Register-ArgumentCompleter -Native -CommandName akkakube -ScriptBlock {
              param($wordToComplete, $commandAst, $cursorPosition)
              & akkakube "[suggest:$cursorPosition]" "$commandAst" 2>$null | ForEach-Object {
                [System.Management.Automation.CompletionResult]::new($_, $_, 'ParameterValue', $_)
              }
            }

            """,
    };

    public static Command Describe()
    {
        var shell = new Argument<string>("shell") { Description = "bash, zsh or pwsh" };
        shell.CompletionSources.Add("bash", "zsh", "pwsh");
        shell.Validators.Add(r =>
        {
            if (!Scripts.ContainsKey(r.GetValueOrDefault<string>() ?? ""))
                r.AddError($"unknown shell '{r.GetValueOrDefault<string>()}' (expected bash, zsh or pwsh)");
        });
        var cmd = new Command("completion", "Print a shell completion script: source <(akkakube completion bash)") { shell };
        cmd.SetAction(parse =>
        {
            Console.Write(Scripts[parse.GetValue(shell)!]);
            return 0;
        });
        return cmd;
    }
}
