#!/usr/bin/env python3
"""Runs the selected Go tests many times in parallel to find rare failures, keeping the log of each failing run.

Usage (normally through `make stress RUN=<regex> N=<runs> [W=<workers>] [LAB=<lab src dir>]`):
    tools/stress.py --run 3A -n 20                  the bundled harness (go/raft1)
    tools/stress.py --lab ~/6.5840/src --run 3B -n 50 -w 2
    tools/stress.py --dir some/go/package --run TestX -n 100

The test binary is built once (`go test -c`, with -race by default) and run N times, W at a time, each run with
`-test.run <regex> -test.count=1 -test.v` in the package directory and STRESS_RUN=<k> in its environment. A lab
tree gets the shim installed for the duration, exactly as `make lab` does, and its daemon built if it has one.
The screen shows a progress bar (plain lines when not a terminal); the full log of every failing run, and only
those, stays under the results folder; the end is a table per test. Exit status 1 if any run failed, 130 if
interrupted (after the table so far).
"""
import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lab  # noqa: E402
import labtable  # noqa: E402

BAR = 30


@dataclass
class Stats:
    runs: int = 0
    failures: int = 0
    seconds: list = field(default_factory=list)
    rpcs: list = field(default_factory=list)


class Stress:
    def __init__(self, binary, package_dir, run_re, n, workers, results, env, timeout):
        self.binary, self.package_dir, self.run_re = binary, package_dir, run_re
        self.n, self.workers, self.results, self.env, self.timeout = n, workers, results, env, timeout
        self.lock = threading.Lock()
        self.next_run = 0
        self.done = 0
        self.failed_runs = []
        self.tests = {}  # name -> Stats
        self.running = {}  # run -> Popen
        self.stopping = False
        self.started = time.monotonic()
        self.tty = sys.stdout.isatty()
        self.last_line = 0.0

    def take(self):
        with self.lock:
            if self.stopping or self.next_run >= self.n:
                return None
            k = self.next_run
            self.next_run += 1
            return k

    def worker(self):
        while (k := self.take()) is not None:
            self.one(k)

    def one(self, k):
        log_path = self.results / f"run-{k}.log"
        cmd = [str(self.binary), "-test.run", self.run_re, "-test.count=1", "-test.v", f"-test.timeout={self.timeout}"]
        env = dict(self.env, STRESS_RUN=str(k))
        with open(log_path, "w") as log:
            p = subprocess.Popen(cmd, cwd=self.package_dir, env=env, stdout=log, stderr=subprocess.STDOUT,
                                 start_new_session=True)
            with self.lock:
                self.running[k] = p
            rc = p.wait()
            with self.lock:
                del self.running[k]
        with open(log_path, encoding="utf-8", errors="replace") as f:
            order, tests, crashed = labtable.parse(f)
        with self.lock:
            if self.stopping and rc < 0:
                log_path.unlink(missing_ok=True)  # killed by us: neither a pass nor a failure
                return
            ok = rc == 0 and not crashed and bool(order) and all(tests[t]["result"] in ("PASS", "SKIP") for t in order)
            for name in order:
                row = tests[name]
                st = self.tests.setdefault(name, Stats())
                st.runs += 1
                if row["result"] != "PASS" and row["result"] != "SKIP":
                    st.failures += 1
                if row["seconds"] is not None:
                    st.seconds.append(row["seconds"])
                if row["rpcs"]:
                    st.rpcs.append(int(row["rpcs"]))
            self.done += 1
            if ok:
                log_path.unlink()
            else:
                self.failed_runs.append(k)
                if not order:
                    self.tests.setdefault("(no test ran or the binary crashed)", Stats(runs=1, failures=1))
            self.progress(force=not ok)

    def progress(self, force=False):
        now = time.monotonic()
        elapsed = now - self.started
        left = (elapsed / self.done * (self.n - self.done)) if self.done else 0
        filled = BAR * self.done // max(1, self.n)
        line = (f"[{'#' * filled}{'.' * (BAR - filled)}] {self.done}/{self.n} runs  "
                f"pass {self.done - len(self.failed_runs)}  fail {len(self.failed_runs)}  "
                f"elapsed {fmt_time(elapsed)}  left ~{fmt_time(left)}")
        if self.tty:
            sys.stdout.write("\r" + line + "\033[K")
            sys.stdout.flush()
        elif force or now - self.last_line >= 10 or self.done == self.n:
            print(line, flush=True)
            self.last_line = now

    def stop(self):
        with self.lock:
            self.stopping = True
            for p in self.running.values():
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def table(self):
        if self.tty:
            print()
        width = max([len(n) for n in self.tests] + [4])
        print(f"{'test':<{width}}  runs  fails  mean s   max s  mean RPCs")
        for name in sorted(self.tests):
            st = self.tests[name]
            mean = sum(st.seconds) / len(st.seconds) if st.seconds else 0.0
            top = max(st.seconds) if st.seconds else 0.0
            rpcs = f"{sum(st.rpcs) / len(st.rpcs):9.0f}" if st.rpcs else f"{'-':>9}"
            print(f"{name:<{width}}  {st.runs:4}  {st.failures:5}  {mean:6.1f}  {top:6.1f}  {rpcs}")
        print(f"{self.done} runs, {len(self.failed_runs)} failed, {fmt_time(time.monotonic() - self.started)}"
              + (f"; logs of failing runs in {self.results}" if self.failed_runs else ""))


