namespace ModelBuild.EndToEnd.Tests;

/// <summary>The csproj of a user's console app: the given items, plus whatever brings ModelBuild in (an Import or a PackageReference).</summary>
internal static class ConsoleProject
{
    public static string Xml(string rootNamespace, string items, string after = "") => $"""
        <Project Sdk="Microsoft.NET.Sdk">
          <PropertyGroup>
            <OutputType>Exe</OutputType>
            <TargetFramework>net10.0</TargetFramework>
            <Nullable>enable</Nullable>
            <ImplicitUsings>enable</ImplicitUsings>
            <RootNamespace>{rootNamespace}</RootNamespace>
          </PropertyGroup>
          <ItemGroup>
            {items}
          </ItemGroup>
          {after}
        </Project>
        """;
}
