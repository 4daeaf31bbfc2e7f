#!/usr/bin/env bash
# Runs the word-count demo: builds Lightflus, then counts the words of a text and prints the
# most frequent ones.
#
#   scripts/demo.sh [TEXT_FILE]      (default: examples/data/sample.txt)
#
# The demo reads from LIGHTFLUS_DEMO_SOURCE (default and, for now, only: `file`, the text file
# read by build/bin/word_count). A Kafka source goes beside it as one more function, e.g.
# `demo_kafka`: start `lightflusd dev-kafka`, produce the text with kcat, run the job against
# that broker; the setup and build steps stay as they are.
# LIGHTFLUS_DEMO_TOP sets how many words are shown (default 15); LIGHTFLUS_SKIP_SETUP=1 skips
# scripts/setup.sh.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${root}"

input="${1:-examples/data/sample.txt}"
source_kind="${LIGHTFLUS_DEMO_SOURCE:-file}"
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

# Reads "word count" lines; prints the top_words most frequent (ties in alphabetical order).
print_top_words() {
  echo "demo: the ${top_words} most frequent words"
  # awk, not head: reading all of sort's output spares it a SIGPIPE under pipefail.
  sort -k2,2nr -k1,1 | awk -v n="${top_words}" 'NR <= n { printf "%8d  %s\n", $2, $1 }'
}

prepare
case "${source_kind}" in
  file) demo_file ;;
  *) die "unknown LIGHTFLUS_DEMO_SOURCE '${source_kind}' (known: file)" ;;
esac
