#!/usr/bin/env bash
# kill -9 at random moments loses and duplicates nothing in a C++ two-input job: an interval
# join's buffered orders and payments, the keyed count after it and the file sink all come back
# from the checkpoint, also at another parallelism.
#
#   join_kill_test.sh JOIN_KILL_JOB SOURCE_DIR [COUNT] [KILLS]
#
# Runs test/integration/join_kill_job.cpp's job, kills it KILLS times (restarting it with the
# same command, the join at parallelism 1 and 2 in turn), then lets it finish. Every key's
# counts in the output file, and over the committed rolling files, must be 1..COUNT/10, each
# once (a run that started over instead of resuming would duplicate them in the rolling files).
set -euo pipefail
job=$1
root=$2
count=${3:-60000}
kills=${4:-8}
rate=20000
tmp=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill -9 "$pid" 2> /dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "FAILED: $*" >&2; exit 1; }
# shellcheck source=../support/kill_loop.sh
. "$root/test/support/kill_loop.sh"
out="$tmp/out.jsonl"
rolling="$tmp/rolling"
ck="$tmp/ck"

start() {  # start RUN: the join at parallelism 1 or 2
  "$job" "$out" "$rolling" "$ck" $(( $1 % 2 + 1 )) "$count" "$rate" 2>> "$tmp/stderr" &
  pid=$!
}

started=$SECONDS
kill_loop "$kills" "$ck" start
if [ -z "$kill_loop_finished" ]; then
  "$job" "$out" "$rolling" "$ck" 2 "$count" "$rate" 2>> "$tmp/stderr" || { cat "$tmp/stderr" >&2; fail "the last run failed"; }
fi
resumed=$(grep -c "resuming from" "$tmp/stderr" || true)
check() {  # check FILE...: every key's counts 1..count/10 once over the files
  python3 - "$count" "$@" <<'PY'
import json, sys
count, paths = int(sys.argv[1]), sys.argv[2:]
seen = {}
for path in paths:
    for n, line in enumerate(open(path), 1):
        r = json.loads(line)
        s = seen.setdefault(r["key"], set())
        if r["count"] in s:
            sys.exit(f"{path}:{n}: key {r['key']}: count {r['count']} twice")
        s.add(r["count"])
for k in range(10):
    got = seen.get(k, set())
    if got != set(range(1, count // 10 + 1)):
        missing = sorted(set(range(1, count // 10 + 1)) - got)[:5]
        sys.exit(f"key {k}: {len(got)} counts, not {count // 10}; first missing {missing}")
PY
}
check "$out" || { tail -20 "$tmp/stderr" >&2; fail "the output file after $kills kills"; }
[ -z "$(find "$rolling" -name '.*')" ] || fail "hidden rolling parts left: $(ls -A "$rolling")"
check "$rolling"/* || { tail -20 "$tmp/stderr" >&2; fail "the rolling files after $kills kills"; }
[ "$resumed" -ge 2 ] || { cat "$tmp/stderr" >&2; fail "only $resumed runs resumed from a checkpoint"; }
echo "join kill -9: $kill_loop_killed kills, $resumed resumed (p1 and p2), $count joins exactly once in the file and in $(ls "$rolling" | wc -l) rolling files ($((SECONDS - started)) s)"
