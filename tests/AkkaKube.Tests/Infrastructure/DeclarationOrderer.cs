using Xunit.Abstractions;
using Xunit.Sdk;

namespace AkkaKube.Tests.Infrastructure;

/// <summary>
/// Runs a class's tests in the order they are declared (by metadata token). For process-level classes that share
/// one cluster and end with a destructive step (a killed node): the destructive test is declared last.
/// Use: [TestCaseOrderer(DeclarationOrderer.TypeName, DeclarationOrderer.AssemblyName)].
/// </summary>
public sealed class DeclarationOrderer : ITestCaseOrderer
{
    public const string TypeName = "AkkaKube.Tests.Infrastructure.DeclarationOrderer";
    public const string AssemblyName = "AkkaKube.Tests";

    public IEnumerable<TTestCase> OrderTestCases<TTestCase>(IEnumerable<TTestCase> testCases) where TTestCase : ITestCase =>
        testCases.OrderBy(t => t.TestMethod.Method.ToRuntimeMethod().MetadataToken).ThenBy(t => t.DisplayName, StringComparer.Ordinal);
}
