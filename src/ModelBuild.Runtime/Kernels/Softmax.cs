using System.Numerics.Tensors;

namespace ModelBuild.Runtime.Kernels;

/// <summary>Numerically stable softmax: TensorPrimitives.SoftMax does not subtract the maximum, so large scores overflow exp.</summary>
public static class Softmax
{
    public static void InPlace(Span<float> x)
    {
        float max = TensorPrimitives.Max(x);
        TensorPrimitives.Subtract(x, max, x);
        TensorPrimitives.Exp(x, x);
        TensorPrimitives.Divide(x, TensorPrimitives.Sum(x), x);
    }
}
