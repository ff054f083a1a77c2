#!/usr/bin/env bash
# Copies the store folder of every run that is not valid (results.json's "valid" is false,
# "unknown", or missing) and every junit.xml / summary.json into OUT, for a CI job to keep as
# artifacts. Prints how many runs failed. Works on any CI: plain bash, grep and cp.
#
# usage: reports/ci/collect-failing.sh [STORE=store] [OUT=ci-artifacts]
set -euo pipefail
store=${1:-store}
out=${2:-ci-artifacts}
mkdir -p "$out/failing" "$out/junit"
failing=0
shopt -s nullglob
for run in "$store"/*/*/; do
  run=${run%/}
  [ -L "$run" ] && continue
  if ! grep -Eq '"valid"[[:space:]]*:[[:space:]]*true' "$run/results.json" 2>/dev/null; then
    test_name=$(basename "$(dirname "$run")")
    cp -r "$run" "$out/failing/$test_name-$(basename "$run")"
    failing=$((failing + 1))
  fi
done
while IFS= read -r -d '' file; do
  relative=${file#"$store"/}
  mkdir -p "$out/junit/$(dirname "$relative")"
  cp "$file" "$out/junit/$relative"
done < <(find "$store" \( -name junit.xml -o -name summary.json \) -type f -print0 2>/dev/null)
echo "$failing failing run(s) copied to $out/failing"
