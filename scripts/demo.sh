#!/usr/bin/env bash
# Runs the word-count demo: builds Lightflus, then counts the words of a text and prints the
# most frequent ones.
#
#   scripts/demo.sh [TEXT_FILE]      (default: examples/data/sample.txt)
#
# LIGHTFLUS_DEMO_SOURCE picks where the text comes from:
# - `kafka` (default): end to end on Kafka. Starts a development broker
#   (`build/bin/lightflusd dev-kafka --topic lines:2 --topic counts:2`), produces the text's
#   lines to "lines" with kcat, runs the TypeScript job examples/ts/kafkaWordCount.ts with
#   `lightflusd run` (bounded: it stops at the end of the lines), reads the rolling counts back
#   from "counts" with kcat and shows each word's final (largest) count. Everything it started
#   is stopped on exit. No external service is needed.
# - `file`: the text file read by the C++ example build/bin/word_count.
# LIGHTFLUS_DEMO_TOP sets how many words are shown (default 15); LIGHTFLUS_SKIP_SETUP=1 skips
# scripts/setup.sh.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${root}"

input="${1:-examples/data/sample.txt}"
source_kind="${LIGHTFLUS_DEMO_SOURCE:-kafka}"
build_dir="build"
top_words="${LIGHTFLUS_DEMO_TOP:-15}"

die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

prepare() {
  [[ ${LIGHTFLUS_SKIP_SETUP:-} == 1 ]] || scripts/setup.sh
  mkdir -p "${build_dir}"
  local log="${build_dir}/demo-build.log"
  echo "demo: building (log: ${log})"
  if ! scripts/build.sh "${build_dir}" >"${log}" 2>&1; then
    tail -n 40 "${log}" >&2
    die "the build failed; see ${log}"
  fi
}

# The word count over a local text file, run by the example program. word_count prints one
# "word count" line per distinct word; the demo shows the most frequent ones.
demo_file() {
  local program="${build_dir}/bin/word_count"
  [[ -f ${input} ]] || die "no such text file: ${input}"
  if [[ ! -x ${program} ]]; then
    die "${program} was not built: the word-count example (examples/word_count.cpp) has not" \
        "landed yet, or LIGHTFLUS_BUILD_EXAMPLES is OFF in ${build_dir}"
  fi
  echo "demo: ${program} ${input}"
  "${program}" "${input}" | print_top_words
}

# The word count end to end on Kafka (see the top of the file).
demo_kafka() {
  local lightflusd="${build_dir}/bin/lightflusd"
  [[ -f ${input} ]] || die "no such text file: ${input}"
  [[ -x ${lightflusd} ]] || die "${lightflusd} was not built (it needs the V8 runtime; see ${build_dir}/demo-build.log)"
  command -v kcat >/dev/null || die "kcat is not installed (scripts/setup.sh installs it)"
  tmp="$(mktemp -d)"
  broker_pid=""
  trap 'stop_broker; rm -rf "${tmp}"' EXIT
  "${lightflusd}" dev-kafka --topic lines:2 --topic counts:2 >"${tmp}/broker.out" \
    2>"${tmp}/broker.err" &
  broker_pid=$!
  local brokers="" _
  for _ in $(seq 100); do
    [[ -s ${tmp}/broker.out ]] && brokers="$(head -n 1 "${tmp}/broker.out")"
    [[ -n ${brokers} ]] && break
    kill -0 "${broker_pid}" 2>/dev/null || break
    sleep 0.1
  done
  [[ -n ${brokers} ]] || { cat "${tmp}/broker.err" >&2; die "lightflusd dev-kafka did not start"; }
  echo "demo: development Kafka broker at ${brokers} (lightflusd dev-kafka, pid ${broker_pid})"
  echo "demo: kcat -P -t lines < ${input}"
  kcat -P -b "${brokers}" -t lines -l "${input}"
  echo "demo: ${lightflusd} run examples/ts/kafkaWordCount.ts --set brokers=${brokers} --set bounded=true"
  "${lightflusd}" run examples/ts/kafkaWordCount.ts --set brokers="${brokers}" \
    --set bounded=true --parallelism 2
  echo "demo: kcat -C -t counts (every rolling update; a word's final count is its largest)"
  kcat -C -b "${brokers}" -t counts -e -q | final_counts | print_top_words
}

stop_broker() {
  [[ -n ${broker_pid:-} ]] || return 0
  kill -TERM "${broker_pid}" 2>/dev/null || true
  wait "${broker_pid}" 2>/dev/null || true
  broker_pid=""
}

# Reads rolling "word count" updates; prints each word's largest count as "word count".
final_counts() {
  awk '{ if ($2 > c[$1]) c[$1] = $2 } END { for (w in c) print w, c[w] }'
}

# Reads "word count" lines; prints the top_words most frequent (ties in alphabetical order).
print_top_words() {
  echo "demo: the ${top_words} most frequent words"
  # awk, not head: reading all of sort's output spares it a SIGPIPE under pipefail.
  sort -k2,2nr -k1,1 | awk -v n="${top_words}" 'NR <= n { printf "%8d  %s\n", $2, $1 }'
}

prepare
case "${source_kind}" in
  kafka) demo_kafka ;;
  file) demo_file ;;
  *) die "unknown LIGHTFLUS_DEMO_SOURCE '${source_kind}' (known: kafka, file)" ;;
esac
