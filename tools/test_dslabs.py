"""Tests of tools/dslabs.py (make dslabs) on fake dslabs-cpp trees: the refusals, the restore logic, and whole
runs against stand-ins for the framework's build and test program, each leaving the tree byte for byte as it was.

A fake tree has the real framework's layout and file names, but every file is our own stand-in: `waf` regenerates
raft_rpc.h from raft_rpc.rpc when it is missing (needing `python2`, as the real RPC generator does), and
build/deptran_server prints the lab's 11 test lines in the real program's format, then never exits, as the real
one does. Neither needs the framework, a compiler or the library.
"""
import hashlib
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import dslabs  # noqa: E402

TOOL = [sys.executable, str(Path(dslabs.__file__).resolve())]
TEST_NAMES = ["Initial election", "Re-election after network failure", "Basic agreement",
              "Agreement despite follower disconnection", "No agreement if too many followers disconnect",
              "Rejoin of disconnected leader", "Concurrently started agreements",
              "Leader backs up quickly over incorrect follower logs", "RPC counts aren't too high",
              "Unreliable agreement (takes a few minutes)", "Figure 8"]

FAKE_WAF = r'''#!/usr/bin/env python3
# Stand-in for the framework's waf: `build` regenerates raft_rpc.h from raft_rpc.rpc when it is missing, through
# python2 as bin/rpcgen does, and ignores a failing generator as the real build script does.
import os, re, subprocess, sys
assert sys.argv[1:] == ["build", "-j2"], sys.argv
if os.environ.get("FAKE_WAF_FAIL"):
    print("src/deptran/raft/server.cc:1:1: error: stand-in compile error")
    sys.exit(1)
raft = "src/deptran/raft"
if not os.path.exists(f"{raft}/raft_rpc.h"):
    try:
        ok = subprocess.run(["python2", "-c", "pass"]).returncode == 0
    except OSError:
        ok = False
    if ok:
        names = re.findall(r"defer\s+(\w+)\s*\(", open(f"{raft}/raft_rpc.rpc").read())
        with open(f"{raft}/raft_rpc.h", "w") as f:
            f.write("".join(f"async_{n}(\n" for n in names))
with open("build/fake-waf.log", "a") as log:
    log.write("built\n")
print("'build' finished successfully")
'''

FAKE_SERVER = r'''#!/usr/bin/env python3
# Stand-in for build/deptran_server: prints the lab's test lines for FAKE_DSLABS_MODE, then spins forever.
import os, sys, time
names = NAMES
os.makedirs("build", exist_ok=True)
with open("build/fake-server.pid", "w") as f:
    f.write(str(os.getpid()))
mode = os.environ.get("FAKE_DSLABS_MODE", "pass")
lib = os.environ.get("RAFTCORE_LIBRARY", "")
header = open("src/deptran/raft/server.h").read()
generated = open("src/deptran/raft/raft_rpc.h").read() if os.path.exists("src/deptran/raft/raft_rpc.h") else ""
def say(line):
    sys.stderr.write(line + "\n")
    sys.stderr.flush()
problem = ("RAFTCORE_LIBRARY unset" if not lib or not os.path.isfile(lib) else
           "adapter not installed" if "raftcore adapter" not in header else
           "raft_rpc.h not regenerated" if "async_InstallSnapshot(" not in generated else "")
if mode == "crash":
    say("TEST 1: " + names[0])
    os._exit(134)
for n, name in enumerate(names, 1):
    say(f"TEST {n}: {name}")
    if mode == "hang":
        break
    time.sleep(0.01)
    if problem or (mode == "fail" and n == 3):
        say(f"TEST {n} Failed: {problem or 'agreement index incorrect. got 2, expected 3'}")
        say("TESTS FAILED")
        break
    say(f"TEST {n} Passed")
else:
    say("ALL TESTS PASSED")
    say("Total RPC count: 4242")
while True:
    time.sleep(0.05)
'''.replace("NAMES", repr(TEST_NAMES))

