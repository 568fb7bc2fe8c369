using ModelBuild.Compression.Ingestion;
using ModelBuild.Compression.Pipeline;
using ModelBuild.Compression.Spec;
using ModelBuild.Runtime;
using ModelBuild.Runtime.Threading;
using ModelBuild.Tests;

namespace ModelBuild.Compression.Tests;

/// <summary>Runs alone: it counts the process's allocations, which other tests running beside it would add to.</summary>
[CollectionDefinition(nameof(AllocationCounting), DisableParallelization = true)]
public sealed class AllocationCounting;

[Collection(nameof(AllocationCounting))]
public class DecodeAllocationTests
{
    [Fact]
    public void Decoding_a_token_allocates_nothing_on_any_thread()
    {
        var cp = Checkpoint.Open(RepoPaths.FixtureModel);
        using var dir = new RepoPaths.TempDir();
        var spec = SpecParser.Parse("stages:\n  - quantize: { method: rtn, bits: 4, group_size: 128 }\n", dir.File("q4.yaml"));
        new Compressor().Compress(cp, spec, dir.File("q4.mbpack"));
        using var model = CausalLanguageModel.Load(dir.File("q4.mbpack"));
        using var pool = new WorkerPool(2);
        using var session = model.CreateSession(256, pool);
        var logits = new float[model.Config.VocabSize];
        var token = new int[] { model.Config.BosTokenId };
        // Warm-up: per-thread scratch buffers, and tiered JIT (which recompiles hot methods in the background
        // after a delay and may allocate while doing so).
        for (int round = 0; round < 3; round++)
        {
            session.Reset();
            for (int i = 0; i < 200; i++) session.Forward(token, logits);
            Thread.Sleep(300);
        }
        session.Reset();

        // Three windows of 32 tokens: this thread must allocate nothing in any; the whole process (the pool's
        // worker, but also the JIT's background tier-up on a loaded machine) nearly nothing in the quietest one.
        var processWindows = new List<long>();
        for (int window = 0; window < 3; window++)
        {
            long thread = GC.GetAllocatedBytesForCurrentThread();
            long process = GC.GetTotalAllocatedBytes(precise: true);
            for (int i = 0; i < 32; i++)
            {
                token[0] = (i * 37) % model.Config.VocabSize;
                session.Forward(token, logits);
            }
            Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - thread);
            processWindows.Add(GC.GetTotalAllocatedBytes(precise: true) - process);
        }
        long processBytes = processWindows.Min();
        Assert.True(processBytes < 4096, $"{string.Join(", ", processWindows)} bytes allocated in windows of 32 decoded tokens");
    }
}