def fmt_time(seconds):
    seconds = int(seconds)
    return f"{seconds // 60}m{seconds % 60:02d}s"


def build(package_dir, out, race, env):
    cmd = ["go", "test", "-c", *(["-race"] if race else []), "-o", str(out), "."]
    print(f"== stress: {' '.join(cmd)}  (in {package_dir})", flush=True)
    proc = subprocess.run(cmd, cwd=package_dir, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise lab.LabError(f"building the test binary failed:\n{proc.stdout}{proc.stderr}")
    if not out.exists():
        raise lab.LabError(f"{package_dir} has no tests to build")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    where = ap.add_mutually_exclusive_group()
    where.add_argument("--lab", default="", help="a lab tree's src directory (default: the bundled harness)")
    where.add_argument("--dir", default="", help="any Go package directory with tests")
    ap.add_argument("--run", required=True, help="the go test -run regex selecting the tests")
    ap.add_argument("-n", type=int, default=10, help="number of runs (default 10)")
    ap.add_argument("-w", type=int, default=0, help="parallel runs (default: the number of cores)")
    ap.add_argument("--results", default="", help="where failing logs go (default stress-results/<time>)")
    ap.add_argument("--timeout", default="15m", help="go test timeout per run (default 15m)")
    ap.add_argument("--no-race", action="store_true", help="build without the race detector")
    args = ap.parse_args(argv)
    if args.n < 1:
        ap.error("-n must be at least 1")
    workers = args.w or os.cpu_count() or 1
    if workers < 1:
        ap.error("-w must be at least 1")
    results = Path(args.results or Path("stress-results") / time.strftime("%Y%m%d-%H%M%S")).absolute()
    env = dict(os.environ)
    env["PKG_CONFIG_PATH"] = str(lab.ROOT) + (":" + env["PKG_CONFIG_PATH"] if env.get("PKG_CONFIG_PATH") else "")

    tree = None
    stress = None
    scratch = Path(tempfile.mkdtemp(prefix="raftcore-stress."))
    previous = signal.signal(signal.SIGTERM, lab.on_signal)
    try:
        if args.lab:
            tree = lab.detect(Path(args.lab).expanduser().absolute())
            lab.check_go()
            if tree.generation == "2020":
                env["GO111MODULE"] = "off"
            env["RAFT_PEERS"] = env.get("RAFT_PEERS") or {"2026": "process", "2025": "local"}.get(
                tree.generation, "classic")
            lab.install(tree)
            if tree.generation == "2026":
                cmd = ["go", "build", *([] if args.no_race else ["-race"]), "-o", "main/raft1d", "main/raft1d.go"]
                if subprocess.run(cmd, cwd=tree.src, env=env).returncode != 0:
                    raise lab.LabError("building main/raft1d failed (output above)")
            package_dir = tree.package_dir
        elif args.dir:
            package_dir = Path(args.dir).absolute()
            if not package_dir.is_dir():
                raise lab.LabError(f"{package_dir} is not a directory")
        else:
            package_dir = lab.BUNDLED / "raft1"
        binary = scratch / "stress.test"
        build(package_dir, binary, not args.no_race, env)
        results.mkdir(parents=True, exist_ok=True)
        print(f"== stress: {args.n} runs of -run '{args.run}', {workers} at a time; failing logs go to {results}",
              flush=True)
        stress = Stress(binary, package_dir, args.run, args.n, workers, results, env, args.timeout)
        threads = [threading.Thread(target=stress.worker, daemon=True) for _ in range(min(workers, args.n))]
        for t in threads:
            t.start()
        for t in threads:
            while t.is_alive():
                t.join(0.5)
    except lab.LabError as e:
        print(f"stress: {e}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, lab.Interrupted):
        if stress:
            stress.stop()
            stress.table()
        print("stress: interrupted", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
        if tree:
            lab.restore(tree)
        shutil.rmtree(scratch, ignore_errors=True)
    stress.table()
    if not stress.failed_runs:
        try:
            results.rmdir()  # nothing kept: leave no empty folder behind
        except OSError:
            pass
    return 1 if stress.failed_runs else 0


if __name__ == "__main__":
    sys.exit(main())
