"""Tests of tools/raftlog.py on a synthetic run: tests split at `=== RUN`, events in their peer's column, filters,
other lines kept, and the HTML page."""
import io
import json
import sys
import tempfile
import unittest
from contextlib import redirect_stdout
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import raftlog  # noqa: E402


def event(ms, peer, name, **fields):
    stamp = f"2026-11-24T10:00:{ms // 1000:02d}.{ms % 1000:03d}000Z"
    return json.dumps({"timestamp": stamp, "level": "INFO", "peer": peer, "term": 1, "role": "leader",
                       "event": name, **fields}) + "\n"


RUN = [
    "=== RUN   TestA\n",
    event(0, 0, "start", last_index=0, snapshot_index=0),
    event(10, 1, "role"),
    "Test (3A): something (reliable network)...\n",
    event(25, 1, "send", other=2, kind="AppendEntries", msg_term=1, prev_log_index=4, entries=2, leader_commit=3),
    event(30, 2, "commit", commit_index=5),
    "=== RUN   TestB\n",
    event(1000, 2, "vote", candidate=0),
]


class RaftLogTest(unittest.TestCase):
    def test_split_and_columns(self):
        tests = raftlog.parse(RUN)
        self.assertEqual([t.name for t in tests], ["TestA", "TestB"])
        self.assertEqual(tests[0].peers, {0, 1, 2})
        text = raftlog.render_text(tests, color=False, width=120)
        lines = text.splitlines()
        send = next(line for line in lines if "->2 AE" in line)
        commit = next(line for line in lines if "commit 5" in line)
        # Peer 1's column starts before peer 2's.
        self.assertLess(send.index("->2 AE"), commit.index("commit 5"))
        self.assertIn("p4 +2 c3", send)
        self.assertTrue(send.strip().startswith("25.0"))
        self.assertIn("-- Test (3A): something", text)
        # Times restart at each test.
        self.assertIn("     0.0", next(line for line in lines if "vote 0" in line))

    def test_filters(self):
        tests = raftlog.select(raftlog.parse(RUN), "TestA", {"commit"}, set())
        self.assertEqual(len(tests), 1)
        kinds = [e.kind for e in tests[0].events if isinstance(e, raftlog.Event)]
        self.assertEqual(kinds, ["commit"])
        tests = raftlog.select(raftlog.parse(RUN), None, set(), {1})
        peers = {e.peer for t in tests for e in t.events if isinstance(e, raftlog.Event)}
        self.assertEqual(peers, {1})

    def test_html_page(self):
        with tempfile.TemporaryDirectory() as d:
            log = Path(d) / "run.log"
            log.write_text("".join(RUN))
            page = Path(d) / "run.html"
            with redirect_stdout(io.StringIO()):
                self.assertEqual(raftlog.main([str(log), "--html", str(page)]), 0)
            text = page.read_text()
            self.assertIn("<h3>TestA</h3>", text)
            self.assertIn("commit 5", text)
            self.assertIn("data-kind='commit'", text)

    def test_bad_arguments(self):
        with redirect_stdout(io.StringIO()), self.assertRaises(SystemExit):
            raftlog.main(["--events", "nonsense", "/dev/null"])
        with redirect_stdout(io.StringIO()), self.assertRaises(SystemExit):
            raftlog.main(["--peers", "x", "/dev/null"])


if __name__ == "__main__":
    unittest.main()
