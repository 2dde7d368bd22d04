#!/usr/bin/env python3
"""Runs a lab tree's own Raft tests through the raftcore shim and prints a per-test table.

Usage (normally through `make lab`, which builds the library and sets PKG_CONFIG_PATH and CGO_CPPFLAGS):
    tools/lab.py                          the bundled harness (go/), the Raft parts
    tools/lab.py --lab DIR [--run 3A]     a lab tree's src directory, or a part / `go test -run` regex
    tools/lab.py --lab DIR --part 4A,4B   the labs that stand on Raft (4A-5C), a list of parts, or `all`
    tools/lab.py --peers process          the bundled harness with one process per peer

For a lab tree it detects the tester generation and the module name, installs the shim over the tree's raft.go
(keeping the user's file beside it as .raft.go.raftcore-orig and putting it back afterwards, also on failure or
Ctrl-C), builds the daemons a 2026 tree's selected tests start, runs `go test -race -count=1` part by part in the
package that holds each part (raft1, kvraft1/rsm, kvraft1, shardkv1), and restores the tree. A part whose service
is still the course's skeleton is skipped with one line saying so. The exit status is non-zero if any test failed,
nothing ran, or the tree could not be used; every refusal says what to do.
"""
import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import labtable  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = ROOT / "go"
SHIM_MODULE = "6.5840"  # the import prefix the shims are written with
BACKUP_NAME = ".raft.go.raftcore-orig"  # Go ignores files starting with a dot, so the backup never compiles
SHIM_MARK = "raftcore shim"  # in the first lines of both shims: tells an installed shim from a user's raft.go
MIN_GO = (1, 22)
# The lab's test files fail go vet's printf check above this go directive (non-constant Fatalf formats).
MAX_GO_DIRECTIVE = (1, 22)
PART_TIMEOUT = "30m"  # the full suite is close to go test's 10-minute default, so each part gets its own budget
# (and more than the 15 minutes the 2026 Makefile gives shardkv)

# The packages of a raft1 tree whose tests stand on raft.Make (lab-facts §7), in the order their parts come, and
# the daemons a 2026 tree's tests of each start from main/ (go test never rebuilds those).
SERVICE_PACKAGES = (
    ("raft1", ("raft1d",)),
    ("kvraft1/rsm", ("rsm1d",)),
    ("kvraft1", ("kvraft1d",)),
    ("shardkv1", ("shardgrp1d", "kvsrv1d")),
)

# The course's skeleton of each service, recognised by a method whose body (comments aside) is the skeleton's
# placeholder: (package, file, method, placeholder, what to tell the user). A part whose package, or a package
# it stands on, still has one fails every test by timing out, which says nothing about Raft.
SKELETONS = (
    ("kvraft1/rsm", "rsm.go", "Submit", "return rpc.ErrWrongLeader, nil",
     "kvraft1/rsm: Submit still returns ErrWrongLeader from the skeleton"),
    ("kvraft1", "server.go", "DoOp", "return nil", "kvraft1: the server's DoOp still returns nil from the skeleton"),
    ("shardkv1/shardgrp", "server.go", "DoOp", "return nil",
     "shardkv1/shardgrp: the server's DoOp still returns nil from the skeleton"),
)
# What each package's tests stand on, besides Raft.
STANDS_ON = {
    "kvraft1/rsm": ("kvraft1/rsm",),
    "kvraft1": ("kvraft1/rsm", "kvraft1"),
    "shardkv1": ("kvraft1/rsm", "shardkv1/shardgrp"),
}


class LabError(Exception):
    """A tree we cannot use, with what to do about it."""


@dataclass
class Tree:
    """A lab tree as detected: where its Raft package is, how its tests must be run."""

    src: Path
    generation: str  # "2026", "2025", "classic-module" (2021-24 layout in a module), "2020" (GOPATH), "mp2"
    module: str  # "" in GOPATH mode
    directive: tuple  # the go.mod's go directive, e.g. (1, 15); None in GOPATH mode or without one
    package_dir: Path  # raft1/ or raft/
    shim: Path  # the shim file installed over package_dir/raft.go
    parts: list  # the Raft package's parts
    packages: list = None  # [Package] holding tests, the Raft package first

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


def service_packages(src: Path):
    """The packages of a raft1 tree (or the bundled harness) that have lab tests, with their parts."""
    found = []
    for rel, daemons in SERVICE_PACKAGES:
        d = src / rel
        parts = test_parts(d) if d.is_dir() else []
        if parts:
            found.append(Package(rel, d, parts, daemons))
    return found


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


def test_parts(package_dir: Path):
    """The parts (3A, 2B, ...) the package's tests are named after, in order."""
    parts = set()
    for f in package_dir.glob("*_test.go"):
        parts.update(re.findall(r"^func Test\w*?(\d[A-Z])\(", f.read_text(errors="replace"), re.M))
    return sorted(parts)


