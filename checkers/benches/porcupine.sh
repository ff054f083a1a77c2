#!/usr/bin/env bash
# Side by side with Porcupine on its own test data: `rafty-check` (`rafty check` in a small
# binary, built statically linked as below, as Go links Porcupine's; RAFTY_CHECK overrides
# the path) and Porcupine's checker
# (Go, built from its public source: BENCHMARKS.md says how; nothing of it is in this
# repository), each file as a process, the two runs of a round back to back so that they share
# the machine's load. Per file: the verdicts, process wall time (from outside), CPU time (user
# + system, /usr/bin/time, 10 ms resolution) and peak RSS, medians of N rounds (default 3).
#
#   cargo rustc --release -p rafty-harness --bin rafty-check -- -C target-feature=+crt-static
#   PORCUPINE=/tmp/porcupine-bench/porcupinebench checkers/benches/porcupine.sh [RUNS] [FILES...]
#
# FILES default to every file of checkers/tests/histories/porcupine/{kv,etcd} (Porcupine's
# test_data/kv and test_data/jepsen); a `.jsonl` file is a generated kv history
# (examples/synthetic), checked by the driver's `synth` mode. Without PORCUPINE (or when it is
# not executable), only rafty's columns are filled. Prints one line per file and the totals.
set -euo pipefail
here="$(cd "$(dirname "$0")/../.." && pwd)"
rafty="${RAFTY_CHECK:-$here/target/release/rafty-check}"
porcupine="${PORCUPINE:-/tmp/porcupine-bench/porcupinebench}"
runs="${1:-3}"
shift || true
files=("$@")
if [ ${#files[@]} -eq 0 ]; then
  files=("$here"/checkers/tests/histories/porcupine/kv/*.txt "$here"/checkers/tests/histories/porcupine/etcd/*.log)
fi

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# One process: prints "wall_us cpu_ms peak_kib exit".
measure() {
  local times start end code
  times=$(mktemp)
  start=$(date +%s%N)
  set +e
  /usr/bin/time -o "$times" -f "%U %S %M" "$@" >/dev/null 2>&1
  code=$?
  set -e
  end=$(date +%s%N)
  awk -v wall=$(( (end - start) / 1000 )) -v code="$code" \
    '/^[0-9.]+ [0-9.]+ [0-9]+$/ {printf "%d %d %d %d\n", wall, ($1 + $2) * 1000, $3, code}' "$times"
  rm -f "$times"
}

verdict() {
  case "$1" in 0) echo ok ;; 1) echo illegal ;; *) echo "exit $1" ;; esac
}

printf "%-14s %-8s %-8s %10s %8s %9s %10s %8s %9s %7s\n" file rafty porcup. r_wall_ms r_cpu_ms r_peak_MB p_wall_ms p_cpu_ms p_peak_MB ratio
total_r=0 total_p=0
for file in "${files[@]}"; do
  name=$(basename "$file")
  case "$name" in
    *.jsonl) r_args=(--model kv "$file") p_args=(synth "$file") ;;
    *.log) r_args=(--model cas-register "$file") p_args=(etcd "$file") ;;
    *) r_args=(--model kv "$file") p_args=(kv "$file") ;;
  esac
  r_walls=() r_cpus=() r_peaks=() p_walls=() p_cpus=() p_peaks=() r_code=? p_code=-
  for _ in $(seq "$runs"); do
    read -r wall cpu peak r_code < <(measure "$rafty" "${r_args[@]}")
    r_walls+=("$wall") r_cpus+=("$cpu") r_peaks+=("$peak")
    if [ -x "$porcupine" ]; then
      read -r wall cpu peak p_code < <(measure "$porcupine" "${p_args[@]}")
      p_walls+=("$wall") p_cpus+=("$cpu") p_peaks+=("$peak")
    fi
  done
  r_wall=$(printf "%s\n" "${r_walls[@]}" | median)
  r_cpu=$(printf "%s\n" "${r_cpus[@]}" | median)
  r_peak=$(printf "%s\n" "${r_peaks[@]}" | median)
  total_r=$((total_r + r_wall))
  if [ -x "$porcupine" ]; then
    p_wall=$(printf "%s\n" "${p_walls[@]}" | median)
    p_cpu=$(printf "%s\n" "${p_cpus[@]}" | median)
    p_peak=$(printf "%s\n" "${p_peaks[@]}" | median)
    total_p=$((total_p + p_wall))
    printf "%-14s %-8s %-8s %10.1f %8d %9.1f %10.1f %8d %9.1f %7.2f\n" "$name" \
      "$(verdict "$r_code")" "$(verdict "$p_code")" "$(echo "$r_wall / 1000" | bc -l)" "$r_cpu" \
      "$(echo "$r_peak / 1024" | bc -l)" "$(echo "$p_wall / 1000" | bc -l)" "$p_cpu" \
      "$(echo "$p_peak / 1024" | bc -l)" "$(echo "$r_wall / $p_wall" | bc -l)"
  else
    printf "%-14s %-8s %-8s %10.1f %8d %9.1f\n" "$name" "$(verdict "$r_code")" - \
      "$(echo "$r_wall / 1000" | bc -l)" "$r_cpu" "$(echo "$r_peak / 1024" | bc -l)"
  fi
done
if [ "$total_p" -gt 0 ]; then
  printf "total: rafty %.1f ms, Porcupine %.1f ms (sum of per-file medians), ratio %.2f\n" \
    "$(echo "$total_r / 1000" | bc -l)" "$(echo "$total_p / 1000" | bc -l)" "$(echo "$total_r / $total_p" | bc -l)"
else
  printf "total: rafty %.1f ms (sum of per-file medians)\n" "$(echo "$total_r / 1000" | bc -l)"
fi
