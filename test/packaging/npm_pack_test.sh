#!/usr/bin/env bash
# The npm package as a user gets it: `npm pack` of bindings/ts (from a copy of its sources, so
# that the source tree's dist/ is left alone; prepack builds it), the tarball's files checked,
# installed into an empty project with `npm install ./lightflus-<version>.tgz` (its dependency
# esbuild comes from the registry, or npm's cache), the job type-checked against the installed
# types, then `npx lightflus --help`, and `npx lightflus apply -f job.ts --wait` against a real
# `lightflusd serve` (with a token, on a free loopback port): the job's output is checked
# against a plain loop, and `npx lightflus get jobs` lists it.
#
#   npm_pack_test.sh LIGHTFLUSD SOURCE_DIR
set -euo pipefail
lightflusd=$(realpath "$1")
root=$(realpath "$2")
package_dir="$root/bindings/ts"
tmp=$(mktemp -d)
pid=
cleanup() {
  if [ -n "$pid" ]; then
    kill -TERM "$pid" 2> /dev/null || true
    wait "$pid" 2> /dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
  echo "FAILED: $*" >&2
  for log in "$tmp"/*.log; do
    [ -f "$log" ] && { echo "--- $log" >&2; tail -n 20 "$log" >&2; }
  done
  exit 1
}

# npm keeps its cache (the registry's esbuild, once fetched); the CLI gets a temp HOME for its
# ~/.lightflus/config, and nothing inherited points it at another server.
export npm_config_cache="${npm_config_cache:-$(npm config get cache)}"
export npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false
export HOME="$tmp/home"
mkdir -p "$HOME"
unset LIGHTFLUS_ENDPOINT LIGHTFLUS_TOKEN LIGHTFLUS_SERVICE_HOST LIGHTFLUS_SERVICE_PORT NODE_PATH

# 1. npm pack, from a copy of the package's sources and the installed build tools.
started=$SECONDS
mkdir "$tmp/src"
cp -r "$package_dir/package.json" "$package_dir/package-lock.json" "$package_dir/tsconfig.json" \
  "$package_dir/README.md" "$package_dir/src" "$tmp/src/"
ln -s "$package_dir/node_modules" "$tmp/src/node_modules"
(cd "$tmp/src" && npm pack --pack-destination "$tmp" --loglevel=error > "$tmp/pack.log" 2>&1) ||
  fail "npm pack"
version=$(node -p 'require(process.argv[1]).version' "$package_dir/package.json")
tarball="$tmp/lightflus-$version.tgz"
[ -f "$tarball" ] || fail "npm pack made no lightflus-$version.tgz: $(ls "$tmp")"
echo "npm pack: $(basename "$tarball"), $(stat -c %s "$tarball") bytes, in $((SECONDS - started)) s"

# 2. Its files: the built package (what `bin`, `main`, `types` and `exports` name), no sources.
tar -tzf "$tarball" | sort > "$tmp/files"
for f in package/package.json package/README.md package/dist/cli.js package/dist/index.js \
  package/dist/lightflus-runtime.js package/dist/types/index.d.ts package/dist/types/globals.d.ts; do
  grep -qx "$f" "$tmp/files" || fail "the tarball lacks $f"
done
if grep -Ev '^package/(package\.json|README\.md|dist/.*)$' "$tmp/files"; then
  fail "the tarball holds files outside dist/"
fi
node -e '
  const pkg = require(process.argv[1]);
  const files = new Set(require("fs").readFileSync(process.argv[2], "utf8").split("\n"));
  const named = [pkg.main, pkg.types, ...Object.values(pkg.bin)];
  for (const target of Object.values(pkg.exports))
    named.push(...(typeof target === "string" ? [target] : Object.values(target)));
  for (const file of named) {
    const path = "package/" + file.replace(/^\.\//, "");
    if (!files.has(path)) { console.error(`package.json names ${file}, not in the tarball`); process.exit(1); }
  }
' "$package_dir/package.json" "$tmp/files" || fail "package.json names files the tarball lacks"

# 3. An empty project installs the tarball.
project="$tmp/project"
mkdir "$project"
cd "$project"
echo '{ "name": "my-jobs", "version": "1.0.0", "private": true }' > package.json
npm install "$tarball" --prefer-offline --loglevel=error > "$tmp/install.log" 2>&1 || fail "npm install"
[ -x node_modules/.bin/lightflus ] || fail "npm install made no node_modules/.bin/lightflus"
echo "npm install: $((SECONDS - started)) s so far"

# 4. A job written against the installed package: it type-checks with the package's types.
cat > squares.ts << 'EOF'
import { ExecutionContext, FileSink, Generator } from "lightflus";

const ctx = ExecutionContext.new("squares");
ctx
  .fromSource(Generator.sequence(1, Number(ctx.param("count", "10"))))
  .map((n: number) => n * n)
  .name("square")
  .sink(FileSink.lines<number>(ctx.param("output")));
ctx.execute();
EOF
cat > tsconfig.json << 'EOF'
{ "compilerOptions": { "strict": true, "noEmit": true, "target": "es2020", "lib": ["es2020"],
                       "types": [], "module": "commonjs", "moduleResolution": "node10" },
  "files": ["squares.ts"] }
EOF
"$package_dir/node_modules/.bin/tsc" -p tsconfig.json > "$tmp/tsc.log" 2>&1 ||
  fail "the job does not type-check against the installed package"

# 5. npx lightflus --help.
npx --no -- lightflus --help > "$tmp/help.log" 2>&1 || fail "npx lightflus --help"
grep -q '^  apply -f JOB.ts' "$tmp/help.log" || fail "npx lightflus --help: $(head -3 "$tmp/help.log")"

# 6. A daemon with a token on a free loopback port; apply the job and wait for it.
token=npm-pack-test-token
"$lightflusd" serve --port 0 --data-dir "$tmp/data" --token "$token" > /dev/null 2> "$tmp/daemon.log" &
pid=$!
port=
for _ in $(seq 100); do
  port=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$tmp/daemon.log" | grep -o '[0-9]*$' || true)
  [ -n "$port" ] && break
  kill -0 "$pid" 2> /dev/null || fail "the daemon exited"
  sleep 0.1
done
[ -n "$port" ] || fail "the daemon did not start"
output="$tmp/data/squares.txt"
LIGHTFLUS_TOKEN=$token npx --no -- lightflus apply -f squares.ts --server "http://127.0.0.1:$port" \
  --set count=200 --set "output=$output" --wait --timeout 30s > "$tmp/apply.out" 2> "$tmp/apply.log" ||
  fail "npx lightflus apply"
id=$(cat "$tmp/apply.out")
[[ $id =~ ^[0-9a-f]+$ ]] || fail "apply printed '$id', not a job id"
for _ in $(seq 100); do
  [ "$(wc -l < "$output" 2> /dev/null || echo 0)" = 200 ] && break
  sleep 0.1
done
expected=$(seq 200 | awk '{ s += $1 * $1 } END { print s }')
actual=$(awk '{ s += $1 } END { print s }' "$output" 2> /dev/null || echo none)
[ "$actual" = "$expected" ] || fail "the job wrote a sum of $actual, not $expected"
grep -Eq "^job squares \($id\) is (running|finished)$" "$tmp/apply.log" || fail "apply --wait did not follow the job"
LIGHTFLUS_TOKEN=$token npx --no -- lightflus get jobs --server "http://127.0.0.1:$port" > "$tmp/get.log" 2>&1 ||
  fail "npx lightflus get jobs"
grep -Eq "^$id +squares +(running|finished) " "$tmp/get.log" || fail "get jobs: $(cat "$tmp/get.log")"
echo "ok: the packed lightflus CLI ran job $id in $((SECONDS - started)) s"
