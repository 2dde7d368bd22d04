#!/usr/bin/env python3
"""Runs the selected Go tests many times in parallel to find rare failures, keeping the log of each failing run.

Usage (normally through `make stress RUN=<regex> N=<runs> [W=<workers>] [LAB=<lab src dir>] [PART=<part>]`):
    tools/stress.py --run 3A -n 20                  the bundled harness (go/raft1)
    tools/stress.py --lab ~/6.5840/src --run 3B -n 50 -w 2
    tools/stress.py --lab ~/6.5840/src --part 4B -n 20    the package holding part 4B (kvraft1)
    tools/stress.py --dir some/go/package --run TestX -n 100

The test binary is built once (`go test -c`, with -race by default) and run N times, W at a time, each run with
`-test.run <regex> -test.count=1 -test.v` in the package directory and STRESS_RUN=<k> in its environment. A lab
tree whose raft.go is already the shim is used as it is; otherwise the shim is installed for the duration,
exactly as `make lab` does. A 2026 tree's daemon is built first.
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
OUTSIDE = "(outside any test)"  # the table's row for runs that failed though none of their tests did
PLAIN_EVERY = 30  # seconds between progress lines when stdout is not a terminal (a CI log, a file)


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
        self.ended = False  # the last plain line, n/n, was printed

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
                if self.stopping:  # started while stop() was killing the others: it must not outlive the runner
                    kill_group(p)
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
                failing = [t for t in order if tests[t]["result"] not in ("PASS", "SKIP")]
                if not failing:
                    # A crash before any test, a race reported after the last one, a timeout between tests: the
                    # run failed though no test did, and the table must still show it.
                    st = self.tests.setdefault(OUTSIDE, Stats())
                    st.runs += 1
                    st.failures += 1
                self.announce(f"run {k} failed ({', '.join(failing) or OUTSIDE}): {log_path}")
            self.progress(force=not ok)

    def progress(self, force=False):
        """Redraws the bar on a terminal; elsewhere prints a line on a failure, at the end, or every PLAIN_EVERY s."""
        now = time.monotonic()
        elapsed = now - self.started
        # Runs still going count for nothing yet, so the estimate is high at first and settles as runs end.
        left = fmt_time(elapsed / self.done * (self.n - self.done)) if self.done else "?"
        filled = BAR * self.done // max(1, self.n)
        line = (f"[{'#' * filled}{'.' * (BAR - filled)}] {self.done}/{self.n} runs  "
                f"pass {self.done - len(self.failed_runs)}  fail {len(self.failed_runs)}  "
                f"elapsed {fmt_time(elapsed)}  left ~{left}")
        if self.tty:
            sys.stdout.write("\r" + line + "\033[K")
            sys.stdout.flush()
        elif force or now - self.last_line >= PLAIN_EVERY or (self.done == self.n and not self.ended):
            print(line, flush=True)
            self.last_line = now
            self.ended = self.done == self.n

    def announce(self, message):
        """A line above the bar, which stays on the screen when the bar moves on."""
        if self.tty:
            sys.stdout.write("\r" + message + "\033[K\n")
        else:
            print(message, flush=True)

    def tick(self):
        """Called by the main thread between runs' ends, so that elapsed time and the estimate move on their own."""
        with self.lock:
            if not self.stopping:
                self.progress()

    def stop(self):
        with self.lock:
            self.stopping = True
            for p in self.running.values():
                kill_group(p)

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
        if self.failed_runs:
            print("  " + " ".join(f"run-{k}.log" for k in sorted(self.failed_runs)))

    def join(self, threads, grace):
        """Waits for the workers, redrawing the bar meanwhile; gives up after `grace` seconds once stopping."""
        deadline = None
        for t in threads:
            while t.is_alive():
                t.join(0.5)
                if self.stopping:
                    deadline = deadline or time.monotonic() + grace
                    if time.monotonic() > deadline:
                        return
                else:
                    self.tick()


def kill_group(p):
    """SIGKILL for the run's whole session: the test binary and any peer daemons it started."""
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


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


def selected(binary, package_dir, run_re, env):
    """The tests the regex selects, so that a mistyped RUN fails at once instead of as N failed runs."""
    proc = subprocess.run([str(binary), "-test.list", run_re], cwd=package_dir, env=env, capture_output=True,
                          text=True)
    if proc.returncode != 0:
        raise lab.LabError(f"listing the tests failed:\n{proc.stdout}{proc.stderr}")
    names = [line for line in proc.stdout.splitlines() if line.startswith(("Test", "Example", "Fuzz"))]
    if not names:
        raise lab.LabError(f"no test in {package_dir} matches -run '{run_re}'")
    return names


