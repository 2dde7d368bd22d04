#!/usr/bin/env bash
# Runs the lab's Raft tests (3A–3D) through the shim and prints a per-test table with totals.
#
# Usage: tools/lab.sh            run every part on the bundled harness (go/)
#        RUN=3A tools/lab.sh     narrow to a part or any `go test -run` regex
# Each part runs as its own `go test` so the suite stays inside go test's timeout; the output streams live and
# the table at the end comes from tools/labtable.py, whose exit status is the verdict.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
lab=${LAB:-$root/go}
run=${RUN:-}
race=${RACE:--race}

if [ ! -d "$lab/raft1" ]; then
  echo "lab: $lab has no raft1 directory; LAB must point at a lab tree's src (or leave it unset for the bundled harness)" >&2
  exit 2
fi
export PKG_CONFIG_PATH="$root${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"

if [ -n "$run" ]; then parts=("$run"); else parts=(3A 3B 3C 3D); fi
logdir=$(mktemp -d "${TMPDIR:-/tmp}/raftcore-lab.XXXXXX")
logs=()
for part in "${parts[@]}"; do
  log="$logdir/$(echo "$part" | tr -c 'A-Za-z0-9_\n' '_').log"
  logs+=("$log")
  echo "== lab: go test -run '$part' in $lab/raft1"
  (cd "$lab/raft1" && go test -v $race -count=1 -timeout 30m -run "$part" .) 2>&1 | tee "$log"
done
echo
echo "== lab: results (logs in $logdir)"
python3 "$root/tools/labtable.py" "${logs[@]}"
