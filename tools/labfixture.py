#!/usr/bin/env python3
"""Lays out a fake lab tree of one tester generation from our own harness, to prove `make lab LAB=...` without
the course's code.

    tools/labfixture.py GENERATION DEST [--module NAME] [--skeleton-rsm] [--student split]

GENERATION is one of
  2026            raft1/ with a main/raft1d.go daemon; go.mod says go 1.22
  2025            raft1/, in-process; go.mod says go 1.22
  classic-module  the 2021-24 src/raft layout in a module (parts 3A-3D), package raft's Persister with Save;
                  go.mod says go 1.15, as those trees' do, so the shim must keep to Go 1.15's language; the
                  later labs as 2024 numbers them: our kvraft (4A-4B, its server also calling Raft's Killed()),
                  shardctrler and shardkv (5A-5B) still the course's skeletons
  2020            src/raft in GOPATH mode: no go.mod, relative imports, parts 2A-2C, a Persister with the 2020
                  method names (SaveRaftState, SaveStateAndSnapshot)
  2018            as 2020, but the imports are absolute ("labrpc", "labgob"): GOPATH must be DEST
  2017            as 2018, but without labgob (our harness's copy sits under another name, so a shim that
                  imported labgob would not build) and with the 2016-17 API: ApplyMsg with Index and UseSnapshot,
                  a Persister with SaveRaftState and SaveSnapshot (no combined save, no SnapshotSize)
  2016            as 2017, but the tests carry no part suffix (TestInitialElection ... TestUnreliableChurn)
  2016-module     a course's copy of 2016 with a module per assignment: go.mod says `module src` (give
                  --module src) and go 1.17, imports "src/labrpc"
  cmu18           CMU 15-440 Project 2, Fall 2018: GOPATH tree src/github.com/cmu440/{raft,rpc} (rpc is our labrpc
                  under the tree's package name), the tester in raft/raft_test.go, no Persister, parts 2A-2B
  cmu21           the same from Fall 2019 on, in `module github.com/cmu440` (go 1.17) at src/github.com/cmu440
  mp2             UIUC ECE428/CS425 MP2: the 2020 layout without persister.go, parts 2A-2B, and a config.go
                  whose tester calls Make(ends, i, applyCh)
The raft1 generations also get the labs on Raft as a student's tree has them done: our kvsrv1/rpc, kvtest1,
models1, kvraft1/rsm and kvraft1 with their tests (parts 4A-4C), the porcupine requirement in go.mod with our
go.sum, and in 2026 the main/rsm1d.go and main/kvraft1d.go daemons; --skeleton-rsm puts the course skeleton's
placeholder back into rsm's Submit, as in a tree whose Lab 4 is not begun.
DEST/src gets a go.mod with the lab's go directive and the given module name (default 6.5840) unless in GOPATH
mode, our labrpc, labgob, raftapi and tester1 with their imports rewritten, our lab tests in the Raft package's
directory, merged into the one file the course's tests come in (raft_test.go, or test_test.go in classic trees,
where they run the classic or MP2 shim), stand-ins for the tree's own util.go (and MP2's config.go), and a
student's Raft that a run must leave byte for byte as it was: one raft.go, or with --student split a Raft split
across files, util.go extended with methods on *Raft, and the student's own unit tests.
"""
import argparse
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HARNESS = ROOT / "go"
GENERATIONS = ("2026", "2025", "classic-module", "2020", "2018", "2017", "2016", "2016-module", "cmu18", "cmu21",
               "mp2")