STUDENT_FILES = {
    "server.h": "#pragma once\n// A student's RaftServer (stand-in).\n",
    "server.cc": "// A student's RaftServer (stand-in).\n",
    "commo.h": "#pragma once\n// A student's RaftCommo (stand-in).\n",
    "commo.cc": "// A student's RaftCommo (stand-in).\n",
    "service.h": "#pragma once\n// A student's RaftServiceImpl (stand-in).\n",
    "service.cc": "// A student's RaftServiceImpl (stand-in).\n",
    "raft_rpc.rpc": "namespace janus;\n\nabstract service Raft {\n  defer Student(string a | string b);\n}\n",
}
FRAMEWORK_FILES = {
    "test.cc": "// the lab's tests (stand-in)\n", "testconf.cc": "// the lab's test harness (stand-in)\n",
    "frame.cc": "// the lab's frame (stand-in)\n", "macros.h": "// the lab's RPC macros (stand-in)\n",
}


def free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def make_tree(root: Path, generated=True) -> Path:
    """A fake dslabs-cpp checkout at root, configured with the lab's tests and built."""
    raft = root / "src" / "deptran" / "raft"
    raft.mkdir(parents=True)
    for name, text in {**STUDENT_FILES, **FRAMEWORK_FILES}.items():
        (raft / name).write_text(text)
    if generated:
        (raft / "raft_rpc.h").write_text("async_Student(\n")
        # The generated header is newer than the .rpc, as after the user's own build.
        os.utime(raft / "raft_rpc.rpc", (time.time() - 100, time.time() - 100))
    (root / "src" / "rrr" / "rpc").mkdir(parents=True)
    (root / "src" / "rrr" / "rpc" / "server.cpp").write_text("// the RPC layer (stand-in)\n")
    (root / "bin").mkdir()
    (root / "bin" / "rpcgen").write_text("#!/usr/bin/env python2\n# the RPC generator (stand-in)\n")
    (root / "wscript").write_text("# the build script (stand-in)\n")
    (root / "waf").write_text(FAKE_WAF)
    (root / "config").mkdir()
    sites = ", ".join(f'"s{101 + i}:{p}"' for i, p in enumerate(free_ports(5)))
    (root / "config" / "raft_lab_test.yml").write_text(f"site:\n  server:\n    - [{sites}]\n")
    (root / "build" / "c4che").mkdir(parents=True)
    (root / "build" / "c4che" / "_cache.py").write_text("CXXFLAGS = ['-std=c++14', '-DRAFT_TEST_CORO']\n")
    program = root / "build" / "deptran_server"
    program.write_text(FAKE_SERVER)
    program.chmod(0o755)
    return root


def digest(root: Path) -> str:
    """Every file outside build/ (the build outputs), with its bytes."""
    h = hashlib.sha256()
    for f in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = f.relative_to(root).as_posix()
        if rel.startswith("build/"):
            continue
        h.update(rel.encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()


class Fixture:
    """A fake tree, a stand-in library, and a PATH holding only python3 and a python2 that answers 2."""

    def __init__(self, generated=True, python2=True):
        self.tmp = tempfile.TemporaryDirectory(prefix="dslabs-")
        base = Path(self.tmp.name)
        self.root = make_tree(base / "dslabs-cpp", generated)
        self.raft = self.root / "src" / "deptran" / "raft"
        self.library = base / "libraftcore.so"
        self.library.write_text("stand-in\n")
        self.bin = base / "bin"
        self.bin.mkdir()
        (self.bin / "python3").symlink_to(sys.executable)
        if python2:
            fake = self.bin / "python2"
            fake.write_text("#!/bin/sh\necho 2\n")
            fake.chmod(0o755)
        self.pyenv = base / "pyenv"
        self.pyenv.mkdir()
        self.before = digest(self.root)

    def env(self, **extra):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("FAKE_", "PYENV"))}
        env.update(PATH=str(self.bin), PYENV_ROOT=str(self.pyenv), HOME=str(self.pyenv), **extra)
        return env

    def args(self, *extra):
        return [*TOOL, "--tree", str(self.root), "--library", str(self.library), *extra]

    def run(self, *extra, **env):
        return subprocess.run(self.args(*extra), capture_output=True, text=True, timeout=120, env=self.env(**env))

    def unchanged(self) -> bool:
        return digest(self.root) == self.before

    def server_gone(self) -> bool:
        pid_file = self.root / "build" / "fake-server.pid"
        if not pid_file.exists():
            return True
        pid = int(pid_file.read_text())
        for _ in range(50):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return True
            time.sleep(0.1)
        return False

    def close(self):
        self.tmp.cleanup()


