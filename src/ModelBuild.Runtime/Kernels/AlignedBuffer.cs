using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace ModelBuild.Runtime.Kernels;

/// <summary>
/// A pinned array whose usable part starts on a 64-byte boundary: a 512-bit load from it never splits a cache
/// line. Pinned arrays live on the pinned object heap, so the pointer stays valid while this object lives.
/// </summary>
public sealed unsafe class AlignedBuffer<T> where T : unmanaged
{
    private readonly T[] _array;

    public T* Pointer { get; }
    public int Length { get; }
    public Span<T> Span => new(Pointer, Length);

    public AlignedBuffer(int length)
    {
        Length = length;
        _array = GC.AllocateArray<T>(length + 64 / sizeof(T), pinned: true);
        nint start = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_array));
        Pointer = (T*)((start + 63) & ~(nint)63);
    }

    public ref T this[int index] => ref Span[index];
}
