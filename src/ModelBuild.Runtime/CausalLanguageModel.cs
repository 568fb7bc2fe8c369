using System.Runtime.CompilerServices;
using ModelBuild.Format.Config;
using ModelBuild.Format.Pack;
using ModelBuild.Runtime.Generation;
using ModelBuild.Runtime.Kernels;
using ModelBuild.Runtime.Llama;
using ModelBuild.Runtime.Tokenization;

namespace ModelBuild.Runtime;

/// <summary>A packed causal language model ready to generate text. Generated model classes wrap this.</summary>
public sealed class CausalLanguageModel : IDisposable
{
    private readonly PackReader _pack;
    private readonly LlamaWeights _weights;
    private readonly Gpu.IlgpuDevice? _device;

    /// <summary>The ILGPU device the products run on (the ilgpu and cuda paths), else null.</summary>
    internal Gpu.IlgpuDevice? Device => _device;
    private readonly object _gate = new();
    private bool _disposed;

    /// <summary>The architecture from the model's config.json (layers, heads, vocabulary, context length).</summary>
    public LlamaConfig Config { get; }
    /// <summary>The model's tokenizer (from the tokenizer.json stored in the pack).</summary>
    public ModelTokenizer Tokenizer { get; }
    /// <summary>The pack's manifest: tensors, their formats, and the config/tokenizer files it carries.</summary>
    public PackManifest Manifest => _pack.Manifest;
    /// <summary>Where the pack was loaded from (a file path, or the resource name of an embedded pack).</summary>
    public string PackPath => _pack.Path;
    internal PackReader Pack => _pack;

    /// <summary>The chat layout recognised from the model's tokenizer_config.json (a plain transcript when it has none).</summary>
    public ModelBuild.Runtime.Chat.ChatTemplate ChatTemplate => _chatTemplate ??= ModelBuild.Runtime.Chat.ChatTemplate.Detect(Manifest.TokenizerConfigJson);
    private ModelBuild.Runtime.Chat.ChatTemplate? _chatTemplate;

    /// <summary>
    /// Replies to a conversation of (role, text) turns — roles "system", "user", "assistant" — laid out with the
    /// model's <see cref="ChatTemplate"/>; generation also stops at the template's end-of-turn markers.
    /// </summary>
    public string Chat(IEnumerable<(string Role, string Text)> messages, GenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        var (prompt, chatOptions) = ChatPrompt(messages, options);
        return Generate(prompt, chatOptions, cancellationToken).Trim();
    }

    /// <summary>The prompt for a conversation and the options with the template's stop sequences added.</summary>
    internal (string Prompt, GenerationOptions Options) ChatPrompt(IEnumerable<(string Role, string Text)> messages, GenerationOptions? options)
    {
        options ??= new GenerationOptions();
        return (ChatTemplate.Format(messages), options with { StopSequences = [.. ChatTemplate.StopSequences, .. options.StopSequences] });
    }

    /// <summary>The CPU kernels sessions use (resolved: never Auto).</summary>
    public KernelPath KernelPath { get; }

    private CausalLanguageModel(PackReader pack, KernelPath kernelPath)
    {
        _pack = pack;
        KernelPath = KernelPaths.Resolve(kernelPath);
        try
        {
            Config = LlamaConfig.Parse(pack.Manifest.ConfigJson, pack.Path + " (manifest config)");
            Tokenizer = ModelTokenizer.FromJson(pack.Manifest.TokenizerJson, Config.BosTokenId, Config.EosTokenId);
        }
        catch (Exception e) when (e is FormatException or NotSupportedException)
        {
            // The tool only writes configs and tokenizers it can run, so a bad one in a pack means a damaged pack.
            throw new PackFormatException(pack.Path, $"the manifest's model description is unusable ({e.Message}); the pack is corrupt or was modified.");
        }
        _weights = new LlamaWeights(pack, Config);
        if (KernelPath is KernelPath.Avx2 or KernelPath.Avx512)
            _weights = _weights.MapMatrices(m => Weights.Sparse24Fallback.ForPath(m, KernelPath));
        if (KernelPaths.IsDevice(KernelPath))
        {
            _device = Gpu.IlgpuDevice.Create(requireCuda: KernelPath == KernelPath.Cuda);
            _weights = _weights.MapMatrices(m => new Gpu.IlgpuMatrix(m, _device));
        }
    }

