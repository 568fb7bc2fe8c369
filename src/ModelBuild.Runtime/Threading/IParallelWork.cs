namespace ModelBuild.Runtime.Threading;

/// <summary>Work split into items [0, count); <see cref="Execute"/> runs one contiguous range of them on one worker.</summary>
public interface IParallelWork
{
    void Execute(int start, int end);
}
