"""Tests of tools/lab.py on fake lab trees (tools/labfixture.py): generation detection, the refusals, and that a
run leaves the tree byte for byte as it was, after success, failure, interruption or a killed run.

The fixture runs need the library built and PKG_CONFIG_PATH set, as `make test-tools` does.
"""
import hashlib
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lab  # noqa: E402
import labfixture  # noqa: E402

LAB = [sys.executable, str(Path(lab.__file__).resolve())]
QUICK = "TestBasicAgree3B"
# Build outputs of a 2026 tree, which its .gitignore covers.
DAEMONS = ("main/raft1d", "main/rsm1d", "main/kvraft1d")
STRESS = [sys.executable, str(Path(lab.__file__).resolve().parent / "stress.py")]


def digest(tree: Path) -> str:
    """Every file's path and bytes, except build outputs the lab's .gitignore covers."""
    h = hashlib.sha256()
    for f in sorted(p for p in tree.rglob("*") if p.is_file()):
        rel = f.relative_to(tree).as_posix()
        if rel in DAEMONS:
            continue
        h.update(rel.encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()


class Fixture:
    def __init__(self, generation, module="6.5840", skeleton_rsm=False, layout="single", racy_rsm=False):
        self.tmp = tempfile.TemporaryDirectory(prefix="labtree-")
        self.src = labfixture.build(generation, Path(self.tmp.name), module, skeleton_rsm, layout, racy_rsm)
        self.before = digest(self.src)

    def unchanged(self) -> bool:
        return digest(self.src) == self.before

    def close(self):
        self.tmp.cleanup()


def run_lab(*args, timeout=900):
    return subprocess.run([*LAB, *args], capture_output=True, text=True, timeout=timeout)


class Refusals(unittest.TestCase):
    def refused(self, src, *words):
        with self.assertRaises(lab.LabError) as cm:
            lab.detect(Path(src))
        for w in words:
            self.assertIn(w, str(cm.exception))

    def test_missing_path(self):
        self.refused("/nonexistent/lab/src", "does not exist")

    def test_file_instead_of_directory(self):
        with tempfile.NamedTemporaryFile() as f:
            self.refused(f.name, "not a directory")

    def test_tree_root_instead_of_src(self):
        fx = Fixture("2025")
        try:
            self.refused(fx.src.parent, "not a lab tree", f"LAB={fx.src}")
        finally:
            fx.close()

    def test_raised_go_directive(self):
        fx = Fixture("2025")
        try:
            (fx.src / "go.mod").write_text("module 6.5840\n\ngo 1.24\n")
            self.refused(fx.src, "go 1.24", "go 1.22")
        finally:
            fx.close()

    def test_unknown_generation(self):
        fx = Fixture("2025")
        try:
            for f in (fx.src / "tester1").iterdir():
                f.unlink()
            (fx.src / "tester1").rmdir()
            self.refused(fx.src, "unknown generation")
        finally:
            fx.close()

    def test_daemon_tree_outside_src(self):
        with tempfile.TemporaryDirectory(prefix="labtree-") as d:
            tree = labfixture.build("2026", Path(d), "6.5840")
            moved = Path(d) / "lab"
            tree.rename(moved)
            self.refused(moved, "src")

    def test_detects_generations_and_module(self):
        cases = (("2026", "6.5840"), ("2025", "cpsc416-2025w1"), ("2025", "ece419"), ("classic-module", "ece419"),
                 ("2020", ""), ("2018", ""), ("2017", ""), ("cmu18", ""), ("cmu21", "github.com/cmu440"),
                 ("mp2", ""))
        parts = {"2020": ["2A", "2B", "2C"], "2018": ["2A", "2B", "2C"], "2017": ["2A", "2B", "2C"], "mp2": ["2A", "2B"],
                 "cmu18": ["2A", "2B"], "cmu21": ["2A", "2B"]}
        imports = {"2020": '"../labrpc"', "mp2": '"../labrpc"', "2018": '"labrpc"', "2017": '"labrpc"',
                   "cmu18": 'labrpc "github.com/cmu440/rpc"', "cmu21": 'labrpc "github.com/cmu440/rpc"'}
        detected = {"2017": "2016-17", "cmu18": "cmu440-2018", "cmu21": "cmu440-2019"}
        makes = {"mp2": "func Make(peers []*labrpc.ClientEnd, me int, applyCh chan ApplyMsg) *Raft {",
                 "2020": "func Make(peers []*labrpc.ClientEnd, me int, persister *Persister, applyCh chan ApplyMsg) *Raft {"}
        makes["classic-module"] = makes["2018"] = makes["2017"] = makes["2020"]
        makes["cmu18"] = makes["mp2"]
        makes["cmu21"] = "func NewPeer(peers []*labrpc.ClientEnd, me int, applyCh chan ApplyCommand) *Raft {"
        for generation, module in cases:
            fx = Fixture(generation, module or "6.5840")
            try:
                tree = lab.detect(fx.src)
                self.assertEqual((tree.generation, tree.module), (detected.get(generation, generation), module))
                self.assertEqual(tree.parts, parts.get(generation, ["3A", "3B", "3C", "3D"]))
                shim = lab.shim_text(tree)
                self.assertIn(imports.get(generation, f'"{module}/labrpc"'), shim)
                if module != "6.5840":
                    self.assertNotIn('"6.5840/', shim)
                self.assertIn(makes.get(generation, "func Make("), shim)
                self.assertEqual("type ApplyMsg struct" in shim,
                                 generation in ("classic-module", "2020", "2018", "2017", "cmu18", "mp2"))
                # The 2016-17 and CMU trees have no labgob: their shims must not need it.
                self.assertEqual('labgob "encoding/gob"' in shim, generation in ("2017", "cmu18", "cmu21"))
            finally:
                fx.close()

    def test_fixture_go_directives_are_the_real_trees(self):
        for generation, directive in (("2026", "1.22"), ("2025", "1.22"), ("classic-module", "1.15"),
                                      ("2016-module", "1.17")):
            fx = Fixture(generation)
            try:
                self.assertRegex((fx.src / "go.mod").read_text(), rf"(?m)^go {re.escape(directive)}$")
                self.assertEqual(lab.detect(fx.src).directive, tuple(int(x) for x in directive.split(".")))
            finally:
                fx.close()
        for generation in ("2020", "2018", "mp2"):
            fx = Fixture(generation)
            try:
                self.assertFalse((fx.src / "go.mod").exists())
                self.assertEqual((fx.src / "raft" / "persister.go").exists(), generation != "mp2")
            finally:
                fx.close()

    def test_generations_are_one_table(self):
        """Every generation is one entry, recognised by facts no earlier entry claims, and make lab prints them."""
        names = [g.name for g in lab.GENERATIONS]
        self.assertEqual(len(names), len(set(names)))
        for i, later in enumerate(lab.GENERATIONS):
            for earlier in lab.GENERATIONS[:i]:
                self.assertIsNot(lab.recognise(later.recognised_by), earlier,
                                 f"{later.name}'s facts are claimed by {earlier.name}, listed before it")
        proc = subprocess.run(["make", "--no-print-directory", "lab-generations"], cwd=lab.ROOT, capture_output=True,
                              text=True)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        for g in lab.GENERATIONS:
            self.assertIn(f"| {g.name} | {g.courses} |", proc.stdout)

    def test_cmu_tree_without_tests_is_one_line(self):
        with tempfile.TemporaryDirectory(prefix="labtree-") as d:
            raft = Path(d) / "src" / "github.com" / "cmu440" / "raft"
            raft.mkdir(parents=True)
            (raft / "raft_test.go").write_text('package raft\n\nimport "github.com/cmu440/rpc"\n')
            self.refused(raft.parents[2], "no Test", "raft_test.go")

    def test_2016_tests_without_parts_take_2017s_grouping(self):
        fx = Fixture("2016")
        try:
            tree = lab.detect(fx.src)
            self.assertEqual(tree.generation, "2016-17")
            self.assertFalse((fx.src / "labgob").exists())
            regexes = tree.packages[0].regexes
            self.assertEqual(regexes["2A"], "^(TestInitialElection|TestReElection)$")
            self.assertIn("TestUnreliableChurn", regexes["2C"])
            # Our harness has tests the 2016 lab did not: they form a part named after the package.
            self.assertIn("TestManyElections", regexes["raft"])
            self.assertEqual([r for _, r in lab.select_runs(tree.packages, "2a", "")], [regexes["2A"]])
        finally:
            fx.close()

    def test_gopath_root_imports_need_a_src_directory(self):
        with tempfile.TemporaryDirectory(prefix="labtree-") as d:
            tree = labfixture.build("2018", Path(d), "")
            moved = Path(d) / "lab"
            tree.rename(moved)
            self.refused(moved, "GOPATH", "src")

    def test_parts_spelled_part_a_to_d(self):
        """A course copy whose tests end in PartA..PartD: those are its parts, and PART takes its spelling."""
        fx = Fixture("classic-module", "CS443-PA-Raft")
        try:
            test_file = fx.src / "raft" / "test_test.go"
            test_file.write_text(re.sub(r"(?m)^(func Test\w*?)3([A-D])\(", r"\g<1>Part\2(", test_file.read_text()))
            tree = lab.detect(fx.src)
            self.assertEqual(tree.parts, ["PartA", "PartB", "PartC", "PartD"])
            self.assertEqual([regex for _, regex in lab.select_runs(tree.packages, "partb", "")], ["PartB"])
            with self.assertRaises(lab.LabError):
                lab.select_runs(tree.packages, "3B", "")
        finally:
            fx.close()

    def test_classic_tree_without_persister_or_mp2_tester(self):
        fx = Fixture("classic-module")
        try:
            (fx.src / "raft" / "persister.go").unlink()
            self.refused(fx.src, "no persister.go", "unknown generation")
        finally:
            fx.close()

    def test_old_go(self):
        with tempfile.TemporaryDirectory() as d:
            fake = Path(d) / "go"
            fake.write_text("#!/bin/sh\necho 'go version go1.20.3 linux/amd64'\n")
            fake.chmod(0o755)
            path = os.environ["PATH"]
            os.environ["PATH"] = f"{d}:{path}"
            try:
                with self.assertRaises(lab.LabError) as cm:
                    lab.check_go()
                self.assertIn("1.22 or newer", str(cm.exception))
            finally:
                os.environ["PATH"] = path

    def test_2020_table_format(self):
        lines = ["=== RUN   TestBasicAgree2B\n", "  ... Passed --   0.9  3   16    4242    3\n",
                 "--- PASS: TestBasicAgree2B (0.93s)\n"]
        order, tests, crashed = lab.labtable.parse(lines)
        self.assertEqual((order, crashed), (["TestBasicAgree2B"], False))
        self.assertEqual((tests["TestBasicAgree2B"]["rpcs"], tests["TestBasicAgree2B"]["ops"]), ("16", "3"))

    def test_subtests_are_not_rows_and_a_hung_test_is(self):
        """The 2024 shard controller's tests have subtests: one row per test, as the lab counts them. A test make
        lab ended as hung is a failing row of its own."""
        lines = ["=== RUN   TestBasic\n", "=== RUN   TestBasic/Move\n", "    --- PASS: TestBasic/Move (0.50s)\n",
                 "--- PASS: TestBasic (1.20s)\n", "=== RUN   TestStuck4B\n", "SIGQUIT: quit\n", "FAIL\tkvraft\t301s\n",
                 f"{lab.labtable.HUNG_MARK} TestStuck4B after 300s\n"]
        order, tests, crashed = lab.labtable.parse(lines)
        self.assertEqual(order, ["TestBasic", "TestStuck4B"])
        self.assertEqual((tests["TestBasic"]["result"], tests["TestStuck4B"]["result"]), ("PASS", "HUNG"))
        self.assertTrue(crashed)

    def test_leftover_install_is_refused_then_restored(self):
        fx = Fixture("2025")
        try:
            tree = lab.detect(fx.src)
            lab.install(tree)
            proc = run_lab("--lab", str(fx.src), "--run", QUICK)
            self.assertEqual(proc.returncode, 2)
            self.assertIn("lab-restore", proc.stderr)
            self.assertEqual(run_lab("--lab", str(fx.src), "--restore").returncode, 0)
            self.assertTrue(fx.unchanged())
        finally:
            fx.close()

    def test_interrupted_set_aside_is_restored(self):
        """A run stopped with the student's files aside and a stand-in util.go (as a killed run leaves them) is put
        back by --restore, byte for byte, and a new run refuses until then."""
        fx = Fixture("classic-module", layout="split")
        try:
            tree = lab.detect(fx.src)
            lab.install(tree)
            lab.stand_in_helper(tree, "a test")
            self.assertEqual(sorted(f.name for f in (fx.src / "raft").glob("*.go")),
                             ["persister.go", "raft.go", "test_test.go", "util.go"])
            with self.assertRaises(lab.LabError):
                lab.install(tree)
            self.assertEqual(run_lab("--lab", str(fx.src), "--restore").returncode, 0)
            self.assertTrue(fx.unchanged())
        finally:
            fx.close()

    def test_only_the_course_tests_name_the_parts(self):
        fx = Fixture("2025", layout="split")
        try:
            (fx.src / "raft1" / "extra_test.go").write_text("package raft\n\nfunc TestMine9Z(t *testing.T) {}\n")
            self.assertEqual(lab.detect(fx.src).parts, ["3A", "3B", "3C", "3D"])
            self.assertEqual(lab.student_files(lab.detect(fx.src)),
                             ["election.go", "election_test.go", "extra_test.go", "log.go", "raft.go"])
        finally:
            fx.close()

    def test_shim_without_backup_is_refused(self):
        fx = Fixture("2025")
        try:
            tree = lab.detect(fx.src)
            tree.target.write_text(lab.shim_text(tree))
            with self.assertRaises(lab.LabError) as cm:
                lab.install(tree)
            self.assertIn("already raftcore's shim", str(cm.exception))
        finally:
            fx.close()


SKELETON_SUBMIT = """package rsm

// Submit hands req to Raft and waits until it is applied.
func (rsm *RSM) Submit(req any) (rpc.Err, any) {

	// an Op wraps req with an id

	// your code here
	return rpc.ErrWrongLeader, nil // the skeleton's placeholder
}
"""
WORKING_SUBMIT = """package rsm

func (rsm *RSM) Submit(req any) (rpc.Err, any) {
	index, term, ok := rsm.rf.Start(Op{Req: req})
	if !ok {
		return rpc.ErrWrongLeader, nil
	}
	return rsm.wait(index, term)
}
"""
SKELETON_DOOP = """package kvraft

func (kv *KVServer) DoOp(req any) any {
	// Your code here
	return nil
}
"""


class Parts(unittest.TestCase):
    """Which packages and regexes PART selects, and the skeleton check, on a tree of test names only."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="labparts-")
        self.src = Path(self.tmp.name)
        tests = {"raft1": ["TestInitialElection3A", "TestBasicAgree3B", "TestPersist13C", "TestSnapshotBasic3D"],
                 "kvraft1/rsm": ["TestBasic4A", "TestSnapshot4C"],
                 "kvraft1": ["TestBasic4B", "TestSnapshotRPC4C"],
                 "shardkv1": ["TestInitQuery5A", "TestJoinBasic5B"]}
        for rel, names in tests.items():
            d = self.src / rel
            d.mkdir(parents=True, exist_ok=True)
            (d / "x_test.go").write_text("".join(f"func {n}(t *testing.T) {{}}\n" for n in names))
        self.packages = lab.service_packages(self.src)

    def tearDown(self):
        self.tmp.cleanup()

    def selected(self, part, run=""):
        return [(p.rel, regex) for p, regex in lab.select_runs(self.packages, part, run)]

    def test_packages_in_course_order(self):
        self.assertEqual([p.rel for p in self.packages], ["raft1", "kvraft1/rsm", "kvraft1", "shardkv1"])
        self.assertEqual(lab.all_parts(self.packages), ["3A", "3B", "3C", "3D", "4A", "4B", "4C", "5A", "5B"])

    def test_default_is_the_raft_parts(self):
        self.assertEqual(self.selected(""), [("raft1", p) for p in ("3A", "3B", "3C", "3D")])
        self.assertEqual(self.selected("", "TestBasicAgree3B"), [("raft1", "TestBasicAgree3B")])

    def test_a_run_alone_goes_to_the_packages_whose_tests_it_matches(self):
        self.assertEqual(self.selected("", "TestSnapshotRPC4C"), [("kvraft1", "TestSnapshotRPC4C")])
        self.assertEqual(self.selected("", "^TestBasic4"), [("kvraft1/rsm", "^TestBasic4"), ("kvraft1", "^TestBasic4")])
        with self.assertRaises(lab.LabError) as cm:
            self.selected("", "TestNoSuchTest")
        self.assertIn("no test of this tree's raft1, kvraft1/rsm, kvraft1, shardkv1 matches it", str(cm.exception))

    def test_a_part_runs_in_every_package_that_has_it(self):
        self.assertEqual(self.selected("4C"), [("kvraft1/rsm", "4C"), ("kvraft1", "4C")])
        self.assertEqual(self.selected("4b, 5A"), [("kvraft1", "4B"), ("shardkv1", "5A")])
        self.assertEqual(self.selected("4A 4C", "Snapshot"), [("kvraft1/rsm", "Snapshot"), ("kvraft1", "Snapshot")])
        self.assertEqual(len(self.selected("all")), 10)

    def test_unknown_part_names_what_there_is(self):
        with self.assertRaises(lab.LabError) as cm:
            self.selected("5C")
        self.assertIn("no tests of part 5C", str(cm.exception))
        self.assertIn("4A 4B 4C 5A 5B", str(cm.exception))

    def test_skeleton_services_are_recognised(self):
        rsm = next(p for p in self.packages if p.rel == "kvraft1/rsm")
        kv = next(p for p in self.packages if p.rel == "kvraft1")
        (self.src / "kvraft1/rsm/rsm.go").write_text(SKELETON_SUBMIT)
        (self.src / "kvraft1/server.go").write_text(SKELETON_DOOP)
        self.assertEqual(lab.skeleton_reasons(self.src, rsm),
                         ["kvraft1/rsm: Submit still returns ErrWrongLeader from the skeleton"])
        self.assertEqual(len(lab.skeleton_reasons(self.src, kv)), 2)
        (self.src / "kvraft1/rsm/rsm.go").write_text(WORKING_SUBMIT)
        self.assertEqual(lab.skeleton_reasons(self.src, rsm), [])
        self.assertEqual(lab.skeleton_reasons(self.src, kv),
                         ["kvraft1: the server's DoOp still returns nil from the skeleton"])
        self.assertEqual(lab.skeleton_reasons(self.src, self.packages[0]), [])

    def test_go_body(self):
        self.assertEqual(lab.go_body(SKELETON_SUBMIT, "Submit"), "return rpc.ErrWrongLeader, nil")
        self.assertIsNone(lab.go_body(SKELETON_SUBMIT, "Restore"))
        self.assertTrue(lab.go_body(WORKING_SUBMIT, "Submit").startswith("index, term, ok := rsm.rf.Start"))


class ClassicParts(unittest.TestCase):
    """The later labs of classic trees, on trees of test names only: parts from the names, else from the lab the
    package belongs to, numbered after kvraft's."""

    TREES = {
        "2021": {"raft": ["TestInitialElection2A", "TestSnapshotBasic2D"],
                 "kvraft": ["TestBasic3A", "TestSnapshotRPC3B"],
                 "shardctrler": ["TestBasic", "TestMulti"],
                 "shardkv": ["TestStaticShards", "TestJoinLeave", "TestChallenge1Delete"]},
        "2024": {"raft": ["TestInitialElection3A", "TestSnapshotBasic3D"],
                 "kvraft": ["TestBasic4A", "TestSnapshotRPC4B"],
                 "shardctrler": ["TestBasic", "TestMinimalAgain", "TestMulti"],
                 "shardkv": ["TestStaticShards5A", "TestJoinLeave5B", "TestConcurrent1_5B", "TestChallenge1Delete"]},
        "2020": {"raft": ["TestInitialElection2A", "TestPersist12C"],
                 "kvraft": ["TestBasic3A", "TestSnapshotRPC3B"],
                 "shardmaster": ["TestBasic", "TestMulti"],
                 "shardkv": ["TestStaticShards", "TestJoinLeave"]},
    }

    def tree(self, year):
        tmp = tempfile.TemporaryDirectory(prefix="labparts-")
        self.addCleanup(tmp.cleanup)
        src = Path(tmp.name)
        (src / "go.mod").write_text("module 6.824\n\ngo 1.15\n")
        for rel, names in self.TREES[year].items():
            (src / rel).mkdir()
            (src / rel / ("test_test.go")).write_text("".join(f"func {n}(t *testing.T) {{}}\n" for n in names))
        (src / "raft" / "persister.go").write_text("package raft\n")
        return src

    def runs(self, src, part):
        return [(p.rel, regex) for p, regex in lab.select_runs(lab.detect(src).packages, part, "")]

    def test_2021(self):
        src = self.tree("2021")
        self.assertEqual(lab.all_parts(lab.detect(src).packages), ["2A", "2D", "3A", "3B", "4A", "4B"])
        self.assertEqual(self.runs(src, "4A"), [("shardctrler", "^(TestBasic|TestMulti)$")])
        self.assertEqual(self.runs(src, "4B"), [("shardkv", "^(TestStaticShards|TestJoinLeave|TestChallenge1Delete)$")])
        self.assertEqual(self.runs(src, "3b"), [("kvraft", "3B")])

    def test_2024(self):
        src = self.tree("2024")
        self.assertEqual(lab.all_parts(lab.detect(src).packages), ["3A", "3D", "4A", "4B", "5A", "5B"])
        self.assertEqual(self.runs(src, "5A"), [("shardctrler", "^(TestBasic|TestMinimalAgain|TestMulti)$"),
                                                ("shardkv", "5A")])
        self.assertEqual(self.runs(src, "5B"), [("shardkv", "5B|^(TestChallenge1Delete)$")])
        self.assertEqual(len(self.runs(src, "all")), 7)

    def test_2020_shardmaster(self):
        src = self.tree("2020")
        (src / "go.mod").unlink()
        self.assertEqual(self.runs(src, "4A"), [("shardmaster", "^(TestBasic|TestMulti)$")])
        self.assertEqual(self.runs(src, "4B"), [("shardkv", "^(TestStaticShards|TestJoinLeave)$")])

    def test_classic_skeletons(self):
        src = self.tree("2021")
        (src / "kvraft" / "server.go").write_text(
            "package kvraft\n\nfunc (kv *KVServer) Get(args *GetArgs, reply *GetReply) {\n\t// Your code here.\n}\n")
        (src / "shardctrler" / "server.go").write_text(
            "package shardctrler\n\nfunc (sc *ShardCtrler) Join(args *JoinArgs, reply *JoinReply) {\n\tsc.join(args)\n}\n")
        packages = {p.rel: p for p in lab.detect(src).packages}
        self.assertEqual(lab.skeleton_reasons(src, packages["kvraft"]),
                         ["kvraft: the server's Get is still the skeleton's empty method"])
        self.assertEqual(lab.skeleton_reasons(src, packages["shardctrler"]), [])
        self.assertEqual(lab.skeleton_reasons(src, packages["shardkv"]), [])


class Runs(unittest.TestCase):
    """Real runs of the shim through the fixture trees' tests."""

    def test_each_generation_passes_and_restores(self):
        cases = (("2026", "6.5840"), ("2025", "cpsc416-2025w1"), ("classic-module", "ece419"), ("2020", ""),
                 ("2018", ""), ("2017", ""), ("2016", ""), ("2016-module", "src"), ("cmu18", ""),
                 ("cmu21", "github.com/cmu440"), ("mp2", ""))
        detected = {"2017": "2016-17", "2016": "2016-17", "2016-module": "2016-17", "cmu18": "cmu440-2018",
                    "cmu21": "cmu440-2019"}
        for generation, module in cases:
            with self.subTest(generation=generation):
                fx = Fixture(generation, module or "6.5840")
                try:
                    quick = {"2020": "TestBasicAgree2B", "2018": "TestBasicAgree2B", "2017": "TestBasicAgree2B",
                             "mp2": "TestBasicAgree2B", "2016": "TestBasicAgree", "cmu18": "TestBasicAgree2B",
                             "cmu21": "TestBasicAgree2B",
                             "2016-module": "TestBasicAgree"}.get(generation, QUICK)
                    proc = run_lab("--lab", str(fx.src), "--run", quick)
                    self.assertEqual(proc.returncode, 0, proc.stdout[-3000:] + proc.stderr)
                    self.assertIn(f"{detected.get(generation, generation)} tester, module {module or '(GOPATH mode)'}",
                                  proc.stdout)
                    self.assertRegex(proc.stdout, rf"{quick}\s+PASS")
                    self.assertIn("1/1 passed", proc.stdout)
                    self.assertTrue(fx.unchanged(), "the tree changed")
                finally:
                    fx.close()

    def test_course_copy_with_part_a_to_d_passes_and_restores(self):
        fx = Fixture("classic-module", "CS443-PA-Raft")
        try:
            test_file = fx.src / "raft" / "test_test.go"
            test_file.write_text(re.sub(r"(?m)^(func Test\w*?)3([A-D])\(", r"\g<1>Part\2(", test_file.read_text()))
            fx.before = digest(fx.src)
            proc = run_lab("--lab", str(fx.src), "--part", "partb", "--run", "TestBasicAgreePartB")
            self.assertEqual(proc.returncode, 0, proc.stdout[-3000:] + proc.stderr)
            self.assertRegex(proc.stdout, r"TestBasicAgreePartB\s+PASS")
            self.assertIn("1/1 passed", proc.stdout)
            self.assertTrue(fx.unchanged(), "the tree changed")
        finally:
            fx.close()

    def test_classic_shims_vet_in_their_trees(self):
        """The shims compile, and go vet passes, under each classic tree's language: go 1.15 in a module, the
        toolchain's own in GOPATH mode."""
        for generation in ("classic-module", "2016", "cmu21", "mp2"):
            with self.subTest(generation=generation):
                fx = Fixture(generation)
                try:
                    tree = lab.detect(fx.src)
                    env = dict(os.environ)
                    lab.set_tree_env(tree, env)
                    lab.install(tree)
                    try:
                        proc = subprocess.run(["go", "vet", "./raft/"], cwd=tree.package_dir.parent, env=env,
                                              capture_output=True, text=True, timeout=600)
                    finally:
                        lab.restore(tree)
                    self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
                    self.assertTrue(fx.unchanged())
                finally:
                    fx.close()

    def test_shim_that_does_not_build_is_one_line(self):
        fx = Fixture("classic-module")
        try:
            # A course file the student edited to declare a name the shim declares too (a student's own file
            # would be set aside).
            with open(fx.src / "raft" / "persister.go", "a") as f:
                f.write("\ntype ApplyMsg struct{}\n")
            fx.before = digest(fx.src)
            proc = run_lab("--lab", str(fx.src), "--run", QUICK)
            self.assertEqual(proc.returncode, 2, proc.stdout[-2000:] + proc.stderr)
            errors = [l for l in proc.stderr.splitlines() if l.startswith("lab: ")]
            self.assertEqual(len(errors), 1, proc.stderr)
            self.assertIn("shim does not build in", errors[0])
            self.assertIn("go.mod says go 1.15", errors[0])
            self.assertIn("ApplyMsg redeclared", errors[0])
            self.assertNotIn("passed", proc.stdout)
            self.assertTrue(fx.unchanged())
        finally:
            fx.close()

    def test_split_raft_is_set_aside_whole(self):
        """A student's Raft split across files, util.go extended with methods on *Raft and their own unit tests:
        all set aside, a stand-in util.go for the run, every file back byte for byte."""
        for generation in ("2026", "classic-module"):
            with self.subTest(generation=generation):
                fx = Fixture(generation, layout="split")
                try:
                    proc = run_lab("--lab", str(fx.src), "--run", QUICK)
                    self.assertEqual(proc.returncode, 0, proc.stdout[-3000:] + proc.stderr)
                    self.assertIn("set aside for the run, put back afterwards: election.go election_test.go log.go "
                                  "raft.go", proc.stdout)
                    self.assertIn("util.go set aside too (util.go:", proc.stdout)
                    self.assertIn("rf.mu undefined", proc.stdout)
                    self.assertRegex(proc.stdout, rf"{QUICK}\s+PASS")
                    self.assertTrue(fx.unchanged(), "the tree changed")
                finally:
                    fx.close()

    def test_classic_services_run_and_skeletons_are_skipped(self):
        """A 2024-style tree with kvraft done (its server also asking Raft's Killed()) and shardctrler and shardkv
        still skeletons: PART=all runs Raft's and kvraft's tests on raftcore, skips each skeleton in one line, and
        puts the student's split Raft back byte for byte."""
        fx = Fixture("classic-module", layout="split")
        try:
            self.assertIn("kv.rf.Killed()", (fx.src / "kvraft" / "server.go").read_text())
            tests = ("TestInitialElection3A", "TestBasic4A", "TestSnapshotRPC4B")
            proc = run_lab("--lab", str(fx.src), "--part", "all", "--run", f"^({'|'.join(tests)})$")
            self.assertEqual(proc.returncode, 0, proc.stdout[-3000:] + proc.stderr)
            self.assertIn("parts 3A 3B 3C 3D 4A 4B 5A 5B", proc.stdout)
            for test in tests:
                self.assertRegex(proc.stdout, rf"{test}\s+PASS")
            self.assertIn("3/3 passed", proc.stdout)
            self.assertIn("in shardctrler: skipped, not a raftcore failure: shardctrler: Join is still the "
                          "skeleton's empty method", proc.stdout)
            self.assertIn("shardkv: the server's Get is still the skeleton's empty method", proc.stdout)
            self.assertTrue(fx.unchanged(), "the tree changed")
        finally:
            fx.close()

    def test_service_beyond_the_api_is_one_line(self):
        fx = Fixture("2025")
        try:
            api = fx.src / "raftapi" / "raftapi.go"
            text = api.read_text()
            api.write_text(text.replace("type Raft interface {\n", "type Raft interface {\n\tCompactLog(index int)\n", 1))
            fx.before = digest(fx.src)
            proc = run_lab("--lab", str(fx.src), "--part", "4A", "--run", "TestBasic4A")
            self.assertEqual(proc.returncode, 2, proc.stdout[-2000:] + proc.stderr)
            errors = [l for l in proc.stderr.splitlines() if l.startswith("lab: ")]
            self.assertEqual(len(errors), 1, proc.stderr)
            self.assertRegex(errors[0], r"^lab: the services use CompactLog \(raftapi/raftapi\.go:\d+\), which the "
                                        r"lab's Raft API does not have: they depend on their own Raft's extras")
            self.assertTrue(fx.unchanged())
        finally:
            fx.close()

    def test_labs_on_raft_pass_and_restore(self):
        """PART runs the rsm and kvraft tests of a tree through the shim: 2026 with its daemons, 2025 in-process
        under another module name."""
        for generation, module in (("2026", "6.5840"), ("2025", "ece419")):
            with self.subTest(generation=generation):
                fx = Fixture(generation, module)
                try:
                    self.assertEqual(lab.all_parts(lab.detect(fx.src).packages),
                                     ["3A", "3B", "3C", "3D", "4A", "4B", "4C"])
                    proc = run_lab("--lab", str(fx.src), "--part", "4A,4B", "--run", "TestBasic4")
                    self.assertEqual(proc.returncode, 0, proc.stdout[-3000:] + proc.stderr)
                    self.assertRegex(proc.stdout, r"TestBasic4A\s+PASS")
                    self.assertRegex(proc.stdout, r"TestBasic4B\s+PASS")
                    self.assertIn("2/2 passed", proc.stdout)
                    if generation == "2026":
                        self.assertIn("go build -race -o main/rsm1d main/rsm1d.go", proc.stdout)
                        self.assertIn("go build -race -o main/kvraft1d main/kvraft1d.go", proc.stdout)
                    self.assertTrue(fx.unchanged(), "the tree changed")
                finally:
                    fx.close()

    def test_whose_bug_catches_a_start_then_register_race(self):
        """A service test that fails on raftcore is run again on paced raftcore and on the student's own Raft (here
        a working one that commits on heartbeats); a planted Start-then-register race in the rsm is told apart as
        the service's timing race. Without the plant the test passes and nothing is compared."""
        fx = Fixture("2025", layout="paced", racy_rsm=True)
        try:
            proc = run_lab("--lab", str(fx.src), "--part", "4A", "--run", "TestBasic4A")
            self.assertEqual(proc.returncode, 1, proc.stdout[-3000:] + proc.stderr)
            self.assertIn("set aside for the run, put back afterwards: pacing.go raft.go", proc.stdout)
            self.assertRegex(proc.stdout, r"TestBasic4A\s+FAIL\s+FAIL\s+PASS\s+PASS\s+a timing race in the service")
            self.assertTrue(fx.unchanged(), "the tree changed")
        finally:
            fx.close()
        fx = Fixture("2025", layout="paced")
        try:
            proc = run_lab("--lab", str(fx.src), "--part", "4A", "--run", "TestBasic4A")
            self.assertEqual(proc.returncode, 0, proc.stdout[-3000:] + proc.stderr)
            self.assertNotIn("whose bug", proc.stdout)
        finally:
            fx.close()

    def test_skeleton_service_is_one_line(self):
        fx = Fixture("2026", skeleton_rsm=True)
        try:
            proc = run_lab("--lab", str(fx.src), "--part", "4A,4B")
            self.assertEqual(proc.returncode, 1, proc.stdout[-3000:] + proc.stderr)
            why = "skipped, not a raftcore failure: kvraft1/rsm: Submit still returns ErrWrongLeader from the skeleton"
            self.assertIn(f"4A in kvraft1/rsm: {why}", proc.stdout)
            self.assertIn(f"4B in kvraft1: {why}", proc.stdout)
            self.assertNotIn("go test", proc.stdout)
            self.assertTrue(fx.unchanged())
        finally:
            fx.close()

    def test_stress_a_later_part(self):
        fx = Fixture("2025")
        try:
            proc = subprocess.run([*STRESS, "--lab", str(fx.src), "--part", "4A", "--run", "TestBasic4A", "-n", "2",
                                   "-w", "1", "--results", str(Path(fx.tmp.name) / "results")],
                                  capture_output=True, text=True, timeout=900)
            self.assertEqual(proc.returncode, 0, proc.stdout[-3000:] + proc.stderr)
            self.assertIn(f"in {fx.src / 'kvraft1' / 'rsm'}", proc.stdout)
            self.assertRegex(proc.stdout, r"TestBasic4A\s+2\s+0")
            spans = subprocess.run([*STRESS, "--lab", str(fx.src), "--part", "4C", "-n", "1"], capture_output=True,
                                   text=True, timeout=300)
            self.assertEqual(spans.returncode, 2)
            self.assertIn("kvraft1 and kvraft1/rsm", spans.stderr)
            self.assertTrue(fx.unchanged())
        finally:
            fx.close()

    def test_a_hung_test_is_ended_and_the_rest_of_its_part_runs(self):
        """With the hang limit below FollowerFailure3B's few seconds, that test counts as hung: it is ended with its
        goroutines in the log, and ConcurrentStarts3B, which go test would have run after it, still runs."""
        fx = Fixture("2025")
        try:
            proc = subprocess.run([*LAB, "--lab", str(fx.src), "--run", "TestFollowerFailure3B|TestConcurrentStarts3B"],
                                  capture_output=True, text=True, timeout=600,
                                  env=dict(os.environ, RAFTCORE_HANG_AFTER="2"))
            self.assertEqual(proc.returncode, 1, proc.stdout[-3000:] + proc.stderr)
            self.assertIn("TestFollowerFailure3B has run for 2 s", proc.stdout)
            self.assertIn("goroutine ", proc.stdout)
            self.assertRegex(proc.stdout, r"TestFollowerFailure3B\s+HUNG")
            self.assertRegex(proc.stdout, r"TestConcurrentStarts3B\s+PASS")
            self.assertRegex(proc.stdout, r"-run \^\(TestConcurrentStarts3B\)\$")
            self.assertTrue(fx.unchanged(), "the tree changed")
        finally:
            fx.close()

    def test_failed_run_restores(self):
        fx = Fixture("2025")
        try:
            # A regex go test refuses (lab.py lets through what Python's re cannot read), so the run fails after
            # the student's Raft was set aside.
            proc = run_lab("--lab", str(fx.src), "--run", "TestInitialElection(")
            self.assertNotEqual(proc.returncode, 0)
            self.assertIn("set aside for the run", proc.stdout)
            self.assertTrue(fx.unchanged())
        finally:
            fx.close()

    def test_interrupted_run_restores(self):
        # The run's SIGINT disposition is set here, not inherited from whoever started the suite: default, as at a
        # terminal, and ignored, as a shell starts a background job (`nohup make test &`); both must stop and restore.
        for disposition in (signal.SIG_DFL, signal.SIG_IGN):
            with self.subTest(sigint=disposition.name):
                self.interrupt_and_check(disposition)

    def interrupt_and_check(self, disposition):
        fx, p = Fixture("2025"), None
        try:
            p = subprocess.Popen([*LAB, "--lab", str(fx.src), "--run", "TestInitialElection3A"],
                                 stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                 preexec_fn=lambda: signal.signal(signal.SIGINT, disposition))
            backup = fx.src / "raft1" / lab.BACKUP_NAME
            deadline = time.monotonic() + 60
            while not backup.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            self.assertTrue(backup.exists(), "the shim was never installed")
            time.sleep(1)
            p.send_signal(signal.SIGINT)
            out, _ = p.communicate(timeout=60)
            self.assertEqual(p.returncode, 130, out)
            self.assertIn("restored", out)
            self.assertTrue(fx.unchanged())
        finally:
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()
            fx.close()


if __name__ == "__main__":
    if not os.environ.get("PKG_CONFIG_PATH"):
        print("test_lab: set PKG_CONFIG_PATH to the repository (make test-tools does)", file=sys.stderr)
    unittest.main()