def one_package(packages, args):
    """The package and -run regex to stress: the one holding --part, else the Raft package; one test binary
    covers one package."""
    if not args.part:
        return packages[0], args.run or "."
    runs = lab.select_runs(packages, args.part, args.run)
    names = sorted({p.rel for p, _ in runs})
    if len(names) != 1:
        raise lab.LabError(f"PART={args.part} has tests in {' and '.join(names)}; stress runs one package at a time: "
                           f"name one part, or pick one with LAB and RUN")
    return runs[0]


def hand_installed(tree):
    """True when the tree's raft.go is already the shim, put there by hand (no backup of the user's file beside it):
    then it is used as it is and left in place afterwards."""
    return (not tree.backup.exists() and tree.target.is_file()
            and lab.SHIM_MARK in tree.target.read_text(errors="replace")[:2000])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    where = ap.add_mutually_exclusive_group()
    where.add_argument("--lab", default="", help="a lab tree's src directory (default: the bundled harness)")
    where.add_argument("--dir", default="", help="any Go package directory with tests")
    ap.add_argument("--run", default="", help="the go test -run regex selecting the tests (default: all, or the part)")
    ap.add_argument("--part", default="", help="a part (4B): its package, and its tests unless --run narrows them")
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
    # Under the repository whatever the working directory, where .gitignore covers it.
    results = Path(args.results or lab.ROOT / "stress-results" / time.strftime("%Y%m%d-%H%M%S")).absolute()
    env = dict(os.environ)
    env["PKG_CONFIG_PATH"] = str(lab.ROOT) + (":" + env["PKG_CONFIG_PATH"] if env.get("PKG_CONFIG_PATH") else "")

    tree = None  # set once the shim was installed by us, so that only then is anything restored
    stress = None
    threads = []
    scratch = Path(tempfile.mkdtemp(prefix="raftcore-stress."))
    previous = signal.signal(signal.SIGTERM, lab.on_signal)
    # A runner started in the background inherits SIGINT ignored; it must still stop cleanly when sent one.
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        if args.dir:
            if args.part:
                raise lab.LabError("--part picks a package of a lab tree or the bundled harness, not of --dir")
            package_dir, run_re = Path(args.dir).absolute(), args.run or "."
            if not package_dir.is_dir():
                raise lab.LabError(f"{package_dir} is not a directory")
        else:
            found = lab.detect(Path(args.lab).expanduser().absolute()) if args.lab else None
            package, run_re = one_package(found.packages if found else lab.service_packages(lab.BUNDLED), args)
            reasons = lab.skeleton_reasons(found.src if found else lab.BUNDLED, package)
            if reasons:
                raise lab.LabError(f"{package.rel}: nothing to stress, not a raftcore failure: {'; '.join(reasons)}")
            package_dir = package.dir
        if args.lab:
            lab.check_go()
            lab.set_tree_env(found, env)
            if hand_installed(found):
                print(f"== stress: using the shim already in {found.target}", flush=True)
                if found.target.read_text(errors="replace") != lab.shim_text(found):
                    print(f"== stress: note: it differs from this checkout's {found.shim}", flush=True)
            else:
                lab.install(found)
                tree = found
                # Also puts a stand-in in place of a util.go that needs the student's Raft.
                lab.check_shim_builds(found, env, "" if args.no_race else "-race", scratch, [package])
            lab.build_daemon(found, env, not args.no_race, [package])
        binary = scratch / "stress.test"
        build(package_dir, binary, not args.no_race, env)
        selected(binary, package_dir, run_re, env)
        results.mkdir(parents=True, exist_ok=True)
        print(f"== stress: {args.n} runs of -run '{run_re}' in {package_dir}, {workers} at a time; failing logs go "
              f"to {results}", flush=True)
        stress = Stress(binary, package_dir, run_re, args.n, workers, results, env, args.timeout)
        threads = [threading.Thread(target=stress.worker, daemon=True) for _ in range(min(workers, args.n))]
        for t in threads:
            t.start()
        stress.join(threads, grace=0)
    except lab.LabError as e:
        print(f"stress: {e}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, lab.Interrupted):
        if stress:
            stress.stop()
            stress.join(threads, grace=10)  # the killed runs' logs are removed before the table is printed
            stress.table()
        print("stress: interrupted", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)
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
