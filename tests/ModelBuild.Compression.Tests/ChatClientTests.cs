using Microsoft.Extensions.AI;
using ModelBuild.Compression.Ingestion;
using ModelBuild.Compression.Pipeline;
using ModelBuild.Runtime;
using ModelBuild.Runtime.Chat;
using ModelBuild.Tests;

namespace ModelBuild.Compression.Tests;

/// <summary>The async and Microsoft.Extensions.AI surfaces on the real fixture model.</summary>
public class ChatClientTests : IDisposable
{
    private readonly RepoPaths.TempDir _dir = new();
    private readonly CausalLanguageModel _model;

    public ChatClientTests()
    {
        new Compressor().Compress(Checkpoint.Open(RepoPaths.FixtureModel), null, _dir.File("f16.mbpack"));
        _model = CausalLanguageModel.Load(_dir.File("f16.mbpack"));
    }

    public void Dispose()
    {
        _model.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public async Task The_async_stream_yields_what_the_synchronous_one_does()
    {
        var options = new GenerationOptions { MaxTokens = 24, Seed = 5 };
        var pieces = new List<string>();
        await foreach (var piece in _model.GenerateStreamingAsync("A penny saved", options)) pieces.Add(piece);
        Assert.NotEmpty(pieces);
        Assert.Equal(_model.Generate("A penny saved", options), string.Concat(pieces));
    }

    [Fact]
    public async Task Chat_replies_as_the_chat_client_does_and_stops_at_the_turn_marker()
    {
        var turns = new[] { ("system", "You tell fortunes."), ("user", "What does tomorrow hold?") };
        string reply = _model.Chat(turns, new GenerationOptions { MaxTokens = 40, Temperature = 0 });
        var response = await new ModelChatClient(_model, "fixture").GetResponseAsync(
            [new ChatMessage(ChatRole.System, "You tell fortunes."), new ChatMessage(ChatRole.User, "What does tomorrow hold?")],
            new ChatOptions { MaxOutputTokens = 40, Temperature = 0 });
        Assert.Equal(response.Text, reply);
        foreach (string stop in _model.ChatTemplate.StopSequences) Assert.DoesNotContain(stop, reply);
        Assert.Equal(_model.Generate(_model.ChatTemplate.Format(turns), new GenerationOptions { MaxTokens = 40, Temperature = 0, StopSequences = _model.ChatTemplate.StopSequences }).Trim(), reply);
    }

    [Fact]
    public async Task Cancelling_the_async_stream_stops_generation()
    {
        using var cts = new CancellationTokenSource();
        var pieces = new List<string>();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var piece in _model.GenerateStreamingAsync("Once upon a time", new GenerationOptions { MaxTokens = 400, Temperature = 0 }, cts.Token))
            {
                pieces.Add(piece);
                cts.Cancel();
            }
        });
        Assert.InRange(pieces.Count, 1, 3);
    }

    [Fact]
    public async Task The_chat_client_answers_and_streams_the_same_text()
    {
        using IChatClient client = new ModelChatClient(_model, "FortuneModel");
        var options = new ChatOptions { Temperature = 0, MaxOutputTokens = 16 };
        var messages = new[] { new ChatMessage(ChatRole.User, "Tell me a fortune.") };
        var response = await client.GetResponseAsync(messages, options);
        Assert.Equal(ChatRole.Assistant, response.Messages[0].Role);
        Assert.False(string.IsNullOrWhiteSpace(response.Text));
        Assert.Equal("FortuneModel", response.ModelId);

        var streamed = new System.Text.StringBuilder();
        await foreach (var update in client.GetStreamingResponseAsync(messages, options)) streamed.Append(update.Text);
        Assert.Equal(response.Text, streamed.ToString().Trim());
        Assert.Equal("FortuneModel", client.GetService<ChatClientMetadata>()?.DefaultModelId);
        Assert.Same(_model, client.GetService<CausalLanguageModel>());
    }

    [Fact]
    public async Task Disposing_the_model_during_generation_stops_it_cleanly()
    {
        var model = CausalLanguageModel.Load(_dir.File("f16.mbpack"));
        int pieces = 0;
        var e = await Record.ExceptionAsync(async () =>
        {
            await foreach (var _ in model.GenerateStreamingAsync("Once upon a time", new GenerationOptions { MaxTokens = 400, Temperature = 0 }))
                if (++pieces == 1)
                {
                    // A slow consumer: the decode loop must wait for it (at most 32 pieces ahead), not run on to MaxTokens.
                    await Task.Delay(300);
                    model.Dispose(); // waits for the token in flight; the next step must not touch the unmapped pack
                }
        });
        Assert.True(e is null or ObjectDisposedException, $"unexpected {e}");
        Assert.True(pieces <= 40, $"{pieces} pieces after disposing at the first");
    }
}
