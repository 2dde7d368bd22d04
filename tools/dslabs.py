#!/usr/bin/env python3
"""Runs the dslabs-cpp Raft lab's own 11 tests with raftcore as its RaftServer, and prints a per-test table.

Usage (normally through `make dslabs DSLABS=...`, which builds the library first):
    tools/dslabs.py --tree DIR --library target/release/libraftcore.so     a run
    tools/dslabs.py --tree DIR --restore                                    put back what an interrupted run left

DIR is a checkout of the dslabs-cpp framework (seojinpark/dslabs-cpp, branch raft-f23-patch), configured with
`python3 waf configure --enable-raft-test` and built once with `python3 waf build -j2`. A run installs our adapter
(cpp/dslabs/) over the lab's student files in src/deptran/raft/, keeping each of the user's files beside it as
.<name>.raftcore-orig, rebuilds with the framework's own `python3 waf build -j2`, runs
`build/deptran_server -f config/raft_lab_test.yml` with RAFTCORE_LIBRARY pointing at the library, stops the
program once it prints its verdict (it never exits by itself), and restores the user's files, also on failure,
Ctrl-C or SIGTERM. The build outputs (build/, the generated objects) then still reflect the adapter until the
user's next build. The exit status is 0 if all 11 tests passed, 1 if a test failed, 2 if the tree could not be
used; every refusal says what to do.
"""
import argparse
import hashlib
import json
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lab  # noqa: E402  (stop_group, Interrupted, on_signal: the same process handling as make lab)

ROOT = Path(__file__).resolve().parent.parent
ADAPTER = ROOT / "cpp" / "dslabs"
# Copied next to the adapter for the build (its wscript takes no include path): the C ABI and the C++ header over
# it, which the adapter uses in dynamic mode, and the adapter's framework-free half (tested in cpp/tests).
HEADERS = (ROOT / "include" / "raftcore.h", ROOT / "include" / "raftcore.hpp",
           ROOT / "cpp" / "dslabs" / "raftcore_host.h")
RAFT_DIR = Path("src") / "deptran" / "raft"
STUDENT_FILES = ("server.h", "server.cc", "commo.h", "commo.cc", "service.h", "service.cc", "raft_rpc.rpc")
# Generated from raft_rpc.rpc by the build (and ignored by git). Moved aside with the user's files, so that the
# build must regenerate it from our .rpc and the user's own comes back afterwards: the build regenerates it
# only when it is missing or older than the .rpc, and a restored .rpc keeps its old timestamp.
GENERATED = "raft_rpc.h"
# Framework files that only the lab's Raft branch has; their absence means another branch or another project.
FRAMEWORK_FILES = ("test.cc", "testconf.cc", "frame.cc", "macros.h")
CONFIG = Path("config") / "raft_lab_test.yml"
PROGRAM = Path("build") / "deptran_server"
WAF_CACHE = Path("build") / "c4che" / "_cache.py"
MANIFEST = ".raftcore-installed"  # in RAFT_DIR while the adapter is installed: what to put back
ADAPTER_MARK = "raftcore adapter"  # in the first lines of our server.h: tells an installed adapter from a user's
BUILD_COMMAND = ["python3", "waf", "build", "-j2"]
TESTS = 11
HANDOUT_RPCS = 6609  # the lab handout's sample run: total RPC count over the 11 tests
RUN_TIMEOUT = 900  # seconds; a passing run takes about four minutes
VERDICT_GRACE = 10  # seconds to wait after ALL TESTS PASSED for the RPC total that follows it

TEST_START = re.compile(r"^TEST (\d+): (.*)$")
TEST_PASSED = re.compile(r"^TEST (\d+) Passed$")
TEST_FAILED = re.compile(r"^TEST (\d+) Failed: (.*)$")
TOTAL_RPCS = re.compile(r"^Total RPC count: (\d+)$")
ALL_PASSED = "ALL TESTS PASSED"
SOME_FAILED = "TESTS FAILED"


class DslabsError(Exception):
    """A tree we cannot use, or a step that failed, with what to do about it."""


def backup_name(name: str) -> str:
    return f".{name}.raftcore-orig"


@dataclass
class Tree:
    root: Path

    @property
    def raft(self) -> Path:
        return self.root / RAFT_DIR

    @property
    def manifest(self) -> Path:
        return self.raft / MANIFEST

    def backups(self):
        return [self.raft / backup_name(n) for n in (*STUDENT_FILES, GENERATED, *(h.name for h in HEADERS))
                if (self.raft / backup_name(n)).exists()]


