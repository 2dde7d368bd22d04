#!/usr/bin/env python3
"""Runs a lab tree's own Raft tests through the raftcore shim and prints a per-test table.

Usage (normally through `make lab`, which builds the library and sets PKG_CONFIG_PATH and CGO_CPPFLAGS):
    tools/lab.py                          the bundled harness (go/), the Raft parts
    tools/lab.py --lab DIR [--run 3A]     a lab tree's src directory, or a part / `go test -run` regex
    tools/lab.py --lab DIR --part 4A,4B   the labs that stand on Raft (4A-5C), a list of parts, or `all`
    tools/lab.py --peers process          the bundled harness with one process per peer

For a lab tree it detects the tester generation and the module name, sets the student's Raft aside (every file of
the Raft package that is not one of the course's tester files, their own tests included, moved into
.raftcore-aside/ and put back byte for byte afterwards, also on failure or Ctrl-C), installs the shim as raft.go,
builds the daemons a 2026 tree's selected tests start, runs `go test -race -count=1` part by part in the
package that holds each part (raft1, kvraft1/rsm, kvraft1, shardkv1), and restores the tree. A part whose service
is still the course's skeleton is skipped with one line saying so. The exit status is non-zero if any test failed,
nothing ran, or the tree could not be used; every refusal says what to do.
"""
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import labtable  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = ROOT / "go"
SHIM_MODULE = "6.5840"  # the import prefix the shims are written with
# Where the student's files wait during a run: Go ignores names starting with a dot, so nothing there compiles.
BACKUP_NAME = ".raftcore-aside"
MANIFEST = "manifest.json"
LEGACY_BACKUP = ".raft.go.raftcore-orig"  # what runs before the whole package was set aside left
SHIM_MARK = "raftcore shim"  # in the first lines of both shims: tells an installed shim from a user's raft.go
STAND_IN_MARK = "raftcore stand-in"  # in the first lines of a helper file we wrote for the run
CMU_PACKAGE = "github.com/cmu440/raft"  # CMU 15-440's Raft package, under the tree's src (GOPATH) directory
MIN_GO = (1, 22)
# The lab's test files fail go vet's printf check above this go directive (non-constant Fatalf formats).
MAX_GO_DIRECTIVE = (1, 22)
PART_TIMEOUT = "30m"  # the full suite is close to go test's 10-minute default, so each part gets its own budget
# (and more than the 15 minutes the 2026 Makefile gives shardkv)

# The packages of a raft1 tree whose tests stand on raft.Make (docs/LAB-GENERATIONS.md §8), in the order their parts come, and
# the daemons a 2026 tree's tests of each start from main/ (go test never rebuilds those).
SERVICE_PACKAGES = (
    ("raft1", ("raft1d",)),
    ("kvraft1/rsm", ("rsm1d",)),
    ("kvraft1", ("kvraft1d",)),
    ("shardkv1", ("shardgrp1d", "kvsrv1d")),
)

# The later labs of a classic src/raft tree (2018-2024), each a package of its own beside raft/. Their tests name
# parts (kvraft 3A/3B, or 4A/4B in 2024) except the shard controller's and most of shardkv's before 2024, which
# have no suffix: those take the part of the lab they belong to, the one after kvraft's (A for the controller,
# B for shardkv).
CLASSIC_SERVICE_PACKAGES = ("kvraft", "shardmaster", "shardctrler", "shardkv")
UNSUFFIXED_PART = {"shardmaster": "A", "shardctrler": "A", "shardkv": "B"}

# The course's skeleton of each service, recognised by a method whose body (comments aside) is the skeleton's
# placeholder: (package, file, method, placeholder, what to tell the user). A part whose package, or a package
# it stands on, still has one fails every test by timing out, which says nothing about Raft.
SKELETONS = (
    ("kvraft1/rsm", "rsm.go", "Submit", "return rpc.ErrWrongLeader, nil",
     "kvraft1/rsm: Submit still returns ErrWrongLeader from the skeleton"),
    ("kvraft1", "server.go", "DoOp", "return nil", "kvraft1: the server's DoOp still returns nil from the skeleton"),
    ("shardkv1/shardgrp", "server.go", "DoOp", "return nil",
     "shardkv1/shardgrp: the server's DoOp still returns nil from the skeleton"),
    ("kvraft", "server.go", "Get", "", "kvraft: the server's Get is still the skeleton's empty method"),
    ("shardmaster", "server.go", "Join", "", "shardmaster: Join is still the skeleton's empty method"),
    ("shardctrler", "server.go", "Join", "", "shardctrler: Join is still the skeleton's empty method"),
    ("shardkv", "server.go", "Get", "", "shardkv: the server's Get is still the skeleton's empty method"),
)
# What each package's tests stand on, besides Raft.
STANDS_ON = {
    "kvraft1/rsm": ("kvraft1/rsm",),
    "kvraft1": ("kvraft1/rsm", "kvraft1"),
    "shardkv1": ("kvraft1/rsm", "shardkv1/shardgrp"),
    "kvraft": ("kvraft",),
    "shardmaster": ("shardmaster",),
    "shardctrler": ("shardctrler",),
    "shardkv": ("shardmaster", "shardctrler", "shardkv"),
}


@dataclass(frozen=True)
class Generation:
    """One tester generation make lab knows (docs/LAB-GENERATIONS.md): how a tree of it is recognised and run."""

    name: str
    courses: str  # whose trees these are
    recognised_by: dict  # the facts of a tree (tree_facts) that it has, every one
    shim: str  # the shim variant under go/
    # The course's own files in the Raft package: the tester and its helpers. Every other Go file there is the
    # student's Raft (however many files it is split into, with its own unit tests), which the shim replaces.
    course_files: tuple
    peers: str  # RAFT_PEERS for our fake trees of it (tools/labfixture.py); the real testers ignore it
    parts: str  # how its tests name their parts
    daemons: bool = False  # its tests start main/*d daemons, which go test never rebuilds
    # Where the tree keeps a package the shim imports under our harness's name: labrpc -> github.com/cmu440/rpc.
    import_paths: tuple = ()

    @property
    def layout(self) -> str:
        """How its trees are built: in a module, or in GOPATH mode with relative or absolute imports."""
        if self.recognised_by.get("package") == "raft1":
            return "module"
        return {"module": "module", "relative": "GOPATH, relative imports (\"../labrpc\")",
                "absolute": "GOPATH at the tree's root, absolute imports (\"labrpc\")"}.get(
            self.recognised_by.get("imports"), "module or GOPATH")


