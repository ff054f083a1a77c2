#!/usr/bin/env python3
"""rafty against openraft's `benchmarks/minimal`, side by side, round by round.

Runs openraft's minimal benchmark (a binary you built yourself from openraft's source: see
README.md beside this file) and `rafty bench --mode in-process` alternately at each client
count, on the same machine in the same session, and prints one table: clients | openraft
ops/s | rafty ops/s | ratio | latencies, with every round's figures and their spread.

Standard library only. Exit code 0 when every run worked, 2 on bad arguments or a failed run.
"""

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import time

# openraft's op count per client count in the first round; later rounds aim at --seconds
# from the rate the previous round measured.
FIRST_OPERATIONS = {1: 100_000, 16: 400_000, 64: 1_000_000, 256: 2_000_000, 1024: 3_000_000}
# A run is refused rather than left to hang.
RUN_TIMEOUT_SECONDS = 600


class RunFailed(Exception):
    """A benchmark process failed or printed something this script cannot read."""


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--openraft-bench", default=os.environ.get("OPENRAFT_BENCH"),
                        help="openraft's built benchmarks/minimal `bench` binary "
                             "(or $OPENRAFT_BENCH)")
    parser.add_argument("--rafty", default="target/release/rafty",
                        help="the rafty binary (default: target/release/rafty)")
    parser.add_argument("--clients", default="1,16,64,256,1024",
                        help="comma-separated client counts (default: 1,16,64,256,1024)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per client count")
    parser.add_argument("--seconds", type=float, default=5.0,
                        help="rafty's measured window per round; openraft's op count is "
                             "sized to run about as long (default: 5)")
    parser.add_argument("--warmup", type=float, default=1.0,
                        help="rafty's warm-up per round, seconds (default: 1)")
    parser.add_argument("--server-workers", type=int, default=16,
                        help="openraft's --server-workers (default: 16, its own default)")
    parser.add_argument("--client-workers", type=int, default=1,
                        help="openraft's --client-workers (default: 1, its own default)")
    parser.add_argument("--rafty-args", default="--snapshot-every 5000 --snapshot-keep 1000",
                        help="extra arguments for `rafty bench` (default: openraft's "
                             "snapshot policy, see README.md)")
    parser.add_argument("--json-out", help="also write every raw figure to this file")
    args = parser.parse_args(argv)
    problems = []
    if not args.openraft_bench:
        problems.append("--openraft-bench: give the path of openraft's built `bench` binary "
                        "(or set OPENRAFT_BENCH); README.md says how to build it")
    elif not os.access(args.openraft_bench, os.X_OK):
        problems.append(f"--openraft-bench: {args.openraft_bench} is not an executable file")
    if not os.access(args.rafty, os.X_OK):
        problems.append(f"--rafty: {args.rafty} is not an executable file "
                        "(cargo build --release -p rafty-harness)")
    try:
        args.clients = [int(part) for part in args.clients.split(",")]
        if any(count < 1 for count in args.clients):
            raise ValueError
    except ValueError:
        problems.append(f"--clients: '{args.clients}' is not a list of positive whole numbers")
    if args.rounds < 1:
        problems.append("--rounds: must be at least 1")
    if args.seconds <= 0 or args.warmup < 0:
        problems.append("--seconds must be > 0 and --warmup >= 0")
    if problems:
        for problem in problems:
            print(f"vs_openraft: {problem}", file=sys.stderr)
        sys.exit(2)
    return args


def load_average():
    try:
        with open("/proc/loadavg", encoding="ascii") as file:
            return float(file.read().split()[0])
    except OSError:
        return None


def children_cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(command):
    """Run `command`; its output and the CPU seconds (user + system) it used."""
    cpu_before = children_cpu_seconds()
    try:
        done = subprocess.run(command, capture_output=True, text=True,
                              timeout=RUN_TIMEOUT_SECONDS, check=False)
    except subprocess.TimeoutExpired as expired:
        raise RunFailed(f"{command[0]}: no answer in {RUN_TIMEOUT_SECONDS} s") from expired
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        raise RunFailed(f"{' '.join(command)}: exit code {done.returncode}: " + " | ".join(tail))
    return done.stdout, done.stderr, children_cpu_seconds() - cpu_before


