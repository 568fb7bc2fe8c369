using ModelBuild.Runtime.Kernels;

namespace ModelBuild.Runtime.Tests;

public class ChunkGroupsTests
{
    [Theory]
    [InlineData(128)]
    [InlineData(256)]
    [InlineData(384)]
    [InlineData(640)]
    [InlineData(128 * 1000)]
    public void Group_of_a_chunk_is_the_integer_quotient(int groupSize)
    {
        var groups = new ChunkGroups(groupSize);
        int perGroup = groupSize / 128;
        // Every chunk of rows up to 8M columns, plus the top of the range the reciprocal is exact for.
        for (int c = 0; c < 65536; c++) Assert.Equal(c / perGroup, groups.Of(c));
        for (int c = int.MaxValue / perGroup - 4096; c > 0 && c < int.MaxValue / perGroup; c++) Assert.Equal(c / perGroup, groups.Of(c));
    }
}
