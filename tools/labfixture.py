#!/usr/bin/env python3
"""Lays out a fake lab tree of one tester generation from our own harness, to prove `make lab LAB=...` without
the course's code.

    tools/labfixture.py GENERATION DEST [--module NAME] [--skeleton-rsm]

GENERATION is one of
  2026            raft1/ with a main/raft1d.go daemon; go.mod says go 1.22
  2025            raft1/, in-process; go.mod says go 1.22
  classic-module  the 2021-24 src/raft layout in a module (parts 3A-3D), package raft's Persister with Save;
                  go.mod says go 1.15, as those trees' do, so the shim must keep to Go 1.15's language
  2020            src/raft in GOPATH mode: no go.mod, relative imports, parts 2A-2C, a Persister with the 2020
                  method names (SaveRaftState, SaveStateAndSnapshot)
  mp2             UIUC ECE428/CS425 MP2: the 2020 layout without persister.go, parts 2A-2B, and a config.go
                  whose tester calls Make(ends, i, applyCh)
The raft1 generations also get the labs on Raft as a student's tree has them done: our kvsrv1/rpc, kvtest1,
models1, kvraft1/rsm and kvraft1 with their tests (parts 4A-4C), the porcupine requirement in go.mod with our
go.sum, and in 2026 the main/rsm1d.go and main/kvraft1d.go daemons; --skeleton-rsm puts the course skeleton's
placeholder back into rsm's Submit, as in a tree whose Lab 4 is not begun.
DEST/src gets a go.mod with the lab's go directive and the given module name (default 6.5840) unless in GOPATH
mode, our labrpc, labgob, raftapi and tester1 with their imports rewritten, our lab tests in the Raft package's
directory (in classic trees they run the classic or MP2 shim), stand-ins for the tree's own util.go (and MP2's
config.go), and a stand-in for a student's raft.go that a run must leave byte for byte as it was.
"""
import argparse
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HARNESS = ROOT / "go"
GENERATIONS = ("2026", "2025", "classic-module", "2020", "mp2")
# The go directive of each generation's go.mod (lab-facts §1, §8); GOPATH trees have none.
GO_DIRECTIVES = {"2026": "1.22", "2025": "1.22", "classic-module": "1.15"}
PACKAGES = ("labrpc", "labgob", "raftapi", "tester1")
# The labs on Raft in a raft1 tree: (package, with its tests).
SERVICES = (("kvsrv1/rpc", False), ("models1", False), ("kvtest1", False), ("kvraft1/rsm", True), ("kvraft1", True))
SUBMIT = "func (rsm *RSM) Submit(req any) (rpc.Err, any) {\n"
SKELETON_SUBMIT_BODY = "\t// your code here\n\treturn rpc.ErrWrongLeader, nil\n"
# The lab-scenario tests and what they need; the shim's own unit tests stay in our repo.
COMMON_TESTS = ("harness_test.go", "lab3a_test.go", "lab3b_test.go", "lab3c_test.go", "lab3d_test.go",
                "race_test.go", "norace_test.go")
RAFT1_TESTS = COMMON_TESTS + ("local_test.go", "daemon_test.go")
CLASSIC_TESTS = COMMON_TESTS + ("classic_test.go",)
# MP2 has no persistence and no snapshots: its tests are 2A and 2B only.
MP2_TESTS = ("harness_test.go", "lab3a_test.go", "lab3b_test.go", "race_test.go", "norace_test.go", "mp2_test.go")
STUDENT_RAFT = """package raft

// A student's Raft lives here. make lab puts raftcore's shim in its place for the run and restores this file.

type Raft struct{}
"""
# The classic trees' util.go declares these two; a shim that declared them too would not compile there.
UTIL_GO = """package raft

import "log"

// Debug turns on DPrintf's output.
const Debug = 0

// DPrintf logs when Debug is on.
func DPrintf(format string, a ...interface{}) (n int, err error) {
	if Debug > 0 {
		log.Printf(format, a...)
	}
	return 0, nil
}
"""
# MP2's config.go builds every peer with a Make that takes no persister; make lab tells the generation by it.
MP2_CONFIG_GO = """package raft

// Stands in for MP2's config.go: its tester starts each peer this way and never restarts one.

import "../labrpc"

func startPeer(ends []*labrpc.ClientEnd, i int, applyCh chan ApplyMsg) *Raft {
	return Make(ends, i, applyCh)
}
"""