class Refusals(unittest.TestCase):
    def setUp(self):
        self.fx = Fixture()

    def tearDown(self):
        self.fx.close()

    def refused(self, path, *words):
        with self.assertRaises(dslabs.DslabsError) as cm:
            dslabs.detect(Path(path))
        for w in words:
            self.assertIn(w, str(cm.exception))

    def test_missing_path(self):
        self.refused("/nonexistent/dslabs-cpp", "does not exist", "raft-f23-patch")

    def test_file_instead_of_directory(self):
        self.refused(self.fx.root / "wscript", "not a directory")

    def test_parent_directory_is_pointed_at_the_tree(self):
        self.refused(self.fx.root.parent, "not a dslabs-cpp Raft lab tree", f"DSLABS={self.fx.root}")

    def test_subdirectory_is_pointed_at_the_tree(self):
        self.refused(self.fx.root / "src", "not a dslabs-cpp Raft lab tree", f"DSLABS={self.fx.root}?")

    def test_other_branch_without_a_student_file(self):
        (self.fx.raft / "testconf.cc").unlink()
        self.refused(self.fx.root, "missing testconf.cc", "raft-f23-patch")

    def test_protocol_edition(self):
        (self.fx.root / "src" / "protocol" / "raft").mkdir(parents=True)
        self.refused(self.fx.root, "src/protocol/", "raft-f23-patch")

    def test_rewritten_rpc_layer(self):
        (self.fx.root / "src" / "rrr" / "rpc" / "server.cpp").write_text("RefCell<Marshal> in;\n")
        self.refused(self.fx.root, "aborts at start-up")

    def test_not_configured(self):
        (self.fx.root / "build" / "c4che" / "_cache.py").unlink()
        self.refused(self.fx.root, "not configured", "python3 waf configure --enable-raft-test")

    def test_configured_without_the_tests(self):
        (self.fx.root / "build" / "c4che" / "_cache.py").write_text("CXXFLAGS = ['-std=c++14']\n")
        self.refused(self.fx.root, "without the lab's tests", "--enable-raft-test")

    def test_not_built(self):
        (self.fx.root / "build" / "deptran_server").unlink()
        self.refused(self.fx.root, "not built", "python3 waf build -j2")

    def test_detects_the_tree(self):
        self.assertEqual(dslabs.detect(self.fx.root).raft, self.fx.raft)

    def test_missing_library(self):
        self.fx.library.unlink()
        proc = self.fx.run()
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("make build", proc.stderr)
        self.assertTrue(self.fx.unchanged())

    def test_no_python2_anywhere(self):
        (self.fx.bin / "python2").unlink()
        proc = self.fx.run()
        self.assertEqual(proc.returncode, 2, proc.stdout + proc.stderr)
        self.assertIn("needs Python 2", proc.stderr)
        self.assertIn("pyenv install 2.7.18", proc.stderr)
        self.assertTrue(self.fx.unchanged())

    def test_port_in_use(self):
        port = dslabs.ports(dslabs.detect(self.fx.root))[2]
        with socket.socket() as s:
            s.bind(("0.0.0.0", port))
            s.listen()
            proc = self.fx.run()
        self.assertEqual(proc.returncode, 2, proc.stdout + proc.stderr)
        self.assertIn(f"port {port}", proc.stderr)
        self.assertIn("pgrep -a deptran_server", proc.stderr)
        self.assertTrue(self.fx.unchanged())

    def test_adapter_installed_without_backups(self):
        (self.fx.raft / "server.h").write_text((dslabs.ADAPTER / "server.h").read_text())
        proc = self.fx.run()
        self.assertEqual(proc.returncode, 2)
        self.assertIn("already raftcore's adapter", proc.stderr)