    /// <summary>Opens the pack <paramref name="options"/> names (its Path is required here).</summary>
    public static CausalLanguageModel Load(LoadOptions options) =>
        Load(options.Path ?? throw new ArgumentException("LoadOptions.Path is required.", nameof(options)), options.VerifyChecksums, options.Kernels,
            options.ReadIntoMemory);

    /// <summary>
    /// Opens a pack from a stream, e.g. an embedded resource. A resource of a mapped assembly is an
    /// <see cref="UnmanagedMemoryStream"/>: its bytes are used in place, never copied or written to disk, unless
    /// <see cref="LoadOptions.ReadIntoMemory"/> asks for a copy. Other streams are read once into native memory. The
    /// stream is disposed with the model.
    /// </summary>
    public static unsafe CausalLanguageModel Load(Stream stream, string name, LoadOptions? options = null)
    {
        options ??= new LoadOptions();
        PackReader pack;
        if (stream is UnmanagedMemoryStream mapped && mapped.Position == 0 && !options.ReadIntoMemory)
            pack = PackReader.OpenMemory(name, mapped.PositionPointer, mapped.Length, options.VerifyChecksums, stream.Dispose);
        else
        {
            pack = PackReader.ReadStream(name, stream, stream.Length, options.VerifyChecksums);
            stream.Dispose();
        }
        try { return new CausalLanguageModel(pack, options.Kernels); }
        catch { pack.Dispose(); throw; }
    }

    /// <summary>
    /// Opens a pack memory-mapped, or read into process memory with <paramref name="readIntoMemory"/>
    /// (<see cref="LoadOptions.ReadIntoMemory"/>); checksums are verified unless <paramref name="verifyChecksums"/> is false.
    /// </summary>
    public static CausalLanguageModel Load(string packPath, bool verifyChecksums = true, KernelPath kernelPath = KernelPath.Auto, bool readIntoMemory = false)
    {
        var pack = readIntoMemory ? PackReader.Read(packPath, verifyChecksums) : PackReader.Open(packPath, verifyChecksums);
        try { return new CausalLanguageModel(pack, kernelPath); }
        catch { pack.Dispose(); throw; }
    }

    /// <summary>A forward pass with its own KV cache, for callers that drive decoding token by token.</summary>
    public LlamaForward CreateSession(int? maxPositions = null, Threading.WorkerPool? pool = null) => new(Config, _weights, maxPositions, KernelPath, pool);

    /// <summary>As <see cref="CreateSession(int?, Threading.WorkerPool?)"/>, the KV cache starting at <paramref name="initialCapacity"/> positions.</summary>
    internal LlamaForward CreateSession(int? maxPositions, Threading.WorkerPool? pool, int initialCapacity) =>
        new(Config, _weights, maxPositions, KernelPath, pool, initialCapacity);

    /// <summary>Bytes of packed weights one decoded token reads: every matrix once, plus one embedding row.</summary>
    public long WeightBytesPerToken => _weights.BytesPerToken;

    /// <summary>Token ids of <paramref name="text"/> (no BOS added).</summary>
    public int[] Tokenize(string text) => Tokenizer.Encode(text);
    /// <summary>Text of token ids.</summary>
    public string Detokenize(IEnumerable<int> ids) => Tokenizer.Decode(ids);

    /// <summary>Generates a continuation of <paramref name="prompt"/> and returns it whole.</summary>
    public string Generate(string prompt, GenerationOptions? options = null, CancellationToken cancellationToken = default) =>
        string.Concat(GenerateStreaming(prompt, options, cancellationToken));