def rewrite(text: str, module: str) -> str:
    """Points our 6.5840/ imports at the fixture's module, or at sibling directories in GOPATH mode. Our MP2 shim
    package (raftmp2) is the tree's raft package."""
    text = text.replace('"6.5840/raftmp2"', '"6.5840/raft"')
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


def copy_services(src: Path, module: str, skeleton_rsm: bool):
    for rel, with_tests in SERVICES:
        names = None
        if with_tests:
            names = {f.name for f in (HARNESS / rel).glob("*.go") if f.name != "bench_test.go"}
        copy_go(HARNESS / rel, src / rel, module, names=names)
    if skeleton_rsm:
        rsm = src / "kvraft1" / "rsm" / "rsm.go"
        text = rsm.read_text()
        start = text.index(SUBMIT) + len(SUBMIT)
        end = text.index("\n}\n", start) + 1
        rsm.write_text(text[:start] + SKELETON_SUBMIT_BODY + text[end:])
    (src / "go.sum").write_bytes((HARNESS / "go.sum").read_bytes())


def build(generation: str, dest: Path, module: str, skeleton_rsm: bool = False) -> Path:
    if generation not in GENERATIONS:
        raise SystemExit(f"labfixture: unknown generation {generation!r}; want one of {', '.join(GENERATIONS)}")
    src = dest / "src"
    if src.exists():
        shutil.rmtree(src)
    src.mkdir(parents=True)
    if generation not in GO_DIRECTIVES:
        module = ""
    else:
        gomod = f"module {module}\n\ngo {GO_DIRECTIVES[generation]}\n"
        if generation in ("2026", "2025"):
            gomod += "\n" + re.search(r"^require .*$", (HARNESS / "go.mod").read_text(), re.M).group(0) + "\n"
        (src / "go.mod").write_text(gomod)
    for pkg in PACKAGES:
        copy_go(HARNESS / pkg, src / pkg, module)
    if generation in ("2026", "2025"):
        copy_go(HARNESS / "raft1", src / "raft1", module, names=RAFT1_TESTS)
        (src / "raft1" / "raft.go").write_text(STUDENT_RAFT)
        copy_services(src, module, skeleton_rsm)
    elif generation == "mp2":
        copy_go(HARNESS / "raft1", src / "raft", module, names=MP2_TESTS, edit=as_2020)
        (src / "raft" / "config.go").write_text(MP2_CONFIG_GO)
        (src / "raft" / "util.go").write_text(UTIL_GO)
        (src / "raft" / "raft.go").write_text(STUDENT_RAFT)
    else:
        tests = CLASSIC_TESTS
        edit = lambda name, text: text  # noqa: E731
        if generation == "2020":
            tests = tuple(t for t in CLASSIC_TESTS if t != "lab3d_test.go")  # 2020 has no snapshots
            edit = as_2020
        copy_go(HARNESS / "raft1", src / "raft", module, names=tests, edit=edit)
        copy_go(HARNESS / "raft", src / "raft", module, names=("persister.go",), edit=edit)
        (src / "raft" / "util.go").write_text(UTIL_GO)
        (src / "raft" / "raft.go").write_text(STUDENT_RAFT)
    if generation == "2026":
        copy_go(HARNESS / "main", src / "main", module)
    return src


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("generation", choices=GENERATIONS)
    ap.add_argument("dest", type=Path)
    ap.add_argument("--module", default="6.5840")
    ap.add_argument("--skeleton-rsm", action="store_true", help="rsm's Submit as the course skeleton has it")
    args = ap.parse_args(argv)
    print(build(args.generation, args.dest, args.module, args.skeleton_rsm))
    return 0


if __name__ == "__main__":
    sys.exit(main())
