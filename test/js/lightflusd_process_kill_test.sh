#!/usr/bin/env bash
# kill -9 at random moments loses and duplicates nothing of a keyed process function's state,
# timers and side output: `lightflusd run` with checkpoints.
#
#   lightflusd_process_kill_test.sh LIGHTFLUSD SOURCE_DIR [COUNT] [KILLS]
#
# Runs test/js/jobs/checkpointedProcess.ts (a generator at a steady rate with event time =
# element number -> keyBy(...).process(fn) with value, map and list state, event-time timers
# per window and at the end, processing-time timers and a side output -> two
# FileSink.jsonLines) with --checkpoint-dir, kills it with SIGKILL at random moments KILLS times
# (restarting it with the same command each time, alternating --parallelism 1 and 2), then
# lets it finish. The file sinks cut their file back to the checkpointed length on restore, so
# the files must hold every record the job writes exactly once: no sequence error, each
# window's count and running total, each processing-time timer's record, each key's final
# count, each side-output element.
set -euo pipefail
lightflusd=$1
root=$2
count=${3:-400000}
kills=${4:-10}
keys=10
rate=50000
window=1000
tmp=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill -9 "$pid" 2> /dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "FAILED: $*" >&2; exit 1; }
# shellcheck source=../support/kill_loop.sh
. "$root/test/support/kill_loop.sh"
job="$root/test/js/jobs/checkpointedProcess.ts"
out="$tmp/out.jsonl"
side="$tmp/side.jsonl"
ck="$tmp/ck"

run_args() {  # PARALLELISM
  echo "$job" --parallelism "$1" --checkpoint-dir "$ck" --checkpoint-interval 200ms \
    --set count="$count" --set rate="$rate" --set keys="$keys" --set window="$window" \
    --set out="$out" --set side="$side"
}

# What the job must have written, computed by plain loops over the input (element i: key
# i % keys, sequence number floor(i / keys) + 1, event time i).
check_output() {
  node -e '
    const fs = require("fs");
    const [outPath, sidePath, count, keys, windowMs, rate] = process.argv.slice(1);
    const [n, k, w] = [+count, +keys, +windowMs];
    const halfSecond = +rate / k / 2;  // elements of a key
    const fail = (m) => { console.error(m); process.exit(1); };
    const read = (p) =>
      fs.readFileSync(p, "utf8").split("\n").filter((l) => l).map((l) => JSON.parse(l));
    const perKey = n / k;
    // Window end -> elements of the key in it, per key.
    const windows = Array.from({ length: k }, () => new Map());
    for (let i = 0; i < n; i++) {
      const end = Math.floor(i / w) * w + w - 1, m = windows[i % k];
      m.set(end, (m.get(end) || 0) + 1);
    }
    const totals = new Array(k).fill(0), ptimers = Array.from({ length: k }, () => new Set());
    const finals = new Array(k).fill(undefined);
    let atEnd = 0, line = 0;
    for (const r of read(outPath)) {
      line++;
      const at = `out line ${line}: ${JSON.stringify(r)}`;
      if (r.kind === "error") fail(`sequence error: ${at}`);
      if (!(r.key >= 0 && r.key < k)) fail(`bad key: ${at}`);
      if (r.kind === "window") {
        const expected = windows[r.key].get(r.end);
        if (expected === undefined) fail(`window twice or unknown: ${at}`);
        windows[r.key].delete(r.end);
        totals[r.key] += expected;
        if (r.n !== expected || r.total !== totals[r.key])
          fail(`window: n ${r.n}, total ${r.total}; expected ${expected}, ${totals[r.key]}: ${at}`);
      } else if (r.kind === "ptimer") {
        if (r.seq % 100 !== 50 || r.seq < 1 || r.seq > perKey) fail(`unexpected ptimer: ${at}`);
        if (ptimers[r.key].has(r.seq)) fail(`ptimer twice: ${at}`);
        ptimers[r.key].add(r.seq);
        // A timer fires by the wall clock 20 ms after the element (a restored one at once);
        // only those of the last half second of input may still wait at its end. Earlier ones
        // there mean a restore lost the timer.
        if (r.at === "end" && r.seq <= perKey - halfSecond)
          fail(`ptimer pending when the input ended: ${at}`);
        if (r.at === "end") atEnd++;
      } else if (r.kind === "final") {
        if (finals[r.key] !== undefined) fail(`final twice: ${at}`);
        finals[r.key] = r.count;
      } else {
        fail(`unknown record: ${at}`);
      }
    }
    for (let key = 0; key < k; key++) {
      if (windows[key].size)
        fail(`key ${key}: windows never fired: ${Array.from(windows[key].keys()).join(" ")}`);
      if (finals[key] !== perKey) fail(`key ${key}: final count ${finals[key]}, not ${perKey}`);
      const expected = Math.floor((perKey + 50) / 100);
      if (ptimers[key].size !== expected)
        fail(`key ${key}: ${ptimers[key].size} ptimer records, not ${expected}`);
    }
    const sides = Array.from({ length: k }, () => new Set());
    line = 0;
    for (const r of read(sidePath)) {
      line++;
      const at = `side line ${line}: ${JSON.stringify(r)}`;
      if (!(r.key >= 0 && r.key < k) || r.seq % 100 !== 0 || r.seq < 1 || r.seq > perKey)
        fail(`unexpected side output: ${at}`);
      if (sides[r.key].has(r.seq)) fail(`side output twice: ${at}`);
      sides[r.key].add(r.seq);
    }
    for (let key = 0; key < k; key++)
      if (sides[key].size !== Math.floor(perKey / 100))
        fail(`key ${key}: ${sides[key].size} side outputs, not ${Math.floor(perKey / 100)}`);
    console.log(`${line} side outputs, ${atEnd} processing-time timers pending at the end`);
  ' "$out" "$side" "$count" "$keys" "$window" "$rate"
}

start() {  # start RUN: alternating --parallelism 1 and 2
  # shellcheck disable=SC2046 # word splitting of the argument list is wanted
  "$lightflusd" run $(run_args $(( $1 % 2 + 1 ))) 2>> "$tmp/stderr" &
  pid=$!
}
started=$SECONDS
kill_loop "$kills" "$ck" start
killed=$kill_loop_killed
[ -z "$kill_loop_finished" ] || [ "$kill_loop_status" = 0 ] ||
  { cat "$tmp/stderr" >&2; fail "run $((killed + 1)) failed (exit $kill_loop_status)"; }
# The last run to the end. When a run finished already, this one finds the finished marker and
# does nothing.
# shellcheck disable=SC2046
"$lightflusd" run $(run_args 2) 2>> "$tmp/stderr" ||
  { cat "$tmp/stderr" >&2; fail "the last run failed"; }
restored=$(grep -c "resuming from checkpoint" "$tmp/stderr" || true)
summary=$(check_output) || { tail -20 "$tmp/stderr" >&2; fail "output after $killed kills"; }
[ "$restored" -ge 2 ] ||
  { cat "$tmp/stderr" >&2; fail "only $restored runs resumed from a checkpoint"; }
[ "$(ls -A "$ck")" = FINISHED ] || fail "the finished job left in $ck: $(ls -A "$ck" | tr '\n' ' ')"
echo "process kill -9: $killed kills, $restored resumed from a checkpoint, every record" \
  "exactly once; $summary ($((SECONDS - started)) s)"