CMU = ("cmu18", "cmu21")
CMU_ROOT = "github.com/cmu440"  # under src: the CMU trees' packages, and the 2019-23 module's name
OLD_API = ("2016", "2017", "2016-module")  # the 2016-17 API, run by the shim in go/raft2016
# Where the 2016-17 fixtures keep our harness's labgob: those trees have no labgob directory.
HARNESS_GOB = "harnessgob"
GOPATH_ROOT = "."  # a module argument meaning GOPATH mode with imports from the GOPATH root ("labrpc")
# The go directive of each generation's go.mod (docs/LAB-GENERATIONS.md §1, §9); GOPATH trees have none.
GO_DIRECTIVES = {"2026": "1.22", "2025": "1.22", "classic-module": "1.15", "2016-module": "1.17"}
PACKAGES = ("labrpc", "labgob", "raftapi", "tester1")
# The labs on Raft in a raft1 tree: (package, with its tests).
SERVICES = (("kvsrv1/rpc", False), ("models1", False), ("kvtest1", False), ("kvraft1/rsm", True), ("kvraft1", True))
SUBMIT = "func (rsm *RSM) Submit(req any) (rpc.Err, any) {\n"
SKELETON_SUBMIT_BODY = "\t// your code here\n\treturn rpc.ErrWrongLeader, nil\n"
# The lab-scenario tests and what they need; the shim's own unit tests stay in our repo.
COMMON_TESTS = ("harness_test.go", "lab3a_test.go", "lab3b_test.go", "lab3c_test.go", "lab3d_test.go")
RAFT1_TESTS = COMMON_TESTS + ("local_test.go", "daemon_test.go")
CLASSIC_TESTS = COMMON_TESTS + ("classic_test.go",)
# MP2 has no persistence and no snapshots: its tests are 2A and 2B only.
MP2_TESTS = ("harness_test.go", "lab3a_test.go", "lab3b_test.go", "memory_test.go", "mp2_test.go")
CMU_TESTS = {"cmu18": MP2_TESTS[:-1] + ("cmu18_test.go",), "cmu21": MP2_TESTS[:-1] + ("cmu21_test.go",)}
# The one file the course's Raft tests come in: raft1 trees' raft_test.go, classic trees' test_test.go. Ours are
# merged into it, so that a fixture's Raft package holds only the course's file names, as a real tree's does.
COURSE_TEST_FILE = {"2026": "raft_test.go", "2025": "raft_test.go"}
CLASSIC_TEST_FILE = "test_test.go"
STUDENT_LAYOUTS = ("single", "split", "paced")
STUDENT_RAFT = """package raft

// A student's Raft lives here. make lab puts raftcore's shim in its place for the run and restores this file.

type Raft struct{}
"""
# The course's util.go declares these two (raft1 trees' DPrintf returns nothing); a shim that declared them too
# would not compile there.
UTIL_GO = """package raft

import "log"

// Debug turns on DPrintf's output.
const Debug = false

// DPrintf logs when Debug is on.
func DPrintf(format string, a ...interface{}) (n int, err error) {
	if Debug {
		log.Printf(format, a...)
	}
	return 0, nil
}
"""
RAFT1_UTIL_GO = UTIL_GO.replace(" (n int, err error) {", " {").replace("\treturn 0, nil\n", "")
# A student's Raft as many keep it (docs/LAB-GENERATIONS.md §7): split across files that declare
# the RPC types and methods the shim declares too, the course's util.go extended with methods on *Raft, and unit
# tests of the Raft's private fields beside the course's tests. It builds on its own; none of it builds beside the
# shim, so a run must set all of it aside and put it back.
SPLIT_RAFT = {
    "raft.go": """package raft

import "sync"

// A student's Raft, split across files. make lab sets every file of it aside for the run and puts it back.

type Raft struct {
	mu          sync.Mutex
	me          int
	currentTerm int
	votedFor    int
	log         []LogEntry
}

type LogEntry struct {
	Term    int
	Command interface{}
}
""",
    "election.go": """package raft

type RequestVoteArgs struct {
	Term         int
	CandidateId  int
	LastLogIndex int
	LastLogTerm  int
}

type RequestVoteReply struct {
	Term        int
	VoteGranted bool
}

func (rf *Raft) RequestVote(args *RequestVoteArgs, reply *RequestVoteReply) {
	rf.lock()
	defer rf.unlock()
	reply.Term = rf.currentTerm
}
""",
    "log.go": """package raft

func (rf *Raft) lastLogIndex() int {
	return len(rf.log) - 1
}
""",
    "election_test.go": """package raft

import "testing"

func TestVoteRequestSeesTerm(t *testing.T) {
	rf := &Raft{currentTerm: 3, votedFor: -1}
	reply := &RequestVoteReply{}
	rf.RequestVote(&RequestVoteArgs{Term: 2}, reply)
	if reply.Term != 3 || rf.lastLogIndex() != -1 {
		t.Fatalf("reply %+v", reply)
	}
}
""",
    "coverage.out": "mode: set\n",
}
# The student's additions to the course's util.go: a method on *Raft that needs their Raft's fields.
UTIL_ADDITIONS = """
func (rf *Raft) lock() {
	rf.mu.Lock()
}

func (rf *Raft) unlock() {
	rf.mu.Unlock()
}
"""
# The later labs of a 2021-24 module tree as a student has them: kvraft done (our go/kvraft, whose parts are
# 2024's 4A and 4B), its server also asking Raft's exported Killed() (a method beyond the course's API that the
# shim serves), and shardctrler and shardkv still the course's skeletons (a handler with an empty body), which a run
# skips with a line each. Their test files stand in for the course's: they fail if a run ever gets to them.
KVRAFT_KILLED_CHECK = ("\tif kv.killed() {\n\t\treturn applied{Err: ErrWrongLeader}",
                       "\tif kv.killed() || kv.rf.Killed() {\n\t\treturn applied{Err: ErrWrongLeader}")
