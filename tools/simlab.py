#!/usr/bin/env python3
"""Runs the simulator's replay of the lab's 28 Raft tests under many seeds and tabulates what each costs.

Usage (normally through `make sim-lab [RUNS=10]`):
    tools/simlab.py -n 10

Each run is `cargo test -p raftcore-sim --test lab` with a different RAFTCORE_SIM_SEED_OFFSET, so every scenario
runs under RUNS different seeds (3 seeds each for the ones that already loop over seeds). The table gives per
test the mean RPCs, split into RequestVote, AppendEntries with entries, AppendEntries without (heartbeats, probes,
commit announcements) and InstallSnapshot, and the mean virtual seconds. It takes seconds, so a change to the
core can be ranked before the real tester's minutes are spent on it; the real tester has the last word
(`make bench-lab LAB=...`, docs/PERFORMANCE.md).
"""
import argparse
import collections
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FINISH_LINE = re.compile(
    r"(\w+): elected at .*? (\d+) ms virtual, (\d+) RPCs \((\d+) votes, (\d+) appends with entries, "
    r"(\d+) without, (\d+) snapshots\)")
COLUMNS = ("seconds", "rpcs", "votes", "appends", "empty_appends", "snapshots")


def parse(lines):
    """Per scenario name, the sums of COLUMNS over its runs and the number of runs."""
    sums = collections.defaultdict(lambda: [0] * (len(COLUMNS) + 1))
    for line in lines:
        m = FINISH_LINE.search(line)
        if not m:
            continue
        row = sums[m.group(1)]
        for i in range(len(COLUMNS)):
            row[i] += int(m.group(i + 2))
        row[-1] += 1
    return sums


def table(sums) -> str:
    out = ["| test | RPCs | RequestVote | AppendEntries with entries | without | InstallSnapshot | virtual s |",
           "|---|---|---|---|---|---|---|"]
    totals = [0.0] * len(COLUMNS)
    for name in sorted(sums):
        row = sums[name]
        means = [v / row[-1] for v in row[:-1]]
        means[0] /= 1000
        totals = [t + m for t, m in zip(totals, means)]
        out.append(f"| {name} | {means[1]:.0f} | {means[2]:.0f} | {means[3]:.0f} | {means[4]:.0f} | {means[5]:.0f} "
                   f"| {means[0]:.2f} |")
    out.append(f"| total | {totals[1]:.0f} | {totals[2]:.0f} | {totals[3]:.0f} | {totals[4]:.0f} | {totals[5]:.0f} "
               f"| {totals[0]:.1f} |")
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=10, help="runs, each under its own seeds (default 10)")
    args = ap.parse_args()
    if args.n < 1:
        print("sim-lab: RUNS must be at least 1", file=sys.stderr)
        return 2
    cmd = ["cargo", "test", "--release", "--locked", "--quiet", "--manifest-path", str(ROOT / "Cargo.toml"),
           "-p", "raftcore-sim", "--test", "lab", "--", "--nocapture", "--test-threads", "2"]
    lines = []
    for k in range(args.n):
        env = dict(os.environ, RAFTCORE_SIM_SEED_OFFSET=str(k * 1000))
        p = subprocess.run(cmd, env=env, capture_output=True, text=True, errors="replace")
        if p.returncode != 0:
            sys.stdout.write(p.stdout[-4000:] + p.stderr[-4000:])
            print(f"sim-lab: run {k + 1}/{args.n} (RAFTCORE_SIM_SEED_OFFSET={k * 1000}) failed", file=sys.stderr)
            return 1
        lines += p.stdout.splitlines()
        print(f"sim-lab: run {k + 1}/{args.n} done", file=sys.stderr, flush=True)
    print(table(parse(lines)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
