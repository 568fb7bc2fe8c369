using ILGPU;
using ILGPU.Runtime;
using ModelBuild.Runtime.Kernels;
using ModelBuild.Runtime.Weights;

namespace ModelBuild.Runtime.Gpu;

/// <summary>
/// A pack matrix copied to an ILGPU device once (codes stay packed; scales and zero points as f32; all of it
/// row-interleaved, <see cref="RowInterleaving"/>), multiplied there. Through <see cref="IWeightMatrix"/> activations go up and results come back per call; the device forward
/// (<see cref="IlgpuForward"/>) multiplies device-resident activations with <see cref="Multiply"/> instead.
/// Not thread-safe: the forward calls it from one thread.
/// </summary>
public sealed unsafe class IlgpuMatrix : IWeightMatrix, IDisposable
{
    private readonly IWeightMatrix _source;
    private readonly IlgpuDevice _device;
    private readonly MemoryBuffer1D<uint, Stride1D.Dense>? _codes;
    private readonly MemoryBuffer1D<float, Stride1D.Dense>? _values; // scales (group-quantized) or f32 weights
    private readonly MemoryBuffer1D<ushort, Stride1D.Dense>? _sixteenBit; // f16 or bf16 weights
    private readonly bool _bfloat16;
    private readonly MemoryBuffer1D<float, Stride1D.Dense>? _zeros;
    private readonly MemoryBuffer1D<int, Stride1D.Dense> _outlierRowStart, _outlierCols;
    private readonly MemoryBuffer1D<float, Stride1D.Dense> _outlierValues;
    private readonly int _groupSize, _containerBits;
    private MemoryBuffer1D<float, Stride1D.Dense>? _x, _y;
    private MemoryBuffer1D<float, Stride1D.Dense>? _partial; // the column slices' sums (ProductSlices), made on first need
    private float[] _result = [];

    public IlgpuDevice Device => _device;
    public int Rows => _source.Rows;
    public int Cols => _source.Cols;
    /// <summary>Bytes a pass over the device copy reads (scales and zero points are f32 there; 2:4 rows expanded).</summary>
    public long PackedBytes => (_codes?.LengthInBytes ?? 0) + (_values?.LengthInBytes ?? 0) + (_zeros?.LengthInBytes ?? 0)
        + (_sixteenBit?.LengthInBytes ?? 0) + (_outlierRowStart.Length > 1 ? _outlierRowStart.LengthInBytes + _outlierCols.LengthInBytes + _outlierValues.LengthInBytes : 0);

    public IlgpuMatrix(IWeightMatrix source, IlgpuDevice device)
    {
        _source = source;
        _device = device;
        var acc = device.Accelerator;
        if (source is GroupQuantizedMatrix gq)
        {
            var (codes, scales, zeros, rowStart, cols, values) = gq.HostCopies();
            int rows = source.Rows, groups = source.Cols / gq.GroupSize;
            _codes = acc.Allocate1D(RowInterleaving.Words(codes, rows, ((long)source.Cols * gq.ContainerBits + 7) / 8));
            _values = acc.Allocate1D(RowInterleaving.Items(scales, rows, groups));
            _zeros = acc.Allocate1D(RowInterleaving.Items(zeros, rows, groups));
            _outlierRowStart = acc.Allocate1D(rowStart);
            _outlierCols = acc.Allocate1D(cols);
            _outlierValues = acc.Allocate1D(values);
            _groupSize = gq.GroupSize;
            _containerBits = gq.ContainerBits;
        }
        else if (SixteenBitSource(source) is { } dense)
        {
            _bfloat16 = dense.Element == DenseElement.BF16;
            _sixteenBit = acc.Allocate1D(_bfloat16
                ? RowInterleaving.Rows(dense, Format.Pack.BFloat16Bits.FromSingle)
                : RowInterleaving.Rows(dense, v => BitConverter.HalfToUInt16Bits((System.Half)v))); // exact: the values come from f16
            _outlierRowStart = acc.Allocate1D<int>(1);
            _outlierCols = acc.Allocate1D<int>(1);
            _outlierValues = acc.Allocate1D<float>(1);
        }
        else
        {
            _values = acc.Allocate1D(RowInterleaving.Rows(source, v => v));
            _outlierRowStart = acc.Allocate1D<int>(1);
            _outlierCols = acc.Allocate1D<int>(1);
            _outlierValues = acc.Allocate1D<float>(1);
        }
    }

