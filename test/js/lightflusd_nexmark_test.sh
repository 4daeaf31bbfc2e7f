#!/usr/bin/env bash
# The TypeScript Nexmark queries (bench/nexmark/q*.ts: q0-q3, q5, q7, q8) against the C++
# ones: each query runs on the same generated events at parallelism 1 and 2 and must print the
# same rows, as a multiset, as `nexmark --query qN --generate N --sink print`. Rows are
# compared as parsed JSON (so that q1's DECIMAL 8105.700 equals JavaScript's 8105.7), sorted.
# Also: a file of the same events (`--set events=FILE`) gives the same rows, and `--set
# sink=null` prints nothing. Before the queries: the source's events against the generator's
# JSON form, and kill -9 with checkpoints and restarts at other parallelisms.
#
#   lightflusd_nexmark_test.sh LIGHTFLUSD NEXMARK SOURCE_DIR [EVENTS]
set -euo pipefail
lightflusd=$1
nexmark=$2
root=$3
events=${4:-20000}
tmp=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill -9 "$pid" 2> /dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
cd "$root"
# shellcheck source=../support/kill_loop.sh
. "$root/test/support/kill_loop.sh"

fail() { echo "FAILED: $*" >&2; exit 1; }

# Each JSON line as canonical JSON, sorted: keys sorted, every number as a double (a DECIMAL
# such as q1's 11122319.000 is the number JavaScript prints as 11122319).
canonical() {
  python3 -c '
import json, sys
rows = [json.dumps(json.loads(line, parse_int=float), sort_keys=True) for line in sys.stdin if line.strip()]
print("\n".join(sorted(rows)))'
}

# 1. The events themselves: as JavaScript objects (the columns crossing into V8) and as Values
# (the map for readers other than JavaScript operators), the same as the C++ generator's JSON
# form, at p1 and p2.
job=test/js/jobs/nexmark_events.ts
"$nexmark" --write-events "$tmp/events.jsonl" --generate "$events" 2> /dev/null
canonical < "$tmp/events.jsonl" > "$tmp/events.expected"
for mode in js value; do
  for p in 1 2; do
    "$lightflusd" run "$job" --set count="$events" --set mode="$mode" --parallelism "$p" |
      canonical > "$tmp/events.$mode.p$p"
    diff -q "$tmp/events.expected" "$tmp/events.$mode.p$p" > /dev/null ||
      fail "the source's events ($mode, p$p) differ from the C++ generator's"
  done
done
echo "events: $events, the same as the C++ generator's, in JavaScript and as Values, at p1 and p2"

# 2. Checkpoints: killed with SIGKILL twice, restarted each time at another parallelism (p2,
# then p3, then p1 to the end), a rate-limited run writes every event exactly once (the source's
# snapshot holds its position; at another parallelism the new subtasks skip what the old ones
# emitted).
count=$((events * 5))
out="$tmp/killed.jsonl"
args=("$job" --checkpoint-dir "$tmp/ck" --checkpoint-interval 100ms
      --set count="$count" --set rate=20000 --set out="$out")
parallelisms=(1 2 3)
start() {  # start RUN: at parallelism 2, then 3
  "$lightflusd" run "${args[@]}" --parallelism "${parallelisms[$1]}" 2>> "$tmp/err" &
  pid=$!
}
kill_loop 2 "$tmp/ck" start
[ -z "$kill_loop_finished" ] || fail "the run ended before its kill (count $count too small?)"
"$lightflusd" run "${args[@]}" --parallelism 1 2> "$tmp/err" ||
  { cat "$tmp/err" >&2; fail "the last restart failed"; }
grep -q "resuming from checkpoint" "$tmp/err" || fail "the last restart did not resume from a checkpoint"
"$nexmark" --write-events "$tmp/events-all.jsonl" --generate "$count" 2> /dev/null
canonical < "$tmp/events-all.jsonl" > "$tmp/killed.expected"
canonical < "$out" > "$tmp/killed.actual"
diff -q "$tmp/killed.expected" "$tmp/killed.actual" > /dev/null ||
  fail "after kill -9 and restarts at p2, p3, p1: $(wc -l < "$tmp/killed.actual") events written, $count expected once each"
echo "checkpoints: $count events exactly once after two kill -9 and restarts at p2, p3 and p1"

# 3. The queries.
for query in bench/nexmark/q*.ts; do
  q=$(basename "$query" .ts)
  # q5's, q7's and q8's windows are 10 s of event time, 10,000 events a second: they get 10
  # times the events so that more than a handful of windows close.
  n=$events
  case $q in q5 | q7 | q8) n=$((events * 10)) ;; esac
  [ -f "$tmp/events-$n.jsonl" ] || "$nexmark" --write-events "$tmp/events-$n.jsonl" --generate "$n" 2> /dev/null
  "$nexmark" --query "$q" --generate "$n" --sink print 2> /dev/null | canonical > "$tmp/$q.expected"
  [ -s "$tmp/$q.expected" ] || fail "$q: the C++ query printed no rows"
  for p in 1 2; do
    "$lightflusd" run "$query" --set generate="$n" --parallelism "$p" 2> "$tmp/err" |
      canonical > "$tmp/$q.p$p" || { cat "$tmp/err" >&2; fail "$q p$p: lightflusd failed"; }
    if ! diff -q "$tmp/$q.expected" "$tmp/$q.p$p" > /dev/null; then
      diff "$tmp/$q.expected" "$tmp/$q.p$p" | head -5 >&2
      fail "$q p$p: $(wc -l < "$tmp/$q.p$p") rows differ from the C++ query's $(wc -l < "$tmp/$q.expected")"
    fi
  done
  "$lightflusd" run "$query" --set events="$tmp/events-$n.jsonl" --parallelism 2 2> "$tmp/err" |
    canonical > "$tmp/$q.file" || { cat "$tmp/err" >&2; fail "$q from a file: lightflusd failed"; }
  diff -q "$tmp/$q.expected" "$tmp/$q.file" > /dev/null || fail "$q: the rows from the events file differ"
  lines=$("$lightflusd" run "$query" --set generate="$n" --set sink=null 2> /dev/null | wc -l)
  [ "$lines" -eq 0 ] || fail "$q: --set sink=null printed $lines lines"
  echo "$q: $n events, $(wc -l < "$tmp/$q.expected") rows, the same at p1, p2 and from the events file"
done
