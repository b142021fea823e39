using System.Text.Json.Nodes;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.Controllers;

/// <summary>
/// Kubernetes' slow-start creation (slowStartBatch): batches of 1, 2, 4 … up to a burst, stopping at the first failed
/// batch, so a systematic refusal (quota, validation) costs one call instead of hundreds.
/// </summary>
public static class SlowStart
{
    /// <param name="onCreated">called for each object created (events)</param>
    /// <param name="onAbandoned">called once on failure with how many were not created (expectations)</param>
    public static async Task CreateAsync(IKubeApi api, ApiResource resource, string? ns, IReadOnlyList<JsonObject> objects, int maxBurst,
        Action<JsonObject> onCreated, Action<int, Exception> onAbandoned)
    {
        var next = 0;
        var batch = 1;
        while (next < objects.Count)
        {
            var n = Math.Min(Math.Min(batch, objects.Count - next), maxBurst);
            var tasks = objects.Skip(next).Take(n).Select(o => api.CreateAsync(resource, ns, o.DeepClone().AsObject())).ToList();
            try
            {
                await Task.WhenAll(tasks);
            }
            catch
            {
                foreach (var t in tasks.Where(t => t.IsCompletedSuccessfully)) onCreated(t.Result);
                // a canceled call (a timeout) is a failure too; it has no Exception of its own
                var error = tasks.FirstOrDefault(t => t.IsFaulted)?.Exception?.InnerException
                            ?? new TaskCanceledException("the create call was canceled");
                onAbandoned(tasks.Count(t => !t.IsCompletedSuccessfully) + objects.Count - next - n, error);
                throw error;
            }
            foreach (var t in tasks) onCreated(t.Result);
            next += n;
            batch *= 2;
        }
    }
}
