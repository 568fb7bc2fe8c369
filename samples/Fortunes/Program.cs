using Fortunes;
using ModelBuild.Runtime;

string prompt = args.Length > 0 ? string.Join(' ', args) : "The meaning of life is";
using var model = FortuneModel.Load();
Console.Write(prompt);
foreach (var piece in model.GenerateStreaming(prompt, new GenerationOptions { MaxTokens = 60, Temperature = 0.8f, Seed = 42 }))
    Console.Write(piece);
Console.WriteLine();
