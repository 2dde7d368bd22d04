#!/usr/bin/env python3
"""Runs the lab's Raft tests N times and tabulates RPCs and seconds per test next to the handout's reference run.

Usage (normally through `make bench-lab [RUNS=3] [LAB=<lab src dir>] [RUN=<part or regex>] [PEERS=process|local]`):
    tools/benchlab.py -n 3                       the bundled harness, one process per peer (the 2026 tester's model)
    tools/benchlab.py -n 3 --lab ~/6.5840/src    a real lab tree, through `make lab`'s own flow (shim in, restored)

A benchmark, not a test: every run is a whole `tools/lab.py` run (the tree set up and restored each time), run one
after another so that runs do not compete for the two cores. The result is a Markdown table, per test the mean
and the max of the tester's #RPCs and of go test's seconds over the runs, beside the handout's figures, then the
totals, the number of tests at or below the handout's RPCs, and the CPU (user + sys) of each whole run, read
machine-wide from /proc/stat (the run's own accounting misses processes nobody waited for), so the machine should
be otherwise idle. The table starts with the date, the machine and the commit, so docs/PERFORMANCE.md can keep one
per change. The exit status is 1 if any run had a failing test.
"""
import argparse
import os
import platform
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import labtable  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TEST_LINE = re.compile(r"^\s*--- (PASS|FAIL): (Test\S+) \(([\d.]+)s\)")


def cpu_seconds_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def machine_busy_seconds():
    """CPU seconds the whole machine has spent busy (user, nice, system, irq, softirq) since boot, or None where
    /proc/stat is missing. The run's own accounting (RUSAGE_CHILDREN) misses every process its parent did not wait
    for, as the peer processes a tester kills may be; on an otherwise idle machine this counts them all."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            fields = f.readline().split()
    except OSError:
        return None
    if len(fields) < 8 or fields[0] != "cpu":
        return None
    user, nice, system, _idle, _iowait, irq, softirq = (int(v) for v in fields[1:8])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def one_run(k: int, n: int, lab_args, log: Path):
    """Runs lab.py once, its output to log; prints one progress line per finished test. Returns (status, CPU s):
    the machine's busy CPU where /proc/stat tells it, else the run's own."""
    cpu_before = cpu_seconds_of_children()
    busy_before = machine_busy_seconds()
    started = time.monotonic()
    cmd = [sys.executable, str(ROOT / "tools" / "lab.py"), "--compare", "0", *lab_args]
    with open(log, "w", encoding="utf-8") as out:
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace")
        for line in p.stdout:
            out.write(line)
            m = TEST_LINE.match(line)
            if m:
                print(f"bench-lab: run {k}/{n} {time.monotonic() - started:6.0f}s  {m.group(1)} {m.group(2)} "
                      f"({m.group(3)}s)", flush=True)
        status = p.wait()
    busy_after = machine_busy_seconds()
    if busy_before is not None and busy_after is not None:
        return status, busy_after - busy_before
    return status, cpu_seconds_of_children() - cpu_before


def machine() -> str:
    model = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs{', ' + model if model else ''}, {platform.system()} {platform.release()}"


def commit() -> str:
    try:
        out = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"], capture_output=True,
                             text=True, check=True).stdout.strip()
        return out or "unknown"
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def mean(values):
    return sum(values) / len(values) if values else 0.0


def tabulate(runs, cpus, what: str) -> str:
    """runs: one labtable.parse result per run. Returns the Markdown report."""
    order = []
    for run_order, _, _ in runs:
        order.extend(t for t in run_order if t not in order)
    lines = [
        f"{time.strftime('%Y-%m-%d')}, {machine()}, commit {commit()}, {what}, {len(runs)} runs",
        "",
        "| test | RPCs mean | RPCs max | handout RPCs | s mean | s max | handout s | failed |",
        "|---|---|---|---|---|---|---|---|",
    ]
    total_rpcs, total_seconds, at_or_below, compared, failures = 0.0, 0.0, 0, 0, 0
    for name in order:
        rows = [tests[name] for _, tests, _ in runs if name in tests]
        rpcs = [int(r["rpcs"]) for r in rows if r["rpcs"]]
        seconds = [r["seconds"] for r in rows if r["seconds"] is not None]
        failed = sum(1 for r in rows if r["result"] != "PASS") + (len(runs) - len(rows))
        failures += failed
        total_rpcs += mean(rpcs)
        total_seconds += mean(seconds)
        ref = labtable.HANDOUT.get(name)
        if ref and rpcs:
            compared += 1
            at_or_below += mean(rpcs) <= ref[1]
        lines.append(
            f"| {name} | {mean(rpcs):.0f} | {max(rpcs, default=0)} | {ref[1] if ref else ''} | {mean(seconds):.1f} "
            f"| {max(seconds, default=0.0):.1f} | {ref[0] if ref else ''} | {failed or ''} |"
        )
    handout_rpcs = sum(labtable.HANDOUT[t][1] for t in order if t in labtable.HANDOUT)
    handout_seconds = sum(labtable.HANDOUT[t][0] for t in order if t in labtable.HANDOUT)
    lines += [
        f"| total | {total_rpcs:.0f} | | {handout_rpcs} | {total_seconds:.1f} | | {handout_seconds:.1f} "
        f"| {failures or ''} |",
        "",
        f"At or below the handout's RPCs (mean): {at_or_below} of {compared} tests. CPU (user + sys, the machine's "
        "while the run ran, so leave it idle) per whole run: "
        + ", ".join(f"{c:.0f} s" for c in cpus) + f" (mean {mean(cpus):.0f} s).",
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=3, help="runs (default 3)")
    ap.add_argument("--lab", default="", help="a lab tree's src directory (default: the bundled harness)")
    ap.add_argument("--run", default="", help="a part (3A) or any go test -run regex (default: every Raft part)")
    ap.add_argument("--peers", default="", choices=["", "local", "process"],
                    help="bundled harness only (default process, the 2026 tester's model)")
    args = ap.parse_args(argv)
    if args.n < 1:
        print("bench-lab: N must be at least 1", file=sys.stderr)
        return 2
    if args.lab and args.peers:
        print("bench-lab: PEERS applies to the bundled harness only", file=sys.stderr)
        return 2
    lab_args = ["--run", args.run]
    if args.lab:
        lab_args += ["--lab", args.lab]
        what = f"lab tree {args.lab}"
    else:
        peers = args.peers or "process"
        lab_args += ["--peers", peers]
        what = f"bundled harness, RAFT_PEERS={peers}"
    logdir = Path(tempfile.mkdtemp(prefix="raftcore-bench-lab."))
    runs, cpus, bad = [], [], 0
    for k in range(1, args.n + 1):
        log = logdir / f"run-{k}.log"
        status, cpu = one_run(k, args.n, lab_args, log)
        if status == 2:
            print(open(log, encoding="utf-8", errors="replace").read(), end="", file=sys.stderr)
            return 2  # refused before any test ran: lab.py said why
        bad += status != 0
        with open(log, encoding="utf-8", errors="replace") as f:
            runs.append(labtable.parse(f))
        cpus.append(cpu)
        print(f"bench-lab: run {k}/{args.n} done (status {status}, {cpu:.0f} s CPU); log {log}", flush=True)
    print()
    print(tabulate(runs, cpus, what))
    return 1 if bad else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\nbench-lab: interrupted (lab.py restored the tree)", file=sys.stderr)
        sys.exit(130)
