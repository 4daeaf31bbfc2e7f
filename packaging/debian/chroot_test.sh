#!/usr/bin/env bash
# The .deb in a clean Debian 12, as a user installs it: debootstrap (minbase) into a temp dir,
# `apt-get install ./lightflus_*.deb` there (apt resolves every Depends from Debian), then as the
# user `lightflus` a TypeScript job with `lightflusd run` and `lightflusd serve` as the unit
# starts it (/healthz, a submitted job), then `apt-get purge` (user, group and data gone).
# Second, packaging/docker/Dockerfile without Docker: its RUN steps in another copy of the
# fresh root, then its ENTRYPOINT + CMD as its USER in a network namespace of its own, polled
# with its HEALTHCHECK command; without LIGHTFLUS_TOKEN the daemon must refuse to start.
#
#   packaging/debian/chroot_test.sh DEB
#
# Needs root (debootstrap, chroot, mounts, namespaces), debootstrap (scripts/setup.sh) and
# deb.debian.org. Not part of CI: it takes about 2 minutes (docs/packaging.md). The host is not
# changed: the roots live in a temp dir, /proc is mounted in a mount namespace of this script's
# own. Environment: LIGHTFLUS_CHROOT_CACHE (debootstrap's downloads, default
# <repo>/.cache/debootstrap), LIGHTFLUS_DEBIAN_MIRROR (default http://deb.debian.org/debian).
set -euo pipefail

