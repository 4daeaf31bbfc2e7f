#!/usr/bin/env bash
# `lightflusd dev-kafka` and the TypeScript Kafka connectors end to end, with kcat as an
# independent client: the broker prints its address first and stops on SIGTERM/SIGINT with
# status 0; kcat produces and consumes through it; examples/ts/kafkaWordCount.ts (bounded, at
# parallelism 1 and 2) reads the lines kcat produced and writes counts that kcat reads back
# exactly (against tr | sort | uniq); unreachable brokers fail the job with a clear error.
#
#   dev_kafka_test.sh LIGHTFLUSD SOURCE_DIR
set -euo pipefail
lightflusd=$1
root=$2
input="$root/examples/data/sample.txt"
tmp=$(mktemp -d)
broker_pid=
cleanup() {
  [ -z "$broker_pid" ] || kill -TERM "$broker_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
cd "$root"

fail() {
  echo "FAILED: $*" >&2
  for log in "$tmp"/*.err; do [ -s "$log" ] && { echo "--- $log" >&2; tail -n 20 "$log" >&2; }; done
  exit 1
}

# Starts dev-kafka with the given flags; sets broker_pid and brokers.
start_broker() {
  # A fresh file: the child truncates it only once it runs, and until then the check below
  # would see the previous broker's address (then read the file empty).
  rm -f "$tmp/broker.out" "$tmp/broker.err"
  "$lightflusd" dev-kafka "$@" > "$tmp/broker.out" 2> "$tmp/broker.err" &
  broker_pid=$!
  # Up to 30 s: a loaded CI machine can be slow to start it.
  for _ in $(seq 300); do [ -s "$tmp/broker.out" ] && break; sleep 0.1; done
  brokers=$(head -n 1 "$tmp/broker.out")
  [[ $brokers =~ ^127\.0\.0\.1:[0-9]+(,127\.0\.0\.1:[0-9]+)*$ ]] || fail "dev-kafka printed '$brokers', not an address"
  grep -q "development broker" "$tmp/broker.err" || fail "dev-kafka did not warn on stderr"
}

stop_broker() {  # SIGNAL
  local status=0
  kill "-$1" "$broker_pid"
  wait "$broker_pid" || status=$?
  broker_pid=
  [ "$status" = 0 ] || fail "dev-kafka exited with $status after SIG$1"
}

# 1. kcat produces and consumes through the dev broker; SIGTERM stops it with status 0.
start_broker --brokers 2 --topic t:3
printf 'one\ntwo\nthree\n' | kcat -P -b "$brokers" -t t
got=$(kcat -C -b "$brokers" -t t -e -q | LC_ALL=C sort | tr '\n' ' ')
[ "$got" = "one three two " ] || fail "kcat read back '$got'"
stop_broker TERM
status=0
"$lightflusd" dev-kafka --port 9092 2> "$tmp/port.err" || status=$?
[ "$status" = 2 ] && grep -q -- "--port is not supported" "$tmp/port.err" || fail "--port not rejected"

# 2. The Kafka word count: kcat fills "lines", the bounded job writes "counts", kcat reads them.
tr -cs '[:alnum:]' '\n' < "$input" | tr '[:upper:]' '[:lower:]' | grep -v '^$' |
  LC_ALL=C sort | uniq -c | awk '{print $2, $1}' | LC_ALL=C sort > "$tmp/expected"
final_counts() { awk '{ if ($2 > c[$1]) c[$1] = $2 } END { for (w in c) print w, c[w] }' | LC_ALL=C sort; }
updates=$(tr -cs '[:alnum:]' '\n' < "$input" | grep -vc '^$')
for p in 1 2; do
  start_broker --topic lines:2 --topic counts:2
  kcat -P -b "$brokers" -t lines -l "$input"
  timeout 60 "$lightflusd" run examples/ts/kafkaWordCount.ts --set brokers="$brokers" \
    --set bounded=true --parallelism "$p" || fail "kafkaWordCount.ts p$p failed"
  kcat -C -b "$brokers" -t counts -e -q -f '%k|%s\n' > "$tmp/counts"
  # Every word is one update, keyed by the word.
  [ "$(wc -l < "$tmp/counts")" = "$updates" ] || fail "p$p: $(wc -l < "$tmp/counts") updates, not $updates"
  awk -F'|' '{ split($2, f, " "); if ($1 != f[1]) exit 1 }' "$tmp/counts" || fail "p$p: a key is not its word"
  cut -d'|' -f2 "$tmp/counts" | final_counts > "$tmp/p$p"
  diff -q "$tmp/expected" "$tmp/p$p" > /dev/null || { diff "$tmp/expected" "$tmp/p$p" | head; fail "p$p counts"; }
  stop_broker INT
done

# 3. Unreachable brokers: exit status 1 with the connector's error after its timeout.
status=0
timeout 60 "$lightflusd" run examples/ts/kafkaWordCount.ts --set brokers=127.0.0.1:1 \
  --set bounded=true > /dev/null 2> "$tmp/unreachable.err" || status=$?
[ "$status" = 1 ] || { cat "$tmp/unreachable.err" >&2; fail "unreachable brokers: exit status $status"; }
grep -q "127.0.0.1:1" "$tmp/unreachable.err" || { cat "$tmp/unreachable.err" >&2; fail "no broker in the error"; }
echo "unreachable: $(head -c 300 "$tmp/unreachable.err")"
echo "dev-kafka and the Kafka word count: ok"