def detect(root: Path, for_restore=False) -> Tree:
    """The tree at root, or DslabsError saying why it is not a usable dslabs-cpp Raft lab tree. Restoring needs
    only the lab's directory: a tree that lost its build must still get its files back."""
    if not root.exists():
        raise DslabsError(f"{root} does not exist; DSLABS must be a dslabs-cpp checkout "
                          f"(git clone -b raft-f23-patch https://github.com/seojinpark/dslabs-cpp)")
    if not root.is_dir():
        raise DslabsError(f"{root} is not a directory; DSLABS must be a dslabs-cpp checkout")
    if (root / "src" / "protocol" / "raft").is_dir():
        raise DslabsError(f"{root} is the newer src/protocol/ edition of dslabs-cpp (C++ RPC layer rewrite, Rust "
                          f"bridge); raftcore hosts the src/deptran/ edition: seojinpark/dslabs-cpp raft-f23-patch")
    raft = root / RAFT_DIR
    if not raft.is_dir():
        near = [d for d in (*root.parents, *(c for c in root.iterdir() if c.is_dir())) if (d / RAFT_DIR).is_dir()]
        hint = f" (did you mean DSLABS={near[0]}?)" if near else ""
        raise DslabsError(f"{root} is not a dslabs-cpp Raft lab tree: it has no {RAFT_DIR}/{hint}")
    if for_restore:
        return Tree(root)
    missing = [n for n in (*STUDENT_FILES, *FRAMEWORK_FILES) if not (raft / n).is_file()]
    if missing or not (root / "wscript").is_file() or not (root / "waf").is_file():
        what = ", ".join(missing) if missing else "wscript or waf"
        raise DslabsError(f"{root} is not the dslabs-cpp Raft lab (missing {what}); "
                          f"use a checkout of seojinpark/dslabs-cpp, branch raft-f23-patch")
    rpc_server = root / "src" / "rrr" / "rpc" / "server.cpp"
    if rpc_server.is_file() and re.search(r"\bRefCell\b|\brusty::", rpc_server.read_text(errors="replace")):
        raise DslabsError(f"{root} has the 2024 rewrite of the RPC layer ({rpc_server.relative_to(root)}), which "
                          f"aborts at start-up before any Raft code runs; use seojinpark/dslabs-cpp raft-f23-patch")
    if not (root / CONFIG).is_file():
        raise DslabsError(f"{root} has no {CONFIG}: not the Raft lab branch (seojinpark/dslabs-cpp raft-f23-patch)")
    cache = root / WAF_CACHE
    if not cache.is_file():
        raise DslabsError(f"{root} is not configured: run `python3 waf configure --enable-raft-test` in it, then "
                          f"`python3 waf build -j2` once")
    if "RAFT_TEST_CORO" not in cache.read_text(errors="replace"):
        raise DslabsError(f"{root} was configured without the lab's tests: run `python3 waf configure "
                          f"--enable-raft-test` in it again, then `python3 waf build -j2`")
    if not (root / PROGRAM).is_file():
        raise DslabsError(f"{root} is configured but not built: run `python3 waf build -j2` in it once (about 7 "
                          f"minutes on 2 cores) with your own files, then run this again")
    return Tree(root)


def check_not_installed(tree: Tree):
    if tree.manifest.exists() or tree.backups():
        raise DslabsError(f"{tree.raft} holds a copy of your files from an interrupted run "
                          f"({(tree.manifest if tree.manifest.exists() else tree.backups()[0]).name}); the adapter "
                          f"may still be installed. Put your files back with `make dslabs-restore DSLABS={tree.root}`")
    head = (tree.raft / "server.h").read_text(errors="replace")[:2000]
    if ADAPTER_MARK in head:
        raise DslabsError(f"{tree.raft / 'server.h'} is already raftcore's adapter and no copy of your own file is "
                          f"beside it; restore yours (e.g. `git checkout {RAFT_DIR}` in {tree.root}) and run again")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def install(tree: Tree):
    """Puts the adapter in place. The manifest is written first, so that an interruption at any point leaves
    enough behind for restore() to undo it."""
    check_not_installed(tree)
    replaced = list(STUDENT_FILES) + [GENERATED] + [h.name for h in HEADERS]
    plan = {"backed_up": [n for n in replaced if (tree.raft / n).exists()],
            "added": [n for n in replaced if not (tree.raft / n).exists() and n != GENERATED],
            "digests": {n: digest(tree.raft / n) for n in replaced if (tree.raft / n).exists()}}
    tree.manifest.write_text(json.dumps(plan, indent=1) + "\n")
    for name in plan["backed_up"]:
        # Copied under a temporary name, then renamed: a backup is complete or absent, never half a file that
        # restore() would put over the user's.
        partial = tree.raft / (backup_name(name) + ".partial")
        shutil.copy2(tree.raft / name, partial)
        os.replace(partial, tree.raft / backup_name(name))
    (tree.raft / GENERATED).unlink(missing_ok=True)
    for name in STUDENT_FILES:
        shutil.copyfile(ADAPTER / name, tree.raft / name)
    for header in HEADERS:
        shutil.copyfile(header, tree.raft / header.name)