    /// <summary>The 16-bit dense matrix a source's weights are exact in, if any (2:4 f16 rows expanded).</summary>
    private static DenseMatrix? SixteenBitSource(IWeightMatrix source) => source switch
    {
        DenseMatrix { Element: DenseElement.F16 or DenseElement.BF16 } dense => dense,
        Sparse24HalfMatrix sparse => sparse.ExpandToDense(),
        _ => null,
    };

    public void DequantizeRow(int row, Span<float> dst) => _source.DequantizeRow(row, dst);

    public bool UsesInt8Activations(KernelPath path, ActivationBatch x) => false;

    public void MultiplyRows(ActivationBatch x, float* y, int yStride, int rowStart, int rowEnd, KernelPath path)
    {
        var acc = _device.Accelerator;
        long inputs = (long)x.Tokens * Cols, outputs = (long)x.Tokens * Rows;
        if (_x is null || _x.Length < inputs) { _x?.Dispose(); _x = acc.Allocate1D<float>(x.MaxTokens * (long)Cols); }
        if (_y is null || _y.Length < outputs) { _y?.Dispose(); _y = acc.Allocate1D<float>(x.MaxTokens * (long)Rows); }
        ArrayView<float> xView = _x.View, yView = _y.View;
        xView.SubView(0, inputs).CopyFromCPU(x.Values.AsSpan(0, (int)inputs));
        Launch(xView, yView, rowStart, rowEnd - rowStart, x.Tokens);
        acc.Synchronize();
        if (_result.Length < outputs) _result = new float[x.MaxTokens * (long)Rows];
        yView.SubView(0, outputs).CopyToCPU(_result.AsSpan(0, (int)outputs));
        for (int t = 0; t < x.Tokens; t++)
            for (int r = rowStart; r < rowEnd; r++) y[(long)t * yStride + r] = _result[(long)t * Rows + r];
    }

    /// <summary>y[t, r] = Σ_c W[r, c] · x[t, c] for <paramref name="tokens"/> tokens already on the device; queued, not waited for.</summary>
    public void Multiply(ArrayView<float> x, ArrayView<float> y, int tokens) => Launch(x, y, 0, Rows, tokens);

    /// <summary>Queues the product for rows rowStart…rowStart+rowCount−1 of <paramref name="tokens"/> tokens; y is [tokens, Rows].</summary>
    private void Launch(ArrayView<float> x, ArrayView<float> y, int rowStart, int rowCount, int tokens)
    {
        var s = ProductSlices.For(rowStart, rowCount, Rows, Cols, tokens, _codes is not null ? Cols / _groupSize : Cols, _groupSize, _containerBits);
        var launch = new Index3D(rowCount, tokens, s.Slices);
        ArrayView<float> target = y;
        if (s.Slices > 1)
        {
            long partials = (long)s.Slices * tokens * rowCount;
            if (_partial is null || _partial.Length < partials) { _partial?.Dispose(); _partial = _device.Accelerator.Allocate1D<float>(partials); }
            target = _partial.View;
        }
        if (_codes is not null)
            _device.GroupQuantized(launch, _codes.View, _values!.View, _zeros!.View, _outlierRowStart.View, _outlierCols.View, _outlierValues.View, x, target, s);
        else if (_sixteenBit is not null)
            _device.Dense16(launch, _sixteenBit.View, x, target, s, _bfloat16 ? 1 : 0);
        else
            _device.Dense(launch, _values!.View, x, target, s);
        if (s.Slices > 1) _device.SumSlices(new Index2D(rowCount, tokens), target, y, s);
    }

    public void Dispose()
    {
        _codes?.Dispose();
        _values?.Dispose();
        _sixteenBit?.Dispose();
        _zeros?.Dispose();
        _outlierRowStart.Dispose();
        _outlierCols.Dispose();
        _outlierValues.Dispose();
        _x?.Dispose();
        _y?.Dispose();
        _partial?.Dispose();
    }
}
