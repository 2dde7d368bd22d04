"""Tests of tools/stress.py: a planted failure (tools/testdata/flaky: one run in five fails) caught with exactly its
logs kept, interruption, and lab trees left as they were."""
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

TOOLS = Path(__file__).resolve().parent
STRESS = [sys.executable, str(TOOLS / "stress.py")]
FLAKY = TOOLS / "testdata" / "flaky"


def stress_flaky(run, n, results, *extra, **env):
    """Runs the stress runner on the planted-failure package without -race, with `env` added to the environment."""
    return subprocess.run(
        [*STRESS, "--dir", str(FLAKY), "--run", run, "-n", str(n), "--no-race", "--results", str(results), *extra],
        capture_output=True, text=True, timeout=600, env=dict(os.environ, **env),
    )


class StressTest(unittest.TestCase):
    def test_planted_failure_is_caught_and_its_logs_kept(self):
        with tempfile.TemporaryDirectory() as d:
            results = Path(d) / "results"
            proc = stress_flaky(".", 20, str(results), "-w", "2")
            self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
            kept = sorted(p.name for p in results.iterdir())
            self.assertEqual(kept, ["run-0.log", "run-10.log", "run-15.log", "run-5.log"])
            self.assertIn("planted failure in run 5", (results / "run-5.log").read_text())
            rows = {line.split()[0]: line.split() for line in proc.stdout.splitlines() if line.startswith("Test")}
            self.assertEqual(rows["TestSometimes"][1:3], ["20", "4"])
            self.assertEqual(rows["TestAlways"][1:3], ["20", "0"])
            self.assertEqual(rows["TestSometimes"][-1], "10")  # mean of 10 and 11 RPCs, rounded
            self.assertIn("20 runs, 4 failed", proc.stdout)
            self.assertIn("[" + "#" * 30 + "] 20/20 runs", proc.stdout)
            self.assertIn("run-0.log run-5.log run-10.log run-15.log", proc.stdout)

    def test_all_pass_leaves_nothing(self):
        with tempfile.TemporaryDirectory() as d:
            results = Path(d) / "results"
            proc = stress_flaky("TestAlways", 3, str(results))
            self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
            self.assertFalse(results.exists())

    def test_lab_tree_is_restored(self):
        sys.path.insert(0, str(TOOLS))
        import labfixture
        from test_lab import digest

        with tempfile.TemporaryDirectory() as d:
            src = labfixture.build("2025", Path(d), "ece419", layout="split")  # util.go needs a stand-in too
            before = digest(src)
            proc = subprocess.run(
                [*STRESS, "--lab", str(src), "--run", "TestBasicAgree3B", "-n", "2", "--results", str(Path(d) / "r")],
                capture_output=True, text=True, timeout=900,
            )
            self.assertEqual(proc.returncode, 0, proc.stdout[-3000:] + proc.stderr)
            self.assertIn("2 runs, 0 failed", proc.stdout)
            self.assertEqual(digest(src), before)

    def test_hand_installed_shim_is_used_and_left(self):
        sys.path.insert(0, str(TOOLS))
        import lab
        import labfixture
        from test_lab import digest

        with tempfile.TemporaryDirectory() as d:
            src = labfixture.build("2025", Path(d), "6.5840")
            tree = lab.detect(src)
            tree.target.write_text(lab.shim_text(tree))  # as the README's "by hand" steps leave it
            before = digest(src)
            proc = subprocess.run(
                [*STRESS, "--lab", str(src), "--run", "TestBasicAgree3B", "-n", "1", "--no-race",
                 "--results", str(Path(d) / "r")],
                capture_output=True, text=True, timeout=900,
            )
            self.assertEqual(proc.returncode, 0, proc.stdout[-3000:] + proc.stderr)
            self.assertIn("using the shim already in", proc.stdout)
            self.assertIn("1 runs, 0 failed", proc.stdout)
            self.assertEqual(digest(src), before)
            self.assertFalse(tree.backup.exists())

    def test_no_matching_test_fails_at_once(self):
        proc = stress_flaky("TestNoSuchThing", 5, "/nonexistent/never-created")
        self.assertEqual(proc.returncode, 2, proc.stdout + proc.stderr)
        self.assertIn("no test in", proc.stderr)
        self.assertNotIn("runs of", proc.stdout)

    def test_interrupt_stops_runs_and_prints_the_table(self):
        with tempfile.TemporaryDirectory(prefix="stress-test-") as d:
            results = Path(d) / "results"
            # Started with SIGINT ignored, as a shell starts a background job, whatever this suite inherited: the
            # runner must stop on SIGINT all the same. Its scratch directory (TMPDIR) is this test's own, so the
            # check for leftover test binaries below cannot see another run's.
            p = subprocess.Popen(
                [*STRESS, "--dir", str(FLAKY), "--run", "TestSlow|TestAlways", "-n", "6",
                 "-w", "2", "--no-race", "--results", str(results)],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                env=dict(os.environ, STRESS_SLOW="1", TMPDIR=d),
                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
            )
            # The runs have started once the results folder exists and the binary is running.
            deadline = time.monotonic() + 300
            while not (results.exists() and any(results.iterdir())) and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(1)
            p.send_signal(signal.SIGINT)
            out, err = p.communicate(timeout=60)
            self.assertEqual(p.returncode, 130, out + err)
            self.assertIn("interrupted", err)
            self.assertIn("0 runs, 0 failed", out)  # the killed runs are neither passes nor failures
            self.assertEqual(list(results.iterdir()), [])
            lingering = subprocess.run(["pgrep", "-f", f"{Path(d).name}/raftcore-stress.*stress.test"],
                                       capture_output=True, text=True)
            self.assertEqual(lingering.stdout, "", "a test binary outlived the interrupted runner")

    def test_failure_outside_any_test_is_counted(self):
        with tempfile.TemporaryDirectory() as d:
            results = Path(d) / "results"
            proc = stress_flaky("TestAlways", 2, str(results), STRESS_EXIT_AFTER="1")
            self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
            self.assertIn("(outside any test)     2      2", proc.stdout)
            self.assertIn("TestAlways             2      0", proc.stdout)
            self.assertEqual(sorted(p.name for p in results.iterdir()), ["run-0.log", "run-1.log"])

    def test_bad_directory(self):
        proc = subprocess.run([*STRESS, "--dir", "/nonexistent", "--run", "."], capture_output=True, text=True)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("not a directory", proc.stderr)


if __name__ == "__main__":
    unittest.main()
