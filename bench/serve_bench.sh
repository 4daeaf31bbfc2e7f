#!/usr/bin/env bash
# lightflusd serve: the time from POST /v1/jobs to a running job, and requests/s on
# GET /v1/jobs with 64 connections (wrk), each against a baseline measured in the same run:
#
# - POST-to-running (the 201 comes back once the job runs) against `lightflusd run` of the same
#   job bounded to one record (process start, V8, transpile, graph, run, exit);
# - GET /v1/jobs (the registry, every job's counters, JSON) against GET /healthz (the same
#   server, connections and HTTP parsing, no registry work).
#
#   bench/serve_bench.sh [LIGHTFLUSD] [JOBS] [SECONDS]
#
# JOBS (default 20) jobs are submitted one after the other and stay running (a rate-limited
# generator each) while wrk runs for SECONDS (default 10) per route.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
lightflusd=${1:-$root/build/bin/lightflusd}
jobs=${2:-20}
seconds=${3:-10}
command -v wrk > /dev/null || { echo "serve_bench.sh: needs wrk (scripts/setup.sh installs it)" >&2; exit 1; }
[ -x "$lightflusd" ] || { echo "serve_bench.sh: no $lightflusd (build the lightflusd target)" >&2; exit 1; }
tmp=$(mktemp -d)
daemon=""
cleanup() {
  [ -n "$daemon" ] && kill -TERM "$daemon" 2> /dev/null && wait "$daemon" 2> /dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

cat > "$tmp/ticker.ts" << 'JOB'
import { ExecutionContext, FileSink, Generator } from "lightflus";
export default function (ctx: ExecutionContext) {
  const to = ctx.param("to", "");
  const numbers = to === "" ? Generator.sequence(0).ratePerSecond(100) : Generator.sequence(0, Number(to));
  numbers.createFlow(ctx).map((n: number) => n * 2).sink(FileSink.lines<number>(ctx.param("output")));
}
JOB

"$lightflusd" serve --port 0 --data-dir "$tmp/data" --max-jobs 1000 > "$tmp/serve.out" 2> "$tmp/serve.log" &
daemon=$!
port=""
for _ in $(seq 100); do
  port=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$tmp/serve.log" | grep -o '[0-9]*$' || true)
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { echo "serve_bench.sh: the daemon did not start" >&2; cat "$tmp/serve.log" >&2; exit 1; }
base="http://127.0.0.1:$port"

now() { date +%s.%N; }
stats() {  # stats FILE: "min median max" of the numbers in FILE, in ms
  sort -n "$1" | awk '{ v[NR] = $1 * 1000 } END { printf "%.1f %.1f %.1f", v[1], v[int((NR + 1) / 2)], v[NR] }'
}

: > "$tmp/post.s"
for i in $(seq "$jobs"); do
  start=$(now)
  status=$(curl -sS -o "$tmp/body" -w '%{http_code}' --data-binary "@$tmp/ticker.ts" \
    "$base/v1/jobs?name=ticker$i&param.output=$tmp/out$i.txt")
  end=$(now)
  [ "$status" = 201 ] && grep -q '"status":"running"' "$tmp/body" ||
    { echo "serve_bench.sh: POST answered $status: $(cat "$tmp/body")" >&2; exit 1; }
  echo "$end - $start" | bc >> "$tmp/post.s"
done
: > "$tmp/run.s"
for i in $(seq 5); do
  start=$(now)
  "$lightflusd" run "$tmp/ticker.ts" --set to=0 --set output="$tmp/run$i.txt" > /dev/null
  end=$(now)
  echo "$end - $start" | bc >> "$tmp/run.s"
done

wrk_rate() {  # wrk_rate PATH: requests/s over 64 connections
  wrk -t 2 -c 64 -d "${seconds}s" --latency "$base$1" > "$tmp/wrk.txt"
  grep -q 'Non-2xx' "$tmp/wrk.txt" && { echo "serve_bench.sh: errors on $1" >&2; cat "$tmp/wrk.txt" >&2; exit 1; }
  awk '/Requests\/sec/ { print $2 }' "$tmp/wrk.txt"
}
health=$(wrk_rate /healthz)
health_p99=$(awk '/ 99%/ { print $2 }' "$tmp/wrk.txt")
list=$(wrk_rate /v1/jobs)
list_p99=$(awk '/ 99%/ { print $2 }' "$tmp/wrk.txt")

read -r post_min post_median post_max <<< "$(stats "$tmp/post.s")"
read -r run_min run_median run_max <<< "$(stats "$tmp/run.s")"
echo "lightflusd serve, $jobs running jobs, wrk -t 2 -c 64 -d ${seconds}s"
printf '%-44s min %7.1f ms  median %7.1f ms  max %7.1f ms\n' "POST /v1/jobs -> running ($jobs jobs)" "$post_min" "$post_median" "$post_max"
printf '%-44s min %7.1f ms  median %7.1f ms  max %7.1f ms\n' "baseline: lightflusd run, one record (5 runs)" "$run_min" "$run_median" "$run_max"
awk -v p="$post_median" -v r="$run_median" 'BEGIN { printf "%-44s %.2fx\n", "POST-to-running vs run (median)", p / r }'
printf '%-44s %10.0f requests/s  p99 %s\n' "GET /v1/jobs" "$list" "$list_p99"
printf '%-44s %10.0f requests/s  p99 %s\n' "baseline: GET /healthz" "$health" "$health_p99"
awk -v l="$list" -v h="$health" 'BEGIN { printf "%-44s %.2fx\n", "GET /v1/jobs vs GET /healthz", l / h }'
