namespace System.Runtime.CompilerServices;

// netstandard2.0 lacks this marker type that records' init accessors need.
internal static class IsExternalInit { }
