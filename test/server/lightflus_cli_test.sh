#!/usr/bin/env bash
# The `lightflus` CLI against a real `lightflusd serve` on a free loopback port (with a token):
# `apply -f` bundles a job that imports a local helper module and writes to a file, the job
# finishes with the right output; `get jobs`/`get tasks`, `describe`, `delete`; a wrong token,
# an unreachable server and bad code (line:col of the user's file) fail with clear messages;
# the token from `config set-credential` (HOME is a temp dir); errors in describe and the API at
# the user's .ts lines (the bundle's source map); a job failing at start-up and
# `apply --wait`; a job over the body limit (413, not EPIPE); and the original deploy path:
# a job run with Node.js while LIGHTFLUS_ENDPOINT is set is deployed to that server.
#
#   lightflus_cli_test.sh LIGHTFLUSD SOURCE_DIR NODE CLI_DIR
# CLI_DIR holds cli.js and index.js built from bindings/ts/src/cli (test/server/CMakeLists.txt).
set -euo pipefail
lightflusd=$1
root=$2
node=$3
cli_dir=$4
tmp=$(mktemp -d)
pid=
small_pid=
cleanup() {
  for daemon in $pid $small_pid; do
    kill -TERM "$daemon" 2> /dev/null || true
    wait "$daemon" 2> /dev/null || true
  done
  rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
  echo "FAILED: $*" >&2
  for log in "$tmp"/*.log "$tmp"/out "$tmp"/err; do
    [ -f "$log" ] && { echo "--- $log" >&2; tail -n 20 "$log" >&2; }
  done
  exit 1
}

# The CLI and the jobs run with a temp HOME (for ~/.lightflus/config), no inherited endpoint or
# token, and esbuild from the source tree's node_modules.
export HOME="$tmp/home"
mkdir -p "$HOME"
unset LIGHTFLUS_ENDPOINT LIGHTFLUS_TOKEN LIGHTFLUS_SERVICE_HOST LIGHTFLUS_SERVICE_PORT
export NODE_PATH="$root/bindings/ts/node_modules"

# lightflus ARGS...: runs the CLI; stdout in $tmp/out, stderr in $tmp/err, status in $status.
lightflus() {
  status=0
  "$node" "$cli_dir/cli.js" "$@" > "$tmp/out" 2> "$tmp/err" || status=$?
}
expect_ok() {
  lightflus "$@"
  [ "$status" = 0 ] || fail "lightflus $*: exit $status: $(cat "$tmp/err")"
}
# expect_error PATTERN ARGS...: the CLI must fail, with PATTERN (grep -E) on stderr.
expect_error() {
  local pattern=$1
  shift
  lightflus "$@"
  [ "$status" != 0 ] || fail "lightflus $* succeeded; expected an error matching '$pattern'"
  grep -Eq -- "$pattern" "$tmp/err" || fail "lightflus $*: stderr lacks '$pattern': $(cat "$tmp/err")"
}

# 1. The daemon, with a token.
token=cli-test-token
"$lightflusd" serve --port 0 --data-dir "$tmp/data" --allow-path "$tmp" --token "$token" > "$tmp/daemon.out" 2> "$tmp/daemon.log" &
pid=$!
port=
for _ in $(seq 100); do
  port=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$tmp/daemon.log" | grep -o '[0-9]*$' || true)
  [ -n "$port" ] && break
  kill -0 "$pid" 2> /dev/null || fail "the daemon exited"
  sleep 0.1
done
[ -n "$port" ] || fail "the daemon did not start"
server="http://127.0.0.1:$port"

# 2. A job in a project folder: it imports a local helper module (only bundling can ship it)
#    and the API under two names; its function is named like the file (the scaffold's style).
project="$tmp/project"
mkdir -p "$project/lib"
cat > "$project/lib/math.ts" << 'EOF'
export function cube(n: number): number {
  return n * n * n;
}
export const OFFSET = 7;
EOF
cat > "$project/cubes.ts" << 'EOF'
import { context } from "lightflus-api/src/stream/context";
import ExecutionContext = context.ExecutionContext;
import { FileSink, Generator } from "lightflus";
import { cube, OFFSET } from "./lib/math";

function cubes(ctx: ExecutionContext) {
  ctx
    .fromSource(Generator.sequence(1, ctx.param("count", 10)))
    .map((n: number) => cube(n) + OFFSET)
    .name("cube")
    .sink(FileSink.lines<number>(ctx.param("output")));
}
EOF
cd "$project"

# 3. Without a token: 401, a clear message, exit 1.
expect_error 'needs a token.*401' apply -f cubes.ts --server "$server" --set count=50 --set "output=$tmp/cubes.txt"
[ "$status" = 1 ] || fail "a 401 exits with $status, not 1"
# A wrong token.
expect_error 'refused the token from --token.*401' get jobs -s "$server" --token wrong
# An unreachable server (nothing listens on loopback port 1: tests do not run privileged daemons).
expect_error 'cannot reach the Lightflus server at http://127.0.0.1:1 .*connection refused' get jobs -s 127.0.0.1:1

# 4. apply with the token from LIGHTFLUS_TOKEN and the server from LIGHTFLUS_ENDPOINT.
export LIGHTFLUS_ENDPOINT="127.0.0.1:$port"
LIGHTFLUS_TOKEN=$token expect_ok apply -f cubes.ts --set count=50 --set "output=$tmp/cubes.txt"
id=$(cat "$tmp/out")
[[ "$id" =~ ^[0-9a-f]+$ ]] || fail "apply printed '$id', not a job id"

# The token from the config file from now on (mode 0600).
expect_ok config set-credential "$token"
[ "$(stat -c %a "$HOME/.lightflus/config")" = 600 ] || fail "the config file has mode $(stat -c %a "$HOME/.lightflus/config")"

# 5. Wait for the job to finish; check its output against a plain loop.
for _ in $(seq 200); do
  expect_ok describe job "$id" -o json
  job_status=$(python3 -c "import json,sys; print(json.load(open('$tmp/out'))['status'])")
  [ "$job_status" = finished ] && break
  [ "$job_status" = failed ] && fail "the job failed: $(cat "$tmp/out")"
  sleep 0.1
done
[ "$job_status" = finished ] || fail "the job is $job_status, not finished, after 20 s"
expected=$(seq 50 | awk '{ s += $1 * $1 * $1 + 7 } END { print s }')
actual=$(awk '{ s += $1 } END { print s }' "$tmp/cubes.txt")
[ "$actual" = "$expected" ] || fail "the output sums to $actual, not $expected"
[ "$(wc -l < "$tmp/cubes.txt")" = 50 ] || fail "the output has $(wc -l < "$tmp/cubes.txt") lines, not 50"
# The server runs the bundle and keeps the .ts as written, for the console to show.
curl -sS -H "Authorization: Bearer $token" -o "$tmp/original.ts" -D "$tmp/original.headers" \
  "http://127.0.0.1:$port/v1/jobs/$id/source?original=true" || fail "GET the original source"
cmp -s "$tmp/original.ts" cubes.ts || fail "?original=true is not cubes.ts: $(head -c 300 "$tmp/original.ts")"
grep -qi '^X-Lightflus-Source-File: cubes.ts' "$tmp/original.headers" || fail "$(cat "$tmp/original.headers")"

# 6. get jobs (and its synonym get tasks): a table with the job's id, name, status and counts.
expect_ok get jobs
grep -Eq '^ID +NAME +STATUS +PARALLELISM +RECORDS-IN +RECORDS-OUT +AGE' "$tmp/out" || fail "no header: $(cat "$tmp/out")"
grep -Eq "^$id +cubes +finished +1 +50 +50 +[0-9]+s" "$tmp/out" || fail "get jobs: $(cat "$tmp/out")"
expect_ok get tasks
grep -q "$id" "$tmp/out" || fail "get tasks: $(cat "$tmp/out")"

# 7. describe by name: status, params, the operator's counters, the plan.
expect_ok describe task cubes
grep -Eq '^Status: +finished' "$tmp/out" || fail "describe: $(cat "$tmp/out")"
grep -Eq "^Params: +.*count=50" "$tmp/out" || fail "describe has no params: $(cat "$tmp/out")"
grep -Eq '^  [0-9]+ +cube +jsChain +1 +50 +50 ' "$tmp/out" || fail "describe has no operator 'cube': $(cat "$tmp/out")"
grep -q "Plan:" "$tmp/out" || fail "describe has no plan: $(cat "$tmp/out")"

# 8. The name is taken: 409 with a clear message.
expect_error "409 Conflict: .*exists" apply -f cubes.ts --set count=5 --set "output=$tmp/again.txt"

# 9. Bad code: the server's error points at the user's file, line and column (not the bundle's).
cat > "$project/broken.ts" << 'EOF'
import { ExecutionContext, FileSink, Generator } from "lightflus";
import { cube } from "./lib/math";

const ctx = ExecutionContext.new("broken");
ctx.fromSource(Generator.sequence(1, 3))
  .map((n: number) => cube(n))
  .sink(FileSink.lines<number>(ctx.param("missing")));
ctx.execute();
EOF
expect_error 'broken\.ts:7:[0-9]+.*job parameter "missing" is not set|job parameter "missing" is not set.*broken\.ts:7:[0-9]+' apply -f broken.ts
# A syntax error, found while bundling.
printf 'import { ExecutionContext } from "lightflus";\nconst x = ;\n' > "$project/syntax.ts"
expect_error 'syntax\.ts:2:11' apply -f syntax.ts
# A Node.js built-in cannot be bundled into a job.
printf 'import * as fs from "fs";\nfs.readFileSync("/etc/passwd");\n' > "$project/uses_fs.ts"
expect_error '"fs" is a Node.js built-in' apply -f uses_fs.ts
expect_error 'no job with the id or name "nope"' describe job nope

# 9a. Error positions as the daemon reports them (describe, the REST API) name the user's .ts
#     file, line and column, not the bundle's: the CLI sends the bundle's source map along. A UDF
#     that throws at run time, a require inside a UDF (located at the job's call, not in the
#     runtime), and a throw at the top level (the submission's 400, sent here without the CLI,
#     which would rewrite positions itself).
cat > "$project/thrower.ts" << 'EOF'
import { ExecutionContext, FileSink, Generator } from "lightflus";
import { cube } from "./lib/math";

declare const require: (name: string) => unknown;
const ctx = ExecutionContext.new("thrower");
const mode = ctx.param("mode", "udf"), module_name = ctx.param("module", "fs");
if (mode === "top") throw new Error("refused at the top level");
ctx
  .fromSource(Generator.sequence(1, 2000))
  .map((n: number) => {
    if (mode === "udf" && n === 1000) throw new Error(`boom at ${n}`);
    if (mode === "require" && n === 3) return String(require(module_name));
    return cube(n);
  })
  .name("thrower")
  .sink(FileSink.lines<number | string>(ctx.param("output")));
ctx.execute();
EOF
# describe_error NAME POSITION MESSAGE: the job fails, and both the API's JSON and describe say
# MESSAGE at POSITION.
describe_error() {
  local name=$1 position=$2 message=$3 error
  for _ in $(seq 100); do
    expect_ok describe job "$name" -o json
    job_status=$(python3 -c "import json; print(json.load(open('$tmp/out'))['status'])")
    [ "$job_status" = failed ] && break
    sleep 0.1
  done
  [ "$job_status" = failed ] || fail "$name is $job_status, not failed"
  error=$(python3 -c "import json; print(json.load(open('$tmp/out'))['error'])")
  [[ "$error" == *"operator 'thrower' (subtask 1): $message (at $position)" ]] ||
    fail "the API reports $name's error as: $error"
  expect_ok describe job "$name"
  grep -Fq "$message (at $position)" "$tmp/out" || fail "describe $name: $(cat "$tmp/out")"
}
lightflus apply -f thrower.ts --name thrower-udf --set "output=$tmp/thrower.txt"
describe_error thrower-udf thrower.ts:11:39 "Error: boom at 1000"
lightflus apply -f thrower.ts --name thrower-require --set mode=require --set "output=$tmp/thrower.txt"
describe_error thrower-require thrower.ts:12:54 \
  'SandboxError: require("fs") is not available in a Lightflus job: jobs run sandboxed without Node.js built-ins'
expect_ok delete job thrower-udf
expect_ok delete job thrower-require
"$node" -e '
  const [cli, output] = process.argv.slice(1);
  require(cli).bundleJob("thrower.ts").then((bundle) => process.stdout.write(JSON.stringify({
    name: "thrower-top", source: bundle.code, sourceMap: bundle.sourceMap, language: "js",
    params: { mode: "top", output } })));' "$cli_dir/cli.js" "$tmp/thrower.txt" > "$tmp/envelope.json"
answer=$(curl -s -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  --data-binary @"$tmp/envelope.json" "$server/v1/jobs")
[[ "$answer" == *'"detail":"job thrower-top.js: Error: refused at the top level (at thrower.ts:7:21)"'* ]] ||
  fail "the API refuses the job failing at its top level with: $answer"
# A map the daemon cannot read, or one with TypeScript (which it maps itself): 400.
answer=$(curl -s -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  -d '{"source": "1", "language": "js", "sourceMap": {"version": 3, "sources": ["a.ts"]}}' "$server/v1/jobs")
[[ "$answer" == *'"detail":"\"sourceMap\" is not usable: source map: \"mappings\" must be a string"'* ]] ||
  fail "a source map without mappings: $answer"
answer=$(curl -s -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  -d '{"source": "1", "sourceMap": {"version": 3, "sources": ["a.ts"], "mappings": ""}}' "$server/v1/jobs")
[[ "$answer" == *'"detail":"\"sourceMap\" goes with JavaScript'* ]] || fail "a source map with TypeScript: $answer"

# 9b. A job failing at start-up (its input file is missing): apply prints the id, then the job's
#     error, and exits 1; with --wait too. A healthy job: --wait exits 0 once it runs or finishes.
cat > "$project/reader.ts" << 'EOF'
import { ExecutionContext, FileSink, FileSource } from "lightflus";

const ctx = ExecutionContext.new("reader");
ctx
  .fromSource(FileSource.jsonLines<{ n: number }>(ctx.param("input")))
  .map((row: { n: number }) => row.n * 2)
  .sink(FileSink.lines<number>(ctx.param("output")));
ctx.execute();
EOF
# A missing input file is found as the job is built: the submission is refused, naming the
# operator and the file (a failure after the job started is covered in bindings/ts/test).
expect_error "the server rejected the job reader.ts: operator 1 'file' \(source\): cannot open '$tmp/missing.jsonl': No such file or directory" \
  apply -f reader.ts --set "input=$tmp/missing.jsonl" --set "output=$tmp/reader.txt"
[ "$status" = 1 ] || fail "a job failing at start-up exits with $status, not 1"
expect_error "cannot open '$tmp/missing.jsonl'" \
  apply -f reader.ts --set "input=$tmp/missing.jsonl" --set "output=$tmp/reader.txt" --wait
[ "$status" = 1 ] || fail "apply --wait of a job failing at start-up exits with $status, not 1"
printf '{"n":1}\n{"n":2}\n' > "$tmp/rows.jsonl"
expect_ok apply -f reader.ts --set "input=$tmp/rows.jsonl" --set "output=$tmp/reader.txt" --wait --timeout 30s
grep -Eq "job reader \([0-9a-f]+\) is (running|finished)$" "$tmp/err" || fail "apply --wait: $(cat "$tmp/err")"
expect_ok delete job reader
expect_error "--timeout goes with --wait" apply -f reader.ts --timeout 5s

# 9c. The body limit: a second daemon taking at most 4000 bytes. apply of a larger job says 413
#     and the limit; a plain Node.js client (no Expect: 100-continue) sending 30 MB reads the
#     413 too, not `write EPIPE` (the daemon drains the refused body before it closes).
"$lightflusd" serve --port 0 --data-dir "$tmp/data-small" --max-body-bytes 4000 > /dev/null 2> "$tmp/small.log" &
small_pid=$!
small_port=
for _ in $(seq 100); do
  small_port=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$tmp/small.log" | grep -o '[0-9]*$' || true)
  [ -n "$small_port" ] && break
  sleep 0.1
done
[ -n "$small_port" ] || fail "the second daemon did not start"
{ echo 'import { ExecutionContext, Generator, Stdout } from "lightflus";'
  echo "const padding = \"$(head -c 6000 /dev/zero | tr '\0' 'x')\";"
  echo 'const ctx = ExecutionContext.new("padded");'
  echo 'ctx.fromSource(Generator.sequence(1, 3)).map((n: number) => n + padding.length).sink(Stdout.new<number>());'
  echo 'ctx.execute();'; } > "$project/padded.ts"
expect_error "the job is too large for http://127.0.0.1:$small_port \(413 Payload Too Large\): the request body exceeds the limit of 4000 bytes; the request was [0-9]+ bytes" \
  apply -f padded.ts -s "127.0.0.1:$small_port"
cat > "$tmp/post.js" << 'EOF'
const body = "x".repeat(30_000_000);
const request = require("node:http").request(
  { host: "127.0.0.1", port: Number(process.argv[2]), path: "/v1/jobs", method: "POST",
    headers: { "Content-Type": "application/json", "Content-Length": body.length } },
  (response) => {
    let text = "";
    response.on("data", (chunk) => (text += chunk));
    response.on("end", () => console.log(response.statusCode, text));
  });
request.on("error", (error) => console.log("error", error.code));
request.end(body);
EOF
for _ in 1 2 3; do
  answer=$("$node" "$tmp/post.js" "$small_port")
  [[ "$answer" == "413 "*"exceeds the limit of 4000 bytes"* ]] || fail "a 30 MB POST without Expect got: $answer"
done
kill -TERM "$small_pid"
wait "$small_pid" || fail "the second daemon exited with $? after SIGTERM"
small_pid=

# 10. delete (by id) removes it.
expect_ok delete job "$id"
expect_ok get jobs -o json
[ "$(python3 -c "import json; print(len(json.load(open('$tmp/out'))))")" = 0 ] || fail "after delete: $(cat "$tmp/out")"
expect_error "no job with the id or name \"$id\"" delete job "$id"
# 10b. Savepoints: take one of a running job, stop it with another, start new code from it.
cat > "$project/ticks.ts" << 'EOF'
import { ExecutionContext, FileSink, Generator } from "lightflus";

function ticks(ctx: ExecutionContext) {
  ctx
    .fromSource(Generator.sequence(0).ratePerSecond(200))
    .map((n: number) => n * 2)
    .name("double")
    .sink(FileSink.lines<number>(ctx.param("output")));
}
EOF
expect_ok apply -f ticks.ts --set "output=$tmp/ticks.txt"
expect_ok savepoint ticks
savepoint=$(cat "$tmp/out")
[ -s "$savepoint" ] || fail "savepoint printed '$savepoint', which is no file"
expect_ok delete job ticks --savepoint
final=$(cat "$tmp/out")
[ -s "$final" ] && [ "$final" != "$savepoint" ] || fail "delete --savepoint printed '$final'"
expect_ok apply -f ticks.ts --set "output=$tmp/ticks.txt" --from "$final"
expect_ok describe job ticks -o json
[ "$(python3 -c "import json; print(json.load(open('$tmp/out'))['checkpoints']['restoredFrom'])")" = "$final" ] ||
  fail "the job did not start from the savepoint: $(cat "$tmp/out")"
expect_error "the savepoint to start from, '/etc/passwd' is outside the paths this daemon allows" apply -f ticks.ts --name ticks2 --from /etc/passwd
expect_error "allow-non-restored-state goes with --from" apply -f ticks.ts --allow-non-restored-state
expect_ok delete job ticks

# 11. The original deploy path: a compiled job run with Node.js while LIGHTFLUS_ENDPOINT is set
#     deploys itself (the package's Node.js entry, index.js, as node_modules/lightflus).
mkdir -p "$project/node_modules/lightflus"
cp "$cli_dir/index.js" "$project/node_modules/lightflus/index.js"
echo '{"name": "lightflus", "version": "0.0.0-test", "main": "index.js"}' > "$project/node_modules/lightflus/package.json"
cat > "$project/lib/double.js" << 'EOF'
exports.double = (n) => 2 * n;
EOF
# (The job runs on the server too, without `process`: the output path is written into it.)
cat > "$project/doubles.js" << EOF
const { ExecutionContext, FileSink, Generator } = require("lightflus");
const { double } = require("./lib/double");
const ctx = ExecutionContext.new("doubles");
ctx
  .fromSource(Generator.sequence(1, 20))
  .map((n) => double(n))
  .sink(FileSink.lines(ctx.param("output", "$tmp/doubles.txt")));
ctx.execute();
EOF
# Without LIGHTFLUS_ENDPOINT it is not deployed and says how to run it.
node_status=0
env -u LIGHTFLUS_ENDPOINT "$node" doubles.js > "$tmp/out" 2> "$tmp/err" || node_status=$?
[ "$node_status" != 0 ] || fail "node doubles.js without LIGHTFLUS_ENDPOINT succeeded"
grep -q "not running inside a Lightflus host" "$tmp/err" || fail "node doubles.js: $(cat "$tmp/err")"
# With it (and the token from the config file) it is.
node_status=0
"$node" doubles.js > "$tmp/out" 2> "$tmp/err" || node_status=$?
[ "$node_status" = 0 ] || fail "node doubles.js with LIGHTFLUS_ENDPOINT: exit $node_status: $(cat "$tmp/err")"
grep -q "deployed job doubles" "$tmp/out" || fail "node doubles.js: $(cat "$tmp/out")"
for _ in $(seq 200); do
  expect_ok describe job doubles -o json
  job_status=$(python3 -c "import json,sys; print(json.load(open('$tmp/out'))['status'])")
  [ "$job_status" = finished ] && break
  sleep 0.1
done
[ "$job_status" = finished ] || fail "the deployed job is $job_status, not finished"
[ "$(awk '{ s += $1 } END { print s }' "$tmp/doubles.txt")" = 420 ] || fail "doubles: $(cat "$tmp/doubles.txt")"
# A wrong token: the script fails with the CLI's message.
node_status=0
LIGHTFLUS_TOKEN=wrong "$node" doubles.js > "$tmp/out" 2> "$tmp/err" || node_status=$?
[ "$node_status" != 0 ] || fail "node doubles.js with a wrong token succeeded"
grep -q "refused the token from LIGHTFLUS_TOKEN" "$tmp/err" || fail "node doubles.js, wrong token: $(cat "$tmp/err")"

# 12. The original CLI's shapes: LIGHTFLUS_SERVICE_HOST + _PORT, create-task, version.
unset LIGHTFLUS_ENDPOINT
LIGHTFLUS_SERVICE_HOST=127.0.0.1 LIGHTFLUS_SERVICE_PORT=$port expect_ok get task doubles
grep -q doubles "$tmp/out" || fail "get task doubles: $(cat "$tmp/out")"
expect_ok create-task wordCount
{ [ -f wordCount.ts ] && [ -f tsconfig.json ]; } || fail "create-task wrote $(ls)"
expect_error "already exists" create wordCount
expect_ok apply -f wordCount.ts -s "$server" --dry-run
grep -q 'default: () => ' "$tmp/out" || fail "the scaffold's function is not the bundle's default export: $(cat "$tmp/out")"
expect_ok apply -f wordCount.ts -s "$server"
for _ in $(seq 200); do
  expect_ok describe job wordCount -s "$server" -o json
  job_status=$(python3 -c "import json,sys; print(json.load(open('$tmp/out'))['status'])")
  [ "$job_status" = finished ] && break
  sleep 0.1
done
[ "$job_status" = finished ] || fail "the scaffolded job is $job_status, not finished: $(cat "$tmp/out")"
expect_ok version
grep -Eq '^lightflus [0-9]+\.[0-9]+\.[0-9]+' "$tmp/out" || fail "version: $(cat "$tmp/out")"
# 13. The daemon stops cleanly (under the sanitizers this also reports what they found).
kill -TERM "$pid"
daemon_status=0
wait "$pid" || daemon_status=$?
pid=
[ "$daemon_status" = 0 ] || fail "the daemon exited with $daemon_status after SIGTERM"
echo "lightflus CLI test passed"
