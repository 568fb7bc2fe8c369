using ModelBuild.Compression.Ingestion;
using ModelBuild.Compression.Pipeline;
using ModelBuild.Compression.Quantization;
using ModelBuild.Compression.Spec;
using ModelBuild.Compression.Torch;
using ModelBuild.Runtime;
using ModelBuild.Runtime.Kernels;
using ModelBuild.Tests;
using static TorchSharp.torch;

namespace ModelBuild.Compression.Tests;

/// <summary>The packed runtime's logits against a TorchSharp forward of the same weights.</summary>
public class ReferenceForwardTests
{
    // Both sides compute in float32 from identical weights; differences come from summation order only.
    private const float Tolerance = 2e-3f;
    // Int8 activations (SIMD paths) on logits spanning ~20: measured 0.09 here.
    private const float SimdTolerance = 0.2f;

    private static float[] ReferenceLogits(Checkpoint cp, int[] ids, Func<string, float[], float[]> transform)
    {
        TorchSharpLoader.EnsureLoaded();
        using var scope = NewDisposeScope();
        var weights = TorchLlama.WeightShapes(cp.Config).ToDictionary(
            s => s.Name, s => tensor(transform(s.Name, cp.ReadTensor(s.Name, s.Shape))).view(s.Shape));
        var model = new TorchLlama(cp.Config, weights);
        using var _ = no_grad();
        return model.Forward(tensor(ids.Select(i => (long)i).ToArray()).view(1, ids.Length)).data<float>().ToArray();
    }

    private static float[] RuntimeLogits(string pack, int[] ids, KernelPath path = KernelPath.Scalar)
    {
        using var model = CausalLanguageModel.Load(pack, kernelPath: path);
        var logits = new float[ids.Length * model.Config.VocabSize];
        using var session = model.CreateSession();
        // Two chunks, so the KV cache path is exercised as well as prefill.
        session.Forward(ids.AsSpan(0, 20), logits, allLogits: true);
        session.Forward(ids.AsSpan(20), logits.AsSpan(20 * model.Config.VocabSize), allLogits: true);
        return logits;
    }

    private static int[] SampleIds(Checkpoint cp)
    {
        var tok = Runtime.Tokenization.ModelTokenizer.FromJson(cp.TokenizerJson, cp.Config.BosTokenId, cp.Config.EosTokenId);
        var ids = new List<int> { cp.Config.BosTokenId };
        ids.AddRange(tok.Encode(File.ReadAllText(RepoPaths.FixtureEvalText))[..47]);
        return ids.ToArray();
    }

