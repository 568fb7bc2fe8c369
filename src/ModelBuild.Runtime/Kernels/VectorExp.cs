using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace ModelBuild.Runtime.Kernels;

/// <summary>
/// e^x for eight floats: a Cody–Waite range reduction and a degree-6 Taylor polynomial, relative error at most 2.3e-7
/// (TensorPrimitives.Exp is as accurate but about three times the work per value here, and decode's serial work calls it
/// between products).
/// </summary>
internal static class VectorExp
{
    // e^x = 2^n · e^r with n = round(x · log2 e) and r = x − n · ln 2, |r| ≤ ln 2 / 2; ln 2 split in two so n · ln2Hi is exact.
    private const float Log2E = 1.44269504f, Ln2Hi = 0.693359375f, Ln2Lo = -2.12194440e-4f;
    // Adding 1.5 · 2^23 rounds to an integer held in the low mantissa bits.
    private const float RoundingShift = 12582912f;
    // e^x stays a normal float inside this range.
    private const float MinExponent = -87.3f, MaxExponent = 88f;

    /// <summary>
    /// e^x per lane: 0 below −87.3 (so e^−∞ is 0, as a softmax over masked scores needs), e^88 above 88, a NaN stays NaN.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Exp(Vector256<float> x)
    {
        var underflows = Vector256.LessThan(x, Vector256.Create(MinExponent));
        x = Vector256.Min(Vector256.Max(x, Vector256.Create(MinExponent)), Vector256.Create(MaxExponent));
        var shifted = Vector256.FusedMultiplyAdd(x, Vector256.Create(Log2E), Vector256.Create(RoundingShift));
        var n = shifted - Vector256.Create(RoundingShift);
        var r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-Ln2Hi), x);
        r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-Ln2Lo), r);
        // Σ r^k / k! for k ≤ 6, Horner's rule.
        var p = Vector256.Create(1f / 720);
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1f / 120));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1f / 24));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1f / 6));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(0.5f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256<float>.One);
        p = Vector256.FusedMultiplyAdd(p, r, Vector256<float>.One);
        // 2^n from n's bits: the shifted sum's low mantissa bits hold n; move them to the exponent and add the bias.
        var twoToN = (Vector256.ShiftLeft(shifted.AsInt32(), 23) + Vector256.Create(127 << 23)).AsSingle();
        return Vector256.AndNot(p * twoToN, underflows);
    }
}
