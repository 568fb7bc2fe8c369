using ModelBuild.Format.Config;
using ModelBuild.Format.Pack;
using ModelBuild.Runtime.Weights;

namespace ModelBuild.Runtime.Llama;

/// <summary>Views over a pack's tensors, named as in Hugging Face checkpoints. Nothing is copied but the small norm vectors.</summary>
public sealed class LlamaWeights
{
    public sealed record Layer(
        float[] InputNorm, IWeightMatrix Q, IWeightMatrix K, IWeightMatrix V, float[]? QBias, float[]? KBias, float[]? VBias,
        IWeightMatrix O, float[] PostAttentionNorm, IWeightMatrix Gate, IWeightMatrix Up, IWeightMatrix Down);

    public IWeightMatrix Embedding { get; }
    public Layer[] Layers { get; }
    public float[] FinalNorm { get; }
    public IWeightMatrix LmHead { get; }

    /// <summary>Bytes one decoded token reads: every layer matrix and the head once, and one embedding row.</summary>
    public long BytesPerToken =>
        Matrices.Sum(m => m.PackedBytes) + Embedding.PackedBytes / Embedding.Rows;

    private LlamaWeights(IWeightMatrix embedding, Layer[] layers, float[] finalNorm, IWeightMatrix lmHead) =>
        (Embedding, Layers, FinalNorm, LmHead) = (embedding, layers, finalNorm, lmHead);

    /// <summary>The same weights with every projection and the head replaced by <paramref name="map"/> (e.g. device copies); the embedding stays.</summary>
    public LlamaWeights MapMatrices(Func<IWeightMatrix, IWeightMatrix> map) => new(
        Embedding,
        Layers.Select(l => l with { Q = map(l.Q), K = map(l.K), V = map(l.V), O = map(l.O), Gate = map(l.Gate), Up = map(l.Up), Down = map(l.Down) }).ToArray(),
        FinalNorm,
        map(LmHead));

    /// <summary>Every matrix a token passes through.</summary>
    public IEnumerable<IWeightMatrix> Matrices => Layers.SelectMany(l => new[] { l.Q, l.K, l.V, l.O, l.Gate, l.Up, l.Down }).Append(LmHead);

    public LlamaWeights(PackReader pack, LlamaConfig c)
    {
        int q = c.NumAttentionHeads * c.HeadDim, kv = c.NumKeyValueHeads * c.HeadDim;
        Embedding = Matrix(pack, "model.embed_tokens.weight", c.VocabSize, c.HiddenSize);
        Layers = new Layer[c.NumHiddenLayers];
        for (int l = 0; l < c.NumHiddenLayers; l++)
        {
            string p = $"model.layers.{l}.";
            Layers[l] = new Layer(
                Vector(pack, p + "input_layernorm.weight", c.HiddenSize),
                Matrix(pack, p + "self_attn.q_proj.weight", q, c.HiddenSize),
                Matrix(pack, p + "self_attn.k_proj.weight", kv, c.HiddenSize),
                Matrix(pack, p + "self_attn.v_proj.weight", kv, c.HiddenSize),
                c.AttentionBias ? Vector(pack, p + "self_attn.q_proj.bias", q) : null,
                c.AttentionBias ? Vector(pack, p + "self_attn.k_proj.bias", kv) : null,
                c.AttentionBias ? Vector(pack, p + "self_attn.v_proj.bias", kv) : null,
                Matrix(pack, p + "self_attn.o_proj.weight", c.HiddenSize, q),
                Vector(pack, p + "post_attention_layernorm.weight", c.HiddenSize),
                Matrix(pack, p + "mlp.gate_proj.weight", c.IntermediateSize, c.HiddenSize),
                Matrix(pack, p + "mlp.up_proj.weight", c.IntermediateSize, c.HiddenSize),
                Matrix(pack, p + "mlp.down_proj.weight", c.HiddenSize, c.IntermediateSize));
        }
        FinalNorm = Vector(pack, "model.norm.weight", c.HiddenSize);
        LmHead = c.TieWordEmbeddings && !pack.HasTensor("lm_head.weight") ? Embedding : Matrix(pack, "lm_head.weight", c.VocabSize, c.HiddenSize);
    }

    private static unsafe IWeightMatrix Matrix(PackReader pack, string name, int rows, int cols)
    {
        var t = pack.Tensor(name);
        if (t.Shape.Length != 2 || t.Shape[0] != rows || t.Shape[1] != cols)
            throw new PackFormatException(pack.Path, $"tensor '{name}' has shape [{string.Join(",", t.Shape)}], the architecture needs [{rows},{cols}].");
        if (DenseElementOf(t.Format) is { } element) return new DenseMatrix(pack.PartPointer(t, "data"), rows, cols, element);
        return t.Format switch
        {
            TensorLayout.GroupQuantized => GroupQuantized(pack, t, rows, cols),
            TensorLayout.F16Sparse24 => new Sparse24HalfMatrix(pack.PartPointer(t, "data"), rows, cols),
            TensorLayout.GroupQuantizedSparse24 => GroupQuantizedMatrix.Sparse24(pack.PartPointer(t, "qweight"), (Half*)pack.PartPointer(t, "scales"),
                pack.PartPointer(t, "zeros"), rows, cols, t.Bits, t.GroupSize),
            _ => throw new PackFormatException(pack.Path, $"tensor '{name}' has format '{t.Format}', which this runtime cannot run."),
        };
    }

    private static unsafe GroupQuantizedMatrix GroupQuantized(PackReader pack, TensorEntry t, int rows, int cols)
    {
        int* rowStart = null, columns = null;
        Half* values = null;
        if (t.OutlierCount > 0)
        {
            rowStart = (int*)pack.PartPointer(t, "outlier_rows");
            columns = (int*)pack.PartPointer(t, "outlier_cols");
            values = (Half*)pack.PartPointer(t, "outlier_values");
            GroupQuantizedMatrix.ValidateOutliers(rowStart, columns, rows, cols, t.OutlierCount, t.Name, pack.Path);
        }
        return new GroupQuantizedMatrix(pack.PartPointer(t, "qweight"), (Half*)pack.PartPointer(t, "scales"), pack.PartPointer(t, "zeros"),
            rows, cols, t.Bits, t.GroupSize, rowStart, columns, values);
    }

    private static float[] Vector(PackReader pack, string name, int length)
    {
        var t = pack.Tensor(name);
        if (t.Shape.Length != 1 || t.Shape[0] != length)
            throw new PackFormatException(pack.Path, $"tensor '{name}' has shape [{string.Join(",", t.Shape)}], the architecture needs [{length}].");
        var m = Matrix1D(pack, t, length);
        var v = new float[length];
        m.DequantizeRow(0, v);
        return v;
    }

    private static unsafe IWeightMatrix Matrix1D(PackReader pack, TensorEntry t, int length) =>
        DenseElementOf(t.Format) is { } element
            ? new DenseMatrix(pack.PartPointer(t, "data"), 1, length, element)
            : throw new PackFormatException(pack.Path, $"tensor '{t.Name}' must be f32, f16 or bf16.");

    /// <summary>The element type of a pack format that stores plain floats; null for the packed ones.</summary>
    private static DenseElement? DenseElementOf(string format) => format switch
    {
        TensorLayout.F32 => DenseElement.F32,
        TensorLayout.F16 => DenseElement.F16,
        TensorLayout.BF16 => DenseElement.BF16,
        _ => null,
    };
}
