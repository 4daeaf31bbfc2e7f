#!/usr/bin/env bash
# TypeScript word count on the engine against a plain Node.js script doing the same (read
# lines, split, count in a Map), on the same input in the same run; and a map -> filter -> map
# chain over 10M numbers against a plain loop. Prints elements per second and the ratios to
# Node.js (targets: parallelism 1 >= 0.7x Node.js, parallelism 2 > Node.js).
#
#   bench/ts_word_count.sh [LIGHTFLUSD] [COPIES] [NUMBERS]
#
# LIGHTFLUSD defaults to build/bin/lightflusd; the input is examples/data/sample.txt repeated
# COPIES times (default 20000, about 37 MB and 6.5M words). Each run is timed end to end (wall
# clock, start-up included); the best of 3 counts. Both outputs are checked against each other.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
lightflusd=${1:-$root/build/bin/lightflusd}
copies=${2:-20000}
numbers=${3:-10000000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

command -v node > /dev/null || { echo "ts_word_count.sh: needs node for the baseline" >&2; exit 1; }
[ -x "$lightflusd" ] || { echo "ts_word_count.sh: no $lightflusd (build the lightflusd target)" >&2; exit 1; }

input="$tmp/input.txt"
for ((i = 0; i < copies; i++)); do cat "$root/examples/data/sample.txt"; done > "$input"
words=$(tr -cs '[:alnum:]' '\n' < "$input" | grep -c .)

# best_of_3 OUTPUT COMMAND...: the best wall time in seconds; the output of the last run.
best_of_3() {
  local output=$1 best=""
  shift
  for _ in 1 2 3; do
    local start end
    start=$(date +%s.%N)
    if ! "$@" > "$output"; then
      echo "ts_word_count.sh: failed: $*" >&2
      return 1
    fi
    end=$(date +%s.%N)
    best=$(awk -v b="$best" -v t="$(echo "$end - $start" | bc)" 'BEGIN { print (b == "" || t < b) ? t : b }')
  done
  echo "$best"
}

node_s=$(best_of_3 "$tmp/node.out" node "$root/bench/ts_word_count_node.js" "$input") || exit 1
p1_s=$(best_of_3 "$tmp/p1.out" "$lightflusd" run "$root/bench/ts_word_count.ts" --set input="$input" --parallelism 1) || exit 1
p2_s=$(best_of_3 "$tmp/p2.out" "$lightflusd" run "$root/bench/ts_word_count.ts" --set input="$input" --parallelism 2) || exit 1

LC_ALL=C sort "$tmp/node.out" > "$tmp/node.sorted"
for run in p1 p2; do
  LC_ALL=C sort "$tmp/$run.out" | cmp -s - "$tmp/node.sorted" ||
    { echo "ts_word_count.sh: lightflusd ($run) counted differently from Node.js" >&2; exit 1; }
done

echo "input: $(du -h "$input" | cut -f1), $words words, $(wc -l < "$tmp/node.sorted") distinct"
awk -v w="$words" -v node="$node_s" -v p1="$p1_s" -v p2="$p2_s" 'BEGIN {
  printf "%-28s %8.2f s %12.0f words/s\n", "node (Map)", node, w / node
  printf "%-28s %8.2f s %12.0f words/s  %.2fx node (target >= 0.7)\n", "lightflusd run, p1", p1, w / p1, node / p1
  printf "%-28s %8.2f s %12.0f words/s  %.2fx node (target > 1)\n", "lightflusd run, p2", p2, w / p2, node / p2
}'
node_s=$(best_of_3 /dev/null node "$root/bench/ts_chain_node.js" "$numbers" /dev/null) || exit 1
p1_s=$(best_of_3 /dev/null "$lightflusd" run "$root/bench/ts_chain.ts" --set count="$numbers" --parallelism 1) || exit 1
echo "map -> filter -> map over $numbers numbers, output to /dev/null:"
awk -v n="$numbers" -v node="$node_s" -v p1="$p1_s" 'BEGIN {
  printf "%-28s %8.2f s %12.0f elements/s\n", "node (loop)", node, n / node
  printf "%-28s %8.2f s %12.0f elements/s  %.2fx node\n", "lightflusd run, p1", p1, n / p1, node / p1
}'
