#!/usr/bin/env bash
# kill -9 at random moments: a TypeScript job with the exactly-once Kafka sink writes every record
# once for read_committed readers.
#
#   test/kafka/lightflusd_exactly_once_kill_test.sh LIGHTFLUSD SOURCE_DIR [RECORDS] [KILLS]
#
# Starts a real Kafka broker (scripts/kafka.sh: Java 17, Maven, kcat), feeds RECORDS (default
# 100000) records "<key>:<seq>" into a 4-partition topic in chunks while test/kafka/jobs/
# kafkaSequenceCounts.ts (Kafka -> keyed count with a per-key sequence check -> Kafka
# `.exactlyOnce()`) runs under `lightflusd run --checkpoint-dir D --checkpoint-interval 200ms`,
# kills the job with SIGKILL at a random moment KILLS (default 5) times, restarting it with the
# same command at parallelism 2 and 1 in turn (every operator, the Kafka source's partition
# positions included, is re-split), then lets a last run finish the input (--set bounded=true).
# A read_committed reader (kcat) must then see, per key, counts 1, 2, ..., n once each, in
# order: no duplicate, no gap. The long variant: RECORDS=1000000 KILLS=10 (docs/kafka.md).
set -euo pipefail
lightflusd=$1
root=$2
records=${3:-100000}
kills=${4:-5}
keys=20
tmp=$(mktemp -d)
broker_pid=
producer_pid=
pid=
cleanup() {
  [ -n "$pid" ] && kill -9 "$pid" 2> /dev/null
  [ -n "$producer_pid" ] && kill "$producer_pid" 2> /dev/null
  if [ -n "$broker_pid" ]; then
    kill "$broker_pid" 2> /dev/null
    wait "$broker_pid" 2> /dev/null
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAILED: $*" >&2; exit 1; }
for tool in kcat java node; do
  command -v "$tool" > /dev/null || fail "$tool is needed"
done
job="$root/test/kafka/jobs/kafkaSequenceCounts.ts"
ck="$tmp/ck"
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
# Create both topics (4 partitions) before anyone writes: a metadata request for them.
kcat -b "$brokers" -L -t eo-in > /dev/null 2>&1 || true
kcat -b "$brokers" -L -t eo-out > /dev/null 2>&1 || true
for topic in eo-in eo-out; do
  for _ in $(seq 1 50); do
    [ "$(kcat -b "$brokers" -L -t "$topic" 2> /dev/null | grep -c 'partition [0-9]')" = 4 ] && break
    sleep 0.2
  done
done
broker_secs=$((SECONDS - started))

# Records [from, to): record i is "k<i % keys>:k<i % keys>:<i / keys + 1>" (Kafka key, value).
produce() {
  awk -v from="$1" -v to="$2" -v keys="$keys" \
    'BEGIN { for (i = from; i < to; i++) printf "k%d:k%d:%d\n", i % keys, i % keys, int(i / keys) + 1 }' |
    kcat -b "$brokers" -P -t eo-in -K:
}
# The producer feeds the input in 4 * KILLS chunks, one every 250 ms, while the job is killed.
chunks=$((kills * 4))
(
  for c in $(seq 0 $((chunks - 1))); do
    produce $((records * c / chunks)) $((records * (c + 1) / chunks))
    sleep 0.25
  done
) &
producer_pid=$!

# Without --checkpoint-dir the exactly-once sink is refused: it commits at checkpoints.
status=0
"$lightflusd" run "$job" --set brokers="$brokers" > /dev/null 2> "$tmp/no_ck.err" || status=$?
[ "$status" = 1 ] || { cat "$tmp/no_ck.err" >&2; fail "without --checkpoint-dir: exit $status, expected 1"; }
grep -q "the Kafka sink '.*' is exactly-once, which needs checkpoints: pass --checkpoint-dir DIR" \
  "$tmp/no_ck.err" || { cat "$tmp/no_ck.err" >&2; fail "without --checkpoint-dir: no clear error"; }

run_args() {  # PARALLELISM BOUNDED
  echo "$job" --parallelism "$1" --checkpoint-dir "$ck" --checkpoint-interval 200ms \
    --set brokers="$brokers" --set bounded="$2"
}

restored=0
kill_secs=$SECONDS
for i in $(seq 1 "$kills"); do
  p=$((i % 2 + 1))
  # shellcheck disable=SC2046 # word splitting of the argument list is wanted
  "$lightflusd" run $(run_args "$p" false) >> "$tmp/stdout" 2>> "$tmp/stderr" &
  pid=$!
  # A random moment after the run's first checkpoint (so that every run makes progress, however
  # slow the machine): 0 to 1.4 s after it (checkpoints every 200 ms).
  newest() { ls "$ck" 2> /dev/null | sort | tail -1 || true; }
  before=$(newest)
  for _ in $(seq 1 200); do
    [ "$(newest)" != "$before" ] && break
    kill -0 "$pid" 2> /dev/null || break
    sleep 0.05
  done
  ms=$((RANDOM % 1400))
  sleep "$((ms / 1000)).$(printf %03d $((ms % 1000)))"
  if ! kill -0 "$pid" 2> /dev/null; then
    status=0
    wait "$pid" || status=$?
    pid=
    tail -20 "$tmp/stderr" >&2
    fail "run $i (unbounded) ended by itself with status $status"
  fi
  kill -9 "$pid"
  wait "$pid" 2> /dev/null || true
  pid=
done
kill_secs=$((SECONDS - kill_secs))
wait "$producer_pid" || fail "producing the input failed"
producer_pid=
last_secs=$SECONDS
# shellcheck disable=SC2046
"$lightflusd" run $(run_args 2 true) >> "$tmp/stdout" 2>> "$tmp/stderr" ||
  { tail -30 "$tmp/stderr" >&2; fail "the last run failed"; }
last_secs=$((SECONDS - last_secs))
restored=$(grep -c "resuming from checkpoint" "$tmp/stderr" || true)
[ "$restored" -ge 2 ] || { cat "$tmp/stderr" >&2; fail "only $restored runs resumed from a checkpoint"; }
[ "$(ls -A "$ck")" = FINISHED ] || fail "the finished job left in $ck: $(ls -A "$ck" | tr '\n' ' ')"

# Every key's counts 1..n once each, in order, with count === seq; RECORDS records in all.
read_secs=$SECONDS
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
' "$tmp/out.jsonl" "$records" "$keys" || { tail -20 "$tmp/stderr" >&2; fail "the output after $kills kills"; }
aborted=$(kcat -b "$brokers" -C -t eo-out -o beginning -e -q -X isolation.level=read_uncommitted \
  -f '%s\n' | wc -l)
echo "exactly-once kill -9: $kills kills at parallelism 2/1, $restored resumed from a checkpoint," \
  "$records records exactly once for read_committed ($aborted written in all, the rest aborted);" \
  "broker start ${broker_secs} s, kills ${kill_secs} s, last run ${last_secs} s, read ${read_secs} s," \
  "total $((SECONDS - started)) s"