def generations_table() -> str:
    """What make lab knows, one row per generation (make lab-generations)."""
    rows = [("generation", "whose trees", "recognised by", "layout", "parts", "shim")]
    for g in GENERATIONS:
        facts = ", ".join(f"{k}={v}" for k, v in g.recognised_by.items())
        rows.append((g.name, g.courses, facts, g.layout, g.parts, f"go/{g.shim}"))
    lines = ["| " + " | ".join(r) + " |" for r in rows]
    lines.insert(1, "|" + "---|" * len(rows[0]))
    return "\n".join(lines)


CLASSIC_COURSE_FILES = ("config.go", "test_test.go", "persister.go", "util.go")
SUFFIXED = "a digit and a letter: 2A, 3B"
# In the order they are tried: the first whose facts all hold is the tree's.
GENERATIONS = (
    Generation("2026", "MIT 6.5840 2026 (daemon tester)", {"package": "raft1", "daemon": True}, "raft1/raft.go",
               ("raft_test.go", "test.go", "server.go", "proxy.go", "util.go"), "process", SUFFIXED, daemons=True),
    Generation("2025", "MIT 6.5840 2025 in-process tester; UBC CPSC416, Toronto ECE419 under their module names",
               {"package": "raft1", "daemon": False, "tester1": True}, "raft1/raft.go",
               ("raft_test.go", "test.go", "util.go"), "local", SUFFIXED),
    Generation("classic-module", "MIT 6.824/6.5840 2021-24 (go 1.15); course copies under other module names",
               {"package": "raft", "persister": True, "imports": "module", "labgob": True},
               "raft/raft.go", CLASSIC_COURSE_FILES, "classic", SUFFIXED + ", or PartA-PartD"),
    Generation("2020", "MIT 6.824 2020 (GOPATH, relative imports)",
               {"package": "raft", "persister": True, "imports": "relative", "labgob": True},
               "raft/raft.go", CLASSIC_COURSE_FILES, "classic", SUFFIXED),
    Generation("2018", "MIT 6.824 2018 (GOPATH, absolute imports, labgob)",
               {"package": "raft", "persister": True, "imports": "absolute", "labgob": True},
               "raft/raft.go", CLASSIC_COURSE_FILES, "classic", SUFFIXED),
    Generation("2016-17", "MIT 6.824 2016 and 2017 (GOPATH, absolute imports, no labgob); course copies in a "
               "module named src", {"package": "raft", "persister": True, "labgob": False}, "raft2016/raft.go",
               CLASSIC_COURSE_FILES, "2016", "2A-2C (2017); none in 2016, where they take 2017's grouping"),
    Generation("mp2", "UIUC ECE428/CS425 MP2 (GOPATH, no persister)",
               {"package": "raft", "persister": False, "imports": "relative", "make": "without-persister"}, "raftmp2/raft.go",
               ("config.go", "test_test.go", "util.go"), "mp2", "2A, 2B"),
    Generation("cmu440-2018", "CMU 15-440 Project 2, Fall 2018 (GOPATH, github.com/cmu440/raft and rpc)",
               {"package": CMU_PACKAGE, "api": "Make"}, "raftcmu18/raft.go", ("raft_test.go",), "cmu18",
               "2A, 2B", import_paths=(("labrpc", "github.com/cmu440/rpc"),)),
    Generation("cmu440-2019", "CMU 15-440 Project 2, Fall 2019-23 (NewPeer, PutCommand, Stop; from 2021 in "
               "module github.com/cmu440)", {"package": CMU_PACKAGE, "api": "NewPeer"}, "raftcmu21/raft.go",
               ("raft_test.go",), "cmu21", "2A, 2B", import_paths=(("labrpc", "github.com/cmu440/rpc"),)),
)
GENERATION = {g.name: g for g in GENERATIONS}

# The course's helper file, which students extend (methods on *Raft, their own loggers). The tester files call its
# DPrintf, so when the student's version does not build without their Raft, a stand-in with the course's two
# declarations takes its place for the run. raft1 trees' DPrintf returns nothing, the classic ones' (n, err); a
# statement call compiles against either.
HELPER_FILE = "util.go"
STAND_IN_UTIL = {
    "raft1": ("const Debug = false\n\n// DPrintf logs when Debug is on.\n"
              "func DPrintf(format string, a ...interface{}) {\n\tif Debug {\n\t\tlog.Printf(format, a...)\n\t}\n}\n"),
    "raft": ("const Debug = false\n\n// DPrintf logs when Debug is on.\n"
             "func DPrintf(format string, a ...interface{}) (n int, err error) {\n\tif Debug {\n"
             "\t\tlog.Printf(format, a...)\n\t}\n\treturn\n}\n"),
}


class LabError(Exception):
    """A tree we cannot use, with what to do about it."""


@dataclass
class Tree:
    """A lab tree as detected: where its Raft package is, how its tests must be run."""

    src: Path
    generation: str  # a Generation's name: "2026", "classic-module", "2018", ...
    module: str  # "" in GOPATH mode
    directive: tuple  # the go.mod's go directive, e.g. (1, 15); None in GOPATH mode or without one
    package_dir: Path  # raft1/ or raft/
    shim: Path  # the shim file installed over package_dir/raft.go
    parts: list  # the Raft package's parts
    packages: list = None  # [Package] holding tests, the Raft package first
    imports: str = "module"  # how the tree imports its packages: module, relative or absolute (tree_facts)
    import_paths: dict = None  # our harness's package name -> the tree's import path for it (Generation)

    def __post_init__(self):
        if self.packages is None:
            self.packages = [Package(self.package_dir.name, self.package_dir, self.parts, ())]

    @property
    def target(self) -> Path:
        return self.package_dir / "raft.go"

    @property
    def backup(self) -> Path:
        return self.package_dir / BACKUP_NAME


@dataclass
class Package:
    """A package of the tree whose tests run on Raft."""

    rel: str  # its path under src, as the course names it (kvraft1/rsm)
    dir: Path
    parts: list
    daemons: tuple  # main/<name>.go daemons its tests start in a 2026 tree
    regexes: dict = None  # part -> its go test -run regex, where the part is not simply in its tests' names
    tests: tuple = ()  # its lab tests' names (for a Raft package, the course's tests only)

    def regex(self, part: str) -> str:
        """The go test -run regex of one part of this package."""
        return (self.regexes or {}).get(part, part)


