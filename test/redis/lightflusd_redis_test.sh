#!/usr/bin/env bash
# `lightflusd run` writes the original API's word count to a real redis-server: its own server
# on a free loopback port in a temp dir (no persistence), checked with redis-cli against an
# independent count (tr | sort | uniq), at parallelism 1 and 2.
#
#   lightflusd_redis_test.sh LIGHTFLUSD SOURCE_DIR
set -euo pipefail
lightflusd=$1
root=$2
input="$root/examples/data/sample.txt"
tmp=$(mktemp -d)
pid=
cleanup() {
  if [ -n "$pid" ]; then kill -9 "$pid" 2> /dev/null || true; wait "$pid" 2> /dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAILED: $*" >&2; exit 1; }

# A free port: redis-server refuses to start on a taken one, then try another.
for attempt in 1 2 3 4 5; do
  port=$((20000 + RANDOM % 40000))
  redis-server --port "$port" --bind 127.0.0.1 --dir "$tmp" --save "" --appendonly no \
    --logfile "$tmp/redis.log" &
  pid=$!
  for _ in $(seq 100); do
    redis-cli -p "$port" ping 2> /dev/null | grep -q PONG && break 2
    kill -0 "$pid" 2> /dev/null || break
    sleep 0.1
  done
  kill -9 "$pid" 2> /dev/null || true; wait "$pid" 2> /dev/null || true; pid=
done
[ -n "$pid" ] || fail "redis-server did not start: $(cat "$tmp/redis.log")"

tr -cs '[:alnum:]' '\n' < "$input" | tr '[:upper:]' '[:lower:]' | grep -v '^$' |
  LC_ALL=C sort | uniq -c | awk '{print $2, $1}' | LC_ALL=C sort > "$tmp/expected"
[ -s "$tmp/expected" ] || fail "empty expected counts"

for p in 1 2; do
  redis-cli -p "$port" flushall > /dev/null
  "$lightflusd" run "$root/test/redis/jobs/redisWordCount.ts" --parallelism "$p" \
    --set redis="127.0.0.1:$port" --set input="$input"
  : > "$tmp/got"
  while read -r word _; do
    echo "$word $(redis-cli -p "$port" --raw get "$word")" >> "$tmp/got"
  done < "$tmp/expected"
  diff "$tmp/expected" "$tmp/got" > /dev/null || { diff "$tmp/expected" "$tmp/got" | head; fail "counts p$p"; }
  keys=$(redis-cli -p "$port" dbsize)
  [ "$keys" = "$(wc -l < "$tmp/expected")" ] || fail "p$p wrote $keys keys"
  echo "parallelism $p: $keys words, counts match"
done
echo "lightflusd run -> Redis: all checks passed"
