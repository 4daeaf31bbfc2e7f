#!/usr/bin/env bash
# kill -9 at random moments loses and duplicates nothing: `lightflusd run` with checkpoints.
#
#   lightflusd_kill_test.sh LIGHTFLUSD SOURCE_DIR [COUNT] [KILLS]
#
# Runs test/js/jobs/checkpointedCounts.ts (a generator at a steady rate -> keyed rolling count
# with a per-key sequence check -> FileSink.jsonLines) with --checkpoint-dir, kills it with
# SIGKILL at random moments KILLS times (restarting it with the same command each time; some
# restarts at another parallelism), then lets it finish. The output file must hold, per key,
# the counts 1, 2, ..., N/keys exactly once each: no duplicate, no gap. Then the same with a
# damaged newest checkpoint (the run falls back to the previous one) and a renamed operator
# (the restore refuses, unless --allow-non-restored-state).
set -euo pipefail
lightflusd=$1
root=$2
count=${3:-300000}
kills=${4:-10}
keys=10
rate=100000
tmp=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill -9 "$pid" 2> /dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "FAILED: $*" >&2; exit 1; }
job="$root/test/js/jobs/checkpointedCounts.ts"
out="$tmp/out.jsonl"
ck="$tmp/ck"

run_args() {  # PARALLELISM
  echo "$job" --parallelism "$1" --checkpoint-dir "$ck" --checkpoint-interval 200ms \
    --set count="$count" --set rate="$rate" --set keys="$keys" --set out="$out"
}

# Every key's counts 1..count/keys, once each, in order (per key).
check_output() {
  node -e '
    const fs = require("fs");
    const [path, count, keys] = [process.argv[1], +process.argv[2], +process.argv[3]];
    const next = new Map();
    let lines = 0;
    for (const line of fs.readFileSync(path, "utf8").split("\n")) {
      if (!line) continue;
      lines++;
      const r = JSON.parse(line);
      const want = (next.get(r.key) || 0) + 1;
      if (r.count !== want) { console.error(`key ${r.key}: count ${r.count} after ${want - 1} (line ${lines})`); process.exit(1); }
      next.set(r.key, want);
    }
    for (let k = 0; k < keys; k++)
      if (next.get(k) !== count / keys) { console.error(`key ${k}: ended at ${next.get(k)}, not ${count / keys}`); process.exit(1); }
    if (lines !== count) { console.error(`${lines} lines, not ${count}`); process.exit(1); }
  ' "$1" "$count" "$keys"
}

started=$SECONDS
restored=0
for i in $(seq 1 "$kills"); do
  p=$(( i % 2 + 1 ))
  # shellcheck disable=SC2046 # word splitting of the argument list is wanted
  "$lightflusd" run $(run_args "$p") 2>> "$tmp/stderr" &
  pid=$!
  # A random moment after the run's first checkpoint, however slow the machine (a sanitizer
  # build): 0 to 0.9 s after it (checkpoints every 200 ms; some kills land mid-write).
  newest() { ls "$ck" 2> /dev/null | sort | tail -1 || true; }
  before=$(newest)
  for _ in $(seq 1 200); do
    [ "$(newest)" != "$before" ] && break
    kill -0 "$pid" 2> /dev/null || break
    sleep 0.05
  done
  sleep "0.$(( RANDOM % 10 ))"
  if ! kill -0 "$pid" 2> /dev/null; then
    wait "$pid" || true
    pid=
    break  # it finished already
  fi
  kill -9 "$pid"
  wait "$pid" 2> /dev/null || true
  pid=
done
# shellcheck disable=SC2046
"$lightflusd" run $(run_args 2) 2>> "$tmp/stderr" || { cat "$tmp/stderr" >&2; fail "the last run failed"; }
restored=$(grep -c "resuming from checkpoint" "$tmp/stderr" || true)
check_output "$out" || { tail -20 "$tmp/stderr" >&2; fail "output after $kills kills"; }
[ "$restored" -ge 2 ] || { cat "$tmp/stderr" >&2; fail "only $restored runs resumed from a checkpoint"; }
[ -z "$(ls -A "$ck")" ] || fail "the finished job left checkpoints in $ck: $(ls "$ck")"
echo "kill -9: $kills kills, $restored resumed from a checkpoint, $count records exactly once ($((SECONDS - started)) s)"

# A damaged newest checkpoint: reported, and the run falls back to the one before.
rm -f "$out" "$tmp/stderr"
# shellcheck disable=SC2046
"$lightflusd" run $(run_args 1) 2>> "$tmp/stderr" &
pid=$!
for _ in $(seq 1 100); do [ "$(ls "$ck" 2> /dev/null | wc -l)" -ge 2 ] && break; sleep 0.05; done
kill -9 "$pid"; wait "$pid" 2> /dev/null || true; pid=
newest=$(ls "$ck"/chk-*.lfsnap | sort | tail -1)
[ -n "$newest" ] || fail "no checkpoint written"
size=$(stat -c %s "$newest")
printf '\xff' | dd of="$newest" bs=1 seek=$(( size / 2 )) conv=notrunc status=none
# shellcheck disable=SC2046
"$lightflusd" run $(run_args 1) 2>> "$tmp/stderr" || { cat "$tmp/stderr" >&2; fail "run after damage"; }
grep -q "skipping a damaged checkpoint: .*$(basename "$newest").*checksum mismatch" "$tmp/stderr" ||
  { cat "$tmp/stderr" >&2; fail "the damaged checkpoint was not reported"; }
grep -q "resuming from checkpoint" "$tmp/stderr" || fail "no fallback to the previous checkpoint"
check_output "$out" || fail "output after a damaged checkpoint"
echo "damaged checkpoint: reported, fell back, output exact"

# Renamed operator (the job's operator ids shift): strict restore refuses, naming the uid.
rm -f "$out" "$tmp/stderr"
# shellcheck disable=SC2046
"$lightflusd" run $(run_args 1) 2>> "$tmp/stderr" &
pid=$!
for _ in $(seq 1 100); do [ -n "$(ls "$ck" 2> /dev/null)" ] && break; sleep 0.05; done
kill -9 "$pid"; wait "$pid" 2> /dev/null || true; pid=
sed 's/\.map(/.filter(() => true).map(/' "$job" > "$tmp/changed.ts"
status=0
"$lightflusd" run "$tmp/changed.ts" --checkpoint-dir "$ck" --set count="$count" --set out="$out" \
  2> "$tmp/changed.err" > /dev/null || status=$?
[ "$status" = 1 ] || { cat "$tmp/changed.err" >&2; fail "changed job: exit $status, expected 1"; }
grep -q "'js-op-[0-9]*'" "$tmp/changed.err" || { cat "$tmp/changed.err" >&2; fail "no uid named"; }
grep -q -- "--allow-non-restored-state" "$tmp/changed.err" || fail "no hint at --allow-non-restored-state"
"$lightflusd" run "$tmp/changed.ts" --checkpoint-dir "$ck" --allow-non-restored-state \
  --set count=1000 --set out="$tmp/changed.jsonl" 2> /dev/null ||
  fail "--allow-non-restored-state did not restore"
echo "renamed operator: refused with the uid; --allow-non-restored-state restores"
