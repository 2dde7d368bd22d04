"""The README's commands from a checkout whose path has spaces, `+`, `@` and a non-ASCII letter, and the one-line
refusals of the paths the toolchain cannot carry.

The checkout under test is a copy of this one's files as they are now (tracked and not ignored), so that what is
tested is the working tree, not the last commit. Its build goes into this checkout's target directory through a
link whose name has a space too (CARGO_TARGET_DIR, which the Makefile honours): the dependencies are reused, only
raftcore itself is compiled again, from the same sources, so the library left there is the same code.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import labfixture  # noqa: E402
from test_lab import digest  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
QUICK = "TestBasicAgree3B"
# What make and the Makefile would otherwise take from the suite's own environment (a parent make's flags, the
# parent checkout's pkg-config path and build digest): the copy must build and link through its own.
INHERITED = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "PKG_CONFIG_PATH", "CGO_CPPFLAGS", "CARGO_TARGET_DIR")


def working_tree_files():
    out = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                         capture_output=True, check=True).stdout
    return [f for f in out.decode().split("\0") if f and (ROOT / f).is_file()]


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in INHERITED}
    env.update(extra)
    return env


class SpacedCheckout(unittest.TestCase):
    def setUp(self):
        if not (ROOT / ".git").exists():
            self.skipTest(f"{ROOT} is not a git checkout; the copy is made from git's list of its files")
        self.base = Path(tempfile.mkdtemp(prefix="raftcore paths "))
        self.addCleanup(shutil.rmtree, self.base)

    def test_make_lab_from_a_checkout_under_a_path_with_spaces(self):
        checkout = self.base / "My Labs+@é" / "raftcore"
        for f in working_tree_files():
            (checkout / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / f, checkout / f)
        target = self.base / "shared target é"
        target.symlink_to(Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target").absolute())
        env = clean_env(CARGO_TARGET_DIR=str(target))

        def make_lab(*args):
            proc = subprocess.run(["make", "--no-print-directory", "lab", f"RUN={QUICK}", *args], cwd=checkout,
                                  env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=1200)
            self.assertEqual(proc.returncode, 0, proc.stdout[-4000:] + proc.stderr[-4000:])
            self.assertRegex(proc.stdout, rf"{QUICK}\s+PASS")
            self.assertIn("1/1 passed", proc.stdout)
            return proc

        make_lab()
        # The shim linked through the copy's raftcore.pc, whose library directory (and so rpath) has the spaces.
        self.assertIn(f"libdir={target}/release".replace(" ", "\\ "), (checkout / "raftcore.pc").read_text())

        # A lab tree under such a path too, left as it was.
        src = labfixture.build("2026", self.base / "my labs" / "6.5840 é", "6.5840")
        before = digest(src)
        proc = make_lab(f"LAB={src}")
        self.assertIn("2026 tester", proc.stdout)
        self.assertEqual(digest(src), before, "the lab tree changed")


class Refusals(unittest.TestCase):
    """Paths no quoting can carry through the toolchain are refused in one line naming the path, before any build."""

    def refused(self, name, *words):
        with tempfile.TemporaryDirectory(prefix="raftcore paths ") as d:
            checkout = Path(d) / name
            checkout.mkdir()
            shutil.copy2(ROOT / "Makefile", checkout / "Makefile")
            proc = subprocess.run(["make", "-n", "build"], cwd=checkout, env=clean_env(), stdin=subprocess.DEVNULL,
                                  capture_output=True, text=True, timeout=60)
            self.assertNotEqual(proc.returncode, 0, proc.stdout)
            self.assertEqual(proc.stdout, "", "something would have run")
            errors = proc.stderr.strip().splitlines()
            self.assertEqual(len(errors), 1, proc.stderr)
            for w in (str(checkout), *words):
                self.assertIn(w, errors[0])

    def test_comma(self):
        self.refused("a,b", "comma", "-Wl,-rpath")

    def test_colon(self):
        self.refused("a:b", "PKG_CONFIG_PATH")

    def test_single_quote(self):
        self.refused("it's", "'")


if __name__ == "__main__":
    unittest.main()
