using ModelBuild.Compression.Diagnostics;
using ModelBuild.Compression.Spec;
using ModelBuild.Runtime.Tokenization;

namespace ModelBuild.Compression.Calibration;

/// <summary>
/// The calibration token windows: <c>samples</c> windows of BOS + (sequence_length − 1) tokens taken at
/// seeded random offsets of the tokenized calibration text (as GPTQ samples C4 segments).
/// </summary>
public static class CalibrationSet
{
    public static long[] Sample(CalibrationSpec spec, string specPath, ModelTokenizer tokenizer, int maxPositions)
    {
        string path = SpecFiles.Resolve(spec.Text, specPath, spec.Location, "calibration.text", "calibration: { text: path/to/calib.txt }");
        if (spec.SequenceLength > maxPositions)
            throw new ModelBuildException(ErrorCodes.SpecInvalidValue, $"calibration.sequence_length {spec.SequenceLength} exceeds the model's context ({maxPositions}).",
                spec.Location.File, spec.Location.Line, spec.Location.Column, $"use at most {maxPositions}.");
        int[] ids = tokenizer.Encode(File.ReadAllText(path));
        int window = spec.SequenceLength - 1;
        if (ids.Length < window + 1)
            throw new ModelBuildException(ErrorCodes.SpecInvalidValue, $"calibration text has {ids.Length} tokens, fewer than one window of {spec.SequenceLength}.",
                spec.Location.File, spec.Location.Line, spec.Location.Column, "use a longer calibration text or a shorter sequence_length.");
        var rng = new Random(spec.Seed);
        var result = new long[spec.Samples * spec.SequenceLength];
        for (int s = 0; s < spec.Samples; s++)
        {
            int start = rng.Next(0, ids.Length - window + 1);
            result[s * spec.SequenceLength] = tokenizer.BosId;
            for (int t = 0; t < window; t++) result[s * spec.SequenceLength + 1 + t] = ids[start + t];
        }
        return result;
    }
}
