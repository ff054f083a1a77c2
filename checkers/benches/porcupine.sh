#!/usr/bin/env bash
# Side by side with Porcupine on its own test data: `rafty check` per file, as a process
# (wall time from outside; CPU time, user + system, from /usr/bin/time at its 10 ms
# resolution: the figure to trust on a loaded machine; peak memory from the run's --json),
# median of N runs (default 3),
# with Porcupine's figures quoted in issue 19 beside them where the issue gives them.
#
#   cargo build --release -p rafty-harness
#   checkers/benches/porcupine.sh [RUNS] [KV_DIR] [ETCD_DIR]
#
# Defaults: the copies in checkers/tests/histories/porcupine/{kv,etcd} (Porcupine's
# test_data/kv and test_data/jepsen, all of them). Prints one line per file and totals.
set -euo pipefail
here="$(cd "$(dirname "$0")/../.." && pwd)"
rafty="${RAFTY:-$here/target/release/rafty}"
runs="${1:-3}"
kv_dir="${2:-$here/checkers/tests/histories/porcupine/kv}"
etcd_dir="${3:-$here/checkers/tests/histories/porcupine/etcd}"

# Porcupine's figures from issue 19 (Go, CheckEvents, process wall, medians of 3).
porcupine() {
  case "$1" in
    c50-bad.txt) echo "26 ms, 17 MB" ;;
    *) echo "-" ;;
  esac
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

printf "%-14s %-17s %10s %8s %10s %12s   %s\n" file verdict wall_ms cpu_ms peak_MiB steps porcupine
bench_dir() {
  local model="$1" dir="$2"
  local sum=0 cpu_sum=0
  for file in "$dir"/*.txt "$dir"/*.log; do
    [ -e "$file" ] || continue
    local walls=() cpus=() json="" times
    times=$(mktemp)
    for _ in $(seq "$runs"); do
      local start end
      start=$(date +%s%N)
      json=$(/usr/bin/time -o "$times" -f "%U %S" "$rafty" check --model "$model" --json "$file" || true)
      end=$(date +%s%N)
      walls+=($(( (end - start) / 1000 )))
      cpus+=("$(awk '/^[0-9.]+ [0-9.]+$/ {print ($1 + $2) * 1000}' "$times")")
    done
    rm -f "$times"
    local cpu_ms
    cpu_ms=$(printf "%s\n" "${cpus[@]}" | median)
    local wall_us
    wall_us=$(printf "%s\n" "${walls[@]}" | median)
    local verdict kib steps
    verdict=$(sed -n 's/.*"valid":\([a-z"]*\).*/\1/p' <<<"$json")
    kib=$(sed -n 's/.*"peak_memory_kib":\([0-9]*\).*/\1/p' <<<"$json")
    steps=$(sed -n 's/.*"steps":\([0-9]*\).*/\1/p' <<<"$json")
    printf "%-14s %-17s %10.1f %8s %10.1f %12s   %s\n" "$(basename "$file")" \
      "$( [ "$verdict" = true ] && echo linearizable || { [ "$verdict" = false ] && echo not-linearizable || echo "$verdict"; } )" \
      "$(echo "$wall_us / 1000" | bc -l)" "$cpu_ms" "$(echo "${kib:-0} / 1024" | bc -l)" "${steps:-?}" \
      "$(porcupine "$(basename "$file")")"
    sum=$((sum + wall_us))
    cpu_sum=$(echo "$cpu_sum + $cpu_ms" | bc -l)
  done
  printf "%-14s %-17s %10.1f %8s\n" "total $model" "" "$(echo "$sum / 1000" | bc -l)" "$cpu_sum"
}
bench_dir kv "$kv_dir"
bench_dir cas-register "$etcd_dir"
