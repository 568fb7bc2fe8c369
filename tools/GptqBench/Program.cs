using System.Diagnostics;
using ModelBuild.Compression.Quantization;
using ModelBuild.Compression.Sparsity;
using ModelBuild.Compression.Torch;
using static TorchSharp.torch;

// Usage: GptqBench [rows] [cols] [tokens]   e.g. 2048 5632 32768 (TinyLlama's down_proj with 16 x 2048 tokens)
int rows = args.Length > 0 ? int.Parse(args[0]) : 2048;
int cols = args.Length > 1 ? int.Parse(args[1]) : 5632;
int tokens = args.Length > 2 ? int.Parse(args[2]) : 32768;
TorchSharpLoader.EnsureLoaded();
set_num_threads(Environment.ProcessorCount);
manual_seed(0);
using var _ = no_grad();
var w = randn(rows, cols) * 0.02f;
var mix = eye(cols) + randn(cols, cols) * (0.5f / MathF.Sqrt(cols));

var sw = Stopwatch.StartNew();
var H = zeros(cols, cols);
const int chunk = 4096;
for (int t = 0; t < tokens; t += chunk)
{
    using var scope = NewDisposeScope();
    var x = randn(Math.Min(chunk, tokens - t), cols).matmul(mix);
    H.add_(x.t().matmul(x));
}
H.mul_(2.0f / tokens);
double hessianSeconds = sw.Elapsed.TotalSeconds;
Console.WriteLine($"Hessian of {tokens} tokens x {cols}: {hessianSeconds:F1} s ({2.0 * tokens * cols * cols / hessianSeconds / 1e9:F0} GFLOP/s; scales linearly with tokens)");

sw.Restart();
var result = GptqQuantizer.Quantize(w, H, new GptqOptions(4, 128, false, false, 0.01));
Console.WriteLine($"GPTQ int4 g128 on [{rows} x {cols}]: {sw.Elapsed.TotalSeconds:F1} s");
sw.Restart();
GptqQuantizer.Quantize(w, H, new GptqOptions(4, 128, false, true, 0.01));
Console.WriteLine($"GPTQ int4 g128 act-order on [{rows} x {cols}]: {sw.Elapsed.TotalSeconds:F1} s");
sw.Restart();
SparseGptPruner.Prune(w, H, SparsityPattern.TryParse("2:4")!, 0.01);
Console.WriteLine($"SparseGPT 2:4 on [{rows} x {cols}]: {sw.Elapsed.TotalSeconds:F1} s");
Console.WriteLine($"peak working set: {Process.GetCurrentProcess().PeakWorkingSet64 / 1048576.0:F0} MiB");
GC.KeepAlive(result);