def service_packages(src: Path):
    """The packages of a raft1 tree (or the bundled harness) that have lab tests, with their parts."""
    found = []
    for rel, daemons in SERVICE_PACKAGES:
        d = src / rel
        names = test_names(d) if d.is_dir() else []
        parts = parts_of(names)
        if parts:
            found.append(Package(rel, d, parts, daemons, tests=tuple(names)))
    return found


# A part as tests name it: 3A, or PartA in a course copy that spells it so.
PART_SUFFIX = re.compile(r"(?:\d[A-Z]|Part[A-Z])$")


def test_names(package_dir: Path, files=None):
    """The test functions of the package's test files, or of the named ones only, in file order."""
    names = []
    for f in sorted(package_dir.glob("*_test.go")):
        if files is None or f.name in files:
            names.extend(re.findall(r"^func (Test\w+)\(\s*\w+\s+\*testing\.T\s*\)", f.read_text(errors="replace"),
                                    re.M))
    return names


# The 2016 tests carry no part suffix; the 2017 lab named the same 17 tests with one, and its grouping (2A election,
# 2B agreement, 2C persistence) is theirs too. Tests it does not name form one part named after the package.
UNSUFFIXED_RAFT_PARTS = {
    "2A": ("InitialElection", "ReElection"),
    "2B": ("BasicAgree", "FailAgree", "FailNoAgree", "ConcurrentStarts", "Rejoin", "Backup", "Count"),
    "2C": ("Persist1", "Persist2", "Persist3", "Figure8", "UnreliableAgree", "Figure8Unreliable", "ReliableChurn",
           "UnreliableChurn"),
}


def unsuffixed_raft_parts(names, package: str):
    """part -> exact -run regex for the Raft tests without a part suffix, grouped as the 2017 lab grouped them."""
    groups = {}
    for name in names:
        if not PART_SUFFIX.search(name):
            part = next((p for p, tests in UNSUFFIXED_RAFT_PARTS.items() if name[len("Test"):] in tests), package)
            groups.setdefault(part, []).append(name)
    return {part: f"^({'|'.join(tests)})$" for part, tests in groups.items()}


def parts_of(names):
    """The parts (3A, 2B, ..., or PartA, ...) the tests are named after, in order."""
    return sorted({m.group(0) for m in map(PART_SUFFIX.search, names) if m})


def classic_service_packages(src: Path, raft_parts):
    """The later labs of a classic tree, with their parts: named in the tests, or else the part of the lab the
    package belongs to (UNSUFFIXED_PART), numbered after kvraft's lab (or two after Raft's)."""
    found = {}
    for rel in CLASSIC_SERVICE_PACKAGES:
        d = src / rel
        if d.is_dir():
            found[rel] = (d, test_names(d))
    kv_parts = parts_of(found["kvraft"][1]) if "kvraft" in found else []
    base = kv_parts or raft_parts
    shard_lab = int(base[0][0]) + (1 if kv_parts else 2) if base and base[0][0].isdigit() else None
    packages = []
    for rel, (d, names) in found.items():
        parts, bare = parts_of(names), [n for n in names if not PART_SUFFIX.search(n)]
        regexes = {}
        if bare and rel in UNSUFFIXED_PART and shard_lab:
            part, exact = f"{shard_lab}{UNSUFFIXED_PART[rel]}", f"^({'|'.join(bare)})$"
            regexes[part] = f"{part}|{exact}" if part in parts else exact
        all_parts_here = sorted(set(parts) | set(regexes))
        if all_parts_here:
            packages.append(Package(rel, d, all_parts_here, (), regexes, tuple(names)))
    return packages


def parse_version(text):
    m = re.search(r"(\d+)\.(\d+)", text)
    return (int(m.group(1)), int(m.group(2))) if m else None


def go_module(src: Path):
    """The module name and go directive of the go.mod governing src, or (None, None, None) in GOPATH mode."""
    for d in [src, *src.parents]:
        gomod = d / "go.mod"
        if gomod.is_file():
            text = gomod.read_text(errors="replace")
            module = re.search(r"^module\s+(\S+)", text, re.M)
            directive = re.search(r"^go\s+(\S+)", text, re.M)
            if not module:
                raise LabError(f"{gomod} has no module line; is it a lab tree's go.mod?")
            return module.group(1), gomod, (parse_version(directive.group(1)) if directive else None)
    return None, None, None


# How MP2's tester builds a peer: Make with three plain arguments, no persister (the classic call passes
# cfg.saved[i] as well).
MP2_MAKE_CALL = re.compile(r"\bMake\(\s*\w+\s*,\s*\w+\s*,\s*\w+\s*\)")
# The files a tester of any generation keeps its harness in, which tell how the tree imports its packages and which
# ApplyMsg fields it reads.
TESTER_FILES = ("config.go", "test_test.go", "raft_test.go", "test.go")


def import_style(pkg: Path, module) -> str:
    """How the course's tester files import the lab's packages: through the module, relative to the package
    ("../labrpc", GOPATH mode) or from the GOPATH root ("labrpc")."""
    if module:
        return "module"
    text = "".join((pkg / f).read_text(errors="replace") for f in TESTER_FILES if (pkg / f).is_file())
    if re.search(r'"\.\./\w+"', text):
        return "relative"
    if re.search(r'"(labrpc|labgob|github\.com/cmu440/\w+)"', text):
        return "absolute"
    return "unknown"


def find_raft_package(src: Path):
    """Where the tree's Raft package is, under src, or None."""
    return next((p for p in ("raft1", "raft", CMU_PACKAGE) if (src / p).is_dir()), None)


def tree_facts(src: Path, module) -> dict:
    """What recognises a tree's generation (Generation.recognised_by): its Raft package, the files and packages
    beside it (labgob appeared in 2018), how its tester imports, how it builds a peer."""
    package = find_raft_package(src)
    if package is None:
        return {}
    pkg = src / package
    return {
        "package": package,
        "daemon": (src / "main" / "raft1d.go").is_file(),
        "tester1": (src / "tester1").is_dir(),
        "persister": (pkg / "persister.go").is_file(),
        "imports": import_style(pkg, module),
        "labgob": (src / "labgob").is_dir(),
        "make": "without-persister" if builds_peers_without_persister(pkg) else "with-persister",
        "api": "NewPeer" if any(re.search(r"\bNewPeer\(", (pkg / f).read_text(errors="replace"))
                                for f in TESTER_FILES if (pkg / f).is_file()) else "Make",
    }


