using AkkaKube.Cli;

return await CliApp.RunAsync(args);