def restore(tree: Tree):
    """Puts the user's files back and removes the ones the run added; returns the names of both. The files put
    back are checked against the digests taken before the run."""
    plan = json.loads(tree.manifest.read_text()) if tree.manifest.exists() else {}
    restored = []
    for backup in tree.backups():
        name = backup.name[1:-len(".raftcore-orig")]
        os.replace(backup, tree.raft / name)
        restored.append(name)
    removed = [n for n in plan.get("added", []) if (tree.raft / n).exists()]
    for name in removed:
        (tree.raft / name).unlink()
    for partial in tree.raft.glob(".*.raftcore-orig.partial"):
        partial.unlink()
    if plan and GENERATED not in plan.get("backed_up", []):
        # The user had none: the one generated from our .rpc must not outlive the run.
        (tree.raft / GENERATED).unlink(missing_ok=True)
    changed = [n for n, d in plan.get("digests", {}).items() if not (tree.raft / n).exists()
               or digest(tree.raft / n) != d]
    if tree.manifest.exists():
        tree.manifest.unlink()
    if changed:
        raise DslabsError(f"restored {', '.join(changed)} in {tree.raft} differ from what was there before the run")
    return restored, removed


def restore_undisturbed(tree: Tree):
    """restore(), with Ctrl-C and SIGTERM held off until it is done: a second Ctrl-C must not leave half a tree."""
    held = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        restore(tree)
    finally:
        for s, handler in held.items():
            signal.signal(s, handler)