def builds_peers_without_persister(pkg: Path) -> bool:
    """True if the tree's own tester files (not raft.go, the student's) call Make without a persister."""
    for f in pkg.glob("*.go"):
        if f.name != "raft.go" and MP2_MAKE_CALL.search(f.read_text(errors="replace")):
            return True
    return False


def recognise(facts: dict):
    """The first generation whose facts the tree has, or None."""
    return next((g for g in GENERATIONS if all(facts.get(k) == v for k, v in g.recognised_by.items())), None)


def detect(src: Path) -> Tree:
    if not src.exists():
        raise LabError(f"{src} does not exist; LAB must be the src directory of a lab tree")
    if not src.is_dir():
        raise LabError(f"{src} is not a directory; LAB must be the src directory of a lab tree")
    package = find_raft_package(src)
    # The module governing the Raft package's parent: src for MIT trees, src/github.com/cmu440 for CMU's.
    module, gomod, directive = go_module((src / package).parent if package else src)
    facts = tree_facts(src, module)
    if not facts:
        hint = f" (did you mean LAB={src / 'src'}?)" if (src / "src").is_dir() else ""
        raise LabError(f"{src} is not a lab tree: it has neither raft1/ nor raft/{hint}")
    if module and directive and directive > MAX_GO_DIRECTIVE:
        raise LabError(
            f"{gomod} says go {directive[0]}.{directive[1]}; the lab's test files fail go vet above go 1.22. "
            f"Set the go line back to `go 1.22` (the lab ships it that way) and run again."
        )
    pkg = src / facts["package"]
    if facts["package"] == "raft1" and not module:
        raise LabError(f"{src}/raft1 needs a go.mod (the raft1 testers are Go modules); none found above {src}")
    generation = recognise(facts)
    if generation is None:
        raise LabError(unknown_generation(pkg, facts))
    if generation.daemons and "src" not in src.resolve().parts:
        raise LabError(f"{src}: the {generation.name} tester finds its daemon through a directory named `src` in "
                       f"the working directory's path; run it from the lab's own src directory")
    if facts["imports"] == "absolute" and src.name != "src":
        raise LabError(f"{src}: this tree imports its packages from the GOPATH root (\"labrpc\"), so GOPATH must be "
                       f"the directory above a directory named src; give LAB as that src directory")
    shim = BUNDLED / generation.shim
    if not shim.is_file():
        raise LabError(f"{src} is a {generation.name} tree; its shim {shim} is missing: run `make shims`")
    course_tests = [n for n in generation.course_files if n.endswith("_test.go")]
    names = test_names(pkg, course_tests)
    regexes = unsuffixed_raft_parts(names, pkg.name) if generation.name == "2016-17" else {}
    parts = sorted(set(parts_of(names)) | set(regexes))
    if not parts:
        raise LabError(f"{pkg} has no Test...<part> functions in the course's test file "
                       f"({', '.join(course_tests)})")
    raft_package = Package(pkg.name, pkg, parts, ("raft1d",) if generation.daemons else (), regexes,
                           tuple(names))
    if pkg.name == "raft1":
        packages = [raft_package, *(p for p in service_packages(src) if p.rel != "raft1")]
    else:
        packages = [raft_package, *classic_service_packages(src, parts)]
    return Tree(src=src, generation=generation.name, module=module or "", directive=directive,
                package_dir=pkg, shim=shim, parts=parts, packages=packages, imports=facts["imports"],
                import_paths=dict(generation.import_paths))


def unknown_generation(pkg: Path, facts: dict) -> str:
    """One line on a tree that is no generation we know: what it has, and the nearest generation's difference."""
    if facts["package"] == "raft1":
        return f"{pkg} exists but neither main/raft1d.go nor tester1/ does: unknown generation"
    if not facts["persister"]:
        return (f"{pkg} has no persister.go, and its tester does not call Make(peers, me, applyCh) as MP2's does: "
                f"not a classic lab tree, unknown generation")
    return (f"{pkg} is a classic src/raft tree whose tester's imports are {facts['imports']} "
            f"({'with' if facts['labgob'] else 'without'} labgob): unknown generation (`make lab-generations` lists "
            f"the ones raftcore knows)")


def all_parts(packages):
    return sorted({part for p in packages for part in p.parts})


def select_runs(packages, part_arg: str, run_arg: str):
    """What to run, as [(package, -run regex)]: the parts PART names (a list, or `all`), each in every package
    that has it, or else the Raft package's (packages[0]); RUN, if given, is the regex instead, once per package
    those parts are in; RUN alone, once in each package that has a test it matches."""
    if part_arg.strip().lower() == "all":
        wanted = all_parts(packages)
    elif part_arg.strip():
        spelled = {p.upper(): p for p in all_parts(packages)}  # PART=3a or partb: the tree's own spelling
        wanted = [spelled.get(w.upper(), w) for w in re.split(r"[\s,]+", part_arg.strip())]
        missing = [w for w in wanted if w not in spelled.values()]
        if missing:
            raise LabError(f"PART={part_arg}: no tests of part {', '.join(missing)} here; this tree has "
                           f"{' '.join(all_parts(packages))} (PART=all runs them all)")
    elif run_arg:
        matching = [(p, run_arg) for p in packages if any(go_regex_matches(run_arg, name) for name in p.tests)]
        if not matching:
            raise LabError(f"RUN={run_arg}: no test of this tree's {', '.join(p.rel for p in packages)} "
                           f"matches it")
        return matching
    else:
        wanted = packages[0].parts
    runs = []
    for part in sorted(wanted):
        for p in packages:
            if part in p.parts:
                run = (p, run_arg or p.regex(part))
                if run not in runs:
                    runs.append(run)
    return runs


def go_regex_matches(regex: str, name: str) -> bool:
    """Whether go test -run would pick the test, as far as Python's re reads Go's syntax (where it cannot, yes:
    go test then says what it thinks of the regex)."""
    try:
        return re.search(regex.split("/")[0], name) is not None  # after a slash, go test matches subtests
    except re.error:
        return True


def go_body(text: str, method: str):
    """The body of `func (...) method(...)` in Go source, comments removed and whitespace squeezed, or None."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    m = re.search(rf"^func\s*\([^)]*\)\s*{method}\s*\([^\n]*\{{\s*$", text, re.M)
    if not m:
        return None
    depth, i = 1, m.end()
    start = i
    while i < len(text) and depth:
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        i += 1
    return " ".join(text[start:i - 1].split())


def skeleton_reasons(src: Path, package: Package):
    """Why the part cannot test Raft yet: each service it stands on that is still the course's skeleton."""
    reasons = []
    for rel, name, method, placeholder, why in SKELETONS:
        f = src / rel / name
        if rel in STANDS_ON.get(package.rel, ()) and f.is_file():
            if go_body(f.read_text(errors="replace"), method) == placeholder:
                reasons.append(why)
    return reasons