class Restore(unittest.TestCase):
    def setUp(self):
        self.fx = Fixture()

    def tearDown(self):
        self.fx.close()

    def test_install_then_restore_is_byte_for_byte(self):
        tree = dslabs.detect(self.fx.root)
        dslabs.install(tree)
        self.assertIn(dslabs.ADAPTER_MARK, (self.fx.raft / "server.h").read_text())
        self.assertTrue((self.fx.raft / "raftcore.h").exists())
        self.assertEqual((self.fx.raft / "raftcore.hpp").read_bytes(),
                         (dslabs.ROOT / "include" / "raftcore.hpp").read_bytes(),
                         "the C++ header the adapter uses is installed beside it")
        self.assertFalse((self.fx.raft / "raft_rpc.h").exists(), "the generated header must be regenerated")
        self.assertTrue((self.fx.raft / ".server.h.raftcore-orig").exists())
        restored, removed = dslabs.restore(tree)
        self.assertIn("server.h", restored)
        self.assertEqual(removed, ["raftcore.h", "raftcore.hpp", "raftcore_host.h"])
        self.assertTrue(self.fx.unchanged())
        self.assertFalse((self.fx.raft / dslabs.MANIFEST).exists())
        self.assertEqual(list(self.fx.raft.glob(".*raftcore-orig")), [])

    def test_restore_keeps_timestamps_so_the_next_build_is_consistent(self):
        tree = dslabs.detect(self.fx.root)
        before = {n: (self.fx.raft / n).stat().st_mtime for n in ("raft_rpc.rpc", "raft_rpc.h")}
        dslabs.install(tree)
        dslabs.restore(tree)
        after = {n: (self.fx.raft / n).stat().st_mtime for n in before}
        self.assertEqual(before, after)

    def test_leftover_install_is_refused_then_restored(self):
        dslabs.install(dslabs.detect(self.fx.root))
        proc = self.fx.run()
        self.assertEqual(proc.returncode, 2)
        self.assertIn(f"make dslabs-restore DSLABS={self.fx.root}", proc.stderr)
        proc = self.fx.run("--restore")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("restored", proc.stdout)
        self.assertTrue(self.fx.unchanged())

    def test_restore_needs_no_build(self):
        dslabs.install(dslabs.detect(self.fx.root))
        dslabs.shutil.rmtree(self.fx.root / "build")
        proc = self.fx.run("--restore")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertTrue(self.fx.unchanged())

    def test_a_lone_backup_is_refused_too(self):
        (self.fx.raft / ".service.cc.raftcore-orig").write_text("// left over\n")
        with self.assertRaises(dslabs.DslabsError) as cm:
            dslabs.check_not_installed(dslabs.detect(self.fx.root))
        self.assertIn("dslabs-restore", str(cm.exception))

    def test_restore_with_nothing_to_restore(self):
        proc = self.fx.run("--restore")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("nothing to restore", proc.stdout)
        self.assertTrue(self.fx.unchanged())

    def test_interrupted_install_is_undone(self):
        # As if killed after the manifest and the first backups, before any file was replaced.
        tree = dslabs.detect(self.fx.root)
        original = dslabs.shutil.copyfile

        def dies_on_first_replace(src, dst, *a, **kw):
            if Path(dst).name.startswith("."):
                return original(src, dst, *a, **kw)  # a backup (copy2 copies through copyfile)
            raise KeyboardInterrupt

        dslabs.shutil.copyfile = dies_on_first_replace
        try:
            with self.assertRaises(KeyboardInterrupt):
                dslabs.install(tree)
        finally:
            dslabs.shutil.copyfile = original
        self.assertTrue((self.fx.raft / dslabs.MANIFEST).exists())
        dslabs.restore(tree)
        self.assertTrue(self.fx.unchanged())

    def test_tree_without_a_generated_header_gets_none_back(self):
        fx = Fixture(generated=False)
        try:
            proc = fx.run()
            self.assertEqual(proc.returncode, 0, proc.stdout[-2000:] + proc.stderr)
            self.assertFalse((fx.raft / "raft_rpc.h").exists())
            self.assertTrue(fx.unchanged())
        finally:
            fx.close()


