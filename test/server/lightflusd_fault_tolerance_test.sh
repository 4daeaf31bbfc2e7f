#!/usr/bin/env bash
# `lightflusd serve` survives kill -9 and SIGTERM without losing or doubling records, and a bad
# job cannot take the daemon or its neighbours down.
#
# 1. A file-sink job (the ticker: even numbers at 1000/s), a rolling-file job (0, 1, 2, ... at
#    1000/s into FileSink.rolling parts, two series) and an HttpSource job fed at a steady rate
#    by a client that retries until it gets a 200: the daemon is killed with -9 three times and
#    stopped with SIGTERM once; after each restart the three jobs resume from their
#    checkpoints. At the end the ticker's file holds 0, 2, 4, ... each exactly once, the
#    committed rolling parts hold 0 .. n-1 each exactly once, and every acknowledged click is in
#    the clicks file exactly once (a batch the client sent again after a lost answer may show
#    twice: the client cannot know it was taken).
# 2. A job that allocates 800 MB at once (V8 aborts its process) and one that spins forever
#    (--time-limit 0) beside a healthy ticker: the daemon answers, the ticker keeps its rate,
#    the allocating job ends `failed` with the signal after its restart, and a restarted daemon
#    does not resume it.
#
#   lightflusd_fault_tolerance_test.sh LIGHTFLUSD SOURCE_DIR
set -euo pipefail
lightflusd=$1
root=$2
jobs="$root/test/server/jobs"
tmp=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2> /dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2> /dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
  echo "FAILED: $*" >&2
  for log in "$tmp"/*.log; do echo "--- $log" >&2; tail -n 30 "$log" >&2; done
  exit 1
}

# start_daemon NAME ARGS...: starts lightflusd serve on a free port; sets $pid and $base.
start_daemon() {
  local name=$1
  shift
  "$lightflusd" serve --port 0 "$@" > "$tmp/$name.out" 2> "$tmp/$name.log" &
  pid=$!
  pids+=("$pid")
  port=
  for _ in $(seq 100); do
    port=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$tmp/$name.log" | grep -o '[0-9]*$' || true)
    [ -n "$port" ] && break
    kill -0 "$pid" 2> /dev/null || fail "$name: the daemon exited"
    sleep 0.1
  done
  [ -n "$port" ] || fail "$name: the daemon did not start"
  base="http://127.0.0.1:$port"
  echo "$base" > "$tmp/base"
}

request() {  # request EXPECTED-STATUS CURL-ARGS...: the body in $tmp/body
  local expected=$1 status
  shift
  status=$(curl -sS -H 'Expect:' -o "$tmp/body" -w '%{http_code}' "$@") || fail "curl $*"
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

# Waits until no job process of this test's data dir is left (they die with the daemon).
wait_children_gone() {
  for _ in $(seq 100); do
    pgrep -f "job-process --control-fd 3 --job-dir $tmp/" > /dev/null || return 0
    sleep 0.1
  done
  fail "job processes outlived their daemon: $(pgrep -af "job-process --control-fd 3 --job-dir $tmp/")"
}

# The client: batches of 20 clicks numbered from 1, each POSTed until it gets a 200 (to whatever
# daemon $tmp/base names), 10 batches a second. Acknowledged numbers go to acked.txt, batches sent
# again after a failed attempt to retried.txt.
feed() {
  local n=1 batch status attempts
  while [ ! -e "$tmp/stop-feeding" ]; do
    batch=$(seq "$n" $((n + 19)) | awk '{ printf "{\"user\":\"u%d\",\"n\":%d}\n", $1 % 5, $1 }')
    attempts=0
    while :; do
      status=$(printf '%s\n' "$batch" | curl -s -o /dev/null -w '%{http_code}' --max-time 10 \
        -H 'Content-Type: application/x-ndjson' --data-binary @- \
        "$(cat "$tmp/base")/v1/jobs/$(cat "$tmp/clicks-id")/events" || true)
      [ "$status" = 200 ] && break
      attempts=$((attempts + 1))
      sleep 0.2
    done
    seq "$n" $((n + 19)) >> "$tmp/acked.txt"
    [ "$attempts" -gt 0 ] && seq "$n" $((n + 19)) >> "$tmp/retried.txt"
    n=$((n + 20))
    sleep 0.1
  done
}

# --- 1. kill -9 and SIGTERM: nothing lost, nothing doubled -------------------------------------
data="$tmp/data"
daemon_flags=(--data-dir "$data" --checkpoint-interval 300ms --time-limit 5)
start_daemon d0 "${daemon_flags[@]}"
daemon=$pid
request 201 --data-binary "@$jobs/ticker.ts" "$base/v1/jobs?name=ticker&param.output=$data/ticker.txt"
ticker=$(json 'd["id"]')
request 201 --data-binary "@$jobs/rolling_ticker.ts" "$base/v1/jobs?name=rolling&param.output=$data/rolling"
request 201 --data-binary "@$jobs/clicks.ts" "$base/v1/jobs?name=clicks&param.output=$data/clicks.txt"
clicks=$(json 'd["id"]')
echo "$clicks" > "$tmp/clicks-id"
: > "$tmp/acked.txt"
: > "$tmp/retried.txt"
feed &
feeder=$!
pids+=("$feeder")

resumed_before=0
for round in 1 2 3 4; do
  sleep 2.5
  request 200 "$base/v1/jobs/$ticker"
  [ "$(json 'd["checkpoints"]["completed"]')" -gt 0 ] || fail "round $round: no checkpoint yet: $(cat "$tmp/body")"
  if [ "$round" = 4 ]; then
    kill -TERM "$daemon"
    wait "$daemon" || fail "the daemon exited with $? after SIGTERM"
    how=SIGTERM
  else
    kill -KILL "$daemon"
    wait "$daemon" 2> /dev/null || true
    how="kill -9"
  fi
  wait_children_gone
  start_daemon "d$round" "${daemon_flags[@]}"
  daemon=$pid
  grep -q '3 jobs resumed' "$tmp/d$round.log" || fail "round $round: $(grep listening "$tmp/d$round.log")"
  wait_status "$ticker" running 10
  for _ in $(seq 100); do
    resumed=$(cat "$tmp"/d*.log | grep -c 'resuming from checkpoint' || true)
    [ "$resumed" -ge $((resumed_before + 3)) ] && break
    sleep 0.1
  done
  [ "$resumed" -ge $((resumed_before + 3)) ] || fail "round $round: the jobs did not resume from checkpoints"
  resumed_before=$resumed
  echo "round $round ($how): the three jobs resumed from their checkpoints"
done
sleep 2
touch "$tmp/stop-feeding"
wait "$feeder"
acked=$(wc -l < "$tmp/acked.txt")
[ "$acked" -gt 200 ] || fail "only $acked clicks were acknowledged"
for _ in $(seq 100); do
  [ "$(wc -l < "$data/clicks.txt")" -ge "$acked" ] && break
  sleep 0.1
done
# Let a checkpoint complete after the last clicks, then stop the daemon once more and check.
sleep 1
kill -TERM "$daemon"
wait "$daemon" || fail "the daemon exited with $? after SIGTERM"
python3 - "$data/ticker.txt" "$data/clicks.txt" "$tmp/acked.txt" "$tmp/retried.txt" "$data/rolling" << 'EOF' || fail "records lost or doubled"
import collections, os, sys
rolling_dir = sys.argv[5]
parts = [p for p in os.listdir(rolling_dir) if not p.startswith(".")]
numbers = collections.Counter(int(line) for p in parts for line in open(os.path.join(rolling_dir, p)))
doubled = [n for n, c in numbers.items() if c > 1][:5]
missing = sorted(set(range(len(numbers))) - set(numbers))[:5]
if doubled or missing or len(numbers) < 3000:
    sys.exit(f"rolling: {len(numbers)} numbers in {len(parts)} committed parts, doubled {doubled}, "
             f"missing {missing}")
ticker = [int(line) for line in open(sys.argv[1])]
expected = list(range(0, 2 * len(ticker), 2))
if ticker != expected:
    counts = collections.Counter(ticker)
    doubled = [n for n, c in counts.items() if c > 1][:5]
    missing = sorted(set(expected) - set(ticker))[:5]
    sys.exit(f"ticker: {len(ticker)} lines, doubled {doubled}, missing {missing}")
clicks = collections.Counter(int(line.split()[1]) // 2 for line in open(sys.argv[2]))
acked = [int(line) for line in open(sys.argv[3])]
retried = set(int(line) for line in open(sys.argv[4]))
missing = [n for n in acked if clicks[n] == 0]
doubled = [n for n, c in clicks.items() if c > 1 and n not in retried]
if missing or doubled:
    sys.exit(f"clicks: missing {missing[:5]} ({len(missing)}), doubled {doubled[:5]} ({len(doubled)})")
print(f"ticker: {len(ticker)} numbers once each; rolling: 0..{len(numbers) - 1} once each in "
      f"{len(parts)} committed parts; clicks: {len(acked)} acknowledged, all there, "
      f"{sum(1 for n, c in clicks.items() if c > 1)} doubled of {len(retried)} sent twice")
EOF

# --- 2. A job that V8 aborts, one that spins, and a healthy neighbour --------------------------
start_daemon iso --data-dir "$tmp/iso" --time-limit 0 --max-restarts 1
daemon=$pid
request 201 --data-binary "@$jobs/ticker.ts" "$base/v1/jobs?name=ticker&param.output=$tmp/iso/ticker.txt"
ticker=$(json 'd["id"]')
request 201 --data-binary "@$jobs/spin.ts" "$base/v1/jobs?name=spin"
spin=$(json 'd["id"]')
request 201 --data-binary "@$jobs/oom.ts" "$base/v1/jobs?name=oom"
oom=$(json 'd["id"]')
wait_status "$oom" failed 30
error=$(json 'd["error"]')
[[ "$error" == *"killed by signal"* && "$error" == *"after 1 restarts"* ]] || fail "the oom job failed with: $error"
[ "$(json 'd["restarts"]')" = 1 ] || fail "the oom job restarted $(json 'd["restarts"]') times"
request 200 "$base/v1/jobs/$ticker"
[ "$(json 'd["status"]')" = running ] || fail "the ticker: $(cat "$tmp/body")"
rate=$(json 'd["recordsOutPerSecond"]')
python3 -c "exit(0 if $rate > 400 else 1)" || fail "the ticker slowed down to $rate records/s"
request 200 "$base/v1/jobs/$spin"
[ "$(json 'd["status"]')" = running ] || fail "the spinning job: $(cat "$tmp/body")"
echo "oom: failed ($(echo "$error" | head -n 1)); spin still spinning; the ticker at $rate records/s"
kill -TERM "$daemon"
wait "$daemon" || fail "the daemon exited with $? after SIGTERM"
wait_children_gone
start_daemon iso2 --data-dir "$tmp/iso" --time-limit 0 --max-restarts 1
daemon=$pid
grep -q '2 jobs resumed' "$tmp/iso2.log" || fail "after a restart: $(grep listening "$tmp/iso2.log")"
request 200 "$base/v1/jobs/$oom"
[ "$(json 'd["status"]')" = failed ] || fail "the oom job after a restart: $(cat "$tmp/body")"
request 204 -X DELETE "$base/v1/jobs/$spin"
request 200 "$base/healthz"
kill -TERM "$daemon"
wait "$daemon" || fail "the daemon exited with $? after SIGTERM"
echo "a restarted daemon did not resume the failed job"
echo "all lightflusd fault tolerance tests passed"