def runs_python2(exe) -> bool:
    if not exe:
        return False
    try:
        out = subprocess.run([exe, "-c", "import sys; print(sys.version_info[0])"], capture_output=True, text=True,
                             timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0 and out.stdout.strip() == "2"


def pyenv_pythons2():
    """Python 2.7 interpreters of a pyenv installation, newest first."""
    roots = []
    if shutil.which("pyenv"):
        out = subprocess.run(["pyenv", "root"], capture_output=True, text=True)
        if out.returncode == 0 and out.stdout.strip():
            roots.append(Path(out.stdout.strip()))
    roots.append(Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")))
    found = []
    for root in roots:
        found.extend(sorted((root / "versions").glob("2.7*/bin/python2.7"), reverse=True))
    return found


def python2_path(tree: Tree, env: dict, scratch: Path):
    """Makes `python2` on the child's PATH run Python 2 when the tree's RPC generator asks for it (its #! line):
    as it is, or by putting a pyenv 2.7 first on PATH through a scratch directory."""
    rpcgen = tree.root / "bin" / "rpcgen"
    first = rpcgen.read_text(errors="replace").splitlines()[:1] if rpcgen.is_file() else []
    if not first or "python2" not in first[0]:
        return
    if runs_python2(shutil.which("python2", path=env.get("PATH"))):
        return
    for candidate in pyenv_pythons2():
        if runs_python2(str(candidate)):
            bindir = scratch / "bin"
            bindir.mkdir(exist_ok=True)
            (bindir / "python2").symlink_to(candidate)
            env["PATH"] = f"{bindir}{os.pathsep}{env.get('PATH', '')}"
            print(f"== dslabs: python2 for bin/rpcgen: {candidate}", flush=True)
            return
    raise DslabsError("the framework's RPC generator (bin/rpcgen) needs Python 2 as `python2` on PATH, and there is "
                      "none (Debian 12 has no python2 package): install one, e.g. `pyenv install 2.7.18`, and put "
                      "it on PATH as python2")


def ports(tree: Tree):
    return [int(p) for p in re.findall(r":(\d{2,5})\b", (tree.root / CONFIG).read_text(errors="replace"))]


def check_ports(tree: Tree):
    """The program binds fixed ports: a second run (or a program left running) would fail obscurely."""
    for port in ports(tree):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("0.0.0.0", port))
            except OSError:
                raise DslabsError(f"port {port} (from {CONFIG}) is in use: is another deptran_server running? "
                                  f"(`pgrep -a deptran_server`); the lab's servers bind fixed ports, one run at a time")


def check_generated(tree: Tree):
    """The build regenerates raft_rpc.h from our .rpc; it ignores a failing generator, so check the result."""
    header = tree.raft / GENERATED
    names = re.findall(r"\bdefer\s+(\w+)\s*\(", (ADAPTER / "raft_rpc.rpc").read_text())
    text = header.read_text(errors="replace") if header.is_file() else ""
    if not text or any(f"async_{n}(" not in text for n in names):
        raise DslabsError(f"the build did not generate {RAFT_DIR / GENERATED} from the adapter's raft_rpc.rpc "
                          f"(bin/rpcgen failed: is `python2` on PATH?)")


def run_build(tree: Tree, env: dict, log):
    print(f"== dslabs: {' '.join(BUILD_COMMAND)}  (in {tree.root})", flush=True)
    p = subprocess.Popen(BUILD_COMMAND, cwd=tree.root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True, errors="replace", start_new_session=True)
    try:
        for line in p.stdout:
            sys.stdout.write(line)
            log.write(line)
        status = p.wait()
    except BaseException:
        lab.stop_group(p)
        raise
    if status != 0:
        raise DslabsError(f"`{' '.join(BUILD_COMMAND)}` failed in {tree.root} with the adapter installed (output "
                          f"above); your files are restored")
    check_generated(tree)


@dataclass
class Outcome:
    tests: dict = field(default_factory=dict)  # number -> {"name", "result", "seconds", "message"}
    verdict: str = ""  # ALL_PASSED, SOME_FAILED, or "" if the program never said
    total_rpcs: int = None
    ended: str = ""  # why the program stopped, when not after its verdict


def parse_line(line: str, now: float, out: Outcome, started: dict):
    """Folds one line of the program's output into out; started maps a test number to its start time."""
    m = TEST_START.match(line)
    if m:
        n = int(m.group(1))
        started[n] = now
        out.tests[n] = {"name": m.group(2), "result": "RUN", "seconds": None, "message": ""}
        return
    m = TEST_PASSED.match(line) or TEST_FAILED.match(line)
    if m:
        n = int(m.group(1))
        row = out.tests.setdefault(n, {"name": "", "result": "", "seconds": None, "message": ""})
        row["result"] = "PASS" if line.endswith("Passed") else "FAIL"
        row["message"] = m.group(2) if row["result"] == "FAIL" else ""
        if n in started:
            row["seconds"] = now - started[n]
        return
    m = TOTAL_RPCS.match(line)
    if m:
        out.total_rpcs = int(m.group(1))
    elif line == ALL_PASSED or line == SOME_FAILED:
        out.verdict = line


def run_tests(tree: Tree, env: dict, log, timeout: float) -> Outcome:
    """Runs the lab's test program, streaming its output, and stops it after its verdict or the timeout."""
    cmd = [str(tree.root / PROGRAM), "-f", str(CONFIG)]
    print(f"== dslabs: {PROGRAM} -f {CONFIG}  (in {tree.root}, RAFTCORE_LIBRARY={env['RAFTCORE_LIBRARY']})",
          flush=True)
    p = subprocess.Popen(cmd, cwd=tree.root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         errors="replace", start_new_session=True)
    lines = queue.Queue()

    def reader():
        for line in p.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=reader, daemon=True).start()
    out, started = Outcome(), {}
    deadline = time.monotonic() + timeout
    try:
        while True:
            now = time.monotonic()
            if out.verdict == ALL_PASSED and out.total_rpcs is not None or out.verdict == SOME_FAILED:
                break
            if now >= deadline:
                out.ended = (f"no verdict after {timeout:.0f} s" if not out.verdict
                             else f"no RPC total within {VERDICT_GRACE} s of the verdict")
                break
            try:
                line = lines.get(timeout=min(1.0, deadline - now))
            except queue.Empty:
                continue
            if line is None:
                status = p.wait()
                if not out.verdict or out.total_rpcs is None:
                    out.ended = f"{PROGRAM.name} exited with status {status} before the tests finished"
                break
            sys.stdout.write(line)
            log.write(line)
            parse_line(line.rstrip("\n"), time.monotonic(), out, started)
            if out.verdict == ALL_PASSED and out.total_rpcs is None:
                deadline = min(deadline, time.monotonic() + VERDICT_GRACE)
    finally:
        # The program never exits by itself after its verdict (it keeps spinning); stop it and its threads.
        lab.stop_group(p)
    return out


