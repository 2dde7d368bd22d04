#!/usr/bin/env python3
"""Turns one run's raftcore event log into one column per peer on a time axis, in the terminal or as HTML.

    RAFT_LOG=debug go test -v -run TestFigure83C ./raft1/ > run.log 2>&1
    tools/raftlog.py run.log                       coloured columns, every test in the file
    tools/raftlog.py run.log --test Figure8 --events role,term,commit --peers 0,1,2
    tools/raftlog.py run.log --html run.html       the same view as a self-contained page with filters

The input is whatever the run printed: raftcore's JSON event lines (RAFT_LOG=info|debug|trace, from any number of
peer processes; their wall-clock timestamps put them on one timeline), go test's `=== RUN` lines, which split it
into tests, and any other line, shown across all columns. Each event has a peer, term, role and event name:
start, term, role, vote, log, commit, snapshot, send, recv, persist.
"""
import argparse
import html
import json
import re
import shutil
import sys
from dataclasses import dataclass, field
from datetime import datetime

EVENTS = ("start", "term", "role", "vote", "log", "commit", "snapshot", "send", "recv", "persist")
COLORS = {  # ANSI colours per event, and the same idea in the HTML page
    "start": "1;37", "term": "33", "role": "1;31", "vote": "35", "log": "36", "commit": "32",
    "snapshot": "34", "send": "90", "recv": "37", "persist": "90",
}
HTML_COLORS = {
    "start": "#000", "term": "#a60", "role": "#c00", "vote": "#a0a", "log": "#088", "commit": "#080",
    "snapshot": "#00c", "send": "#888", "recv": "#555", "persist": "#aaa",
}
RUN = re.compile(r"^=== RUN\s+(\S+)")


@dataclass
class Event:
    ms: float  # since the test's first event
    peer: int
    kind: str
    text: str


@dataclass
class Test:
    name: str
    events: list = field(default_factory=list)  # Event, or (ms, str) for other lines
    peers: set = field(default_factory=set)


def timestamp(value):
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000.0


def summary(e: dict) -> str:
    """A short text for one event, fit for a narrow column."""
    kind = e.get("event", "?")
    if kind in ("send", "recv"):
        arrow = "->" if kind == "send" else "<-"
        name = {"RequestVote": "RV", "AppendEntries": "AE", "InstallSnapshot": "IS"}.get(e.get("kind"), e.get("kind"))
        detail = ""
        if name == "AE":
            detail = f" p{e.get('prev_log_index')} +{e.get('entries')} c{e.get('leader_commit')}"
        elif name == "RV":
            detail = f" ll{e.get('last_log_index')}/{e.get('last_log_term')}"
        elif name == "IS":
            detail = f" {e.get('last_included_index')}"
        return f"{arrow}{e.get('other')} {name} t{e.get('msg_term')}{detail}"
    return {
        "start": f"START t{e.get('term')} log{e.get('last_index')} snap{e.get('snapshot_index')}",
        "term": f"term {e.get('from')}->{e.get('term')}",
        "role": f"{str(e.get('role', '?')).upper()} t{e.get('term')}",
        "vote": f"vote {e.get('candidate')} t{e.get('term')}",
        "log": f"log ..{e.get('last_index')}",
        "commit": f"commit {e.get('commit_index')}",
        "snapshot": f"snap {e.get('snapshot_index')}",
        "persist": f"persist {e.get('bytes')}B",
    }.get(kind, e.get("message", kind))


def parse(lines):
    """Splits the lines into tests (a file without `=== RUN` lines is one test named 'run')."""
    tests = []
    current = None
    t0 = None
    last_ms = 0.0
    for line in lines:
        line = line.rstrip("\n")
        m = RUN.match(line)
        if m:
            current = Test(m.group(1))
            tests.append(current)
            t0 = None
            continue
        if current is None:
            current = Test("run")
            tests.append(current)
        start = line.find("{")
        record = None
        if start >= 0 and '"event"' in line:
            try:
                record = json.loads(line[start:])
            except json.JSONDecodeError:
                record = None
        if record and "peer" in record and "timestamp" in record:
            when = timestamp(record["timestamp"])
            if t0 is None:
                t0 = when
            last_ms = when - t0
            peer = int(record["peer"])
            current.peers.add(peer)
            current.events.append(Event(last_ms, peer, record.get("event", "?"), summary(record)))
        elif line.strip():
            current.events.append((last_ms, line.strip()))
    return tests


def select(tests, test_re, events, peers):
    chosen = []
    for t in tests:
        if test_re and not re.search(test_re, t.name):
            continue
        kept = []
        for e in t.events:
            if isinstance(e, Event) and ((events and e.kind not in events) or (peers and e.peer not in peers)):
                continue
            kept.append(e)
        chosen.append(Test(t.name, kept, set(p for p in t.peers if not peers or p in peers)))
    return chosen