    [Fact]
    public void F16_pack_logits_match_the_TorchSharp_reference()
    {
        var cp = Checkpoint.Open(RepoPaths.FixtureModel);
        using var dir = new RepoPaths.TempDir();
        new Compressor().Compress(cp, null, dir.File("f16.mbpack"));
        var ids = SampleIds(cp);
        var expected = ReferenceLogits(cp, ids, (_, w) => w);
        var actual = RuntimeLogits(dir.File("f16.mbpack"), ids);
        float maxDiff = expected.Zip(actual, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(maxDiff < Tolerance, $"max |logit difference| {maxDiff}");
        Assert.True(expected.Max() - expected.Min() > 5, "logits are not trivially flat");
        // The whole forward as ILGPU kernels (CPU accelerator here), float activations like the scalar path.
        var device = RuntimeLogits(dir.File("f16.mbpack"), ids, KernelPath.Ilgpu);
        float deviceDiff = expected.Zip(device, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(deviceDiff < Tolerance, $"ILGPU: max |logit difference| {deviceDiff}");
    }

    /// <summary>The fixture rewritten with another element type (its tokenizer and config copied beside it).</summary>
    internal static Checkpoint FixtureAs(RepoPaths.TempDir dir, TensorDType dtype, Func<string, float[], float[]>? transform = null)
    {
        var fixture = Checkpoint.Open(RepoPaths.FixtureModel);
        string model = dir.File("model-" + dtype);
        Directory.CreateDirectory(model);
        foreach (var f in Directory.GetFiles(RepoPaths.FixtureModel).Where(f => !f.EndsWith(".safetensors")))
            File.Copy(f, Path.Combine(model, Path.GetFileName(f)));
        SafetensorsWriter.Write(Path.Combine(model, "model.safetensors"), TorchLlama.WeightShapes(fixture.Config)
            .Select(t => (t.Name, t.Shape, (transform ?? ((_, w) => w))(t.Name, fixture.ReadTensor(t.Name, t.Shape)))), dtype);
        return Checkpoint.Open(model);
    }

    [Fact]
    public void A_bf16_checkpoint_stays_bf16_bit_for_bit_and_its_logits_match_the_reference()
    {
        using var dir = new RepoPaths.TempDir();
        var cp = FixtureAs(dir, TensorDType.BF16);
        new Compressor().Compress(cp, null, dir.File("bf16.mbpack"));
        using (var pack = Format.Pack.PackReader.Open(dir.File("bf16.mbpack")))
            foreach (var (name, shape) in TorchLlama.WeightShapes(cp.Config).Where(t => t.Shape.Length == 2))
            {
                var t = pack.Tensor(name);
                Assert.Equal(Format.Pack.TensorLayout.BF16, t.Format);
                var stored = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ushort>(pack.Part(t, "data")).ToArray()
                    .Select(Format.Pack.BFloat16Bits.ToSingle);
                Assert.Equal(cp.ReadTensor(name, shape), stored); // the checkpoint's own values, not re-rounded
            }
        var ids = SampleIds(cp);
        var expected = ReferenceLogits(cp, ids, (_, w) => w);
        Assert.True(expected.Max() - expected.Min() > 5, "logits are not trivially flat");
        // Dense weights keep float32 activations on every path, so all of them meet the tight tolerance.
        foreach (var path in new[] { KernelPath.Scalar, KernelPath.Avx2, KernelPath.Avx512, KernelPath.Ilgpu }.Where(KernelPaths.IsSupported))
        {
            var actual = RuntimeLogits(dir.File("bf16.mbpack"), ids, path);
            float maxDiff = expected.Zip(actual, (a, b) => Math.Abs(a - b)).Max();
            Assert.True(maxDiff < Tolerance, $"{path}: max |logit difference| {maxDiff}");
        }
    }

    [Fact]
    public void An_f32_matrix_beyond_the_f16_range_is_stored_as_bf16_not_as_infinities()
    {
        using var dir = new RepoPaths.TempDir();
        const string big = "model.layers.0.mlp.down_proj.weight";
        var cp = FixtureAs(dir, TensorDType.F32, (name, w) =>
        {
            if (name == big) w[7] = 1e5f;
            return w;
        });
        var log = new List<string>();
        new Compressor(log.Add).Compress(cp, null, dir.File("f32.mbpack"));
        using var pack = Format.Pack.PackReader.Open(dir.File("f32.mbpack"));
        var t = pack.Tensor(big);
        Assert.Equal(Format.Pack.TensorLayout.BF16, t.Format);
        ushort stored = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ushort>(pack.Part(t, "data"))[7];
        Assert.Equal(1e5f, Format.Pack.BFloat16Bits.ToSingle(stored), 1e5f * 1e-2f); // bf16 keeps 8 significant bits
        Assert.Contains(log, l => l.Contains(big) && l.Contains("bf16"));
        // Everything else fits f16, which keeps more mantissa bits than bf16.
        Assert.Equal(Format.Pack.TensorLayout.F16, pack.Tensor("model.layers.0.mlp.up_proj.weight").Format);
        Assert.Equal(Format.Pack.TensorLayout.F16, pack.Tensor("model.embed_tokens.weight").Format);
    }

    [Fact]
    public void Int4_pack_logits_match_the_reference_run_on_independently_dequantized_weights()
    {
        var cp = Checkpoint.Open(RepoPaths.FixtureModel);
        using var dir = new RepoPaths.TempDir();
        File.WriteAllText(dir.File("q.yaml"), "stages:\n  - quantize: { method: rtn, bits: 4, group_size: 128 }\n");
        new Compressor().Compress(cp, SpecParser.ParseFile(dir.File("q.yaml")), dir.File("q4.mbpack"));
        var ids = SampleIds(cp);
        var expected = ReferenceLogits(cp, ids, (name, w) =>
            LayerSelector.Matches(name, CompressionSpec.DefaultTargets, Array.Empty<string>())
                ? RtnQuantizer.Quantize(w, (int)cp.Entry(name).Shape[0], (int)cp.Entry(name).Shape[1], 4, 128, false).Dequantize()
                : w);
        var actual = RuntimeLogits(dir.File("q4.mbpack"), ids);
        float maxDiff = expected.Zip(actual, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(maxDiff < Tolerance, $"max |logit difference| {maxDiff}");
        var device = RuntimeLogits(dir.File("q4.mbpack"), ids, KernelPath.Ilgpu);
        float deviceDiff = expected.Zip(device, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(deviceDiff < Tolerance, $"ILGPU: max |logit difference| {deviceDiff}");
        var original = ReferenceLogits(cp, ids, (_, w) => w);
        float weightEffect = original.Zip(expected, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(weightEffect > 10 * Tolerance, "quantization should change the logits measurably");

        // The SIMD paths also round activations to int8 per 32 values (as llama.cpp does): a stated, smaller error.
        foreach (var path in new[] { KernelPath.Avx2, KernelPath.Avx512 }.Where(KernelPaths.IsSupported))
        {
            var simd = RuntimeLogits(dir.File("q4.mbpack"), ids, path);
            float simdDiff = expected.Zip(simd, (a, b) => Math.Abs(a - b)).Max();
            Assert.True(simdDiff < SimdTolerance && simdDiff < weightEffect / 2, $"{path}: max |logit difference| {simdDiff}; weight quantization moved logits by {weightEffect}");
        }
    }

    [Theory]
    [InlineData(true, Format.Pack.TensorLayout.GroupQuantizedSparse24, 3)]  // 2:4 then RTN int4: 3 bits per weight
    [InlineData(false, Format.Pack.TensorLayout.F16Sparse24, 9)]            // 2:4 only: 9 bits per weight
    public void Sparse24_packs_store_half_the_weights_and_their_logits_match_the_reference(bool quantize, string format, int bitsPerWeight)
    {
        var cp = Checkpoint.Open(RepoPaths.FixtureModel);
        using var dir = new RepoPaths.TempDir();
        File.WriteAllText(dir.File("s.yaml"), "stages:\n  - sparsify: { method: magnitude, pattern: \"2:4\" }\n"
            + (quantize ? "  - quantize: { method: rtn, bits: 4, group_size: 128 }\n" : ""));
        new Compressor().Compress(cp, SpecParser.ParseFile(dir.File("s.yaml")), dir.File("s24.mbpack"));
        using (var pack = Format.Pack.PackReader.Open(dir.File("s24.mbpack")))
        {
            var projections = pack.Manifest.Tensors.Where(t => t.Name.EndsWith("_proj.weight")).ToList();
            Assert.NotEmpty(projections);
            Assert.All(projections, t => Assert.Equal(format, t.Format));
            Assert.All(projections, t => Assert.Equal(t.Shape[0] * t.Shape[1] * bitsPerWeight / 8, t.Parts[quantize ? "qweight" : "data"].Length));
        }
        var ids = SampleIds(cp);
        var expected = ReferenceLogits(cp, ids, (name, w) =>
        {
            if (!LayerSelector.Matches(name, CompressionSpec.DefaultTargets, Array.Empty<string>())) return w;
            int rows = (int)cp.Entry(name).Shape[0], cols = (int)cp.Entry(name).Shape[1];
            var pruned = PruneSmallestTwoOfFour(w);
            return quantize ? RtnQuantizer.Quantize(pruned, rows, cols, 4, 128, false).Dequantize() : pruned.Select(v => (float)(Half)v).ToArray();
        });
        foreach (var path in new[] { KernelPath.Scalar, KernelPath.Ilgpu })
        {
            float diff = expected.Zip(RuntimeLogits(dir.File("s24.mbpack"), ids, path), (a, b) => Math.Abs(a - b)).Max();
            Assert.True(diff < Tolerance, $"{path}: max |logit difference| {diff}");
        }
        foreach (var path in new[] { KernelPath.Avx2, KernelPath.Avx512 }.Where(KernelPaths.IsSupported))
        {
            float diff = expected.Zip(RuntimeLogits(dir.File("s24.mbpack"), ids, path), (a, b) => Math.Abs(a - b)).Max();
            Assert.True(diff < (quantize ? SimdTolerance : Tolerance), $"{path}: max |logit difference| {diff}");
        }
    }

    /// <summary>2:4 magnitude pruning written out plainly: in every four columns the two smallest |w| become zero (ties: lower column first).</summary>
    private static float[] PruneSmallestTwoOfFour(float[] w)
    {
        var result = (float[])w.Clone();
        for (int q = 0; q < w.Length; q += 4)
            foreach (int i in Enumerable.Range(q, 4).OrderBy(i => Math.Abs(w[i])).ThenBy(i => i).Take(2)) result[i] = 0;
        return result;
    }
}
