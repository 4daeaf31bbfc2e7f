#!/usr/bin/env bash
# Every benchmark in one command: builds Release, runs each benchmark against the baseline it
# measures in the same run, and prints one table (benchmark, figure, baseline, ratio, peak RSS);
# the rows also go to a JSON file.
#
#   bench/run.sh [--quick] [--build-dir DIR] [--json FILE] [--only NAMES]
#
#   --quick          small inputs and one run each (a smoke test of the benchmarks, ~1 minute;
#                    its figures mean little)
#   --build-dir DIR  use this build (it must have the benchmarks and lightflusd) instead of
#                    building Release into build-bench/
#   --json FILE      where the rows go (default: bench-results.json in the current folder)
#   --only NAMES     a comma-separated subset of: word_count, nexmark, nexmark_ts, ts, kafka,
#                    checkpoint, redis, mysql (default: all that this build has)
#
# Rows: the figure is the benchmark's own (words/s, events/s, records/s, seconds); the baseline
# is what the same run measured for the hand-written loop, plain Node.js script, raw client or
# C++ query it compares with; the ratio says how Lightflus fares against it (> 1: faster);
# peak RSS is the largest resident set of the processes the benchmark ran (GNU time's %M).
# The raw outputs go to a log folder whose name is printed. See bench/README.md.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
quick=false
build_dir=""
json="${PWD}/bench-results.json"
only="word_count,nexmark,nexmark_ts,ts,kafka,checkpoint,redis,mysql"
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) quick=true; shift ;;
    --build-dir) build_dir=$2; shift 2 ;;
    --json) json=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "bench/run.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
wants() { [[ ",${only}," == *",$1,"* ]]; }

if [[ -z ${build_dir} ]]; then
  build_dir="${root}/build-bench"
  "${root}/scripts/build.sh" "${build_dir}" -DCMAKE_BUILD_TYPE=Release >&2
fi
bin="$(cd "${build_dir}" && pwd)/bin"
[[ -x /usr/bin/time ]] || { echo "bench/run.sh: needs GNU time (/usr/bin/time, package time)" >&2; exit 2; }

logs="$(mktemp -d /tmp/lightflus-bench.XXXXXX)"
rows="${logs}/rows.tsv"  # name \t figure \t unit \t baseline \t ratio \t rss_kb
: > "${rows}"
failed=()