# How MP2's tester builds a peer: Make with three plain arguments, no persister (the classic call passes
# cfg.saved[i] as well).
MP2_MAKE_CALL = re.compile(r"\bMake\(\s*\w+\s*,\s*\w+\s*,\s*\w+\s*\)")


def builds_peers_without_persister(pkg: Path) -> bool:
    """True if the tree's own tester files (not raft.go, the student's) call Make without a persister."""
    for f in pkg.glob("*.go"):
        if f.name != "raft.go" and MP2_MAKE_CALL.search(f.read_text(errors="replace")):
            return True
    return False


def detect(src: Path) -> Tree:
    if not src.exists():
        raise LabError(f"{src} does not exist; LAB must be the src directory of a lab tree")
    if not src.is_dir():
        raise LabError(f"{src} is not a directory; LAB must be the src directory of a lab tree")
    if not (src / "raft1").is_dir() and not (src / "raft").is_dir():
        hint = f" (did you mean LAB={src / 'src'}?)" if (src / "src").is_dir() else ""
        raise LabError(f"{src} is not a lab tree: it has neither raft1/ nor raft/{hint}")

    module, gomod, directive = go_module(src)
    if module and directive and directive > MAX_GO_DIRECTIVE:
        raise LabError(
            f"{gomod} says go {directive[0]}.{directive[1]}; the lab's test files fail go vet above go 1.22. "
            f"Set the go line back to `go 1.22` (the lab ships it that way) and run again."
        )
    if (src / "raft1").is_dir():
        if not module:
            raise LabError(f"{src}/raft1 needs a go.mod (the raft1 testers are Go modules); none found above {src}")
        pkg = src / "raft1"
        if (src / "main" / "raft1d.go").is_file():
            generation = "2026"
            if "src" not in src.resolve().parts:
                raise LabError(
                    f"{src}: the 2026 tester finds its daemon through a directory named `src` in the working "
                    f"directory's path; run it from the lab's own src directory"
                )
        elif (src / "tester1").is_dir():
            generation = "2025"
        else:
            raise LabError(f"{src}/raft1 exists but neither main/raft1d.go nor tester1/ does: unknown generation")
        shim = BUNDLED / "raft1" / "raft.go"
    else:
        pkg = src / "raft"
        if (pkg / "persister.go").is_file():
            generation = "classic-module" if module else "2020"
            shim = BUNDLED / "raft" / "raft.go"
        elif builds_peers_without_persister(pkg):
            generation = "mp2"
            shim = BUNDLED / "raftmp2" / "raft.go"
        else:
            raise LabError(f"{pkg} has no persister.go, and its tester does not call Make(peers, me, applyCh) as "
                           f"MP2's does: not a classic lab tree, unknown generation")
        if not shim.is_file():
            raise LabError(f"{src} is a classic src/raft tree ({generation}); its shim {shim} is missing: run "
                           f"`make shims`")
    parts = test_parts(pkg)
    if not parts:
        raise LabError(f"{pkg} has no Test...<part> functions in its *_test.go files")
    packages = service_packages(src) if pkg.name == "raft1" else None
    return Tree(src=src, generation=generation, module=module or "", directive=directive,
                package_dir=pkg, shim=shim, parts=parts, packages=packages)


def all_parts(packages):
    return sorted({part for p in packages for part in p.parts})


def select_runs(packages, part_arg: str, run_arg: str):
    """What to run, as [(package, -run regex)]: the parts PART names (a list, or `all`), each in every package
    that has it, or else the Raft package's (packages[0]); RUN, if given, is the regex instead, once per package
    those parts are in."""
    if part_arg.strip().lower() == "all":
        wanted = all_parts(packages)
    elif part_arg.strip():
        wanted = [w.upper() for w in re.split(r"[\s,]+", part_arg.strip())]
        missing = [w for w in wanted if w not in all_parts(packages)]
        if missing:
            raise LabError(f"PART={part_arg}: no tests of part {', '.join(missing)} here; this tree has "
                           f"{' '.join(all_parts(packages))} (PART=all runs them all)")
    elif run_arg:
        return [(packages[0], run_arg)]
    else:
        wanted = packages[0].parts
    runs = []
    for part in sorted(wanted):
        for p in packages:
            if part in p.parts:
                run = (p, run_arg or part)
                if run not in runs:
                    runs.append(run)
    return runs


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
    """The shim with its imports rewritten for the tree: another module name, or relative paths in GOPATH mode."""
    text = tree.shim.read_text()
    if not tree.module:
        return re.sub(r'"6\.5840/(\w+)"', r'"../\1"', text)
    return text.replace(f'"{SHIM_MODULE}/', f'"{tree.module}/')


def check_not_installed(tree: Tree):
    if tree.backup.exists():
        raise LabError(
            f"{tree.backup} exists: an earlier run was interrupted and the shim may still be installed. "
            f"Restore your file with `make lab-restore LAB={tree.src}` (or move it back over raft.go yourself)."
        )
    if tree.target.is_file() and SHIM_MARK in tree.target.read_text(errors="replace")[:2000]:
        raise LabError(
            f"{tree.target} is already raftcore's shim and no copy of your own file is beside it; "
            f"restore yours (e.g. `git checkout {tree.target.relative_to(tree.src)}` in {tree.src}) and run again"
        )


