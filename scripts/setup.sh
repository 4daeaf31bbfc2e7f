#!/usr/bin/env bash
# Installs what Lightflus needs to build, test and run its demos, and only what is missing.
#
#   scripts/setup.sh            install missing Debian packages, then bindings/ts's npm packages
#
# Idempotent and quiet: when everything is there it prints nothing and takes well under a
# second (dpkg-query, no apt-get). Uses sudo when not run as root.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Debian packages the build, the tests and the demos need. Add new ones here.
packages=(
  # Toolchain.
  build-essential cmake ninja-build ccache clang-format pkg-config
  # Libraries the engine builds against.
  libboost-dev librdkafka-dev rapidjson-dev libfmt-dev catch2
  # Kafka command-line client for the demos and tests.
  kcat
  # Redis and MariaDB sinks (issue #7): client libraries, and the real servers their tests
  # start on loopback (the Debian packages' own services are not used).
  libhiredis-dev libmariadb-dev redis-server mariadb-server
  # HTTP load generator of the server benchmark; clang's libFuzzer for the request fuzzer.
  wrk clang-14 libclang-rt-14-dev
  # Headless browser of the web console's test (test/server/console_test.js drives it over
  # the DevTools protocol; no npm package needed).
  chromium
  # Runtime libraries of libnode108 (V8). The build unpacks libnode108/libnode-dev into the
  # build tree instead of installing them (they conflict with NodeSource's nodejs), so their
  # dependencies must be installed here: `apt-cache depends libnode108`, less libc6, libgcc-s1
  # and libstdc++6 (build-essential brings those) and the node-* JavaScript packages (needed
  # only by Node.js itself). See docs/v8.md.
  libuv1 libc-ares2 libnghttp2-14 libbrotli1 libicu72 zlib1g libssl3
  # Packaging (docs/packaging.md): the Helm chart's test (YAML, its values.schema.json), and
  # debootstrap for the optional clean-root install of the .deb (packaging/debian/chroot_test.sh).
  python3-yaml python3-jsonschema debootstrap
)

log() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

sudo_cmd=()
if [[ ${EUID} -ne 0 ]]; then
  command -v sudo >/dev/null || die "not root and sudo is missing: run this script as root"
  sudo_cmd=(sudo)
fi

# Prints the packages of "$@" that are not installed.
missing_packages() {
  local -A installed=()
  local name status
  # dpkg-query exits non-zero when it knows none of a name: that only means "missing".
  while read -r name status; do
    [[ ${status} == installed ]] && installed[${name}]=1
  done < <(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "$@" 2>/dev/null || true)
  for name in "$@"; do
    [[ -n ${installed[${name}]:-} ]] || printf '%s\n' "${name}"
  done
}

apt_install() {
  log "installing $*"
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

install_debian_packages() {
  local missing=()
  mapfile -t missing < <(missing_packages "${packages[@]}")
  # Node.js comes from NodeSource on our machines: never install Debian's nodejs over it (it
  # would also conflict with libnode108). Only a machine with no node at all gets Debian's.
  if ! command -v node >/dev/null; then
    missing+=(nodejs npm)
  elif ! command -v npm >/dev/null; then
    die "node is installed but npm is not: install npm from the same source as node ($(command -v node))"
  fi
  # Java 17 and Maven run the real Kafka broker of scripts/kafka.sh; our machines have them
  # preinstalled (not always from Debian), so Debian's are installed only when there are none.
  command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
  command -v mvn >/dev/null || missing+=(maven)
  if ((${#missing[@]} > 0)); then
    apt_install "${missing[@]}"
  elif needs_apt_update_for_libnode; then
    log "apt-get update (for libnode108, which cmake/Libnode.cmake downloads)"
    "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  fi
}

# The V8 build runs `apt-get download libnode108 libnode-dev` when it first configures a build
# folder; that needs package lists that know them. Checked only until build/ has unpacked them.
needs_apt_update_for_libnode() {
  [[ -f ${root}/src/js/CMakeLists.txt ]] || return 1
  [[ -f ${root}/build/_deps/libnode/.lightflus-unpacked ]] && return 1
  apt-cache policy libnode108 libnode-dev 2>/dev/null \
    | awk '/Candidate:/ { seen++; if ($2 == "(none)") none = 1 } END { exit !(none || seen < 2) }'
}

# npm ci in bindings/ts when its node_modules is missing or older than package.json or
# package-lock.json. npm writes node_modules/.package-lock.json last, when an install has
# completed, so its age is node_modules' age and an interrupted install is redone.
install_npm_packages() {
  local package_dir="${root}/bindings/ts"
  [[ -f ${package_dir}/package.json ]] || return 0
  local installed="${package_dir}/node_modules/.package-lock.json"
  local lock="${package_dir}/package-lock.json"
  local npm_args=(ci)
  if [[ -f ${lock} ]]; then
    if [[ -f ${installed} && ! ${package_dir}/package.json -nt ${installed} && ! ${lock} -nt ${installed} ]]; then
      return 0
    fi
  else
    # No lock file yet: install once, without writing one (that file belongs to bindings/ts).
    [[ -d ${package_dir}/node_modules ]] && return 0
    npm_args=(install --no-package-lock)
  fi
  log "npm ${npm_args[*]} in bindings/ts"
  local output
  if ! output="$(cd "${package_dir}" && npm "${npm_args[@]}" --no-audit --no-fund --loglevel=error 2>&1)"; then
    printf '%s\n' "${output}" >&2
    die "npm ${npm_args[*]} failed in bindings/ts"
  fi
}

install_debian_packages
install_npm_packages
# The real Kafka broker the [kafka-broker] tests start (Maven Central, cached; silent once
# there). scripts/kafka.sh explains.
"${root}/scripts/kafka.sh" fetch >/dev/null
