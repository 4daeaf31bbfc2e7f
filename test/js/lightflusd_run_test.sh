#!/usr/bin/env bash
# `lightflusd run` end to end: the TypeScript word count against an independent count
# (tr | sort | uniq) from a file and from stdin at parallelism 1 and 2, the original API's
# namespaced jobs, a windowed job, the documented errors (each with a non-zero exit, no crash
# and no hang), the dead-letter policy (for throwing UDFs and malformed JSON lines), the report
# of late elements and dead letters at the end, stopping with SIGINT/SIGTERM, and a finished
# job's checkpoint directory (a rerun does nothing; --fresh starts over).
#
#   lightflusd_run_test.sh LIGHTFLUSD SOURCE_DIR
set -euo pipefail
lightflusd=$1
root=$2
jobs="$root/test/js/jobs"
input="$root/examples/data/sample.txt"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$root"

fail() { echo "FAILED: $*" >&2; exit 1; }

# The largest count printed per word (the reduce is rolling: the last update is the total).
final_counts() { awk '{ if ($2 > c[$1]) c[$1] = $2 } END { for (w in c) print w, c[w] }' | LC_ALL=C sort; }

tr -cs '[:alnum:]' '\n' < "$input" | tr '[:upper:]' '[:lower:]' | grep -v '^$' |
  LC_ALL=C sort | uniq -c | awk '{print $2, $1}' | LC_ALL=C sort > "$tmp/expected"
[ -s "$tmp/expected" ] || fail "empty expected counts"

# 1. The word count (original API style), from the file and from stdin ("-").
for p in 1 2; do
  "$lightflusd" run examples/ts/wordCount.ts --parallelism "$p" | final_counts > "$tmp/p$p"
  diff -q "$tmp/expected" "$tmp/p$p" > /dev/null || { diff "$tmp/expected" "$tmp/p$p" | head; fail "wordCount.ts p$p"; }
done
"$lightflusd" run examples/ts/wordCount.ts --set input=- < "$input" | final_counts > "$tmp/stdin"
diff -q "$tmp/expected" "$tmp/stdin" > /dev/null || fail "wordCount.ts from stdin"

# 2. The original API as plain JavaScript (namespaced require of the original module paths).
"$lightflusd" run "$jobs/originalFileWordCount.js" --set input="$input" --parallelism 2 |
  LC_ALL=C sort > "$tmp/original"
diff -q "$tmp/expected" "$tmp/original" > /dev/null || fail "originalFileWordCount.js"

# 3. The windowed job: every click is counted in exactly one window.
total=$("$lightflusd" run examples/ts/windowedClicks.ts --set events=5000 --parallelism 2 |
  awk '{ s += $3 } END { print s }')
[ "$total" = 5000 ] || fail "windowedClicks.ts counted $total clicks, not 5000"

# 4. Errors: the documented message, exit status 1 (not a crash's 134/139), within 15 s.
expect_error() {  # NAME EXPECTED-TEXT -- ARGS...
  local name=$1 text=$2 status=0 started=$SECONDS
  shift 3
  timeout 15 "$lightflusd" run "$@" > /dev/null 2> "$tmp/$name.err" || status=$?
  [ "$status" = 1 ] || { cat "$tmp/$name.err" >&2; fail "$name: exit status $status, expected 1"; }
  grep -qF -- "$text" "$tmp/$name.err" || { cat "$tmp/$name.err" >&2; fail "$name: no '$text'"; }
  echo "$name: $(head -c 300 "$tmp/$name.err") ($((SECONDS - started)) s)"
}
expect_error syntax "syntax_error.ts:4:65: error TS1109: Expression expected." -- "$jobs/syntax_error.ts"
expect_error throw "operator 'times ten' (subtask 1): Error: cannot handle 3 (at throwing_udf.ts:8:" \
  -- "$jobs/throwing_udf.ts"
expect_error loop "operator 'forever' (subtask 1): user function exceeded the 1 s time limit" \
  -- "$jobs/infinite_loop.ts" --time-limit 1
expect_error heap "operator 'hoard' (subtask 1): JavaScript heap limit of 64 MiB exceeded" \
  -- "$jobs/runaway_allocation.ts" --heap-limit 64
expect_error fs 'require("fs") is not available in a Lightflus job: jobs run sandboxed without Node.js built-ins (at require_fs.ts:2:' \
  -- "$jobs/require_fs.ts"