def install(tree: Tree):
    check_not_installed(tree)
    if tree.target.exists():
        shutil.copy2(tree.target, tree.backup)
    tree.target.write_text(shim_text(tree))


def restore(tree: Tree) -> bool:
    """Puts the user's raft.go back; true if there was something to restore."""
    if tree.backup.exists():
        os.replace(tree.backup, tree.target)
        return True
    return False


def set_tree_env(tree: Tree, env: dict):
    """The environment a tree's tests run in: GOPATH mode for a tree without a go.mod (2020, MP2), and the peer
    mode our fake trees (tools/labfixture.py) read; a user's RAFT_PEERS wins, and the real lab ignores it."""
    if not tree.module:
        env["GO111MODULE"] = "off"
    env["RAFT_PEERS"] = env.get("RAFT_PEERS") or {"2026": "process", "2025": "local", "mp2": "mp2"}.get(
        tree.generation, "classic")


def check_shim_builds(tree: Tree, env: dict, race: str, logdir: Path):
    """Compiles the package and its tests with the shim in place (running none), so a shim this tree cannot
    build is one line naming the tree and the first error, not a table of parts that all found 0 tests. The
    flags match the real runs', so their compile comes from the cache."""
    cmd = ["go", "test", *([race] if race else []), "-count=1", "-run", "^$", "."]
    print(f"== lab: {' '.join(cmd)}  (in {tree.package_dir}: does the shim build here?)", flush=True)
    proc = subprocess.run(cmd, cwd=tree.package_dir, env=env, capture_output=True, text=True, errors="replace")
    if proc.returncode == 0:
        return
    log = logdir / "build.log"
    log.write_text(proc.stdout + proc.stderr)
    errors = [l.strip() for l in (proc.stdout + proc.stderr).splitlines() if re.match(r"\s*\S+\.go:\d+", l)]
    first = errors[0] if errors else (proc.stderr.strip().splitlines() or ["no output"])[-1]
    lang = f"go.mod says go {tree.directive[0]}.{tree.directive[1]}" if tree.directive else (
        "GOPATH mode" if not tree.module else "no go directive")
    raise LabError(f"raftcore's shim does not build in {tree.src} ({tree.generation} tree, {lang}): {first} "
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
        if run(cmd, tree.src, env) != 0:
            raise LabError(f"building main/{name} failed (output above)")


def run(cmd, cwd, env, log_path=None):
    """Runs cmd, streaming its output (and copying it to log_path); returns the exit status."""
    print(f"== lab: {' '.join(cmd)}  (in {cwd})", flush=True)
    # Its own session, so that on Ctrl-C or SIGTERM the whole group (go, the test binary, any peer daemons) can be
    # stopped before the tree is restored.
    p = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         errors="replace", start_new_session=True)
    try:
        with open(log_path or os.devnull, "w") as log:
            for line in p.stdout:
                sys.stdout.write(line)
                log.write(line)
        return p.wait()
    except BaseException:
        stop_group(p)
        raise


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
    """Runs each (package, regex) in its package; returns the logs."""
    logs = []
    for package, regex in runs:
        name = re.sub(r"[^A-Za-z0-9_]", "_", f"{package.rel}-{regex}")
        log = logdir / f"{len(logs):02d}-{name}.log"
        logs.append(log)
        cmd = ["go", "test", "-v", *([race] if race else []), "-count=1", "-timeout", PART_TIMEOUT, "-run", regex,
               "."]
        run(cmd, package.dir, env, log)
    return logs


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
    ap.add_argument("--restore", action="store_true", help="only put back the raft.go an interrupted run left")
    args = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, on_signal)
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
                print(f"lab: {'restored' if restore(tree) else 'nothing to restore in'} {tree.target}")
                return 0
            check_go()
            print(f"== lab: {tree.src}: {tree.generation} tester, module {tree.module or '(GOPATH mode)'}, "
                  f"parts {' '.join(all_parts(tree.packages))}", flush=True)
            runs, skipped = drop_skeletons(tree.src, select_runs(tree.packages, args.part, args.run))
            set_tree_env(tree, env)
            logs = []
            if runs:
                install(tree)
                try:
                    check_shim_builds(tree, env, args.race, logdir)
                    build_daemon(tree, env, bool(args.race), [p for p, _ in runs])
                    logs = run_parts(runs, env, args.race, logdir)
                finally:
                    restore(tree)
    except LabError as e:
        print(f"lab: {e}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, Interrupted):
        print("\nlab: interrupted; the tree is restored", file=sys.stderr)
        return 130
    print(f"\n== lab: results (logs in {logdir})")
    return table(logs, skipped)


if __name__ == "__main__":
    sys.exit(main())
