"""Tests of tools/simlab.py's reading of the simulator's scenario lines: means per scenario over its runs, every
kind of request in its column, other lines ignored."""
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import simlab  # noqa: E402


def finish_line(name, ms, votes, appends, empty, snapshots):
    rpcs = votes + appends + empty + snapshots
    return (f"{name}: elected at Some(310) ms, first commit at None ms, {ms} ms virtual, {rpcs} RPCs ({votes} votes, "
            f"{appends} appends with entries, {empty} without, {snapshots} snapshots), 4096 bytes, largest persisted "
            f"state 120 bytes")


class SimlabTest(unittest.TestCase):
    def test_means_per_scenario_and_kind(self):
        lines = [finish_line("Backup3B", 8000, 60, 200, 340, 0), "running 28 tests",
                 finish_line("Backup3B", 9000, 70, 220, 360, 2), finish_line("Count3B", 1500, 2, 4, 11, 0),
                 "test backup_3b ... ok"]
        sums = simlab.parse(lines)
        self.assertEqual(sorted(sums), ["Backup3B", "Count3B"])
        rows = simlab.table(sums).splitlines()
        self.assertEqual(rows[2], "| Backup3B | 626 | 65 | 210 | 350 | 1 | 8.50 |")
        self.assertEqual(rows[3], "| Count3B | 17 | 2 | 4 | 11 | 0 | 1.50 |")
        self.assertEqual(rows[-1], "| total | 643 | 67 | 214 | 361 | 1 | 10.0 |")

    def test_lines_of_an_older_format_are_not_counted(self):
        old = "Count3B: elected at Some(310) ms, first commit at None ms, 1500 ms virtual, 17 RPCs, 4096 bytes"
        self.assertEqual(simlab.parse([old]), {})


if __name__ == "__main__":
    unittest.main()
