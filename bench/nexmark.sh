#!/usr/bin/env bash
# Nexmark from the generator on Lightflus, against a same-run hand-written loop.
#
#   bench/nexmark.sh [EVENTS] [QUERIES...]     (default: 10000000 events, q0 q1 q2 q3 q4 q5 q7 q8)
#
# Builds build-nex-rel (Release, target nexmark only) unless NEXMARK=path/to/nexmark is set,
# then runs every query with --sink null at parallelism 1 and 2, and the baseline loop where
# there is one (q0, q1, q2, q3, q5). Prints one table row per query: events/s at p1 and p2,
# the baseline's events/s, and the ratios p1/baseline and p2/p1. See bench/README.md.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
events="${1:-10000000}"
shift || true
queries=("$@")
[[ ${#queries[@]} -gt 0 ]] || queries=(q0 q1 q2 q3 q4 q5 q7 q8)

nexmark="${NEXMARK:-}"
if [[ -z ${nexmark} ]]; then
  "${root}/scripts/build.sh" build-nex-rel -DCMAKE_BUILD_TYPE=Release -DLIGHTFLUS_WITH_V8=OFF \
    -- --target nexmark >&2
  nexmark="${root}/build-nex-rel/bin/nexmark"
fi

# events/s of one run, from the summary line nexmark writes to stderr.
rate() {
  "${nexmark}" "$@" --generate "${events}" --sink null 2>&1 >/dev/null |
    sed -n 's/.* \([0-9]*\) events\/s$/\1/p'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.2fx", a / b; else print "-" }'; }

echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), ${events} events, load:$(uptime | sed 's/.*load average://')"
printf '| %-5s | %12s | %12s | %12s | %9s | %7s |\n' query "p1 ev/s" "p2 ev/s" "baseline" "p1/base" "p2/p1"
printf '| %-5s | %12s | %12s | %12s | %9s | %7s |\n' --- ---: ---: ---: ---: ---:
for q in "${queries[@]}"; do
  base="$(rate --query "${q}" --baseline 2>/dev/null || true)"
  p1="$(rate --query "${q}" --parallelism 1)"
  p2="$(rate --query "${q}" --parallelism 2)"
  printf '| %-5s | %12s | %12s | %12s | %9s | %7s |\n' "${q}" "${p1}" "${p2}" "${base:--}" \
    "$(ratio "${p1}" "${base:-0}")" "$(ratio "${p2}" "${p1}")"
done
