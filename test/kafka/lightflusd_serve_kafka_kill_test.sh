#!/usr/bin/env bash
# `lightflusd serve` with an exactly-once Kafka job survives kill -9 of the daemon and of the
# job's process: read_committed readers see every record once.
#
#   test/kafka/lightflusd_serve_kafka_kill_test.sh LIGHTFLUSD SOURCE_DIR [RECORDS] [ROUNDS]
#
# Starts a real Kafka broker (scripts/kafka.sh: Java 17, Maven, kcat) and a daemon
# (--checkpoint-interval 200ms), submits test/kafka/jobs/kafkaSequenceCounts.ts (Kafka -> keyed
# count with a per-key sequence check -> Kafka `.exactlyOnce()`) at parallelism 2 and feeds
# RECORDS (default 40000) records "<key>:<seq>" into its input in chunks. Then ROUNDS (default 6)
# times, at a random moment: kill -9 the daemon (and restart it with the same data dir), kill -9
# the job's process (the daemon restarts it after its backoff), or SIGTERM the daemon, in turn.
# After each round the job must resume from a checkpoint. At the end a read_committed reader
# (kcat) must see, per key, counts 1, 2, ..., n once each, in order: no duplicate, no gap, and
# the job is still running with no error.
set -euo pipefail
lightflusd=$1
root=$2
records=${3:-40000}
rounds=${4:-6}
keys=20
tmp=$(mktemp -d)
broker_pid=
producer_pid=
daemon=
cleanup() {
  if [ -n "$daemon" ]; then
    kill -TERM "$daemon" 2> /dev/null
    wait "$daemon" 2> /dev/null
  fi
  [ -n "$producer_pid" ] && kill "$producer_pid" 2> /dev/null
  # Job processes stop when their daemon is gone; a kill -9 here only for one that hangs.
  for p in $(pgrep -f "job-process --control-fd 3 --job-dir $tmp/"); do kill -KILL "$p" 2> /dev/null; done
  if [ -n "$broker_pid" ]; then
    kill "$broker_pid" 2> /dev/null
    wait "$broker_pid" 2> /dev/null
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
  echo "FAILED: $*" >&2
  for log in "$tmp"/*.log; do echo "--- $log" >&2; tail -n 20 "$log" >&2; done
  exit 1
}
for tool in kcat java node curl python3; do
  command -v "$tool" > /dev/null || fail "$tool is needed"
done
started=$SECONDS

# The broker; topics it creates on first use get 4 partitions.
LIGHTFLUS_KAFKA_PARTITIONS=4 "$root/scripts/kafka.sh" start > "$tmp/broker.out" 2> "$tmp/broker.err" &
broker_pid=$!
for _ in $(seq 1 300); do
  grep -q '^bootstrap ' "$tmp/broker.out" 2> /dev/null && break
  kill -0 "$broker_pid" 2> /dev/null || { cat "$tmp/broker.err" >&2; fail "the broker did not start"; }
  sleep 0.2
done
brokers=$(sed -n 's/^bootstrap //p' "$tmp/broker.out")
[ -n "$brokers" ] || { cat "$tmp/broker.err" >&2; fail "the broker did not start within 60 s"; }
kcat -b "$brokers" -L -t eo-in > /dev/null 2>&1 || true
kcat -b "$brokers" -L -t eo-out > /dev/null 2>&1 || true
for topic in eo-in eo-out; do
  for _ in $(seq 1 50); do
    [ "$(kcat -b "$brokers" -L -t "$topic" 2> /dev/null | grep -c 'partition [0-9]')" = 4 ] && break
    sleep 0.2
  done
done
broker_secs=$((SECONDS - started))

# start_daemon NAME: lightflusd serve on a free port over $data; sets $daemon and $base.
data="$tmp/data"
start_daemon() {
  local name=$1 port=
  : > "$tmp/$name.log"
  "$lightflusd" serve --port 0 --data-dir "$data" --checkpoint-interval 200ms \
    --max-restarts 10 > "$tmp/$name.out" 2> "$tmp/$name.log" &
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
  status=$(curl -sS -o "$tmp/body" -w '%{http_code}' "$@") || fail "curl $*"
  [ "$status" = "$expected" ] || fail "curl $*: status $status, expected $expected: $(cat "$tmp/body")"
}

json() {  # json EXPRESSION: a field of the JSON in $tmp/body (EXPRESSION over `d`)
  python3 -c "import json,sys; d=json.load(open('$tmp/body')); print($1)"
}

job_pid() {  # the pid of the job's process, empty if there is none
  pgrep -f "job-process --control-fd 3 --job-dir $data/jobs/$job( |$)" || true
}

# Waits until no job process of this test's data dir is left (they stop with their daemon).
wait_children_gone() {
  for _ in $(seq 100); do
    pgrep -f "job-process --control-fd 3 --job-dir $tmp/" > /dev/null || return 0
    sleep 0.1
  done
  fail "job processes outlived their daemon: $(pgrep -af "job-process --control-fd 3 --job-dir $tmp/")"
}

# Waits until the job has a process that has resumed from a checkpoint more often than $1 times
# (in all the daemons' logs) and has completed a checkpoint of its own.
wait_resumed() {
  local before=$1 resumed=0
  for _ in $(seq 150); do
    resumed=$(cat "$tmp"/d*.log | grep -c 'resuming from checkpoint' || true)
    if [ "$resumed" -gt "$before" ]; then
      request 200 "$base/v1/jobs/$job"
      [ "$(json 'd["status"]')" = running ] || fail "the job is not running: $(cat "$tmp/body")"
      [ "$(json 'd["checkpoints"]["completed"]')" -gt 0 ] && return 0
    fi
    sleep 0.1
  done
  fail "the job did not resume from a checkpoint ($resumed resumes, $before before)"
}

start_daemon d0
request 201 --data-binary "@$root/test/kafka/jobs/kafkaSequenceCounts.ts" \
  "$base/v1/jobs?name=kafka&parallelism=2&param.brokers=$brokers"
job=$(json 'd["id"]')

# Records [from, to): record i is "k<i % keys>:k<i % keys>:<i / keys + 1>" (Kafka key, value).
produce() {
  awk -v from="$1" -v to="$2" -v keys="$keys" \
    'BEGIN { for (i = from; i < to; i++) printf "k%d:k%d:%d\n", i % keys, i % keys, int(i / keys) + 1 }' |
    kcat -b "$brokers" -P -t eo-in -K:
}
# The input in 30 chunks a round, one every 100 ms, so that records flow while the daemon and the
# job are killed.
chunks=$((rounds * 30))
(
  for c in $(seq 0 $((chunks - 1))); do
    produce $((records * c / chunks)) $((records * (c + 1) / chunks))
    sleep 0.1
  done
) &
producer_pid=$!

kill_secs=$SECONDS
resumed=0
job_kills=0
daemon_kills=0
for round in $(seq 1 "$rounds"); do
  # A random moment 0.3 to 1.8 s after the job runs again, once it has a checkpoint.
  ms=$((RANDOM % 1500 + 300))
  sleep "$((ms / 1000)).$(printf %03d $((ms % 1000)))"
  for _ in $(seq 100); do
    request 200 "$base/v1/jobs/$job"
    [ "$(json 'd["checkpoints"]["completed"]')" -gt 0 ] && break
    sleep 0.1
  done
  case $((round % 3)) in
    1 | 0)
      if [ "$round" = 3 ]; then
        how=SIGTERM
        kill -TERM "$daemon"
        wait "$daemon" || fail "round $round: the daemon exited with $? after SIGTERM"
      else
        how="kill -9 of the daemon"
        kill -KILL "$daemon"
        wait "$daemon" 2> /dev/null || true
        daemon_kills=$((daemon_kills + 1))
      fi
      daemon=
      wait_children_gone
      start_daemon "d$round"
      grep -q '1 jobs resumed' "$tmp/d$round.log" || fail "round $round: $(grep listening "$tmp/d$round.log")"
      ;;
    2)
      how="kill -9 of the job's process"
      pid=$(job_pid)
      [ -n "$pid" ] || fail "round $round: no process for job $job: $(pgrep -af job-process)"
      kill -KILL "$pid"
      job_kills=$((job_kills + 1))
      ;;
  esac
  wait_resumed "$resumed"
  resumed=$(cat "$tmp"/d*.log | grep -c 'resuming from checkpoint' || true)
  echo "round $round ($how): the job resumed from a checkpoint"
done
kill_secs=$((SECONDS - kill_secs))
wait "$producer_pid" || fail "producing the input failed"
producer_pid=

# Wait until the read_committed output holds as many records as went in (or time out), then
# check every key's counts 1..n once each, in order, with count === seq.
read_secs=$SECONDS
lines=0
for _ in $(seq 60); do
  kcat -b "$brokers" -C -t eo-out -o beginning -e -q -X isolation.level=read_committed \
    -f '%s\n' > "$tmp/out.jsonl" || fail "kcat could not read the output"
  lines=$(wc -l < "$tmp/out.jsonl")
  [ "$lines" -ge "$records" ] && break
  sleep 1
done
# One more checkpoint interval and read: records written twice would show up now.
sleep 1
kcat -b "$brokers" -C -t eo-out -o beginning -e -q -X isolation.level=read_committed \
  -f '%s\n' > "$tmp/out.jsonl" || fail "kcat could not read the output"
read_secs=$((SECONDS - read_secs))
node -e '
  const fs = require("fs");
  const [path, records, keys] = [process.argv[1], +process.argv[2], +process.argv[3]];
  const last = new Map();
  let lines = 0, problems = 0;
  const problem = (m) => { if (problems++ < 10) console.error(m); };
  for (const line of fs.readFileSync(path, "utf8").split("\n")) {
    if (!line) continue;
    lines++;
    const r = JSON.parse(line);
    const want = (last.get(r.key) || 0) + 1;
    if (r.count !== want || r.seq !== r.count)
      problem(`key ${r.key}: count ${r.count} (seq ${r.seq}) after ${want - 1}` +
              (r.count < want ? " (a duplicate)" : " (a gap)"));
    last.set(r.key, Math.max(want - 1, r.count));
  }
  for (let k = 0; k < keys; k++) {
    const want = Math.floor(records / keys) + (k < records % keys ? 1 : 0);
    if (last.get(`k${k}`) !== want) problem(`key k${k}: ends at ${last.get(`k${k}`)}, expected ${want}`);
  }
  if (lines !== records) problem(`${lines} records, expected ${records}`);
  process.exit(problems ? 1 : 0);
' "$tmp/out.jsonl" "$records" "$keys" || fail "the output after $rounds rounds"

request 200 "$base/v1/jobs/$job"
[ "$(json 'd["status"]')" = running ] || fail "the job at the end: $(cat "$tmp/body")"
restarts=$(json 'd["restarts"]')
[ "$restarts" -ge "$job_kills" ] || fail "restarts: $(cat "$tmp/body")"
request 200 "$base/healthz"
written=$(kcat -b "$brokers" -C -t eo-out -o beginning -e -q -X isolation.level=read_uncommitted \
  -f '%s\n' | wc -l)
echo "serve exactly-once: $daemon_kills kill -9 of the daemon, 1 SIGTERM, $job_kills kill -9 of the" \
  "job's process; $resumed resumes from a checkpoint, $restarts restarts by the supervisor; $records records exactly once for" \
  "read_committed ($written written in all); broker start ${broker_secs} s, rounds ${kill_secs} s," \
  "read ${read_secs} s, total $((SECONDS - started)) s"
