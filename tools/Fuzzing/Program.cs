using ModelBuild.Fuzzing;

// ModelBuild.Fuzzing <target>                   under afl-fuzz: SharpFuzz's fork server feeds AFL++'s inputs to the reader
// ModelBuild.Fuzzing <target> --replay <files>  runs saved inputs (crashes, corpus); exit 1 if any crashes
// ModelBuild.Fuzzing seeds <dir>                writes the seed corpus, <dir>/<target>/...
if (args.Length == 0)
{
    Console.Error.WriteLine($"usage: ModelBuild.Fuzzing <{string.Join('|', FuzzTargets.All.Select(t => t.Name))}> [--replay <files>] | seeds <dir>");
    return 2;
}
if (args[0] == "seeds")
{
    SeedCorpus.Write(args.Length > 1 ? args[1] : "seeds");
    return 0;
}
var target = FuzzTargets.Find(args[0]);
if (args.Length > 1 && args[1] == "--replay")
{
    int crashes = 0;
    foreach (string file in args.Skip(2))
        if (!target.TryRead(File.ReadAllBytes(file), out var crash))
        {
            crashes++;
            Console.WriteLine($"{file}: {crash!.GetType().Name}: {crash.Message}\n{crash.StackTrace}");
        }
    Console.WriteLine($"{target.Name}: {args.Length - 2} inputs replayed, {crashes} crashed");
    return crashes == 0 ? 0 : 1;
}
SharpFuzz.Fuzzer.Run(stream =>
{
    using var buffer = new MemoryStream();
    stream.CopyTo(buffer);
    if (!target.TryRead(buffer.ToArray(), out var crash)) throw new InvalidOperationException("crash: " + crash, crash);
});
return 0;