die() { echo "chroot_test.sh: $*" >&2; exit 2; }
[ $# = 1 ] || die "usage: packaging/debian/chroot_test.sh DEB"
[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot, mount)"
command -v debootstrap > /dev/null || die "debootstrap is missing: scripts/setup.sh installs it"
# Mounts made below vanish with this namespace, whatever happens to the script.
if [ -z "${LIGHTFLUS_CHROOT_NAMESPACE:-}" ]; then
  exec unshare --mount --propagation private env LIGHTFLUS_CHROOT_NAMESPACE=1 "$0" "$@"
fi

deb=$(realpath "$1")
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cache=${LIGHTFLUS_CHROOT_CACHE:-$root/.cache/debootstrap}
mirror=${LIGHTFLUS_DEBIAN_MIRROR:-http://deb.debian.org/debian}
tmp=$(mktemp -d /tmp/lightflus-chroot.XXXXXX)
base="$tmp/base"
pid=
cleanup() {
  if [ -n "$pid" ]; then
    kill -TERM "$pid" 2> /dev/null || true
    wait "$pid" 2> /dev/null || true
  fi
  # Unmount before deleting: rm -rf must not walk a mounted /proc.
  for dir in "$tmp"/*/proc; do
    mountpoint -q "$dir" 2> /dev/null && umount -l "$dir"
  done
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
step() { printf '\n== %s (%s s)\n' "$*" "$SECONDS"; }

# A fresh Debian 12 root: a copy of the debootstrapped base, with /proc and DNS.
fresh_root() {
  local dir=$1
  cp -a "$base" "$dir"
  cp /etc/resolv.conf "$dir/etc/resolv.conf"
  mount -t proc proc "$dir/proc"
}

step "debootstrap bookworm (minbase) from $mirror"
mkdir -p "$cache"
debootstrap --variant=minbase --cache-dir="$cache" bookworm "$base" "$mirror" \
  > "$tmp/debootstrap.log" 2>&1 || fail "debootstrap"

# ---------------------------------------------------------------------------------------------
step "apt-get install ./$(basename "$deb")"
sys="$tmp/system"
fresh_root "$sys"
cp "$deb" "$sys/tmp/lightflus.deb"
in_sys() { chroot "$sys" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive "$@"; }
in_sys apt-get update -q > "$tmp/apt.log" 2>&1 || fail "apt-get update"
in_sys apt-get install -y -q --no-install-recommends /tmp/lightflus.deb >> "$tmp/apt.log" 2>&1 ||
  fail "apt-get install ./lightflus.deb"
grep -E '^(Setting up|The following NEW)' "$tmp/apt.log" | head -n 3
in_sys dpkg-query -W -f '${Status} ${Version}\n' lightflus | grep -q '^install ok installed' ||
  fail "lightflus is not installed"
user=$(in_sys getent passwd lightflus) || fail "postinst made no user lightflus"
echo "user: $user"
[[ $user == lightflus:x:*:*:*:/var/lib/lightflus:/usr/sbin/nologin ]] || fail "user: $user"
[ "$(in_sys stat -c '%U:%G %a' /var/lib/lightflus)" = "lightflus:lightflus 750" ] ||
  fail "data dir: $(in_sys stat -c '%U:%G %a' /var/lib/lightflus)"
[ "$(in_sys stat -c '%a' /etc/default/lightflusd)" = 600 ] || fail "/etc/default/lightflusd mode"

step "lightflusd run wordCount.ts as the user lightflus"
mkdir -p "$sys/tmp/job"
cp "$root/examples/ts/wordCount.ts" "$root/examples/data/sample.txt" "$root/test/server/jobs/squares.ts" "$sys/tmp/job/"
chmod -R a+rX "$sys/tmp/job"
tr -cs '[:alnum:]' '\n' < "$root/examples/data/sample.txt" | tr '[:upper:]' '[:lower:]' | grep -v '^$' |
  LC_ALL=C sort | uniq -c | awk '{ print $2, $1 }' | LC_ALL=C sort > "$tmp/expected"
chroot --userspec=lightflus:lightflus "$sys" /usr/bin/lightflusd run /tmp/job/wordCount.ts \
  --set input=/tmp/job/sample.txt --parallelism 2 > "$tmp/run.out" 2> "$tmp/run.log" ||
  fail "lightflusd run wordCount.ts: exit $?"
awk '{ if ($2 > c[$1]) c[$1] = $2 } END { for (w in c) print w, c[w] }' "$tmp/run.out" |
  LC_ALL=C sort > "$tmp/counts"
diff -q "$tmp/expected" "$tmp/counts" > /dev/null || fail "wordCount.ts: $(diff "$tmp/expected" "$tmp/counts" | head -5)"
echo "word counts match ($(wc -l < "$tmp/counts") words)"

step "lightflusd serve as the unit runs it (user lightflus, /var/lib/lightflus)"
chroot --userspec=lightflus:lightflus "$sys" env -i PATH=/usr/bin:/bin \
  sh -c 'cd /var/lib/lightflus && exec /usr/bin/lightflusd serve --data-dir /var/lib/lightflus --port 0' \
  > /dev/null 2> "$tmp/serve.log" &
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
  "http://127.0.0.1:$port/v1/jobs?name=squares&param.count=100&param.output=/var/lib/lightflus/squares.txt" \
  > "$tmp/submit.log" 2>&1 || fail "submitting squares.ts"
out="$sys/var/lib/lightflus/squares.txt"
for _ in $(seq 150); do
  [ "$(wc -l < "$out" 2> /dev/null || echo 0)" = 100 ] && break
  sleep 0.1
done
[ "$(awk '{ s += $1 } END { print s }' "$out" 2> /dev/null)" = "$(seq 100 | awk '{ s += $1 * $1 } END { print s }')" ] ||
  fail "squares.ts output"
[ "$(in_sys stat -c %U /var/lib/lightflus/squares.txt)" = lightflus ] || fail "the job's output is not owned by lightflus"
kill -TERM "$pid"
wait "$pid" || fail "serve exited with $? after SIGTERM"
pid=
echo "serve: /healthz ok, a submitted job wrote its output as lightflus"

step "apt-get purge lightflus"
echo 'edited' >> "$sys/etc/default/lightflusd"
in_sys apt-get purge -y -q lightflus > "$tmp/purge.log" 2>&1 || fail "apt-get purge"
in_sys getent passwd lightflus > /dev/null && fail "purge kept the user lightflus"
in_sys getent group lightflus > /dev/null && fail "purge kept the group lightflus"
[ ! -e "$sys/var/lib/lightflus" ] || fail "purge kept /var/lib/lightflus"
[ ! -e "$sys/etc/default/lightflusd" ] || fail "purge kept /etc/default/lightflusd"
[ ! -e "$sys/usr/bin/lightflusd" ] || fail "purge kept /usr/bin/lightflusd"
echo "purged: no user, group, data dir, conffile or binary left"

# ---------------------------------------------------------------------------------------------
step "packaging/docker/Dockerfile's RUN steps in a fresh root"
img="$tmp/image"
fresh_root "$img"
dockerfile="$root/packaging/docker/Dockerfile"
# words KIND: the Dockerfile's instructions as NUL-separated KIND, ARGUMENTS pairs.
mapfile -d '' -t steps < <(/usr/bin/python3 -c '
import sys
sys.path.insert(0, sys.argv[1])
from docker_test import instructions
for kind, args in instructions(open(sys.argv[2]).read()):
    sys.stdout.write(kind + "\0" + args + "\0")' "$root/test/packaging" "$dockerfile")
json_words() { /usr/bin/python3 -c 'import json, sys; sys.stdout.write("".join(w + "\0" for w in json.loads(sys.argv[1])))' "$1"; }
build_env=()
user= workdir=/ entrypoint=() cmd=() health=()
for ((i = 0; i < ${#steps[@]}; i += 2)); do
  kind=${steps[i]} args=${steps[i + 1]}
  case "$kind" in
    FROM) [ "$args" = debian:12-slim ] || fail "FROM $args: this emulation starts from Debian 12" ;;
    ARG) [[ $args == *=* ]] && build_env+=("$args") ;;
    COPY)
      read -r src dst <<< "$args"
      [[ $src == lightflus_*.deb ]] || fail "COPY $args: only the .deb is in the context"
      cp "$deb" "$img$dst$(dpkg-deb --field "$deb" Package)_$(dpkg-deb --field "$deb" Version)_$(dpkg-deb --field "$deb" Architecture).deb"
      ;;
    RUN)
      echo "RUN ${args:0:100}..."
      chroot "$img" env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        "${build_env[@]}" /bin/sh -c "$args" >> "$tmp/image-build.log" 2>&1 || fail "RUN $args"
      ;;
    USER) user=$args ;;
    WORKDIR) workdir=$args ;;
    ENTRYPOINT) mapfile -d '' -t entrypoint < <(json_words "$args") ;;
    CMD) mapfile -d '' -t cmd < <(json_words "$args") ;;
    HEALTHCHECK) mapfile -d '' -t health < <(json_words "${args#*CMD }") ;;
    VOLUME | EXPOSE) ;;
    *) fail "the emulation does not know $kind" ;;
  esac
done
[ -n "$user" ] && [ ${#entrypoint[@]} -gt 0 ] && [ ${#health[@]} -gt 0 ] || fail "USER, ENTRYPOINT or HEALTHCHECK missing"
echo "image: $(chroot "$img" dpkg-query -W -f '${Package} ${Version}' lightflus), user $(chroot "$img" getent passwd lightflus)"
[ "$(stat -c '%u:%g' "$img/var/lib/lightflus")" = "$user" ] || fail "the volume is not owned by $user"

step "the image's ENTRYPOINT + CMD as USER $user, with its HEALTHCHECK"
# `docker run` without -e LIGHTFLUS_TOKEN: the daemon refuses to listen on 0.0.0.0.
status=0
unshare --net chroot --userspec="$user" "$img" env -i PATH=/usr/bin:/bin HOME="$workdir" \
  sh -c 'cd "$1" && shift && exec "$@"' sh "$workdir" "${entrypoint[@]}" "${cmd[@]}" \
  > /dev/null 2> "$tmp/no-token.log" || status=$?
[ "$status" != 0 ] && grep -q 'without a token' "$tmp/no-token.log" ||
  fail "without LIGHTFLUS_TOKEN the container's daemon did not refuse to start (exit $status)"
# With a token, in a network namespace of its own (the CMD listens on 0.0.0.0:8080).
export IMG="$img" USER_SPEC="$user" WORKDIR="$workdir" DAEMON_LOG="$tmp/image-daemon.log"
unshare --net bash -c '
  set -euo pipefail
  ip link set lo up
  health=("${@:2:$1}")
  shift $(($1 + 1))
  chroot --userspec="$USER_SPEC" "$IMG" env -i PATH=/usr/bin:/bin HOME="$WORKDIR" \
    LIGHTFLUS_TOKEN=chroot-test-token sh -c "cd \"\$1\" && shift && exec \"\$@\"" sh "$WORKDIR" "$@" \
    > /dev/null 2> "$DAEMON_LOG" &
  daemon=$!
  trap "kill -TERM $daemon 2> /dev/null; wait $daemon 2> /dev/null || true" EXIT
  for attempt in $(seq 50); do
    if chroot "$IMG" "${health[@]}" 2> /dev/null; then
      echo "HEALTHCHECK ${health[*]}: healthy after $attempt tries"
      chroot "$IMG" curl -fsS -o /dev/null -H "Authorization: Bearer chroot-test-token" \
        http://127.0.0.1:8080/v1/jobs || { echo "the API refused the token" >&2; exit 1; }
      [ "$(chroot "$IMG" curl -s -o /dev/null -w "%{http_code}" http://127.0.0.1:8080/v1/jobs)" = 401 ] ||
        { echo "the API answered without the token" >&2; exit 1; }
      exit 0
    fi
    kill -0 $daemon 2> /dev/null || { cat "$DAEMON_LOG" >&2; exit 1; }
    sleep 0.2
  done
  echo "the HEALTHCHECK never passed" >&2
  exit 1
' bash "${#health[@]}" "${health[@]}" "${entrypoint[@]}" "${cmd[@]}" > "$tmp/image-run.log" 2>&1 ||
  fail "the image's daemon: $(cat "$tmp/image-run.log")"
cat "$tmp/image-run.log"

step "ok"