# The original job (Kafka -> Redis) loads unmodified and, with neither Kafka on localhost:9092
# nor Redis on localhost:6379, fails cleanly: the first connector to give up names its address
# (test/redis runs the same job shape against a real redis-server).
expect_error original " within " -- "$jobs/originalWordCount.ts"
grep -qE "cannot connect to Redis at localhost:6379|cannot reach the brokers 'localhost:9092'" \
  "$tmp/original.err" || { cat "$tmp/original.err" >&2; fail "original: no connection error"; }
expect_error missing "cannot read the job file" -- "$tmp/no-such-job.ts"

# 5. Dead letters: the job goes on without the record, which goes to stderr as JSON.
"$lightflusd" run "$jobs/throwing_udf.ts" --on-error dead-letter > "$tmp/dl.out" 2> "$tmp/dl.err"
[ "$(tr '\n' ' ' < "$tmp/dl.out")" = "10 20 40 50 " ] || fail "dead-letter output: $(cat "$tmp/dl.out")"
grep -q '^{"deadLetter":{"job":"throwingUdf","operator":"times ten","error":"Error: cannot handle 3 (at throwing_udf.ts:8:[0-9]*)","record":3}}$' \
  "$tmp/dl.err" || { cat "$tmp/dl.err" >&2; fail "dead letter line"; }

# A malformed line of a JSON-lines file: without the policy the job fails naming the file and
# line; with it the line goes to the dead letters (file:line, the raw text) and the job goes on.
printf '{"n":1}\n{"n":2}\n{"n":\n\n{"n":4}\nnot json\n{"n":6}\n' > "$tmp/rows.jsonl"
expect_error malformed "$tmp/rows.jsonl:3: invalid JSON" -- "$jobs/json_lines.ts" --set input="$tmp/rows.jsonl"
"$lightflusd" run "$jobs/json_lines.ts" --set input="$tmp/rows.jsonl" --on-error dead-letter \
  > "$tmp/jl.out" 2> "$tmp/jl.err" || { cat "$tmp/jl.err" >&2; fail "json_lines.ts with dead letters failed"; }
[ "$(tr '\n' ' ' < "$tmp/jl.out")" = "2 4 8 12 " ] || fail "json_lines.ts output: $(cat "$tmp/jl.out")"
grep -c '"deadLetter"' "$tmp/jl.err" | grep -qx 2 || { cat "$tmp/jl.err" >&2; fail "json_lines.ts: not 2 dead letters"; }
grep -qF "\"error\":\"$tmp/rows.jsonl:3: invalid JSON" "$tmp/jl.err" && grep -qF '"record":"{\"n\":"' "$tmp/jl.err" ||
  { cat "$tmp/jl.err" >&2; fail "json_lines.ts: no dead letter for line 3"; }
grep -qF "\"error\":\"$tmp/rows.jsonl:6: invalid JSON" "$tmp/jl.err" && grep -qF '"record":"not json"' "$tmp/jl.err" ||
  { cat "$tmp/jl.err" >&2; fail "json_lines.ts: no dead letter for line 6"; }
grep -qE "^lightflusd run: job 'jsonLines': operator [0-9]+ 'file' \(source\): 2 dead letters; 0 records in, 4 out$" \
  "$tmp/jl.err" || { cat "$tmp/jl.err" >&2; fail "json_lines.ts: no report of 2 dead letters"; }

# 6. At its end the job reports, per operator, what it dropped: late elements and dead letters,
# with the operator's records in and out. Elements between the windows of a sliding window
# whose slide exceeds its size are dropped without being counted as late (Flink's rule).
"$lightflusd" run "$jobs/late_clicks.ts" --on-error dead-letter > "$tmp/late.out" 2> "$tmp/late.err" ||
  { cat "$tmp/late.err" >&2; fail "late_clicks.ts failed"; }
# 2500 clicks fall in windows; 19 of them are late and the click 777 falls in a gap.
total=$(awk '{ s += $1 } END { print s }' "$tmp/late.out")
[ "$total" = 2481 ] || fail "late_clicks.ts counted $total clicks in windows, not 2481"
# 25 windows for each of 3 users; the window got every click but the one that failed.
grep -qE "^lightflusd run: job 'lateClicks': operator [0-9]+ 'count' \(window\): 39 late elements dropped; 4999 records in, 75 out$" \
  "$tmp/late.err" || { cat "$tmp/late.err" >&2; fail "late_clicks.ts: no report of 39 late elements"; }
