#!/usr/bin/env bash
# Coverage-guided fuzzing of ModelBuild's readers of untrusted input: SharpFuzz instruments the assemblies,
# AFL++ (Debian's afl++ package) drives them through SharpFuzz's in-process fork server.
#   tools/Fuzzing/fuzz.sh [target|all] [seconds per target, default 300]
# Targets: safetensors pack pack-unverified config tokenizer spec. Findings land in artifacts/fuzz/findings/<target>;
# each crash is replayed at the end. Turn every crash into a regression by copying its input to
# tools/Fuzzing/regressions/<target>/ (the test suite replays that folder) and fixing the reader.
set -euo pipefail
cd "$(dirname "$0")/../.."
targets="${1:-all}"
seconds="${2:-300}"
[ "$targets" = all ] && targets="safetensors pack pack-unverified config tokenizer spec"
out=artifacts/fuzz
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

if ! command -v afl-fuzz >/dev/null; then
  echo "installing afl++ (Debian package)"
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq afl++; else sudo apt-get update -qq && sudo apt-get install -y -qq afl++; fi
fi
dotnet tool restore >/dev/null

rm -rf "$out/bin" "$out/plain"
dotnet publish tools/Fuzzing -c Release -o "$out/plain" -nologo -v:q
# Instrumented code writes coverage to AFL's shared memory and only runs under afl-fuzz; seeds and replays use the plain copy.
cp -r "$out/plain" "$out/bin"
# Instrument our readers and the third-party parsers they hand bytes to (YAML, tokenizer).
for dll in ModelBuild.Format ModelBuild.Runtime ModelBuild.Compression YamlDotNet Microsoft.ML.Tokenizers; do
  dotnet sharpfuzz "$out/bin/$dll.dll" >/dev/null
done
rm -rf "$out/seeds" && dotnet "$out/plain/ModelBuild.Fuzzing.dll" seeds "$out/seeds" >/dev/null

export AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 AFL_SKIP_BIN_CHECK=1 AFL_NO_AFFINITY=1
status=0
for t in $targets; do
  seeds="$out/seeds/$t"
  [ -d "tools/Fuzzing/regressions/$t" ] && cp tools/Fuzzing/regressions/$t/* "$seeds/" 2>/dev/null || true
  rm -rf "$out/findings/$t" && mkdir -p "$out/findings"
  echo "== $t: fuzzing for ${seconds}s"
  afl-fuzz -V "$seconds" -i "$seeds" -o "$out/findings/$t" -t 10000 -m none -- dotnet "$out/bin/ModelBuild.Fuzzing.dll" "$t" > "$out/$t.log" 2>&1 || true
  stats="$out/findings/$t/default/fuzzer_stats"
  if [ -f "$stats" ]; then
    execs=$(awk -F': ' '/^execs_done/ {print $2}' "$stats"); paths=$(awk -F': ' '/^corpus_count/ {print $2}' "$stats")
    crashes=$(awk -F': ' '/^saved_crashes/ {print $2}' "$stats"); hangs=$(awk -F': ' '/^saved_hangs/ {print $2}' "$stats")
    echo "   executions $execs, corpus $paths, crashes $crashes, hangs $hangs"
  else
    echo "   afl-fuzz did not start; see $out/$t.log"; tail -5 "$out/$t.log"; status=1; continue
  fi
  found=$(ls "$out/findings/$t/default/crashes"/id* 2>/dev/null || true)
  if [ -n "$found" ]; then
    # Replayed outside AFL with the uninstrumented-equivalent behaviour: the stack names the reader's bug.
    dotnet "$out/plain/ModelBuild.Fuzzing.dll" "$t" --replay $found || status=1
  fi
done
exit $status
