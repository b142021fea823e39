using AkkaKube.Actors.Cluster;
using AkkaKube.Host;
using Microsoft.Extensions.Hosting;

// Built-in images (akkakube/echo, akkakube/pause) run from the node binary itself, before any flag parsing.
if (args.Length > 0 && args[0] == "run-image")
    return await AkkaKube.Actors.Runtime.BuiltInImages.RunAsync(args[1..]);

// --hollow-nodes N (kubelet): N simulated kubelets in this worker process; same as AKKAKUBE_HOLLOW_NODES.
var hollowAt = Array.IndexOf(args, "--hollow-nodes");
if (hollowAt >= 0)
{
    if (hollowAt + 1 >= args.Length || !int.TryParse(args[hollowAt + 1], out var hollow) || hollow < 0)
    {
        Console.Error.WriteLine("akkakube-node: error: --hollow-nodes needs a number >= 0");
        return 2;
    }
    Environment.SetEnvironmentVariable("AKKAKUBE_HOLLOW_NODES", hollow.ToString(System.Globalization.CultureInfo.InvariantCulture));
    args = [.. args[..hollowAt], .. args[(hollowAt + 2)..]];
}

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
