#!/usr/bin/env bash
# The Debian package, end to end without touching the host: CPack makes the .deb from this build
# (into a temp dir); its control fields, maintainer scripts and file list are checked with
# dpkg-deb; it is unpacked with `dpkg -x` into a throw-away root, where the installed lightflusd
# (no RUNPATH into the build tree) runs a TypeScript job (`lightflusd run`, its output against an
# independent count) and `serve` answers /healthz and runs a submitted job; systemd-analyze
# verifies the unit inside that root; the maintainer scripts run against the root ($DPKG_ROOT:
# user, group, data dir, enabled unit; then remove and purge undo them). libnode108, a Depends
# of the package, comes from the build's own unpacked copy of that Debian package.
#
#   deb_test.sh CPACK_CONFIG SOURCE_DIR LIBNODE_LIBRARY_DIR [CPACK]
#
# For speed the test compresses with gzip (xz takes ~15 s here); the contents are the same as
# those of `cmake --build build --target package`.
set -euo pipefail
cpack_config=$1
root=$(realpath "$2")
libnode_dir=$(realpath "$3")
cpack=${4:-cpack}
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

# 1. The package, from this build.
started=$SECONDS
"$cpack" -G DEB --config "$cpack_config" -B "$tmp/cpack" -D CPACK_DEBIAN_COMPRESSION_TYPE=gzip \
  > "$tmp/cpack.log" 2>&1 || fail "cpack failed"