grep -qE "^lightflusd run: job 'lateClicks': operator [0-9]+ 'parse' \([a-zA-Z]+\): 1 dead letter; 5000 records in, 4999 out$" \
  "$tmp/late.err" || { cat "$tmp/late.err" >&2; fail "late_clicks.ts: no report of 1 dead letter"; }
grep -c '"deadLetter"' "$tmp/late.err" | grep -qx 1 || { cat "$tmp/late.err" >&2; fail "late_clicks.ts: not 1 dead letter"; }
# Nothing dropped, nothing reported.
"$lightflusd" run examples/ts/wordCount.ts > /dev/null 2> "$tmp/wc.err"
! grep -q "dropped\|dead letter" "$tmp/wc.err" || { cat "$tmp/wc.err" >&2; fail "wordCount.ts reported drops"; }

# 7. SIGINT and SIGTERM stop an endless job (and a UDF stuck in a loop) at once.
stop_with() {  # SIGNAL EXPECTED-STATUS JOB [ARGS...]
  local signal=$1 expected=$2 status=0
  shift 2
  "$lightflusd" run "$@" > /dev/null 2> "$tmp/stop.err" &
  local pid=$!
  sleep 1.5
  kill -s "$signal" "$pid"
  local started=$SECONDS
  wait "$pid" || status=$?
  [ "$status" = "$expected" ] || { cat "$tmp/stop.err" >&2; fail "$signal: exit status $status, expected $expected"; }
  [ $((SECONDS - started)) -le 5 ] || fail "$signal took $((SECONDS - started)) s to stop the job"
  echo "$signal: exit status $status"
}
stop_with INT 130 "$jobs/unbounded.ts" --parallelism 2
stop_with TERM 143 "$jobs/unbounded.ts"
stop_with INT 130 "$jobs/infinite_loop.ts" --time-limit 60

# 8. A bounded job run with --checkpoint-dir leaves a finished marker (and no checkpoints): the
# same command again (as after a kill between the job's end and the exit) says so on stderr,
# exits 0 and writes nothing; --fresh runs it again from the beginning.
ck="$tmp/finished-ck"
"$lightflusd" run examples/ts/wordCount.ts --checkpoint-dir "$ck" 2> "$tmp/fin.err" |
  final_counts > "$tmp/fin.1" || { cat "$tmp/fin.err" >&2; fail "wordCount.ts with --checkpoint-dir"; }
diff -q "$tmp/expected" "$tmp/fin.1" > /dev/null || fail "wordCount.ts with --checkpoint-dir: wrong counts"
[ "$(ls "$ck")" = FINISHED ] || fail "after the job finished, $ck holds: $(ls "$ck" | tr '\n' ' ')"
status=0
"$lightflusd" run examples/ts/wordCount.ts --checkpoint-dir "$ck" > "$tmp/fin.2" 2> "$tmp/fin.err" || status=$?
[ "$status" = 0 ] || { cat "$tmp/fin.err" >&2; fail "rerun of a finished job: exit $status, expected 0"; }
[ ! -s "$tmp/fin.2" ] || fail "rerun of a finished job wrote $(wc -l < "$tmp/fin.2") lines"
grep -q "already finished in $ck (job 'wordCount' finished at .* UTC).*--fresh" "$tmp/fin.err" ||
  { cat "$tmp/fin.err" >&2; fail "rerun of a finished job: no 'already finished' on stderr"; }
"$lightflusd" run examples/ts/wordCount.ts --checkpoint-dir "$ck" --fresh 2> "$tmp/fin.err" |
  final_counts > "$tmp/fin.3"
diff -q "$tmp/expected" "$tmp/fin.3" > /dev/null || { cat "$tmp/fin.err" >&2; fail "--fresh: wrong counts"; }
grep -q "removed 0 checkpoints and the finished marker" "$tmp/fin.err" || { cat "$tmp/fin.err" >&2; fail "--fresh said nothing"; }
for bad in "--fresh" "--fresh --checkpoint-dir $ck --from $ck"; do
  status=0
  # shellcheck disable=SC2086 # the flags are split on purpose
  "$lightflusd" run examples/ts/wordCount.ts $bad > /dev/null 2> "$tmp/fin.err" || status=$?
  [ "$status" = 2 ] || { cat "$tmp/fin.err" >&2; fail "run $bad: exit $status, expected 2"; }
done
echo "finished marker: a rerun does nothing (exit 0), --fresh starts over"

echo "lightflusd run: all checks passed"