# measure NAME COMMAND...: runs it with its output in $logs/NAME.log and its peak RSS in
# $logs/NAME.rss; a failure is reported and the rows of that benchmark are skipped.
measure() {
  local name=$1
  shift
  echo "bench/run.sh: ${name}: $*" >&2
  if /usr/bin/time -f '%M' -o "${logs}/${name}.rss" "$@" > "${logs}/${name}.log" 2>&1; then
    return 0
  fi
  echo "bench/run.sh: ${name} FAILED; its output:" >&2
  tail -20 "${logs}/${name}.log" >&2
  failed+=("${name}")
  return 1
}
rss() { tail -1 "${logs}/$1.rss" 2> /dev/null || echo 0; }
row() { printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >> "${rows}"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.2f", a / b; else print "" }'; }

# The hand-written word count loop against the job at p1 and p2 (best of the runs).
if wants word_count && [[ -x ${bin}/word_count_bench ]]; then
  args=(--mb 50 --runs 3)
  ${quick} && args=(--mb 2 --runs 1)
  if measure word_count "${bin}/word_count_bench" "${args[@]}"; then
    hand=$(awk '/^hand loop / { print $3 }' "${logs}/word_count.log")
    while IFS=$'\t' read -r variant best; do
      row "word count: ${variant}" "${best}" "words/s" "${hand}" "$(ratio "${best}" "${hand}")" "$(rss word_count)"
    done < <(awk '/^lightflus p[12] / { v = $1; i = 2; while ($i !~ /^[0-9]+$/) v = v " " $(i++); print v "\t" $i }' \
      "${logs}/word_count.log")
  fi
fi

# Nexmark from the generator: p1 and p2 against the hand-written loop (q0, q1, q2, q3, q5).
nexmark_rate() { sed -n 's/.* \([0-9]*\) events\/s$/\1/p' "${logs}/$1.log" | tail -1; }
events=10000000
${quick} && events=200000
if wants nexmark && [[ -x ${bin}/nexmark ]]; then
  for q in q0 q1 q2 q3 q4 q5 q7 q8; do
    base=""
    if [[ " q0 q1 q2 q3 q5 " == *" ${q} "* ]] &&
      measure "nexmark_${q}_baseline" "${bin}/nexmark" --query "${q}" --generate "${events}" --sink null --baseline; then
      base=$(nexmark_rate "nexmark_${q}_baseline")
    fi
    for p in 1 2; do
      measure "nexmark_${q}_p${p}" "${bin}/nexmark" --query "${q}" --generate "${events}" --sink null --parallelism "${p}" || continue
      figure=$(nexmark_rate "nexmark_${q}_p${p}")
      row "nexmark ${q} p${p} (C++)" "${figure}" "events/s" "${base}" "$(ratio "${figure}" "${base}")" "$(rss "nexmark_${q}_p${p}")"
    done
  done
fi

# Nexmark in TypeScript (bench/nexmark/qN.ts on lightflusd) against the C++ query at p1.
ts_events=2000000
${quick} && ts_events=50000
if wants nexmark_ts && [[ -x ${bin}/lightflusd && -x ${bin}/nexmark ]]; then
  for q in q0 q1 q2 q5; do
    [[ -f ${root}/bench/nexmark/${q}.ts ]] || continue
    measure "nexmark_ts_${q}_cpp" "${bin}/nexmark" --query "${q}" --generate "${ts_events}" --sink null || continue
    cpp=$(nexmark_rate "nexmark_ts_${q}_cpp")
    start=$(date +%s.%N)
    measure "nexmark_ts_${q}" "${bin}/lightflusd" run "${root}/bench/nexmark/${q}.ts" \
      --set generate="${ts_events}" --set sink=null || continue
    seconds=$(awk -v a="${start}" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
    figure=$(awk -v n="${ts_events}" -v s="${seconds}" 'BEGIN { printf "%.0f", n / s }')
    row "nexmark ${q} p1 (TypeScript, start-up included)" "${figure}" "events/s" "${cpp}" "$(ratio "${figure}" "${cpp}")" "$(rss "nexmark_ts_${q}")"
  done
fi

# TypeScript shapes against plain Node.js (bench/ts_bench.sh: medians of wall clock).
if wants ts && [[ -x ${bin}/lightflusd ]] && command -v node > /dev/null; then
  args=(--events 2000000 --mb 50 --runs 3)
  ${quick} && args=(--events 20000 --mb 1 --runs 1)
  if measure ts "${root}/bench/ts_bench.sh" "${args[@]}" "${bin}/lightflusd"; then
    while read -r name node p1 p2; do
      row "ts ${name} p1" "${p1}" "s" "${node}" "$(ratio "${node}" "${p1}")" "$(rss ts)"
      row "ts ${name} p2" "${p2}" "s" "${node}" "$(ratio "${node}" "${p2}")" "$(rss ts)"
    done < <(awk '$1 ~ /^(rolling|original|process|window|chain)$/ && NF >= 7 { print $1, $(NF-4), $(NF-3), $(NF-2) }' "${logs}/ts.log")
  fi
fi

# Kafka -> map -> Kafka on the dev broker against a raw librdkafka loop (throughput only).
if wants kafka && [[ -x ${bin}/kafka_bench ]]; then
  messages=1000000
  ${quick} && messages=20000
  latency_seconds=4
  ${quick} && latency_seconds=1
  if measure kafka "${bin}/kafka_bench" "${messages}" "${latency_seconds}"; then
    raw=$(sed -n 's/^raw librdkafka consume+produce: *\([0-9]*\) msgs\/s.*/\1/p' "${logs}/kafka.log" | head -1)
    job=$(sed -n 's/^lightflus Kafka -> map -> Kafka: *\([0-9]*\) msgs\/s.*/\1/p' "${logs}/kafka.log" | head -1)
    row "kafka -> map -> kafka p1" "${job}" "msgs/s" "${raw}" "$(ratio "${job}" "${raw}")" "$(rss kafka)"
    # Latency at half the lower maximum: lower is better, so the ratio is raw / job.
    raw_p99=$(sed -n 's/^raw librdkafka consume+produce: p50 .* p99 *\([0-9.]*\) ms/\1/p' "${logs}/kafka.log")
    job_p99=$(sed -n 's/^lightflus Kafka -> map -> Kafka: p50 .* p99 *\([0-9.]*\) ms/\1/p' "${logs}/kafka.log")
    row "kafka -> map -> kafka p99 latency" "${job_p99}" "ms" "${raw_p99}" "$(ratio "${raw_p99}" "${job_p99}")" "$(rss kafka)"
  fi
fi

# Throughput with checkpoints against the same job without (the cost of checkpointing).
if wants checkpoint && [[ -x ${bin}/checkpoint_bench ]]; then
  args=()
  ${quick} && args=(--records 200000 --runs 1)
  if measure checkpoint "${bin}/checkpoint_bench" "${args[@]}"; then
    without=$(sed -n 's/^throughput without checkpoints *\([0-9.]*\) M records\/s.*/\1/p' "${logs}/checkpoint.log")
    with=$(sed -n 's/^throughput with checkpoints *\([0-9.]*\) M records\/s.*/\1/p' "${logs}/checkpoint.log")
    to_records() { awk -v m="$1" 'BEGIN { if (m != "") printf "%.0f", m * 1e6 }'; }
    row "keyed job with checkpoints" "$(to_records "${with}")" "records/s" "$(to_records "${without}")" "$(ratio "${with}" "${without}")" "$(rss checkpoint)"
  fi
fi

# Sinks against their plain clients, on servers the benchmarks start.
if wants redis && [[ -x ${bin}/redis_bench ]] && command -v redis-server > /dev/null; then
  args=()
  ${quick} && args=(20000 1000 1)
  if measure redis "${bin}/redis_bench" "${args[@]}"; then
    loop=$(sed -n 's/^plain hiredis pipelined loop: *\([0-9]*\) records\/s.*/\1/p' "${logs}/redis.log")
    for p in 1 2; do
      job=$(sed -n "s/^job -> Redis sink, p${p}: *\([0-9]*\) records\/s.*/\1/p" "${logs}/redis.log")
      row "redis sink p${p}" "${job}" "records/s" "${loop}" "$(ratio "${job}" "${loop}")" "$(rss redis)"
    done
  fi
fi
if wants mysql && [[ -x ${bin}/mysql_bench ]] && command -v mariadbd > /dev/null; then
  args=()
  ${quick} && args=(5000 1)
  if measure mysql "${bin}/mysql_bench" "${args[@]}"; then
    best=$(sed -n 's/^best: .*plain bulk \([0-9]*\), job \([0-9]*\) records\/s.*/\1 \2/p' "${logs}/mysql.log")
    read -r bulk job <<< "${best:-0 0}"
    row "mysql sink p1" "${job}" "records/s" "${bulk}" "$(ratio "${job}" "${bulk}")" "$(rss mysql)"
    ts=$(sed -n 's/^best TypeScript job \([0-9]*\) records\/s.*/\1/p' "${logs}/mysql.log")
    [[ -n ${ts} ]] && row "mysql sink p1 (TypeScript job)" "${ts}" "records/s" "${bulk}" "$(ratio "${ts}" "${bulk}")" "$(rss mysql)"
  fi
fi

python3 - "${rows}" "${json}" "${quick}" <<'PY'
import json, os, platform, sys, time
rows_path, json_path, quick = sys.argv[1], sys.argv[2], sys.argv[3] == "true"
rows = []
for line in open(rows_path):
    name, figure, unit, baseline, ratio, rss = line.rstrip("\n").split("\t")
    num = lambda s: float(s) if s not in ("", None) else None
    rows.append({"benchmark": name, "figure": num(figure), "unit": unit, "baseline": num(baseline),
                 "ratio": num(ratio), "peak_rss_mb": round(int(rss or 0) / 1024, 1)})
fmt = lambda v: "-" if v is None else (f"{v:,.0f}" if v >= 100 else f"{v:.2f}")
print(f"| benchmark | figure | unit | same-run baseline | ratio | peak RSS MB |")
print(f"| --- | ---: | --- | ---: | ---: | ---: |")
for r in rows:
    ratio = "-" if r["ratio"] is None else f'{r["ratio"]:.2f}x'
    print(f'| {r["benchmark"]} | {fmt(r["figure"])} | {r["unit"]} | {fmt(r["baseline"])} | {ratio} | {r["peak_rss_mb"]} |')
meta = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "host": platform.node(),
        "cpus": os.cpu_count(), "load": os.getloadavg(), "quick": quick}
with open(json_path, "w") as out:
    json.dump({"meta": meta, "rows": rows}, out, indent=2)
print(f"\n{len(rows)} rows; JSON in {json_path}; load average {meta['load'][0]:.2f}")
unread = [r["benchmark"] for r in rows if r["figure"] is None]
if unread or not rows:
    sys.exit(f"bench/run.sh: no figure read for: {', '.join(unread) or 'any benchmark'} (did an output format change?)")
PY
echo "raw outputs: ${logs}"
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "bench/run.sh: failed: ${failed[*]}" >&2
  exit 1
fi