DURATION = re.compile(r"time: ([0-9.]+)(ns|µs|us|ms|s),")
TOTAL_ROW = re.compile(r"1~5:proposed\S*applied\s*│\s*([0-9,]+)((?:\s*│\s*[0-9,]+)+)")


def seconds_of(value, unit):
    scale = {"ns": 1e-9, "µs": 1e-6, "us": 1e-6, "ms": 1e-3, "s": 1.0}[unit]
    return float(value) * scale


def run_openraft(args, clients, operations):
    """One run of openraft's benchmark: ops/s and its leader's sampled proposed->applied
    latency (p50, p99 in µs)."""
    command = [args.openraft_bench, "--server-workers", str(args.server_workers),
               "--client-workers", str(args.client_workers), "-m", "3",
               "-c", str(clients), "-n", str(operations)]
    stdout, stderr, cpu = run(command)
    found = DURATION.search(stdout)
    if not found:
        raise RunFailed(f"openraft printed no 'time: ...' line: {stdout.strip()[-300:]}")
    elapsed = seconds_of(found.group(1), found.group(2))
    # As its own code counts: each client runs operations / clients.
    total = operations // clients * clients
    rows = TOTAL_ROW.findall(stderr)
    p50 = p99 = None
    if rows:
        # Columns: P0.1 P1 P5 P10 P50 P90 P99 P99.9 (µs), the last table printed (Final).
        cells = [int(cell.replace(",", "")) for cell in re.findall(r"[0-9,]+", rows[-1][1])]
        if len(cells) == 8:
            p50, p99 = cells[4], cells[6]
    return {"ops_per_sec": total / elapsed, "seconds": elapsed, "operations": total,
            "cpu_seconds": cpu, "ops_per_cpu_sec": total / cpu if cpu > 0 else None,
            "p50_us": p50, "p99_us": p99, "latency": "leader proposed->applied, sampled"}


def run_rafty(args, clients):
    """One round of `rafty bench --mode in-process`: ops/s, client and commit latency."""
    command = [args.rafty, "bench", "--mode", "in-process", "--clients", str(clients),
               "--rounds", "1", "--warmup", f"{int(args.warmup * 1000)}ms",
               "--duration", f"{int(args.seconds * 1000)}ms", "--json"]
    command += args.rafty_args.split()
    stdout, _, cpu = run(command)
    try:
        report = json.loads(stdout)
        result = report["results"][0]
        round_result = result["rounds"][0]
    except (ValueError, KeyError, IndexError) as error:
        raise RunFailed(f"rafty bench printed unreadable JSON ({error}): {stdout[:300]}")
    commit = round_result.get("commit_latency") or {}
    figures = {"ops_per_sec": round_result["ops_per_sec"], "errors": round_result["errors"],
               "p50_us": round_result["latency"]["p50_us"],
               "p99_us": round_result["latency"]["p99_us"],
               "commit_p50_us": commit.get("p50_us"), "commit_p99_us": commit.get("p99_us"),
               # Every entry the round applied (warm-up included) over the process's CPU.
               "cpu_seconds": cpu, "entries_applied": round_result["entries_applied"],
               "ops_per_cpu_sec": round_result["entries_applied"] / cpu if cpu > 0 else None}
    if "loop_counters" in round_result:
        figures["loop_counters"] = round_result["loop_counters"]
    return figures


def spread(values):
    low, mid, high = min(values), statistics.median(values), max(values)
    return low, mid, high, (high - low) / mid * 100 if mid else 0.0


def number(value):
    return "-" if value is None else f"{value:,.0f}"


def micros(value):
    if value is None:
        return "-"
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def median_of(runs, key):
    values = [run[key] for run in runs if run.get(key) is not None]
    return statistics.median(values) if values else None


