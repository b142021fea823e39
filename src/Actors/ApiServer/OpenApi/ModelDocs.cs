using System.Text;
using System.Xml;

namespace AkkaKube.Actors.ApiServer.OpenApi;

/// <summary>
/// The field and type descriptions of the KubernetesClient models, read from the XML documentation
/// file the package ships beside its assembly (they are the Kubernetes API's own descriptions).
/// Without the file the schemas are generated without descriptions.
/// </summary>
public sealed class ModelDocs
{
    private const string Prefix = "k8s.Models.";
    private readonly Dictionary<string, string> _summaries;

    private ModelDocs(Dictionary<string, string> summaries) => _summaries = summaries;

    public static ModelDocs Empty { get; } = new([]);

    public int Count => _summaries.Count;

    /// <summary>The type's description ("T:k8s.Models.V1Deployment"), or null.</summary>
    public string? OfType(Type type) => _summaries.GetValueOrDefault("T:" + type.FullName);

    /// <summary>The property's description ("P:k8s.Models.V1DeploymentSpec.Strategy"), or null.</summary>
    public string? OfProperty(Type type, string property) => _summaries.GetValueOrDefault($"P:{type.FullName}.{property}");

    /// <summary>Loads KubernetesClient.xml from beside the assembly or the application; <see cref="Empty"/> when absent.</summary>
    public static ModelDocs Load()
    {
        var assembly = typeof(k8s.Models.V1Pod).Assembly.Location;
        var candidates = new[]
        {
            string.IsNullOrEmpty(assembly) ? null : Path.ChangeExtension(assembly, ".xml"),
            Path.Combine(AppContext.BaseDirectory, "KubernetesClient.xml"),
        };
        var file = candidates.FirstOrDefault(f => f is not null && File.Exists(f));
        return file is null ? Empty : Parse(file);
    }

    public static ModelDocs Parse(string file)
    {
        var summaries = new Dictionary<string, string>(StringComparer.Ordinal);
        using var reader = XmlReader.Create(file, new XmlReaderSettings { IgnoreComments = true, DtdProcessing = DtdProcessing.Prohibit });
        while (reader.ReadToFollowing("member"))
        {
            var name = reader.GetAttribute("name");
            // Only the models' types and properties; the rest of the file documents the client's API.
            if (name is null || name.Length < 3 || name[0] is not ('T' or 'P') || string.CompareOrdinal(name, 2, Prefix, 0, Prefix.Length) != 0)
                continue;
            using var member = reader.ReadSubtree();
            if (member.ReadToFollowing("summary"))
                summaries[name] = Normalize(member.ReadElementContentAsString());
        }
        return new ModelDocs(summaries);
    }

    /// <summary>The XML wraps and indents the text: lines join with spaces, blank lines stay paragraph breaks.</summary>
    private static string Normalize(string text)
    {
        var sb = new StringBuilder(text.Length);
        var blank = false;
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0)
            {
                blank = sb.Length > 0;
                continue;
            }
            if (sb.Length > 0) sb.Append(blank ? "\n\n" : " ");
            blank = false;
            sb.Append(line);
        }
        return sb.ToString();
    }
}