def report(out: Outcome) -> int:
    """Prints the per-test table and totals; returns the exit status of the run."""
    print()
    print(f"{'test':>4}  {'':<50}  result  seconds")
    total = 0.0
    passed = 0
    for n in range(1, TESTS + 1):
        row = out.tests.get(n)
        if row is None:
            print(f"{n:>4}  {'(not run)':<50}  -")
            continue
        seconds = row["seconds"]
        total += seconds or 0.0
        passed += row["result"] == "PASS"
        shown = f"{seconds:7.1f}" if seconds is not None else "      -"
        print(f"{n:>4}  {row['name'][:50]:<50}  {row['result']:<6}  {shown}"
              + (f"  {row['message']}" if row["message"] else ""))
    rpcs = f"{out.total_rpcs} RPCs (handout {HANDOUT_RPCS})" if out.total_rpcs is not None else "RPC total not printed"
    print(f"total  {passed}/{TESTS} passed  {total:.1f}s  {rpcs}")
    if out.ended:
        print(f"dslabs: {out.ended}", file=sys.stderr)
    ok = out.verdict == ALL_PASSED and passed == TESTS and not out.ended
    return 0 if ok else 1


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tree", default="", help="the dslabs-cpp checkout (DSLABS)")
    ap.add_argument("--library", default=str(ROOT / "target" / "release" / "libraftcore.so"),
                    help="libraftcore.so, handed to the program as RAFTCORE_LIBRARY")
    ap.add_argument("--timeout", type=float, default=RUN_TIMEOUT, help="seconds before a run is stopped")
    ap.add_argument("--restore", action="store_true", help="only put back the files an interrupted run left")
    args = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, lab.on_signal)
    # As in make lab: a run started in the background inherits SIGINT ignored and must still restore when sent one.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    scratch = Path(tempfile.mkdtemp(prefix="raftcore-dslabs."))
    log_path = scratch / "run.log"
    try:
        if not args.tree:
            raise DslabsError("DSLABS is not set: DSLABS=/path/to/dslabs-cpp")
        tree = detect(Path(args.tree).expanduser().absolute(), for_restore=args.restore)
        if args.restore:
            restored, removed = restore(tree)
            done = []
            if restored:
                done.append(f"restored {', '.join(restored)}")
            if removed:
                done.append(f"removed {', '.join(removed)}")
            print(f"dslabs: {'; '.join(done) or 'nothing to restore'} in {tree.raft}")
            return 0
        library = Path(args.library).absolute()
        if not library.is_file():
            raise DslabsError(f"{library} does not exist: run `make build` in {ROOT}")
        check_not_installed(tree)
        check_ports(tree)
        env = dict(os.environ)
        python2_path(tree, env, scratch)
        env["RAFTCORE_LIBRARY"] = str(library)
        with open(log_path, "w") as log:
            install(tree)
            try:
                print(f"== dslabs: adapter installed in {tree.raft} (your files wait beside it as "
                      f".<name>.raftcore-orig)", flush=True)
                run_build(tree, env, log)
                check_ports(tree)
                out = run_tests(tree, env, log, args.timeout)
            finally:
                restore_undisturbed(tree)
                print(f"== dslabs: your files are back in {tree.raft}", flush=True)
    except DslabsError as e:
        if not log_path.exists():
            shutil.rmtree(scratch, ignore_errors=True)  # refused before anything ran: no log to keep
        print(f"dslabs: {e}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, lab.Interrupted):
        print("\ndslabs: interrupted; the tree is restored", file=sys.stderr)
        return 130
    print(f"== dslabs: results (log in {log_path})")
    return report(out)


if __name__ == "__main__":
    sys.exit(main())
