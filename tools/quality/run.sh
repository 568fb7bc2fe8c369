#!/usr/bin/env bash
# Quality table on the fixture: compress with each spec here, then perplexity on eval.txt.
# Usage: tools/quality/run.sh [spec.yaml ...]   (from the repository root; prints a Markdown table)
set -euo pipefail
cd "$(dirname "$0")/../.."
dotnet build src/ModelBuild.Cli -c Release -v:q -nologo >/dev/null
cli="dotnet src/ModelBuild.Cli/bin/Release/net10.0/modelbuild.dll"
model=samples/models/tiny-fortunes
out=$(mktemp -d)
specs=("$@"); [ ${#specs[@]} -gt 0 ] || specs=(tools/quality/*.yaml)
ppl() { $cli eval "$1" --text $model/eval.txt --json | sed -E 's/.*"perplexity":([0-9.]+).*/\1/'; }
echo "| model | pack MiB | compress s | eval.txt perplexity |"
echo "|---|---|---|---|"
printf "| original (f16) | %.2f | - | %.3f |\n" "$(echo "$(stat -c %s $model/model.safetensors) / 1048576" | bc -l)" "$(ppl $model)"
for spec in "${specs[@]}"; do
  name=$(basename "$spec" .yaml)
  start=$(date +%s.%N)
  $cli compress $model --spec "$spec" -o "$out/$name.mbpack" >/dev/null
  secs=$(echo "$(date +%s.%N) - $start" | bc -l)
  printf "| %s | %.2f | %.1f | %.3f |\n" "$name" "$(echo "$(stat -c %s $out/$name.mbpack) / 1048576" | bc -l)" "$secs" "$(ppl "$out/$name.mbpack")"
done
rm -rf "$out"
