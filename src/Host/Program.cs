using AkkaKube.Actors.Cluster;
using AkkaKube.Host;
using Microsoft.Extensions.Hosting;

var root = NodeCommandLine.CreateRootCommand();
var parse = root.Parse(args);
if (args.Any(a => a is "--help" or "-h" or "-?" or "--version"))
    return await parse.InvokeAsync();
if (parse.Errors.Count > 0)
{
    Console.Error.WriteLine($"akkakube-node: error: {parse.Errors[0].Message}");
    return 2;
}

NodeOptions node;
try
{
    node = NodeCommandLine.ToOptions(parse);
    NodeCommandLine.Preflight(node);
}
catch (NodeConfigException e)
{
    Console.Error.WriteLine($"akkakube-node: error: {e.Message}");
    return 2;
}

IHost host;
try
{
    host = NodeHost.Build(node, []);
}
catch (NodeConfigException e)
{
    Console.Error.WriteLine($"akkakube-node: error: {e.Message}");
    return 2;
}

try
{
    await host.RunAsync();
    return 0;
}
catch (Exception e)
{
    // Start-up failures (a port taken after preflight, a bad database) end here: one line, no stack trace.
    var inner = e is AggregateException { InnerExceptions.Count: 1 } a ? a.InnerException! : e;
    Console.Error.WriteLine($"akkakube-node: error: {inner.GetType().Name}: {inner.Message.Split('\n')[0]}");
    return 1;
}