class Runs(unittest.TestCase):
    def setUp(self):
        self.fx = Fixture()

    def tearDown(self):
        self.fx.close()

    def test_passing_run(self):
        proc = self.fx.run()
        self.assertEqual(proc.returncode, 0, proc.stdout[-3000:] + proc.stderr)
        rows = [l for l in proc.stdout.splitlines() if re.match(r"^ +\d+  \S", l)]
        self.assertEqual(len(rows), 11)
        self.assertTrue(all(" PASS " in r for r in rows), rows)
        self.assertIn("total  11/11 passed", proc.stdout)
        self.assertIn("4242 RPCs (handout 6609)", proc.stdout)
        self.assertIn("python3 waf build -j2", proc.stdout)
        self.assertTrue(self.fx.unchanged())
        self.assertTrue(self.fx.server_gone(), "the test program was left running")

    def test_failing_test(self):
        proc = self.fx.run(FAKE_DSLABS_MODE="fail")
        self.assertEqual(proc.returncode, 1, proc.stdout[-3000:] + proc.stderr)
        self.assertRegex(proc.stdout, r"3  Basic agreement\s+FAIL .*agreement index incorrect")
        self.assertIn("total  2/11 passed", proc.stdout)
        self.assertTrue(self.fx.unchanged())
        self.assertTrue(self.fx.server_gone())

    def test_failing_build(self):
        proc = self.fx.run(FAKE_WAF_FAIL="1")
        self.assertEqual(proc.returncode, 2, proc.stdout[-3000:] + proc.stderr)
        self.assertIn("failed", proc.stderr)
        self.assertIn("stand-in compile error", proc.stdout)
        self.assertTrue(self.fx.unchanged())

    def test_rpc_generator_that_fails_quietly(self):
        # The real build ignores a failing bin/rpcgen; the run must not then test a stale header.
        (self.fx.bin / "python2").write_text("#!/bin/sh\n[ \"$1\" = -c ] && [ \"$2\" = pass ] && exit 1\necho 2\n")
        proc = self.fx.run()
        self.assertEqual(proc.returncode, 2, proc.stdout[-3000:] + proc.stderr)
        self.assertIn("did not generate", proc.stderr)
        self.assertTrue(self.fx.unchanged())

    def test_python2_from_pyenv(self):
        (self.fx.bin / "python2").unlink()
        python = self.fx.pyenv / "versions" / "2.7.18" / "bin" / "python2.7"
        python.parent.mkdir(parents=True)
        python.write_text("#!/bin/sh\necho 2\n")
        python.chmod(0o755)
        proc = self.fx.run()
        self.assertEqual(proc.returncode, 0, proc.stdout[-3000:] + proc.stderr)
        self.assertIn(f"python2 for bin/rpcgen: {python}", proc.stdout)
        self.assertTrue(self.fx.unchanged())

    def test_crash(self):
        proc = self.fx.run(FAKE_DSLABS_MODE="crash")
        self.assertEqual(proc.returncode, 1)
        self.assertIn("exited with status 134 before the tests finished", proc.stderr)
        self.assertTrue(self.fx.unchanged())

    def test_timeout_stops_the_program(self):
        proc = self.fx.run("--timeout", "2", FAKE_DSLABS_MODE="hang")
        self.assertEqual(proc.returncode, 1, proc.stdout[-3000:] + proc.stderr)
        self.assertIn("no verdict after 2 s", proc.stderr)
        self.assertTrue(self.fx.unchanged())
        self.assertTrue(self.fx.server_gone())

    def test_sigterm_restores(self):
        p = subprocess.Popen(self.fx.args(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=self.fx.env(FAKE_DSLABS_MODE="hang"))
        try:
            for line in p.stdout:
                if line.startswith("TEST 1:"):
                    break
            p.send_signal(signal.SIGTERM)
            _, err = p.communicate(timeout=60)
        finally:
            if p.poll() is None:
                p.kill()
        self.assertEqual(p.returncode, 130, err)
        self.assertIn("interrupted; the tree is restored", err)
        self.assertTrue(self.fx.unchanged())
        self.assertTrue(self.fx.server_gone())


class Parsing(unittest.TestCase):
    def test_times_come_from_the_lines(self):
        out, started = dslabs.Outcome(), {}
        for now, line in ((10.0, "TEST 1: Initial election"), (15.5, "TEST 1 Passed"), (15.5, "TEST 2: Re-election"),
                          (16.0, "TEST 2 Failed: waited too long for leader election"), (16.0, "TESTS FAILED")):
            dslabs.parse_line(line, now, out, started)
        self.assertEqual(out.tests[1]["seconds"], 5.5)
        self.assertEqual((out.tests[2]["result"], out.tests[2]["message"]),
                         ("FAIL", "waited too long for leader election"))
        self.assertEqual((out.verdict, out.total_rpcs), ("TESTS FAILED", None))

    def test_log_lines_are_ignored(self):
        out, started = dslabs.Outcome(), {}
        dslabs.parse_line("I [../src/deptran/raft/frame.cc:143] 2026-12-02 04:27:32.839 | raft_test_coro_ id=12",
                          1.0, out, started)
        self.assertEqual((out.tests, out.verdict), ({}, ""))


if __name__ == "__main__":
    unittest.main()
