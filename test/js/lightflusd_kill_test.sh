#!/usr/bin/env bash
# kill -9 at random moments loses and duplicates nothing: `lightflusd run` with checkpoints.
#
#   lightflusd_kill_test.sh LIGHTFLUSD SOURCE_DIR [COUNT] [KILLS]
#
# Runs test/js/jobs/checkpointedCounts.ts (a generator at a steady rate -> keyed rolling count
# with a per-key sequence check -> FileSink.jsonLines, and FileSink.rolling at the job's
# parallelism) with --checkpoint-dir, kills it with SIGKILL at random moments KILLS times
# (restarting it with the same command each time; some restarts at another parallelism), then
# lets it finish. The output file, and the committed rolling files together, must hold, per
# key, the counts 1, 2, ..., N/keys exactly once each: no duplicate, no gap. A rerun of the
# finished job does nothing. Then, started over with --fresh, the same with a damaged newest
# checkpoint (the run falls back to the previous one), and a renamed operator (the restore
# refuses, unless --allow-non-restored-state).
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
# shellcheck source=../support/kill_loop.sh
. "$root/test/support/kill_loop.sh"
job="$root/test/js/jobs/checkpointedCounts.ts"
out="$tmp/out.jsonl"
ck="$tmp/ck"

rolling="$tmp/rolling"