def check_go():
    try:
        out = subprocess.run(["go", "version"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        raise LabError(f"cannot run `go version` ({e}); install Go {MIN_GO[0]}.{MIN_GO[1]} or newer")
    version = parse_version(out.split("go version go", 1)[-1])
    if version is None or version < MIN_GO:
        raise LabError(f"{out.strip()}: the shim needs Go {MIN_GO[0]}.{MIN_GO[1]} or newer")


def shim_text(tree: Tree) -> str:
    """The shim with its imports rewritten for the tree: its module name, or GOPATH paths, relative to the package
    ("../labrpc") or from the GOPATH root ("labrpc")."""
    text = tree.shim.read_text()
    for ours, theirs in (tree.import_paths or {}).items():
        text = text.replace(f'"{SHIM_MODULE}/{ours}"', f'"{theirs}"')
    if tree.imports == "relative":
        return re.sub(r'"6\.5840/(\w+)"', r'"../\1"', text)
    if tree.imports == "absolute":
        return re.sub(r'"6\.5840/(\w+)"', r'"\1"', text)
    return text.replace(f'"{SHIM_MODULE}/', f'"{tree.module}/')


def check_not_installed(tree: Tree):
    for leftover in (tree.backup, tree.package_dir / LEGACY_BACKUP):
        if leftover.exists():
            raise LabError(
                f"{leftover} exists: an earlier run was interrupted and the shim may still be installed. "
                f"Restore your files with `make lab-restore LAB={tree.src}` and run again."
            )
    if tree.target.is_file() and SHIM_MARK in tree.target.read_text(errors="replace")[:2000]:
        raise LabError(
            f"{tree.target} is already raftcore's shim and no copy of your own file is beside it; "
            f"restore yours (e.g. `git checkout {tree.target.relative_to(tree.src)}` in {tree.src}) and run again"
        )


def student_files(tree: Tree):
    """The Go files of the Raft package that are the student's, not the course's tester: raft.go, the rest of a
    Raft split across files, and the student's own tests. Files Go ignores (leading dot or underscore) and
    non-Go files stay where they are."""
    course = GENERATION[tree.generation].course_files
    return [f.name for f in sorted(tree.package_dir.glob("*.go"))
            if f.is_file() and f.name not in course and not f.name.startswith((".", "_"))]


def read_manifest(tree: Tree) -> dict:
    try:
        return json.loads((tree.backup / MANIFEST).read_text())
    except (OSError, ValueError) as e:
        raise LabError(f"{tree.backup / MANIFEST} cannot be read ({e}); the files set aside are in {tree.backup}: "
                       f"move them back into {tree.package_dir} by hand")


def write_manifest(tree: Tree, manifest: dict):
    tmp = tree.backup / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=1))
    os.replace(tmp, tree.backup / MANIFEST)


def set_aside(tree: Tree, names, manifest: dict):
    """Moves the named files of the Raft package into the aside directory. The manifest is written before each
    move, so an interrupted run is always restorable: a name it lists that is not in the aside directory was
    never moved."""
    for name in names:
        manifest["moved"].append(name)
        write_manifest(tree, manifest)
        os.replace(tree.package_dir / name, tree.backup / name)


def create(tree: Tree, name: str, text: str, manifest: dict):
    """Writes a file of ours into the Raft package, listed first so that restore removes it."""
    manifest["created"].append(name)
    write_manifest(tree, manifest)
    (tree.package_dir / name).write_text(text)


def install(tree: Tree):
    """Sets the student's Raft aside and puts the shim in as raft.go; says in one line what was set aside."""
    check_not_installed(tree)
    tree.backup.mkdir()
    manifest = {"moved": [], "created": []}
    write_manifest(tree, manifest)
    names = student_files(tree)
    set_aside(tree, names, manifest)
    create(tree, "raft.go", shim_text(tree), manifest)
    print(f"== lab: set aside for the run, put back afterwards: {' '.join(names) if names else 'nothing'} "
          f"(in {tree.package_dir.name}/{BACKUP_NAME})", flush=True)


def stand_in_helper(tree: Tree, why: str):
    """Replaces the student's util.go, which does not build without their Raft, by the course's two helpers."""
    manifest = read_manifest(tree)
    set_aside(tree, [HELPER_FILE], manifest)
    body = STAND_IN_UTIL["raft1" if tree.package_dir.name == "raft1" else "raft"]
    text = (f"package raft\n\n// {STAND_IN_MARK}: your {HELPER_FILE} is set aside for this run and put back "
            f"afterwards ({why}).\n\nimport \"log\"\n\n{body}")
    create(tree, HELPER_FILE, text, manifest)
    print(f"== lab: {HELPER_FILE} set aside too ({why}); a stand-in with Debug and DPrintf takes its place",
          flush=True)


def restore(tree: Tree) -> bool:
    """Puts the student's files back byte for byte and removes ours; true if there was something to restore."""
    legacy = tree.package_dir / LEGACY_BACKUP
    if legacy.exists():
        os.replace(legacy, tree.target)
        return True
    if not tree.backup.exists():
        return False
    manifest = read_manifest(tree)
    for name in manifest["created"]:
        f = tree.package_dir / name
        # Ours only: a file the run never got to replace is still the student's.
        if f.is_file() and any(m in f.read_text(errors="replace")[:2000] for m in (SHIM_MARK, STAND_IN_MARK)):
            f.unlink()
    for name in manifest["moved"]:
        if (tree.backup / name).exists():
            os.replace(tree.backup / name, tree.package_dir / name)
    (tree.backup / MANIFEST).unlink()
    try:
        tree.backup.rmdir()
    except OSError:
        raise LabError(f"{tree.backup} still holds {', '.join(sorted(f.name for f in tree.backup.iterdir()))}, "
                       f"which no run of ours put there: look at them, then remove the directory")
    return True