def table(args, results, load_before, load_after, started):
    lines = [f"rafty vs openraft, {started} UTC, {len(args.clients)} client counts x "
             f"{args.rounds} rounds, alternated; load average {load_before} -> {load_after}",
             f"openraft: {args.openraft_bench} --server-workers {args.server_workers} "
             f"--client-workers {args.client_workers} -m 3 (time from the first client to "
             f"the leader applying the last op)",
             f"rafty: {args.rafty} bench --mode in-process, warm-up {args.warmup} s, window "
             f"{args.seconds} s, {args.rafty_args}",
             "",
             "| clients | openraft ops/s (median, min..max, spread) | rafty ops/s (median, "
             "min..max, spread) | ratio (median; min per round) | ops per CPU-second "
             "openraft / rafty (ratio) | openraft p50/p99 us (proposed->applied) | rafty "
             "p50/p99 us (client) | rafty commit p50/p99 us |",
             "|---:|---|---|---|---|---|---|---|"]
    for clients in args.clients:
        openraft = results[clients]["openraft"]
        rafty = results[clients]["rafty"]
        o_low, o_mid, o_high, o_spread = spread([run["ops_per_sec"] for run in openraft])
        r_low, r_mid, r_high, r_spread = spread([run["ops_per_sec"] for run in rafty])
        ratios = [r["ops_per_sec"] / o["ops_per_sec"] for o, r in zip(openraft, rafty)]
        o_cpu = median_of(openraft, "ops_per_cpu_sec")
        r_cpu = median_of(rafty, "ops_per_cpu_sec")
        cpu_ratio = f"{r_cpu / o_cpu:.2f}x" if o_cpu and r_cpu else "-"
        lines.append(
            f"| {clients} | {number(o_mid)} ({number(o_low)}..{number(o_high)}, "
            f"{o_spread:.0f}%) | {number(r_mid)} ({number(r_low)}..{number(r_high)}, "
            f"{r_spread:.0f}%) | {statistics.median(ratios):.2f}x; {min(ratios):.2f}x | "
            f"{number(o_cpu)} / {number(r_cpu)} ({cpu_ratio}) | "
            f"{micros(median_of(openraft, 'p50_us'))} / {micros(median_of(openraft, 'p99_us'))}"
            f" | {micros(median_of(rafty, 'p50_us'))} / {micros(median_of(rafty, 'p99_us'))} | "
            f"{micros(median_of(rafty, 'commit_p50_us'))} / "
            f"{micros(median_of(rafty, 'commit_p99_us'))} |")
    lines += ["", "Every round (openraft ops/s, p50/p99 us | rafty ops/s, client p50/p99 us | "
              "ratio):"]
    for clients in args.clients:
        rounds = zip(results[clients]["openraft"], results[clients]["rafty"])
        for number_, (o, r) in enumerate(rounds, start=1):
            lines.append(
                f"  {clients:>5} clients, round {number_}: openraft {number(o['ops_per_sec'])}"
                f" ({micros(o['p50_us'])}/{micros(o['p99_us'])}) | rafty "
                f"{number(r['ops_per_sec'])} ({micros(r['p50_us'])}/{micros(r['p99_us'])}, "
                f"{r['errors']} errors) | {r['ops_per_sec'] / o['ops_per_sec']:.2f}x")
    return "\n".join(lines)


def main(argv):
    args = parse_args(argv)
    started = time.strftime("%Y-%m-%d %H:%M", time.gmtime())
    load_before = load_average()
    results = {clients: {"openraft": [], "rafty": []} for clients in args.clients}
    operations = dict(FIRST_OPERATIONS)
    try:
        for round_number in range(1, args.rounds + 1):
            for clients in args.clients:
                count = operations.get(clients, max(100_000, clients * 2_000))
                count = max(count // clients, 1) * clients
                # Alternate who goes first, so neither always runs on a warmer machine.
                order = ["openraft", "rafty"] if round_number % 2 else ["rafty", "openraft"]
                for system in order:
                    print(f"round {round_number}, {clients} clients: {system}",
                          file=sys.stderr, flush=True)
                    if system == "openraft":
                        figures = run_openraft(args, clients, count)
                        operations[clients] = int(figures["ops_per_sec"] * args.seconds)
                    else:
                        figures = run_rafty(args, clients)
                    figures["load"] = load_average()
                    results[clients][system].append(figures)
    except RunFailed as failure:
        print(f"vs_openraft: {failure}", file=sys.stderr)
        return 2
    load_after = load_average()
    print(table(args, results, load_before, load_after, started))
    if args.json_out:
        with open(args.json_out, "w", encoding="utf-8") as file:
            json.dump({"started_utc": started, "load_before": load_before,
                       "load_after": load_after, "server_workers": args.server_workers,
                       "client_workers": args.client_workers, "rafty_args": args.rafty_args,
                       "results": {str(k): v for k, v in results.items()}}, file, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