SKELETON_SERVICES = {
    "shardctrler/common.go": """package shardctrler

// The controller's configurations: which replica group serves each shard.

const NShards = 10

type Config struct {
	Num    int
	Shards [NShards]int
	Groups map[int][]string
}

type Err string

type JoinArgs struct {
	Servers map[int][]string
}

type JoinReply struct {
	WrongLeader bool
	Err         Err
}
""",
    "shardctrler/server.go": """package shardctrler

import (
	"sync"

	"6.5840/labrpc"
	"6.5840/raft"
)

type ShardCtrler struct {
	mu      sync.Mutex
	me      int
	rf      *raft.Raft
	applyCh chan raft.ApplyMsg
	configs []Config
}

func (sc *ShardCtrler) Join(args *JoinArgs, reply *JoinReply) {
	// Your code here.
}

func (sc *ShardCtrler) Kill() {
	sc.rf.Kill()
}

func StartServer(servers []*labrpc.ClientEnd, me int, persister *raft.Persister) *ShardCtrler {
	sc := &ShardCtrler{me: me, configs: []Config{{Groups: map[int][]string{}}}, applyCh: make(chan raft.ApplyMsg)}
	sc.rf = raft.Make(servers, me, persister, sc.applyCh)
	return sc
}
""",
    "shardctrler/test_test.go": """package shardctrler

import "testing"

func TestBasic(t *testing.T) { failSkeleton(t) }

func TestMulti(t *testing.T) { failSkeleton(t) }

func failSkeleton(t *testing.T) {
	t.Fatal("the controller is still the skeleton: make lab should have skipped it")
}
""",
    "shardkv/common.go": """package shardkv

type Err string

type GetArgs struct {
	Key string
}

type GetReply struct {
	Err   Err
	Value string
}
""",
    "shardkv/server.go": """package shardkv

import (
	"sync"

	"6.5840/labrpc"
	"6.5840/raft"
	"6.5840/shardctrler"
)

type ShardKV struct {
	mu      sync.Mutex
	me      int
	rf      *raft.Raft
	applyCh chan raft.ApplyMsg
	gid     int
	config  shardctrler.Config
}

func (kv *ShardKV) Get(args *GetArgs, reply *GetReply) {
	// Your code here.
}

func (kv *ShardKV) Kill() {
	kv.rf.Kill()
}

func StartServer(servers []*labrpc.ClientEnd, me int, persister *raft.Persister, gid int) *ShardKV {
	kv := &ShardKV{me: me, gid: gid, applyCh: make(chan raft.ApplyMsg)}
	kv.rf = raft.Make(servers, me, persister, kv.applyCh)
	return kv
}
""",
    "shardkv/test_test.go": """package shardkv

import "testing"

func TestStaticShards5A(t *testing.T) { failSkeleton(t) }

func TestJoinLeave5B(t *testing.T) { failSkeleton(t) }

func TestChallenge1Delete(t *testing.T) { failSkeleton(t) }

func failSkeleton(t *testing.T) {
	t.Fatal("the shard servers are still the skeleton: make lab should have skipped them")
}
""",
}
# MP2's config.go builds every peer with a Make that takes no persister; make lab tells the generation by it.
MP2_CONFIG_GO = """package raft

// Stands in for MP2's config.go: its tester starts each peer this way and never restarts one.

import "../labrpc"

func startPeer(ends []*labrpc.ClientEnd, i int, applyCh chan ApplyMsg) *Raft {
	return Make(ends, i, applyCh)
}
"""


