using System.Globalization;
using ModelBuild.Format.Config;

namespace ModelBuild.Tools.FixtureTrainer;

public static class FixtureReadme
{
    public static string Render(LlamaConfig c, int fortunes, int train, int eval, int calib, int trainTokens, int evalTokens,
        TrainingResult r, double unigramPpl) => string.Create(CultureInfo.InvariantCulture, $"""
# tiny-fortunes

A small Llama-architecture causal language model, trained from scratch on this machine by
`tools/FixtureTrainer` (TorchSharp, CPU) on the English text of Debian's `fortunes` package.
It is the fixture every ModelBuild test and quality claim runs on. Not random: it has learned English.

Regenerate (overwrites this folder; needs `apt-get install fortunes`):

    dotnet run -c Release --project tools/FixtureTrainer -- /usr/share/games/fortunes samples/models/tiny-fortunes {r.Steps}

## Architecture (config.json)
- Llama: hidden {c.HiddenSize}, {c.NumHiddenLayers} layers, {c.NumAttentionHeads} query heads / {c.NumKeyValueHeads} KV heads (GQA), head_dim {c.HeadDim},
  SwiGLU intermediate {c.IntermediateSize}, RoPE theta {c.RopeTheta}, RMSNorm eps {c.RmsNormEps}, untied lm_head, context {c.MaxPositionEmbeddings}.
- Byte-level BPE tokenizer (GPT-2 style) with {c.VocabSize} tokens learned on the training split; `<unk>`=0, `<s>`=1, `</s>`=2.
- Weights stored as float16 in model.safetensors.

## Data
- {fortunes} fortunes (all English files but ascii-art and translate-me). Deterministic split by index:
  every 40th fortune to `eval.txt` ({eval} fortunes, {evalTokens} tokens), the one after it to `calib.txt` ({calib}),
  the rest ({train} fortunes, {trainTokens} tokens) for training. Fortunes are joined by blank lines.

## Training
- AdamW (beta 0.9/0.95, weight decay 0.1), peak LR 3e-3, warmup 30 steps, cosine decay; batch 16 x 256 tokens
  (each window is `<s>` + 255 tokens), gradient clipping 1.0; {r.Steps} steps, {r.TokensSeen} tokens, {r.Elapsed.TotalMinutes:F1} minutes on 2 cores.
- Final training loss {r.FinalTrainLoss:F3}.

## Held-out perplexity (eval.txt, windows of `<s>` + 255 tokens, float32 TorchSharp forward)
| model | perplexity |
|---|---|
| this model | {r.EvalPerplexity:F2} |
| unigram baseline (add-one, fitted on the training split) | {unigramPpl:F1} |
""");
}
