using System.Text.Json.Nodes;
using AkkaKube.Actors.ApiServer.Registry;

namespace AkkaKube.Tests.ApiServer.Registry;

/// <summary>The pods table's STATUS cell, computed as kubectl's pod printer does (what `kubectl get pods` shows).</summary>
public class PodStatusColumnSpecs
{
    private static readonly ResourceStrategy Pods = ApiRegistry.CreateBuiltIn().Registrations.First(x => x.Resource.Kind == "Pod").Strategy;

    private static string Status(string json) =>
        Pods.Columns.Single(c => c.Name == "Status").Cell((JsonObject)JsonNode.Parse(json)!, DateTime.UtcNow)!.GetValue<string>();

    public static TheoryData<string, string, string> Cases => new()
    {
        { "a pod nobody looked at", """{"metadata":{"name":"p"}}""", "Pending" },
        { "a finished job pod", """{"metadata":{"name":"p"},"status":{"phase":"Succeeded","containerStatuses":[{"state":{"terminated":{"exitCode":0,"reason":"Completed"}}}]}}""", "Completed" },
        { "a failed pod", """{"metadata":{"name":"p"},"status":{"phase":"Failed","containerStatuses":[{"state":{"terminated":{"exitCode":3,"reason":"Error"}}}]}}""", "Error" },
        { "an exit without a reason", """{"metadata":{"name":"p"},"status":{"phase":"Failed","containerStatuses":[{"state":{"terminated":{"exitCode":3}}}]}}""", "ExitCode:3" },
        { "a killed container without a reason", """{"metadata":{"name":"p"},"status":{"phase":"Failed","containerStatuses":[{"state":{"terminated":{"exitCode":137,"signal":9}}}]}}""", "Signal:9" },
        { "a crash loop", """{"metadata":{"name":"p"},"status":{"phase":"Running","containerStatuses":[{"state":{"waiting":{"reason":"CrashLoopBackOff"}}}]}}""", "CrashLoopBackOff" },
        { "the first container's reason wins", """{"metadata":{"name":"p"},"status":{"phase":"Running","containerStatuses":[{"state":{"waiting":{"reason":"ImagePullBackOff"}}},{"state":{"waiting":{"reason":"CrashLoopBackOff"}}}]}}""", "ImagePullBackOff" },
        { "one finished container beside a ready running one", """{"metadata":{"name":"p"},"status":{"phase":"Running","conditions":[{"type":"Ready","status":"True"}],"containerStatuses":[{"ready":false,"state":{"terminated":{"exitCode":0,"reason":"Completed"}}},{"ready":true,"state":{"running":{}}}]}}""", "Running" },
        { "the same without the Ready condition", """{"metadata":{"name":"p"},"status":{"phase":"Running","containerStatuses":[{"ready":false,"state":{"terminated":{"exitCode":0,"reason":"Completed"}}},{"ready":true,"state":{"running":{}}}]}}""", "NotReady" },
        { "a second init container running", """{"metadata":{"name":"p"},"spec":{"initContainers":[{"name":"a"},{"name":"b"}]},"status":{"phase":"Pending","initContainerStatuses":[{"state":{"terminated":{"exitCode":0,"reason":"Completed"}}},{"state":{"running":{}}}]}}""", "Init:1/2" },
        { "a started sidecar does not hold initialization", """{"metadata":{"name":"p"},"spec":{"initContainers":[{"name":"s","restartPolicy":"Always"}]},"status":{"phase":"Running","conditions":[{"type":"Ready","status":"True"}],"initContainerStatuses":[{"started":true,"state":{"running":{}}}],"containerStatuses":[{"ready":true,"state":{"running":{}}}]}}""", "Running" },
        { "a running plain init container does", """{"metadata":{"name":"p"},"spec":{"initContainers":[{"name":"s"}]},"status":{"phase":"Pending","initContainerStatuses":[{"started":true,"state":{"running":{}}}]}}""", "Init:0/1" },
        { "a failed init container", """{"metadata":{"name":"p"},"spec":{"initContainers":[{"name":"a"}]},"status":{"phase":"Pending","initContainerStatuses":[{"state":{"terminated":{"exitCode":1,"reason":"Error"}}}]}}""", "Init:Error" },
        { "an init container in back-off", """{"metadata":{"name":"p"},"spec":{"initContainers":[{"name":"a"}]},"status":{"phase":"Pending","initContainerStatuses":[{"state":{"waiting":{"reason":"CrashLoopBackOff"}}}]}}""", "Init:CrashLoopBackOff" },
        { "a running pod being deleted", """{"metadata":{"name":"p","deletionTimestamp":"2026-01-01T00:00:00Z"},"status":{"phase":"Running","containerStatuses":[{"ready":true,"state":{"running":{}}}]}}""", "Terminating" },
        { "a finished pod being deleted", """{"metadata":{"name":"p","deletionTimestamp":"2026-01-01T00:00:00Z"},"status":{"phase":"Succeeded","containerStatuses":[{"state":{"terminated":{"exitCode":0,"reason":"Completed"}}}]}}""", "Completed" },
        { "an evicted pod", """{"metadata":{"name":"p"},"status":{"phase":"Failed","reason":"Evicted"}}""", "Evicted" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void The_status_cell_reads_as_kubectl_prints_it(string name, string pod, string expected) =>
        Assert.True(Status(pod) == expected, $"{name}: {Status(pod)} instead of {expected}");
}
