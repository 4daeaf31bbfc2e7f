#!/usr/bin/env bash
# A job whose process dies by a signal, or whose JavaScript outgrows its heap limit, does not
# touch the daemon or the other jobs.
#
# Three jobs in one daemon (--max-restarts 2 --heap-limit 64): a steady ticker, a victim ticker
# and a job that grows its heap without bound. The growing job ends `failed` at once (no restart:
# it would fail again) with the heap limit in its error. The victim's process is killed with
# SIGSEGV (V8 code cannot segfault on purpose; the supervisor sees the same as after a real
# crash) three times: the supervisor restarts it from its checkpoint after 1 s, then after 2 s,
# and the third time marks it `failed` with the signal (after 2 restarts). Throughout, the daemon answers, the steady ticker runs and its
# counters move, and the victim's file holds 0, 2, 4, ... each once. A restarted daemon resumes
# only the steady ticker.
#
#   lightflusd_isolation_test.sh LIGHTFLUSD SOURCE_DIR
set -euo pipefail
# Under AddressSanitizer (CI's second build) a SIGSEGV would be caught by ASan's handler, which
# reports and exits with status 1: let the signal kill the job's process, as it does otherwise.
export ASAN_OPTIONS="${ASAN_OPTIONS:+${ASAN_OPTIONS}:}handle_segv=0"
lightflusd=$1
root=$2
jobs="$root/test/server/jobs"
tmp=$(mktemp -d)
daemon=
cleanup() {
  if [ -n "$daemon" ]; then
    kill -TERM "$daemon" 2> /dev/null
    wait "$daemon" 2> /dev/null
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
# A job process killed with SIGSEGV must not leave a core file behind.
ulimit -c 0

fail() {
  echo "FAILED: $*" >&2
  for log in "$tmp"/*.log; do echo "--- $log" >&2; tail -n 30 "$log" >&2; done
  exit 1
}

data="$tmp/data"
start_daemon() {  # start_daemon NAME: sets $daemon and $base
  local name=$1 port=
  : > "$tmp/$name.log"
  "$lightflusd" serve --port 0 --data-dir "$data" --checkpoint-interval 300ms --max-restarts 2 \
    --heap-limit 64 > "$tmp/$name.out" 2> "$tmp/$name.log" &
  daemon=$!
  for _ in $(seq 100); do
    port=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$tmp/$name.log" | grep -o '[0-9]*$' || true)
    [ -n "$port" ] && break
    kill -0 "$daemon" 2> /dev/null || fail "$name: the daemon exited"
    sleep 0.1
  done
  [ -n "$port" ] || fail "$name: the daemon did not start"
  base="http://127.0.0.1:$port"
}

request() {  # request EXPECTED-STATUS CURL-ARGS...: the body in $tmp/body
  local expected=$1 status
  shift
  status=$(curl -sS -H 'Expect:' --max-time 5 -o "$tmp/body" -w '%{http_code}' "$@") || fail "curl $*"
  [ "$status" = "$expected" ] || fail "curl $*: status $status, expected $expected: $(cat "$tmp/body")"
}

json() {  # json EXPRESSION: a field of the JSON in $tmp/body (EXPRESSION over `d`)
  python3 -c "import json,sys; d=json.load(open('$tmp/body')); print($1)"
}

wait_status() {  # wait_status ID STATUS SECONDS
  for _ in $(seq $(($3 * 10))); do
    request 200 "$base/v1/jobs/$1"
    [ "$(json 'd["status"]')" = "$2" ] && return 0
    sleep 0.1
  done
  fail "job $1 is $(json 'd["status"]'), not $2 after $3 s: $(cat "$tmp/body")"
}

job_pid() {  # job_pid ID: the pid of the job's process, empty while it has none
  pgrep -f "job-process --control-fd 3 --job-dir $data/jobs/$1( |$)" || true
}

# The steady ticker is running, its records-out counter above $1 (sets $steady_out), and the
# daemon answers its other routes.
check_steady() {
  kill -0 "$daemon" 2> /dev/null || fail "the daemon died"
  request 200 "$base/healthz"
  request 200 "$base/v1/jobs"
  request 200 "$base/v1/jobs/$steady"
  [ "$(json 'd["status"]')" = running ] || fail "the steady ticker: $(cat "$tmp/body")"
  steady_out=$(json 'd["recordsOut"]')
  [ "$steady_out" -gt "$1" ] || fail "the steady ticker stopped at $steady_out records"
}

start_daemon d0
request 201 --data-binary "@$jobs/ticker.ts" "$base/v1/jobs?name=steady&param.output=$data/steady.txt"
steady=$(json 'd["id"]')
request 201 --data-binary "@$jobs/ticker.ts" "$base/v1/jobs?name=victim&param.output=$data/victim.txt"
victim=$(json 'd["id"]')
request 201 --data-binary "@$root/test/js/jobs/runaway_allocation.ts" "$base/v1/jobs?name=hoard"
hoard=$(json 'd["id"]')

# The job that outgrows its heap limit fails; the others go on.
wait_status "$hoard" failed 30
error=$(json 'd["error"]')
[[ "$error" == *"JavaScript heap limit of 64 MiB exceeded"* ]] || fail "the hoard job failed with: $error"
# A failure inside the engine is not restarted: it would fail again.
[ "$(json 'd["restarts"]')" = 0 ] || fail "the hoard job was restarted: $(cat "$tmp/body")"
echo "hoard: failed ($(echo "$error" | head -n 1))"
steady_out=0
check_steady 0

# SIGSEGV to the victim's process: restarts after 1 s and 2 s, then failed.
for kill in 1 2 3; do
  for _ in $(seq 100); do
    request 200 "$base/v1/jobs/$victim"
    [ "$(json 'd["checkpoints"]["completed"]')" -gt 0 ] && [ -n "$(job_pid "$victim")" ] && break
    sleep 0.1
  done
  pid=$(job_pid "$victim")
  [ -n "$pid" ] || fail "kill $kill: the victim has no process: $(cat "$tmp/body")"
  before=$steady_out
  killed_at=$(date +%s%N)
  kill -SEGV "$pid"
  if [ "$kill" -le 2 ]; then
    delay=$((1000 << (kill - 1)))
    # The supervisor says why and when it restarts; the job stays `running` while it waits.
    for _ in $(seq 50); do
      request 200 "$base/v1/jobs/$victim"
      [[ "$(json 'd["error"]')" == "restarting in $delay ms (restart $kill of 2) after"* ]] && break
      sleep 0.1
    done
    error=$(json 'd["error"]')
    [[ "$error" == "restarting in $delay ms (restart $kill of 2) after"*"signal 11"* ]] ||
      fail "kill $kill: the victim's error: $error"
    [ "$(json 'd["status"]')" = running ] || fail "kill $kill: the victim while it waits: $(cat "$tmp/body")"
    check_steady "$before"
    new_pid=
    for _ in $(seq $((delay / 50 + 100))); do
      new_pid=$(job_pid "$victim")
      [ -n "$new_pid" ] && [ "$new_pid" != "$pid" ] && break
      sleep 0.05
    done
    [ -n "$new_pid" ] || fail "kill $kill: the victim was not restarted"
    waited=$((($(date +%s%N) - killed_at) / 1000000))
    [ "$waited" -ge $((delay - 100)) ] || fail "kill $kill: restarted after $waited ms, before its backoff of $delay ms"
    wait_status "$victim" running 10
    [ "$(json 'd["restarts"]')" = "$kill" ] || fail "kill $kill: restarts: $(cat "$tmp/body")"
    echo "kill -SEGV $kill: restarted after $waited ms (backoff $delay ms)"
  else
    wait_status "$victim" failed 10
    error=$(json 'd["error"]')
    [[ "$error" == *"killed by signal 11"* && "$error" == *"(after 2 restarts)"* ]] ||
      fail "the victim failed with: $error"
    echo "kill -SEGV $kill: failed ($(echo "$error" | head -n 1))"
  fi
  sleep 0.5
  check_steady "$before"
done
# Every restart resumed the victim from its checkpoint and cut its file back: each number once.
[ "$(grep -c "($victim): resuming from checkpoint" "$tmp/d0.log")" = 2 ] ||
  fail "the victim did not resume from its checkpoints: $(grep -c "$victim" "$tmp/d0.log")"
python3 - "$data/victim.txt" << 'EOF' || fail "the victim's file"
import sys
numbers = [int(line) for line in open(sys.argv[1])]
if numbers != list(range(0, 2 * len(numbers), 2)):
    sys.exit(f"{len(numbers)} lines, not 0, 2, 4, ... each once")
EOF
before=$steady_out
sleep 1
check_steady "$before"
echo "the steady ticker went on: $steady_out records; the daemon answered throughout"

# A restarted daemon resumes the steady ticker only.
kill -TERM "$daemon"
wait "$daemon" || fail "the daemon exited with $? after SIGTERM"
start_daemon d1
grep -q '1 jobs resumed' "$tmp/d1.log" || fail "after a restart: $(grep listening "$tmp/d1.log")"
for id in "$victim" "$hoard"; do
  request 200 "$base/v1/jobs/$id"
  [ "$(json 'd["status"]')" = failed ] || fail "job $id after a restart: $(cat "$tmp/body")"
done
wait_status "$steady" running 10
kill -TERM "$daemon"
wait "$daemon" || fail "the daemon exited with $? after SIGTERM"
daemon=
echo "all lightflusd isolation tests passed"
