using System.Diagnostics;
using System.Globalization;
using System.Text;
using ModelBuild.Compression.Ingestion;
using ModelBuild.Compression.Torch;
using ModelBuild.Format.Config;
using ModelBuild.Runtime.Tokenization;
using ModelBuild.Tools.FixtureTrainer;
using TorchSharp;
using static TorchSharp.torch;

// Trains samples/models/tiny-fortunes: a small Llama on Debian's `fortunes` text.
// Usage: FixtureTrainer <fortunes-dir> <output-dir> [steps]
string fortunesDir = args.Length > 0 ? args[0] : "/usr/share/games/fortunes";
string outDir = args.Length > 1 ? args[1] : "samples/models/tiny-fortunes";
int steps = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 1200;
const int VocabSize = 2048, SeqLen = 256, Batch = 16;
string[] specials = { "<unk>", "<s>", "</s>" };

Directory.CreateDirectory(outDir);
var fortunes = FortuneCorpus.Read(fortunesDir);
var (train, eval, calib) = FortuneCorpus.Split(fortunes);
Console.WriteLine($"fortunes: {fortunes.Count} (train {train.Count}, eval {eval.Count}, calibration {calib.Count})");
string trainText = string.Join("\n\n", train);
File.WriteAllText(Path.Combine(outDir, "eval.txt"), string.Join("\n\n", eval) + "\n");
File.WriteAllText(Path.Combine(outDir, "calib.txt"), string.Join("\n\n", calib) + "\n");

var sw = Stopwatch.StartNew();
var (vocab, merges) = ByteLevelBpeTrainer.Train(trainText, VocabSize, specials);
string tokenizerJson = ModelBuild.Compression.Synthesis.ByteLevelTokenizerJson.Write(vocab, merges, specials);
File.WriteAllText(Path.Combine(outDir, "tokenizer.json"), tokenizerJson);
File.WriteAllText(Path.Combine(outDir, "tokenizer_config.json"),
    "{\n  \"tokenizer_class\": \"PreTrainedTokenizerFast\",\n  \"bos_token\": \"<s>\",\n  \"eos_token\": \"</s>\",\n  \"unk_token\": \"<unk>\",\n  \"add_bos_token\": true,\n  \"model_max_length\": 512\n}\n");
Console.WriteLine($"BPE: {vocab.Count} tokens, {merges.Count} merges in {sw.Elapsed.TotalSeconds:F0}s");

var tokenizer = ModelTokenizer.FromJson(tokenizerJson, bosId: 1, eosId: 2);
int[] trainIds = tokenizer.Encode(trainText);
int[] evalIds = tokenizer.Encode(File.ReadAllText(Path.Combine(outDir, "eval.txt")));
double unigramPpl = UnigramBaseline.Perplexity(trainIds, evalIds, VocabSize);
Console.WriteLine($"tokens: train {trainIds.Length}, eval {evalIds.Length}; unigram eval perplexity {unigramPpl:F1}");

var config = new LlamaConfig
{
    VocabSize = VocabSize, HiddenSize = 256, IntermediateSize = 768, NumHiddenLayers = 6,
    NumAttentionHeads = 8, NumKeyValueHeads = 4, HeadDim = 32, MaxPositionEmbeddings = 512,
    RmsNormEps = 1e-5, RopeTheta = 10000, TieWordEmbeddings = false, BosTokenId = 1, EosTokenId = 2,
};
File.WriteAllText(Path.Combine(outDir, "config.json"), config.ToJson() + "\n");

TorchSharpLoader.EnsureLoaded();
torch.set_num_threads(Environment.ProcessorCount);
torch.manual_seed(0);
var result = LlamaTrainer.Train(config, trainIds, evalIds, SeqLen, Batch, steps);
SafetensorsWriter.Write(Path.Combine(outDir, "model.safetensors"), result.Weights, TensorDType.F16);

File.WriteAllText(Path.Combine(outDir, "README.md"), FixtureReadme.Render(config, fortunes.Count, train.Count, eval.Count, calib.Count,
    trainIds.Length, evalIds.Length, result, unigramPpl));
Console.WriteLine($"done: eval perplexity {result.EvalPerplexity:F2} (unigram {unigramPpl:F1})");