def rewrite(text: str, module: str) -> str:
    """Points our 6.5840/ imports at the fixture's module, or in GOPATH mode at sibling directories ("../labrpc",
    module "") or the GOPATH root ("labrpc", module GOPATH_ROOT). Our MP2 and 2016-17 shim packages (raftmp2,
    raft2016) are the tree's raft package."""
    for shim_package in ("raftmp2", "raft2016", "raftcmu18", "raftcmu21"):
        text = text.replace(f'"6.5840/{shim_package}"', '"6.5840/raft"')
    if module == "":
        return re.sub(r'"6\.5840/(\w+)"', r'"../\1"', text)
    if module == GOPATH_ROOT:
        return re.sub(r'"6\.5840/(\w+)"', r'"\1"', text)
    if module == CMU_ROOT:
        # The tree's labrpc is its package rpc: our code keeps calling it labrpc.
        text = re.sub(r'^(\s*)"6\.5840/labrpc"', rf'\1labrpc "{CMU_ROOT}/rpc"', text, flags=re.M)
        text = re.sub(r'^import "6\.5840/labrpc"', f'import labrpc "{CMU_ROOT}/rpc"', text, flags=re.M)
    return re.sub(r'"6\.5840/', f'"{module}/', text)


def copy_go(src_dir: Path, dest_dir: Path, module: str, names=None, edit=lambda name, text: text):
    dest_dir.mkdir(parents=True, exist_ok=True)
    for f in sorted(src_dir.glob("*.go")):
        if names is not None and f.name not in names:
            continue
        if names is None and f.name.endswith("_test.go"):
            continue
        (dest_dir / f.name).write_text(edit(f.name, rewrite(f.read_text(), module)))


IMPORT_BLOCK = re.compile(r"^import \(\n(.*?)^\)\n", re.M | re.S)
IMPORT_LINE = re.compile(r"^import (\S.*)\n", re.M)


def merge_go(texts) -> str:
    """One Go file from several of the same package: one package clause, the imports of all, then each body."""
    package, imports, bodies = None, [], []
    for text in texts:
        m = re.search(r"^package (\w+)\n", text, re.M)
        package = package or m.group(1)
        text = text[:m.start()] + text[m.end():]
        for pattern in (IMPORT_BLOCK, IMPORT_LINE):
            for spec in pattern.findall(text):
                imports.extend(l.strip() for l in spec.splitlines() if l.strip())
            text = pattern.sub("", text)
        bodies.append(text.strip() + "\n")
    specs = "".join(f"\t{spec}\n" for spec in sorted(set(imports), key=lambda i: i.split()[-1]))
    return f"package {package}\n\nimport (\n{specs})\n\n" + "\n".join(bodies)


