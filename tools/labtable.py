#!/usr/bin/env python3
"""Turns `go test -v` output of lab-style Raft tests into a per-test table with totals.

Reads the log files named on the command line (or stdin), prints one row per test (result, seconds, peers, RPCs,
ops, taken from the tester's `  ... Passed --` line and go test's `--- PASS/FAIL` line), then totals. Exits 1 if
any test failed or if no test ran, so a caller can use it as the verdict of a run.
"""
import re
import sys

# Subtests (TestBasic/Move) are not rows: their test's own verdict covers them.
RUN = re.compile(r"^=== RUN\s+(Test[^\s/]+)$")
PASSED = re.compile(
    r"\.\.\. Passed --\s+(?:time\s+)?([\d.]+)s?\s+(?:#peers\s+)?(\d+)\s+(?:#RPCs\s+)?(\d+)\s+(?:#Ops\s+)?(\d+)"
)
# The 2020 tester prints bare numbers: time, peers, RPCs, bytes, commands agreed.
PASSED_2020 = re.compile(r"\.\.\. Passed --\s+([\d.]+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*$")
RESULT = re.compile(r"^\s*--- (PASS|FAIL|SKIP): (Test[^\s/]+) \(([\d.]+)s\)")
# The 2026 Lab 3 handout's sample run (-race, wall-clock): seconds and RPCs per test, for comparison only.
HANDOUT = {
    "TestInitialElection3A": (3.5, 32), "TestReElection3A": (6.2, 68), "TestManyElections3A": (9.8, 684),
    "TestBasicAgree3B": (1.6, 18), "TestRPCBytes3B": (3.3, 50), "TestFollowerFailure3B": (5.4, 58),
    "TestLeaderFailure3B": (6.5, 110), "TestFailAgree3B": (6.0, 61), "TestFailNoAgree3B": (4.0, 107),
    "TestConcurrentStarts3B": (1.4, 12), "TestRejoin3B": (7.8, 120), "TestBackup3B": (27.7, 1370),
    "TestCount3B": (2.7, 32), "TestPersist13C": (7.6, 58), "TestPersist23C": (21.6, 287),
    "TestPersist33C": (3.8, 30), "TestFigure83C": (48.5, 499), "TestUnreliableAgree3C": (5.1, 288),
    "TestFigure8Unreliable3C": (53.6, 3200), "TestReliableChurn3C": (18.2, 1701),
    "TestUnreliableChurn3C": (17.3, 1253), "TestSnapshotBasic3D": (8.4, 279), "TestSnapshotInstall3D": (59.6, 919),
    "TestSnapshotInstallUnreliable3D": (82.1, 1083), "TestSnapshotInstallCrash3D": (53.6, 685),
    "TestSnapshotInstallUnCrash3D": (66.2, 717), "TestSnapshotAllCrash3D": (20.4, 244),
    "TestSnapshotInit3D": (7.4, 79),
}
# What make lab writes into a log after ending a test that hung (tools/lab.py HangWatch).
HUNG_MARK = "== lab: hung:"
HUNG = re.compile(r"^" + re.escape(HUNG_MARK) + r" (Test\S+) after (\d+)s")
PACKAGE_FAIL = re.compile(r"^(FAIL|panic:|fatal error:|\*\*\* Test killed)")


def parse(lines):
    tests = {}
    order = []
    current = None
    crashed = False

    def row_of(name):
        """The test's row, made (and put in order) when the test first shows up."""
        if name not in tests:
            order.append(name)
            tests[name] = {"result": "", "seconds": None, "peers": "", "rpcs": "", "ops": ""}
        return tests[name]

    for line in lines:
        line = line.rstrip("\n")
        m = RUN.match(line)
        if m:
            current = m.group(1)
            if current not in tests:
                row_of(current)["result"] = "RUNNING"
            continue
        m = PASSED_2020.search(line)
        if m and current:
            row = tests[current]
            row["peers"], row["rpcs"], row["ops"] = m.group(2), m.group(3), m.group(5)
            continue
        m = PASSED.search(line)
        if m and current:
            row = tests[current]
            row["peers"], row["rpcs"], row["ops"] = m.group(2), m.group(3), m.group(4)
            continue
        m = RESULT.match(line)
        if m:
            row = row_of(m.group(2))
            row["result"], row["seconds"] = m.group(1), float(m.group(3))
            continue
        m = HUNG.match(line)
        if m:
            row = row_of(m.group(1))
            row["result"], row["seconds"] = "HUNG", float(m.group(2))
            crashed = True
            continue
        if PACKAGE_FAIL.match(line):
            crashed = True
    return order, tests, crashed


def main():
    lines = []
    if len(sys.argv) > 1:
        for path in sys.argv[1:]:
            with open(path, encoding="utf-8", errors="replace") as f:
                lines.extend(f)
    else:
        lines = sys.stdin.readlines()
    return report(lines)


def report(lines):
    """Prints the table for go test output lines; returns the verdict as an exit status."""
    order, tests, crashed = parse(lines)
    width = max([len(n) for n in order] + [4])
    print(f"{'test':<{width}}  result  seconds  peers   RPCs   ops  | handout s  RPCs")
    total_seconds = 0.0
    total_rpcs = 0
    total_ops = 0
    failed = 0
    for name in order:
        row = tests[name]
        if row["result"] != "PASS":
            failed += 1
        seconds = row["seconds"]
        total_seconds += seconds or 0.0
        total_rpcs += int(row["rpcs"] or 0)
        total_ops += int(row["ops"] or 0)
        shown = f"{seconds:7.1f}" if seconds is not None else "      -"
        ref = HANDOUT.get(name)
        ref_shown = f"{ref[0]:9.1f}  {ref[1]:>4}" if ref else ""
        print(
            f"{name:<{width}}  {row['result']:<6}  {shown}  {row['peers']:>5}  {row['rpcs']:>5}  {row['ops']:>4}"
            f"  | {ref_shown}"
        )
    print(
        f"{'total':<{width}}  {len(order) - failed}/{len(order)} passed  {total_seconds:.1f}s  "
        f"{total_rpcs} RPCs  {total_ops} ops"
    )
    if not order:
        print("no test ran", file=sys.stderr)
        return 1
    if failed or crashed:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
