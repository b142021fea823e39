using AkkaKube.Tests.Infrastructure;
using System.Collections;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using Akka.Actor;
using AkkaKube.Actors.Serialization;
using Akka.TestKit.Xunit2;
using AkkaKube.Actors.Cluster;
using AkkaKube.Host;

namespace AkkaKube.Tests.ClusterSpecs;

/// <summary>
/// Every IAkkaKubeMessage in the Actors assembly (found by reflection, so new messages are covered) is bound to the
/// System.Text.Json serializer, never the default one, and a generated sample of each round-trips.
/// </summary>
public sealed class SerializerBindingTests : TestKit
{
    private readonly TempDir _data;

    public SerializerBindingTests() : this(new TempDir()) { }

    private SerializerBindingTests(TempDir data) : base(NodeConfig.Build(
        new NodeOptions { NodeName = "ser", NodeIp = System.Net.IPAddress.Loopback, RemotingPort = 0, DataDirectory = data.Path },
        NodeHost.HoconDirectory), "akkakube") => _data = data;

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing) _data.Dispose();
    }

    public static IEnumerable<object[]> MessageTypes() =>
        typeof(IAkkaKubeMessage).Assembly.GetTypes()
            .Where(t => typeof(IAkkaKubeMessage).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false, ContainsGenericParameters: false })
            .OrderBy(t => t.FullName, StringComparer.Ordinal)
            .Select(t => new object[] { t.FullName! });

    private static Type TypeOf(string name) => typeof(IAkkaKubeMessage).Assembly.GetType(name)!;

    [Fact]
    public void The_actors_assembly_has_akkakube_messages()
    {
        Assert.NotEmpty(MessageTypes());
    }

    [Theory]
    [MemberData(nameof(MessageTypes))]
    public void Every_message_type_is_bound_to_the_json_serializer(string typeName)
    {
        var serializer = Sys.Serialization.FindSerializerForType(TypeOf(typeName));
        Assert.IsType<AkkaKubeJsonSerializer>(serializer);
    }

    [Theory]
    [MemberData(nameof(MessageTypes))]
    public void A_generated_sample_of_every_message_type_round_trips(string typeName)
    {
        var type = TypeOf(typeName);
        var sample = Samples.Create(type, TestActor, 0)!;
        var serializer = (AkkaKubeJsonSerializer)Sys.Serialization.FindSerializerForType(type);
        var bytes = serializer.ToBinary(sample);
        var back = serializer.FromBinary(bytes, serializer.Manifest(sample));
        Assert.IsType(type, back);
        Assert.Equal(System.Text.Encoding.UTF8.GetString(bytes), System.Text.Encoding.UTF8.GetString(serializer.ToBinary(back)));
    }

    /// <summary>Builds sample values by type: constructor parameters of records are filled recursively.</summary>
    internal static class Samples
    {
        public static object? Create(Type type, IActorRef actor, int depth)
        {
            var underlying = Nullable.GetUnderlyingType(type);
            if (underlying is not null) return Create(underlying, actor, depth);
            if (type == typeof(string)) return "sample";
            if (type == typeof(int)) return 7;
            if (type == typeof(long)) return 42L;
            if (type == typeof(double)) return 1.5;
            if (type == typeof(bool)) return true;
            if (type == typeof(Guid)) return Guid.Parse("6f9619ff-8b86-d011-b42d-00cf4fc964ff");
            if (type == typeof(DateTime)) return new DateTime(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc);
            if (type == typeof(DateTimeOffset)) return new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);
            if (type == typeof(TimeSpan)) return TimeSpan.FromSeconds(3);
            if (type.IsEnum) return Enum.GetValues(type).GetValue(Enum.GetValues(type).Length - 1);
            if (typeof(IActorRef).IsAssignableFrom(type)) return actor;
            if (type == typeof(JsonNode) || type == typeof(JsonObject)) return JsonNode.Parse("""{"k":"v"}""");
            if (type == typeof(JsonElement)) return JsonDocument.Parse("""{"k":"v"}""").RootElement.Clone();
            if (type == typeof(byte[])) return new byte[] { 1, 2, 3 };
            if (type.IsArray)
            {
                var arr = Array.CreateInstance(type.GetElementType()!, 2);
                for (var i = 0; i < 2; i++) arr.SetValue(Create(type.GetElementType()!, actor, depth + 1), i);
                return arr;
            }
            if (type.IsGenericType)
            {
                var def = type.GetGenericTypeDefinition();
                var args = type.GetGenericArguments();
                if (args.Length == 2 && (def == typeof(IReadOnlyDictionary<,>) || def == typeof(IDictionary<,>) || def == typeof(Dictionary<,>)))
                {
                    var dict = (IDictionary)Activator.CreateInstance(typeof(Dictionary<,>).MakeGenericType(args))!;
                    dict[Create(args[0], actor, depth + 1)!] = Create(args[1], actor, depth + 1);
                    return dict;
                }
                if (args.Length == 1 && (def == typeof(IReadOnlyList<>) || def == typeof(IList<>) || def == typeof(List<>) || def == typeof(IEnumerable<>)
                                         || def == typeof(IReadOnlyCollection<>) || def == typeof(ICollection<>)))
                {
                    var list = (IList)Activator.CreateInstance(typeof(List<>).MakeGenericType(args))!;
                    list.Add(Create(args[0], actor, depth + 1));
                    list.Add(Create(args[0], actor, depth + 1));
                    return list;
                }
            }
            if (depth > 6) return null;
            var ctor = type.GetConstructors(BindingFlags.Public | BindingFlags.Instance).OrderByDescending(c => c.GetParameters().Length).FirstOrDefault()
                       ?? throw new InvalidOperationException($"{type.FullName} has no public constructor: System.Text.Json cannot rebuild it");
            return ctor.Invoke(ctor.GetParameters().Select(p => Create(p.ParameterType, actor, depth + 1)).ToArray());
        }
    }
}
