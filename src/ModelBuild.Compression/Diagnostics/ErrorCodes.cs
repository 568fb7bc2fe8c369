namespace ModelBuild.Compression.Diagnostics;

/// <summary>Every MB code the compressor reports; docs/errors.md explains each.</summary>
public static class ErrorCodes
{
    public const string ModelNotFound = "MB1001";
    public const string InvalidCheckpoint = "MB1002";
    public const string UnsupportedArchitecture = "MB1003";
    public const string ComputeEngineMissing = "MB1004";
    public const string SpecNotFound = "MB1100";
    public const string SpecSyntax = "MB1101";
    public const string SpecUnknownKey = "MB1102";
    public const string SpecInvalidValue = "MB1103";
    public const string SpecNotSupported = "MB1104";
    public const string QualityGateFailed = "MB1202";
    public const string InvalidPack = "MB1301";
    public const string InvalidArguments = "MB1401";
    public const string InternalError = "MB1999";
}
