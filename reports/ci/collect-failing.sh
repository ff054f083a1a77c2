#!/usr/bin/env bash
# Copies the store folder of every run that is not valid (results.json's top-level "valid" is
# false or "unknown", or results.json is missing or unreadable) into OUT/failing/<test>-<run>/,
# and every junit.xml / summary.json (one pair per `rafty test` invocation, under
# STORE/<test>/suites/<time>/) into OUT/junit/, for a CI job to keep as artifacts. Names each
# failing run and prints how many there were.
#
# The verdicts are read by `rafty runs --not-valid`, which parses results.json (the nested
# checks have "valid" fields of their own, so a grep cannot tell), so the script needs the
# rafty binary: $RAFTY if set, else target/release/rafty of this checkout, else `rafty` on the
# PATH. Otherwise plain bash, find and cp: no jq, no python.
#
# usage: [RAFTY=path/to/rafty] reports/ci/collect-failing.sh [STORE=store] [OUT=ci-artifacts]
# Exit code 0 when everything was collected (whether or not runs failed), 2 when it could not be.
set -euo pipefail
store=${1:-store}
out=${2:-ci-artifacts}
store=${store%/}
store=${store:-/}
checkout=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
if [ -n "${RAFTY:-}" ]; then
  rafty=$RAFTY
elif [ -x "$checkout/target/release/rafty" ]; then
  rafty=$checkout/target/release/rafty
elif command -v rafty >/dev/null 2>&1; then
  rafty=rafty
else
  echo "collect-failing: no rafty binary: build it (cargo build --release -p rafty-harness) or set RAFTY" >&2
  exit 2
fi
if [ ! -d "$store" ]; then
  echo "collect-failing: $store: no such store folder (did rafty test run?); nothing collected" >&2
  exit 2
fi
mkdir -p "$out/failing" "$out/junit"
listing=$("$rafty" runs --store "$store" --not-valid)
failing=0
while IFS=$'\t' read -r verdict run why; do
  [ -n "$run" ] || continue
  cp -r "$store/$run" "$out/failing/${run//\//-}"
  echo "failing: $run ($verdict${why:+: $why})"
  failing=$((failing + 1))
done <<< "$listing"
while IFS= read -r -d '' file; do
  relative=${file#"$store"/}
  mkdir -p "$out/junit/$(dirname "$relative")"
  cp "$file" "$out/junit/$relative"
done < <(find "$store" \( -name junit.xml -o -name summary.json \) -type f -print0)
echo "$failing failing run(s) copied to $out/failing"
