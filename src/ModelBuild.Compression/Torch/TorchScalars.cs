using TorchSharp;
using static TorchSharp.torch;

namespace ModelBuild.Compression.Torch;

/// <summary>
/// Scalar operands held for the whole call. TorchSharp turns a number argument (and the hidden alpha = 1 of
/// <c>add</c> on tensors) into a temporary <see cref="Scalar"/> whose native handle it passes on without keeping the
/// object alive, so a collection on another thread can finalize it while the native call still reads it (seen once in
/// CI as "toFloat ... Scalar.h" from <c>Tensor.add</c>; dotnet/TorchSharp#1434). The compressor passes Scalars it
/// holds: <see cref="Zero"/> and <see cref="One"/> are rooted for the process, the helpers below keep theirs in <c>using</c> variables, and
/// loops hold their own.
/// </summary>
internal static class TorchScalars
{
    public static readonly Scalar Zero = 0.ToScalar();
    public static readonly Scalar One = 1.ToScalar();

    /// <summary>a + b.</summary>
    public static Tensor Plus(this Tensor a, Tensor b) => a.add(b, One);

    /// <summary>a + s.</summary>
    public static Tensor Plus(this Tensor a, double s)
    {
        using var value = s.ToScalar();
        return a.add(value, One);
    }

    /// <summary>a · s.</summary>
    public static Tensor Times(this Tensor a, double s)
    {
        using var value = s.ToScalar();
        return a.mul(value);
    }

    /// <summary>a / s.</summary>
    public static Tensor Over(this Tensor a, double s)
    {
        using var value = s.ToScalar();
        return a.div(value);
    }

    /// <summary>a with s where <paramref name="mask"/> is true.</summary>
    public static Tensor Filled(this Tensor a, Tensor mask, double s)
    {
        using var value = s.ToScalar();
        return a.masked_fill(mask, value);
    }

    /// <summary>max(a, s) elementwise.</summary>
    public static Tensor AtLeast(this Tensor a, double s)
    {
        using var value = s.ToScalar();
        return a.clamp_min(value);
    }
}
