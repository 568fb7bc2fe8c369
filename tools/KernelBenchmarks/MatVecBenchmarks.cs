using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using ModelBuild.Runtime.Kernels;
using ModelBuild.Runtime.Threading;
using ModelBuild.Runtime.Weights;

namespace ModelBuild.Tools.KernelBenchmarks;

/// <summary>
/// Decode-shaped products (one token) on a TinyLlama MLP matrix, per kernel path and thread count. The
/// matrix (5.8 MB at 4 bits) exceeds the caches only partly, so compare paths with each other, and use
/// `modelbuild bench` for bandwidth shares.
/// </summary>
[MemoryDiagnoser]
public unsafe class MatVecBenchmarks
{
    private byte* _q, _zeros;
    private Half* _scales;
    private GroupQuantizedMatrix _matrix = null!;
    private ActivationBatch _x = null!;
    private float[] _y = null!;
    private MatMul _matMul = null!;
    private WorkerPool _pool = null!;

    /// <summary>int4, int3 and int8 group-quantized, and int4 packed 2:4 (any bytes are valid codes, high bits and positions).</summary>
    [Params("int4", "int3", "int4-2:4", "int8")] public string Format = "int4";
    [Params(KernelPath.Avx2, KernelPath.Avx512)] public KernelPath Path;
    [Params(1, 2)] public int Threads;
    /// <summary>A TinyLlama MLP matrix (fits the 32 MB L3), and 64 of them stacked (streams from memory).</summary>
    [Params(5632, 5632 * 16)] public int Rows;

    public const int Cols = 2048, Group = 128;

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(1);
        int bits = Format == "int8" ? 8 : Format == "int3" ? 3 : 4;
        bool sparse = Format == "int4-2:4";
        long bytes = (long)Rows * Cols * (sparse ? 3 : bits) / 8;
        _q = (byte*)NativeMemory.AlignedAlloc((nuint)bytes, 64);
        for (long i = 0; i < bytes; i++) _q[i] = (byte)rng.Next(256);
        int groups = Rows * Cols / Group;
        _scales = (Half*)NativeMemory.AlignedAlloc((nuint)groups * 2, 64);
        _zeros = (byte*)NativeMemory.AlignedAlloc((nuint)groups, 64);
        for (int i = 0; i < groups; i++) { _scales[i] = (Half)0.01f; _zeros[i] = (byte)(bits == 8 ? 128 : 8); }
        _matrix = sparse ? GroupQuantizedMatrix.Sparse24(_q, _scales, _zeros, Rows, Cols, bits, Group)
            : new GroupQuantizedMatrix(_q, _scales, _zeros, Rows, Cols, bits, Group);
        _x = new ActivationBatch(1, Cols);
        _x.Reset(1);
        for (int i = 0; i < Cols; i++) _x.Values[i] = rng.NextSingle() - 0.5f;
        _y = new float[Rows];
        _pool = new WorkerPool(Threads);
        _matMul = new MatMul(_pool, Path);
    }

    [Benchmark]
    public void MatVec() => _matMul.Multiply(_matrix, _x, _y);

    [GlobalCleanup]
    public void Cleanup()
    {
        _pool.Dispose();
        NativeMemory.AlignedFree(_q);
        NativeMemory.AlignedFree(_scales);
        NativeMemory.AlignedFree(_zeros);
    }
}
