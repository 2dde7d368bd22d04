#!/usr/bin/env python3
"""Lays out a fake lab tree of one tester generation from our own harness, to prove `make lab LAB=...` without
the course's code.

    tools/labfixture.py GENERATION DEST [--module NAME]

GENERATION is one of
  2026            raft1/ with a main/raft1d.go daemon
  2025            raft1/, in-process
  classic-module  the 2021-24 src/raft layout in a module (parts 3A-3D), package raft's Persister with Save
  2020            src/raft in GOPATH mode: no go.mod, relative imports, parts 2A-2C, a Persister with the 2020
                  method names (SaveRaftState, SaveStateAndSnapshot)
DEST/src gets a go.mod with the lab's go directive and the given module name (default 6.5840) unless in GOPATH
mode, our labrpc, labgob, raftapi and tester1 with their imports rewritten, our lab tests in the Raft package's
directory (in classic trees they run the classic shim), and a stand-in for a student's raft.go that a run must
leave byte for byte as it was.
"""
import argparse
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HARNESS = ROOT / "go"
GENERATIONS = ("2026", "2025", "classic-module", "2020")
PACKAGES = ("labrpc", "labgob", "raftapi", "tester1")
# The lab-scenario tests and what they need; the shim's own unit tests stay in our repo.
COMMON_TESTS = ("harness_test.go", "lab3a_test.go", "lab3b_test.go", "lab3c_test.go", "lab3d_test.go",
                "race_test.go", "norace_test.go")
RAFT1_TESTS = COMMON_TESTS + ("local_test.go", "daemon_test.go")
CLASSIC_TESTS = COMMON_TESTS + ("classic_test.go",)
STUDENT_RAFT = """package raft

// A student's Raft lives here. make lab puts raftcore's shim in its place for the run and restores this file.

type Raft struct{}
"""


def rewrite(text: str, module: str) -> str:
    """Points our 6.5840/ imports at the fixture's module, or at sibling directories in GOPATH mode."""
    if module == "":
        return re.sub(r'"6\.5840/(\w+)"', r'"../\1"', text)
    return re.sub(r'"6\.5840/', f'"{module}/', text)


def copy_go(src_dir: Path, dest_dir: Path, module: str, names=None, edit=lambda name, text: text):
    dest_dir.mkdir(parents=True, exist_ok=True)
    for f in sorted(src_dir.glob("*.go")):
        if names is not None and f.name not in names:
            continue
        if names is None and f.name.endswith("_test.go"):
            continue
        (dest_dir / f.name).write_text(edit(f.name, rewrite(f.read_text(), module)))


def as_2020(name: str, text: str) -> str:
    """The 2020 tree's differences: tests named for parts 2A-2C, the Persister's 2020 method names."""
    text = re.sub(r"^(func Test\w*?)3([ABC])\(", r"\g<1>2\2(", text, flags=re.M)
    if name == "persister.go":
        text = text.replace("func (ps *Persister) Save(raftstate []byte, snapshot []byte) {",
                            "func (ps *Persister) SaveStateAndSnapshot(raftstate []byte, snapshot []byte) {")
        text += """
// SaveRaftState replaces the Raft state and keeps the snapshot (2020's method set).
func (ps *Persister) SaveRaftState(raftstate []byte) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.raftstate = raftstate
}
"""
    return text


def build(generation: str, dest: Path, module: str) -> Path:
    if generation not in GENERATIONS:
        raise SystemExit(f"labfixture: unknown generation {generation!r}; want one of {', '.join(GENERATIONS)}")
    src = dest / "src"
    if src.exists():
        shutil.rmtree(src)
    src.mkdir(parents=True)
    if generation == "2020":
        module = ""
    else:
        (src / "go.mod").write_text(f"module {module}\n\ngo 1.22\n")
    for pkg in PACKAGES:
        copy_go(HARNESS / pkg, src / pkg, module)
    if generation in ("2026", "2025"):
        copy_go(HARNESS / "raft1", src / "raft1", module, names=RAFT1_TESTS)
        (src / "raft1" / "raft.go").write_text(STUDENT_RAFT)
    else:
        tests = CLASSIC_TESTS
        edit = lambda name, text: text  # noqa: E731
        if generation == "2020":
            tests = tuple(t for t in CLASSIC_TESTS if t != "lab3d_test.go")  # 2020 has no snapshots
            edit = as_2020
        copy_go(HARNESS / "raft1", src / "raft", module, names=tests, edit=edit)
        copy_go(HARNESS / "raft", src / "raft", module, names=("persister.go",), edit=edit)
        (src / "raft" / "raft.go").write_text(STUDENT_RAFT)
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