def render_text(tests, color, width):
    out = []
    for t in tests:
        peers = sorted(t.peers)
        out.append(f"===== {t.name}")
        if not peers:
            out.extend(f"{ms:9.1f}  {text}" for ms, text in (e for e in t.events if not isinstance(e, Event)))
            continue
        col = max(12, (width - 11) // len(peers) - 1)
        out.append(" " * 11 + " ".join(f"peer {p}".ljust(col) for p in peers))
        for e in t.events:
            if not isinstance(e, Event):
                ms, text = e
                out.append(f"{ms:9.1f}  {('-- ' + text)[: width - 11]}")
                continue
            cells = []
            for p in peers:
                text = e.text[:col].ljust(col) if p == e.peer else " " * col
                if p == e.peer and color:
                    text = f"\033[{COLORS.get(e.kind, '0')}m{text}\033[0m"
                cells.append(text)
            out.append(f"{e.ms:9.1f}  " + " ".join(cells).rstrip())
    return "\n".join(out) + "\n"


def render_html(tests):
    parts = [
        "<!doctype html><meta charset='utf-8'><title>raftcore run</title><style>",
        "body{font:12px monospace} table{border-collapse:collapse} td,th{padding:1px 6px;border-left:1px solid #ddd;"
        "white-space:nowrap;vertical-align:top} th{position:sticky;top:0;background:#fff} tr.line td{color:#666;"
        "background:#f6f6f6} td.ms{text-align:right;color:#999}",
        "".join(f".{k}{{color:{v}}}" for k, v in HTML_COLORS.items()),
        "</style><div id='filters'>events: ",
        "".join(f"<label class='{k}'><input type=checkbox checked data-kind='{k}'>{k}</label> " for k in EVENTS),
        "</div>",
    ]
    for t in tests:
        peers = sorted(t.peers)
        parts.append(f"<h3>{html.escape(t.name)}</h3><table><tr><th>ms</th>")
        parts.append("".join(f"<th>peer {p}</th>" for p in peers) + "</tr>")
        for e in t.events:
            if not isinstance(e, Event):
                ms, text = e
                parts.append(f"<tr class='line'><td class='ms'>{ms:.1f}</td>"
                             f"<td colspan='{max(1, len(peers))}'>{html.escape(text)}</td></tr>")
                continue
            cells = "".join(
                f"<td class='{e.kind}'>{html.escape(e.text)}</td>" if p == e.peer else "<td></td>" for p in peers
            )
            parts.append(f"<tr data-kind='{e.kind}'><td class='ms'>{e.ms:.1f}</td>{cells}</tr>")
        parts.append("</table>")
    parts.append(
        "<script>document.querySelectorAll('#filters input').forEach(b=>b.onchange=()=>{"
        "document.querySelectorAll(`tr[data-kind=${b.dataset.kind}]`).forEach(r=>"
        "r.style.display=b.checked?'':'none')})</script>"
    )
    return "\n".join(parts) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("log", nargs="?", help="the run's output (default: stdin)")
    ap.add_argument("--test", help="only tests whose name matches this regex")
    ap.add_argument("--events", help=f"comma-separated event names to show ({','.join(EVENTS)})")
    ap.add_argument("--peers", help="comma-separated peer numbers to show")
    ap.add_argument("--html", metavar="FILE", help="write a self-contained HTML page instead of printing")
    ap.add_argument("--color", choices=("auto", "always", "never"), default="auto")
    args = ap.parse_args(argv)

    events = set(args.events.split(",")) if args.events else set()
    unknown = events - set(EVENTS)
    if unknown:
        ap.error(f"unknown events {sorted(unknown)}; known: {', '.join(EVENTS)}")
    try:
        peers = {int(p) for p in args.peers.split(",")} if args.peers else set()
    except ValueError:
        ap.error(f"--peers wants numbers like 0,2; got {args.peers!r}")
    try:
        f = open(args.log, encoding="utf-8", errors="replace") if args.log else sys.stdin
    except OSError as e:
        print(f"raftlog: {e}", file=sys.stderr)
        return 2
    with f:
        tests = select(parse(f), args.test, events, peers)
    if not any(isinstance(e, Event) for t in tests for e in t.events):
        print("raftlog: no raftcore events in this log (run with RAFT_LOG=info or debug)", file=sys.stderr)
    if args.html:
        with open(args.html, "w", encoding="utf-8") as out:
            out.write(render_html(tests))
        print(f"raftlog: wrote {args.html}")
        return 0
    color = args.color == "always" or (args.color == "auto" and sys.stdout.isatty())
    width = shutil.get_terminal_size((160, 40)).columns
    sys.stdout.write(render_text(tests, color, width))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:  # piped into head or less and closed early
        sys.exit(0)