def set_tree_env(tree: Tree, env: dict):
    """The environment a tree's tests run in: GOPATH mode for a tree without a go.mod (2020, MP2), with GOPATH the
    tree's root where it imports from there (2018), and the peer mode our fake trees (tools/labfixture.py) read; a
    user's RAFT_PEERS wins, and the real lab ignores it."""
    if not tree.module:
        env["GO111MODULE"] = "off"
    if tree.imports == "absolute":
        env["GOPATH"] = str(tree.src.parent)
    env["RAFT_PEERS"] = env.get("RAFT_PEERS") or GENERATION[tree.generation].peers


# What a compiler error says when a student's service calls beyond the lab's Raft API: a method or field only their
# Raft has, or an interface of theirs (an extended raftapi.Raft) that the shim does not satisfy.
BEYOND_API = (
    re.compile(r"undefined \(type \*?[\w.]*\b(?:Raft|ApplyMsg|Persister) has no field or method (\w+)"),
    re.compile(r"does not implement [\w.]+ \(missing method (\w+)\)"),
)
GO_ERROR = re.compile(r"^\s*((?:\S+/)?[^/\s]+\.go):(\d+)(?::\d+)?: (.*)$")


def compile_errors(output: str):
    """(file, line, message) of each compiler error in go's output, file as go printed it."""
    return [m.groups() for m in map(GO_ERROR.match, output.splitlines()) if m]


def check_shim_builds(tree: Tree, env: dict, race: str, logdir: Path, packages=None):
    """Compiles the Raft package and the service packages to be run, tests included, with the shim in place
    (running none), so that what stops a tree is one line, not a table of parts that all found 0 tests. A
    student's util.go that needs their Raft is replaced by a stand-in and the build tried again. The flags
    match the real runs', so their compile comes from the cache."""
    dirs = []
    for d in [tree.package_dir, *(p.dir for p in packages or ())]:
        if d not in dirs:
            dirs.append(d)
    # From the Raft package's parent: src in MIT trees; in CMU's, the module's root.
    where = tree.package_dir.parent
    targets = ["./" + d.relative_to(where).as_posix() for d in dirs]
    cmd = ["go", "test", *([race] if race else []), "-count=1", "-run", "^$", *targets]
    helper = tree.package_dir / HELPER_FILE
    while True:
        print(f"== lab: {' '.join(cmd)}  (in {where}: does the shim build here?)", flush=True)
        proc = subprocess.run(cmd, cwd=where, env=env, capture_output=True, text=True, errors="replace")
        if proc.returncode == 0:
            return
        output = proc.stdout + proc.stderr
        errors = compile_errors(output)
        in_helper = [e for e in errors if (where / e[0]).resolve() == helper.resolve()]
        if in_helper and HELPER_FILE in GENERATION[tree.generation].course_files and \
                STAND_IN_MARK not in helper.read_text(errors="replace")[:2000]:
            stand_in_helper(tree, f"{HELPER_FILE}:{in_helper[0][1]}: {in_helper[0][2]}")
            continue
        break
    log = logdir / "build.log"
    log.write_text(output)
    raise LabError(build_failure(tree, errors, output, log))


def build_failure(tree: Tree, errors, output: str, log: Path) -> str:
    """One line on why the shim does not build: a service calling beyond the lab's API, a course file that
    needs the student's Raft, or else the compiler's first error."""
    extras = {}  # method -> where it is first used (or asked for by the student's interface)
    for file, line, message in errors:
        in_shim = (tree.package_dir.parent / file).resolve() == tree.target.resolve()
        for pattern in BEYOND_API[1:] if in_shim else BEYOND_API:
            m = pattern.search(message)
            if m and m.group(1) not in extras:
                method = m.group(1)
                # An interface the shim does not satisfy: name where the student's interface asks for the method.
                where = next((f"{f.relative_to(tree.src)}:{n}" for f in sorted(tree.src.glob("raftapi*/*.go"))
                              for n, l in enumerate(f.read_text(errors="replace").splitlines(), 1)
                              if re.match(rf"\s*{method}\(", l)), None) if "missing method" in message else None
                extras[method] = where or f"{file}:{line}"
    if extras:
        uses = ", ".join(f"{method} ({where})" for method, where in extras.items())
        return (f"the services use {uses}, which the lab's Raft API does not have: they depend on their own Raft's "
                f"extras, so raftcore cannot stand in for that Raft (full output in {log})")
    if errors:
        file, line, message = errors[0]
        where = (tree.package_dir.parent / file).resolve()
        if where.parent == tree.package_dir.resolve() and where.name in GENERATION[tree.generation].course_files:
            return (f"{file}:{line}: {message}: {where.name} is one of the course's tester files, and this one "
                    f"needs something of your own Raft's; put back the course's {where.name} to run it on "
                    f"raftcore (full output in {log})")
        first = f"{file}:{line}: {message}"
    else:
        first = (output.strip().splitlines() or ["no output"])[-1]
    lang = f"go.mod says go {tree.directive[0]}.{tree.directive[1]}" if tree.directive else (
        "GOPATH mode" if not tree.module else "no go directive")
    return (f"raftcore's shim does not build in {tree.src} ({tree.generation} tree, {lang}): {first} "
            f"(full output in {log})")


def build_daemon(tree: Tree, env: dict, race: bool, packages=None):
    """Builds the daemons a 2026 tree's tests of the given packages start (main/raft1d for raft1 by default): go
    test never rebuilds them, and a stale one silently runs old Raft code."""
    if tree.generation != "2026":
        return
    names = []
    for p in packages or tree.packages[:1]:
        names.extend(d for d in p.daemons if d not in names)
    for name in names:
        if not (tree.src / "main" / f"{name}.go").is_file():
            raise LabError(f"{tree.src}/main/{name}.go is missing: the {tree.generation} tests start that daemon")
        cmd = ["go", "build", *(["-race"] if race else []), "-o", f"main/{name}", f"main/{name}.go"]
        if run(cmd, tree.src, env)[0] != 0:
            raise LabError(f"building main/{name} failed (output above)")


def run(cmd, cwd, env, log_path=None, hang_after=None, log_mode="w"):
    """Runs cmd, streaming its output (and copying it to log_path); returns (exit status, the test that hung or
    None). With hang_after, a test that runs longer than that many seconds is ended with SIGQUIT: the binary
    prints every goroutine's stack into the log and exits, and the caller may run the tests it did not reach."""
    print(f"== lab: {' '.join(cmd)}  (in {cwd})", flush=True)
    # Its own session, so that on Ctrl-C or SIGTERM the whole group (go, the test binary, any peer daemons) can be
    # stopped before the tree is restored.
    p = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         errors="replace", start_new_session=True)
    watch = HangWatch(p, hang_after) if hang_after else None
    try:
        with open(log_path or os.devnull, log_mode) as log:
            for line in p.stdout:
                if watch:
                    watch.saw(line)
                sys.stdout.write(line)
                log.write(line)
            status = p.wait()
            hung = watch.stop() if watch else None
            if hung:
                log.write(f"{labtable.HUNG_MARK} {hung} after {hang_after}s\n")
        return status, hung
    except BaseException:
        if watch:
            watch.stop()
        stop_group(p)
        raise


