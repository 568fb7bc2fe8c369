using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using ModelBuild.Runtime.Generation;

namespace ModelBuild.Runtime.Chat;

/// <summary>
/// Microsoft.Extensions.AI's <see cref="IChatClient"/> over a packed model, so it plugs into code written for
/// any chat client. ChatOptions map onto <see cref="GenerationOptions"/>; the conversation is laid out with
/// the model's <see cref="ChatTemplate"/>. Generation is serialised per model (one KV cache at a time).
/// </summary>
public sealed class ModelChatClient(CausalLanguageModel model, string modelId, bool ownsModel = false) : IChatClient
{
    /// <summary>The chat layout recognised from the model's tokenizer_config.json.</summary>
    public ChatTemplate Template => model.ChatTemplate;

    /// <inheritdoc />
    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var text = new System.Text.StringBuilder();
        await foreach (var update in GetStreamingResponseAsync(messages, options, cancellationToken).ConfigureAwait(false)) text.Append(update.Text);
        return new ChatResponse(new ChatMessage(ChatRole.Assistant, text.ToString().Trim())) { ModelId = modelId, FinishReason = ChatFinishReason.Stop };
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var (prompt, generation) = model.ChatPrompt(messages.Select(m => (m.Role.Value, m.Text)), Options(options));
        await foreach (var piece in model.GenerateStreamingAsync(prompt, generation, cancellationToken).ConfigureAwait(false))
            yield return new ChatResponseUpdate(ChatRole.Assistant, piece) { ModelId = modelId };
    }

    private GenerationOptions Options(ChatOptions? o)
    {
        var defaults = new GenerationOptions();
        return new GenerationOptions
        {
            MaxTokens = o?.MaxOutputTokens ?? defaults.MaxTokens,
            Temperature = o?.Temperature ?? defaults.Temperature,
            TopK = o?.TopK ?? defaults.TopK,
            TopP = o?.TopP ?? defaults.TopP,
            Seed = o?.Seed is long seed ? (int)seed : defaults.Seed,
            StopSequences = [.. o?.StopSequences ?? []],
        };
    }

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is not null ? null
        : serviceType == typeof(ChatClientMetadata) ? new ChatClientMetadata("ModelBuild", null, modelId)
        : serviceType.IsInstanceOfType(this) ? this
        : serviceType.IsInstanceOfType(model) ? model
        : null;

    /// <summary>Disposes the model when this client owns it.</summary>
    public void Dispose()
    {
        if (ownsModel) model.Dispose();
    }
}
