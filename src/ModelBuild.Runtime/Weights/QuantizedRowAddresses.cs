using ModelBuild.Format.Pack;

namespace ModelBuild.Runtime.Weights;

/// <summary>
/// Where row r of a group-quantized matrix keeps its codes, f16 scales and u8 zero points, in either pack layout:
/// three row-major arrays, or a tile of rows at a time (<see cref="RowTileLayout"/>). Both are tiles of
/// <see cref="RowTileLayout.Rows"/> rows with a stride per part, so one formula serves both, and the rows of one tile
/// are contiguous in every part (a kernel steps through a tile's rows by a fixed row size).
/// </summary>
internal readonly unsafe struct QuantizedRowAddresses
{
    private const int Tile = RowTileLayout.Rows;
    private readonly byte* _codes, _scales, _zeros;
    private readonly long _codeTileStride, _scaleTileStride, _zeroTileStride, _rowBytes, _groups;

    private QuantizedRowAddresses(byte* codes, long codeTileStride, byte* scales, long scaleTileStride, byte* zeros, long zeroTileStride,
        long rowBytes, long groups, bool tiled)
    {
        _codes = codes;
        _scales = scales;
        _zeros = zeros;
        (_codeTileStride, _scaleTileStride, _zeroTileStride) = (codeTileStride, scaleTileStride, zeroTileStride);
        (_rowBytes, _groups, IsTiled) = (rowBytes, groups, tiled);
    }

    /// <summary>The row layout: parts "qweight" [rows, rowBytes], "scales" and "zeros" [rows, groups].</summary>
    public static QuantizedRowAddresses RowMajor(byte* codes, Half* scales, byte* zeros, long rowBytes, long groups) =>
        new(codes, Tile * rowBytes, (byte*)scales, Tile * groups * 2, zeros, Tile * groups, rowBytes, groups, tiled: false);

    /// <summary>The tiled layout: one part "tiles".</summary>
    public static QuantizedRowAddresses Tiled(byte* tiles, long rowBytes, long groups)
    {
        var layout = new RowTileLayout(rowBytes, groups);
        return new(tiles + layout.HeaderBytes, layout.TileBytes, tiles, layout.TileBytes, tiles + layout.ScaleBytes, layout.TileBytes, rowBytes, groups, tiled: true);
    }

    /// <summary>Scales and zero points stay where they are; the codes come from a row-major array of <paramref name="rowBytes"/> per row.</summary>
    public QuantizedRowAddresses WithRowMajorCodes(byte* codes, long rowBytes) =>
        new(codes, Tile * rowBytes, _scales, _scaleTileStride, _zeros, _zeroTileStride, rowBytes, _groups, tiled: false);

    /// <summary>Whether scales and zero points sit beside the codes, so a stream over the codes also brings them in.</summary>
    public bool IsTiled { get; }

    public byte* Codes(long row) => _codes + row / Tile * _codeTileStride + row % Tile * _rowBytes;

    public Half* Scales(long row) => (Half*)(_scales + row / Tile * _scaleTileStride + row % Tile * _groups * 2);

    public byte* Zeros(long row) => _zeros + row / Tile * _zeroTileStride + row % Tile * _groups;

    /// <summary>The end of the run of contiguous rows that starts at <paramref name="row"/>: its tile's end, at most <paramref name="end"/>.</summary>
    public static int RunEnd(int row, int end) => Math.Min(end, (row / Tile + 1) * Tile);
}
