using TorchSharp;

namespace ModelBuild.Compression.Torch;

/// <summary>
/// Scalar operands for the compressor's hot loops. TorchSharp turns a number argument (and the hidden alpha = 1 of
/// <c>add</c>/<c>sub</c> on tensors) into a temporary <see cref="Scalar"/> whose native handle it passes on without keeping
/// the object alive, so a collection on another thread can finalize it while the native call still reads it (seen once in
/// CI as "toFloat ... Scalar.h" from <c>Tensor.add</c>). The loops pass Scalars they hold: this one is rooted for the
/// process, per-call ones live in <c>using</c> variables.
/// </summary>
internal static class TorchScalars
{
    public static readonly Scalar One = 1.ToScalar();
}