class HangWatch:
    """Ends a go test run whose current test has run past the limit. The go command ignores SIGQUIT (it leaves it
    to the test binary), so the signal goes to the whole group: the test binary and any peer daemons dump their
    goroutines and exit, and go reports the package failed."""

    def __init__(self, p, limit):
        self.p, self.limit = p, limit
        self.lock = threading.Lock()
        self.test, self.since, self.hung = None, 0.0, None
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.watch, daemon=True)
        self.thread.start()

    def saw(self, line: str):
        m = labtable.RUN.match(line.rstrip("\n"))
        with self.lock:
            if m:
                self.test, self.since = m.group(1), time.monotonic()
            elif labtable.RESULT.match(line):
                self.test = None

    def watch(self):
        while not self.done.wait(min(5, self.limit / 2)):
            with self.lock:
                test, since = self.test, self.since
            if test and time.monotonic() - since > self.limit:
                with self.lock:
                    self.hung = test
                print(f"\n== lab: {test} has run for {self.limit} s (the lab gives a test 120): ending it with "
                      f"SIGQUIT, its goroutines go to the log; the part's other tests run after it", flush=True)
                try:
                    os.killpg(self.p.pid, signal.SIGQUIT)
                except ProcessLookupError:
                    pass
                return

    def stop(self):
        self.done.set()
        self.thread.join()
        return self.hung


def stop_group(p):
    for sig, grace in ((signal.SIGINT, 5), (signal.SIGKILL, 5)):
        try:
            os.killpg(p.pid, sig)
        except ProcessLookupError:
            return
        try:
            p.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def drop_skeletons(src: Path, runs):
    """Splits the runs into those to do and one line for each whose service is still the skeleton."""
    keep, skipped = [], []
    for package, regex in runs:
        reasons = skeleton_reasons(src, package)
        if reasons:
            line = f"{regex} in {package.rel}: skipped, not a raftcore failure: {'; '.join(reasons)}"
            print(f"== lab: {line}", flush=True)
            skipped.append(line)
        else:
            keep.append((package, regex))
    return keep, skipped


def run_parts(runs, env, race, logdir):
    """Runs each (package, regex) in its package; returns the logs. A test that hangs is ended after HANG_AFTER,
    and the part's tests it kept from running run after it, into the same log."""
    logs = []
    for package, regex in runs:
        name = re.sub(r"[^A-Za-z0-9_]", "_", f"{package.rel}-{regex}")
        log = logdir / f"{len(logs):02d}-{name}.log"
        logs.append(log)
        selected, mode = regex, "w"
        while True:
            cmd = ["go", "test", "-v", *([race] if race else []), "-count=1", "-timeout", PART_TIMEOUT, "-run",
                   selected, "."]
            _, hung = run(cmd, package.dir, env, log, hang_after(env), mode)
            if not hung:
                break
            reached = set(test_results(log))
            left = [t for t in package.tests if go_regex_matches(regex, t) and t not in reached]
            if not left:
                break
            selected, mode = f"^({'|'.join(left)})$", "a"
    return logs


# raftcore's latency mode for diagnosis (docs/ABI.md): new entries go out only on the leader's heartbeats, so a
# command commits a heartbeat or two after Start, as in a typical student's Raft, instead of at once.
PACING_ENV = {"RAFTCORE_PACING": "heartbeat"}
MAX_COMPARED = 6  # failing service tests run again on the student's own Raft; each run costs up to minutes
# One test run again for the comparison ends as HUNG after HANG_AFTER like any other; go test's own timeout is only
# the backstop behind that watch.
COMPARE_TIMEOUT = "10m"
# A test still running after this many seconds has hung (the lab fails any test past 2 minutes; the slowest pass
# in about 1.5 under -race on 2 cores): it is ended, and the rest of its part runs, instead of the part waiting for
# PART_TIMEOUT with its other tests never run. RAFTCORE_HANG_AFTER overrides it.
HANG_AFTER = 300


def hang_after(env) -> int:
    text = env.get("RAFTCORE_HANG_AFTER", "")
    if not text:
        return HANG_AFTER
    if not text.isdigit() or int(text) < 1:
        raise LabError(f"RAFTCORE_HANG_AFTER={text!r}: give the seconds after which a test counts as hung")
    return int(text)


def test_results(log: Path) -> dict:
    """test -> PASS, FAIL or CRASH (no verdict line: the binary died or timed out) from one go test -v log."""
    with open(log, encoding="utf-8", errors="replace") as f:
        order, tests, _ = labtable.parse(f)
    return {t: {"PASS": "PASS", "FAIL": "FAIL", "SKIP": "SKIP", "HUNG": "HUNG"}.get(tests[t]["result"], "CRASH")
            for t in order}


def failed_service_tests(tree: Tree, runs, logs):
    """(package, test, result) of each test of a service package (not the Raft package's own) that failed on
    raftcore."""
    failed = []
    for (package, _), log in zip(runs, logs):
        if package.dir != tree.package_dir:
            failed.extend((package, t, r) for t, r in test_results(log).items() if r in ("FAIL", "CRASH", "HUNG"))
    return failed


def run_one(package: Package, test: str, env: dict, race: str, logdir: Path, label: str) -> str:
    log = logdir / f"compare-{label}-{test}.log"
    cmd = ["go", "test", "-v", *([race] if race else []), "-count=1", "-timeout", COMPARE_TIMEOUT, "-run",
           f"^{test}$", "."]
    run(cmd, package.dir, env, log, hang_after(env))
    return test_results(log).get(test, "CRASH")