run_args() {  # PARALLELISM
  echo "$job" --parallelism "$1" --checkpoint-dir "$ck" --checkpoint-interval 200ms \
    --set count="$count" --set rate="$rate" --set keys="$keys" --set out="$out" \
    ${rolling:+--set rolling="$rolling"}
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

# The rolling files: no hidden file left; over all committed files every key's counts
# 1..count/keys once each, and in each subtask's series (file by file) in order.
check_rolling() {
  node -e '
    const fs = require("fs");
    const [dir, count, keys] = [process.argv[1], +process.argv[2], +process.argv[3]];
    const names = fs.readdirSync(dir).sort();
    const hidden = names.filter((n) => n.startsWith("."));
    if (hidden.length) { console.error(`hidden files left: ${hidden.join(" ")}`); process.exit(1); }
    const seen = new Map(), last = new Map();
    for (const name of names) {
      const series = name.split("-")[1];
      for (const line of fs.readFileSync(`${dir}/${name}`, "utf8").split("\n")) {
        if (!line) continue;
        const r = JSON.parse(line), at = `${series}/${r.key}`;
        if (r.count < 1 || r.count > count / keys || (last.get(at) || 0) >= r.count) { console.error(`${name}: key ${r.key}: count ${r.count} after ${last.get(at)}`); process.exit(1); }
        last.set(at, r.count);
        const s = seen.get(r.key) || new Set();
        if (s.has(r.count)) { console.error(`${name}: key ${r.key}: count ${r.count} twice`); process.exit(1); }
        seen.set(r.key, s.add(r.count));
      }
    }
    for (let k = 0; k < keys; k++)
      if ((seen.get(k) || new Set()).size !== count / keys) { console.error(`key ${k}: ${(seen.get(k) || new Set()).size} counts, not ${count / keys}`); process.exit(1); }
    console.log(`${names.length} rolling files`);
  ' "$1" "$count" "$keys"
}

start() {  # start RUN: some restarts at another parallelism
  # shellcheck disable=SC2046 # word splitting of the argument list is wanted
  "$lightflusd" run $(run_args $(( $1 % 2 + 1 ))) 2>> "$tmp/stderr" &
  pid=$!
}
started=$SECONDS
kill_loop "$kills" "$ck" start
[ -z "$kill_loop_finished" ] || [ "$kill_loop_status" = 0 ] ||
  { cat "$tmp/stderr" >&2; fail "a run that ended by itself failed (exit $kill_loop_status)"; }
# The last run to the end. When a run finished already, this one finds the finished marker and
# does nothing (exit 0, nothing written: starting over would write everything into new rolling
# files again).
# shellcheck disable=SC2046
"$lightflusd" run $(run_args 2) 2>> "$tmp/stderr" || { cat "$tmp/stderr" >&2; fail "the last run failed"; }
restored=$(grep -c "resuming from checkpoint" "$tmp/stderr" || true)
check_output "$out" || { tail -20 "$tmp/stderr" >&2; fail "output after $kills kills"; }
files=$(check_rolling "$rolling") || { tail -20 "$tmp/stderr" >&2; fail "rolling files after $kills kills"; }
[ "$restored" -ge 2 ] || { cat "$tmp/stderr" >&2; fail "only $restored runs resumed from a checkpoint"; }
[ "$(ls -A "$ck")" = FINISHED ] || fail "the finished job left in $ck: $(ls -A "$ck" | tr '\n' ' ')"
echo "kill -9: $kill_loop_killed kills, $restored resumed from a checkpoint, $count records exactly once in the file and in $files ($((SECONDS - started)) s)"

# Run again once finished (as after a kill between the job's end and its exit): nothing is
# read or written, the rolling files stay as they are, and stderr says why.
before=$(cat "$out" "$rolling"/* | md5sum)
# shellcheck disable=SC2046
"$lightflusd" run $(run_args 1) 2> "$tmp/again.err" || { cat "$tmp/again.err" >&2; fail "the rerun failed"; }
grep -q "already finished" "$tmp/again.err" || { cat "$tmp/again.err" >&2; fail "the rerun did not say the job had finished"; }
[ "$(cat "$out" "$rolling"/* | md5sum)" = "$before" ] || fail "the rerun of the finished job changed its output"
echo "rerun after the finish: nothing done, output unchanged"

# A damaged newest checkpoint: reported, and the run falls back to the one before. (The
# rolling files are not checked from here on: a fallback to an older checkpoint keeps what the
# newer one committed, docs/files.md.)
rm -rf "$out" "$tmp/stderr" "$rolling"
# shellcheck disable=SC2046 # --fresh: the finished run above left its marker in $ck
"$lightflusd" run $(run_args 1) --fresh 2>> "$tmp/stderr" &
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

# Renamed operator (the job's operator ids shift): strict restore refuses, naming the uid. The
# job has its file sink only here (with the rolling sink too, the shifted ids would hand the
# rolling sink's state to the file sink).
rm -rf "$out" "$tmp/stderr" "$ck"
rolling=
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

# The same change with uids on the stateful operators and the sink: the state follows the uids,
# so the changed job restores without --allow-non-restored-state and its output is exact.
rm -rf "$out" "$ck" "$tmp/stderr"
sed -e 's/^  });$/  }).uid("counts");/' -e 's/^counts.sink(FileSink.jsonLines(out));$/counts.sink(FileSink.jsonLines(out)).uid("out");/' \
  "$job" > "$tmp/uids.ts"
grep -q 'uid("counts")' "$tmp/uids.ts" && grep -q 'uid("out")' "$tmp/uids.ts" || fail "sed did not add the uids"
sed 's/\.map(/.filter(() => true).map(/' "$tmp/uids.ts" > "$tmp/uids_changed.ts"
"$lightflusd" run "$tmp/uids.ts" --checkpoint-dir "$ck" --checkpoint-interval 100ms \
  --set count="$count" --set rate="$rate" --set keys="$keys" --set out="$out" 2>> "$tmp/stderr" &
pid=$!
for _ in $(seq 1 200); do [ -n "$(ls "$ck" 2> /dev/null)" ] && break; sleep 0.05; done
sleep 0.3
kill -9 "$pid"; wait "$pid" 2> /dev/null || true; pid=
"$lightflusd" run "$tmp/uids_changed.ts" --checkpoint-dir "$ck" --checkpoint-interval 100ms \
  --set count="$count" --set rate="$rate" --set keys="$keys" --set out="$out" 2>> "$tmp/stderr" ||
  { cat "$tmp/stderr" >&2; fail "the changed job with uids did not restore"; }
grep -q "resuming from checkpoint" "$tmp/stderr" || { cat "$tmp/stderr" >&2; fail "no resume"; }
check_output "$out" || fail "output of the changed job with uids"
echo "operator added before uid'd operators: state restored by uid, output exact"