    /// <summary>Yields text pieces as tokens are produced; multi-byte characters are held back until complete.</summary>
    public IEnumerable<string> GenerateStreaming(string prompt, GenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new GenerationOptions();
        using var session = CreateSession();
        var sampler = new Sampler(options);
        var promptIds = new List<int> { Config.BosTokenId };
        promptIds.AddRange(Tokenizer.Encode(prompt));
        if (promptIds.Count >= session.MaxPositions)
            throw new ArgumentException($"the prompt has {promptIds.Count} tokens; the model's context is {session.MaxPositions}.", nameof(prompt));
        var logits = new float[Config.VocabSize];
        lock (_gate) { ObjectDisposedException.ThrowIf(_disposed, this); session.Forward(promptIds.ToArray(), logits); }

        var generated = new List<int>();
        string emitted = "";
        var pending = new int[1];
        for (int i = 0; i < options.MaxTokens && session.Position < session.MaxPositions; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int next = sampler.Next(logits);
            if (next == Config.EosTokenId) yield break;
            generated.Add(next);
            string text = Tokenizer.Decode(generated);
            if (!text.EndsWith('\uFFFD') && text.Length > emitted.Length && text.StartsWith(emitted, StringComparison.Ordinal))
            {
                string piece = text[emitted.Length..];
                int stop = FindStop(text, options.StopSequences, emitted.Length);
                if (stop >= 0)
                {
                    if (stop > emitted.Length) yield return text[emitted.Length..stop];
                    yield break;
                }
                emitted = text;
                yield return piece;
            }
            if (i + 1 < options.MaxTokens && session.Position < session.MaxPositions)
            {
                pending[0] = next;
                lock (_gate) { ObjectDisposedException.ThrowIf(_disposed, this); session.Forward(pending, logits); }
            }
        }
    }

    /// <summary>How many pieces the async stream's decode loop may run ahead of its consumer.</summary>
    private const int StreamedPiecesAhead = 32;

    /// <summary>
    /// <see cref="GenerateStreaming"/> as an async stream: the decode loop runs on a pool thread and hands
    /// pieces over as they are produced, at most <see cref="StreamedPiecesAhead"/> ahead of the consumer; cancelling
    /// stops it between tokens.
    /// </summary>
    public async IAsyncEnumerable<string> GenerateStreamingAsync(string prompt, GenerationOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        // Bounded: a consumer that reads slowly holds the decode loop back instead of letting it run to MaxTokens ahead of
        // it (with an unbounded channel a fast model could finish before the consumer saw its first piece).
        var channel = System.Threading.Channels.Channel.CreateBounded<string>(
            new System.Threading.Channels.BoundedChannelOptions(StreamedPiecesAhead) { SingleReader = true, SingleWriter = true });
        using var consumerGone = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var producer = Task.Run(async () =>
        {
            try
            {
                // Waiting for room does not block a pool thread; no lock is held between decode steps.
                foreach (var piece in GenerateStreaming(prompt, options, consumerGone.Token))
                    await channel.Writer.WriteAsync(piece, consumerGone.Token).ConfigureAwait(false);
                channel.Writer.TryComplete();
            }
            catch (Exception e) { channel.Writer.TryComplete(e); }
        }, CancellationToken.None);
        try
        {
            await foreach (var piece in channel.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                cancellationToken.ThrowIfCancellationRequested(); // pieces already queued are dropped once cancelled
                yield return piece;
            }
        }
        finally
        {
            // However the consumer leaves (done, cancelled, or stopped early), the decode loop has ended before
            // this returns, so disposing the model afterwards is safe.
            consumerGone.Cancel();
            await producer.ConfigureAwait(false);
        }
    }

    private static int FindStop(string text, IReadOnlyList<string> stops, int searchFrom)
    {
        int best = -1;
        foreach (var s in stops)
        {
            if (string.IsNullOrEmpty(s)) continue;
            int idx = text.IndexOf(s, Math.Max(0, searchFrom - s.Length + 1), StringComparison.Ordinal);
            if (idx >= 0 && (best < 0 || idx < best)) best = idx;
        }
        return best;
    }

    /// <summary>Unmaps the pack; waits for a token being computed, and later generation steps fail with ObjectDisposedException.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
        }
        if (_device is not null)
        {
            foreach (var m in _weights.Matrices.OfType<IDisposable>()) m.Dispose();
            _device.Dispose();
        }
        _pack.Dispose();
    }
}
