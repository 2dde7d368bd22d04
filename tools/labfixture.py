#!/usr/bin/env python3
"""Lays out a fake lab tree of one tester generation from our own harness, to prove `make lab LAB=...` without
the course's code.

    tools/labfixture.py GENERATION DEST [--module NAME]

GENERATION is 2026 (raft1 with a main/raft1d.go daemon) or 2025 (raft1, in-process). DEST/src gets a go.mod with
the lab's go directive and the given module name (default 6.5840), our labrpc, labgob, raftapi and tester1 with
their imports rewritten to that module, our lab tests in raft1/, and a stand-in for a student's raft.go that a
run must leave byte for byte as it was.
"""
import argparse
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HARNESS = ROOT / "go"
GENERATIONS = ("2026", "2025")
PACKAGES = ("labrpc", "labgob", "raftapi", "tester1")
# The lab-scenario tests and what they need; the shim's own unit tests stay in our repo.
RAFT1_TESTS = ("harness_test.go", "lab3a_test.go", "lab3b_test.go", "lab3c_test.go", "lab3d_test.go",
               "daemon_test.go", "race_test.go", "norace_test.go")
STUDENT_RAFT = """package raft

// A student's Raft lives here. make lab puts raftcore's shim in its place for the run and restores this file.

type Raft struct{}
"""


def rewrite(text: str, module: str) -> str:
    return re.sub(r'"6\.5840/', f'"{module}/', text)


def copy_go(src_dir: Path, dest_dir: Path, module: str, names=None):
    dest_dir.mkdir(parents=True, exist_ok=True)
    for f in sorted(src_dir.glob("*.go")):
        if names is not None and f.name not in names:
            continue
        if names is None and f.name.endswith("_test.go"):
            continue
        (dest_dir / f.name).write_text(rewrite(f.read_text(), module))


def build(generation: str, dest: Path, module: str) -> Path:
    if generation not in GENERATIONS:
        raise SystemExit(f"labfixture: unknown generation {generation!r}; want one of {', '.join(GENERATIONS)}")
    src = dest / "src"
    if src.exists():
        shutil.rmtree(src)
    src.mkdir(parents=True)
    (src / "go.mod").write_text(f"module {module}\n\ngo 1.22\n")
    for pkg in PACKAGES:
        copy_go(HARNESS / pkg, src / pkg, module)
    copy_go(HARNESS / "raft1", src / "raft1", module, names=RAFT1_TESTS)
    (src / "raft1" / "raft.go").write_text(STUDENT_RAFT)
    if generation == "2026":
        copy_go(HARNESS / "main", src / "main", module)
    return src


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("generation", choices=GENERATIONS)
    ap.add_argument("dest", type=Path)
    ap.add_argument("--module", default="6.5840")
    args = ap.parse_args(argv)
    print(build(args.generation, args.dest, args.module))
    return 0


if __name__ == "__main__":
    sys.exit(main())