def copy_course_tests(src_dir: Path, dest: Path, module: str, names, edit=lambda name, text: text):
    """Our lab tests, merged into the one file the course's tests come in."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    texts = [edit(name, rewrite((src_dir / name).read_text(), module)) for name in names]
    dest.write_text(merge_go(texts))


def as_2017(name: str, text: str) -> str:
    """Tests named for parts 2A-2C (2017-20)."""
    return re.sub(r"^(func Test\w*?)3([ABC])\(", r"\g<1>2\2(", text, flags=re.M)


def as_2016(name: str, text: str) -> str:
    """Tests named without a part."""
    return re.sub(r"^(func Test\w*?)3[ABC]\(", r"\1(", text, flags=re.M)


def as_2020(name: str, text: str) -> str:
    """The 2018 and 2020 trees' differences: tests named for parts 2A-2C, the Persister's method names."""
    text = as_2017(name, text)
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


# A Start-then-register race, as students' rsm's have it: Start outside the lock, a little work, then the waiter is
# registered, and a submission that hears nothing for a while gives up (the client then retries). On a Raft that
# commits at once the op is applied before its waiter exists, so it is applied again on the retry; on a Raft that
# commits on its next heartbeat the window never shows.
LOCKED_START = """	rsm.mu.Lock()
	if rsm.dead {
		rsm.mu.Unlock()
		return rpc.ErrWrongLeader, nil
	}
	index, term, isLeader := rsm.rf.Start(op)
	if !isLeader {
"""
RACY_START = """	index, term, isLeader := rsm.rf.Start(op)
	time.Sleep(5 * time.Millisecond) // the student's bookkeeping between Start and registering the waiter
	rsm.mu.Lock()
	if rsm.dead || !isLeader {
"""
WAIT_CASE = """		case o := <-s.done:
			return o.err, o.value
"""
GIVE_UP_CASE = WAIT_CASE + """		case <-time.After(500 * time.Millisecond):
			return rsm.abandon(index, s)
"""
# The student's own Raft for a comparison: a working Raft that, like most students', sends new entries only with
# its heartbeats. It is raftcore's shim with that pacing switched on at start-up.
PACED_RAFT_INIT = """package raft

import "os"

// This Raft replicates new entries only with its heartbeats.
func init() {
	os.Setenv("RAFTCORE_PACING", "heartbeat")
}
"""


def racy_rsm_of(src: Path):
    rsm = src / "kvraft1" / "rsm" / "rsm.go"
    text = rsm.read_text()
    for old, new in ((LOCKED_START, RACY_START), (WAIT_CASE, GIVE_UP_CASE)):
        if old not in text:
            raise SystemExit(f"labfixture: {rsm} no longer has the code --racy-rsm rewrites")
        text = text.replace(old, new, 1)
    rsm.write_text(text)


def paced_student_raft(package_dir: Path, module: str):
    shim = rewrite((HARNESS / "raft1" / "raft.go").read_text(), module).replace("raftcore shim", "student's Raft")
    (package_dir / "raft.go").write_text(shim)
    (package_dir / "pacing.go").write_text(PACED_RAFT_INIT)


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


def classic_services(src: Path, module: str):
    copy_go(HARNESS / "kvraft", src / "kvraft", module, names={f.name for f in (HARNESS / "kvraft").glob("*.go")})
    server = src / "kvraft" / "server.go"
    text = server.read_text()
    if KVRAFT_KILLED_CHECK[0] not in text:
        raise SystemExit(f"labfixture: {server} no longer has the killed check the fixture extends")
    server.write_text(text.replace(*KVRAFT_KILLED_CHECK, 1))
    for rel, text in SKELETON_SERVICES.items():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_text(rewrite(text, module))


def student_raft(package_dir: Path, layout: str, util: str, module: str):
    """The student's Raft and the course's util.go as the student left it."""
    if layout == "split":
        for name, text in SPLIT_RAFT.items():
            (package_dir / name).write_text(text)
        util += UTIL_ADDITIONS
    elif layout == "paced":
        paced_student_raft(package_dir, module)
    else:
        (package_dir / "raft.go").write_text(STUDENT_RAFT)
    (package_dir / "util.go").write_text(util)


def build(generation: str, dest: Path, module: str, skeleton_rsm: bool = False, layout: str = "single",
          racy_rsm: bool = False) -> Path:
    if generation not in GENERATIONS:
        raise SystemExit(f"labfixture: unknown generation {generation!r}; want one of {', '.join(GENERATIONS)}")
    if layout not in STUDENT_LAYOUTS:
        raise SystemExit(f"labfixture: unknown student layout {layout!r}; want one of {', '.join(STUDENT_LAYOUTS)}")
    src = dest / "src"
    if src.exists():
        shutil.rmtree(src)
    src.mkdir(parents=True)
    if generation not in GO_DIRECTIVES:
        module = GOPATH_ROOT if generation in ("2018", *OLD_API) else ""
    else:
        gomod = f"module {module}\n\ngo {GO_DIRECTIVES[generation]}\n"
        if generation in ("2026", "2025"):
            gomod += "\n" + re.search(r"^require .*$", (HARNESS / "go.mod").read_text(), re.M).group(0) + "\n"
        (src / "go.mod").write_text(gomod)
    for pkg in PACKAGES if generation not in CMU else ():  # CMU's sit under github.com/cmu440 (cmu_tree)
        copy_go(HARNESS / pkg, src / pkg, module)
    if generation in ("2026", "2025"):
        copy_course_tests(HARNESS / "raft1", src / "raft1" / COURSE_TEST_FILE[generation], module, RAFT1_TESTS)
        student_raft(src / "raft1", layout, RAFT1_UTIL_GO, module)
        copy_services(src, module, skeleton_rsm)
        if racy_rsm:
            racy_rsm_of(src)
    elif generation in CMU:
        cmu_tree(src, generation, layout)
    elif generation == "mp2":
        copy_course_tests(HARNESS / "raft1", src / "raft" / CLASSIC_TEST_FILE, module, MP2_TESTS, edit=as_2020)
        (src / "raft" / "config.go").write_text(MP2_CONFIG_GO)
        student_raft(src / "raft", layout, UTIL_GO, module)
    else:
        tests = CLASSIC_TESTS
        edit = lambda name, text: text  # noqa: E731
        persister = HARNESS / "raft"
        if generation in ("2020", "2018", *OLD_API):
            tests = tuple(t for t in CLASSIC_TESTS if t != "lab3d_test.go")  # their Raft tests never snapshot
            edit = as_2020
        if generation in OLD_API:
            tests += ("classic2016_test.go",)
            edit = as_2017 if generation == "2017" else as_2016
            persister = HARNESS / "raft2016"
        copy_course_tests(HARNESS / "raft1", src / "raft" / CLASSIC_TEST_FILE, module, tests, edit=edit)
        copy_go(persister, src / "raft", module, names=("persister.go",), edit=edit)
        student_raft(src / "raft", layout, UTIL_GO, module)
        if generation == "classic-module":
            classic_services(src, module)
    if generation == "2026":
        copy_go(HARNESS / "main", src / "main", module)
    if generation in OLD_API:
        hide_labgob(src, module)
    return src


def cmu_tree(src: Path, generation: str, layout: str):
    """CMU's layout: every package under src/github.com/cmu440, our labrpc as its rpc package, the tester in
    raft/raft_test.go, no Persister and no labgob."""
    root = src / CMU_ROOT
    root.mkdir(parents=True)
    if generation == "cmu21":
        (root / "go.mod").write_text(f"module {CMU_ROOT}\n\ngo 1.17\n")
    for pkg in PACKAGES:
        copy_go(HARNESS / pkg, root / ("rpc" if pkg == "labrpc" else pkg), CMU_ROOT)
    rpc = root / "rpc"
    for f in rpc.glob("*.go"):
        f.write_text(re.sub(r"^package labrpc$", "package rpc", f.read_text(), count=1, flags=re.M))
    copy_course_tests(HARNESS / "raft1", root / "raft" / "raft_test.go", CMU_ROOT, CMU_TESTS[generation],
                      edit=as_2017)
    student_raft(root / "raft", layout, UTIL_GO, CMU_ROOT)
    (root / "raft" / "util.go").unlink()  # CMU's raft package holds only raft.go and the tester
    hide_labgob(root, CMU_ROOT)


def hide_labgob(src: Path, module: str):
    """Moves our harness's labgob out of the name the 2016-17 trees do not have."""
    (src / "labgob").rename(src / HARNESS_GOB)
    prefix = "" if module == GOPATH_ROOT else f"{module}/"
    for f in src.rglob("*.go"):
        text = f.read_text()
        if f'"{prefix}labgob"' in text:
            f.write_text(text.replace(f'"{prefix}labgob"', f'"{prefix}{HARNESS_GOB}"'))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("generation", choices=GENERATIONS)
    ap.add_argument("dest", type=Path)
    ap.add_argument("--module", default="6.5840")
    ap.add_argument("--skeleton-rsm", action="store_true", help="rsm's Submit as the course skeleton has it")
    ap.add_argument("--student", choices=STUDENT_LAYOUTS, default="single",
                    help="the student's Raft: one raft.go (a stub), split across files with util.go extended and "
                         "their own unit tests, or paced (raft1 trees: a working Raft that commits on heartbeats)")
    ap.add_argument("--racy-rsm", action="store_true", help="rsm's Submit with a Start-then-register race")
    args = ap.parse_args(argv)
    print(build(args.generation, args.dest, args.module, args.skeleton_rsm, args.student, args.racy_rsm))
    return 0


if __name__ == "__main__":
    sys.exit(main())
