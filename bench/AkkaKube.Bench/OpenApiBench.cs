using System.Diagnostics;
using System.Text.Json.Nodes;
using AkkaKube.Actors.ApiServer.OpenApi;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Bench;

/// <summary>
/// What generating the OpenAPI documents costs an apiserver: reading the models' descriptions,
/// the first (cold) generation, a regeneration with one more kind (a CRD appearing), and the sizes served.
/// </summary>
public sealed class OpenApiBench : IBenchmark
{
    public string Name => "openapi";
    public string Description => "OpenAPI v2/v3 generation from the model types: time and document sizes";

    public Task RunAsync(BenchReport report, bool smoke, string[] args, CancellationToken ct)
    {
        var registry = AkkaKube.Actors.ApiServer.Registry.ApiRegistry.CreateBuiltIn();
        var setup = $"{registry.Registrations.Count} served kinds";
        var clock = Stopwatch.StartNew();
        var docs = ModelDocs.Load();
        report.Figure(Name, "read model descriptions (XML)", clock.Elapsed.TotalMilliseconds, "ms", $"{docs.Count} members");

        var kinds = OpenApiService.Served(registry);
        clock.Restart();
        var models = new ModelSchemas(docs);
        var first = OpenApiDocuments.Build(kinds, models);
        report.Figure(Name, "first generation (cold: reflection+JIT)", clock.Elapsed.TotalMilliseconds, "ms", setup);
        report.Figure(Name, "definitions generated", models.Definitions.Count, "schemas", setup);

        var rounds = smoke ? 3 : 20;
        var samples = new List<double>();
        for (var i = 0; i < rounds; i++)
        {
            clock.Restart();
            OpenApiDocuments.Build(kinds, new ModelSchemas(docs));
            samples.Add(clock.Elapsed.TotalMilliseconds);
        }
        samples.Sort();
        report.Figure(Name, "generation, warm (median)", samples[samples.Count / 2], "ms", $"{setup}, {rounds} rounds");

        var crd = new OpenApiKind(new ApiResource("stable.example.com", "v1", "crontabs", "CronTab", true),
            JsonNode.Parse("""{"type":"object","properties":{"spec":{"type":"object","properties":{"cronSpec":{"type":"string"},"replicas":{"type":"integer"}}}}}""")!.AsObject());
        samples.Clear();
        for (var i = 0; i < rounds; i++)
        {
            clock.Restart();
            OpenApiDocuments.Build([.. kinds, crd], models);
            samples.Add(clock.Elapsed.TotalMilliseconds);
        }
        samples.Sort();
        report.Figure(Name, "regeneration with one more kind (median)", samples[samples.Count / 2], "ms", "model schemas cached");

        report.Figure(Name, "/openapi/v2 size", first.V2.Content.Length / 1024.0, "KiB", setup);
        report.Figure(Name, "/openapi/v3 root size", first.V3Root.Content.Length / 1024.0, "KiB", $"{first.V3.Count} group-versions");
        report.Figure(Name, "/openapi/v3 group-versions, total size", first.V3.Values.Sum(b => b.Content.Length) / 1024.0, "KiB", $"{first.V3.Count} group-versions");
        var largest = first.V3.MaxBy(kv => kv.Value.Content.Length);
        report.Figure(Name, $"/openapi/v3/{largest.Key} size (largest)", largest.Value.Content.Length / 1024.0, "KiB", setup);
        return Task.CompletedTask;
    }
}