def whose_bug(again: str, paced: str, own: str) -> str:
    """What the three runs of a test that failed on raftcore say about where the bug is."""
    if own not in ("PASS", "FAIL", "CRASH", "HUNG"):
        return "your own Raft could not be run, so this says nothing yet"
    if own != "PASS":
        return "fails on your own Raft too: a bug in the service (or a flaky test), not in Raft"
    if again == "PASS":
        return ("passed when run again on raftcore: a rare race, in the service or in raftcore; "
                "`make stress LAB=… PART=… RUN=…` tells how rare")
    if paced == "PASS":
        return ("a timing race in the service: it fails when Raft commits at once and passes when commits wait for "
                "heartbeats, as your Raft's do (look for an apply that can arrive before Start returns, such as a "
                "waiter registered after Start)")
    return ("fails on raftcore in both modes, passes on your Raft: the service relies on something your Raft does "
            "beyond the lab's contract, or burns CPU (a loop that spins once killed starves raftcore's callbacks "
            "into Go more than a Go Raft's goroutines), or raftcore is wrong; please report it with these logs")


def compare(tree: Tree, failed, env: dict, race: str, logdir: Path):
    """Runs each failed service test again: on raftcore, on raftcore with heartbeat pacing, then on the student's
    own Raft (their files back in place), and prints the results side by side with a verdict."""
    if len(failed) > MAX_COMPARED:
        print(f"== lab: comparing the first {MAX_COMPARED} of {len(failed)} failed service tests", flush=True)
        failed = failed[:MAX_COMPARED]
    rows = []
    for package, test, first in failed:
        print(f"== lab: whose bug? {test} again on raftcore, then with commits paced by heartbeats", flush=True)
        rows.append([package, test, first, run_one(package, test, env, race, logdir, "raftcore"),
                     run_one(package, test, dict(env, **PACING_ENV), race, logdir, "paced")])
    restore(tree)
    print(f"== lab: whose bug? your own Raft back in {tree.package_dir} for the same tests", flush=True)
    own_error = None
    try:
        build_daemon(tree, env, bool(race), list({p.rel: p for p, _, _ in failed}.values()))
    except LabError as e:
        own_error = e
        print(f"== lab: your own Raft could not be run: {e}", flush=True)
    for row in rows:
        row.append("NOT RUN" if own_error else run_one(row[0], row[1], env, race, logdir, "own"))
    width = max(len(r[1]) for r in rows)
    print(f"\n== lab: whose bug? each failed service test again (logs in {logdir})")
    print(f"{'test':<{width}}  first  again  paced  your Raft  verdict")
    for package, test, first, again, paced, own in rows:
        print(f"{test:<{width}}  {first:<5}  {again:<5}  {paced:<5}  {own[:9]:<9}  {whose_bug(again, paced, own)}")


def table(logs, skipped) -> int:
    lines = []
    for log in logs:
        with open(log, encoding="utf-8", errors="replace") as f:
            lines.extend(f)
    verdict = labtable.report(lines) if logs else 1
    for line in skipped:
        print(f"skipped: {line}")
    return verdict


class Interrupted(Exception):
    pass


def on_signal(signum, _frame):
    raise Interrupted(signal.Signals(signum).name)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lab", default="", help="a lab tree's src directory (default: the bundled harness)")
    ap.add_argument("--run", default="", help="a part (3A) or any go test -run regex (default: every part)")
    ap.add_argument("--part", default="", help="parts to run: 4A, a list (4A,4B), or all (default: the Raft parts)")
    ap.add_argument("--peers", default="", choices=["", "local", "process"],
                    help="bundled harness only: peers in the test process (local) or one process each (process)")
    ap.add_argument("--race", default="-race", help="the race flag passed to go test and the daemon build ('' for none)")
    ap.add_argument("--compare", type=int, default=1, choices=[0, 1],
                    help="run each failed service test again on raftcore, paced raftcore and your own Raft (default 1)")
    ap.add_argument("--restore", action="store_true", help="only put back the files an interrupted run set aside")
    ap.add_argument("--generations", action="store_true", help="print the generations make lab knows and exit")
    args = ap.parse_args(argv)
    if args.generations:
        print(generations_table())
        return 0
    signal.signal(signal.SIGTERM, on_signal)
    # Started in the background (`make lab &` from a script, nohup), it inherits SIGINT ignored, as would the tests
    # it starts; it must still restore the tree when sent one, and stop_group's SIGINT must reach the tests.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    env = dict(os.environ)
    env["PKG_CONFIG_PATH"] = str(ROOT) + (":" + env["PKG_CONFIG_PATH"] if env.get("PKG_CONFIG_PATH") else "")
    logdir = Path(tempfile.mkdtemp(prefix="raftcore-lab."))

    try:
        if not args.lab:
            if args.restore:
                raise LabError("--restore needs LAB")
            if args.peers:
                env["RAFT_PEERS"] = args.peers
            runs = select_runs(service_packages(BUNDLED), args.part, args.run)
            runs, skipped = drop_skeletons(BUNDLED, runs)
            logs = run_parts(runs, env, args.race, logdir)
        else:
            if args.peers:
                raise LabError("PEERS applies to the bundled harness only; a lab tree's own tester decides how peers run")
            tree = detect(Path(args.lab).expanduser().absolute())
            if args.restore:
                print(f"lab: {'restored your files in' if restore(tree) else 'nothing to restore in'} {tree.package_dir}")
                return 0
            check_go()
            print(f"== lab: {tree.src}: {tree.generation} tester, module {tree.module or '(GOPATH mode)'}, "
                  f"parts {' '.join(all_parts(tree.packages))}", flush=True)
            if tree.packages[0].regexes:
                print(f"== lab: {tree.package_dir.name}'s tests name no part; grouped as the 2017 lab named them: "
                      f"{', '.join(f'{p} {r}' for p, r in tree.packages[0].regexes.items())}", flush=True)
            runs, skipped = drop_skeletons(tree.src, select_runs(tree.packages, args.part, args.run))
            set_tree_env(tree, env)
            logs = []
            if runs:
                install(tree)
                try:
                    check_shim_builds(tree, env, args.race, logdir, [p for p, _ in runs])
                    build_daemon(tree, env, bool(args.race), [p for p, _ in runs])
                    logs = run_parts(runs, env, args.race, logdir)
                    failed = failed_service_tests(tree, runs, logs) if args.compare else []
                    if failed:
                        compare(tree, failed, env, args.race, logdir)
                finally:
                    restore(tree)
    except LabError as e:
        if not any(logdir.iterdir()):
            logdir.rmdir()  # refused before anything ran: no log to keep
        print(f"lab: {e}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, Interrupted):
        print("\nlab: interrupted; the tree is restored", file=sys.stderr)
        return 130
    print(f"\n== lab: results (logs in {logdir})")
    return table(logs, skipped)


if __name__ == "__main__":
    sys.exit(main())
