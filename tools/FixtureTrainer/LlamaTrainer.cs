using System.Diagnostics;
using ModelBuild.Compression.Torch;
using ModelBuild.Format.Config;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace ModelBuild.Tools.FixtureTrainer;

public sealed record TrainingResult(List<(string Name, long[] Shape, float[] Data)> Weights, int Steps, long TokensSeen, double EvalPerplexity, double FinalTrainLoss, TimeSpan Elapsed);

/// <summary>AdamW with warmup and cosine decay on random windows (BOS + 255 tokens) of the training stream.</summary>
public static class LlamaTrainer
{
    public static TrainingResult Train(LlamaConfig config, int[] trainIds, int[] evalIds, int seqLen, int batch, int totalSteps)
    {
        var parameters = new Dictionary<string, Parameter>();
        double residualStd = 0.02 / Math.Sqrt(2 * config.NumHiddenLayers);
        foreach (var (name, shape) in TorchLlama.WeightShapes(config))
        {
            Tensor init = shape.Length == 1 ? ones(shape)
                : name.EndsWith("o_proj.weight") || name.EndsWith("down_proj.weight") ? randn(shape) * residualStd
                : randn(shape) * 0.02;
            parameters[name] = new Parameter(init);
        }
        var model = new TorchLlama(config, parameters.ToDictionary(kv => kv.Key, kv => (Tensor)kv.Value));
        var decay = parameters.Where(kv => kv.Value.dim() == 2).Select(kv => kv.Value).ToList();
        var noDecay = parameters.Where(kv => kv.Value.dim() == 1).Select(kv => kv.Value).ToList();
        const double peakLr = 3e-3, minLr = 3e-4;
        var optimizer = optim.AdamW(new[]
        {
            new AdamW.ParamGroup(decay, new AdamW.Options { LearningRate = peakLr, weight_decay = 0.1, beta1 = 0.9, beta2 = 0.95 }),
            new AdamW.ParamGroup(noDecay, new AdamW.Options { LearningRate = peakLr, weight_decay = 0.0, beta1 = 0.9, beta2 = 0.95 }),
        });
        var rng = new Random(0);
        var sw = Stopwatch.StartNew();
        int step = 0, warmup = 30;
        double lossValue = 0;
        while (step < totalSteps)
        {
            double lr = step < warmup ? peakLr * (step + 1) / warmup
                : minLr + 0.5 * (peakLr - minLr) * (1 + Math.Cos(Math.PI * Math.Min(1.0, (step - warmup) / (double)Math.Max(1, totalSteps - warmup))));
            foreach (var g in optimizer.ParamGroups) g.LearningRate = lr;
            using (NewDisposeScope())
            {
                var (input, target) = SampleBatch(trainIds, seqLen, batch, rng, config.BosTokenId);
                var logits = model.Forward(input);
                var loss = F.cross_entropy(logits.view(-1, config.VocabSize), target.view(-1));
                optimizer.zero_grad();
                loss.backward();
                nn.utils.clip_grad_norm_(parameters.Values, 1.0);
                optimizer.step();
                lossValue = loss.item<float>();
            }
            step++;
            if (step % 50 == 0 || step == totalSteps)
                Console.WriteLine($"step {step}/{totalSteps} loss {lossValue:F3} lr {lr:G3} {sw.Elapsed:mm\\:ss}");
        }
        double evalPpl;
        using (no_grad()) evalPpl = Perplexity(model, evalIds, seqLen, config.BosTokenId);
        var weights = parameters.Select(kv => (kv.Key, kv.Value.shape, kv.Value.detach().cpu().data<float>().ToArray())).ToList();
        return new TrainingResult(weights, step, (long)step * batch * (seqLen - 1), evalPpl, lossValue, sw.Elapsed);
    }

    private static (Tensor Input, Tensor Target) SampleBatch(int[] ids, int seqLen, int batch, Random rng, int bos)
    {
        var input = new long[batch * seqLen];
        var target = new long[batch * seqLen];
        for (int b = 0; b < batch; b++)
        {
            int start = rng.Next(0, ids.Length - seqLen);
            input[b * seqLen] = bos;
            for (int t = 0; t < seqLen - 1; t++) input[b * seqLen + t + 1] = ids[start + t];
            for (int t = 0; t < seqLen; t++) target[b * seqLen + t] = ids[start + t];
        }
        return (tensor(input).view(batch, seqLen), tensor(target).view(batch, seqLen));
    }

    /// <summary>Same windowing as `modelbuild eval`: non-overlapping windows of BOS + (seqLen-1) tokens.</summary>
    public static double Perplexity(TorchLlama model, int[] ids, int seqLen, int bos)
    {
        double nll = 0;
        long count = 0;
        for (int start = 0; start < ids.Length; start += seqLen - 1)
        {
            using var scope = NewDisposeScope();
            int n = Math.Min(seqLen - 1, ids.Length - start);
            var input = new long[n];
            input[0] = bos;
            for (int t = 1; t < n; t++) input[t] = ids[start + t - 1];
            // Predict ids[start .. start+n-1] from BOS + the tokens before each.
            var logits = model.Forward(tensor(input).view(1, n));
            var targets = tensor(ids.Skip(start).Take(n).Select(i => (long)i).ToArray());
            nll += F.cross_entropy(logits.view(n, -1), targets, reduction: nn.Reduction.Sum).item<float>();
            count += n;
        }
        return Math.Exp(nll / count);
    }
}
