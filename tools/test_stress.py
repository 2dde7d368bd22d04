"""Tests of tools/stress.py on a planted failure (tools/testdata/flaky: one run in five fails)."""
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

TOOLS = Path(__file__).resolve().parent
STRESS = [sys.executable, str(TOOLS / "stress.py")]


class StressTest(unittest.TestCase):
    def test_planted_failure_is_caught_and_its_logs_kept(self):
        with tempfile.TemporaryDirectory() as d:
            results = Path(d) / "results"
            proc = subprocess.run(
                [*STRESS, "--dir", str(TOOLS / "testdata" / "flaky"), "--run", ".", "-n", "20", "-w", "2",
                 "--no-race", "--results", str(results)],
                capture_output=True, text=True, timeout=600,
            )
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

    def test_all_pass_leaves_nothing(self):
        with tempfile.TemporaryDirectory() as d:
            results = Path(d) / "results"
            proc = subprocess.run(
                [*STRESS, "--dir", str(TOOLS / "testdata" / "flaky"), "--run", "TestAlways", "-n", "3",
                 "--no-race", "--results", str(results)],
                capture_output=True, text=True, timeout=600,
            )
            self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
            self.assertFalse(results.exists())

    def test_lab_tree_is_restored(self):
        sys.path.insert(0, str(TOOLS))
        import labfixture
        from test_lab import digest

        with tempfile.TemporaryDirectory() as d:
            src = labfixture.build("2025", Path(d), "ece419")
            before = digest(src)
            proc = subprocess.run(
                [*STRESS, "--lab", str(src), "--run", "TestBasicAgree3B", "-n", "2", "--results", str(Path(d) / "r")],
                capture_output=True, text=True, timeout=900,
            )
            self.assertEqual(proc.returncode, 0, proc.stdout[-3000:] + proc.stderr)
            self.assertIn("2 runs, 0 failed", proc.stdout)
            self.assertEqual(digest(src), before)

    def test_bad_directory(self):
        proc = subprocess.run([*STRESS, "--dir", "/nonexistent", "--run", "."], capture_output=True, text=True)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("not a directory", proc.stderr)


if __name__ == "__main__":
    unittest.main()
