using System.Runtime.Intrinsics;

namespace ModelBuild.Runtime.Kernels;

/// <summary>
/// The MLP's gating, gate ← SiLU(gate) · up = gate · up / (1 + e^−gate), in one pass (<see cref="VectorExp"/>). Decode
/// runs it on one thread between two products, where three TensorPrimitives passes (multiply, sigmoid, multiply) took
/// 7–9 µs per layer for 5632 values and this one takes 3.5–4.
/// </summary>
public static class SwiGlu
{
    public static void InPlace(Span<float> gate, ReadOnlySpan<float> up)
    {
        if (up.Length < gate.Length) throw new ArgumentException("up is shorter than gate.", nameof(up));
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; i + 8 <= gate.Length; i += 8)
            {
                var g = Vector256.Create<float>(gate[i..]);
                var u = Vector256.Create<float>(up[i..]);
                (g * u / (Vector256<float>.One + VectorExp.Exp(-g))).CopyTo(gate[i..]);
            }
        for (; i < gate.Length; i++) gate[i] = gate[i] * up[i] / (1f + MathF.Exp(-gate[i]));
    }
}
