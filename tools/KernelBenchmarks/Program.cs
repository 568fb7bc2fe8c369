using BenchmarkDotNet.Running;

// dotnet run -c Release --project tools/KernelBenchmarks -- --filter '*'
BenchmarkSwitcher.FromAssembly(typeof(ModelBuild.Tools.KernelBenchmarks.MatVecBenchmarks).Assembly).Run(args);