debs=("$tmp"/cpack/lightflus_*.deb)
[ ${#debs[@]} = 1 ] && [ -f "${debs[0]}" ] || fail "cpack made no single lightflus_*.deb: ${debs[*]}"
deb=${debs[0]}
echo "package: $(basename "$deb"), $(stat -c %s "$deb") bytes, in $((SECONDS - started)) s"

# 2. Control fields.
field() { dpkg-deb --field "$deb" "$1"; }
[ "$(field Package)" = lightflus ] || fail "Package is '$(field Package)'"
[ "$(field Architecture)" = "$(dpkg --print-architecture)" ] || fail "Architecture is '$(field Architecture)'"
depends=$(field Depends)
# From dpkg-shlibdeps (what lightflusd links, see ldd) and the explicit libnode108 and passwd.
for dep in libnode108 passwd libc6 libstdc++6 librdkafka1 libhiredis0.14 libmariadb3 libfmt9 libssl3; do
  sed 's/, /\n/g' <<< "$depends" | cut -d' ' -f1 | grep -qxF "$dep" || fail "Depends lacks $dep: $depends"
done
dpkg-deb --ctrl-tarfile "$deb" | tar -t | sed 's#^\./##' | sort > "$tmp/control-files"
for f in control md5sums conffiles postinst prerm postrm; do
  grep -qx "$f" "$tmp/control-files" || fail "control archive lacks $f: $(tr '\n' ' ' < "$tmp/control-files")"
done
mkdir "$tmp/control"
dpkg-deb --control "$deb" "$tmp/control"
[ "$(cat "$tmp/control/conffiles")" = /etc/default/lightflusd ] || fail "conffiles: $(cat "$tmp/control/conffiles")"
for script in postinst prerm postrm; do
  [ -x "$tmp/control/$script" ] || fail "$script is not executable"
  sh -n "$tmp/control/$script" || fail "$script: syntax error"
done

# 3. Files.
dpkg-deb --contents "$deb" | awk '{ print $1, $2, $6 }' > "$tmp/contents"
expect_file() {  # MODE PATH
  grep -q "^$1 root/root \./${2#/}$" "$tmp/contents" ||
    fail "the package lacks $2 with mode $1 (root/root): $(grep -F "${2#/}" "$tmp/contents" || echo absent)"
}
expect_file -rwxr-xr-x /usr/bin/lightflusd
expect_file -rw-r--r-- /usr/lib/systemd/system/lightflusd.service
expect_file -rw------- /etc/default/lightflusd
expect_file -rw-r--r-- /usr/include/lightflus/lightflus.hpp
expect_file -rw-r--r-- /usr/include/lightflus/datastream.hpp
expect_file -rw-r--r-- /usr/lib/cmake/lightflus/lightflusConfig.cmake
expect_file -rw-r--r-- /usr/lib/cmake/lightflus/lightflusConfigVersion.cmake
expect_file -rw-r--r-- /usr/lib/cmake/lightflus/lightflusTargets.cmake
expect_file -rw-r--r-- /usr/share/doc/lightflus/README.md
grep -q '^-rw-r--r-- root/root \./usr/lib/liblightflus.*\.a$' "$tmp/contents" || fail "no static library"
# Only the public API is installed, and nothing lands outside /usr and /etc.
if grep -v ' \./$' "$tmp/contents" | grep -Ev ' \./(usr|etc)/'; then fail "files outside /usr and /etc"; fi
if grep -E '/include/' "$tmp/contents" | grep -Ev '/usr/include/(lightflus/)?' | grep .; then
  fail "headers outside include/lightflus"
fi

# 4. Unpacked into a throw-away root: stripped, no RUNPATH, every library found.
pkg="$tmp/root"
dpkg -x "$deb" "$pkg"
lightflusd="$pkg/usr/bin/lightflusd"
if readelf -d "$lightflusd" | grep -Eq 'RUNPATH|RPATH'; then
  fail "the installed lightflusd keeps a RUNPATH: $(readelf -d "$lightflusd" | grep -E 'RUNPATH|RPATH')"
fi
readelf -S "$lightflusd" | grep -q '\.debug_info' && fail "the installed lightflusd is not stripped"
# libnode108's libnode.so.108, as apt would install it (here: the build's unpacked copy).
export LD_LIBRARY_PATH="$libnode_dir"
if ldd "$lightflusd" | grep 'not found'; then fail "libraries not found"; fi
"$lightflusd" --help | grep -q '^  serve ' || fail "lightflusd --help"
"$lightflusd" serve --help | grep -q -- '--data-dir DIR' || fail "lightflusd serve --help"

# 5. `lightflusd run` of the TypeScript word count, against tr | sort | uniq.
input="$root/examples/data/sample.txt"
tr -cs '[:alnum:]' '\n' < "$input" | tr '[:upper:]' '[:lower:]' | grep -v '^$' |
  LC_ALL=C sort | uniq -c | awk '{ print $2, $1 }' | LC_ALL=C sort > "$tmp/expected"
(cd "$tmp" && "$lightflusd" run "$root/examples/ts/wordCount.ts" --set "input=$input" --parallelism 2) \
  > "$tmp/run.out" 2> "$tmp/run.log" || fail "lightflusd run wordCount.ts: exit $?"
awk '{ if ($2 > c[$1]) c[$1] = $2 } END { for (w in c) print w, c[w] }' "$tmp/run.out" |
  LC_ALL=C sort > "$tmp/counts"
[ -s "$tmp/expected" ] && diff -q "$tmp/expected" "$tmp/counts" > /dev/null ||
  { diff "$tmp/expected" "$tmp/counts" | head >&2; fail "wordCount.ts with the installed lightflusd"; }

# 6. `lightflusd serve` as the unit runs it (the installed binary re-executes itself for each
#    job): /healthz, and a submitted job that writes into the data dir.
"$lightflusd" serve --port 0 --data-dir "$tmp/data" > /dev/null 2> "$tmp/serve.log" &
pid=$!
port=
for _ in $(seq 100); do
  port=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$tmp/serve.log" | grep -o '[0-9]*$' || true)
  [ -n "$port" ] && break
  kill -0 "$pid" 2> /dev/null || fail "lightflusd serve exited"
  sleep 0.1
done
[ -n "$port" ] || fail "lightflusd serve did not start"
[ "$(curl -sf "http://127.0.0.1:$port/healthz")" = '{"status":"ok"}' ] || fail "/healthz"
curl -sS -f -H 'Expect:' --data-binary @"$root/test/server/jobs/squares.ts" \
  "http://127.0.0.1:$port/v1/jobs?name=squares&param.count=100&param.output=$tmp/data/squares.txt" \
  > "$tmp/submit.log" 2>&1 || fail "submitting squares.ts"
for _ in $(seq 150); do
  [ "$(wc -l < "$tmp/data/squares.txt" 2> /dev/null || echo 0)" = 100 ] && break
  sleep 0.1
done
expected_sum=$(seq 100 | awk '{ s += $1 * $1 } END { print s }')
actual_sum=$(awk '{ s += $1 } END { print s }' "$tmp/data/squares.txt" 2> /dev/null || echo none)
[ "$actual_sum" = "$expected_sum" ] || fail "squares.ts wrote a sum of $actual_sum, not $expected_sum"
kill -TERM "$pid"
wait "$pid" || fail "lightflusd serve exited with $? after SIGTERM"
pid=

# 7. The unit, verified by systemd inside the root (it needs the standard targets there).
if command -v systemd-analyze > /dev/null && [ -d /usr/lib/systemd/system ]; then
  cp /usr/lib/systemd/system/*.target "$pkg/usr/lib/systemd/system/"
  systemd-analyze verify --man=no --root="$pkg" lightflusd.service > "$tmp/verify.log" 2>&1 ||
    fail "systemd-analyze verify failed"
  [ ! -s "$tmp/verify.log" ] || fail "systemd-analyze verify warns: $(cat "$tmp/verify.log")"
else
  echo "systemd-analyze is not installed: the unit is not verified"
fi
grep -qx 'ExecStart=/usr/bin/lightflusd serve --data-dir /var/lib/lightflus $LIGHTFLUSD_OPTS' \
  "$pkg/usr/lib/systemd/system/lightflusd.service" || fail "ExecStart"
grep -qx 'User=lightflus' "$pkg/usr/lib/systemd/system/lightflusd.service" || fail "User="

# 8. The maintainer scripts against the root ($DPKG_ROOT, as `dpkg --root` sets it). useradd and
#    groupadd write the root's /etc/passwd and /etc/group (--prefix), which needs root.
if [ "$(id -u)" = 0 ] && useradd --help 2>&1 | grep -q -- '--prefix'; then
  mkdir -p "$pkg/etc"
  echo 'root:x:0:0:root:/root:/bin/sh' > "$pkg/etc/passwd"
  echo 'root:x:0:' > "$pkg/etc/group"
  echo 'root:*:19000:0:99999:7:::' > "$pkg/etc/shadow"
  echo 'root:*::' > "$pkg/etc/gshadow"
  chmod 640 "$pkg/etc/shadow" "$pkg/etc/gshadow"
  DPKG_ROOT=$pkg "$tmp/control/postinst" configure > "$tmp/postinst.log" 2>&1 || fail "postinst configure"
  user=$(grep '^lightflus:' "$pkg/etc/passwd") || fail "postinst made no user lightflus"
  IFS=: read -r _ _ uid gid _ home shell <<< "$user"
  [ "$uid" -lt 1000 ] || fail "lightflus is not a system user: $user"
  [ "$home" = /var/lib/lightflus ] && [ "$shell" = /usr/sbin/nologin ] || fail "user: $user"
  grep -q "^lightflus:x:$gid:" "$pkg/etc/group" || fail "no group lightflus with gid $gid"
  [ "$(stat -c '%u:%g %a' "$pkg/var/lib/lightflus")" = "$uid:$gid 750" ] ||
    fail "data dir: $(stat -c '%u:%g %a' "$pkg/var/lib/lightflus")"
  if command -v systemctl > /dev/null; then
    [ -L "$pkg/etc/systemd/system/multi-user.target.wants/lightflusd.service" ] ||
      fail "postinst did not enable lightflusd.service"
  fi
  # Configured again (an upgrade): the same user, nothing fails.
  DPKG_ROOT=$pkg "$tmp/control/postinst" configure 0.0.9 >> "$tmp/postinst.log" 2>&1 || fail "postinst upgrade"
  [ "$(grep -c '^lightflus:' "$pkg/etc/passwd")" = 1 ] || fail "a second user lightflus"
  touch "$pkg/var/lib/lightflus/job-state"
  DPKG_ROOT=$pkg "$tmp/control/prerm" remove > "$tmp/prerm.log" 2>&1 || fail "prerm remove"
  [ ! -e "$pkg/etc/systemd/system/multi-user.target.wants/lightflusd.service" ] ||
    fail "prerm did not disable lightflusd.service"
  DPKG_ROOT=$pkg "$tmp/control/postrm" remove > "$tmp/postrm.log" 2>&1 || fail "postrm remove"
  [ -e "$pkg/var/lib/lightflus/job-state" ] || fail "remove (not purge) deleted the data"
  DPKG_ROOT=$pkg "$tmp/control/postrm" purge >> "$tmp/postrm.log" 2>&1 || fail "postrm purge"
  [ ! -e "$pkg/var/lib/lightflus" ] || fail "purge kept /var/lib/lightflus"
  if grep -q '^lightflus:' "$pkg/etc/passwd" "$pkg/etc/group"; then fail "purge kept the user or group"; fi
else
  echo "not root (or no useradd --prefix): the maintainer scripts were only syntax-checked"
fi
echo "ok: $(basename "$deb") checked in $((SECONDS - started)) s"
